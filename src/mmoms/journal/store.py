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

Ownership: a journal belongs to one process and one account.

* **One process.** A writer's :meth:`JournalStore.open` takes an exclusive lock before it reads
  or writes anything and holds it until :meth:`JournalStore.close` (or the process's death). A
  second writer is refused at once with :class:`JournalLockedError`, naming the holder; the
  holder is not disturbed. Before this, the newcomer won and the *running* instance died of a
  :class:`JournalConflictError` on its next commit. Readers (``read_only=True``: ``mmoms
  replay``, audits) take no lock and cannot write, so they work beside a running writer.
* **One account.** :meth:`JournalStore.claim_identity` records the venue and account the
  journal belongs to on the first claim and refuses any other with
  :class:`JournalIdentityError`: recovering one account's orders against another account
  would cancel and adopt the wrong orders. A journal written before identities existed
  adopts the first claim.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

import msgspec

from mmoms.core.errors import MmomsError


class JournalError(MmomsError):
    """The journal could not be read or written."""


class JournalConflictError(JournalError):
    """A record's ``seq`` (or an outbox id) already exists: another writer got there first."""


class JournalHolder(msgspec.Struct, frozen=True, kw_only=True):
    """The process that holds a journal open for writing, as it described itself."""

    pid: int
    host: str
    program: str  # what it is, e.g. "mmoms run"
    since: str  # when it took the journal, ISO 8601 UTC

    def describe(self) -> str:
        return f"pid {self.pid} on host {self.host} ({self.program}, since {self.since})"


class JournalLockedError(JournalError):
    """Another process holds the journal open for writing; it was not disturbed.

    ``holder`` is that process when it could be told (None if it has not described itself,
    e.g. it is between taking the lock and writing its description).
    """

    def __init__(self, where: str, holder: JournalHolder | None, who: str | None = None) -> None:
        self.where = where
        self.holder = holder
        if holder is not None:
            who = holder.describe()
        super().__init__(
            f"journal {where} is in use by {who or 'another process'}; "
            "stop that process or use another journal"
        )


class JournalIdentity(msgspec.Struct, frozen=True):
    """The venue and account a journal belongs to. Never holds a secret.

    Attributes:
        venue: the venue kind, e.g. "sim", "binance-testnet", "binance".
        endpoint: the venue's base URL, or "embedded" for an in-process simulator.
        account: the account's fingerprint (see ``ExchangeGateway.account_fingerprint``).

    Raises:
        ValueError: a part is empty.
    """

    venue: str
    endpoint: str
    account: str

    def __post_init__(self) -> None:
        for name in ("venue", "endpoint", "account"):
            if not getattr(self, name):
                raise ValueError(f"a journal identity needs a non-empty {name}")

    def describe(self) -> str:
        return f"venue {self.venue} at {self.endpoint}, account {self.account}"

    def as_meta(self) -> dict[str, str]:
        """The ``journal_meta`` rows the SQL stores keep it in."""
        return {"venue": self.venue, "endpoint": self.endpoint, "account": self.account}

    @classmethod
    def from_meta(cls, meta: dict[str, str]) -> JournalIdentity | None:
        """The identity in ``journal_meta`` rows; None if none is recorded. A part missing
        (edited by hand) reads as "(none)", so it can only mismatch."""
        parts = [meta.get(k) for k in ("venue", "endpoint", "account")]
        if not any(parts):
            return None
        return cls(*(part or "(none)" for part in parts))


class JournalIdentityError(JournalError):
    """The journal belongs to another venue or account than the one claiming it."""

    def __init__(self, where: str, recorded: JournalIdentity, claimed: JournalIdentity) -> None:
        self.recorded = recorded
        self.claimed = claimed
        super().__init__(
            f"journal {where} belongs to {recorded.describe()}; this run is "
            f"{claimed.describe()}; use another journal for this account"
        )


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
        """Take the journal (a writer: exclusively) and create tables if needed.

        Raises:
            JournalLockedError: another process holds the journal for writing (refused at
                once, never waiting for it).
            JournalError: the store cannot be opened (the message names it and says why).
        """
        ...

    async def claim_identity(self, identity: JournalIdentity) -> None:
        """Record ``identity`` as the journal's owner, or check it is the recorded one.

        Raises:
            JournalIdentityError: the journal belongs to another identity (nothing changes).
            JournalError: the store is not open, is read-only, or failed.
        """
        ...

    async def identity(self) -> JournalIdentity | None:
        """The recorded identity; None if none was claimed yet."""
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
