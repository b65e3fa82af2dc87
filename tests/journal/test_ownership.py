"""A journal belongs to one process: what only one backend can show, and real processes.

The contract (``contract.py``) proves, on every store, that a second writer is refused while a
reader still reads, and that an identity, once claimed, refuses another. Here: the SQLite
sidecar and its description, paths that cannot be created, journals from before identities, the
PostgreSQL session that names its holder, and — in child processes (``lock_holder.py``) — a
holder that keeps committing while a newcomer is refused, then dies (cleanly or by SIGKILL) and
lets the next one in.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from mmoms.journal.ownership import advisory_key, lock_path, program_name
from mmoms.journal.postgres import PostgresJournalStore
from mmoms.journal.sqlite import SqliteJournalStore
from mmoms.journal.store import Batch, JournalError, JournalLockedError

from .contract import LIVE, read_all, rec

HOLDER = Path(__file__).with_name("lock_holder.py")
REFUSAL_BOUND_S = 2.0  # "at once": open() of a held journal returns well within this
CHILD_TIMEOUT_S = 60  # a child that hangs fails the test instead of hanging it


# -- SQLite: the sidecar ---------------------------------------------------------------------


@pytest.mark.asyncio
async def test_the_sidecar_describes_the_holder_until_it_closes(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    store = SqliteJournalStore(path, program="mmoms run")
    await store.open()
    described = json.loads(lock_path(path).read_text())
    assert described["pid"] == os.getpid()
    assert described["host"] == socket.gethostname()
    assert described["program"] == "mmoms run"
    assert described["since"].endswith("Z")
    with pytest.raises(JournalLockedError) as refused:
        await SqliteJournalStore(path).open()
    assert str(refused.value) == (
        f"journal {path} is in use by pid {os.getpid()} on host {socket.gethostname()} "
        f"(mmoms run, since {described['since']}); stop that process or use another journal"
    )
    await store.close()
    assert lock_path(path).read_text() == ""  # no stale description once let go
    again = SqliteJournalStore(path)
    await again.open()
    await again.close()


@pytest.mark.asyncio
async def test_a_holder_that_has_not_described_itself_is_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    with lock_path(path).open("w") as held:  # locked, nothing written yet
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(JournalLockedError, match="in use by another process") as refused:
            await SqliteJournalStore(path).open()
        assert refused.value.holder is None
    assert not path.exists()  # refused before the database was touched


@pytest.mark.asyncio
async def test_a_reader_takes_no_lock(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    store = SqliteJournalStore(path)
    await store.open()
    await store.commit(Batch(records=[rec(1)]))
    await store.close()
    lock_path(path).unlink()
    reader = SqliteJournalStore(path, read_only=True)
    await reader.open()
    assert await reader.last_seq() == 1
    assert not lock_path(path).exists()
    await reader.close()


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda d: d.joinpath("plain-file").write_text("x"), "Not a directory"),
        (lambda d: None, "No such file or directory"),
    ],
)
async def test_a_journal_whose_directory_cannot_be_used_is_one_line(
    tmp_path: Path, make: Any, reason: str
) -> None:
    make(tmp_path)
    path = tmp_path / "plain-file" / "journal.sqlite"
    with pytest.raises(JournalError) as failed:
        await SqliteJournalStore(path).open()
    message = str(failed.value)
    assert type(failed.value) is JournalError
    assert message.startswith(f"cannot open journal {path}: ")
    assert reason in message
    assert "\n" not in message


@pytest.mark.asyncio
async def test_an_sqlite_journal_from_before_identities_adopts_the_first_claim(
    tmp_path: Path,
) -> None:
    path = tmp_path / "journal.sqlite"
    store = SqliteJournalStore(path)
    await store.open()
    await store.commit(Batch(records=[rec(1)]))
    await store.close()
    db = sqlite3.connect(path)  # as it was written before journal_meta existed
    with db:  # (the context manager commits; it does not close)
        db.execute("DROP TABLE journal_meta")
    db.close()
    reader = SqliteJournalStore(path, read_only=True)
    await reader.open()
    assert await reader.identity() is None  # read-only: nothing is added to it
    await reader.close()
    store = SqliteJournalStore(path, create=False)
    await store.open()
    await store.claim_identity(LIVE)
    assert await store.identity() == LIVE
    assert [r.seq for r in await read_all(store)] == [1]
    await store.close()


def test_the_program_is_the_command_and_its_sub_command_never_other_arguments() -> None:
    assert program_name(["/venv/bin/mmoms", "run", "--api-key", "k"]) == "mmoms run"
    assert program_name(["/x/mmoms/__main__.py", "replay", "j.sqlite"]) == "mmoms replay"
    assert program_name(["/venv/bin/mmoms", "AKIAsecretlooking"]) == "mmoms"
    assert program_name(["/venv/bin/mmoms", "runs/x/journal.sqlite"]) == "mmoms"
    assert program_name(["-c"]) == "python"


# -- PostgreSQL: the session names its holder -------------------------------------------------


@pytest.mark.postgres
@pytest.mark.asyncio
async def test_the_holders_session_says_who_it_is(pg_dsn: str, pg_schema: str) -> None:
    store = PostgresJournalStore(pg_dsn, schema=pg_schema, program="mmoms run")
    await store.open()
    try:
        conn = await asyncpg.connect(pg_dsn)
        try:
            names = await conn.fetch(
                "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a"
                " ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.objsubid = 1"
                " AND l.classid::bigint = $1 AND l.objid::bigint = $2",
                (advisory_key(pg_schema) >> 32) & 0xFFFFFFFF,
                advisory_key(pg_schema) & 0xFFFFFFFF,
            )
        finally:
            await conn.close()
        assert [n[0] for n in names] == [f"mmoms run pid {os.getpid()} on {socket.gethostname()}"]
        with pytest.raises(JournalLockedError) as refused:
            await PostgresJournalStore(pg_dsn, schema=pg_schema).open()
        message = str(refused.value)
        assert message.startswith(f"journal schema {pg_schema} (PostgreSQL) is in use by pid ")
        assert f"pid {os.getpid()} on host {socket.gethostname()} (mmoms run, since " in message
        assert pg_dsn not in message
    finally:
        await store.close()


@pytest.mark.postgres
@pytest.mark.asyncio
async def test_a_holder_that_is_not_a_journal_store_is_named_by_its_session(
    pg_dsn: str, pg_schema: str
) -> None:
    other = await asyncpg.connect(pg_dsn, server_settings={"application_name": "psql"})
    try:
        await other.execute("SELECT pg_advisory_lock($1)", advisory_key(pg_schema))
        with pytest.raises(JournalLockedError) as refused:
            await PostgresJournalStore(pg_dsn, schema=pg_schema).open()
        assert refused.value.holder is None
        assert f"backend pid {other.get_server_pid()} (application_name 'psql')" in str(
            refused.value
        )
    finally:
        await other.close()


@pytest.mark.postgres
@pytest.mark.asyncio
async def test_a_writer_that_lost_its_session_to_a_successor_is_refused(
    pg_dsn: str, pg_schema: str
) -> None:
    first = PostgresJournalStore(pg_dsn, schema=pg_schema, program="first")
    await first.open()
    await first.commit(Batch(records=[rec(1)]))
    assert first._conn is not None
    backend = first._conn.get_server_pid()
    admin = await asyncpg.connect(pg_dsn)
    try:  # ends the session and waits until it has ended (and its lock with it)
        assert await admin.fetchval("SELECT pg_terminate_backend($1, 10000)", backend)
    finally:
        await admin.close()
    second = PostgresJournalStore(pg_dsn, schema=pg_schema, program="second")
    await second.open()  # the lock went with the session
    try:
        with pytest.raises(JournalLockedError, match=r"\(second, since "):
            await first.commit(Batch(records=[rec(2)]))  # reconnecting, it finds it taken
        await second.commit(Batch(records=[rec(2)]))
    finally:
        await second.close()
        await first.close()


@pytest.mark.postgres
@pytest.mark.asyncio
async def test_a_postgres_journal_from_before_identities_adopts_the_first_claim(
    pg_dsn: str, pg_schema: str
) -> None:
    store = PostgresJournalStore(pg_dsn, schema=pg_schema)
    await store.open()
    await store.commit(Batch(records=[rec(1)]))
    await store.close()
    conn = await asyncpg.connect(pg_dsn)
    try:
        await conn.execute(f'DROP TABLE "{pg_schema}".journal_meta')
    finally:
        await conn.close()
    reader = PostgresJournalStore(pg_dsn, schema=pg_schema, read_only=True)
    await reader.open()
    assert await reader.identity() is None
    await reader.close()
    store = PostgresJournalStore(pg_dsn, schema=pg_schema, create=False)
    await store.open()
    await store.claim_identity(LIVE)
    assert await store.identity() == LIVE
    await store.close()


# -- real processes --------------------------------------------------------------------------


class Holder:
    """A child process holding a journal and committing flat out (see ``lock_holder.py``)."""

    def __init__(self, target: list[str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HOLDER), "hold", *target],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.pid: int = self.answer()["ready"]

    def answer(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.kill()
            _, err = self.proc.communicate(timeout=CHILD_TIMEOUT_S)
            pytest.fail(f"the holder died: {err}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def ask(self, command: str) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self.answer()

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("stop\n")
        self.proc.stdin.flush()
        assert self.proc.wait(timeout=CHILD_TIMEOUT_S) == 0

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=CHILD_TIMEOUT_S)


@contextmanager
def holding(target: list[str]) -> Iterator[Holder]:
    holder = Holder(target)
    try:
        yield holder
    finally:
        if holder.proc.poll() is None:
            holder.proc.kill()
        holder.proc.communicate(timeout=CHILD_TIMEOUT_S)


def try_open(target: list[str]) -> tuple[int, dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, str(HOLDER), "try", *target],
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
        check=False,
    )
    assert done.returncode in (0, 3), done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return done.returncode, answer


def refused_then_released(target: list[str], *, kill: bool) -> int:
    """The scenario on one journal; returns the last seq the holder committed."""
    with holding(target) as holder:
        before = holder.ask("commit")
        code, answer = try_open(target)
        assert code == 3, answer
        assert answer["pid"] == holder.pid
        assert (
            f"in use by pid {holder.pid} on host {socket.gethostname()} (lock-holder, since"
            in (answer["locked"])
        )
        assert answer["seconds"] < REFUSAL_BOUND_S  # refused at once, never waiting on us
        after = holder.ask("commit")  # the holder was not disturbed
        assert after["committed"] > before["committed"]
        assert after["failures"] == 0
        if kill:
            holder.kill()
        else:
            holder.stop()
    return int(after["committed"])


@pytest.mark.parametrize("kill", [False, True], ids=["exits", "sigkill"])
def test_sqlite_a_second_process_is_refused_and_gets_in_once_the_first_is_gone(
    tmp_path: Path, kill: bool
) -> None:
    target = ["sqlite", str(tmp_path / "journal.sqlite")]
    last = refused_then_released(target, kill=kill)
    code, answer = try_open(target)
    assert code == 0, answer
    assert answer["last_seq"] >= last


@pytest.mark.postgres
@pytest.mark.parametrize("kill", [False, True], ids=["exits", "sigkill"])
def test_postgres_a_second_process_is_refused_and_gets_in_once_the_first_is_gone(
    pg_dsn: str, pg_schema: str, kill: bool
) -> None:
    target = ["postgres", pg_dsn, pg_schema]
    last = refused_then_released(target, kill=kill)
    if kill:  # the server ends a dead client's session when it sees the socket close
        wait_until_released(pg_dsn, pg_schema)
    code, answer = try_open(target)
    assert code == 0, answer
    assert answer["last_seq"] >= last


def wait_until_released(dsn: str, schema: str) -> None:
    """Block on the journal's advisory lock (PostgreSQL wakes us when it is free), let go."""

    async def wait() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("SET lock_timeout = '20s'")
            await conn.execute("SELECT pg_advisory_lock($1)", advisory_key(schema))
            await conn.execute("SELECT pg_advisory_unlock($1)", advisory_key(schema))
        finally:
            await conn.close()

    asyncio.run(wait())
