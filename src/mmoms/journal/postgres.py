"""The PostgreSQL journal store (asyncpg): the journal for a scaled-out deployment.

Design decisions:

* **One connection, one transaction per batch.** The engine is the single writer, so a pool buys
  nothing; an :class:`asyncio.Lock` keeps a long ``read`` from interleaving with a commit on the
  connection (each read page is its own query, so commits still slip in between pages).
* **A batch is one statement.** Records, outbox entries, done-marks and order rows travel as
  arrays into one prepared statement of data-modifying CTEs (``INSERT ... SELECT FROM unnest``):
  one round trip and one WAL flush per batch whatever its size, atomic without BEGIN/COMMIT.
  On a local server it measures the same as ``COPY`` + ``executemany`` in a transaction (the
  WAL flush dominates); over a network it saves a round trip per table plus two. A commit is
  durable when PostgreSQL says so (``synchronous_commit``).
* **Payloads are JSON, kept verbatim.** Columns are ``json`` (validated, stored as the exact
  text, so what is read back is byte-for-byte what was written); cast to ``jsonb`` in queries
  where needed. The ``json`` codec is set to pass bytes through, so payloads are never decoded
  in Python. Decimals in ``orders`` are ``numeric``.
* **A schema per journal.** Every table lives in ``schema`` (default ``public``): tests and
  parallel runs use a schema of their own.
* **Conflicts.** ``seq`` and outbox ``id`` are primary keys; ``unique_violation`` becomes
  :class:`~mmoms.journal.store.JournalConflictError` and the transaction rolls back.
* **Lost connections.** A failed call raises :class:`~mmoms.journal.store.JournalError`; the next
  call reconnects. If the connection died during COMMIT the outcome is unknown: after
  reconnecting, :meth:`PostgresJournalStore.last_seq` tells whether the batch landed.

Example queries (``psql -h 127.0.0.1 -U postgres test``, ``SET search_path = <schema>``)::

    -- the last 20 records, with wall time
    SELECT seq, to_timestamp(ts_ns / 1e9) AS t, kind, key FROM journal ORDER BY seq DESC LIMIT 20;
    -- everything about one order
    SELECT seq, kind, payload FROM journal WHERE key = 'mm-42' ORDER BY seq;
    -- fills, fields pulled out of the JSON
    SELECT seq, key, payload -> 'report' ->> 'trade_id' AS trade,
           (payload -> 'report' ->> 'last_qty')::numeric AS qty
      FROM journal
     WHERE kind = 'BookReport' AND payload -> 'report' ->> 'type' = 'FillReport';
    -- jsonb containment works too
    SELECT count(*) FROM journal WHERE payload::jsonb @> '{"type": "BookMark"}';
    -- commands committed but not confirmed sent
    SELECT id, payload ->> 'type' FROM outbox WHERE done_ns IS NULL ORDER BY pos;
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

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

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

_DDL = """
CREATE SCHEMA IF NOT EXISTS {s};
CREATE TABLE IF NOT EXISTS {s}.journal (
    seq     BIGINT PRIMARY KEY,
    ts_ns   BIGINT NOT NULL,
    kind    TEXT NOT NULL,
    key     TEXT NOT NULL,
    payload JSON NOT NULL
);
CREATE INDEX IF NOT EXISTS journal_key ON {s}.journal (key);
CREATE TABLE IF NOT EXISTS {s}.outbox (
    id      TEXT PRIMARY KEY,
    pos     BIGINT GENERATED ALWAYS AS IDENTITY,  -- commit order: "oldest first"
    ts_ns   BIGINT NOT NULL,
    payload JSON NOT NULL,
    done_ns BIGINT
);
CREATE INDEX IF NOT EXISTS outbox_pending ON {s}.outbox (pos) WHERE done_ns IS NULL;
CREATE TABLE IF NOT EXISTS {s}.orders (
    symbol          TEXT NOT NULL,
    client_order_id TEXT NOT NULL,
    side            TEXT NOT NULL,
    order_type      TEXT NOT NULL,
    status          TEXT NOT NULL,
    price           NUMERIC,
    quantity        NUMERIC NOT NULL,
    filled_qty      NUMERIC NOT NULL,
    venue_order_id  BIGINT,
    updated_ns      BIGINT NOT NULL,
    PRIMARY KEY (symbol, client_order_id)
);
CREATE TABLE IF NOT EXISTS {s}.snapshots (
    seq     BIGINT PRIMARY KEY,
    ts_ns   BIGINT NOT NULL,
    payload JSON NOT NULL
);
"""


# Everything asyncpg raises. Of these, the connection-level ones say nothing about whether the
# statement ran (the server may have committed before the socket died).
_DB_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError)
_CONNECTION_LOST = (
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # admin shutdown, crash, terminated backend
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,
)


def _passthrough(value: bytes) -> bytes:
    return value


class PostgresJournalStore:
    """A :class:`~mmoms.journal.store.JournalStore` in one PostgreSQL schema.

    ``create=False`` opens an existing journal only (tools): missing tables are an error.
    """

    def __init__(
        self,
        dsn: str,
        *,
        schema: str = "public",
        create: bool = True,
        clock: Clock | None = None,
        keep_snapshots: int = 3,
        connect_timeout: float = 10.0,
    ) -> None:
        if not _SCHEMA_NAME.match(schema):
            raise ValueError(f"schema must be a plain lower-case identifier, not {schema!r}")
        if keep_snapshots < 1:
            raise ValueError("keep_snapshots must be at least 1")
        self.schema = schema
        self._dsn = dsn
        self._create = create
        self._clock = clock or LiveClock()
        self._keep_snapshots = keep_snapshots
        self._connect_timeout = connect_timeout
        self._conn: asyncpg.Connection | None = None
        self._opened = False
        self._lock = asyncio.Lock()
        s = f'"{schema}"'
        self._sql = {
            # A whole batch in ONE statement (data-modifying CTEs over arrays): one round trip,
            # atomic without BEGIN/COMMIT, one WAL flush.
            "commit": f"""
                WITH j AS (
                    INSERT INTO {s}.journal (seq, ts_ns, kind, key, payload)
                    SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[],
                                         $5::json[])
                ), o AS (
                    INSERT INTO {s}.outbox (id, ts_ns, payload, done_ns)
                    SELECT * FROM unnest($6::text[], $7::bigint[], $8::json[], $9::bigint[])
                ), d AS (
                    UPDATE {s}.outbox SET done_ns = $10
                     WHERE id = ANY($11::text[]) AND done_ns IS NULL
                ), r AS (
                    INSERT INTO {s}.orders (symbol, client_order_id, side, order_type, status,
                                            price, quantity, filled_qty, venue_order_id,
                                            updated_ns)
                    SELECT * FROM unnest($12::text[], $13::text[], $14::text[], $15::text[],
                                         $16::text[], $17::numeric[], $18::numeric[],
                                         $19::numeric[], $20::bigint[], $21::bigint[])
                    ON CONFLICT (symbol, client_order_id) DO UPDATE SET
                        side = excluded.side, order_type = excluded.order_type,
                        status = excluded.status, price = excluded.price,
                        quantity = excluded.quantity, filled_qty = excluded.filled_qty,
                        venue_order_id = excluded.venue_order_id,
                        updated_ns = excluded.updated_ns
                )
                SELECT 1""",
            "page": f"SELECT seq, ts_ns, kind, key, payload FROM {s}.journal"
            " WHERE seq > $1 ORDER BY seq LIMIT $2",
            "last_seq": f"SELECT coalesce(max(seq), 0) FROM {s}.journal",
            "pending": f"SELECT id, ts_ns, payload FROM {s}.outbox"
            " WHERE done_ns IS NULL ORDER BY pos",
            "snapshot_put": f"INSERT INTO {s}.snapshots (seq, ts_ns, payload) VALUES ($1, $2, $3)"
            " ON CONFLICT (seq) DO UPDATE SET ts_ns = excluded.ts_ns, payload = excluded.payload",
            "snapshot_prune": f"DELETE FROM {s}.snapshots WHERE seq NOT IN"
            f" (SELECT seq FROM {s}.snapshots ORDER BY seq DESC LIMIT $1)",
            "snapshot_latest": f"SELECT seq, ts_ns, payload FROM {s}.snapshots"
            " ORDER BY seq DESC LIMIT 1",
            "orders": f"SELECT client_order_id, symbol, side, order_type, status, price, quantity,"
            f" filled_qty, venue_order_id, updated_ns FROM {s}.orders"
            " ORDER BY symbol, client_order_id",
        }

    # -- connection ------------------------------------------------------------------------

    async def open(self) -> None:
        """Connect and (unless ``create=False``) create the schema and tables.

        Raises:
            JournalError: the server cannot be reached, or the journal tables are missing
                (``create=False``).
        """
        async with self._lock:
            await self._connection()
            self._opened = True

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is not None and not self._conn.is_closed():
            return self._conn
        try:
            conn = await asyncpg.connect(
                self._dsn,
                timeout=self._connect_timeout,
                server_settings={"application_name": "mmoms-journal"},
            )
        except (TimeoutError, *_DB_ERRORS) as exc:
            raise JournalError(f"cannot connect to the PostgreSQL journal: {exc}") from None
        try:
            await conn.set_type_codec(
                "json",
                schema="pg_catalog",
                encoder=_passthrough,
                decoder=_passthrough,
                format="binary",
            )
            if self._create:
                await conn.execute(_DDL.format(s=f'"{self.schema}"'))
            else:
                found = await conn.fetchval(
                    "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1"
                    " AND table_name IN ('journal', 'outbox', 'orders', 'snapshots')",
                    self.schema,
                )
                if found != 4:
                    raise JournalError(f"schema {self.schema!r} holds no mmoms journal")
        except _DB_ERRORS as exc:
            conn.terminate()
            raise JournalError(f"cannot prepare the PostgreSQL journal: {exc}") from None
        except BaseException:
            conn.terminate()
            raise
        self._conn = conn
        return conn

    async def _ready(self) -> asyncpg.Connection:
        if not self._opened:
            raise JournalError("the journal store is not open")
        return await self._connection()

    async def close(self) -> None:
        async with self._lock:
            self._opened = False
            if self._conn is not None:
                conn, self._conn = self._conn, None
                await conn.close()

    def _error(self, exc: BaseException, doing: str, *, write: bool = False) -> JournalError:
        if not isinstance(exc, _CONNECTION_LOST):
            # The server refused the statement: it was rolled back whole.
            what = f"{doing}, nothing written" if write else doing
            if isinstance(exc, asyncpg.UniqueViolationError):
                return JournalConflictError(f"{what}: {exc.detail or exc}")
            return JournalError(f"{what}: {exc}")
        # The connection itself failed: drop it, the next call reconnects.
        if self._conn is not None:
            self._conn.terminate()
            self._conn = None
        unknown = " (the write may or may not have landed)" if write else ""
        return JournalError(f"{doing}: connection lost{unknown}: {exc}")

    # -- writes ----------------------------------------------------------------------------

    async def commit(self, batch: Batch) -> None:
        """Persist ``batch`` atomically, in one statement.

        Raises:
            JournalConflictError: a record seq or outbox id already exists (nothing is written).
            JournalError: the store is not open, a payload is not JSON, or PostgreSQL failed
                (nothing is written; if the connection was lost during COMMIT, the outcome is
                unknown: check :meth:`last_seq` after reconnecting).
        """
        if not batch:
            return
        async with self._lock:
            conn = await self._ready()
            try:
                await conn.execute(self._sql["commit"], *self._params(batch))
            except _DB_ERRORS as exc:
                raise self._error(exc, "commit failed", write=True) from None

    def _params(self, batch: Batch) -> list[object]:
        records, added = batch.records, batch.outbox_add
        now = self._clock.time_ns()
        # All parts of one statement see the same snapshot: the UPDATE cannot see rows the
        # INSERT adds, so an entry added and marked done in one batch is inserted as done.
        done = set(batch.outbox_done)
        # One upsert cannot touch a row twice: keep each order's last row, as sequential
        # upserts would.
        rows = list({(o.symbol, o.client_order_id): o for o in batch.orders}.values())
        return [
            [r.seq for r in records],
            [r.ts_ns for r in records],
            [r.kind for r in records],
            [r.key for r in records],
            [r.payload for r in records],
            [e.id for e in added],
            [e.ts_ns for e in added],
            [e.payload for e in added],
            [now if e.id in done else None for e in added],
            now,
            batch.outbox_done,
            [o.symbol for o in rows],
            [o.client_order_id for o in rows],
            [o.side for o in rows],
            [o.order_type for o in rows],
            [o.status for o in rows],
            [o.price for o in rows],
            [o.quantity for o in rows],
            [o.filled_qty for o in rows],
            [o.venue_order_id for o in rows],
            [o.updated_ns for o in rows],
        ]

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        """Store ``snapshot``; only the newest ``keep_snapshots`` are kept.

        Raises:
            JournalError: the store is not open, the payload is not JSON, the snapshot claims
                records beyond the journal's last seq, or PostgreSQL failed.
        """
        async with self._lock:
            conn = await self._ready()
            try:
                async with conn.transaction():
                    last = await conn.fetchval(self._sql["last_seq"])
                    if snapshot.seq > last:
                        raise JournalError(
                            f"snapshot at seq {snapshot.seq} is beyond the journal ({last})"
                        )
                    await conn.execute(
                        self._sql["snapshot_put"], snapshot.seq, snapshot.ts_ns, snapshot.payload
                    )
                    await conn.execute(self._sql["snapshot_prune"], self._keep_snapshots)
            except _DB_ERRORS as exc:
                raise self._error(exc, "snapshot not saved", write=True) from None

    # -- reads -----------------------------------------------------------------------------

    async def _fetch(self, name: str, *args: Any) -> list[Any]:
        async with self._lock:
            conn = await self._ready()
            try:
                rows: list[Any] = await conn.fetch(self._sql[name], *args)
            except _DB_ERRORS as exc:
                raise self._error(exc, "read failed") from None
            return rows

    async def read(self, after_seq: int = 0, *, batch_size: int = 10_000) -> AsyncIterator[Record]:
        """Records with ``seq > after_seq`` in seq order, fetched ``batch_size`` at a time.

        Raises:
            ValueError: ``batch_size`` is not positive.
            JournalError: the store is not open, or PostgreSQL failed.
        """
        if batch_size < 1:
            raise ValueError("batch_size must be positive")
        cursor = after_seq
        while True:
            rows = await self._fetch("page", cursor, batch_size)
            if not rows:
                return
            for row in rows:
                yield Record(*row)
            cursor = rows[-1][0]

    async def last_seq(self) -> int:
        rows = await self._fetch("last_seq")
        return int(rows[0][0])

    async def pending_outbox(self) -> list[OutboxEntry]:
        return [OutboxEntry(*row) for row in await self._fetch("pending")]

    async def latest_snapshot(self) -> Snapshot | None:
        rows = await self._fetch("snapshot_latest")
        return Snapshot(*rows[0]) if rows else None

    async def orders(self) -> list[OrderRow]:
        return [OrderRow(*row) for row in await self._fetch("orders")]
