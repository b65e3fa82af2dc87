"""The journal-store protocol: what every backend (memory, SQLite, PostgreSQL) provides.

The engine commits one :class:`Batch` per drained input batch: journal records, outbox changes
and order-projection rows in ONE transaction, so a crash leaves either all of it or none. It does
not wait for one commit before deciding the next batch: batches sealed while a commit is in
flight are merged, in order, into the next one (group commit, see :mod:`mmoms.engine.commits`),
and nothing a batch decided leaves the process before the commit that holds it has returned. A
store sees one ``commit`` at a time from the engine.

* Records carry a ``seq`` assigned by the writer (the engine), unique in the store: a second
  writer that did not recover from the latest state hits :class:`JournalConflictError` instead
  of interleaving its history with ours (the uniqueness-on-version idea).
* Payloads are JSON bytes (tagged msgspec structs, see :mod:`mmoms.journal.records`), stored so
  that a person can query them with plain SQL (sqlite3's and PostgreSQL's JSON functions).
* The outbox holds commands that must reach the venue. A relay sends them and marks them done in
  a later batch; after a crash :meth:`JournalStore.pending_outbox` returns what was committed but
  not confirmed, to be sent again (commands are idempotent by construction: client order ids,
  cancels of final orders are no-ops).
* ``orders`` is a projection (one row per order, latest state) kept in the same transaction,
  for people and dashboards; recovery never depends on it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from mmoms.core.errors import MmomsError


class JournalError(MmomsError):
    """The journal could not be read or written."""


class JournalConflictError(JournalError):
    """A record's ``seq`` (or an outbox id) already exists: another writer got there first."""


# Record, OutboxEntry and OrderRow are built by the engine for every batch, several per input:
# plain slotted dataclasses, because a frozen one's __init__ costs three times as much. Nothing
# changes them once built.


@dataclass(slots=True)
class Record:
    seq: int  # assigned by the writer, strictly increasing, unique
    ts_ns: int
    kind: str  # the payload's tag, e.g. "BookReport", "EventRecorded"
    key: str  # what the record is about: a client order id, a symbol, or "" for the engine
    payload: bytes  # JSON


@dataclass(slots=True)
class OutboxEntry:
    id: str  # unique; e.g. "<seq>:<client order id>:<action>"
    ts_ns: int
    payload: bytes  # JSON of one command


@dataclass(slots=True)
class OrderRow:
    """Latest state of one order, for SQL readers."""

    client_order_id: str
    symbol: str
    side: str
    order_type: str
    status: str
    price: Decimal | None
    quantity: Decimal
    filled_qty: Decimal
    venue_order_id: int | None
    updated_ns: int


@dataclass(slots=True)
class Batch:
    records: list[Record] = field(default_factory=list)
    outbox_add: list[OutboxEntry] = field(default_factory=list)
    outbox_done: list[str] = field(default_factory=list)
    orders: list[OrderRow] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.records or self.outbox_add or self.outbox_done or self.orders)


@dataclass(frozen=True, slots=True)
class Snapshot:
    seq: int  # the last record seq the snapshot includes
    ts_ns: int
    payload: bytes


class JournalStore(Protocol):
    async def open(self) -> None:
        """Create tables if needed. Raises JournalError if the store cannot be opened."""
        ...

    async def commit(self, batch: Batch) -> None:
        """Persist ``batch`` atomically and durably.

        Raises:
            JournalConflictError: a record seq or outbox id already exists (nothing is written).
            JournalError: the store failed (nothing is written).
        """
        ...

    def read(self, after_seq: int = 0, *, batch_size: int = 10_000) -> AsyncIterator[Record]:
        """Records with ``seq > after_seq`` in seq order."""
        ...

    async def last_seq(self) -> int:
        """The highest committed seq, 0 for an empty journal."""
        ...

    async def pending_outbox(self) -> list[OutboxEntry]:
        """Outbox entries committed and not yet marked done, oldest first."""
        ...

    async def save_snapshot(self, snapshot: Snapshot) -> None: ...

    async def latest_snapshot(self) -> Snapshot | None: ...

    async def orders(self) -> list[OrderRow]:
        """The order projection (for tools and tests)."""
        ...

    async def close(self) -> None: ...
