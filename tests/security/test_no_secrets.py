"""No API key, secret, signature or private key in any log, journal row, error, metric or export.

A real session (see :mod:`tests.security.session`) runs once with an HMAC key and once with an
Ed25519 key, logging everything at DEBUG into a file. Afterwards every one of its secrets — the
API key, the secret or the private key PEM (and each of its base64 lines), the wrong secret it
signed with on purpose, and every signature the client put on the wire — is looked for in:

* the log file;
* every column of every row of every table of the SQLite journal, and the raw bytes of the
  database and its WAL / shared-memory files (taken while the session ran and after it closed);
* the text and ``repr`` of every error handed to the caller;
* ``/metrics`` and ``/status``;
* ``mmoms replay --export jsonl`` and ``mmoms replay`` output.

Each secret is also looked for hex-encoded and base64-encoded where that is how it would leak.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from mmoms.journal import replay_cli
from tests.security.session import KeyMaterial, Session, run_session


@contextlib.contextmanager
def debug_log_to(path: Path) -> Iterator[None]:
    """Everything, from every logger, at DEBUG, into ``path``."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        handler.close()


def journal_texts(db: Path) -> list[str]:
    """Every column of every row of every table, as text."""
    out: list[str] = []
    with contextlib.closing(sqlite3.connect(db)) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        assert {"journal", "outbox", "orders", "snapshots"} <= set(tables)
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    out.append(
                        value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
                    )
    return out


def raw_files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.iterdir() if p.name.startswith("journal")}


def replay_outputs(db: Path, out: Path) -> list[str]:
    texts = []
    for argv in ([str(db), "--export", "jsonl", "--out", str(out)], [str(db)]):
        stdout, stderr = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            assert replay_cli.main(argv) == 0, stderr.getvalue()
        texts += [stdout.getvalue(), stderr.getvalue()]
    texts.append(out.read_text())
    return texts


async def _session_with_raw_files(
    keys: KeyMaterial, journal: Path
) -> tuple[Session, dict[str, bytes]]:
    session = await run_session(keys, journal)
    return session, raw_files(journal.parent)


def forms(secret: str) -> list[bytes]:
    """The secret as bytes, plus the encodings it would most likely leak in."""
    data = secret.encode()
    return [data, data.hex().encode(), base64.b64encode(data)]


@pytest.mark.parametrize("kind", ["hmac", "ed25519"])
def test_no_secret_anywhere(kind: str, tmp_path: Path) -> None:
    keys = KeyMaterial.hmac() if kind == "hmac" else KeyMaterial.ed25519()
    journal = tmp_path / "journal.sqlite"
    log_file = tmp_path / "debug.log"
    with debug_log_to(log_file):
        session, during = asyncio.run(_session_with_raw_files(keys, journal))
    after = raw_files(tmp_path)
    assert len(session.seen.signatures) >= 10, "the session was meant to sign many requests"
    log_text = log_file.read_text()
    # The session did what it was meant to: an injected 503, a -1021 and its resync, a venue
    # rejection and a bad signature handed back to the caller.
    assert "http_error" in log_text
    assert "-1021, resyncing" in log_text
    assert any("(-5022)" in e for e in session.errors)
    assert any("(-1022)" in e for e in session.errors)

    places: dict[str, list[str]] = {
        "log file": [log_text],
        "journal row": journal_texts(journal),
        "error handed to the caller": session.errors,
        "/metrics": [session.metrics_text],
        "/status": [session.status_text],
        "mmoms replay": replay_outputs(journal, tmp_path / "export.jsonl"),
    }
    assert session.metrics_text
    assert session.status_text
    leaks = [
        f"{len(secret)}-char secret starting {secret[:10]!r} in {where}"
        for secret in session.secrets()
        for where, texts in places.items()
        if any(secret in text for text in texts)
    ]
    for name, data in {**during, **{f"{k} (closed)": v for k, v in after.items()}}.items():
        leaks += [
            f"{len(secret)}-char secret starting {secret[:10]!r} in raw file {name}"
            for secret in session.secrets()
            if any(form in data for form in forms(secret))
        ]
    assert not leaks, "\n".join(leaks)
