"""The SQLite journal store: the embedded, durable default.

Design decisions:

* **Durable, grouped commits.** ``journal_mode=WAL`` and ``synchronous=FULL``: a commit returns
  only after the WAL is fsynced. One transaction per engine commit — a batch, or the batches
  the engine sealed while the previous commit was in flight (group commit) — so a hundred
  records cost one fsync, not a hundred, and a crash leaves a commit entirely or not at all.
* **One worker thread.** Every sqlite3 call runs in one dedicated thread: the asyncio loop never
  blocks on an fsync, and the connection is only ever used from the thread that created it.
  Calls are therefore also serialized, which is what a single writer wants. The hand-off is a
  plain queue and the answer comes back with one ``call_soon_threadsafe`` (no executor, no
  ``concurrent.futures`` layer: it is on the engine's commit path). A commit whose awaiting
  task is cancelled still runs to its end in the worker: the caller cannot know whether it
  landed, so the engine must not cancel commits.
* **Readable with plain SQL.** Payloads are JSON stored as TEXT (``CAST(? AS TEXT)`` turns the
  encoded bytes into text without a Python round trip) and ``CHECK (json_valid(payload))``
  refuses anything else; decimals in ``orders`` are TEXT so nothing is rounded.
* **Conflicts.** ``seq`` and outbox ``id`` are primary keys; a duplicate raises
  :class:`~mmoms.journal.store.JournalConflictError` and the batch's transaction is rolled back.

Tables (see :mod:`mmoms.journal.store` for their meaning)::

    journal(seq INTEGER PRIMARY KEY, ts_ns, kind, key, payload TEXT JSON)
    outbox(id TEXT PRIMARY KEY, ts_ns, payload TEXT JSON, done_ns NULL)   -- rowid = commit order
    orders(symbol, client_order_id, side, order_type, status, price, quantity, filled_qty,
           venue_order_id, updated_ns, PRIMARY KEY (symbol, client_order_id))
    snapshots(seq INTEGER PRIMARY KEY, ts_ns, payload TEXT JSON)

Example queries (``sqlite3 journal.sqlite``)::

    -- the last 20 records, newest first, with wall time
    SELECT seq, datetime(ts_ns / 1e9, 'unixepoch', 'subsec') AS t, kind, key
      FROM journal ORDER BY seq DESC LIMIT 20;
    -- everything about one order
    SELECT seq, kind, payload FROM journal WHERE key = 'mm-42' ORDER BY seq;
    -- fills, with price and quantity pulled out of the JSON
    SELECT seq, key, json_extract(payload, '$.report.trade_id') AS trade,
           json_extract(payload, '$.report.last_qty') AS qty,
           json_extract(payload, '$.report.last_price') AS px
      FROM journal
     WHERE kind = 'BookReport' AND json_extract(payload, '$.report.type') = 'FillReport';
    -- commands committed but not confirmed sent
    SELECT id, json_extract(payload, '$.type') FROM outbox WHERE done_ns IS NULL ORDER BY rowid;
    -- open orders by status
    SELECT status, count(*) FROM orders GROUP BY status;
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from mmoms.core.clock import Clock, LiveClock
from mmoms.journal.store import (
    Batch,
    JournalConflictError,
    JournalError,
    OrderRow,
    OutboxEntry,
    Record,
    Snapshot,
)

_T = TypeVar("_T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS journal (
    seq     INTEGER PRIMARY KEY,
    ts_ns   INTEGER NOT NULL,
    kind    TEXT NOT NULL,
    key     TEXT NOT NULL,
    payload TEXT NOT NULL CHECK (json_valid(payload))
);
CREATE INDEX IF NOT EXISTS journal_key ON journal (key);
CREATE TABLE IF NOT EXISTS outbox (
    id      TEXT PRIMARY KEY,
    ts_ns   INTEGER NOT NULL,
    payload TEXT NOT NULL CHECK (json_valid(payload)),
    done_ns INTEGER
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (done_ns) WHERE done_ns IS NULL;
CREATE TABLE IF NOT EXISTS orders (
    symbol          TEXT NOT NULL,
    client_order_id TEXT NOT NULL,
    side            TEXT NOT NULL,
    order_type      TEXT NOT NULL,
    status          TEXT NOT NULL,
    price           TEXT,
    quantity        TEXT NOT NULL,
    filled_qty      TEXT NOT NULL,
    venue_order_id  INTEGER,
    updated_ns      INTEGER NOT NULL,
    PRIMARY KEY (symbol, client_order_id)
);
CREATE TABLE IF NOT EXISTS snapshots (
    seq     INTEGER PRIMARY KEY,
    ts_ns   INTEGER NOT NULL,
    payload TEXT NOT NULL CHECK (json_valid(payload))
);
"""
_TABLES = {"journal", "outbox", "orders", "snapshots"}

_INSERT_RECORD = (
    "INSERT INTO journal (seq, ts_ns, kind, key, payload) VALUES (?, ?, ?, ?, CAST(? AS TEXT))"
)
_INSERT_OUTBOX = "INSERT INTO outbox (id, ts_ns, payload) VALUES (?, ?, CAST(? AS TEXT))"
_MARK_DONE = "UPDATE outbox SET done_ns = ? WHERE id = ? AND done_ns IS NULL"
_UPSERT_ORDER = """
INSERT INTO orders (symbol, client_order_id, side, order_type, status, price, quantity,
                    filled_qty, venue_order_id, updated_ns)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (symbol, client_order_id) DO UPDATE SET
    side = excluded.side, order_type = excluded.order_type, status = excluded.status,
    price = excluded.price, quantity = excluded.quantity, filled_qty = excluded.filled_qty,
    venue_order_id = excluded.venue_order_id, updated_ns = excluded.updated_ns
"""
_READ_PAGE = (
    "SELECT seq, ts_ns, kind, key, CAST(payload AS BLOB) FROM journal"
    " WHERE seq > ? ORDER BY seq LIMIT ?"
)
_CONFLICTS = {"SQLITE_CONSTRAINT_PRIMARYKEY", "SQLITE_CONSTRAINT_UNIQUE"}


def _journal_error(exc: sqlite3.Error, doing: str) -> JournalError:
    if isinstance(exc, sqlite3.IntegrityError) and exc.sqlite_errorname in _CONFLICTS:
        return JournalConflictError(f"{doing}: {exc}")
    return JournalError(f"{doing}: {exc}")


_Call = tuple[asyncio.Future[Any], asyncio.AbstractEventLoop, Callable[..., Any], tuple[Any, ...]]


class _Worker:
    """One thread that runs calls in order and hands each answer back to its loop."""

    def __init__(self, name: str) -> None:
        self._calls: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def call(self, fn: Callable[..., _T], *args: Any) -> asyncio.Future[_T]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[_T] = loop.create_future()
        self._calls.put((future, loop, fn, args))
        return future

    def stop(self) -> None:
        """Ends the thread once the calls already queued have run (it is not waited for)."""
        self._calls.put(None)

    def _run(self) -> None:
        while (item := self._calls.get()) is not None:
            future, loop, fn, args = item
            try:
                result = fn(*args)
            except BaseException as exc:  # handed to the caller, whatever it is
                _answer(loop, future, None, exc)
            else:
                _answer(loop, future, result, None)


def _answer(
    loop: asyncio.AbstractEventLoop,
    future: asyncio.Future[Any],
    result: Any,
    exc: BaseException | None,
) -> None:
    with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting any more
        loop.call_soon_threadsafe(_settle, future, result, exc)


def _settle(future: asyncio.Future[Any], result: Any, exc: BaseException | None) -> None:
    if future.cancelled():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)


class SqliteJournalStore:
    """A :class:`~mmoms.journal.store.JournalStore` in one SQLite file.

    ``create=False`` opens an existing journal only (tools such as the replay CLI): a missing
    file or one without the journal tables is an error instead of a new empty journal.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        create: bool = True,
        clock: Clock | None = None,
        keep_snapshots: int = 3,
        synchronous: str = "FULL",
    ) -> None:
        if keep_snapshots < 1:
            raise ValueError("keep_snapshots must be at least 1")
        if synchronous not in ("FULL", "EXTRA", "NORMAL", "OFF"):
            raise ValueError(f"unknown synchronous level {synchronous!r}")
        self.path = Path(path)
        self._create = create
        self._clock = clock or LiveClock()
        self._keep_snapshots = keep_snapshots
        self._synchronous = synchronous
        self._worker: _Worker | None = None
        self._conn: sqlite3.Connection | None = None  # touched only in the worker thread

    # -- plumbing --------------------------------------------------------------------------

    async def _call(self, fn: Callable[..., _T], *args: Any) -> _T:
        if self._worker is None:
            raise JournalError(f"the journal store {self.path} is not open")
        return await self._worker.call(fn, *args)

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise JournalError(f"the journal store {self.path} is not open")
        return self._conn

    # -- lifecycle -------------------------------------------------------------------------

    async def open(self) -> None:
        """Open (and unless ``create=False``, create) the journal.

        Raises:
            JournalError: the file is missing (``create=False``), is not an SQLite database, or
                does not hold a journal; or it cannot be opened.
        """
        if self._worker is not None:
            return
        self._worker = _Worker("mmoms-journal")
        try:
            await self._call(self._open_sync)
        except BaseException:
            self._worker.stop()
            self._worker = None
            raise

    def _open_sync(self) -> None:
        if not self._create and not self.path.is_file():
            raise JournalError(f"no such journal file: {self.path}")
        try:
            mode = "rwc" if self._create else "rw"
            conn = sqlite3.connect(
                f"{self.path.resolve().as_uri()}?mode={mode}", uri=True, isolation_level=None
            )
        except sqlite3.Error as exc:
            raise JournalError(f"cannot open journal {self.path}: {exc}") from None
        try:
            conn.execute("PRAGMA busy_timeout = 5000")
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
            if self._create:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.executescript(_SCHEMA)
            elif not tables >= _TABLES:
                raise JournalError(f"{self.path} is not an mmoms journal (tables missing)")
            conn.execute(f"PRAGMA synchronous = {self._synchronous}")
        except sqlite3.Error as exc:
            conn.close()
            raise JournalError(f"{self.path} is not a readable journal: {exc}") from None
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    async def close(self) -> None:
        if self._worker is None:
            return
        try:
            await self._call(self._close_sync)
        finally:
            self._worker.stop()
            self._worker = None

    def _close_sync(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- writes ----------------------------------------------------------------------------

    async def commit(self, batch: Batch) -> None:
        """Persist ``batch`` in one durable transaction.

        Raises:
            JournalConflictError: a record seq or outbox id already exists (nothing is written).
            JournalError: the store is not open, a payload is not JSON, or SQLite failed
                (nothing is written).
        """
        if batch:
            await self._call(self._commit_sync, batch)

    def _commit_sync(self, batch: Batch) -> None:
        db = self._db()
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                if batch.records:
                    db.executemany(
                        _INSERT_RECORD,
                        [(r.seq, r.ts_ns, r.kind, r.key, r.payload) for r in batch.records],
                    )
                if batch.outbox_add:
                    db.executemany(
                        _INSERT_OUTBOX, [(e.id, e.ts_ns, e.payload) for e in batch.outbox_add]
                    )
                if batch.outbox_done:
                    now = self._clock.time_ns()
                    db.executemany(_MARK_DONE, [(now, oid) for oid in batch.outbox_done])
                if batch.orders:
                    db.executemany(_UPSERT_ORDER, [_order_params(o) for o in batch.orders])
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:  # some errors (disk full) have rolled back already
                    db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise _journal_error(exc, "commit failed, nothing written") from None
        except (OverflowError, TypeError) as exc:  # a value sqlite3 cannot bind
            raise JournalError(f"commit failed, nothing written: {exc}") from None

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        """Store ``snapshot``; only the newest ``keep_snapshots`` are kept.

        Raises:
            JournalError: the store is not open, the payload is not JSON, the snapshot claims
                records beyond the journal's last seq, or SQLite failed.
        """
        await self._call(self._save_snapshot_sync, snapshot)

    def _save_snapshot_sync(self, snapshot: Snapshot) -> None:
        db = self._db()
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                (last,) = db.execute("SELECT coalesce(max(seq), 0) FROM journal").fetchone()
                if snapshot.seq > last:
                    raise JournalError(
                        f"snapshot at seq {snapshot.seq} is beyond the journal ({last})"
                    )
                db.execute(
                    "INSERT OR REPLACE INTO snapshots (seq, ts_ns, payload)"
                    " VALUES (?, ?, CAST(? AS TEXT))",
                    (snapshot.seq, snapshot.ts_ns, snapshot.payload),
                )
                db.execute(
                    "DELETE FROM snapshots WHERE seq NOT IN"
                    " (SELECT seq FROM snapshots ORDER BY seq DESC LIMIT ?)",
                    (self._keep_snapshots,),
                )
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:  # some errors (disk full) have rolled back already
                    db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise _journal_error(exc, "snapshot not saved") from None

    # -- reads -----------------------------------------------------------------------------

    async def read(self, after_seq: int = 0, *, batch_size: int = 10_000) -> AsyncIterator[Record]:
        """Records with ``seq > after_seq`` in seq order, fetched ``batch_size`` at a time.

        Each page is its own query (keyset paging on ``seq``), so no read transaction stays
        open between pages and commits may interleave with a long read.

        Raises:
            ValueError: ``batch_size`` is not positive.
            JournalError: the store is not open, or SQLite failed.
        """
        if batch_size < 1:
            raise ValueError("batch_size must be positive")
        cursor = after_seq
        while True:
            page = await self._call(self._page_sync, cursor, batch_size)
            if not page:
                return
            for record in page:
                yield record
            cursor = page[-1].seq

    def _page_sync(self, after_seq: int, limit: int) -> list[Record]:
        try:
            rows = self._db().execute(_READ_PAGE, (after_seq, limit)).fetchall()
        except sqlite3.Error as exc:
            raise _journal_error(exc, "read failed") from None
        return [Record(*row) for row in rows]

    async def last_seq(self) -> int:
        row = await self._call(self._one_sync, "SELECT coalesce(max(seq), 0) FROM journal")
        return int(row[0])

    async def pending_outbox(self) -> list[OutboxEntry]:
        rows = await self._call(
            self._all_sync,
            "SELECT id, ts_ns, CAST(payload AS BLOB) FROM outbox"
            " WHERE done_ns IS NULL ORDER BY rowid",
        )
        return [OutboxEntry(*row) for row in rows]

    async def latest_snapshot(self) -> Snapshot | None:
        row = await self._call(
            self._one_sync,
            "SELECT seq, ts_ns, CAST(payload AS BLOB) FROM snapshots ORDER BY seq DESC LIMIT 1",
        )
        return None if row is None else Snapshot(*row)

    async def orders(self) -> list[OrderRow]:
        rows = await self._call(
            self._all_sync,
            "SELECT client_order_id, symbol, side, order_type, status, price, quantity,"
            " filled_qty, venue_order_id, updated_ns FROM orders"
            " ORDER BY symbol, client_order_id",
        )
        return [_order_row(row) for row in rows]

    def _one_sync(self, sql: str) -> Any:
        try:
            return self._db().execute(sql).fetchone()
        except sqlite3.Error as exc:
            raise _journal_error(exc, "read failed") from None

    def _all_sync(self, sql: str) -> list[Any]:
        try:
            return self._db().execute(sql).fetchall()
        except sqlite3.Error as exc:
            raise _journal_error(exc, "read failed") from None


def _order_params(o: OrderRow) -> tuple[object, ...]:
    return (
        o.symbol,
        o.client_order_id,
        o.side,
        o.order_type,
        o.status,
        None if o.price is None else str(o.price),
        str(o.quantity),
        str(o.filled_qty),
        o.venue_order_id,
        o.updated_ns,
    )


def _order_row(row: tuple[Any, ...]) -> OrderRow:
    cid, symbol, side, order_type, status, price, qty, filled, venue_id, updated = row
    return OrderRow(
        client_order_id=cid,
        symbol=symbol,
        side=side,
        order_type=order_type,
        status=status,
        price=None if price is None else Decimal(price),
        quantity=Decimal(qty),
        filled_qty=Decimal(filled),
        venue_order_id=venue_id,
        updated_ns=updated,
    )
