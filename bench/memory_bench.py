"""Benchmark: resident memory of the OMS process (not a test).

Each figure comes from a fresh child process (``--child``), so one measurement's garbage does
not inflate the next; RSS and its peak (VmHWM) are read from ``/proc/self/status``.

1. **baseline**: Python with mmoms, aiohttp, msgspec and uvloop imported, nothing started.
2. **OMS, 10 symbols × 20 open orders**: the simulator in a subprocess of its own (not counted),
   a gateway (REST, user stream on) and an OrderManager with the node's default journal (SQLite,
   durability process) in this process; RSS after start-up, and after ``--symbols`` ×
   ``--orders`` orders rest acknowledged.
3. **1 M journaled events**: a synthetic session's journal (:mod:`mmoms.journal.synthetic`,
   snapshot every 100,000 records) is built by one child; another opens and recovers it
   (latest snapshot + replay of the tail, the engine's own start-up path): RSS after recovery,
   its peak during recovery, and the recovered book's size.

    .venv/bin/python bench/memory_bench.py [--events 1000000] [--symbols 10] [--orders 20]
        [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import (
    Account,
    Figures,
    SimProcess,
    rest_orders,
    rss_kib,
    run_loop,
    sim_toml,
    start_oms,
    stop_oms,
    symbol_names,
    symbols_toml,
)

MIB = 1024  # /proc reports KiB


def _imports() -> None:
    import aiohttp  # noqa: F401
    import msgspec  # noqa: F401
    import uvloop  # noqa: F401

    import mmoms.engine.oms
    import mmoms.journal.sqlite
    import mmoms.venues.binance  # noqa: F401


# -- children -----------------------------------------------------------------------------------


def child_baseline() -> dict[str, Any]:
    _imports()
    return {"rss": rss_kib()}


def child_oms(symbols: int, orders: int) -> dict[str, Any]:
    _imports()
    out: dict[str, Any] = {"before": rss_kib()}
    account = Account.make("mem")
    names = symbol_names(symbols)

    async def body() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "sim.toml"
            config.write_text(sim_toml([account], extra=symbols_toml(symbols)))
            with SimProcess(config) as sim:
                manager, task = await start_oms(sim, account, names, Path(tmp) / "j.sqlite")
                try:
                    out["started"] = rss_kib()
                    await rest_orders(manager, sim, names, orders)
                    await asyncio.sleep(0.5)  # the stream's reports of the orders are in
                    out["open_orders"] = sum(1 for _ in manager.book.open_orders())
                    out["with_orders"] = rss_kib()
                finally:
                    await stop_oms(manager, task)

    run_loop(body)
    return out


def child_build(path: Path, events: int, snapshot_every: int) -> dict[str, Any]:
    from mmoms.journal.recovery import snapshot_now
    from mmoms.journal.sqlite import SqliteJournalStore
    from mmoms.journal.synthetic import SyntheticSession

    async def body() -> dict[str, Any]:
        session = SyntheticSession(seed=11)
        store = SqliteJournalStore(path, synchronous="NORMAL")  # building is not measured
        await store.open()
        started = time.perf_counter()
        next_snapshot = snapshot_every
        for batch in session.batches(events, 1000):
            await store.commit(batch)
            if session.seq >= next_snapshot and next_snapshot < events:
                await snapshot_now(store, session.book, session.seq, session.clock.time_ns())
                next_snapshot += snapshot_every
        await store.close()
        return {
            "records": session.seq,
            "orders": sum(1 for _ in session.book.orders()),
            "build_s": time.perf_counter() - started,
            "hash": session.state_hash(),
        }

    return asyncio.run(body())


def child_recover(path: Path) -> dict[str, Any]:
    _imports()
    from mmoms.journal.recovery import recover
    from mmoms.journal.sqlite import SqliteJournalStore

    before = rss_kib()

    async def body() -> dict[str, Any]:
        store = SqliteJournalStore(path, create=False)
        started = time.perf_counter()
        await store.open()
        state = await recover(store)
        took = time.perf_counter() - started
        after = rss_kib()
        await store.close()
        return {
            "before": before,
            "after": after,
            "recover_s": took,
            "orders": sum(1 for _ in state.book.orders()),
            "open_orders": sum(1 for _ in state.book.open_orders()),
            "last_seq": state.last_seq,
            "hash": state.book.state_hash(),
        }

    return run_loop(body)


def _child(argv: list[str]) -> dict[str, Any]:
    kind, *rest = argv
    if kind == "baseline":
        return child_baseline()
    if kind == "oms":
        return child_oms(int(rest[0]), int(rest[1]))
    if kind == "build":
        return child_build(Path(rest[0]), int(rest[1]), int(rest[2]))
    if kind == "recover":
        return child_recover(Path(rest[0]))
    raise SystemExit(f"unknown child {kind}")


def spawn(*argv: object) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", *map(str, argv)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"child {argv[0]} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


# -- the report ---------------------------------------------------------------------------------


def mib(kib: int) -> float:
    return kib / MIB


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="journaled events")
    parser.add_argument("--snapshot-every", type=int, default=100_000)
    parser.add_argument("--symbols", type=int, default=10)
    parser.add_argument("--orders", type=int, default=20, help="open orders per symbol")
    parser.add_argument(
        "--journal", metavar="PATH", help="recover this journal instead of building one"
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    parser.add_argument("--json", metavar="PATH", help="write the figures here")
    parser.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        logging.basicConfig(level=logging.ERROR)
        print(json.dumps(_child(args.child)))
        return 0
    if args.quick:
        args.events, args.snapshot_every, args.symbols, args.orders = 20_000, 5_000, 3, 3
    figures = Figures("memory")
    base = spawn("baseline")["rss"]
    print(f"baseline (Python + mmoms imported): RSS {mib(base['VmRSS']):.1f} MiB")
    oms = spawn("oms", args.symbols, args.orders)
    print(
        f"OMS started ({args.symbols} symbols): RSS {mib(oms['started']['VmRSS']):.1f} MiB; "
        f"with {oms['open_orders']} open orders: RSS {mib(oms['with_orders']['VmRSS']):.1f} MiB "
        f"(peak {mib(oms['with_orders']['VmHWM']):.1f} MiB)"
    )
    with tempfile.TemporaryDirectory(prefix="mmoms-mem-") as tmp:
        path = Path(args.journal) if args.journal else Path(tmp) / "journal.sqlite"
        if args.journal and path.exists():
            built = {"records": None, "orders": None, "build_s": 0.0, "hash": None}
            print(f"journal: {path} (built by another benchmark)")
        else:
            built = spawn("build", path, args.events, args.snapshot_every)
            print(
                f"journal: {built['records']:,} records, {built['orders']:,} orders "
                f"(built in {built['build_s']:.1f} s)"
            )
        size = path.stat().st_size / 2**20
        rec = spawn("recover", path)
    same = (
        "not checked (journal built elsewhere)"
        if built["hash"] is None
        else "matches"
        if rec["hash"] == built["hash"]
        else "DIFFERS"
    )
    print(
        f"recovered ({rec['recover_s']:.2f} s, state hash {same}): RSS "
        f"{mib(rec['after']['VmRSS']):.1f} MiB (peak {mib(rec['after']['VmHWM']):.1f} MiB; "
        f"{mib(rec['before']['VmRSS']):.1f} MiB before), {rec['orders']:,} orders in the book, "
        f"{rec['open_orders']:,} open; {rec['last_seq']:,} records, {size:,.0f} MiB on disk"
    )
    figures.figures.update(
        {
            "baseline RSS MiB": mib(base["VmRSS"]),
            "OMS started RSS MiB": mib(oms["started"]["VmRSS"]),
            "OMS with open orders RSS MiB": mib(oms["with_orders"]["VmRSS"]),
            "OMS with open orders peak MiB": mib(oms["with_orders"]["VmHWM"]),
            "open orders": oms["open_orders"],
            "journal records": rec["last_seq"],
            "journal MiB on disk": size,
            "recovered RSS MiB": mib(rec["after"]["VmRSS"]),
            "recovered peak MiB": mib(rec["after"]["VmHWM"]),
            "recovered orders": rec["orders"],
            "recovery s": rec["recover_s"],
        }
    )
    figures.extra["state_hash"] = same
    figures.extra["settings"] = {k: v for k, v in vars(args).items() if k != "child"}
    figures.write(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
