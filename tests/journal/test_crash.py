"""SQLite durability at the process level: ``kill -9`` a writer at a random moment, reopen.

The journal must then be a gap-free prefix 1..N made of whole batches (no torn batch), hold
every batch the writer reported committed, and agree across tables: the outbox and the orders
projection stop at the same batch as the records. The writer is restarted on the same file
after each kill, so recovery from a crash is itself crashed into.

A ``kill -9`` leaves the OS page cache intact, so this proves atomicity and the write-ahead
protocol, not survival of a power cut (that is durability ``fsync``'s, set and checked in
``test_stores``; under ``process`` a power cut may lose the unsynced tail, and the engine's
orphan sweep makes the venue side whole: ``tests/engine/test_orphans.py``). Both durability
modes are crashed. ``MMOMS_SOAK=full`` runs many more kills (marked slow).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from mmoms.journal.sqlite import SqliteJournalStore

from .contract import read_all

WRITER = Path(__file__).with_name("crash_writer.py")
BATCH = 40


def kill_writer_at_random(path: Path, rng: random.Random, durability: str) -> int:
    """Start the writer, let it report a random number of commits, SIGKILL it; return the last."""
    proc = subprocess.Popen(
        [sys.executable, str(WRITER), str(path), str(BATCH), durability],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    reported = 0
    try:
        assert proc.stdout is not None
        for _ in range(rng.randint(1, 25)):
            line = proc.stdout.readline()
            if not line:
                pytest.fail(f"writer died on its own: {proc.stderr.read() if proc.stderr else ''}")
            reported = int(line)
        # The writer keeps committing while we get here: the kill lands at an arbitrary point
        # of a commit (or between two).
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    assert proc.returncode == -signal.SIGKILL
    return reported


async def check_whole_batches(path: Path, reported: int) -> int:
    store = SqliteJournalStore(path, create=False)
    await store.open()
    try:
        seqs = [r.seq for r in await read_all(store)]
        n = len(seqs)
        assert seqs == list(range(1, n + 1)), "the journal has a gap"
        assert n % BATCH == 0, f"torn batch: {n} records is not whole batches of {BATCH}"
        assert n >= reported, f"lost a committed batch: {n} < {reported}"
        batches = n // BATCH
        pending = [e.id for e in await store.pending_outbox()]
        assert pending == [f"b{batches}"], "outbox disagrees with the journal"
        (order,) = await store.orders()
        assert order.venue_order_id == batches, "orders projection disagrees with the journal"
        return n
    finally:
        await store.close()


async def crash_repeatedly(
    tmp_path: Path, kills: int, seed: int, durability: str = "fsync"
) -> None:
    rng = random.Random(seed)
    path = tmp_path / "crash.sqlite"
    last = 0
    for kill in range(kills):
        reported = kill_writer_at_random(path, rng, durability)
        try:
            n = await check_whole_batches(path, reported)
            assert n > last  # the restarted writer carried on from the recovered end
        except AssertionError as exc:
            raise AssertionError(f"seed {seed}, kill {kill + 1}: {exc}") from None
        last = n


@pytest.mark.asyncio
@pytest.mark.parametrize("durability", ["fsync", "process"])
async def test_kill_9_leaves_whole_batches_and_loses_nothing_committed(
    tmp_path: Path, durability: str
) -> None:
    """``process``: a commit returns before its fsync (the checkpointer's, behind it), yet a
    crash of the process loses nothing the writer was told is committed."""
    await crash_repeatedly(tmp_path, kills=6, seed=random.randrange(2**32), durability=durability)


@pytest.mark.slow
@pytest.mark.asyncio
@pytest.mark.skipif(os.environ.get("MMOMS_SOAK") != "full", reason="MMOMS_SOAK=full runs the soak")
async def test_kill_9_soak(tmp_path: Path) -> None:
    await crash_repeatedly(tmp_path, kills=40, seed=random.randrange(2**32))
