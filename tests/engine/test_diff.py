from decimal import Decimal as D

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
