"""OCO and OUO: the semantics table, one scenario per row."""

from decimal import Decimal as D

from mmoms.contingent import (
    GroupCanceled,
    GroupCompleted,
    GroupOptions,
    GroupStatus,
    OverfillDetected,
    limit,
    oco,
    ouo,
    stop_market,
)
from mmoms.core.commands import SubmitOrder
from mmoms.core.enums import OrderStatus, OrderType, Side

from .helpers import (
    SYM,
    Run,
    accepted,
    amends,
    cancel_rejected,
    canceled,
    cancels,
    expired,
    filled,
    full,
    submits,
)

BUY, SELL = Side.BUY, Side.SELL


def two_limits(cancel_on_first_fill: bool = False) -> Run:
    legs = [limit(BUY, D(1), D(100)), limit(BUY, D(1), D(99))]
    return Run.of(oco("g", SYM, legs, cancel_on_first_fill=cancel_on_first_fill))


def test_both_legs_go_live_at_once_with_fixed_ids() -> None:
    run = two_limits()
    assert submits(run.commands) == [("g-a", D(1)), ("g-b", D(1))]
    assert run.state.status is GroupStatus.ACTIVE
    assert run.events == []


def test_a_partial_fill_reduces_the_sibling_by_the_filled_amount() -> None:
    run = two_limits()
    p = run.feed(accepted("g-a"), accepted("g-b"), filled("g-a", "0.3"))
    assert amends(p.commands) == [("g-b", D("0.7"))]
    p = run.feed(filled("g-a", "0.5", last="0.2"))
    assert amends(p.commands) == [("g-b", D("0.5"))]


def test_a_complete_fill_cancels_the_sibling_and_the_group_completes() -> None:
    run = two_limits()
    p = run.feed(filled("g-a", "0.3"), full("g-a", "1"))
    assert cancels(p.commands) == ["g-b"]
    assert run.state.status is GroupStatus.ACTIVE  # the cancel is not confirmed yet
    p = run.feed(canceled("g-b"))
    assert p.commands == ()
    assert [type(e) for e in p.events] == [GroupCompleted]
    assert run.state.status is GroupStatus.COMPLETED


def test_cancel_on_first_fill_cancels_the_sibling_at_the_first_partial_fill() -> None:
    run = two_limits(cancel_on_first_fill=True)
    p = run.feed(filled("g-a", "0.1"))
    assert cancels(p.commands) == ["g-b"]
    assert amends(p.commands) == []


def test_a_stop_leg_is_replaced_new_order_first_because_algo_orders_cannot_be_modified() -> None:
    run = Run.of(oco("g", SYM, [limit(BUY, D(1), D(100)), stop_market(BUY, D(1), D(110))]))
    p = run.feed(filled("g-a", "0.4"))
    first, second = p.commands
    assert isinstance(first, SubmitOrder)
    assert (first.client_order_id, first.quantity, first.order_type) == (
        "g-b.2",
        D("0.6"),
        OrderType.STOP_MARKET,
    )
    assert first.trigger_price == D(110)
    assert cancels([second]) == ["g-b"]


def test_both_legs_filled_before_the_cancel_landed_is_an_overfill_and_is_flattened() -> None:
    run = two_limits()
    run.feed(full("g-a", "1"))
    p = run.feed(full("g-b", "1"))  # the cancel of g-b came too late
    (alert,) = p.events
    assert isinstance(alert, OverfillDetected)
    assert (alert.leg, alert.excess, alert.flatten_client_order_id) == ("b", D(1), "g-flat-1")
    (flat,) = p.commands
    assert isinstance(flat, SubmitOrder)
    assert (flat.client_order_id, flat.side, flat.order_type, flat.quantity) == (
        "g-flat-1",
        SELL,
        OrderType.MARKET,
        D(1),
    )
    assert flat.reduce_only
    assert run.state.status is GroupStatus.ACTIVE  # until the flatten is done
    run.feed(full("g-flat-1", "1"))
    assert run.state.status is GroupStatus.COMPLETED
    assert (run.state.leg("b").allowed, run.state.leg("b").excess) == (D(0), D(1))


def test_a_partial_overfill_flattens_only_the_excess() -> None:
    run = two_limits()
    run.feed(filled("g-a", "0.6"))  # g-b amended to 0.4 ...
    p = run.feed(filled("g-b", "0.7"))  # ... but filled 0.7 before the amend landed
    (alert,) = [e for e in p.events if isinstance(e, OverfillDetected)]
    assert alert.excess == D("0.3")
    assert submits(p.commands) == [("g-flat-1", D("0.3"))]
    assert cancels(p.commands) == ["g-a", "g-b"]  # nothing left for either: a 0.6 + b 0.4 = 1


def test_a_cancel_answered_2011_is_resolved_by_the_fill_not_as_an_error() -> None:
    run = two_limits()
    before = run.feed(full("g-a", "1")).state
    p = run.feed(cancel_rejected("g-b", OrderStatus.NEW))  # -2011: it filled, we don't know yet
    assert p.commands == ()
    assert p.events == ()
    assert p.state is before
    p = run.feed(full("g-b", "1"))
    assert [type(e) for e in p.events] == [OverfillDetected]
    assert cancels(run.commands) == ["g-b"]  # the cancel was never re-issued


def test_without_flattening_an_overfill_is_only_reported() -> None:
    group = oco(
        "g",
        SYM,
        [limit(BUY, D(1), D(100)), limit(BUY, D(1), D(99))],
        options=GroupOptions(flatten_overfill=False),
    )
    run = Run.of(group)
    run.feed(full("g-a", "1"))
    p = run.feed(full("g-b", "1"))
    (alert,) = [e for e in p.events if isinstance(e, OverfillDetected)]
    assert alert.flatten_client_order_id is None
    assert submits(p.commands) == []
    assert run.state.status is GroupStatus.COMPLETED


def test_a_straddle_filled_on_both_sides_is_flat_and_is_not_flattened() -> None:
    """Bought 1 and sold 1: the account is flat. A "flatten" would open a position (and a
    reduce-only one is refused, a false FlattenFailed). The overfill is still reported."""
    run = Run.of(oco("g", SYM, [stop_market(BUY, D(1), D(110)), stop_market(SELL, D(1), D(90))]))
    run.feed(full("g-a", "1"))
    p = run.feed(full("g-b", "1"))
    (alert,) = [e for e in p.events if isinstance(e, OverfillDetected)]
    assert (alert.excess, alert.flatten_client_order_id) == (D(1), None)
    assert submits(p.commands) == []


def test_an_opposite_leg_overfill_flattens_only_what_goes_beyond_the_design() -> None:
    """Bought 1 (the design), then sold 3: net short 2, one beyond the design's size of 1.
    Only that 1 is bought back; the rest of the excess took the position toward flat."""
    legs = [stop_market(BUY, D(1), D(110)), stop_market(SELL, D(3), D(90))]
    run = Run.of(oco("g", SYM, legs))
    run.feed(full("g-a", "1"))
    p = run.feed(full("g-b", "3"))
    (flat,) = [c for c in p.commands if isinstance(c, SubmitOrder)]
    assert (flat.side, flat.quantity) == (BUY, D(1))


def test_a_same_side_overfill_is_flattened_in_full() -> None:
    legs = [limit(BUY, D(1), D(100)), limit(BUY, D(2), D(99))]
    run = Run.of(oco("g", SYM, legs))
    run.feed(full("g-a", "1"))
    p = run.feed(full("g-b", "2"))
    (flat,) = [c for c in p.commands if isinstance(c, SubmitOrder)]
    assert (flat.side, flat.quantity) == (SELL, D(2))


def test_both_legs_canceled_unfilled_cancels_the_group() -> None:
    run = two_limits()
    p = run.feed(canceled("g-a"), canceled("g-b"))
    assert [type(e) for e in p.events] == [GroupCanceled]
    assert run.state.status is GroupStatus.CANCELED


def test_a_leg_canceled_after_a_partial_fill_leaves_the_sibling_working_reduced() -> None:
    run = two_limits()
    run.feed(filled("g-a", "0.4"), canceled("g-a"))
    assert run.state.status is GroupStatus.ACTIVE
    assert cancels(run.commands) == []
    p = run.feed(full("g-b", "0.6"))
    assert p.events
    assert isinstance(p.events[-1], GroupCompleted)


# -- OUO --------------------------------------------------------------------------------------


def test_ouo_reduces_and_cancels_a_sibling_only_when_it_is_reduced_to_its_own_fill() -> None:
    run = Run.of(
        ouo(
            "u",
            SYM,
            [limit(SELL, D(2), D(101)), limit(SELL, D(2), D(102)), limit(SELL, D(2), D(103))],
        )
    )
    p = run.feed(filled("u-a", "0.5"))
    assert amends(p.commands) == [("u-b", D("1.5")), ("u-c", D("1.5"))]
    run.feed(filled("u-b", "1"))
    assert amends(run.last.commands) == [("u-a", D(1)), ("u-c", D("0.5"))]
    p = run.feed(filled("u-c", "0.5"))  # a 0.5 + b 1 + c 0.5 = 2: everyone is done
    assert sorted(cancels(p.commands)) == ["u-a", "u-b", "u-c"]


def test_a_late_fill_of_a_leg_that_ended_before_its_sibling_won_is_excess() -> None:
    """Found by the property test: ``a`` expired, ``b`` filled, then ``a``'s fill (made before
    its expiry) is reported. ``a`` was never live to be closed, yet ``b`` won: it is excess."""
    run = two_limits(cancel_on_first_fill=True)
    run.feed(expired("g-a"), full("g-b", "1"))
    p = run.feed(filled("g-a", "0.5"))
    (alert,) = [e for e in p.events if isinstance(e, OverfillDetected)]
    assert (alert.leg, alert.excess) == ("a", D("0.5"))
    assert run.state.leg("a").allowed == 0
