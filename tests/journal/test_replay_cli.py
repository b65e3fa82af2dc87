"""``mmoms replay`` on a small generated journal."""

from __future__ import annotations

import asyncio
import csv
import json
import re
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest

from mmoms.journal.recovery import snapshot_now
from mmoms.journal.replay_cli import format_time, main, parse_time
from mmoms.journal.sqlite import SqliteJournalStore
from mmoms.journal.store import JournalLockedError, JournalStore, Record
from mmoms.journal.synthetic import SyntheticSession

from .contract import read_all


@dataclass
class Generated:
    path: Path
    state_hash: str
    records: list[Record]


async def generate(store: JournalStore, batches: int = 40) -> tuple[str, list[Record]]:
    session = SyntheticSession(seed=21)
    await store.open()
    try:
        for i in range(batches):
            await store.commit(session.next_batch(50))
            if i == batches // 2:
                await snapshot_now(store, session.book, session.seq, session.clock.time_ns())
        return session.state_hash(), await read_all(store)
    finally:
        await store.close()


@pytest.fixture(scope="module")
def journal(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    path = tmp_path_factory.mktemp("replay") / "journal.sqlite"
    state_hash, records = asyncio.run(generate(SqliteJournalStore(path)))
    return Generated(path, state_hash, records)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_state_hash_is_the_live_one_and_stable(
    journal: Generated, capsys: pytest.CaptureFixture[str]
) -> None:
    code, first, err = run(capsys, str(journal.path))
    assert (code, err) == (0, "")
    assert f"state hash: {journal.state_hash}" in first
    assert "snapshot at seq" in first
    assert "orders by status" in first
    assert "BTCUSDC" in first  # positions
    assert run(capsys, str(journal.path))[1] == first  # same output every time


def test_verify_replays_from_zero_too(
    journal: Generated, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, str(journal.path), "--verify")
    assert code == 0
    assert f"replay from zero: {journal.state_hash} (same)" in out


def timeline_seqs(out: str) -> list[int]:
    return [int(m[1]) for m in re.finditer(r"^\s*(\d+)\s+\d{4}-\d\d-\d\dT", out, re.M)]


def test_the_timeline_lists_every_record_about_the_order(
    journal: Generated, capsys: pytest.CaptureFixture[str]
) -> None:
    cid = "mm-7"
    expected = [r.seq for r in journal.records if r.key == cid or b'"mm-7"' in r.payload]
    assert len(expected) >= 3
    code, out, _ = run(capsys, str(journal.path), "--order", cid)
    assert code == 0
    assert timeline_seqs(out) == expected
    assert f"{len(expected)} records" in out
    assert "BookCreate" in out
    assert "now: " in out
    assert cid in out.splitlines()[-1]
    first = next(r for r in journal.records if r.seq == expected[0])
    assert format_time(first.ts_ns) in out


def test_a_time_range_selects_records_by_timestamp(
    journal: Generated, capsys: pytest.CaptureFixture[str]
) -> None:
    lo, hi = journal.records[100].ts_ns, journal.records[140].ts_ns
    expected = [r.seq for r in journal.records if lo <= r.ts_ns <= hi]
    code, out, _ = run(capsys, str(journal.path), "--from", str(lo), "--to", format_time(hi))
    assert code == 0
    assert timeline_seqs(out) == expected


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_export_writes_files_that_parse(
    journal: Generated, capsys: pytest.CaptureFixture[str], tmp_path: Path, fmt: str
) -> None:
    out_file = tmp_path / f"records.{fmt}"
    code, out, _ = run(capsys, str(journal.path), "--export", fmt, "--out", str(out_file))
    assert code == 0
    assert f"exported {len(journal.records)} records" in out
    text = out_file.read_text(encoding="utf-8")
    if fmt == "csv":
        rows = list(csv.DictReader(text.splitlines()))
        got = [(int(r["seq"]), r["kind"], json.loads(r["payload"])) for r in rows]
    else:
        lines = [json.loads(line) for line in text.splitlines()]
        got = [(d["seq"], d["kind"], d["payload"]) for d in lines]
    assert got == [(r.seq, r.kind, json.loads(r.payload)) for r in journal.records]


def test_export_of_one_order(
    journal: Generated, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out_file = tmp_path / "one.jsonl"
    assert (
        run(
            capsys,
            str(journal.path),
            "--order",
            "mm-3",
            "--export",
            "jsonl",
            "--out",
            str(out_file),
        )[0]
        == 0
    )
    lines = [json.loads(line) for line in out_file.read_text().splitlines()]
    assert lines
    assert all(d["key"] == "mm-3" or "mm-3" in json.dumps(d["payload"]) for d in lines)


def test_a_missing_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.sqlite"
    code, _out, err = run(capsys, str(missing))
    assert code == 1
    assert err == f"mmoms replay: no such journal file: {missing}\n"
    assert not missing.exists()


def test_a_corrupt_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corrupt = tmp_path / "corrupt.sqlite"
    corrupt.write_bytes(b"\x00garbage" * 1000)
    code, _, err = run(capsys, str(corrupt))
    assert code == 1
    assert "not a readable journal" in err
    assert "Traceback" not in err


def test_a_corrupt_record_is_a_clear_error(
    journal: Generated, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.sqlite"
    shutil.copy(journal.path, broken)
    with sqlite3.connect(broken) as db:
        seq = db.execute("SELECT max(seq) FROM journal WHERE kind = 'BookReport'").fetchone()[0]
        db.execute('UPDATE journal SET payload = \'{"type":"BookReport"}\' WHERE seq = ?', (seq,))
    db.close()
    code, _, err = run(capsys, str(broken))
    assert code == 1
    assert f"record {seq}" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "give a journal file or --postgres"),
        (["x.sqlite", "--postgres", "postgresql://h/db"], "one of them"),
        (["x.sqlite", "--from", "yesterday"], "not a time"),
        (["x.sqlite", "--export", "csv"], "--export needs --out"),
    ],
)
def test_bad_command_lines_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert message in err


def test_times_parse_as_iso_or_nanoseconds() -> None:
    assert parse_time("1700000000000000123") == 1_700_000_000_000_000_123
    assert parse_time("2023-11-14T22:13:20Z") == 1_700_000_000_000_000_000
    assert parse_time("2023-11-14T22:13:20.5") == 1_700_000_000_500_000_000  # UTC by default
    assert parse_time("2023-11-14T23:13:20+01:00") == 1_700_000_000_000_000_000
    assert format_time(1_700_000_000_000_000_123) == "2023-11-14T22:13:20.000000123Z"


@pytest.mark.postgres
def test_replay_reads_a_postgres_journal(
    pg_dsn: str, pg_schema: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from mmoms.journal.postgres import PostgresJournalStore

    state_hash, _ = asyncio.run(
        generate(PostgresJournalStore(pg_dsn, schema=pg_schema), batches=10)
    )
    code, out, _ = run(capsys, "--postgres", pg_dsn, "--schema", pg_schema)
    assert code == 0
    assert f"state hash: {state_hash}" in out


@pytest.mark.asyncio
async def test_replay_reads_a_journal_a_running_writer_holds(
    journal: Generated, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    held = tmp_path / "held.sqlite"
    shutil.copy(journal.path, held)
    writer = SqliteJournalStore(held, create=False)
    await writer.open()
    try:
        code = await asyncio.to_thread(main, [str(held), "--verify"])  # its own event loop
        out, err = capsys.readouterr()
        assert (code, err) == (0, "")
        assert f"state hash: {journal.state_hash}" in out
        with pytest.raises(JournalLockedError):  # the writer still holds it, undisturbed
            await SqliteJournalStore(held).open()
        assert await writer.last_seq() == journal.records[-1].seq
    finally:
        await writer.close()


@pytest.mark.postgres
@pytest.mark.asyncio
async def test_replay_reads_a_postgres_journal_a_running_writer_holds(
    pg_dsn: str, pg_schema: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from mmoms.journal.postgres import PostgresJournalStore

    state_hash, records = await generate(PostgresJournalStore(pg_dsn, schema=pg_schema), batches=10)
    writer = PostgresJournalStore(pg_dsn, schema=pg_schema)
    await writer.open()
    try:
        argv = ["--postgres", pg_dsn, "--schema", pg_schema]
        code = await asyncio.to_thread(main, argv)
        out, err = capsys.readouterr()
        assert (code, err) == (0, "")
        assert f"state hash: {state_hash}" in out
        assert await writer.last_seq() == records[-1].seq
    finally:
        await writer.close()
