import dataclasses
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mmoms.core.enums import OrderStatus, OrderType, Side, TimeInForce
from mmoms.core.ids import ClientOrderId, Symbol
from mmoms.core.intents import QuoteLevel
from mmoms.core.order import Order
from mmoms.engine.diff import Tolerance, diff_side

TICK = D("0.1")
TOL = Tolerance(price_ticks=2, qty_pct=D(10))
_n = 0


def order(
    price: str,
    qty: str = "1",
    *,
    side: Side = Side.BUY,
    status: OrderStatus = OrderStatus.NEW,
    filled: str = "0",
    tag: str | None = None,
    tif: TimeInForce = TimeInForce.GTX,
) -> Order:
    global _n
    _n += 1
    return Order(
        client_order_id=ClientOrderId(f"o{_n}"),
        symbol=Symbol("BTCUSDC"),
        side=side,
        order_type=OrderType.LIMIT,
        quantity=D(qty),
        price=D(price),
        status=status,
        time_in_force=tif,
        filled_qty=D(filled),
        tag=tag,
    )


def level(price: str, qty: str = "1", side: Side = Side.BUY, tag: str | None = None) -> QuoteLevel:
    return QuoteLevel(side=side, price=D(price), quantity=D(qty), tag=tag)


def test_sub_tolerance_moves_cost_nothing() -> None:
    live = [order("100.0"), order("99.0")]
    result = diff_side(Side.BUY, [level("100.1"), level("98.9", "1.05")], live, TICK, TOL)
    assert result.actions == 0
    assert len(result.keeps) == 2
    assert result.saved == 4


def test_one_level_change_is_one_amend() -> None:
    live = [order("100.0"), order("99.0")]
    result = diff_side(Side.BUY, [level("100.0"), level("98.0")], live, TICK, TOL)
    assert result.actions == 1
    assert [a.order.price for a in result.amends] == [D("99.0")]
    assert result.amends[0].level.price == D("98.0")


def test_without_amend_a_change_is_cancel_plus_new() -> None:
    live = [order("100.0")]
    result = diff_side(Side.BUY, [level("99.0")], live, TICK, TOL, allow_amend=False)
    assert (len(result.cancels), len(result.places)) == (1, 1)


def test_amend_keeps_filled_quantity_on_top() -> None:
    live = [order("100.0", qty="2", filled="0.5", status=OrderStatus.PARTIALLY_FILLED)]
    result = diff_side(Side.BUY, [level("99.0", "1")], live, TICK, TOL)
    assert result.amends[0].new_quantity == D("1.5")  # 0.5 filled + 1 wanted remaining


def test_time_in_force_cannot_be_amended() -> None:
    live = [order("100.0", tif=TimeInForce.GTC)]
    result = diff_side(Side.BUY, [level("99.0")], live, TICK, TOL)  # level wants post-only
    assert (len(result.amends), len(result.cancels), len(result.places)) == (0, 1, 1)


def test_in_flight_orders_are_never_touched_but_occupy_their_level() -> None:
    pending = order("100.0", status=OrderStatus.PENDING_NEW)
    unknown = order("95.0", status=OrderStatus.UNKNOWN)
    leaving = order("99.0", status=OrderStatus.PENDING_CANCEL)
    result = diff_side(
        Side.BUY, [level("100.0"), level("99.0")], [pending, unknown, leaving], TICK, TOL
    )
    touched = {a.order.client_order_id for a in result.amends} | {
        c.order.client_order_id for c in result.cancels
    }
    assert touched == set()
    assert result.blocked == 1
    assert [p.level.price for p in result.places] == [D("99.0")]


def test_tags_pick_the_matching_order() -> None:
    a, b = order("100.0", tag="bid1"), order("100.1", tag="bid2")
    result = diff_side(Side.BUY, [level("100.1", tag="bid1")], [a, b], TICK, TOL)
    assert result.keeps[0].order is a
    assert [c.order for c in result.cancels] == [b]


def test_empty_desire_cancels_everything() -> None:
    live = [order("100.0"), order("99.0")]
    result = diff_side(Side.BUY, [], live, TICK, TOL)
    assert len(result.cancels) == 2


def test_other_side_levels_are_ignored() -> None:
    result = diff_side(Side.SELL, [level("100.0")], [], TICK, TOL)
    assert result.actions == 0


prices = st.integers(950, 1050).map(lambda p: D(p) / 10)


@settings(max_examples=200, deadline=None)
@given(
    live=st.lists(st.tuples(prices, st.sampled_from([D(1), D(2)])), max_size=6),
    wanted=st.lists(st.tuples(prices, st.sampled_from([D(1), D(2)])), max_size=6),
)
def test_after_the_diff_the_desired_book_is_reached(
    live: list[tuple[D, D]], wanted: list[tuple[D, D]]
) -> None:
    orders = [order(str(p), str(q)) for p, q in live]
    levels = [level(str(p), str(q)) for p, q in wanted]
    result = diff_side(Side.BUY, levels, orders, TICK, TOL)
    # Every order is accounted for exactly once; every level is served exactly once.
    used = [k.order for k in result.keeps] + [a.order for a in result.amends]
    used += [c.order for c in result.cancels]
    assert sorted(id(o) for o in used) == sorted(id(o) for o in orders)
    served = [k.level for k in result.keeps] + [a.level for a in result.amends]
    served += [p.level for p in result.places]
    assert sorted(map(id, served)) == sorted(map(id, levels))
    assert result.actions <= result.naive_actions
    for keep in result.keeps:
        assert abs((keep.order.price or D(0)) - keep.level.price) <= TICK * TOL.price_ticks


# -- what occupies a level, and the edges of "within tolerance" --------------------------------


@pytest.mark.parametrize(
    "status", [OrderStatus.PENDING_NEW, OrderStatus.PENDING_REPLACE, OrderStatus.UNKNOWN]
)
def test_an_order_with_a_request_in_flight_occupies_its_level(status: OrderStatus) -> None:
    busy = order("100.0", status=status)
    result = diff_side(Side.BUY, [level("100.0")], [busy], TICK, TOL)
    assert (result.places, result.cancels, result.amends, result.keeps) == ([], [], [], [])
    assert result.blocked == 1


@pytest.mark.parametrize(
    "status",
    [
        OrderStatus.PENDING_CANCEL,
        OrderStatus.INACTIVE,
        OrderStatus.FILLED,
        OrderStatus.CANCELED,
        OrderStatus.EXPIRED,
        OrderStatus.REJECTED,
    ],
)
def test_an_order_on_its_way_out_or_gone_occupies_nothing(status: OrderStatus) -> None:
    gone = order("100.0", status=status)
    result = diff_side(Side.BUY, [level("100.0")], [gone], TICK, TOL)
    assert [p.level.price for p in result.places] == [D("100.0")]
    assert (result.cancels, result.amends, result.blocked) == ([], [], 0)
    assert result.naive_actions == 1


def test_each_in_flight_order_blocks_one_level() -> None:
    busy = [
        order("100.0", status=OrderStatus.PENDING_NEW),
        order("99.0", status=OrderStatus.UNKNOWN),
    ]
    result = diff_side(Side.BUY, [level("100.0"), level("99.0"), level("98.0")], busy, TICK, TOL)
    assert result.blocked == 2
    assert [p.level.price for p in result.places] == [D("98.0")]


def test_a_partially_filled_order_is_kept_on_what_remains() -> None:
    live = [order("100.0", qty="3", filled="2", status=OrderStatus.PARTIALLY_FILLED)]
    assert len(diff_side(Side.BUY, [level("100.0", "1")], live, TICK, TOL).keeps) == 1
    assert diff_side(Side.BUY, [level("100.0", "3")], live, TICK, TOL).keeps == []


@pytest.mark.parametrize(
    ("price", "qty", "kept"),
    [
        ("100.2", "1", True),  # exactly 2 ticks away
        ("100.3", "1", False),
        ("100.0", "1.1", True),  # exactly 10 % more than the level wants... of the level
        ("100.0", "0.9", True),
        ("100.0", "1.11", False),
        ("100.0", "0.89", False),
    ],
)
def test_tolerance_edges(price: str, qty: str, kept: bool) -> None:
    result = diff_side(Side.BUY, [level("100.0", "1")], [order(price, qty)], TICK, TOL)
    assert (len(result.keeps) == 1) is kept


def test_an_order_without_a_price_is_never_kept() -> None:
    priceless = order("100.0")
    priceless = dataclasses.replace(priceless, price=None, order_type=OrderType.MARKET)
    result = diff_side(Side.BUY, [level("100.0")], [priceless], TICK, TOL)
    assert ([c.order for c in result.cancels], len(result.places)) == ([priceless], 1)


def test_the_closest_level_is_kept() -> None:
    live = [order("100.0")]
    result = diff_side(Side.BUY, [level("99.8"), level("100.1")], live, TICK, TOL)
    assert [k.level.price for k in result.keeps] == [D("100.1")]


def test_an_untagged_order_keeps_the_closest_level_whatever_the_levels_tags() -> None:
    live = [order("100.0")]
    result = diff_side(Side.BUY, [level("100.0", tag="x"), level("100.1")], live, TICK, TOL)
    assert [k.level.price for k in result.keeps] == [D("100.0")]


def test_a_tag_match_beats_a_closer_level() -> None:
    live = [order("100.0", tag="b1")]
    result = diff_side(
        Side.BUY, [level("100.0", tag="b2"), level("100.2", tag="b1")], live, TICK, TOL
    )
    assert [k.level.tag for k in result.keeps] == ["b1"]


def test_tagged_orders_choose_before_untagged_ones() -> None:
    untagged, tagged = order("100.0"), order("100.1", tag="b1")
    result = diff_side(Side.BUY, [level("100.0", tag="b1")], [untagged, tagged], TICK, TOL)
    assert [k.order for k in result.keeps] == [tagged]
    assert [c.order for c in result.cancels] == [untagged]


@pytest.mark.parametrize(
    ("side", "orders", "levels", "pairs"),
    [
        # best price first on both lists: the best order goes to the best level
        (Side.BUY, ["100", "99"], ["97", "96"], [("100", "97"), ("99", "96")]),
        (Side.SELL, ["100", "101"], ["103", "104"], [("100", "103"), ("101", "104")]),
    ],
)
def test_amends_pair_best_price_first(
    side: Side, orders: list[str], levels: list[str], pairs: list[tuple[str, str]]
) -> None:
    live = [order(p, side=side) for p in reversed(orders)]
    wanted = [level(p, side=side) for p in reversed(levels)]
    result = diff_side(side, wanted, live, TICK, TOL)
    got = [(str(a.order.price), str(a.level.price)) for a in result.amends]
    assert got == pairs


def test_only_a_limit_order_on_the_same_side_is_amended() -> None:
    stop = dataclasses.replace(order("100.0"), order_type=OrderType.STOP)
    result = diff_side(Side.BUY, [level("98.0")], [stop], TICK, TOL)
    assert (len(result.amends), len(result.cancels), len(result.places)) == (0, 1, 1)
    post_only = order("100.0", tif=TimeInForce.GTC)
    gtc_level = QuoteLevel(side=Side.BUY, price=D("98.0"), quantity=D(1), post_only=False)
    result = diff_side(Side.BUY, [gtc_level], [post_only], TICK, TOL)
    assert [(a.order, a.new_quantity) for a in result.amends] == [(post_only, D(1))]


def test_what_diffing_saved_is_counted_and_never_negative() -> None:
    live = [order("100.0"), order("99.0")]
    result = diff_side(Side.BUY, [level("100.0"), level("97.0")], live, TICK, TOL)
    assert (result.naive_actions, result.actions, result.saved) == (4, 1, 3)
    no_amend = diff_side(Side.BUY, [level("97.0")], [order("99.0")], TICK, TOL, allow_amend=False)
    assert (no_amend.naive_actions, no_amend.actions, no_amend.saved) == (2, 2, 0)
