"""Benchmark: the OMS's own overhead, intent → bytes handed to the transport (not a test).

The full production path runs — OrderManager (risk, diff/planning, write-ahead journal, batch),
BinanceGateway (codec, rate admission, timestamp, HMAC signing, URL) — up to the HTTP
transport's ``request`` call, the moment bytes would be written. The venue behind the transport
is the simulator's sans-I/O exchange called in-process (no sockets), so the replies are real
Binance replies and the venue costs microseconds, not a network round trip.

Measured per action: ``intent`` (the strategy's call) → ``request`` (transport handed the
bytes), with the batching window set to 0 (the window is a deliberate wait, reported apart).
Journals: in memory (pure CPU cost), SQLite with ``synchronous=NORMAL`` (WAL: survives a
process crash, not a power cut), ``FULL`` (durability ``fsync``: survives a power cut, one fsync
per batch) and durability ``process`` — **the node's default** (``[journal] durability``):
NORMAL, committed on the engine's own thread, the fsync group-committed behind the writer by a
checkpoint thread (``mmoms.journal.checkpointer``).

Then sustained throughput: place + cancel intents as fast as the engine takes them for a few
seconds, with the default journal (SQLite, durability process); actions per second reaching the
transport.

Added for the benchmark report (``--json PATH`` writes every figure; ``run_all.py`` reads it):

* bursts: ``--burst-size`` intents at once (a requote), per-order intent → bytes and the whole
  burst (first intent → last order's bytes): the default journal, then memory (the engine's
  floor) and SQLite FULL (durability fsync) for comparison;
* offered load: place / cancel intents paced at rising rates (``--rates``), intent → bytes
  p50 / p99 per rate, at most 100 orders resting; the highest rate the engine keeps up with
  before latency degrades (≥ 95 % of the offered rate reaches the transport, ≤ 1 % of the
  intents skipped for a full book, p50 within twice that of the lowest rate) is "sustained";
  the default journal, then SQLite FULL and memory for comparison;
* ``--profile``: the saturated run again under pyinstrument (cProfile when it is missing), the
  top frames by own time (default journal).

For bursts, offered load and the profile the venue is *remote-like*: the transport stamps the
bytes, yields to the loop (the request is on the wire), then answers order requests from a
template (place → NEW, amend → NEW, cancel → CANCELED); anything else (start-up, reconciliation)
goes to the in-process simulator. So this core pays for reading the venue's replies, not for
matching them, as with a real venue.

    .venv/bin/python bench/oms_overhead.py [--samples 5000] [--quick] [--json PATH] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import secrets
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import msgspec

from mmoms.app.stack import demo_oms_config
from mmoms.core.enums import Side
from mmoms.core.ids import ClientOrderId, StrategyId, Symbol
from mmoms.engine.oms import OrderManager
from mmoms.engine.risk import RiskConfig, SymbolLimits
from mmoms.journal.memory import InMemoryJournalStore
from mmoms.journal.sqlite import SqliteJournalStore
from mmoms.journal.store import JournalStore
from mmoms.sim.api import SimApiError
from mmoms.sim.clock import LiveSimClock
from mmoms.sim.config_model import AccountConfig, SimConfig
from mmoms.sim.exchange import SimExchange
from mmoms.venues.binance.config import BinanceConfig
from mmoms.venues.binance.gateway import BinanceGateway
from mmoms.venues.binance.signing import Credentials
from mmoms.venues.testing import FakeHttpTransport, FakeRequest, json_reply
from mmoms.venues.transport import HttpReply

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import Figures, pin_one_core, summarize

BTC = Symbol("BTCUSDC")
S = StrategyId("bench")
# The node's default journal (app/config.py JournalSettings.durability; app/node_parts.py
# open_store): SQLite, durability "process". Every figure's label names its journal.
DEFAULT = "sqlite process (default)"


class InProcessVenue:
    """The simulator's exchange behind a fake transport; stamps when each order's bytes arrive."""

    def __init__(self) -> None:
        self.key, secret = secrets.token_hex(16), secrets.token_hex(16)
        self.secret = secret
        cfg = SimConfig(
            accounts=(
                AccountConfig(api_key=self.key, api_secret=secret, balances={"USDC": "100000000"}),
            ),
            orders_per_10s=10**9,
            orders_per_minute=10**9,
            request_weight_per_minute=10**9,
        )
        self.exchange = SimExchange(LiveSimClock(), cfg)
        self.account = self.exchange.account_for_key(self.key)
        self.arrived: dict[str, int] = {}

    def handle(self, request: FakeRequest) -> HttpReply:
        now = time.perf_counter_ns()
        params = request.params
        cid = params.get("newClientOrderId") or params.get("origClientOrderId")
        if cid is not None and cid not in self.arrived:
            self.arrived[cid] = now
        return self.call(f"{request.method} {request.path}", params)

    def call(self, key: str, params: dict[str, str]) -> HttpReply:
        """One request (``"METHOD /path"``) to the exchange, as the simulator's server would."""
        endpoint = self.exchange.endpoints.get(key)
        if endpoint is None:
            return json_reply(404, {"code": -1099, "msg": "Not found"})
        try:
            return json_reply(200, endpoint.handler(self.account, params))
        except SimApiError as exc:
            return json_reply(exc.http_status, exc.body())


async def make_oms(
    store: JournalStore, venue: InProcessVenue, transport: Any = None
) -> OrderManager:
    transport = transport or FakeHttpTransport(venue.handle)
    gateway = BinanceGateway(
        replace(BinanceConfig.local("http://venue", "ws://venue"), user_stream=False),
        Credentials.hmac(venue.key, venue.secret),
        http=transport,
    )
    limits = SymbolLimits(
        max_order_qty=Decimal(1),
        max_order_notional=Decimal(10**9),
        max_open_orders=10**6,
        max_position=Decimal(10**6),
        price_band_pct=Decimal(50),
    )
    cfg = demo_oms_config(
        symbols=(BTC,),
        risk=RiskConfig(limits={BTC: limits}, max_orders_per_second=10**9),
        batch_window_s=0.0,
        reconcile_interval_s=3600.0,
        snapshot_every=10**9,
    )
    oms = OrderManager(gateway, store, cfg)
    await oms.start()
    oms.set_reference_price(BTC, Decimal(95_000))
    return oms


async def overhead(store: JournalStore, samples: int) -> list[int]:
    venue = InProcessVenue()
    oms = await make_oms(store, venue)
    run = asyncio.create_task(oms.run())
    done = asyncio.Event()
    oms.add_batch_listener(done.set)
    lat: list[int] = []
    for i in range(samples):
        price = Decimal(93_000) - (i % 100)  # rests: 2 % under the market, inside the band
        t0 = time.perf_counter_ns()
        cid = oms.place(S, BTC, Side.BUY, Decimal("0.001"), price)
        while cid not in venue.arrived:
            done.clear()
            await done.wait()
        lat.append(venue.arrived[cid] - t0)
        oms.cancel(S, BTC, cid)
        await _wait_closed(oms, cid, done)
    await oms.stop(cancel_orders=False)
    await run
    await oms.close()
    stages = oms.metrics.latency
    STAGES.append(
        {
            s: {"p50": stages[s].percentile(50) / 1000, "p99": stages[s].percentile(99) / 1000}
            for s in ("decide", "journal", "wire")
        }
    )
    BREAKDOWN.append(
        "  ".join(
            f"{s} {stages[s].percentile(50) / 1000:.0f}/{stages[s].percentile(99) / 1000:.0f}"
            for s in ("decide", "journal", "wire")
        )
    )
    return lat


BREAKDOWN: list[str] = []
STAGES: list[dict[str, dict[str, float]]] = []


async def _wait_closed(oms: OrderManager, cid: ClientOrderId, done: asyncio.Event) -> None:
    while (o := oms.book.get(BTC, cid)) is None or not o.status.is_terminal:
        done.clear()
        await done.wait()


async def throughput(store: JournalStore, seconds: float) -> tuple[int, float]:
    venue = InProcessVenue()
    oms = await make_oms(store, venue)
    run = asyncio.create_task(oms.run())
    done = asyncio.Event()
    oms.add_batch_listener(done.set)
    start = time.perf_counter()
    placed: list[ClientOrderId] = []
    while time.perf_counter() - start < seconds:
        for i in range(50):  # a burst, then let the engine drain it
            placed.append(oms.place(S, BTC, Side.BUY, Decimal("0.001"), Decimal(93_000) - i))
        for cid in placed[-100:-50]:
            oms.cancel(S, BTC, cid)
        done.clear()
        await done.wait()
    elapsed = time.perf_counter() - start
    actions = sum(oms.metrics.actions.values())
    await oms.stop(cancel_orders=False)
    await run
    await oms.close()
    return actions, elapsed


def pct(xs: list[int], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(len(s) * p / 100))] / 1000


# -- a remote-like venue: bursts, offered load, profile ------------------------------------------


class RemoteLikeVenue:
    """An :class:`HttpTransport`: stamps each order's bytes, yields (the request is on the wire),
    then answers order requests from a template; other requests go to the in-process simulator.
    ``placed`` / ``cancelled``: client order id → when its request was handed over."""

    _ORDER = "/fapi/v1/order"
    _BATCH = "/fapi/v1/batchOrders"

    def __init__(self) -> None:
        self.sim = InProcessVenue()
        self.key, self.secret = self.sim.key, self.sim.secret
        self.placed: dict[str, int] = {}
        self.cancelled: dict[str, int] = {}
        self._orders: dict[str, dict[str, Any]] = {}
        self._by_id: dict[int, str] = {}
        self._ids = itertools.count(1_000_000)
        self._encode = msgspec.json.encode
        self.requests = 0

    async def request(
        self, method: str, url: str, headers: Mapping[str, str], *, timeout_s: float, endpoint: str
    ) -> HttpReply:
        now = time.perf_counter_ns()
        path, _, query = url.partition("?")
        path = path[path.index("/", path.index("//") + 2) :]
        if path not in (self._ORDER, self._BATCH):
            return self.sim.handle(FakeRequest(method, url, dict(headers)))
        self.requests += 1
        # the signed query as the gateway built it: only list values are percent-encoded
        params = dict(part.split("=", 1) for part in query.split("&"))
        for key in ("batchOrders", "orderIdList", "origClientOrderIdList"):
            if key in params:
                params[key] = unquote(params[key])
        if path == self._ORDER:
            items = [params]
        elif method == "DELETE":
            symbol = params["symbol"]
            if "orderIdList" in params:
                cids = [self._by_id[i] for i in msgspec.json.decode(params["orderIdList"])]
            else:
                cids = msgspec.json.decode(params["origClientOrderIdList"])
            items = [{"symbol": symbol, "origClientOrderId": c} for c in cids]
        else:
            items = msgspec.json.decode(params["batchOrders"])
        stamps = self.placed if method == "POST" else self.cancelled
        for item in items:  # the time taken first is when the bytes left
            cid = item.get("newClientOrderId") or item.get("origClientOrderId")
            if cid is None:
                cid = item["origClientOrderId"] = self._by_id[int(item["orderId"])]
            stamps.setdefault(cid, now)
        await asyncio.sleep(0)  # on the wire: the loop runs on until the reply arrives
        replies = [self._answer(method, item) for item in items]
        body = self._encode(replies[0] if path == self._ORDER else replies)
        return HttpReply(200, {}, body)

    def _answer(self, method: str, item: Mapping[str, Any]) -> dict[str, Any]:
        if method == "POST":
            order_id = next(self._ids)
            order = {
                "orderId": order_id, "symbol": item["symbol"], "status": "NEW",
                "clientOrderId": item["newClientOrderId"], "price": item["price"],
                "origQty": item["quantity"], "executedQty": "0", "cumQty": "0",
                "timeInForce": item.get("timeInForce", "GTC"), "type": item["type"],
                "reduceOnly": False, "side": item["side"], "positionSide": "BOTH",
                "updateTime": time.time_ns() // 1_000_000,
            }  # fmt: skip
            self._orders[item["newClientOrderId"]] = order
            self._by_id[order_id] = item["newClientOrderId"]
            return order
        cid = item["origClientOrderId"]
        order = self._orders[cid]
        if method == "DELETE":
            order = self._orders.pop(cid)
            self._by_id.pop(order["orderId"], None)
            return {**order, "status": "CANCELED"}
        order.update(price=item["price"], origQty=item["quantity"])
        return order

    async def close(self) -> None:
        pass


async def _remote_oms(store: JournalStore) -> tuple[OrderManager, RemoteLikeVenue, Any]:
    venue = RemoteLikeVenue()
    oms = await make_oms(store, venue.sim, transport=venue)
    return oms, venue, asyncio.create_task(oms.run())


async def _stop(oms: OrderManager, run: Any) -> None:
    await oms.stop(cancel_orders=False)
    await run
    await oms.close()


async def bursts(store: JournalStore, count: int, size: int) -> tuple[list[int], list[int]]:
    """``count`` bursts of ``size`` place intents; per-order and whole-burst intent → bytes."""
    oms, venue, run = await _remote_oms(store)
    done = asyncio.Event()
    oms.add_batch_listener(done.set)
    per_order: list[int] = []
    whole: list[int] = []
    for b in range(count):
        started: list[tuple[ClientOrderId, int]] = []
        for i in range(size):
            price = Decimal(93_000) - ((b * size + i) % 200)
            t0 = time.perf_counter_ns()
            started.append((oms.place(S, BTC, Side.BUY, Decimal("0.001"), price), t0))
        while any(cid not in venue.placed for cid, _ in started):
            done.clear()
            await done.wait()
        per_order += [venue.placed[cid] - t0 for cid, t0 in started]
        whole.append(max(venue.placed[cid] for cid, _ in started) - started[0][1])
        for cid, _ in started:
            oms.cancel(S, BTC, cid)
        while any(
            (o := oms.book.get(BTC, cid)) is None or not o.status.is_terminal for cid, _ in started
        ):
            done.clear()
            await done.wait()
    await _stop(oms, run)
    return per_order, whole


async def offered_load(
    store: JournalStore, rate: float, seconds: float, cap: int = 100, target: int = 20
) -> dict[str, Any]:
    """Intents paced at ``rate`` actions/s for ``seconds``: every other one cancels the oldest
    order already on the wire (every one while more than ``target`` rest), the rest place; at
    most ``cap`` orders rest (a generator that finds the book full, its oldest order not yet
    sent, or the engine's queue full skips: the engine is behind)."""
    oms, venue, run = await _remote_oms(store)
    done = asyncio.Event()
    oms.add_batch_listener(done.set)
    places: list[tuple[ClientOrderId, int]] = []
    cancels: list[tuple[ClientOrderId, int]] = []
    resting: deque[ClientOrderId] = deque()
    skipped = 0
    issued = 0
    start = time.perf_counter()
    clock = time.perf_counter_ns
    while (elapsed := time.perf_counter() - start) < seconds:
        due = int(rate * elapsed) - issued
        for _ in range(due):
            issued += 1
            try:
                cancel_turn = issued % 2 == 0 or len(resting) > target  # catch up after a stall
                if cancel_turn and resting and resting[0] in venue.placed:
                    cid = resting.popleft()
                    t0 = clock()
                    oms.cancel(S, BTC, cid)
                    cancels.append((cid, t0))
                elif len(resting) < cap:
                    price = Decimal(93_000) - (issued % 200)
                    t0 = clock()
                    cid = oms.place(S, BTC, Side.BUY, Decimal("0.001"), price)
                    places.append((cid, t0))
                    resting.append(cid)
                else:
                    skipped += 1
            except Exception:  # OmsOverloadedError: the engine's queue is full
                skipped += 1
        await asyncio.sleep(0.0005)
    deadline = time.perf_counter() + 10
    while time.perf_counter() < deadline and (
        any(c not in venue.placed for c, _ in places[-50:])
        or any(c not in venue.cancelled for c, _ in cancels[-50:])
    ):
        done.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), 0.1)
    lat = [venue.placed[c] - t for c, t in places if c in venue.placed]
    lat += [venue.cancelled[c] - t for c, t in cancels if c in venue.cancelled]
    first = min((t for _, t in places), default=0)
    last = max([*venue.placed.values(), *venue.cancelled.values()], default=first)
    await _stop(oms, run)
    span = max((last - first) / 1e9, seconds)
    return {
        "offered": rate,
        "achieved": len(lat) / span,
        "actions": len(lat),
        "issued": len(places) + len(cancels),
        "skipped": skipped,
        "latency": summarize(lat),
    }


async def saturate(store: JournalStore, seconds: float) -> tuple[int, float, int]:
    """As :func:`throughput`, against the remote-like venue: (actions, seconds, requests)."""
    oms, venue, run = await _remote_oms(store)
    done = asyncio.Event()
    oms.add_batch_listener(done.set)
    start = time.perf_counter()
    placed: list[ClientOrderId] = []
    while time.perf_counter() - start < seconds:
        for i in range(50):
            placed.append(oms.place(S, BTC, Side.BUY, Decimal("0.001"), Decimal(93_000) - i))
        for cid in placed[-100:-50]:
            oms.cancel(S, BTC, cid)
        done.clear()
        await done.wait()
    elapsed = time.perf_counter() - start
    actions = sum(oms.metrics.actions.values())
    await _stop(oms, run)
    return actions, elapsed, venue.requests


def sustained_rate(steps: Sequence[dict[str, Any]]) -> float:
    """The highest offered rate the engine keeps up with before latency degrades: ≥ 95 % of the
    actions reach the wire, at most 1 % skipped, and p50 within twice the lowest rate's."""
    if not steps:
        return float("nan")
    limit = 2 * steps[0]["latency"].get("p50", 0.0)
    best = 0.0
    for step in steps:
        kept_up = (
            step["achieved"] >= 0.95 * step["offered"] and step["skipped"] <= 0.01 * step["issued"]
        )
        if kept_up and step["latency"].get("p50", float("inf")) <= limit:
            best = max(best, step["offered"])
    return best


async def profiled(store: JournalStore, seconds: float, top: int) -> dict[str, Any]:
    """:func:`saturate` under a sampling profiler; the top frames by own time."""
    try:
        from pyinstrument import Profiler
    except ImportError:
        return await _cprofiled(store, seconds, top)
    profiler = Profiler(interval=0.0002, async_mode="disabled")
    profiler.start()
    actions, elapsed, _ = await saturate(store, seconds)
    session = profiler.stop()
    root = session.root_frame()
    own: dict[str, float] = {}
    inclusive: dict[str, float] = {}

    def walk(frame: Any, stack: frozenset[str]) -> None:
        if frame.is_synthetic:  # "[self]" / "[await]" markers: counted in total_self_time
            return
        name = f"{frame.function} ({frame.file_path_short}:{frame.line_no})"
        own[name] = own.get(name, 0.0) + frame.total_self_time
        if name not in stack:  # recursion counts once
            inclusive[name] = inclusive.get(name, 0.0) + frame.time
        for child in frame.children:
            walk(child, stack | {name})

    if root is not None:
        walk(root, frozenset())
    total = session.duration or 1.0
    return {
        "tool": "pyinstrument 5 (statistical, 0.2 ms interval)",
        "actions_per_s": actions / elapsed,
        "own": [
            {"frame": k, "share": v / total}
            for k, v in sorted(own.items(), key=lambda kv: -kv[1])[:top]
        ],
        "inclusive_mmoms": [
            {"frame": k, "share": v / total}
            for k, v in sorted(inclusive.items(), key=lambda kv: -kv[1])
            if "mmoms" in k
        ][:top],
    }


async def _cprofiled(store: JournalStore, seconds: float, top: int) -> dict[str, Any]:
    import cProfile
    import pstats

    profile = cProfile.Profile()
    profile.enable()
    actions, elapsed, _ = await saturate(store, seconds)
    profile.disable()
    stats = pstats.Stats(profile)
    total = sum(v[2] for v in stats.stats.values()) or 1.0  # type: ignore[attr-defined]
    rows = sorted(stats.stats.items(), key=lambda kv: -kv[1][2])[:top]  # type: ignore[attr-defined]
    return {
        "tool": "cProfile (deterministic: inflates call-heavy code)",
        "actions_per_s": actions / elapsed,
        "own": [
            {"frame": f"{fn} ({Path(file).name}:{line})", "share": v[2] / total}
            for (file, line, fn), v in rows
        ],
        "inclusive_mmoms": [],
    }


# -- floors: what a commit costs before mmoms does anything ------------------------------------

FLOOR_COMMIT = "floor: bare SQLite commit (WAL, NORMAL, one 300-byte row)"
FLOOR_FSYNC = "floor: fsync of a 4 KiB write"


def storage_floors(directory: Path, samples: int) -> dict[str, list[int]]:
    """What the storage costs on its own: a bare SQLite transaction of one small row (WAL,
    ``synchronous=NORMAL``, as the default journal commits) and one fsync after a 4 KiB write
    (what durability ``fsync`` waits for per commit). Nanoseconds per sample."""
    conn = sqlite3.connect(directory / "floor.sqlite", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE t (seq INTEGER PRIMARY KEY, body BLOB)")
    row = secrets.token_bytes(300)
    commits: list[int] = []
    for i in range(samples + 50):
        t0 = time.perf_counter_ns()
        conn.execute("BEGIN")
        conn.execute("INSERT INTO t VALUES (?, ?)", (i, row))
        conn.execute("COMMIT")
        if i >= 50:
            commits.append(time.perf_counter_ns() - t0)
    conn.close()
    fsyncs: list[int] = []
    fd = os.open(directory / "floor.bin", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        block = secrets.token_bytes(4096)
        for i in range(min(samples, 2000) + 10):
            os.write(fd, block)
            t0 = time.perf_counter_ns()
            os.fsync(fd)
            if i >= 10:
                fsyncs.append(time.perf_counter_ns() - t0)
    finally:
        os.close(fd)
    return {FLOOR_COMMIT: commits, FLOOR_FSYNC: fsyncs}


# -- main ---------------------------------------------------------------------------------------


async def main_async(args: argparse.Namespace, figures: Figures) -> None:
    samples, seconds = args.samples, args.seconds
    with tempfile.TemporaryDirectory() as tmp:
        stores: list[tuple[str, Any]] = [
            ("memory", lambda i: InMemoryJournalStore()),
            (
                "sqlite NORMAL",
                lambda i: SqliteJournalStore(Path(tmp) / f"n{i}.sqlite", synchronous="NORMAL"),
            ),
            (
                "sqlite FULL",
                lambda i: SqliteJournalStore(Path(tmp) / f"f{i}.sqlite", synchronous="FULL"),
            ),
            (
                DEFAULT,  # NORMAL, fsync behind the writer (journal/checkpointer.py)
                lambda i: SqliteJournalStore(Path(tmp) / f"p{i}.sqlite", durability="process"),
            ),
        ]
        # Repeats interleave the journals (memory, NORMAL, FULL, process, memory, ...), each
        # with a fresh engine, so drift on a shared machine falls on all of them alike.
        per_repeat = -(-samples // args.repeats)
        pooled: dict[str, list[int]] = {name: [] for name, _ in stores}
        p50s: dict[str, list[float]] = {name: [] for name, _ in stores}
        breakdown: dict[str, str] = {}
        for i in range(args.repeats):
            for name, make in stores:
                lat = await overhead(make(i), per_repeat)
                pooled[name] += lat
                p50s[name].append(pct(lat, 50))
                breakdown[name] = BREAKDOWN[-1]
                figures.extra.setdefault("stages", {})[name] = STAGES[-1]
        print(f"intent -> bytes handed to the transport, {len(pooled['memory'])} orders each (µs)")
        print(f"{'journal':26s} {'p50':>8s} {'p99':>8s} {'p999':>8s} {'max':>8s} {'mean':>8s}")
        for name, _ in stores:
            lat = pooled[name]
            print(
                f"{name:26s} {pct(lat, 50):8.1f} {pct(lat, 99):8.1f} {pct(lat, 99.9):8.1f} "
                f"{max(lat) / 1000:8.1f} {statistics.mean(lat) / 1000:8.1f}   "
                f"stages p50/p99 µs: {breakdown[name]}",
                flush=True,
            )
            figures.add(f"single intent, journal {name}", lat)
            figures.extra.setdefault("p50_over_repeats", {})[name] = {
                "min": min(p50s[name]),
                "median": statistics.median(p50s[name]),
                "max": max(p50s[name]),
                "repeats": args.repeats,
            }

        def journal(kind: str, name: str) -> JournalStore:
            """A fresh store: the default (durability process), FULL (fsync) or memory."""
            if kind == DEFAULT:
                return SqliteJournalStore(Path(tmp) / f"{name}.sqlite", durability="process")
            if kind == "sqlite FULL":
                return SqliteJournalStore(Path(tmp) / f"{name}.sqlite", durability="fsync")
            return InMemoryJournalStore()

        print("\nthe storage alone (µs)")
        for label, values in storage_floors(Path(tmp), min(samples, 5000)).items():
            summary = figures.add(label, values)
            print(
                f"  {label:<58} p50 {summary['p50']:8.1f}  p99 {summary['p99']:8.1f}  "
                f"(n={summary['n']})"
            )
        actions, elapsed = await throughput(journal(DEFAULT, "t"), seconds)
        print(
            f"sustained: {actions} actions in {elapsed:.1f} s = {actions / elapsed:,.0f} actions/s "
            f"(journal {DEFAULT}, one core)"
        )
        figures.figures["saturated actions/s, in-process simulator"] = actions / elapsed

        for kind in (DEFAULT, "memory", "sqlite FULL"):  # the default, its floor, durable
            print(
                f"\nbursts of {args.burst_size} place intents, remote-like venue, "
                f"journal {kind} (µs)"
            )
            per_order, whole = await bursts(
                journal(kind, f"burst-{kind[-4:]}"), args.bursts, args.burst_size
            )
            for label, values in (("per order", per_order), ("whole burst", whole)):
                summary = figures.add(
                    f"burst of {args.burst_size}, {label}, journal {kind}", values
                )
                print(
                    f"  {label:<12} p50 {summary['p50']:8.1f}  p99 {summary['p99']:8.1f}  "
                    f"p999 {summary['p999']:8.1f}  (n={summary['n']})"
                )
        actions, elapsed, requests = await saturate(journal(DEFAULT, "sat"), seconds)
        print(
            f"saturated, remote-like venue: {actions / elapsed:,.0f} actions/s "
            f"({actions / max(requests, 1):.1f} actions per request, journal {DEFAULT})"
        )
        figures.figures["saturated actions/s, remote-like venue"] = actions / elapsed
        sweeps: dict[str, Any] = {}
        for kind in (DEFAULT, "sqlite FULL", "memory"):
            print(f"\noffered load (place/cancel alternating), remote-like venue, journal {kind}")
            print(
                f"  {'offered/s':>10} {'reached/s':>10} {'p50 µs':>9} {'p99 µs':>9} {'p999 µs':>9}"
            )
            steps = []
            for rate in args.rates:
                store = journal(kind, f"load{rate:.0f}-{kind[-4:]}")
                step = await offered_load(store, rate, args.step_seconds)
                steps.append(step)
                lat = step["latency"]
                print(
                    f"  {rate:10,.0f} {step['achieved']:10,.0f} {lat.get('p50', 0):9.1f} "
                    f"{lat.get('p99', 0):9.1f} {lat.get('p999', 0):9.1f}"
                    + (f"  ({step['skipped']} skipped: engine behind)" if step["skipped"] else ""),
                    flush=True,
                )
                if step["skipped"] and step["achieved"] < 0.5 * rate:
                    break  # far past saturation: higher rates say nothing more
            sustained = sustained_rate(steps)
            sweeps[kind] = steps
            figures.figures[f"sustained actions/s, journal {kind}"] = sustained
            print(f"  sustained before latency degrades: {sustained:,.0f} actions/s")
        figures.extra["offered_load"] = sweeps
        if args.profile:
            prof = await profiled(journal(DEFAULT, "prof"), seconds, args.profile_top)
            prof["journal"] = DEFAULT
            figures.extra["profile"] = prof
            print(f"\nprofile of the saturated run ({prof['tool']}), top frames by own time:")
            for row in prof["own"]:
                print(f"  {row['share'] * 100:5.1f} %  {row['frame']}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument(
        "--repeats", type=int, default=1, help="single-intent runs per journal (samples split)"
    )
    parser.add_argument("--bursts", type=int, default=500, help="bursts to measure")
    parser.add_argument("--burst-size", type=int, default=20, help="intents per burst")
    parser.add_argument(
        "--rates",
        type=lambda text: [float(r) for r in text.split(",")],
        default=[1000.0, 2000.0, 3000.0, 4000.0, 5000.0, 6000.0, 8000.0],
        help="offered rates, actions/s, comma-separated",
    )
    parser.add_argument("--step-seconds", type=float, default=2.0, help="seconds per rate")
    parser.add_argument("--profile", action="store_true", help="profile the saturated run")
    parser.add_argument("--profile-top", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="a smoke run (tests use it)")
    parser.add_argument("--json", metavar="PATH", help="write the figures here")
    args = parser.parse_args(argv)
    if args.quick:
        args.samples, args.seconds = 50, 0.5
        args.bursts, args.rates, args.step_seconds = 5, [500.0, 2000.0], 0.3
    figures = Figures("oms_overhead")
    figures.extra["pinning"] = pin_one_core()  # one core, away from whatever runs on core 0
    figures.extra["settings"] = {
        "samples": args.samples, "repeats": args.repeats, "seconds": args.seconds,
        "bursts": args.bursts,
        "burst_size": args.burst_size, "rates": args.rates, "step_seconds": args.step_seconds,
    }  # fmt: skip
    import uvloop

    uvloop.run(main_async(args, figures))
    figures.write(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
