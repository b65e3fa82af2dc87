"""An operating-system crash under durability ``process`` may lose the journal's unsynced tail
while the requests in it reached the venue. Simulated here: the engine places orders, dies,
and the journal loses every record after a point before those orders; the venue still has
them. The next run must leave nothing of ours unmanaged on the venue: each order it made in
the earlier run that the journal no longer knows is cancelled (and said), an order the journal
does know is left to its strategy, the position comes from the venue, and no client id is
reused."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from mmoms.core.clock import NANOS_PER_SECOND, LiveClock
from mmoms.core.enums import OrderStatus, Side
from mmoms.core.enums import VenueOrderStatus as V
from mmoms.core.ids import ClientOrderId
from mmoms.journal.memory import MemoryJournal
from mmoms.journal.records import Reconciled, decode_entry

from .fake_gateway import SYM, FakeGateway
from .test_groups_oms import _crash
from .test_oms import S, shutdown, start


class LaterClock(LiveClock):
    """The next run starts later (a restart takes longer than a millisecond)."""

    def time_ns(self) -> int:
        return super().time_ns() + 5 * NANOS_PER_SECOND


def lose_tail(journal: MemoryJournal, after_seq: int) -> None:
    """What an OS crash does to writes not fsynced yet: everything after ``after_seq`` is gone
    (records, outbox entries, order rows and snapshots written after it)."""
    kept = {s: r for s, r in journal.records.items() if s <= after_seq}
    lost_keys = {r.key for s, r in journal.records.items() if s > after_seq}
    journal.records = kept
    journal.seqs = sorted(kept)
    journal.snapshots = {s: snap for s, snap in journal.snapshots.items() if s <= after_seq}
    for key in [k for k in journal.orders if k[1] in lost_keys]:
        del journal.orders[key]
    for oid in [oid for oid in journal.outbox if int(oid.split(":")[0]) > after_seq]:
        del journal.outbox[oid]


@pytest.mark.asyncio
async def test_orders_the_journal_lost_are_cancelled_on_the_venue_at_the_next_start() -> None:
    venue, journal = FakeGateway(LiveClock()), MemoryJournal()
    first = await start(venue, journal)
    kept = first.oms.place(S, SYM, Side.BUY, D(1), D(94_000))
    await first.until(lambda: kept in venue.orders and kept in _live(first))
    synced = max(journal.seqs)  # the last checkpoint: everything up to here is on disk
    lost = [first.oms.place(S, SYM, Side.BUY, D(1), D(93_000 - 10 * i)) for i in range(3)]
    await first.until(lambda: all(c in _live(first) for c in lost))
    venue.fill(lost[0], D("0.4"))  # one of them even traded
    await first.until(lambda: first.oms.position(SYM) == D("0.4"))
    await _crash(first)
    lose_tail(journal, synced)

    venue.clock = LaterClock()
    second = await start(venue, journal)
    try:
        await second.until(
            lambda: (
                all(venue.orders[c].status is V.CANCELED for c in lost)
                and _status(second, lost[0]) is OrderStatus.CANCELED
            )
        )
        assert venue.orders[kept].status is V.NEW  # known to the journal: left alone
        assert _status(second, kept) is OrderStatus.NEW
        assert second.oms.position(SYM) == D("0.4")  # the venue's, fill of the lost order too
        said = " ".join(d for r in _reconciled(journal) for d in r.differences)
        assert all(f"{c}: ours (an earlier run)" in said for c in lost)
        fresh = second.oms.place(S, SYM, Side.SELL, D(1), D(96_000))
        assert fresh not in venue.orders  # a new id, never one of the lost ones
        assert fresh not in lost
    finally:
        await shutdown(second)


@pytest.mark.asyncio
async def test_an_order_of_someone_else_is_never_swept() -> None:
    """Only ids this engine's format made: an order placed by hand (another id) stays."""
    venue, journal = FakeGateway(LiveClock()), MemoryJournal()
    first = await start(venue, journal)
    await shutdown(first)
    venue.orders[ClientOrderId("web_manual_1")] = _manual(venue)
    venue.clock = LaterClock()
    second = await start(venue, journal)
    try:
        assert venue.orders[ClientOrderId("web_manual_1")].status is V.NEW
        assert "web_manual_1" not in " ".join(
            d for r in _reconciled(journal) for d in r.differences if "ours" in d
        )
    finally:
        await shutdown(second, cancel_orders=False)


def _manual(venue: FakeGateway) -> object:
    from .fake_gateway import VenueOrder

    order = VenueOrder(ClientOrderId("web_manual_1"), 1, Side.BUY, D(1), D(90_000), None)
    venue.orders[order.cid] = order
    return order


def _live(h: object) -> set[str]:
    return {o.client_order_id for o in h.oms.book.open_orders()}  # type: ignore[attr-defined]


def _status(h: object, cid: str) -> OrderStatus | None:
    order = h.oms.book.get(SYM, ClientOrderId(cid))  # type: ignore[attr-defined]
    return None if order is None else order.status


def _reconciled(journal: MemoryJournal) -> list[Reconciled]:
    out = []
    for record in journal.records.values():
        if record.kind == "Reconciled":
            entry = decode_entry(record.payload)
            assert isinstance(entry, Reconciled)
            out.append(entry)
    return out
