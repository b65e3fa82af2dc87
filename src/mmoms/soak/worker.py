"""The soak's OMS process: gateway, SQLite journal, OrderManager and the soak strategy.

Started (and killed with SIGKILL, and restarted) by the orchestrator::

    python -m mmoms.soak.worker --rest URL --ws URL --journal FILE --seed N --incarnation K

API keys come from the environment (``MMOMS_BINANCE_API_KEY`` / ``MMOMS_BINANCE_API_SECRET``),
never from the command line, which other users of the machine can read.

Every start recovers from the journal (:meth:`OrderManager.start`), so a restart after kill -9
adopts whatever the dead incarnation left open. The process talks JSON lines: commands on stdin
(``pause``, ``capture CHECKPOINT K``, ``confirm``, ``resume``, ``stop``; see
:mod:`mmoms.soak.checkpoint`), one JSON object per line on stdout (``ready``, ``reconnect``,
``stats`` and the replies). Logs go to stderr. Exit status: 0 after a clean stop, 1 on failure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import random
import sys
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

from mmoms.core.errors import MmomsError
from mmoms.core.ids import Symbol
from mmoms.engine.config import OmsConfig
from mmoms.engine.diff import Tolerance
from mmoms.engine.oms import OrderManager
from mmoms.engine.risk import RiskConfig, SymbolLimits
from mmoms.journal.sqlite import SqliteJournalStore
from mmoms.journal.store import JournalError
from mmoms.soak.checkpoint import Checkpoints
from mmoms.soak.probe import TrackingStore, WatchedGateway, flatten_orders, group_view
from mmoms.soak.strategy import SoakStrategy, StrategyConfig
from mmoms.venues.binance.config import BinanceConfig
from mmoms.venues.binance.marketcodec import RouteMode, subscriptions
from mmoms.venues.binance.marketdata import BinanceMarketData
from mmoms.venues.binance.signing import Credentials
from mmoms.venues.errors import MissingCredentialsError

__all__ = ["main", "soak_oms_config"]

log = logging.getLogger("mmoms.soak.worker")

SETTLE_S = 30.0
CAPTURE_S = 30.0
STATS_EVERY_S = 2.0
_encode = msgspec.json.Encoder().encode


def soak_oms_config(symbols: Sequence[Symbol]) -> OmsConfig:
    d = Decimal
    limits = {
        Symbol("BTCUSDC"): SymbolLimits(d("0.01"), d(2000), 40, d("0.05"), d(2)),
        Symbol("ETHUSDC"): SymbolLimits(d("0.5"), d(5000), 10, d("0.5"), d(2)),
        Symbol("BTCUSDT"): SymbolLimits(d("0.01"), d(2000), 10, d("0.02"), d(2)),
    }
    return OmsConfig(
        # 50 new orders and amends a second: under the soak venue's 600 per 10 s (cancels are
        # free); anomalies are counted and reported, not a reason to stop trading here.
        risk=RiskConfig(limits=limits, max_orders_per_second=50, max_anomalies=100_000),
        symbols=tuple(symbols),
        tolerance={Symbol("BTCUSDC"): Tolerance(price_ticks=0, qty_pct=d(10))},
        batch_window_s=0.005,
        reconcile_interval_s=1.0,  # checkpoints wait for reconciliations: keep them frequent
        client_id_prefix="sk",
        dead_man_switch_ms=0,  # a countdown cancel would hide what a kill -9 leaves open
        stop_timeout_s=10.0,
    )


def emit(message: dict[str, Any]) -> None:
    sys.stdout.write(_encode(message).decode() + "\n")
    sys.stdout.flush()


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m mmoms.soak.worker")
    p.add_argument("--rest", required=True)
    p.add_argument("--ws", required=True)
    p.add_argument("--journal", type=Path, required=True)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--incarnation", type=int, default=0)
    args = p.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    try:
        credentials = Credentials.from_env()
    except MissingCredentialsError as exc:
        print(f"soak worker: {exc}", file=sys.stderr)
        return 2
    import uvloop

    return uvloop.run(_run(args, credentials))


async def _run(args: argparse.Namespace, credentials: Credentials) -> int:
    strategy_config = StrategyConfig()
    symbols = strategy_config.symbols
    store = TrackingStore(args.journal)
    gateway = WatchedGateway(BinanceConfig.local(args.rest, args.ws), credentials)
    gateway.on_reconnect = lambda down_s, why: emit(
        {"type": "reconnect", "down_s": down_s, "reason": why, "at": time.time()}
    )
    oms = OrderManager(gateway, store, soak_oms_config(symbols))
    canceled = await _canceled_groups(args.journal)
    checkpoints = Checkpoints(oms, store, symbols, canceled)
    try:
        await oms.start()
    except (MmomsError, OSError) as exc:
        print(f"soak worker: could not start: {exc}", file=sys.stderr)
        with contextlib.suppress(MmomsError, OSError):
            await gateway.close()
            await store.close()
        return 1
    engine = asyncio.create_task(oms.run(), name="oms")
    # split routes, as production Binance needs them; the simulator serves both modes
    feed = BinanceMarketData(args.ws, subscriptions(symbols), routes=RouteMode.SPLIT)
    rng = random.Random(f"{args.seed}:{args.incarnation}")
    session = _b36(time.time_ns() // 1_000_000)
    strategy = SoakStrategy(oms, feed.top, strategy_config, rng, session, canceled)
    feed.on_update = strategy.on_market
    feed.start()
    try:
        if not await _first_reconciliation(oms, engine, checkpoints):
            print("soak worker: no reconciliation within 30 s", file=sys.stderr)
            return 1
        emit({"type": "ready", "incarnation": args.incarnation, "at": time.time()})
        trading = asyncio.create_task(strategy.run(), name="strategy")
        stats = asyncio.create_task(_stats(oms, strategy), name="stats")
        control = asyncio.create_task(_control(strategy, checkpoints), name="control")
        done, _ = await asyncio.wait(
            {engine, trading, control}, return_when=asyncio.FIRST_COMPLETED
        )
        strategy.stop()
        stats.cancel()
        for task in (trading, control):
            task.cancel()
        await asyncio.gather(trading, control, stats, return_exceptions=True)
        failed = [t for t in done if t is not control and not t.cancelled() and t.exception()]
        for task in failed:
            log.error("task %s failed", task.get_name(), exc_info=task.exception())
        return await _stop(oms, store, engine, canceled, ok=not failed)
    finally:
        await feed.close()


async def _canceled_groups(journal: Path) -> set[str]:
    """Groups the strategy canceled in earlier incarnations: their exposure is the strategy's
    to flatten, not a protection failure. (The engine cancels groups itself too — when a stop
    is refused — without a CancelGroup intent; those stay under the invariant.)"""
    store = SqliteJournalStore(journal, read_only=True)
    try:
        await store.open()
    except JournalError:  # the first incarnation: no journal yet
        return set()
    try:
        return {
            record.key
            async for record in store.read(0)
            if record.kind == "GroupRecorded" and b'"CancelGroup"' in record.payload
        }
    finally:
        await store.close()


async def _first_reconciliation(
    oms: OrderManager, engine: asyncio.Task[None], checkpoints: Checkpoints
) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30.0
    while not oms.metrics.reconciliations and not engine.done() and loop.time() < deadline:
        with contextlib.suppress(TimeoutError):
            await checkpoints.wait_batch(deadline - loop.time())
    return oms.metrics.reconciliations > 0


async def _control(strategy: SoakStrategy, checkpoints: Checkpoints) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := (await reader.readline()).decode().split():
        command, args = line[0], line[1:]
        if command == "pause":
            strategy.pause()
            emit({"type": "paused", "in_flight": await checkpoints.settle(SETTLE_S)})
        elif command == "capture":
            view = await checkpoints.capture(int(args[0]), int(args[1]), CAPTURE_S)
            emit({"type": "view", "view": view})
        elif command == "confirm":
            emit(
                {
                    "type": "confirm",
                    "requests": checkpoints.requests_since_capture(),
                    "in_flight": checkpoints.in_flight(),
                }
            )
        elif command == "resume":
            strategy.resume()
            emit({"type": "resumed"})
        elif command == "stop":
            return
    # stdin closed: the orchestrator is gone; stop cleanly rather than trade unsupervised


async def _stats(oms: OrderManager, strategy: SoakStrategy) -> None:
    while True:
        await asyncio.sleep(STATS_EVERY_S)
        emit(_stats_message(oms, strategy))


def _stats_message(oms: OrderManager, strategy: SoakStrategy | None) -> dict[str, Any]:
    """Counters of this incarnation, and the engine's own account of its groups."""
    m, groups = oms.metrics, oms.group_stats()
    return {
        "type": "stats",
        "actions": sum(m.actions.values()),
        "requests": m.requests,
        "reconciliations": m.reconciliations,
        "differences": m.reconciliation_differences,
        "groups_placed": 0 if strategy is None else strategy.groups_placed,
        "kill_reason": oms.risk.kill_reason,
        "worst_unprotected_ns": groups.worst_unprotected_ns,
        "overfills": groups.overfills,
        "flatten_failures": groups.flatten_failures,
    }


async def _stop(
    oms: OrderManager,
    store: TrackingStore,
    engine: asyncio.Task[None],
    canceled: set[str],
    *,
    ok: bool,
) -> int:
    """Cancel everything of ours, close; report the live state hash for the replay check."""
    await oms.stop(cancel_orders=True)
    try:
        await asyncio.wait_for(engine, 15)
    except TimeoutError:
        log.error("the engine did not stop within 15 s")
        ok = False
    except Exception as exc:  # the engine's own failure: report it, still close
        log.error("the engine failed", exc_info=exc)
        ok = False
    left = [f"{o.symbol}/{o.client_order_id}" for o in oms.book.open_orders() if not o.external]
    flattens = flatten_orders(oms)
    emit(_stats_message(oms, None))  # the last word on the engine's group counters
    await oms.close()
    emit(
        {
            "type": "stopped",
            "ok": ok,
            "state_hash": oms.book.state_hash(),
            "seq": store.last_committed_seq,
            "open_left": left,
            "groups": [group_view(g, canceled, flattens) for g in oms.groups()],
        }
    )
    return 0 if ok else 1


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out or "0"


if __name__ == "__main__":
    raise SystemExit(main())
