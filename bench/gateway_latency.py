"""Benchmark: the gateway's own latency (not a test).

Two views, each as p50 / p99 / max in microseconds:

1. **intent → bytes**, the gateway's own cost from "the OMS decided" (a built ``SubmitOrder``)
   to the moment the request is handed to the socket:
   * REST, no network: codec + rate admission + timestamp + HMAC + URL, up to the transport call
     (a transport that only takes the time);
   * REST, real socket: up to the request headers written (aiohttp's ``on_request_headers_sent``
     trace signal, the fast pool's ``on_written`` hook; a bodyless signed request is all headers)
     against the simulator on loopback;
   * WS API, no network: codec + signing + JSON, up to the WebSocket ``send``.
2. **place → ack** and **cancel → ack** round trips against the simulator over REST (and over the
   WS API when the simulator serves ``/ws-fapi/v1``; otherwise it says so), and the user stream's
   **drop → reconnected** time (the new connection up and its gap signal emitted). REST runs over
   the transport(s) ``--transport`` names: ``fast`` (:mod:`mmoms.venues.http_pool`, the default
   of ``BinanceConfig``), ``aiohttp``, or ``both`` — interleaved in rounds against the same
   simulator, so drift in the machine's load falls on both alike.

The simulator runs in a subprocess (``python -m mmoms.sim.cli``) pinned to core 0 and this client
to core 1 (when there are two), so neither steals the other's CPU. Orders are LIMITs 3 % under
the mark (they rest) and are cancelled at once; the pace stays under Binance's order limits.

    .venv/bin/python bench/gateway_latency.py [--orders 250] [--quick] [--transport both]
        [--json PATH]

``--json PATH`` writes every figure for ``run_all.py`` (what is printed does not change).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp

from mmoms.core.commands import CancelOrder, SubmitOrder
from mmoms.core.enums import OrderType, Side, TimeInForce
from mmoms.core.ids import ClientOrderId, Symbol
from mmoms.core.instrument import PriceRounding
from mmoms.venues.binance import BinanceConfig, BinanceGateway, Credentials, OrderTransport
from mmoms.venues.binance.endpoints import Endpoint, OpKind, Security
from mmoms.venues.errors import RateBudgetExceededError
from mmoms.venues.gateway import StreamGap
from mmoms.venues.http_pool import FastHttpTransport
from mmoms.venues.testing import FakeHttpTransport, FakeRequest, FakeWsConnector, json_reply
from mmoms.venues.transport import AiohttpHttpTransport, HttpReply, HttpTransport, WsConnection

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import Figures

FIGURES = Figures("gateway_latency")

API_KEY = "benchkey" + "0" * 56
API_SECRET = "benchsecret" + "1" * 53
READY = "mmoms-sim ready "
SIM_CONFIG = """
[rate_limits]
request_weight_per_minute = 1000000000
orders_per_10s = 1000000000
orders_per_minute = 1000000000
"""
SYMBOL = Symbol("BTCUSDC")
ROUNDS = 5  # --transport both: the orders split into this many rounds per transport, alternating
PACE_S = 0.02  # ~50 orders/s: well inside Binance's 300 per 10 s
PREMIUM_INDEX = Endpoint("GET", "/fapi/v1/premiumIndex", Security.NONE, OpKind.QUERY, 1)
ORDER_REPLY = (
    b'{"orderId":1,"symbol":"BTCUSDC","status":"NEW","clientOrderId":"x","price":"60000.0",'
    b'"origQty":"0.010","executedQty":"0","cumQty":"0","timeInForce":"GTC","type":"LIMIT",'
    b'"reduceOnly":false,"side":"BUY","positionSide":"BOTH","updateTime":1}'
)


def percentiles(label: str, values_ns: list[int]) -> None:
    FIGURES.add(label.strip(), values_ns)
    if not values_ns:
        print(f"  {label:<44} no samples")
        return
    ordered = sorted(values_ns)

    def q(f: float) -> float:
        return ordered[min(len(ordered) - 1, int(f * len(ordered)))] / 1000

    print(
        f"  {label:<44} p50 {q(0.50):8.1f}   p99 {q(0.99):8.1f}   max {ordered[-1] / 1000:8.1f}"
        f"   (n={len(ordered)})"
    )


def order(i: int, price: Decimal, qty: Decimal) -> SubmitOrder:
    return SubmitOrder(
        ts_ns=0,
        client_order_id=ClientOrderId(f"bench-{os.getpid()}-{i}"),
        symbol=SYMBOL,
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        quantity=qty,
        price=price,
        time_in_force=TimeInForce.GTC,
    )


# -- 1. intent → bytes without a network ---------------------------------------------------------


class _StampingTransport:
    """Takes the time first thing when a request is handed over, then answers at once."""

    def __init__(self, handed: list[int]) -> None:
        self._handed = handed

    async def request(
        self, method: str, url: str, headers: Any, *, timeout_s: float, endpoint: str
    ) -> HttpReply:
        self._handed.append(time.perf_counter_ns())
        if endpoint == "GET /fapi/v1/time":
            return json_reply(200, {"serverTime": time.time_ns() // 1_000_000})
        if endpoint == "GET /fapi/v1/exchangeInfo":
            return json_reply(200, {"symbols": []})
        return HttpReply(200, {}, ORDER_REPLY)

    async def close(self) -> None:
        pass


async def rest_overhead(n: int) -> list[int]:
    handed: list[int] = []
    gw = BinanceGateway(
        BinanceConfig(user_stream=False),
        Credentials.hmac(API_KEY, API_SECRET),
        http=_StampingTransport(handed),
    )
    await gw.start()
    samples: list[int] = []
    try:
        for i in range(n):
            cmd = order(i, Decimal("60000.0"), Decimal("0.010"))
            if i % 250 == 249:  # stay inside the client-side order pools: this measures CPU only
                gw.rate._orders_10s.used = gw.rate._orders_1m.used = 0
            started = time.perf_counter_ns()
            await gw.submit(cmd)
            samples.append(handed[-1] - started)
    finally:
        await gw.close()
    return samples


class _TimingWs:
    """Wraps a fake connection: records when ``send`` is called (the bytes are handed over)."""

    def __init__(self, inner: WsConnection, sent: list[int]) -> None:
        self._inner = inner
        self._sent = sent

    async def send(self, text: str) -> None:
        self._sent.append(time.perf_counter_ns())
        await self._inner.send(text)

    async def recv(self) -> str | bytes:
        return await self._inner.recv()

    async def close(self) -> None:
        await self._inner.close()


async def ws_overhead(n: int) -> list[int]:
    sent: list[int] = []
    fake = FakeWsConnector()

    class Connector:
        async def connect(self, url: str, *, timeout_s: float) -> WsConnection:
            return _TimingWs(await fake.connect(url, timeout_s=timeout_s), sent)

        async def close(self) -> None:
            await fake.close()

    def venue(request: FakeRequest) -> HttpReply:
        if request.path == "/fapi/v1/time":
            return json_reply(200, {"serverTime": time.time_ns() // 1_000_000})
        return json_reply(200, {"symbols": []})

    gw = BinanceGateway(
        BinanceConfig(user_stream=False, order_transport=OrderTransport.WS_API),
        Credentials.hmac(API_KEY, API_SECRET),
        http=FakeHttpTransport(venue),
        ws=Connector(),
    )
    starting = asyncio.create_task(gw.start())
    peer = await fake.next_peer()
    await starting

    async def serve() -> None:
        while True:
            request = await peer.recv_json()
            result = ORDER_REPLY.decode()
            await peer.send(f'{{"id":"{request["id"]}","status":200,"result":{result}}}')

    server = asyncio.create_task(serve())
    samples: list[int] = []
    try:
        for i in range(n):
            cmd = order(i, Decimal("60000.0"), Decimal("0.010"))
            if i % 250 == 249:
                gw.rate._orders_10s.used = gw.rate._orders_1m.used = 0
            started = time.perf_counter_ns()
            await gw.submit(cmd)
            samples.append(sent[-1] - started)
    finally:
        server.cancel()
        await gw.close()
    return samples


# -- 2. against the simulator ------------------------------------------------------------------


def start_simulator(config: Path) -> tuple[subprocess.Popen[str], str, str]:
    command = [
        sys.executable, "-m", "mmoms.sim.cli", "--port", "0", "--api-key", API_KEY,
        "--api-secret", API_SECRET, "--config", str(config), "--balance", "USDC=10000000",
        "--log-level", "WARNING",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) >= 2:
        os.sched_setaffinity(process.pid, {cores[0]})
        os.sched_setaffinity(0, set(cores[1:]))
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith(READY):
        process.kill()
        raise SystemExit(f"simulator did not start: {line!r}")
    fields = dict(part.split("=", 1) for part in line[len(READY) :].split())
    return process, fields["rest"], fields["ws"]


def stamping_transport(kind: str, headers_sent: list[int]) -> HttpTransport:
    """The REST transport ``kind``, appending the time each POST's headers are written."""
    if kind == "fast":

        def on_written(method: str) -> None:
            if method == "POST":
                headers_sent.append(time.perf_counter_ns())

        return FastHttpTransport(connect_timeout_s=2.0, on_written=on_written)

    async def on_headers(_s: aiohttp.ClientSession, _c: SimpleNamespace, params: Any) -> None:
        if params.method == "POST":
            headers_sent.append(time.perf_counter_ns())

    trace = aiohttp.TraceConfig()
    trace.on_request_headers_sent.append(on_headers)
    return AiohttpHttpTransport(connect_timeout_s=2.0, trace_configs=[trace])


async def against_sim(
    rest: str, ws: str, n: int, transport: OrderTransport, http: str = "fast"
) -> dict[str, Any]:
    headers_sent: list[int] = []
    config = BinanceConfig.local(
        rest, ws, order_transport=transport, user_stream=False, connect_timeout_s=2.0
    )
    gw = BinanceGateway(
        config,
        Credentials.hmac(API_KEY, API_SECRET),
        http=stamping_transport(http, headers_sent),
    )
    await gw.start()
    out: dict[str, Any] = {"intent_to_wire": [], "place": [], "cancel": [], "skipped": None}
    try:
        if transport is OrderTransport.WS_API and (gw.wsapi is None or not gw.wsapi.connected):
            out["skipped"] = "the simulator does not serve the WS API (/ws-fapi/v1)"
            return out
        index = await gw.rest.call(PREMIUM_INDEX, [("symbol", SYMBOL)], dict[str, Any])
        [inst] = [i for i in await gw.instruments() if i.symbol == SYMBOL]
        price = inst.round_price(Decimal(index["markPrice"]) * Decimal("0.97"), PriceRounding.DOWN)
        qty = inst.round_qty(max(inst.min_qty, inst.min_notional * 2 / price) + inst.step_size)
        for i in range(n + 10):  # the first 10 warm the connection pool up: not measured
            cmd = order(i, price, qty)
            started = time.perf_counter_ns()
            try:
                ack = await gw.submit(cmd)
            except RateBudgetExceededError as exc:
                await asyncio.sleep(exc.wait_ns / 1e9)
                continue
            placed = time.perf_counter_ns()
            await gw.cancel(
                CancelOrder(
                    ts_ns=0,
                    client_order_id=cmd.client_order_id,
                    symbol=SYMBOL,
                    venue_order_id=getattr(ack, "venue_order_id", None),
                )
            )
            cancelled = time.perf_counter_ns()
            if i >= 10:
                out["place"].append(placed - started)
                out["cancel"].append(cancelled - placed)
                if transport is OrderTransport.REST and headers_sent:
                    out["intent_to_wire"].append(headers_sent[-1] - started)
            await asyncio.sleep(PACE_S)
    finally:
        await gw.close()
    return out


async def bare_aiohttp(rest: str, n: int) -> list[int]:
    """Baseline: the same kind of request sent with aiohttp directly (no gateway at all)."""
    sent: list[int] = []

    async def on_headers(_s: aiohttp.ClientSession, _c: SimpleNamespace, _p: Any) -> None:
        sent.append(time.perf_counter_ns())

    trace = aiohttp.TraceConfig()
    trace.on_request_headers_sent.append(on_headers)
    samples: list[int] = []
    async with aiohttp.ClientSession(trace_configs=[trace]) as http:
        for i in range(n + 10):
            started = time.perf_counter_ns()
            async with http.get(f"{rest}/fapi/v1/time", headers={"X-MBX-APIKEY": API_KEY}) as r:
                await r.read()
            if i >= 10:
                samples.append(sent[-1] - started)
            await asyncio.sleep(PACE_S)  # the same pace as the orders: idle gaps cost too
    return samples


async def reconnects(rest: str, ws: str, n: int) -> list[int]:
    """User stream: connection dropped -> reconnected and the gap signal emitted."""
    gw = BinanceGateway(BinanceConfig.local(rest, ws), Credentials.hmac(API_KEY, API_SECRET))
    await gw.start()
    stream = gw.stream()
    samples: list[int] = []
    try:
        assert isinstance(await anext(stream), StreamGap)
        assert gw.userstream is not None
        for _ in range(n):
            await asyncio.sleep(2.1)  # longer than a "stable" connection: no backoff kicks in
            started = time.perf_counter_ns()
            await gw.userstream.drop_connection()
            while not isinstance(await anext(stream), StreamGap):
                pass
            samples.append(time.perf_counter_ns() - started)
    finally:
        await gw.close()
    return samples


async def rest_rounds(rest: str, ws: str, n: int, kinds: Sequence[str]) -> dict[str, Any]:
    """REST round trips per transport; with two, interleaved in rounds (a, b, b, a, a, b, ...)."""
    out: dict[str, dict[str, list[int]]] = {
        k: {"intent_to_wire": [], "place": [], "cancel": []} for k in kinds
    }
    rounds = ROUNDS if len(kinds) > 1 else 1
    for r in range(rounds):
        for kind in kinds if r % 2 == 0 else list(reversed(kinds)):
            result = await against_sim(rest, ws, max(1, n // rounds), OrderTransport.REST, kind)
            for key, samples in out[kind].items():
                samples.extend(result[key])
    return out


async def run(
    n_overhead: int, n_orders: int, n_drops: int | None = None, kinds: Sequence[str] = ("fast",)
) -> None:
    print("intent -> bytes handed to the transport (gateway CPU only), microseconds")
    percentiles("REST: codec+admit+sign+URL -> transport", await rest_overhead(n_overhead))
    percentiles("WS API: codec+admit+sign+JSON -> send", await ws_overhead(n_overhead))
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "sim.toml"
        config.write_text(SIM_CONFIG)
        process, rest, ws = start_simulator(config)
        try:
            print(f"\nagainst the simulator on loopback ({n_orders} orders), microseconds")
            by_kind = await rest_rounds(rest, ws, n_orders, kinds)
            for kind, result in by_kind.items():
                percentiles(f"REST {kind}: intent -> headers written", result["intent_to_wire"])
            percentiles(
                "  (baseline: bare aiohttp GET -> headers)", await bare_aiohttp(rest, n_orders)
            )
            for kind, result in by_kind.items():
                percentiles(f"REST {kind}: place -> ack", result["place"])
                percentiles(f"REST {kind}: cancel -> ack", result["cancel"])
            drops = n_drops if n_drops is not None else max(2, n_orders // 25)
            percentiles("user stream: drop -> reconnected + gap", await reconnects(rest, ws, drops))
            result = await against_sim(rest, ws, n_orders, OrderTransport.WS_API)
            if result["skipped"]:
                print(f"  WS API: skipped ({result['skipped']})")
                FIGURES.notes.append(f"WS API: skipped ({result['skipped']})")
            else:
                percentiles("WS API: place -> ack", result["place"])
                percentiles("WS API: cancel -> ack", result["cancel"])
        finally:
            process.terminate()
            process.wait(timeout=10)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=250, help="orders against the simulator")
    parser.add_argument("--overhead", type=int, default=5000, help="orders without a network")
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument(
        "--reconnects", type=int, help="user stream drops (default: orders / 25, at least 2)"
    )
    parser.add_argument(
        "--transport",
        choices=("fast", "aiohttp", "both"),
        default="both",
        help="REST transport(s) for the round trips (both: interleaved rounds; default)",
    )
    parser.add_argument("--json", metavar="PATH", help="write the figures here")
    args = parser.parse_args(argv)
    n_overhead, n_orders = (200, 20) if args.quick else (args.overhead, args.orders)
    logging.basicConfig(level=logging.ERROR)  # the WS API reconnect warnings are expected here
    runner: Callable[[Any], None]
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover
        runner = asyncio.run
    kinds = ("fast", "aiohttp") if args.transport == "both" else (args.transport,)
    runner(run(n_overhead, n_orders, None if args.quick else args.reconnects, kinds))
    FIGURES.extra["settings"] = {"overhead": n_overhead, "orders": n_orders, "transports": kinds}
    FIGURES.write(args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
