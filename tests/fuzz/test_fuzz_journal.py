"""Fuzz journal decoding and recovery with corrupt rows.

A real journal (a synthetic market-making session, written by the SQLite store) gets one row
damaged the way a bad disk, a bad restore or a hand edit damages it: the payload truncated,
bit-flipped or with hostile values (check constraints bypassed, as corruption would), the kind,
key or time column replaced. Then:

* :func:`decode_entry` returns an entry or raises ``msgspec.DecodeError``, nothing else;
* :func:`recover` returns a state or raises :class:`JournalError` naming the record's seq —
  never another exception (no traceback the user cannot read) and never silently skips a book
  input it cannot decode;
* ``mmoms replay`` on the damaged file exits 0 or 1 with one line on stderr, no traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from mmoms.journal import replay_cli
from mmoms.journal.records import decode_entry
from mmoms.journal.recovery import BOOK_INPUT_KINDS, recover
from mmoms.journal.sqlite import SqliteJournalStore
from mmoms.journal.store import JournalError
from mmoms.journal.synthetic import SyntheticSession
from tests.fuzz.mutate import fuzz_settings, hostile_json

ROWS = 120


async def _write(path: Path) -> None:
    store = SqliteJournalStore(path)
    await store.open()
    session = SyntheticSession(seed=5)
    while await store.last_seq() < ROWS:
        await store.commit(session.next_batch(40))
    await store.close()


@pytest.fixture(scope="module")
def journal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("journal") / "j.sqlite"
    asyncio.run(_write(path))
    return path


def _rows(path: Path) -> list[tuple[int, str, bytes]]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return [
            (seq, kind, bytes(payload))
            for seq, kind, payload in db.execute(
                "SELECT seq, kind, CAST(payload AS BLOB) FROM journal ORDER BY seq"
            )
        ]


@pytest.fixture(scope="module")
def seeds(journal: Path) -> list[bytes]:
    return [payload for _, _, payload in _rows(journal)][:40]


@contextlib.contextmanager
def damaged_copy(journal: Path, seq: int, column: str, value: Any) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "j.sqlite"
        shutil.copy(journal, path)
        with contextlib.closing(sqlite3.connect(path)) as db:
            db.execute("PRAGMA ignore_check_constraints = ON")  # corruption ignores them too
            db.execute(f"UPDATE journal SET {column} = ? WHERE seq = ?", (value, seq))
            db.commit()
        yield path


async def _recover(path: Path) -> Any:
    store = SqliteJournalStore(path, create=False)
    await store.open()
    try:
        return await recover(store)
    finally:
        await store.close()


def _recovery_error(path: Path) -> str | None:
    """The JournalError recovery raised, or None when it succeeded."""
    try:
        asyncio.run(_recover(path))
    except JournalError as exc:
        return str(exc)
    return None


def check_damaged(
    journal: Path, seq: int, column: str, value: Any, *, must_fail: bool = False
) -> None:
    with damaged_copy(journal, seq, column, value) as path:
        error = _recovery_error(path)
        if error is not None:
            assert f"record {seq}" in error, error
        assert error is not None or not must_fail, f"recovery used damaged record {seq} ({column})"
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = replay_cli.main([str(path)])
        assert status == (0 if error is None else 1)
        if status == 1:
            assert "Traceback" not in err.getvalue()
            assert len(err.getvalue().strip().splitlines()) == 1, err.getvalue()


@fuzz_settings(300)
@given(data=st.data())
def test_hostile_payloads_decode_or_raise_decode_error(seeds: list[bytes], data: Any) -> None:
    payload = data.draw(hostile_json(seeds))
    with contextlib.suppress(msgspec.DecodeError):  # anything else fails the test
        decode_entry(payload)


@pytest.mark.parametrize(
    "payload",
    [
        b'{"type":"BookMark","symbol":"a","client_order_id":'
        + b"[" * 100_000
        + b"]" * 100_000
        + b"}",
        b'{"type":"BookMark","symbol":"\xff","client_order_id":"a","trigger":"CANCEL_SENT"}',
    ],
)
def test_decode_crashers(payload: bytes) -> None:
    with pytest.raises(msgspec.DecodeError):
        decode_entry(payload)


@fuzz_settings(120)
@given(data=st.data())
def test_recovery_of_a_damaged_payload(journal: Path, data: Any) -> None:
    seq, _, payload = data.draw(st.sampled_from(_rows(journal)))
    check_damaged(journal, seq, "payload", data.draw(hostile_json([payload])))


@fuzz_settings(60)
@given(
    data=st.data(),
    column=st.sampled_from(["kind", "key", "ts_ns"]),
    value=st.sampled_from(
        ["", "BookReport", "BookCreate", "BookMark", "Nope", "x" * 10_000, "12", -1, 2**63 - 1, 1.5]
    )
    | st.text(max_size=12)
    | st.integers(-(2**63), 2**63 - 1),
)
@example(data=None, column="ts_ns", value="not a time")
@example(data=None, column="ts_ns", value=1.5)
def test_recovery_of_a_damaged_column(journal: Path, data: Any, column: str, value: Any) -> None:
    """A book input whose time is not an integer, or whose kind names another book input,
    stops recovery; other damage may pass (a record of an unknown kind is skipped by design)."""
    rows = [r for r in _rows(journal) if r[1] in BOOK_INPUT_KINDS]
    seq, kind, _ = rows[len(rows) // 2] if data is None else data.draw(st.sampled_from(rows))
    must_fail = (column == "ts_ns" and _stored_type(value) != "integer") or (
        column == "kind" and value in BOOK_INPUT_KINDS and value != kind
    )
    check_damaged(journal, seq, column, value, must_fail=must_fail)


def _stored_type(value: Any) -> str:
    """What SQLite stores in an INTEGER column for ``value`` ("12" becomes the integer 12)."""
    with contextlib.closing(sqlite3.connect(":memory:")) as db:
        db.execute("CREATE TABLE t (x INTEGER)")
        db.execute("INSERT INTO t VALUES (?)", (value,))
        return str(db.execute("SELECT typeof(x) FROM t").fetchone()[0])


def _first(journal: Path, kind: str) -> tuple[int, bytes]:
    seq, _, payload = next(r for r in _rows(journal) if r[1] == kind)
    return seq, payload


@pytest.mark.parametrize(
    ("kind", "old", "new"),
    [
        ("BookReport", b'"filled_qty":"', b'"filled_qty":"sNaN","x":"'),  # InvalidOperation
        ("BookCreate", b'"type":"BookCreate"', b'"type":"BookMark"'),  # another kind inside
    ],
)
def test_recovery_crashers(journal: Path, kind: str, old: bytes, new: bytes) -> None:
    seq, payload = _first(journal, kind)
    assert old in payload
    check_damaged(journal, seq, "payload", payload.replace(old, new, 1), must_fail=True)
