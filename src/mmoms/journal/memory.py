"""The in-memory journal store: the reference backend for tests and simulations.

It keeps the same promises as the durable stores, checked by the same contract suite:

* a batch is all-or-nothing: every check (seq and outbox-id uniqueness, JSON payloads) runs
  before anything is changed, so a failing batch leaves no trace;
* the data lives in a :class:`MemoryJournal` that outlives the store object: a test simulates a
  process restart by opening a new store on the same ``MemoryJournal`` (nothing is lost, just as
  with a file or a database);
* using a store that is not open raises :class:`~mmoms.journal.store.JournalError`, as a closed
  connection would.

Ownership: there is nothing to lock. A ``MemoryJournal`` lives in one process's memory, so no
other process can open it; within the process, tests deliberately open a second store on the
same data to play a restart (the first one "crashed" without closing), which a lock would
forbid. ``read_only=True`` refuses writes as the durable stores' readers do; the identity is
kept on the ``MemoryJournal`` and checked exactly as the durable stores check it.
"""

from __future__ import annotations

import bisect
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import msgspec

from mmoms.core.clock import Clock, LiveClock
from mmoms.journal.store import (
    Batch,
    JournalConflictError,
    JournalError,
    JournalIdentity,
    JournalIdentityError,
    OrderRow,
    OutboxEntry,
    Record,
    Snapshot,
)


@dataclass
class MemoryJournal:
    """The stored data, shared by every store opened on it."""

    records: dict[int, Record] = field(default_factory=dict)
    seqs: list[int] = field(default_factory=list)  # sorted: seqs are usually appended in order
    outbox: dict[str, OutboxEntry] = field(default_factory=dict)  # insertion order = oldest first
    done_ns: dict[str, int] = field(default_factory=dict)
    orders: dict[tuple[str, str], OrderRow] = field(default_factory=dict)
    snapshots: dict[int, Snapshot] = field(default_factory=dict)
    identity: JournalIdentity | None = None


def _check_json(what: str, payload: bytes) -> None:
    """Refuse what SQLite's ``json_valid`` and PostgreSQL's ``json`` would. Decoding into
    ``Raw`` checks the syntax without building the objects (a quarter of the cost, on the
    engine's commit path); the bytes must also be UTF-8."""
    try:
        msgspec.json.decode(payload, type=msgspec.Raw)
        if not payload.isascii():
            bytes(payload).decode()
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise JournalError(f"{what}: payload is not JSON ({exc})") from None


class InMemoryJournalStore:
    """A :class:`~mmoms.journal.store.JournalStore` held in process memory."""

    def __init__(
        self,
        data: MemoryJournal | None = None,
        *,
        clock: Clock | None = None,
        keep_snapshots: int = 3,
        read_only: bool = False,
    ) -> None:
        if keep_snapshots < 1:
            raise ValueError("keep_snapshots must be at least 1")
        self.read_only = read_only
        self.data = data if data is not None else MemoryJournal()
        self._clock = clock or LiveClock()
        self._keep_snapshots = keep_snapshots
        self._open = False

    def _data(self) -> MemoryJournal:
        if not self._open:
            raise JournalError("the journal store is not open")
        return self.data

    def _writable(self) -> MemoryJournal:
        if self.read_only:
            raise JournalError("the journal store is open read-only")
        return self._data()

    async def open(self) -> None:
        self._open = True

    async def close(self) -> None:
        self._open = False

    async def commit(self, batch: Batch) -> None:
        """Persist ``batch`` atomically.

        Raises:
            JournalConflictError: a record seq or outbox id already exists (nothing is written).
            JournalError: the store is not open or is read-only, or a payload is not JSON
                (nothing is written).
        """
        self._commit(batch)

    def commit_now(self, batch: Batch) -> None:
        """:meth:`commit` without the ``await``: there is no I/O to wait for, so the engine
        commits inline (a subclass that overrides :meth:`commit` must override this too, or set
        it to None). Raises as :meth:`commit`."""
        self._commit(batch)

    def _commit(self, batch: Batch) -> None:
        if self.read_only:
            raise JournalError("the journal store is open read-only")
        if not batch:
            return  # as the SQL stores: nothing to write, nothing checked
        data = self._data()
        new_seqs: set[int] = set()
        for r in batch.records:
            if r.seq in data.records or r.seq in new_seqs:
                raise JournalConflictError(f"journal seq {r.seq} already exists")
            new_seqs.add(r.seq)
            _check_json(f"record {r.seq}", r.payload)
        new_ids: set[str] = set()
        for e in batch.outbox_add:
            if e.id in data.outbox or e.id in new_ids:
                raise JournalConflictError(f"outbox id {e.id!r} already exists")
            new_ids.add(e.id)
            _check_json(f"outbox entry {e.id!r}", e.payload)
        # Every check passed: from here on nothing can fail half-way.
        for r in batch.records:
            data.records[r.seq] = r
            if not data.seqs or r.seq > data.seqs[-1]:
                data.seqs.append(r.seq)
            else:
                bisect.insort(data.seqs, r.seq)
        for e in batch.outbox_add:
            data.outbox[e.id] = e
        if batch.outbox_done:
            now = self._clock.time_ns()
            for oid in batch.outbox_done:
                if oid in data.outbox:  # unknown ids are ignored, as an SQL UPDATE would
                    data.done_ns.setdefault(oid, now)
        for row in batch.orders:
            data.orders[(row.symbol, row.client_order_id)] = row

    async def read(self, after_seq: int = 0, *, batch_size: int = 10_000) -> AsyncIterator[Record]:
        """Records with ``seq > after_seq`` in seq order, fetched ``batch_size`` at a time.

        Raises:
            ValueError: ``batch_size`` is not positive.
            JournalError: the store is not open (or was closed while reading).
        """
        if batch_size < 1:
            raise ValueError("batch_size must be positive")
        cursor = after_seq
        while True:
            data = self._data()
            start = bisect.bisect_right(data.seqs, cursor)
            page = data.seqs[start : start + batch_size]
            if not page:
                return
            for seq in page:
                yield data.records[seq]
            cursor = page[-1]

    async def last_seq(self) -> int:
        data = self._data()
        return data.seqs[-1] if data.seqs else 0

    async def pending_outbox(self) -> list[OutboxEntry]:
        data = self._data()
        return [e for oid, e in data.outbox.items() if oid not in data.done_ns]

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        """Store ``snapshot``; only the newest ``keep_snapshots`` are kept.

        Raises:
            JournalError: the store is not open or is read-only, the payload is not JSON, or
                the snapshot claims records beyond the journal's last seq.
        """
        data = self._writable()
        last = data.seqs[-1] if data.seqs else 0
        if snapshot.seq > last:
            raise JournalError(f"snapshot at seq {snapshot.seq} is beyond the journal ({last})")
        _check_json(f"snapshot {snapshot.seq}", snapshot.payload)
        data.snapshots[snapshot.seq] = snapshot
        for seq in sorted(data.snapshots)[: -self._keep_snapshots]:
            del data.snapshots[seq]

    async def claim_identity(self, identity: JournalIdentity) -> None:
        """Record ``identity`` (first claim) or check it against the recorded one.

        Raises:
            JournalIdentityError: another identity is recorded (nothing changes).
            JournalError: the store is not open, or is read-only.
        """
        data = self._writable()
        if data.identity is None:
            data.identity = identity
        elif data.identity != identity:
            raise JournalIdentityError("in memory", data.identity, identity)

    async def identity(self) -> JournalIdentity | None:
        """Raises: JournalError: the store is not open."""
        return self._data().identity

    async def latest_snapshot(self) -> Snapshot | None:
        data = self._data()
        return data.snapshots[max(data.snapshots)] if data.snapshots else None

    async def orders(self) -> list[OrderRow]:
        data = self._data()
        return [data.orders[k] for k in sorted(data.orders)]
