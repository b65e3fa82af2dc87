"""The unprotected-time clock and the race counters, fed by hand (times are plain numbers)."""

from __future__ import annotations

from decimal import Decimal as D

from mmoms.contingent import (
    GroupCompleted,
    GroupState,
    OverfillDetected,
    bracket,
    limit,
    oco,
    start,
)
from mmoms.core.enums import Side
from mmoms.core.ids import ClientOrderId, GroupId
from mmoms.engine.group_watch import GroupWatch
from mmoms.engine.metrics import LatencyHistogram
from tests.contingent.helpers import SYM, accepted, filled, full

G = GroupId("b")


def a_bracket() -> GroupState:
    return start(
        bracket(
            "b", SYM, Side.BUY, D(2), entry_price=D(100), take_profit_price=D(110), stop_price=D(90)
        ),
        1,
    ).state


def test_the_clock_runs_from_the_first_entry_fill_to_the_stop_acknowledgement() -> None:
    stage = LatencyHistogram()
    watch = GroupWatch(stage)
    state = a_bracket()
    watch.order_event(state, accepted("b-entry"), 100)
    assert watch.stats(150).unprotected_now == {}  # nothing filled, nothing to protect
    watch.order_event(state, filled("b-entry", "1"), 1_000)
    watch.order_event(state, filled("b-entry", "2", of="2"), 1_300)
    assert watch.stats(1_500).unprotected_now == {G: 500}  # from the *first* fill
    watch.order_event(state, accepted("b-tp"), 1_700)
    assert watch.stats(1_800).unprotected_now == {G: 800}  # a take-profit protects nothing
    watch.order_event(state, accepted("b-sl"), 2_000)
    stats = watch.stats(5_000)
    assert (stats.unprotected_now, stats.worst_unprotected_ns, stats.protected) == ({}, 1_000, 1)
    assert (stage.total, stage.max_ns) == (1, 1_000)
    watch.order_event(state, accepted("b-sl.2"), 9_000)
    assert watch.stats(9_000).protected == 1  # a re-placed stop does not restart the clock


def test_a_group_that_ends_before_its_stop_counts_in_the_worst_case_not_the_stage() -> None:
    stage = LatencyHistogram()
    watch = GroupWatch(stage)
    state = a_bracket()
    watch.order_event(state, full("b-entry", "2"), 1_000)
    watch.group_event(GroupCompleted(ts_ns=1, group_id=G), 4_000)
    stats = watch.stats(10_000)
    assert (stats.worst_unprotected_ns, stats.protected, stats.unprotected_now) == (3_000, 0, {})
    assert stage.total == 0


def test_an_oco_needs_no_protection_and_overfills_are_counted() -> None:
    watch = GroupWatch(LatencyHistogram())
    state = start(oco("o", SYM, [limit(Side.BUY, D(1), D(99)), limit(Side.BUY, D(1), D(98))]), 1)
    watch.order_event(state.state, full("o-a", "1"), 1_000)
    assert watch.stats(2_000).unprotected_now == {}
    for flatten in (ClientOrderId("o-flat-1"), None):
        watch.group_event(
            OverfillDetected(
                ts_ns=1,
                group_id=GroupId("o"),
                leg="b",
                client_order_id=ClientOrderId("o-b"),
                excess=D("0.5"),
                flatten_client_order_id=flatten,
            ),
            3_000,
        )
    stats = watch.stats(4_000)
    assert (stats.overfills, stats.overfill_qty, stats.flattens_sent) == (2, D(1), 1)
