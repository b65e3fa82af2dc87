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
* **One writer process: an OS lock on a sidecar file.** A writer's :meth:`open` takes
  ``flock(LOCK_EX | LOCK_NB)`` on ``<journal>.lock`` before it opens the database, holds it
  until :meth:`close`, and writes its description (JSON: pid, host, program, since) into it; a
  second writer gets :class:`~mmoms.journal.store.JournalLockedError` naming that process, at
  once. The kernel drops the lock when the process dies, SIGKILL included, so there is no stale
  lock to clean up. Why not ``flock`` the database file itself: on Linux flock and SQLite's
  POSIX (fcntl) locks are separate, but a POSIX lock belongs to the (process, inode) pair and
  *closing any descriptor* of the file drops all of the process's POSIX locks on it, so our
  own descriptor on the database, closed at the end, could silently drop the locks SQLite holds
  for a connection still in use; on NFS flock is emulated with POSIX byte-range locks and would
  collide with SQLite's. The sidecar touches nothing SQLite owns, and has room for the holder's
  description (the database has none until it is open, and reading it means opening it).
* **Readers take no lock.** ``read_only=True`` (``mmoms replay``, audits) opens an existing
  journal with ``mode=ro``: WAL lets it read beside a running writer, and SQLite itself refuses
  writes; :meth:`commit` and friends raise before trying.
* **Identity** lives in ``journal_meta`` (key/value): ``venue``, ``endpoint``, ``account``.
  It is created by every writer's open, so a journal from before it gains the table and adopts
  the first claim.

Tables (see :mod:`mmoms.journal.store` for their meaning)::

    journal(seq INTEGER PRIMARY KEY, ts_ns, kind, key, payload TEXT JSON)
    outbox(id TEXT PRIMARY KEY, ts_ns, payload TEXT JSON, done_ns NULL)   -- rowid = commit order
    orders(symbol, client_order_id, side, order_type, status, price, quantity, filled_qty,
           venue_order_id, updated_ns, PRIMARY KEY (symbol, client_order_id))
    snapshots(seq INTEGER PRIMARY KEY, ts_ns, payload TEXT JSON)
    journal_meta(key TEXT PRIMARY KEY, value)                          -- identity

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
    -- which venue and account the journal belongs to
    SELECT key, value FROM journal_meta;
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

from mmoms.core.clock import Clock, LiveClock
from mmoms.journal.checkpointer import Checkpointer
from mmoms.journal.ownership import SidecarLock, this_process
from mmoms.journal.sqlite_support import (
    INSERT_META,
    META,
    READ_PAGE,
    SCHEMA,
    TABLES,
    Worker,
    immediate,
    journal_error,
    order_row,
    read_meta,
    write_batch,
)
from mmoms.journal.store import (
    Batch,
    JournalError,
    JournalIdentity,
    JournalIdentityError,
    OrderRow,
    OutboxEntry,
    Record,
    Snapshot,
)

_T = TypeVar("_T")


class SqliteJournalStore:
    """A :class:`~mmoms.journal.store.JournalStore` in one SQLite file.

    ``create=False`` opens an existing journal only: a missing file or one without the journal
    tables is an error instead of a new empty journal. ``read_only=True`` (implies
    ``create=False``) is for tools such as the replay CLI: no lock, no writes, so it works on a
    journal a running process holds. ``program`` says what this process is in the lock's
    description (default: from ``sys.argv``, e.g. "mmoms run").
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        create: bool = True,
        clock: Clock | None = None,
        keep_snapshots: int = 3,
        synchronous: str = "FULL",
        read_only: bool = False,
        program: str | None = None,
        durability: str | None = None,
        fsync_interval_s: float = 0.05,
    ) -> None:
        """``durability`` (overrides ``synchronous``): ``"fsync"`` — a commit returns once it is
        on disk (``synchronous=FULL``); ``"process"`` — once the operating system has it
        (``NORMAL``), fsynced behind the writer every ``fsync_interval_s``
        (:mod:`mmoms.journal.checkpointer` says what each survives).

        Raises:
            ValueError: an unknown level or mode.
        """
        if keep_snapshots < 1:
            raise ValueError("keep_snapshots must be at least 1")
        if durability not in (None, "fsync", "process"):
            raise ValueError(f"unknown durability {durability!r} (fsync, process)")
        if durability is not None:
            synchronous = "FULL" if durability == "fsync" else "NORMAL"
        if synchronous not in ("FULL", "EXTRA", "NORMAL", "OFF"):
            raise ValueError(f"unknown synchronous level {synchronous!r}")
        self._checkpointer = (
            Checkpointer(Path(path), fsync_interval_s)
            if durability == "process" and not read_only
            else None
        )
        # With no fsync on the commit path a commit is a write into the OS's cache: done on the
        # caller's thread, on a connection of its own, it costs no thread hop (the engine's
        # CommitPipeline calls ``commit_now`` inline, as for the in-memory store).
        self._inline: sqlite3.Connection | None = None
        if self._checkpointer is not None:
            self.commit_now = self._commit_inline
        self.path = Path(path)
        self.read_only = read_only
        self._create = create and not read_only
        self._program = program
        self._lock: SidecarLock | None = None  # touched only in the worker thread
        self._clock = clock or LiveClock()
        self._keep_snapshots = keep_snapshots
        self._synchronous = synchronous
        self._worker: Worker | None = None
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

    def _writable(self) -> None:
        if self.read_only:
            raise JournalError(f"the journal store {self.path} is open read-only")

    # -- lifecycle -------------------------------------------------------------------------

    async def open(self) -> None:
        """Open (and unless ``create=False``, create) the journal; a writer locks it first.

        Raises:
            JournalLockedError: another writer holds the journal (this or another process).
            JournalError: the file is missing (``create=False``), is not an SQLite database, or
                does not hold a journal; or it or its lock file cannot be created or opened
                (e.g. its directory is a regular file), with the path and the OS's reason.
        """
        if self._worker is not None:
            return
        self._worker = Worker("mmoms-journal")
        try:
            await self._call(self._open_sync)
        except BaseException:
            self._worker.stop()
            self._worker = None
            raise
        if self._checkpointer is not None:
            self._inline = self._connect_inline()
            self._checkpointer.start()

    def _open_sync(self) -> None:
        if not self._create and not self.path.is_file():
            raise JournalError(f"no such journal file: {self.path}")
        # The lock comes before anything reads or writes the database.
        lock = None
        if not self.read_only:
            lock = SidecarLock.take(self.path, this_process(self._clock.time_ns(), self._program))
        try:
            self._conn = self._connect_sync()
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        self._lock = lock

    def _connect_sync(self) -> sqlite3.Connection:
        try:
            mode = "ro" if self.read_only else "rwc" if self._create else "rw"
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
                conn.executescript(SCHEMA)
            elif not tables >= TABLES:
                raise JournalError(f"{self.path} is not an mmoms journal (tables missing)")
            if not self.read_only:
                conn.execute(META)  # a journal from before identities gains the table
            self._writer_pragmas(conn)
        except sqlite3.Error as exc:
            conn.close()
            raise JournalError(f"{self.path} is not a readable journal: {exc}") from None
        except BaseException:
            conn.close()
            raise
        return conn

    async def close(self) -> None:
        if self._worker is None:
            return
        if self._inline is not None:
            self._inline.close()
            self._inline = None
        if self._checkpointer is not None:
            self._checkpointer.stop()
        try:
            await self._call(self._close_sync)
        finally:
            self._worker.stop()
            self._worker = None

    def _close_sync(self) -> None:
        try:
            if self._conn is not None:
                if self._checkpointer is not None:  # everything on disk before we let go
                    self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
                self._conn.close()
                self._conn = None
        finally:
            if self._lock is not None:  # after the database is closed: nothing is in flight
                self._lock.release()
                self._lock = None

    # -- writes ----------------------------------------------------------------------------

    async def commit(self, batch: Batch) -> None:
        """Persist ``batch`` in one durable transaction.

        Raises:
            JournalConflictError: a record seq or outbox id already exists (nothing is written).
            JournalError: the store is not open or is read-only, a payload is not JSON, or
                SQLite failed (nothing is written).
        """
        self._writable()
        if not batch:
            return
        if self._checkpointer is not None:
            self._commit_inline(batch)
        else:
            await self._call(self._commit_sync, batch)

    def _connect_inline(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 5000")
        self._writer_pragmas(conn)
        return conn

    def _writer_pragmas(self, conn: sqlite3.Connection) -> None:
        """How a connection that commits writes: the durability level, and under ``process``
        no checkpoint of its own (the checkpointer's job)."""
        conn.execute(f"PRAGMA synchronous = {self._synchronous}")
        if self._checkpointer is not None:
            conn.execute("PRAGMA wal_autocheckpoint = 0")

    def _commit_inline(self, batch: Batch) -> None:
        """Durability ``process``: the commit on the caller's thread (same errors as
        :meth:`commit`)."""
        if self._inline is None:
            raise JournalError(f"the journal store {self.path} is not open")
        self._commit_sync(batch, self._inline)

    def _commit_sync(self, batch: Batch, db: sqlite3.Connection | None = None) -> None:
        db = db or self._db()
        try:
            with immediate(db):
                write_batch(db, batch, self._clock.time_ns)
        except sqlite3.Error as exc:
            raise journal_error(exc, "commit failed, nothing written") from None
        except (OverflowError, TypeError) as exc:  # a value sqlite3 cannot bind
            raise JournalError(f"commit failed, nothing written: {exc}") from None

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        """Store ``snapshot``; only the newest ``keep_snapshots`` are kept.

        Raises:
            JournalError: the store is not open or is read-only, the payload is not JSON, the
                snapshot claims records beyond the journal's last seq, or SQLite failed.
        """
        self._writable()
        await self._call(self._save_snapshot_sync, snapshot)

    def _save_snapshot_sync(self, snapshot: Snapshot) -> None:
        db = self._db()
        try:
            with immediate(db):
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
        except sqlite3.Error as exc:
            raise journal_error(exc, "snapshot not saved") from None

    async def claim_identity(self, identity: JournalIdentity) -> None:
        """Record ``identity`` (first claim) or check it against the recorded one.

        Raises:
            JournalIdentityError: another identity is recorded (nothing changes).
            JournalError: the store is not open or is read-only, or SQLite failed.
        """
        self._writable()
        recorded = await self._call(self._claim_sync, identity)
        if recorded is not None and recorded != identity:
            raise JournalIdentityError(str(self.path), recorded, identity)

    def _claim_sync(self, identity: JournalIdentity) -> JournalIdentity | None:
        db = self._db()
        try:
            with immediate(db):
                recorded = JournalIdentity.from_meta(read_meta(db))
                if recorded is None:
                    db.executemany(INSERT_META, list(identity.as_meta().items()))
        except sqlite3.Error as exc:
            raise journal_error(exc, "identity not recorded") from None
        return recorded

    async def identity(self) -> JournalIdentity | None:
        """Raises: JournalError: the store is not open, or SQLite failed."""
        return JournalIdentity.from_meta(await self._call(self._meta_sync))

    def _meta_sync(self) -> dict[str, str]:
        try:
            return read_meta(self._db())
        except sqlite3.Error as exc:
            raise journal_error(exc, "read failed") from None

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
            rows = self._db().execute(READ_PAGE, (after_seq, limit)).fetchall()
        except sqlite3.Error as exc:
            raise journal_error(exc, "read failed") from None
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
        return [order_row(row) for row in rows]

    def _one_sync(self, sql: str) -> Any:
        try:
            return self._db().execute(sql).fetchone()
        except sqlite3.Error as exc:
            raise journal_error(exc, "read failed") from None

    def _all_sync(self, sql: str) -> list[Any]:
        try:
            return self._db().execute(sql).fetchall()
        except sqlite3.Error as exc:
            raise journal_error(exc, "read failed") from None
