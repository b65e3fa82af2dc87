"""A group's follow-up orders while the engine runs: a protective stop whose outcome is unknown
is resolved by query and re-sent under the same client id if the venue never saw it (bounded),
and a stop the venue refuses makes the group alert and flatten. Against the in-memory venue;
no sleeps: every wait is on the engine's own batches."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D

import pytest

from mmoms.contingent import FlattenFailed, GroupStatus
from mmoms.core.clock import LiveClock
from mmoms.core.enums import OrderStatus, OrderType, Side, VenueOrderStatus
from mmoms.core.ids import ClientOrderId, GroupId
from mmoms.engine.protection import ProtectionFailed
from mmoms.journal.memory import MemoryJournal
from mmoms.journal.records import BookCreate, CommandSent, decode_entry
from mmoms.venues.errors import OutcomeUnknown, Rejected, SendingHaltedError

from .fake_gateway import SYM, Failure, FakeGateway
from .test_groups_oms import _crash, a_bracket, group_status, live, status
from .test_oms import Harness, S, shutdown, start

SL, TP, ENTRY = ClientOrderId("b-sl"), ClientOrderId("b-tp"), ClientOrderId("b-entry")
FLAT = ClientOrderId("b-flat-p1")


def lost() -> Failure:
    """A timeout after which the venue never saw the order."""
    return Failure(OutcomeUnknown("read timeout"), executed=False)


async def _entry_filled(h: Harness, notes: list[object] | None = None) -> None:
    if notes is not None:
        h.oms.add_listener(notes.append)
    h.oms.place_group(S, a_bracket())
    await h.until(lambda: live(h, "b-entry"))
    h.venue.fill(ENTRY, D(1))


def _outbox_settled(journal: MemoryJournal) -> bool:
    return set(journal.done_ns) >= set(journal.outbox)


@pytest.mark.venue_stops
@pytest.mark.asyncio
async def test_a_stop_lost_in_an_unknown_outcome_is_sent_again_under_its_id() -> None:
    venue, journal = FakeGateway(LiveClock()), MemoryJournal()
    h = await start(venue, journal)
    try:
        venue.fail_for[SL] = [lost()]
        await _entry_filled(h)
        await h.until(lambda: live(h, "b-sl", "b-tp"))
        assert venue.submitted.count(SL) == 2  # the lost one, then the re-send
        assert [c for c in venue.orders if c.startswith("b-sl")] == ["b-sl"]  # one stop, same id
        assert h.oms.metrics.unknown_outcomes == 1
        assert (SL, True) in venue.conditional_hints  # resolved where stops live
        assert group_status(h, "b") is GroupStatus.TRIGGERED
        await h.until(lambda: _outbox_settled(journal))
        stats = h.oms.group_stats()
        assert (stats.protected, stats.unprotected_now, stats.protection_failures) == (1, {}, 0)
    finally:
        await shutdown(h)


@pytest.mark.venue_stops
@pytest.mark.asyncio
async def test_a_stop_whose_unknown_outcome_did_land_is_found_and_not_sent_again() -> None:
    venue, journal = FakeGateway(LiveClock()), MemoryJournal()
    h = await start(venue, journal)
    try:
        venue.fail_for[SL] = [Failure(OutcomeUnknown("read timeout"), executed=True)]
        await _entry_filled(h)
        await h.until(lambda: live(h, "b-sl", "b-tp"))
        assert venue.submitted.count(SL) == 1
        await h.until(lambda: _outbox_settled(journal))
    finally:
        await shutdown(h)


@pytest.mark.venue_stops
@pytest.mark.asyncio
async def test_re_sends_are_bounded_then_the_stop_is_rejected_and_the_position_flattened() -> None:
    venue, journal = FakeGateway(LiveClock()), MemoryJournal()
    h = await start(venue, journal, followup_resends=2)
    notes: list[object] = []
    try:
        venue.fail_for[SL] = [lost(), lost(), lost()]
        await _entry_filled(h, notes)
        await h.until(lambda: FLAT in venue.orders)
        assert venue.submitted.count(SL) == 3  # the first send and two re-sends, no more
        assert status(h, "b-sl") is OrderStatus.REJECTED
        (alert,) = [n for n in notes if isinstance(n, ProtectionFailed)]
        assert (alert.client_order_id, alert.exposed, alert.flatten_client_order_id) == (
            SL,
            D(1),
            FLAT,
        )
        venue.fill(FLAT, D(1))
        await h.until(lambda: group_status(h, "b") is GroupStatus.COMPLETED)
        assert venue.position == 0
        assert status(h, "b-tp") is OrderStatus.CANCELED
        await h.until(lambda: _outbox_settled(journal))
    finally:
        await shutdown(h)


@pytest.mark.venue_stops
@pytest.mark.asyncio
async def test_a_stop_the_venue_refuses_cancels_the_group_and_flattens_with_an_alert() -> None:
    venue, journal = FakeGateway(LiveClock()), MemoryJournal()
    h = await start(venue, journal)
    notes: list[object] = []
    try:
        refusal = Rejected("Order would immediately trigger.", code=-2021)
        venue.fail_for[SL] = [Failure(refusal)]
        await _entry_filled(h, notes)
        await h.until(lambda: FLAT in venue.orders and status(h, "b-tp") is OrderStatus.CANCELED)
        assert venue.submitted.count(SL) == 1  # a definite "no" is never re-sent
        (alert,) = [n for n in notes if isinstance(n, ProtectionFailed)]
        assert "-2021" in alert.reason
        flat = venue.orders[FLAT]
        assert (flat.side, flat.qty) == (Side.SELL, D(1))
        created = [
            e.command
            for r in journal.records.values()
            if isinstance(e := decode_entry(r.payload), BookCreate)
            and e.command.client_order_id == FLAT
        ]
        assert [(c.order_type, c.reduce_only) for c in created] == [(OrderType.MARKET, True)]
        assert h.oms.group_stats().protection_failures == 1
        venue.fill(FLAT, D(1))
        await h.until(lambda: group_status(h, "b") is GroupStatus.COMPLETED)
        assert venue.position == 0
    finally:
        await shutdown(h)


@pytest.mark.venue_stops
@pytest.mark.asyncio
async def test_with_flatten_unprotected_off_a_refused_stop_is_only_alerted() -> None:
    venue, journal = FakeGateway(LiveClock()), MemoryJournal()
    h = await start(venue, journal, flatten_unprotected=False)
    notes: list[object] = []
    try:
        venue.fail_for[SL] = [Failure(Rejected("Order would immediately trigger.", code=-2021))]
        await _entry_filled(h, notes)
        await h.until(lambda: any(isinstance(n, ProtectionFailed) for n in notes))
        await h.until(lambda: live(h, "b-tp"))
        (alert,) = [n for n in notes if isinstance(n, ProtectionFailed)]
        assert alert.flatten_client_order_id is None
        assert not [c for c in venue.orders if "-flat-" in c]
        assert venue.position == D(1)  # a person decides
    finally:
        await shutdown(h, cancel_orders=False)


@pytest.mark.venue_stops
@pytest.mark.asyncio
async def test_a_protection_flatten_the_venue_refuses_is_alerted() -> None:
    venue, journal = FakeGateway(LiveClock()), MemoryJournal()
    h = await start(venue, journal)
    notes: list[object] = []
    try:
        venue.fail_for[SL] = [Failure(Rejected("Order would immediately trigger.", code=-2021))]
        venue.fail_for[FLAT] = [Failure(Rejected("ReduceOnly Order is rejected.", code=-2022))]
        await _entry_filled(h, notes)
        await h.until(lambda: any(isinstance(n, FlattenFailed) for n in notes))
        (failed,) = [n for n in notes if isinstance(n, FlattenFailed)]
        assert (failed.group_id, failed.client_order_id, failed.unfilled) == ("b", FLAT, D(1))
        assert h.oms.group_stats().flatten_failures == 1
    finally:
        await shutdown(h, cancel_orders=False)


@pytest.mark.venue_stops
@pytest.mark.asyncio
async def test_a_stop_unknown_at_a_crash_is_resolved_and_sent_after_the_restart() -> None:
    venue, journal = FakeGateway(LiveClock()), MemoryJournal()
    first = await start(venue, journal)
    venue.fail_for[SL] = [lost()]
    venue.hold_query[SL] = asyncio.Event()  # the resolution never answers: the process dies
    await _entry_filled(first)
    await first.until(lambda: status(first, "b-sl") is OrderStatus.UNKNOWN)
    await _crash(first)
    venue.hold_query.clear()
    assert SL not in venue.orders

    second = await start(venue, journal)
    try:
        await second.until(lambda: live(second, "b-sl", "b-tp"))
        assert venue.submitted.count(SL) == 2
        await second.until(lambda: _outbox_settled(journal))
        assert second.oms.group(GroupId("b")) is not None
    finally:
        await shutdown(second)


@pytest.mark.venue_stops
@pytest.mark.asyncio
async def test_cancels_and_queries_of_a_stop_carry_the_conditional_hint() -> None:
    venue, journal = FakeGateway(LiveClock()), MemoryJournal()
    h = await start(venue, journal)
    try:
        await _entry_filled(h)
        await h.until(lambda: live(h, "b-sl", "b-tp"))
        venue.fill(TP, D(1))  # the take-profit closes the position: the stop is canceled
        await h.until(lambda: status(h, "b-sl") is OrderStatus.CANCELED)
        assert venue.conditional_hints == [(SL, True)]
    finally:
        await shutdown(h)


def _pending_outbox_commands(journal: MemoryJournal) -> list[tuple[str, str]]:
    pending = [e for oid, e in journal.outbox.items() if oid not in journal.done_ns]
    out = []
    for entry in pending:
        sent = decode_entry(entry.payload)
        assert isinstance(sent, CommandSent)
        out.append((type(sent.command).__name__, sent.command.client_order_id))
    return out


@pytest.mark.venue_stops
@pytest.mark.asyncio
async def test_a_follow_ups_answer_settles_its_own_outbox_entry_not_its_cancels() -> None:
    """The stop (a follow-up, in the outbox) is acknowledged late; meanwhile the group is
    cancelled, so the stop's cancel is in the outbox too. The stop's answer must settle the
    stop's entry only: the cancel's must stay until the cancel is answered, or a crash then
    would leave the stop live on the venue with nobody wanting it gone."""
    venue, journal = FakeGateway(LiveClock()), MemoryJournal()
    h = await start(venue, journal)
    try:
        reply = venue.hold_reply[SL] = asyncio.Event()
        await _entry_filled(h)
        await h.until(lambda: live(h, "b-sl", "b-tp"))  # the stream says so; no reply yet
        cancel_gate = venue.hold[SL] = asyncio.Event()
        h.oms.cancel_group(S, GroupId("b"))
        await h.until(lambda: ("CancelOrder", SL) in _pending_outbox_commands(journal))
        reply.set()
        await h.until(lambda: ("SubmitOrder", SL) not in _pending_outbox_commands(journal))
        assert ("CancelOrder", SL) in _pending_outbox_commands(journal)
        cancel_gate.set()
        await h.until(lambda: status(h, "b-sl") is OrderStatus.CANCELED)
        await h.until(lambda: _outbox_settled(journal))
    finally:
        await shutdown(h)


@pytest.mark.asyncio
async def test_a_cancel_not_sent_for_an_order_never_acknowledged_leaves_it_unknown() -> None:
    """The entry reached the venue but neither its reply nor its report came back; the group
    is cancelled and the cancel cannot be sent at all (the gateway halted). The order was never
    acknowledged: it must not turn NEW on our word. It is unknown, resolved by query, and the
    cancel still goes once the venue can be asked."""
    venue, journal = FakeGateway(LiveClock()), MemoryJournal()
    h = await start(venue, journal)
    try:
        venue.drop_stream = True
        reply = venue.hold_reply[ENTRY] = asyncio.Event()
        h.oms.place_group(S, a_bracket())
        await h.until(lambda: ENTRY in venue.orders)
        venue.fail_next = [Failure(SendingHaltedError("halted", until_ns=None))]  # the cancel
        seen: list[OrderStatus] = []
        h.oms.add_batch_listener(lambda: seen.append(status(h, "b-entry") or OrderStatus.NEW))
        h.oms.cancel_group(S, GroupId("b"))
        await h.until(lambda: status(h, "b-entry") is OrderStatus.UNKNOWN)
        order = h.oms.book.get(SYM, ENTRY)
        assert order is not None
        assert order.venue_order_id is None
        assert OrderStatus.NEW not in seen
        venue.drop_stream = False
        reply.set()
        await h.until(lambda: status(h, "b-entry") is OrderStatus.CANCELED)
        assert venue.orders[ENTRY].status is VenueOrderStatus.CANCELED
    finally:
        await shutdown(h)
