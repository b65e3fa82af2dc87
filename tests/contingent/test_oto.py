"""OTO: the semantics table, one scenario per row."""

from decimal import Decimal as D

from mmoms.contingent import (
    Edge,
    EdgeKind,
    EdgeOn,
    GroupCanceled,
    GroupStatus,
    GroupTriggered,
    LegPhase,
    graph,
    limit,
    oto,
    stop_market,
    waiting_orders,
)
from mmoms.core.enums import Side

from .helpers import SYM, Run, amends, canceled, cancels, expired, filled, full, rejected, submits

BUY, SELL = Side.BUY, Side.SELL


def make(partial: bool = False, child_qty: str = "2") -> Run:
    parent = limit(BUY, D(2), D(100))
    children = [limit(SELL, D(child_qty), D(110)), limit(SELL, D(child_qty), D(111))]
    return Run.of(oto("o", SYM, parent, children, partial_trigger=partial))


def test_only_the_parent_goes_live_and_children_wait_as_inactive_orders() -> None:
    run = make()
    assert submits(run.commands) == [("o-parent", D(2))]
    assert [leg.phase for leg in run.state.legs] == [
        LegPhase.LIVE,
        LegPhase.WAITING,
        LegPhase.WAITING,
    ]
    inactive = waiting_orders(run.state, 1)
    assert [(o.client_order_id, o.quantity, o.side) for o in inactive] == [
        ("o-c1", D(2), SELL),
        ("o-c2", D(2), SELL),
    ]


def test_full_trigger_waits_for_the_complete_fill() -> None:
    run = make()
    p = run.feed(filled("o-parent", "1.5"))
    assert p.commands == ()
    assert run.state.status is GroupStatus.ACTIVE
    p = run.feed(full("o-parent", "2"))
    assert submits(p.commands) == [("o-c1", D(2)), ("o-c2", D(2))]
    (event,) = p.events
    assert isinstance(event, GroupTriggered)
    assert event.legs == ("c1", "c2")
    assert run.state.status is GroupStatus.TRIGGERED


def test_partial_trigger_sends_children_at_the_first_fill_sized_to_it_and_follows() -> None:
    run = make(partial=True)
    p = run.feed(filled("o-parent", "0.5"))
    assert submits(p.commands) == [("o-c1", D("0.5")), ("o-c2", D("0.5"))]
    p = run.feed(filled("o-parent", "1.25", last="0.75"))
    assert amends(p.commands) == [("o-c1", D("1.25")), ("o-c2", D("1.25"))]
    assert p.events == ()  # triggered once


def test_partial_trigger_sizes_from_the_child_quantity_cap_not_a_stale_remainder() -> None:
    run = make(partial=True, child_qty="1")
    run.feed(filled("o-parent", "0.5"))
    p = run.feed(full("o-parent", "2"))
    assert amends(p.commands) == [("o-c1", D(1)), ("o-c2", D(1))]  # never above the child's own


def test_a_partially_triggered_stop_child_grows_by_replacement() -> None:
    run = Run.of(
        oto(
            "o",
            SYM,
            limit(BUY, D(2), D(100)),
            [stop_market(SELL, D(2), D(90))],
            partial_trigger=True,
        )
    )
    run.feed(filled("o-parent", "0.5"))
    p = run.feed(filled("o-parent", "1"))
    assert submits(p.commands) == [("o-c1.2", D(1))]
    assert cancels(p.commands) == ["o-c1"]


def test_parent_canceled_with_nothing_filled_discards_the_children() -> None:
    run = make()
    p = run.feed(canceled("o-parent"))
    assert p.discarded == ("o-c1", "o-c2")
    assert [type(e) for e in p.events] == [GroupCanceled]
    assert submits(p.commands) == []


def test_parent_rejected_discards_the_children() -> None:
    run = make(partial=True)
    p = run.feed(rejected("o-parent"))
    assert p.discarded == ("o-c1", "o-c2")
    assert run.state.status is GroupStatus.CANCELED


def test_parent_expired_discards_the_children() -> None:
    run = make()
    assert run.feed(expired("o-parent")).discarded == ("o-c1", "o-c2")


def test_full_trigger_parent_ending_after_a_partial_fill_triggers_children_sized_to_it() -> None:
    run = make()
    run.feed(filled("o-parent", "0.75"))
    p = run.feed(canceled("o-parent"))
    assert submits(p.commands) == [("o-c1", D("0.75")), ("o-c2", D("0.75"))]


def test_partial_trigger_parent_canceled_after_a_fill_keeps_the_children() -> None:
    run = make(partial=True)
    run.feed(filled("o-parent", "0.5"))
    p = run.feed(canceled("o-parent"))
    assert p.commands == ()
    assert p.discarded == ()
    assert run.state.leg("c1").phase is LegPhase.LIVE


def test_a_leg_with_two_triggers_waits_for_both_and_dies_with_either() -> None:
    legs = {
        "p": limit(BUY, D(1), D(100)),
        "q": limit(BUY, D(1), D(99)),
        "c": limit(SELL, D(1), D(110)),
    }
    edges = [
        Edge("p", "c", EdgeKind.TRIGGER, EdgeOn.FILL),
        Edge("q", "c", EdgeKind.TRIGGER, EdgeOn.FILL),
    ]
    both = Run.of(graph("g", SYM, legs, edges))
    assert submits(both.feed(full("g-p", "1")).commands) == []
    assert submits(both.feed(full("g-q", "1")).commands) == [("g-c", D(1))]
    one_dead = Run.of(graph("g", SYM, legs, edges))
    assert one_dead.feed(canceled("g-q")).discarded == ("g-c",)  # p still working


def test_a_stop_child_with_a_fill_is_replaced_by_what_is_still_wanted_never_more() -> None:
    run = Run.of(
        oto(
            "o",
            SYM,
            limit(BUY, D(2), D(100)),
            [stop_market(SELL, D(2), D(90))],
            partial_trigger=True,
        )
    )
    run.feed(filled("o-parent", "1"))  # the child goes live for 1
    run.feed(filled("o-c1", "0.4"))  # it triggered and filled 0.4 of it
    p = run.feed(full("o-parent", "2"))  # the child now wants 2 in all: 0.4 done, 1.6 more
    assert submits(p.commands) == [("o-c1.2", D("1.6"))]
    assert cancels(p.commands) == ["o-c1"]
    assert {c.ts_ns for c in p.commands} == {10}  # stamped with the event that caused them
    leg = run.state.legs[1]
    assert [(s.client_order_id, s.quantity, s.filled) for s in leg.slots] == [
        ("o-c1", D(1), D("0.4")),
        ("o-c1.2", D("1.6"), D(0)),
    ]
