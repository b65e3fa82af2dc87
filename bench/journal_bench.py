"""Benchmark: the journal (not a test; prints figures, asserts nothing).

1. SQLite append rate with grouped commits: a synthetic market-making session
   (:class:`mmoms.journal.synthetic.SyntheticSession`: creates, acks, amends, fills, cancels and
   the audit records the engine writes) committed in batches of ``--batch`` records, WAL +
   ``synchronous=FULL``; events/s and per-batch commit latency p50/p99.
   Goal: >= 50,000 events/s.
2. Recovery time to ready: a journal of ``--recovery-events`` records with a snapshot every
   ``--snapshot-every`` records, reopened and recovered (latest snapshot + replay of the tail);
   the rebuilt state hash is checked against the live one. Goal: <= 5 s for 1,000,000 events.
   The file was just written, so the OS page cache is warm: this is a restart, not a cold boot.
3. PostgreSQL append rate, same batches (skipped with a note if the server is unreachable).

    .venv/bin/python bench/journal_bench.py [--quick] [--events 200000] [--batch 100]
        [--recovery-events 1000000] [--snapshot-every 100000] [--postgres DSN | --no-postgres]
        [--json PATH] [--keep-journal PATH]

``--json PATH`` writes every figure for ``run_all.py`` (what is printed does not change).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from mmoms.journal.recovery import recover, snapshot_now
from mmoms.journal.sqlite import SqliteJournalStore
from mmoms.journal.store import Batch, JournalError, JournalStore
from mmoms.journal.synthetic import SyntheticSession

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import Figures

FIGURES = Figures("journal")

DEFAULT_DSN = os.environ.get("MMOMS_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def append_rate(name: str, store: JournalStore, batches: list[Batch]) -> None:
    await store.open()
    try:
        latencies: list[float] = []
        start = time.perf_counter()
        for batch in batches:
            t0 = time.perf_counter()
            await store.commit(batch)
            latencies.append(time.perf_counter() - t0)
        elapsed = time.perf_counter() - start
    finally:
        await store.close()
    events = sum(len(b.records) for b in batches)
    FIGURES.add(f"{name}: commit", [int(x * 1e9) for x in latencies])
    FIGURES.figures[f"{name}: events/s"] = events / elapsed
    FIGURES.figures[f"{name}: commits/s"] = len(batches) / elapsed
    FIGURES.extra.setdefault("batch_sizes", {})[name] = events / max(len(batches), 1)
    print(
        f"{name:<24} {events:>9,} events in {len(batches):>6,} batches: "
        f"{events / elapsed:>9,.0f} events/s, {len(batches) / elapsed:>7,.0f} commits/s, "
        f"commit p50 {_percentile(latencies, 0.5) * 1e3:.2f} ms, "
        f"p99 {_percentile(latencies, 0.99) * 1e3:.2f} ms"
    )


async def recovery_time(
    path: Path, events: int, snapshot_every: int, batch: int, repeats: int = 1
) -> None:
    session = SyntheticSession(seed=1)
    store = SqliteJournalStore(path, synchronous="NORMAL")  # building it is not what we measure
    await store.open()
    start = time.perf_counter()
    next_snapshot = snapshot_every
    snapshot_seconds = 0.0
    for b in session.batches(events, batch):
        await store.commit(b)
        if session.seq >= next_snapshot and next_snapshot < events:  # leave a full tail
            t0 = time.perf_counter()
            await snapshot_now(store, session.book, session.seq, session.clock.time_ns())
            snapshot_seconds += time.perf_counter() - t0
            next_snapshot += snapshot_every
    await store.close()
    built = time.perf_counter() - start
    size_mb = await asyncio.to_thread(os.path.getsize, path) / 1e6
    orders = sum(1 for _ in session.book.orders())
    print(
        f"built a {session.seq:,}-record journal ({size_mb:,.0f} MB, {orders:,} orders) in "
        f"{built:.1f} s; snapshots took {snapshot_seconds:.2f} s in all"
    )
    readies = []
    for _ in range(max(1, repeats)):  # each a fresh open; printed: the first, as before
        store = SqliteJournalStore(path, create=False)
        t0 = time.perf_counter()
        await store.open()
        state = await recover(store)
        readies.append(time.perf_counter() - t0)
        await store.close()
    ready = readies[0]
    same = "matches" if state.book.state_hash() == session.state_hash() else "DIFFERS"
    FIGURES.figures.update(
        {
            "recovery: records": session.seq,
            "recovery: journal MB": size_mb,
            "recovery: seconds to ready": ready,
            "recovery: seconds to ready, min of runs": min(readies),
            "recovery: seconds to ready, median of runs": statistics.median(readies),
            "recovery: seconds to ready, max of runs": max(readies),
            "recovery: runs": len(readies),
            "recovery: tail records": state.last_seq - state.snapshot_seq,
        }
    )
    FIGURES.extra["recovery_state_hash"] = same
    print(
        f"recovery to ready: {ready:.2f} s (snapshot at seq {state.snapshot_seq:,}, "
        f"{state.last_seq - state.snapshot_seq:,} tail records, {state.replayed:,} book inputs "
        f"replayed; {len(state.in_flight)} in flight; state hash {same})"
    )
    store = SqliteJournalStore(path, create=False)
    t0 = time.perf_counter()
    await store.open()
    full = await recover(store, use_snapshot=False)
    from_zero = time.perf_counter() - t0
    await store.close()
    FIGURES.figures["replay from zero: seconds"] = from_zero
    FIGURES.figures["replay from zero: inputs/s"] = full.replayed / from_zero
    if len(readies) > 1:
        print(
            f"recovery to ready over {len(readies)} runs: min {min(readies):.2f} s, "
            f"median {statistics.median(readies):.2f} s, max {max(readies):.2f} s"
        )
    print(
        f"replay from zero (no snapshot): {from_zero:.2f} s for {full.replayed:,} book inputs "
        f"({full.replayed / from_zero:,.0f} inputs/s)"
    )


async def postgres_rate(dsn: str, batches: list[Batch]) -> None:
    import asyncpg

    from mmoms.journal.postgres import PostgresJournalStore

    schema = f"mmoms_bench_{secrets.token_hex(4)}"
    try:
        await append_rate("PostgreSQL", PostgresJournalStore(dsn, schema=schema), batches)
    except JournalError as exc:
        print(f"PostgreSQL: skipped ({exc})")
        FIGURES.notes.append(f"PostgreSQL: skipped ({exc})")
        return
    finally:
        try:
            conn = await asyncpg.connect(dsn, timeout=5)
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            await conn.close()
        except (OSError, asyncpg.PostgresError):
            pass  # nothing was created if the server is not there


async def main_async(args: argparse.Namespace) -> None:
    print(f"generating {args.events:,} events in batches of {args.batch} ...")
    batches = list(SyntheticSession(seed=7).batches(args.events, args.batch))
    with tempfile.TemporaryDirectory(prefix="mmoms-bench-") as tmp:
        print("== 1. SQLite append (WAL, synchronous=FULL, one transaction per batch)")
        await append_rate("SQLite FULL", SqliteJournalStore(Path(tmp) / "append.sqlite"), batches)
        big = list(SyntheticSession(seed=8).batches(args.events, args.batch * 10))
        await append_rate(
            f"SQLite FULL, batch {args.batch * 10}",
            SqliteJournalStore(Path(tmp) / "append-big.sqlite"),
            big,
        )
        print("== 2. Recovery (latest snapshot + tail)")
        path = Path(args.keep_journal) if args.keep_journal else Path(tmp) / "recovery.sqlite"
        for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            stale.unlink(missing_ok=True)
        await recovery_time(
            path, args.recovery_events, args.snapshot_every, args.batch, args.recovery_repeats
        )
    print("== 3. PostgreSQL append (one statement = one transaction per batch)")
    if args.no_postgres:
        print("PostgreSQL: skipped (--no-postgres)")
        FIGURES.notes.append("PostgreSQL: skipped (--no-postgres)")
    else:
        await postgres_rate(args.postgres, batches)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    p.add_argument("--events", type=int, default=200_000)
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--recovery-events", type=int, default=1_000_000)
    p.add_argument("--snapshot-every", type=int, default=100_000)
    p.add_argument("--postgres", default=DEFAULT_DSN, metavar="DSN")
    p.add_argument("--no-postgres", action="store_true")
    p.add_argument("--json", metavar="PATH", help="write the figures here")
    p.add_argument(
        "--recovery-repeats", type=int, default=1, help="recover the journal this many times"
    )
    p.add_argument(
        "--keep-journal", metavar="PATH", help="build the recovery journal here and keep it"
    )
    args = p.parse_args(argv)
    if args.quick:
        args.events, args.recovery_events, args.snapshot_every = 5_000, 20_000, 5_000
    asyncio.run(main_async(args))
    FIGURES.extra["settings"] = {k: v for k, v in vars(args).items() if k != "postgres"}
    FIGURES.write(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
