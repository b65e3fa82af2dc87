"""Contingent groups in the OrderManager against the in-memory venue: a group is risk-checked
once, an overfill race is caught and flattened (or only alerted), a -2011 cancel is resolved
from the fill, the unprotected time is measured, and follow-ups committed before a crash are
completed after the restart — once. No sleeps: every wait is on the engine's own batches."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D

import pytest

from mmoms.contingent import Group, GroupStatus, OverfillDetected, bracket, limit, oco
from mmoms.core.clock import LiveClock
from mmoms.core.commands import CancelOrder
from mmoms.core.enums import OrderStatus, Side
from mmoms.core.enums import VenueOrderStatus as V
from mmoms.core.ids import ClientOrderId, GroupId
from mmoms.engine.risk import RiskConfig, SymbolLimits
from mmoms.journal.memory import MemoryJournal
from mmoms.journal.records import RiskRejected, decode_entry

from .fake_gateway import SYM, FakeGateway
from .test_oms import Harness, S, shutdown, start

TIGHT = SymbolLimits(
    max_order_qty=D(5),
    max_order_notional=D(1_000_000),
    max_open_orders=50,
    max_position=D(6),
    price_band_pct=D(5),
)


def two_buys(gid: str, a: str, b: str) -> Group:
    return oco(gid, SYM, [limit(Side.BUY, D(a), D(94_000)), limit(Side.BUY, D(b), D(93_900))])


def status(h: Harness, cid: str) -> OrderStatus | None:
    order = h.oms.book.get(SYM, ClientOrderId(cid))
    return None if order is None else order.status


def group_status(h: Harness, gid: str) -> GroupStatus | None:
    state = h.oms.group(GroupId(gid))
    return None if state is None else state.status


def live(h: Harness, *cids: str) -> bool:
    return all(status(h, c) is OrderStatus.NEW for c in cids)


@pytest.mark.asyncio
async def test_a_group_is_charged_its_worst_case_once_and_a_breach_is_journaled() -> None:
    journal = MemoryJournal()
    risk = RiskConfig(limits={SYM: TIGHT}, max_orders_per_second=1000)
    h = await start(FakeGateway(LiveClock()), journal, risk=risk)
    notes: list[object] = []
    h.oms.add_listener(notes.append)
    try:
        # Each leg (4) fits max_position 6; their sum (8) would not. Only one can fill.
        h.oms.place_group(S, two_buys("g1", "4", "4"))
        await h.until(lambda: live(h, "g1-a", "g1-b"))
        # The group counts 4, not 8: a plain order of 2 still fits (4 + 2 = 6).
        cid = h.oms.place(S, SYM, Side.BUY, D(2), D(94_000))
        await h.until(lambda: status(h, cid) is OrderStatus.NEW)
        # A second group's largest leg (3) breaches: 4 + 2 + 3 = 9 > 6. Rejected whole.
        h.oms.place_group(S, two_buys("g2", "1", "3"))
        await h.until(lambda: any(isinstance(n, RiskRejected) for n in notes))
    finally:
        await shutdown(h)
    rejection = next(n for n in notes if isinstance(n, RiskRejected))
    assert rejection.check == "max_position"
    assert (rejection.strategy_id, rejection.symbol) == (S, SYM)  # whose group it was
    assert "group g2" in rejection.reason
    assert "9" in rejection.reason
    assert not [c for c in h.venue.orders if c.startswith("g2-")]  # nothing of it was sent
    assert h.oms.group(GroupId("g2")) is None
    journaled = [decode_entry(r.payload) for r in journal.records.values()]
    assert [e.check for e in journaled if isinstance(e, RiskRejected)] == ["max_position"]


async def _race(h: Harness) -> list[object]:
    """OCO of two buys of 1; ``a`` fills, and ``b`` fills on the venue just before our cancel of
    it lands, which the venue then answers -2011."""
    notes: list[object] = []
    h.oms.add_listener(notes.append)

    def fill_first(cmd: CancelOrder) -> None:
        if cmd.client_order_id == "o-b":
            h.venue.fill(ClientOrderId("o-b"), D(1))

    h.venue.before_cancel = fill_first
    h.oms.place_group(S, two_buys("o", "1", "1"))
    await h.until(lambda: live(h, "o-a", "o-b"))
    h.venue.fill(ClientOrderId("o-a"), D(1))
    await h.until(
        lambda: (
            status(h, "o-b") is OrderStatus.FILLED
            and any(isinstance(n, OverfillDetected) for n in notes)
            and h.oms.metrics.cancel_races == 1
        )
    )
    return notes


@pytest.mark.asyncio
async def test_both_legs_filled_before_the_cancel_landed_is_flattened() -> None:
    h = await start(FakeGateway(LiveClock()), MemoryJournal())
    try:
        notes = await _race(h)
        alert = next(n for n in notes if isinstance(n, OverfillDetected))
        assert (alert.leg, alert.excess, alert.flatten_client_order_id) == ("b", D(1), "o-flat-1")
        await h.until(lambda: "o-flat-1" in h.venue.orders)
        flat = h.venue.orders[ClientOrderId("o-flat-1")]
        assert (flat.side, flat.qty) == (Side.SELL, D(1))
        h.venue.fill(ClientOrderId("o-flat-1"), D(1))
        await h.until(lambda: group_status(h, "o") is GroupStatus.COMPLETED)
        assert h.venue.position == D(1)  # the design: one leg's worth
        # The -2011 was resolved from the fill: no API error, the order is FILLED.
        assert h.oms.metrics.api_errors == {}
        assert status(h, "o-b") is OrderStatus.FILLED
        stats = h.oms.group_stats()
        assert (stats.overfills, stats.overfill_qty, stats.flattens_sent) == (1, D(1), 1)
    finally:
        await shutdown(h)


@pytest.mark.asyncio
async def test_with_flatten_off_by_config_an_overfill_is_only_alerted() -> None:
    h = await start(FakeGateway(LiveClock()), MemoryJournal(), flatten_overfill=False)
    try:
        notes = await _race(h)
        alert = next(n for n in notes if isinstance(n, OverfillDetected))
        assert alert.flatten_client_order_id is None
        await h.until(lambda: group_status(h, "o") is GroupStatus.COMPLETED)
        assert not [c for c in h.venue.orders if "-flat-" in c]
        assert h.venue.position == D(2)  # the excess stays on: a person decides
        stats = h.oms.group_stats()
        assert (stats.overfills, stats.flattens_sent) == (1, 0)
    finally:
        await shutdown(h, cancel_orders=False)


def a_bracket(gid: str = "b") -> Group:
    return bracket(
        gid,
        SYM,
        Side.BUY,
        D(1),
        entry_price=D(94_000),
        take_profit_price=D(96_000),
        stop_price=D(93_000),
    )


@pytest.mark.venue_stops
@pytest.mark.asyncio
async def test_unprotected_time_runs_from_entry_fill_until_the_stop_is_acknowledged() -> None:
    venue = FakeGateway(LiveClock())
    h = await start(venue, MemoryJournal())
    try:
        h.oms.place_group(S, a_bracket())
        await h.until(lambda: live(h, "b-entry"))
        assert h.oms.group_stats().unprotected_now == {}  # nothing filled: nothing to protect
        gate = venue.hold[ClientOrderId("b-sl")] = asyncio.Event()
        venue.fill(ClientOrderId("b-entry"), D(1))
        await h.until(lambda: live(h, "b-tp") and "b-sl" not in venue.orders)
        during = h.oms.group_stats()
        assert list(during.unprotected_now) == ["b"]  # filled, the stop not acknowledged
        assert during.worst_unprotected_ns == during.unprotected_now[GroupId("b")] > 0
        assert during.protected == 0
        gate.set()
        await h.until(lambda: live(h, "b-sl"))
        after = h.oms.group_stats()
        assert after.unprotected_now == {}
        assert after.protected == 1
        assert after.worst_unprotected_ns >= during.worst_unprotected_ns
        stage = h.oms.metrics.latency["protect"]
        assert stage.total == 1
        assert stage.max_ns == after.worst_unprotected_ns
    finally:
        await shutdown(h)


async def _crash(h: Harness) -> None:
    """The process dies: no stop, no close; requests held by the venue never land."""
    h.run_task.cancel()
    await asyncio.gather(h.run_task, return_exceptions=True)


@pytest.mark.venue_stops
@pytest.mark.asyncio
async def test_protective_orders_committed_but_never_sent_are_sent_once_after_a_restart() -> None:
    venue, journal = FakeGateway(LiveClock()), MemoryJournal()
    first = await start(venue, journal)
    first.oms.place_group(S, a_bracket())
    await first.until(lambda: live(first, "b-entry"))
    for cid in ("b-sl", "b-tp"):
        venue.hold[ClientOrderId(cid)] = asyncio.Event()  # they never reach the venue
    venue.fill(ClientOrderId("b-entry"), D(1))
    await first.until(lambda: len(journal.outbox) - len(journal.done_ns) == 2)
    await _crash(first)
    assert "b-sl" not in venue.orders
    assert "b-tp" not in venue.orders
    venue.hold.clear()
    submits_before = venue.requests.count("submit")

    second = await start(venue, journal)
    try:
        await second.until(lambda: live(second, "b-sl", "b-tp"))
        assert venue.requests.count("submit") - submits_before == 2  # each sent exactly once
        assert {c: o.status for c, o in venue.orders.items()} == {
            "b-entry": V.FILLED,
            "b-sl": V.NEW,
            "b-tp": V.NEW,
        }
        state = second.oms.group(GroupId("b"))
        assert state is not None
        assert state.status is GroupStatus.TRIGGERED
        await second.until(lambda: set(journal.done_ns) >= set(journal.outbox))
        # The clock resumed from the entry's fill: the crash counts as unprotected time.
        stats = second.oms.group_stats()
        assert (stats.protected, stats.unprotected_now) == (1, {})
        assert second.oms.metrics.latency["protect"].total == 1
    finally:
        await shutdown(second)


@pytest.mark.venue_stops
@pytest.mark.asyncio
async def test_a_follow_up_that_reached_the_venue_before_the_crash_is_not_sent_again() -> None:
    venue, journal = FakeGateway(LiveClock()), MemoryJournal()
    first = await start(venue, journal)
    first.oms.place_group(S, a_bracket())
    await first.until(lambda: live(first, "b-entry"))
    for cid in ("b-sl", "b-tp"):
        venue.hold_reply[ClientOrderId(cid)] = asyncio.Event()  # placed; the reply never comes
    venue.drop_stream = True  # and the stream does not tell either
    venue.fill(ClientOrderId("b-entry"), D(1))
    venue.gap()  # the engine learns of the fill by reconciliation
    await first.until(lambda: "b-sl" in venue.orders and "b-tp" in venue.orders)
    assert status(first, "b-sl") is OrderStatus.PENDING_NEW  # as far as the journal knows
    await _crash(first)
    venue.hold_reply.clear()
    venue.drop_stream = False
    submits_before = venue.requests.count("submit")

    second = await start(venue, journal)
    try:
        await second.until(lambda: live(second, "b-sl", "b-tp"))
        assert venue.requests.count("submit") == submits_before  # found by query, not re-sent
        await second.until(lambda: set(journal.done_ns) >= set(journal.outbox))
    finally:
        await shutdown(second)


@pytest.mark.asyncio
async def test_a_sibling_cancel_committed_before_a_crash_is_sent_once_after_it() -> None:
    venue, journal = FakeGateway(LiveClock()), MemoryJournal()
    first = await start(venue, journal)
    first.oms.place_group(S, two_buys("o", "1", "1"))
    await first.until(lambda: live(first, "o-a", "o-b"))
    venue.hold[ClientOrderId("o-b")] = asyncio.Event()
    venue.fill(ClientOrderId("o-a"), D(1))
    await first.until(lambda: len(journal.outbox) - len(journal.done_ns) == 1)
    await _crash(first)
    assert venue.orders[ClientOrderId("o-b")].status is V.NEW
    venue.hold.clear()
    cancels_before = venue.requests.count("cancel")

    second = await start(venue, journal)
    try:
        await second.until(lambda: group_status(second, "o") is GroupStatus.COMPLETED)
        assert venue.orders[ClientOrderId("o-b")].status is V.CANCELED
        assert venue.requests.count("cancel") - cancels_before == 1
        assert venue.position == D(1)
    finally:
        await shutdown(second)
