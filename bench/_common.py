"""Shared helpers of the benchmarks: percentiles, the JSON figure files, CPU pinning, and the
simulator in a subprocess of its own (instrumented, see ``bench/_simproc.py``).

JSON figure files (``--json PATH`` of every script) have one shape, read by ``run_all.py``::

    {"name": "...", "unit": "us",
     "series": {label: {"p50", "p99", "p999", "min", "max", "mean", "n"}, ...},
     "figures": {label: number, ...},          # scalars: rates, seconds, megabytes
     "notes": ["...", ...], ...}               # anything else a script wants to say

Percentiles are nearest-rank on the sorted samples (no interpolation): p99 of 10,000 samples is
the 9,901st smallest.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiohttp

BENCH_DIR = Path(__file__).resolve().parent
READY = "mmoms-sim ready "
T = TypeVar("T")

# Huge limits: the benchmarks measure latency, not Binance's order pools. Every client adopts
# them (ours reads exchangeInfo; the third-party clients do not limit on their own when told so).
RATE_LIMITS_TOML = """
[rate_limits]
request_weight_per_minute = 1000000000
orders_per_10s = 1000000000
orders_per_minute = 1000000000
"""


# -- statistics ------------------------------------------------------------------------------


def quantile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank quantile of already sorted values (``q`` in [0, 1])."""
    if not ordered:
        return float("nan")
    return float(ordered[min(len(ordered) - 1, int(q * len(ordered)))])


def summarize(values_ns: Iterable[int]) -> dict[str, float]:
    """p50 / p99 / p999 / min / max / mean in microseconds, and n."""
    ordered = sorted(values_ns)
    if not ordered:
        return {"n": 0}
    us = 1000.0
    return {
        "p50": quantile(ordered, 0.50) / us,
        "p99": quantile(ordered, 0.99) / us,
        "p999": quantile(ordered, 0.999) / us,
        "min": ordered[0] / us,
        "max": ordered[-1] / us,
        "mean": sum(ordered) / len(ordered) / us,
        "n": len(ordered),
    }


def summarize_us(values_us: Iterable[float]) -> dict[str, float]:
    """:func:`summarize` for values already in microseconds."""
    return summarize(int(v * 1000) for v in values_us)


@dataclass
class Figures:
    """What one script hands to ``run_all.py``."""

    name: str
    series: dict[str, dict[str, float]] = field(default_factory=dict)
    figures: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def add(self, label: str, values_ns: Iterable[int]) -> dict[str, float]:
        self.series[label] = summary = summarize(values_ns)
        return summary

    def write(self, path: str | Path | None) -> None:
        if path is None:
            return
        doc = {
            "name": self.name,
            "unit": "us",
            "series": self.series,
            "figures": self.figures,
            "notes": self.notes,
            **self.extra,
        }
        Path(path).write_text(json.dumps(doc, indent=1, default=str))


# -- CPU pinning and event loop ----------------------------------------------------------------


def cores() -> list[int]:
    return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


def pin_split(server_pid: int | None) -> str:
    """The server (simulator) on the first core, this process on the others; a description."""
    available = cores()
    if len(available) < 2:
        return f"not pinned ({len(available) or 'unknown'} core)"
    if server_pid is not None:
        os.sched_setaffinity(server_pid, {available[0]})
    os.sched_setaffinity(0, set(available[1:]))
    return f"simulator on core {available[0]}, client on core(s) {available[1:]}"


def pin_one_core() -> str:
    """This process on one core (the last), away from whatever runs on core 0."""
    available = cores()
    if len(available) < 2:
        return "not pinned"
    os.sched_setaffinity(0, {available[-1]})
    return f"pinned to core {available[-1]}"


def run_loop(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine on uvloop (as ``mmoms run`` does), else asyncio's default loop."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency
        return asyncio.run(main())
    return uvloop.run(main())


# -- the simulator in a subprocess --------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    label: str
    api_key: str
    api_secret: str

    @classmethod
    def make(cls, label: str) -> Account:
        return cls(label, f"bench{label}{secrets.token_hex(24)}"[:64], secrets.token_hex(32))


def sim_toml(accounts: Sequence[Account], balance: str = "10000000", extra: str = "") -> str:
    """A simulator configuration: huge rate limits, one funded account per label."""
    parts = [RATE_LIMITS_TOML, extra]
    for account in accounts:
        parts.append(
            "[[accounts]]\n"
            f'api_key = "{account.api_key}"\n'
            f'api_secret = "{account.api_secret}"\n'
            f'balances = {{ USDC = "{balance}", USDT = "{balance}" }}\n'
        )
    return "\n".join(parts)


class SimProcess:
    """``bench/_simproc.py`` (the simulator's CLI plus handling-time probes) in a subprocess,
    pinned to its own core; ``async with`` it, or call :meth:`start` / :meth:`stop`."""

    def __init__(self, config_path: Path, *, timing_header: bool = False) -> None:
        self.config_path = config_path
        self.timing_header = timing_header
        self.process: subprocess.Popen[str] | None = None
        self.rest = ""
        self.ws = ""
        self.pinning = ""

    def start(self) -> SimProcess:
        command = [
            sys.executable, str(BENCH_DIR / "_simproc.py"), "--port", "0", "--config",
            str(self.config_path), "--log-level", "ERROR",
        ]  # fmt: skip
        if self.timing_header:
            command.append("--timing-header")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
        self.pinning = pin_split(self.process.pid)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith(READY):
            self.process.kill()
            raise SystemExit(f"simulator did not start: {line!r}")
        fields = dict(part.split("=", 1) for part in line[len(READY) :].split())
        self.rest, self.ws = fields["rest"], fields["ws"]
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None

    def __enter__(self) -> SimProcess:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    async def stats(self, reset: bool = False) -> dict[str, dict[str, dict[str, float]]]:
        """Server-side handling time per API key and operation (µs summaries)."""
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{self.rest}/admin/bench/stats", params={"reset": int(reset)}) as reply,
        ):
            return dict(await reply.json())

    async def reset_stats(self) -> None:
        await self.stats(reset=True)

    async def admin(self, path: str, body: Any) -> Any:
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{self.rest}{path}", json=body) as reply,
        ):
            return await reply.json()


def rss_kib() -> dict[str, int]:
    """VmRSS / VmHWM / VmSize of this process in KiB (Linux ``/proc/self/status``)."""
    out: dict[str, int] = {}
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:  # pragma: no cover - Linux only
        import resource

        return {"VmHWM": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "VmSize", "RssAnon", "RssFile"):
            out[key] = int(value.split()[0])
    return out


def elapsed_since(started: float) -> float:
    return time.perf_counter() - started


# -- an OMS on the simulator subprocess (resync and memory benchmarks) ---------------------------


def symbols_toml(count: int) -> str:
    """``[[symbols]]``: BTCUSDC, then ``count - 1`` more perpetuals with BTC's filters and
    start price (SYM1USDC, SYM2USDC, ...): a market maker's book across ``count`` symbols."""
    parts = ['[[symbols]]\nsymbol = "BTCUSDC"\n']
    for i in range(1, count):
        parts.append(
            "[[symbols]]\n"
            f'symbol = "SYM{i}USDC"\nbase_asset = "SYM{i}"\nquote_asset = "USDC"\n'
            'tick_size = "0.10"\nstep_size = "0.001"\nprice_precision = 2\n'
            'quantity_precision = 3\nstart_price = "95000.00"\nmin_price = "556.80"\n'
            'max_price = "4529764"\nmin_qty = "0.001"\nmax_qty = "1000"\n'
            'market_max_qty = "120"\nmin_notional = "5"\nmaker_fee = "0.0000"\n'
            'taker_fee = "0.0004"\n'
        )
    return "\n".join(parts)


def symbol_names(count: int) -> list[str]:
    return ["BTCUSDC", *(f"SYM{i}USDC" for i in range(1, count))]


async def marks(rest: str, symbols: Sequence[str]) -> dict[str, Any]:
    """Mark prices (Decimal) of ``symbols`` from the simulator."""
    from decimal import Decimal

    async with aiohttp.ClientSession() as http, http.get(f"{rest}/fapi/v1/premiumIndex") as r:
        items = await r.json()
    return {i["symbol"]: Decimal(i["markPrice"]) for i in items if i["symbol"] in symbols}


async def start_oms(
    sim: SimProcess, account: Account, symbols: Sequence[str], journal: Path, **oms: Any
) -> tuple[Any, asyncio.Task[None]]:
    """A gateway (REST, user stream on) and an OMS with the node's default journal (SQLite,
    durability "process": app/config.py JournalSettings), started and running; wide risk limits
    (the benchmarks measure the engine, not its refusals)."""
    from decimal import Decimal

    from mmoms.app.stack import demo_oms_config
    from mmoms.core.ids import Symbol
    from mmoms.engine.oms import OrderManager
    from mmoms.engine.risk import RiskConfig, SymbolLimits
    from mmoms.journal.sqlite import SqliteJournalStore
    from mmoms.venues.binance import BinanceConfig, BinanceGateway, Credentials

    names = tuple(Symbol(s) for s in symbols)
    limits = SymbolLimits(
        max_order_qty=Decimal(1),
        max_order_notional=Decimal(10**9),
        max_open_orders=10_000,
        max_position=Decimal(10**6),
        price_band_pct=Decimal(10),
    )
    config = demo_oms_config(
        symbols=names,
        risk=RiskConfig(limits=dict.fromkeys(names, limits), max_orders_per_second=10**9),
        **{"batch_window_s": 0.0, "reconcile_interval_s": 3600.0, **oms},
    )
    gateway = BinanceGateway(
        BinanceConfig.local(sim.rest, sim.ws),
        Credentials.hmac(account.api_key, account.api_secret),
    )
    manager = OrderManager(gateway, SqliteJournalStore(journal, durability="process"), config)
    await manager.start()
    for symbol, mark in (await marks(sim.rest, symbols)).items():
        manager.set_reference_price(Symbol(symbol), mark)
    return manager, asyncio.create_task(manager.run())


async def rest_orders(
    manager: Any, sim: SimProcess, symbols: Sequence[str], per_symbol: int
) -> list[Any]:
    """``per_symbol`` resting BUY LIMITs (3 % under the mark) on each symbol, acknowledged."""
    from decimal import Decimal

    from mmoms.core.enums import OrderStatus, Side
    from mmoms.core.ids import StrategyId, Symbol

    strategy = StrategyId("bench")
    done = asyncio.Event()
    manager.add_batch_listener(done.set)
    placed = []
    for symbol, mark in (await marks(sim.rest, symbols)).items():
        base = (mark * Decimal("0.97")).quantize(Decimal("0.1"))
        for i in range(per_symbol):
            price = base - Decimal("0.1") * i
            cid = manager.place(strategy, Symbol(symbol), Side.BUY, Decimal("0.001"), price)
            placed.append((Symbol(symbol), cid))
    deadline = time.perf_counter() + 60
    while time.perf_counter() < deadline:
        states = [manager.book.get(s, c) for s, c in placed]
        if all(o is not None and o.status is OrderStatus.NEW for o in states):
            return placed
        done.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), 1.0)
    raise RuntimeError("the orders were not all acknowledged within 60 s")


async def stop_oms(manager: Any, run: asyncio.Task[None], cancel: bool = True) -> None:
    await manager.stop(cancel_orders=cancel)
    await asyncio.wait_for(run, 30)
    await manager.close()
