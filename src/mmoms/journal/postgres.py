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
* **One writer process: a session-level advisory lock.** A writer's open takes
  ``pg_try_advisory_lock`` (never waits) on a key derived from the schema before it reads or
  creates anything, and sets the session's ``application_name`` to its description ("mmoms run
  pid 1234 on host-a"); a second writer gets :class:`~mmoms.journal.store.JournalLockedError`
  naming it (found through ``pg_locks`` + ``pg_stat_activity``). The lock is taken on the
  store's *own* connection, not a separate one: it goes when that session ends (close, a dead
  process, a dropped socket), and a write can then never travel on a session that does not
  hold it. After a reconnect the lock is taken again before anything else; if another writer
  took the journal meanwhile, the call raises ``JournalLockedError``. (Behind a transaction-
  pooling proxy such as PgBouncer a session lock means nothing: connect directly.)
* **Readers take no lock.** ``read_only=True`` (``mmoms replay``) opens with
  ``default_transaction_read_only`` and refuses writes, beside a running writer.
* **Identity** lives in ``journal_meta`` (key/value: ``venue``, ``endpoint``, ``account``).

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
import contextlib
import re
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from mmoms.core.clock import Clock, LiveClock
from mmoms.journal.ownership import application_name, this_process
from mmoms.journal.postgres_support import DDL, META_DDL, statements, take_advisory_lock
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

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


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

    ``create=False`` opens an existing journal only: missing tables are an error.
    ``read_only=True`` (implies ``create=False``) is for tools: no lock, no writes. ``program``
    says what this process is in its session's description (default: from ``sys.argv``).
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
        read_only: bool = False,
        program: str | None = None,
    ) -> None:
        if not _SCHEMA_NAME.match(schema):
            raise ValueError(f"schema must be a plain lower-case identifier, not {schema!r}")
        if keep_snapshots < 1:
            raise ValueError("keep_snapshots must be at least 1")
        self.schema = schema
        self.read_only = read_only
        self._where = f"schema {schema} (PostgreSQL)"  # never the DSN: it may hold a password
        self._dsn = dsn
        self._create = create and not read_only
        self._clock = clock or LiveClock()
        settings = {"application_name": "mmoms-journal reader"}
        if read_only:
            settings["default_transaction_read_only"] = "on"
        else:
            holder = this_process(self._clock.time_ns(), program)
            settings["application_name"] = application_name(holder)
        self._settings = settings
        self._keep_snapshots = keep_snapshots
        self._connect_timeout = connect_timeout
        self._conn: asyncpg.Connection | None = None
        self._opened = False
        self._lock = asyncio.Lock()
        self._sql = statements(schema)

    # -- connection ------------------------------------------------------------------------

    async def open(self) -> None:
        """Connect, lock (a writer) and (unless ``create=False``) create the schema and tables.

        Raises:
            JournalLockedError: another session holds the journal for writing.
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
                server_settings=self._settings,
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
            if not self.read_only:  # before anything is read or created
                await take_advisory_lock(conn, self.schema, self._where)
            if self._create:
                await conn.execute(DDL.format(s=f'"{self.schema}"'))
            else:
                found = await conn.fetchval(
                    "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1"
                    " AND table_name IN ('journal', 'outbox', 'orders', 'snapshots')",
                    self.schema,
                )
                if found != 4:
                    raise JournalError(f"schema {self.schema!r} holds no mmoms journal")
            if not self.read_only:
                await conn.execute(META_DDL.format(s=f'"{self.schema}"'))
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

    def _writable(self) -> None:
        if self.read_only:
            raise JournalError(f"the journal in {self._where} is open read-only")

    async def close(self) -> None:
        async with self._lock:
            self._opened = False
            if self._conn is not None:
                conn, self._conn = self._conn, None
                if not self.read_only:
                    # Let go now, not when the server gets round to ending the session: a
                    # successor started the moment we exit must find the journal free.
                    with contextlib.suppress(*_DB_ERRORS):
                        await conn.execute("SELECT pg_advisory_unlock_all()")
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
            JournalLockedError: the connection was lost and, meanwhile, another writer took the
                journal (nothing is written).
            JournalError: the store is not open or is read-only, a payload is not JSON, or
                PostgreSQL failed (nothing is written; if the connection was lost during COMMIT,
                the outcome is unknown: check :meth:`last_seq` after reconnecting).
        """
        self._writable()
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
            JournalError: the store is not open or is read-only, the payload is not JSON, the
                snapshot claims records beyond the journal's last seq, or PostgreSQL failed.
        """
        self._writable()
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

    async def claim_identity(self, identity: JournalIdentity) -> None:
        """Record ``identity`` (first claim) or check it against the recorded one.

        Raises:
            JournalIdentityError: another identity is recorded (nothing changes).
            JournalError: the store is not open or is read-only, or PostgreSQL failed.
        """
        self._writable()
        async with self._lock:
            conn = await self._ready()
            try:
                async with conn.transaction():
                    rows = await conn.fetch(self._sql["meta"])
                    recorded = JournalIdentity.from_meta({k: v for k, v in rows})
                    if recorded is None:
                        meta = list(identity.as_meta().items())
                        await conn.executemany(self._sql["meta_put"], meta)
            except _DB_ERRORS as exc:
                raise self._error(exc, "identity not recorded", write=True) from None
        if recorded is not None and recorded != identity:
            raise JournalIdentityError(self._where, recorded, identity)

    async def identity(self) -> JournalIdentity | None:
        """Raises: JournalError: the store is not open, or PostgreSQL failed."""
        async with self._lock:
            conn = await self._ready()
            try:
                rows = await conn.fetch(self._sql["meta"])
            except asyncpg.UndefinedTableError:  # a journal from before identities, read-only
                return None
            except _DB_ERRORS as exc:
                raise self._error(exc, "read failed") from None
        return JournalIdentity.from_meta({k: v for k, v in rows})

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
