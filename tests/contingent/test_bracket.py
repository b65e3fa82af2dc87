"""OTOCO / bracket: the semantics table, one scenario per row."""

from decimal import Decimal as D

import pytest

from mmoms.contingent import (
    GroupSpecError,
    GroupStatus,
    GroupTriggered,
    OverfillDetected,
    bracket,
    limit,
    otoco,
)
from mmoms.core.commands import SubmitOrder
from mmoms.core.enums import OrderType, Side, TimeInForce, WorkingType

from .helpers import SYM, Run, amends, canceled, cancels, filled, full, submits

BUY, SELL = Side.BUY, Side.SELL


def long_bracket(partial: bool = True) -> Run:
    return Run.of(
        bracket(
            "br",
            SYM,
            BUY,
            D(2),
            entry_price=D(100),
            take_profit_price=D(110),
            stop_price=D(95),
            partial_trigger=partial,
        )
    )


def test_the_bracket_orders() -> None:
    run = long_bracket()
    (entry,) = run.commands
    assert isinstance(entry, SubmitOrder)
    assert (entry.client_order_id, entry.order_type, entry.side, entry.price) == (
        "br-entry",
        OrderType.LIMIT,
        BUY,
        D(100),
    )
    sl, tp = (leg.order for leg in run.state.spec.legs[1:])
    assert (sl.order_type, sl.side, sl.trigger_price, sl.reduce_only) == (
        OrderType.STOP_MARKET,
        SELL,
        D(95),
        True,
    )
    assert sl.working_type is WorkingType.MARK_PRICE
    assert (tp.order_type, tp.price, tp.reduce_only, tp.time_in_force) == (
        OrderType.LIMIT,
        D(110),
        True,
        TimeInForce.GTC,
    )


def test_the_entry_fill_plan_carries_the_stop_first_then_the_take_profit() -> None:
    run = long_bracket()
    p = run.feed(filled("br-entry", "0.5"))
    assert submits(p.commands) == [("br-sl", D("0.5")), ("br-tp", D("0.5"))]
    sl = p.commands[0]
    assert isinstance(sl, SubmitOrder)
    assert sl.order_type is OrderType.STOP_MARKET
    assert sl.trigger_price == D(95)
    assert isinstance(p.events[0], GroupTriggered)


def test_more_entry_fills_grow_the_take_profit_and_replace_the_stop_new_first() -> None:
    run = long_bracket()
    run.feed(filled("br-entry", "0.5"))
    p = run.feed(full("br-entry", "2"))
    assert [(type(c).__name__, c.client_order_id) for c in p.commands] == [
        ("SubmitOrder", "br-sl.2"),
        ("CancelOrder", "br-sl"),
        ("AmendOrder", "br-tp"),
    ]
    assert submits(p.commands) == [("br-sl.2", D(2))]
    assert amends(p.commands) == [("br-tp", D(2))]


def test_full_trigger_sends_the_exits_only_once_the_entry_is_filled() -> None:
    run = long_bracket(partial=False)
    assert run.feed(filled("br-entry", "1")).commands == ()
    assert submits(run.feed(full("br-entry", "2")).commands) == [("br-sl", D(2)), ("br-tp", D(2))]


def test_a_take_profit_fill_reduces_the_stop_and_cancels_the_entry_remainder() -> None:
    run = long_bracket()
    run.feed(filled("br-entry", "1"))
    p = run.feed(filled("br-tp", "0.25"))
    assert submits(p.commands) == [("br-sl.2", D("0.75"))]
    assert cancels(p.commands) == ["br-entry", "br-sl"]


def test_take_profit_filled_cancels_the_stop_and_the_group_completes() -> None:
    run = long_bracket()
    run.feed(full("br-entry", "2"))
    p = run.feed(full("br-tp", "2"))
    assert cancels(p.commands) == ["br-sl"]
    run.feed(canceled("br-sl"))
    assert run.state.status is GroupStatus.COMPLETED


def test_a_stop_fill_reduces_the_take_profit() -> None:
    run = long_bracket()
    run.feed(full("br-entry", "2"))
    p = run.feed(filled("br-sl", "0.5"))
    assert amends(p.commands) == [("br-tp", D("1.5"))]


def test_both_exits_filled_is_an_overfill_flattened_by_buying_back() -> None:
    run = long_bracket()
    run.feed(full("br-entry", "2"), full("br-tp", "2"))
    p = run.feed(full("br-sl", "2"))
    assert isinstance(p.events[0], OverfillDetected)
    (flat,) = p.commands
    assert isinstance(flat, SubmitOrder)
    assert (flat.client_order_id, flat.side, flat.quantity, flat.reduce_only) == (
        "br-flat-1",
        BUY,
        D(2),
        True,
    )


def test_an_entry_fill_racing_its_cancel_after_an_exit_fill_is_flattened() -> None:
    run = long_bracket()
    run.feed(filled("br-entry", "1"), filled("br-tp", "0.5"))  # entry cancel sent
    p = run.feed(filled("br-entry", "1.5"))  # ...but 0.5 more filled first
    (alert,) = [e for e in p.events if isinstance(e, OverfillDetected)]
    assert (alert.leg, alert.excess) == ("entry", D("0.5"))
    assert submits(p.commands) == [("br-flat-1", D("0.5"))]
    assert [c.side for c in p.commands if isinstance(c, SubmitOrder)] == [SELL]


def test_a_market_entry_bracket() -> None:
    group = bracket("m", SYM, SELL, D(1), take_profit_price=D(90), stop_price=D(105))
    assert group.leg("entry").order.order_type is OrderType.MARKET
    assert group.leg("tp").order.side is BUY


@pytest.mark.parametrize(
    ("side", "entry", "tp", "stop"),
    [
        (BUY, "100", "95", "90"),  # take-profit below entry for a long
        (BUY, "100", "110", "101"),  # stop above entry for a long
        (SELL, "100", "110", "90"),  # a short's take-profit above
        (BUY, None, "90", "95"),  # take-profit below stop
    ],
)
def test_bracket_prices_on_the_wrong_side_are_refused(
    side: Side, entry: str | None, tp: str, stop: str
) -> None:
    with pytest.raises(GroupSpecError):
        bracket(
            "x",
            SYM,
            side,
            D(1),
            entry_price=None if entry is None else D(entry),
            take_profit_price=D(tp),
            stop_price=D(stop),
        )


def test_otoco_exits_must_be_on_the_other_side() -> None:
    with pytest.raises(GroupSpecError):
        otoco(
            "x",
            SYM,
            limit(BUY, D(1), D(100)),
            limit(BUY, D(1), D(110)),
            limit(SELL, D(1), D(90)),
        )
