"""The SQLite store's plumbing: its schema and statements, row conversions, error mapping, and
the one worker thread every sqlite3 call runs in (see :mod:`mmoms.journal.sqlite` for why)."""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any, TypeVar

from mmoms.journal.store import Batch, JournalConflictError, JournalError, OrderRow

_T = TypeVar("_T")

SCHEMA = """
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
META = "CREATE TABLE IF NOT EXISTS journal_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
INSERT_META = "INSERT INTO journal_meta (key, value) VALUES (?, ?)"
TABLES = {"journal", "outbox", "orders", "snapshots"}  # journal_meta: not in older journals

INSERT_RECORD = (
    "INSERT INTO journal (seq, ts_ns, kind, key, payload) VALUES (?, ?, ?, ?, CAST(? AS TEXT))"
)
INSERT_OUTBOX = "INSERT INTO outbox (id, ts_ns, payload) VALUES (?, ?, CAST(? AS TEXT))"
MARK_DONE = "UPDATE outbox SET done_ns = ? WHERE id = ? AND done_ns IS NULL"
UPSERT_ORDER = """
INSERT INTO orders (symbol, client_order_id, side, order_type, status, price, quantity,
                    filled_qty, venue_order_id, updated_ns)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (symbol, client_order_id) DO UPDATE SET
    side = excluded.side, order_type = excluded.order_type, status = excluded.status,
    price = excluded.price, quantity = excluded.quantity, filled_qty = excluded.filled_qty,
    venue_order_id = excluded.venue_order_id, updated_ns = excluded.updated_ns
"""
READ_PAGE = (
    "SELECT seq, ts_ns, kind, key, CAST(payload AS BLOB) FROM journal"
    " WHERE seq > ? ORDER BY seq LIMIT ?"
)
_CONFLICTS = {"SQLITE_CONSTRAINT_PRIMARYKEY", "SQLITE_CONSTRAINT_UNIQUE"}


@contextlib.contextmanager
def immediate(db: sqlite3.Connection) -> Iterator[None]:
    """One ``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back if anything in it raises."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:  # some errors (disk full) have rolled back already
            db.execute("ROLLBACK")
        raise


def write_batch(db: sqlite3.Connection, batch: Batch, now_ns: Callable[[], int]) -> None:
    """A batch's statements, inside the caller's transaction. Raises what sqlite3 raises."""
    if batch.records:
        db.executemany(
            INSERT_RECORD, [(r.seq, r.ts_ns, r.kind, r.key, r.payload) for r in batch.records]
        )
    if batch.outbox_add:
        db.executemany(INSERT_OUTBOX, [(e.id, e.ts_ns, e.payload) for e in batch.outbox_add])
    if batch.outbox_done:
        now = now_ns()
        db.executemany(MARK_DONE, [(now, oid) for oid in batch.outbox_done])
    if batch.orders:
        db.executemany(UPSERT_ORDER, [order_params(o) for o in batch.orders])


def read_meta(db: sqlite3.Connection) -> dict[str, str]:
    """The ``journal_meta`` rows; none for a journal from before the table (opened read-only).
    Raises what sqlite3 raises."""
    found = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'journal_meta'")
    if found.fetchone() is None:
        return {}
    return dict(db.execute("SELECT key, value FROM journal_meta").fetchall())


def journal_error(exc: sqlite3.Error, doing: str) -> JournalError:
    if isinstance(exc, sqlite3.IntegrityError) and exc.sqlite_errorname in _CONFLICTS:
        return JournalConflictError(f"{doing}: {exc}")
    return JournalError(f"{doing}: {exc}")


_Call = tuple[asyncio.Future[Any], asyncio.AbstractEventLoop, Callable[..., Any], tuple[Any, ...]]


class Worker:
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


def order_params(o: OrderRow) -> tuple[object, ...]:
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


def order_row(row: tuple[Any, ...]) -> OrderRow:
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
