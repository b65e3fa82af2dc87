"""The journal contract on every backend, plus what only one backend can show."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio

from mmoms.core.clock import TestClock
from mmoms.journal.memory import InMemoryJournalStore, MemoryJournal
from mmoms.journal.postgres import PostgresJournalStore
from mmoms.journal.sqlite import SqliteJournalStore
from mmoms.journal.store import Batch, JournalError, JournalStore

from .contract import JournalStoreContract, Opener, box, read_all, rec


class TestInMemoryStore(JournalStoreContract):
    exclusive = False

    @pytest.fixture
    def data(self) -> MemoryJournal:
        return MemoryJournal()  # outlives each store: a "restart" opens a new store on it

    @pytest_asyncio.fixture
    async def opener(self, data: MemoryJournal) -> AsyncIterator[Opener]:
        async def open_store() -> JournalStore:
            store = InMemoryJournalStore(data)
            await store.open()
            return store

        yield open_store

    @pytest_asyncio.fixture
    async def reader(self, data: MemoryJournal) -> AsyncIterator[Opener]:
        async def open_store() -> JournalStore:
            store = InMemoryJournalStore(data, read_only=True)
            await store.open()
            return store

        yield open_store


class TestSqliteStore(JournalStoreContract):
    @pytest_asyncio.fixture
    async def opener(self, tmp_path: Path) -> AsyncIterator[Opener]:
        opened: list[SqliteJournalStore] = []

        async def open_store() -> JournalStore:
            store = SqliteJournalStore(tmp_path / "journal.sqlite")
            opened.append(store)
            await store.open()
            return store

        yield open_store
        for store in opened:
            await store.close()

    @pytest_asyncio.fixture
    async def reader(self, tmp_path: Path) -> AsyncIterator[Opener]:
        opened: list[SqliteJournalStore] = []

        async def open_store() -> JournalStore:
            store = SqliteJournalStore(tmp_path / "journal.sqlite", read_only=True)
            opened.append(store)
            await store.open()
            return store

        yield open_store
        for store in opened:
            await store.close()


class TestSqliteProcessStore(TestSqliteStore):
    """Durability ``process``: commits on the caller's thread, fsync behind; the same contract."""

    @pytest_asyncio.fixture
    async def opener(self, tmp_path: Path) -> AsyncIterator[Opener]:
        opened: list[SqliteJournalStore] = []

        async def open_store() -> JournalStore:
            store = SqliteJournalStore(tmp_path / "journal.sqlite", durability="process")
            opened.append(store)
            await store.open()
            return store

        yield open_store
        for store in opened:
            await store.close()


@pytest.mark.postgres
class TestPostgresStore(JournalStoreContract):
    @pytest_asyncio.fixture
    async def opener(self, pg_dsn: str, pg_schema: str) -> AsyncIterator[Opener]:
        opened: list[PostgresJournalStore] = []

        async def open_store() -> JournalStore:
            store = PostgresJournalStore(pg_dsn, schema=pg_schema)
            opened.append(store)
            await store.open()
            return store

        yield open_store
        for store in opened:
            await store.close()

    @pytest_asyncio.fixture
    async def reader(self, pg_dsn: str, pg_schema: str) -> AsyncIterator[Opener]:
        opened: list[PostgresJournalStore] = []

        async def open_store() -> JournalStore:
            store = PostgresJournalStore(pg_dsn, schema=pg_schema, read_only=True)
            opened.append(store)
            await store.open()
            return store

        yield open_store
        for store in opened:
            await store.close()


# -- SQLite only ---------------------------------------------------------------------------


@pytest_asyncio.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SqliteJournalStore]:
    store = SqliteJournalStore(tmp_path / "j.sqlite", clock=TestClock(42))
    await store.open()
    yield store
    await store.close()


@pytest.mark.asyncio
async def test_sqlite_is_wal_and_fully_synchronous(sqlite_store: SqliteJournalStore) -> None:
    mode = await sqlite_store._call(
        lambda: sqlite_store._db().execute("PRAGMA journal_mode").fetchone()
    )
    sync = await sqlite_store._call(
        lambda: sqlite_store._db().execute("PRAGMA synchronous").fetchone()
    )
    assert mode == ("wal",)
    assert sync == (2,)  # FULL


@pytest.mark.asyncio
async def test_durability_process_commits_before_the_fsync_and_syncs_behind(
    tmp_path: Path,
) -> None:
    """``process``: the writer's commits return once SQLite has handed them to the OS
    (NORMAL) and it never checkpoints itself (no fsync on the commit path); the checkpointer's
    own connection does it, and closing leaves everything in the database (the WAL emptied)."""
    path = tmp_path / "p.sqlite"
    store = SqliteJournalStore(path, durability="process", fsync_interval_s=60)
    await store.open()
    sync = await store._call(lambda: store._db().execute("PRAGMA synchronous").fetchone())
    auto = await store._call(lambda: store._db().execute("PRAGMA wal_autocheckpoint").fetchone())
    assert (sync, auto) == ((1,), (0,))  # NORMAL, no checkpoint by the writer
    await store.commit(Batch(records=[rec(s) for s in range(1, 501)]))
    assert _wal_size(path) > 0  # committed, not yet checkpointed
    await store.close()
    assert _wal_size(path) == 0  # checkpointed at close (the WAL emptied, or gone)
    reopened = SqliteJournalStore(path, create=False)
    await reopened.open()
    try:
        assert [r.seq for r in await read_all(reopened)] == list(range(1, 501))
    finally:
        await reopened.close()


def _wal_size(path: Path) -> int:
    wal = Path(f"{path}-wal")
    return wal.stat().st_size if wal.exists() else 0


def test_an_unknown_durability_is_refused() -> None:
    with pytest.raises(ValueError, match="durability"):
        SqliteJournalStore("x.sqlite", durability="sometimes")


@pytest.mark.asyncio
async def test_sqlite_runs_every_call_in_one_worker_thread(
    sqlite_store: SqliteJournalStore,
) -> None:
    idents = {await sqlite_store._call(threading.get_ident) for _ in range(5)}
    assert len(idents) == 1
    assert idents != {threading.get_ident()}  # not the event loop's thread


@pytest.mark.asyncio
async def test_sqlite_journal_is_readable_with_plain_sql(sqlite_store: SqliteJournalStore) -> None:
    await sqlite_store.commit(
        Batch(records=[rec(1, "mm-7"), rec(2, "mm-8")], outbox_add=[box("x")])
    )
    await sqlite_store.commit(Batch(outbox_done=["x"]))
    with sqlite3.connect(sqlite_store.path) as db:
        rows = db.execute(
            "SELECT seq, json_extract(payload, '$.cid'), typeof(payload) FROM journal ORDER BY seq"
        ).fetchall()
        done = db.execute("SELECT id, done_ns FROM outbox").fetchall()
    db.close()
    assert rows == [(1, "mm-7", "text"), (2, "mm-8", "text")]
    assert done == [("x", 42)]  # done time comes from the injected clock


@pytest.mark.asyncio
async def test_sqlite_without_create_refuses_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.sqlite"
    with pytest.raises(JournalError, match="no such journal"):
        await SqliteJournalStore(path, create=False).open()
    assert not path.exists()


@pytest.mark.asyncio
async def test_sqlite_refuses_a_file_that_is_not_a_journal(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"definitely not sqlite " * 200)
    with pytest.raises(JournalError, match="not a readable journal"):
        await SqliteJournalStore(garbage).open()
    assert garbage.read_bytes() == b"definitely not sqlite " * 200  # untouched
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE t (x)")
    db.close()
    with pytest.raises(JournalError, match="not an mmoms journal"):
        await SqliteJournalStore(other, create=False).open()


@pytest.mark.asyncio
async def test_sqlite_values_it_cannot_store_are_a_journal_error(
    sqlite_store: SqliteJournalStore,
) -> None:
    with pytest.raises(JournalError):
        await sqlite_store.commit(Batch(records=[rec(1), rec(2, ts=2**70)]))
    assert await sqlite_store.last_seq() == 0


# -- PostgreSQL only -----------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.asyncio
async def test_postgres_journal_is_queryable_as_json(pg_dsn: str, pg_schema: str) -> None:
    store = PostgresJournalStore(pg_dsn, schema=pg_schema, clock=TestClock(42))
    await store.open()
    try:
        await store.commit(Batch(records=[rec(1, "mm-7"), rec(2, "mm-8")], outbox_add=[box("x")]))
        await store.commit(Batch(outbox_done=["x"]))
    finally:
        await store.close()
    conn = await asyncpg.connect(pg_dsn)
    try:
        cids = await conn.fetch(
            f"SELECT payload ->> 'cid' FROM \"{pg_schema}\".journal ORDER BY seq"
        )
        jsonb = await conn.fetchval(
            f'SELECT count(*) FROM "{pg_schema}".journal WHERE payload::jsonb @> $1::jsonb',
            '{"cid": "mm-8"}',
        )
        done = await conn.fetch(f'SELECT id, done_ns FROM "{pg_schema}".outbox')
    finally:
        await conn.close()
    assert [r[0] for r in cids] == ["mm-7", "mm-8"]
    assert jsonb == 1
    assert [tuple(r) for r in done] == [("x", 42)]


@pytest.mark.postgres
@pytest.mark.asyncio
async def test_postgres_schemas_keep_journals_apart(pg_dsn: str, pg_schema: str) -> None:
    a = PostgresJournalStore(pg_dsn, schema=pg_schema)
    b = PostgresJournalStore(pg_dsn, schema=f"{pg_schema}_b")
    await a.open()
    await b.open()
    try:
        await a.commit(Batch(records=[rec(1)]))
        await b.commit(Batch(records=[rec(1), rec(2)]))  # same seq, other schema: no conflict
        assert (await a.last_seq(), await b.last_seq()) == (1, 2)
    finally:
        await a.close()
        await b.close()
        conn = await asyncpg.connect(pg_dsn)
        await conn.execute(f'DROP SCHEMA IF EXISTS "{pg_schema}_b" CASCADE')
        await conn.close()


@pytest.mark.postgres
@pytest.mark.asyncio
async def test_postgres_without_create_refuses_an_empty_schema(pg_dsn: str, pg_schema: str) -> None:
    with pytest.raises(JournalError, match="no mmoms journal"):
        await PostgresJournalStore(pg_dsn, schema=pg_schema, create=False).open()


def test_postgres_schema_names_are_plain_identifiers() -> None:
    with pytest.raises(ValueError, match="schema"):
        PostgresJournalStore("postgresql://x", schema='x"; DROP TABLE journal; --')


@pytest.mark.asyncio
async def test_postgres_unreachable_server_is_a_journal_error() -> None:
    store = PostgresJournalStore("postgresql://postgres@127.0.0.1:1/test", connect_timeout=2)
    with pytest.raises(JournalError, match="cannot connect"):
        await store.open()
    with pytest.raises(JournalError, match="not open"):
        await read_all(store)


@pytest.mark.postgres
@pytest.mark.asyncio
async def test_postgres_reconnects_after_losing_its_connection(pg_dsn: str, pg_schema: str) -> None:
    store = PostgresJournalStore(pg_dsn, schema=pg_schema)
    await store.open()
    try:
        await store.commit(Batch(records=[rec(1)]))
        assert store._conn is not None
        pid = store._conn.get_server_pid()
        admin = await asyncpg.connect(pg_dsn)
        await admin.execute("SELECT pg_terminate_backend($1)", pid)
        await admin.close()
        # Either the client already saw the connection close and reconnects at once, or the
        # commit fails as "connection lost"; after that the store must work again.
        try:
            await store.commit(Batch(records=[rec(2)]))
        except JournalError as exc:
            assert "connection lost" in str(exc)  # noqa: PT017
        assert await store.last_seq() in (1, 2)  # a lost commit's fate is read from the journal
        await store.commit(Batch(records=[rec(3)]))
        assert [r.seq for r in await read_all(store)][-1] == 3
        assert store._conn is not None
        assert store._conn.get_server_pid() != pid
    finally:
        await store.close()
