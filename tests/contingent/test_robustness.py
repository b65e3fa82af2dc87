"""The planner under duplicated, stale and out-of-order events; purity; restore; cancel_group."""

from decimal import Decimal as D

import msgspec
import pytest

from mmoms.contingent import (
    FlattenFailed,
    GroupCompleted,
    GroupStatus,
    LegPhase,
    OverfillDetected,
    StateVersionError,
    cancel_group,
    decode_state,
    encode_state,
    limit,
    oco,
    oto,
    plan,
)
from mmoms.core.enums import OrderStatus, Side

from .helpers import (
    SYM,
    Run,
    accepted,
    cancel_rejected,
    canceled,
    cancels,
    filled,
    full,
    rejected,
    submits,
    updated,
)

BUY, SELL = Side.BUY, Side.SELL


def pair() -> Run:
    return Run.of(oco("g", SYM, [limit(BUY, D(1), D(100)), limit(BUY, D(1), D(99))]))


def test_a_duplicate_event_returns_the_same_state_and_nothing_to_do() -> None:
    run = pair()
    event = filled("g-a", "0.3")
    first = run.feed(event)
    again = plan(event, first.state)
    assert again.state is first.state
    assert (again.commands, again.events, again.discarded) == ((), (), ())


def test_last_qty_is_never_added_twice_cumulative_quantity_rules() -> None:
    run = pair()
    run.feed(filled("g-a", "0.3", last="0.3"))
    run.feed(filled("g-a", "0.3", last="0.3"))  # another trade id, same cumulative: a re-send
    assert run.state.leg("a").filled == D("0.3")


def test_a_stale_report_below_what_is_known_changes_nothing() -> None:
    run = pair()
    run.feed(filled("g-a", "0.7"))
    before = run.state
    assert run.feed(filled("g-a", "0.4")).state is before


def test_a_status_update_ahead_of_its_fill_counts_and_the_fill_then_adds_nothing() -> None:
    run = pair()
    p = run.feed(updated("g-a", "1", OrderStatus.FILLED))
    assert cancels(p.commands) == ["g-b"]
    assert run.feed(full("g-a", "1")).commands == ()
    assert run.state.leg("a").filled == D(1)


def test_a_complete_fill_after_a_cancel_is_a_fact() -> None:
    run = pair()
    run.feed(canceled("g-a"))
    assert run.state.leg("a").phase is LegPhase.DONE
    p = run.feed(full("g-a", "1"))  # the fill had happened before the cancel
    assert run.state.leg("a").slots[0].final is OrderStatus.FILLED
    assert cancels(p.commands) == ["g-b"]


def test_filled_without_a_quantity_is_not_taken_as_a_fill() -> None:
    run = pair()
    before = run.state
    assert run.feed(cancel_rejected("g-a", OrderStatus.FILLED)).state is before


def test_events_of_other_orders_are_ignored() -> None:
    run = pair()
    before = run.state
    for event in (full("other", "1"), full("g-c", "1"), full("g-a.2", "1"), full("g-flat-9", "1")):
        assert run.feed(event).state is before


def test_plan_is_pure_and_deterministic() -> None:
    run = pair()
    run.feed(filled("g-a", "0.5"))
    state = run.state
    frozen = encode_state(state)
    event = full("g-b", "1")
    one, two = plan(event, state), plan(event, state)
    assert encode_state(state) == frozen
    assert one == two
    assert isinstance(one.events[0], OverfillDetected)


def test_a_state_restored_from_its_journal_bytes_replans_nothing_for_old_events() -> None:
    run = pair()
    history = [accepted("g-a"), filled("g-a", "0.4"), full("g-b", "1"), canceled("g-a")]
    run.feed(*history)
    restored = decode_state(encode_state(run.state))
    assert restored == run.state
    for event in history:
        again = plan(event, restored)
        assert again.commands == ()
        restored = again.state


def test_replaying_from_an_earlier_journaled_state_issues_the_same_commands() -> None:
    history = [filled("g-a", "0.4"), full("g-b", "0.6"), full("g-a", "1"), canceled("g-b")]
    live = pair()
    live.feed(*history[:2])
    checkpoint, issued = decode_state(encode_state(live.state)), len(live.commands)
    live.feed(*history[2:])
    replay = Run(checkpoint, live.last)
    replay.feed(*history[2:])
    assert replay.commands == live.commands[issued:]
    assert replay.commands  # the tail did decide something (a flatten)
    assert replay.state == live.state


def test_an_unknown_state_version_is_refused() -> None:
    data = msgspec.json.decode(encode_state(pair().state))
    data["version"] = 99
    with pytest.raises(StateVersionError):
        decode_state(msgspec.json.encode(data))


def test_cancel_group_cancels_live_orders_discards_waiting_ones_and_is_idempotent() -> None:
    run = Run.of(oto("o", SYM, limit(BUY, D(1), D(100)), [limit(SELL, D(1), D(110))]))
    p = cancel_group(run.state, 50)
    assert cancels(p.commands) == ["o-parent"]
    assert p.discarded == ("o-c1",)
    assert cancel_group(p.state, 51).state is p.state
    run.state = p.state
    p = run.feed(canceled("o-parent"))
    assert run.state.status is GroupStatus.CANCELED


def test_a_fill_racing_a_group_cancel_is_within_the_design() -> None:
    run = pair()
    run.state = cancel_group(run.state, 50).state
    p = run.feed(full("g-a", "1"), canceled("g-b"))
    assert not any(isinstance(e, OverfillDetected) for e in run.events)
    assert submits(p.commands) == []
    assert run.state.status is GroupStatus.COMPLETED


def test_a_late_fill_turns_a_canceled_group_completed() -> None:
    run = pair()
    run.feed(canceled("g-a"), canceled("g-b"))
    assert run.state.status is GroupStatus.CANCELED
    p = run.feed(filled("g-a", "0.2"))
    assert [type(e) for e in p.events] == [GroupCompleted]
    assert run.state.status is GroupStatus.COMPLETED


def test_a_flatten_that_fails_is_reported() -> None:
    run = pair()
    run.feed(full("g-a", "1"), full("g-b", "1"), canceled("g-b"))
    p = run.feed(rejected("g-flat-1"))
    (event,) = [e for e in p.events if isinstance(e, FlattenFailed)]
    assert event.unfilled == D(1)
    assert run.state.status is GroupStatus.COMPLETED
