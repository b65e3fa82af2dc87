"""What a group charges the risk layer: once, not once per leg."""

from decimal import Decimal as D

from mmoms.contingent import (
    Edge,
    EdgeKind,
    EdgeOn,
    bracket,
    cancel_group,
    graph,
    group_exposure,
    limit,
    market,
    oco,
    oto,
    start,
    stop_market,
)
from mmoms.core.enums import Side

from .helpers import SYM, Run, filled

BUY, SELL = Side.BUY, Side.SELL
K, On = EdgeKind, EdgeOn


def test_an_oco_charges_its_largest_leg_not_the_sum() -> None:
    state = start(oco("g", SYM, [limit(BUY, D(1), D(100)), limit(BUY, D(2), D(99))]), 1).state
    exposure = group_exposure(state)
    assert (exposure.buy_qty, exposure.sell_qty) == (D(2), D(0))
    assert exposure.buy_notional == D(198)


def test_a_cancel_on_first_fill_oco_is_exclusive_too() -> None:
    group = oco("g", SYM, [limit(BUY, D(1), D(100))] * 3, cancel_on_first_fill=True)
    assert group_exposure(start(group, 1).state).buy_qty == D(1)


def test_a_straddle_charges_each_side_once() -> None:
    group = oco("g", SYM, [stop_market(BUY, D(1), D(110)), stop_market(SELL, D(3), D(90))])
    exposure = group_exposure(start(group, 1).state)
    assert (exposure.buy_qty, exposure.sell_qty) == (D(1), D(3))
    assert (exposure.buy_notional, exposure.sell_notional) == (D(110), D(270))  # trigger prices


def test_after_a_partial_fill_what_remains_is_charged() -> None:
    run = Run.of(oco("g", SYM, [limit(BUY, D(1), D(100)), limit(BUY, D(1), D(99))]))
    run.feed(filled("g-a", "0.25"))
    assert group_exposure(run.state).buy_qty == D("0.75")


def test_a_brackets_exits_are_reduce_only_and_not_charged() -> None:
    group = bracket(
        "b", SYM, BUY, D(2), entry_price=D(100), take_profit_price=D(110), stop_price=D(95)
    )
    run = Run.of(group)
    assert group_exposure(run.state).buy_qty == D(2)
    run.feed(filled("b-entry", "2"))
    exposure = group_exposure(run.state)
    assert (exposure.buy_qty, exposure.sell_qty) == (D(0), D(0))


def test_a_waiting_child_that_opens_a_position_is_charged_in_full() -> None:
    group = oto("o", SYM, limit(BUY, D(1), D(100)), [limit(SELL, D(5), D(110))])
    exposure = group_exposure(start(group, 1).state)
    assert (exposure.buy_qty, exposure.sell_qty) == (D(1), D(5))
    assert group_exposure(cancel_group(start(group, 1).state, 2).state).sell_qty == D(0)


def test_legs_that_are_not_all_mutually_exclusive_are_summed() -> None:
    a, b, c = (limit(BUY, D(1), D(100)) for _ in range(3))
    chain = [  # a <-> b and b <-> c, but a and c can both fill
        Edge(x, y, K.REDUCE, On.PARTIAL_FILL)
        for x, y in (("a", "b"), ("b", "a"), ("b", "c"), ("c", "b"))
    ]
    assert group_exposure(
        start(graph("g", SYM, {"a": a, "b": b, "c": c}, chain), 1).state
    ).buy_qty == D(3)
    one_way = [Edge("a", "b", K.CANCEL, On.FILL), Edge("b", "a", K.CANCEL, On.FILL)]
    # cancel only on a *complete* fill: both can still fill almost entirely
    assert group_exposure(start(graph("g", SYM, {"a": a, "b": b}, one_way), 1).state).buy_qty == D(
        2
    )


def test_a_market_leg_needs_a_reference_price_for_its_notional() -> None:
    state = start(graph("g", SYM, {"a": market(BUY, D(1))}, []), 1).state
    assert group_exposure(state).buy_notional is None
    assert group_exposure(state, reference_price=D(50)).buy_notional == D(50)
