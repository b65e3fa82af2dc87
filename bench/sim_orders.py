"""Benchmark: signed order entry against the simulator (not a test).

Starts ``python -m mmoms.sim.cli`` in a subprocess pinned to core 0, pins itself to core 1 (when
there are two), then has ``--connections`` keep-alive connections each loop "POST
/fapi/v1/order (a LIMIT far from the market, so it rests) then DELETE it" until ``--requests``
requests were sent. It prints throughput and two latency views:

* server: the simulator's own handling time from its ``X-Sim-Handling-Us`` header (enabled with
  ``--timing-header``), so the benchmark client's cost is not counted against the simulator;
* round trip: what the client saw, including its own time and the loopback.

Goal: >= 2,000 requests/s with server p99 < 2 ms on one core. Measured on the 2-core dev
machine (20,000 requests, 8 connections, idle machine): 3,900 requests/s, server handling
p50 105 us / p99 230 us; the client core was the bottleneck (round trip p50 1.4 ms).

``--ws-api`` sends the same place/cancel pairs as ``order.place`` / ``order.cancel`` over the
WebSocket API (one connection per worker; only the round trip is measured there, the envelope
has no timing field).

    .venv/bin/python bench/sim_orders.py [--requests 20000] [--connections 8] [--quick] [--ws-api]
        [--json PATH]

``--json PATH`` writes every figure for ``run_all.py`` (what is printed does not change).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import os
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import Figures, summarize_us

FIGURES = Figures("sim_orders")

API_KEY = "benchkey" + "0" * 56
API_SECRET = "benchsecret" + "1" * 53
READY = "mmoms-sim ready "
CONFIG = """
[rate_limits]
request_weight_per_minute = 1000000000
orders_per_10s = 1000000000
orders_per_minute = 1000000000
"""


def _percentile(values: list[int], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, int(q * len(ordered)))])


def _start_simulator(config: Path) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [
        sys.executable,
        "-m",
        "mmoms.sim.cli",
        "--port",
        "0",
        "--api-key",
        API_KEY,
        "--api-secret",
        API_SECRET,
        "--config",
        str(config),
        "--timing-header",
        "--log-level",
        "WARNING",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) >= 2:
        os.sched_setaffinity(process.pid, {cores[0]})  # the simulator gets one core ...
        os.sched_setaffinity(0, set(cores[1:]))  # ... and the client the others
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith(READY):
        process.kill()
        raise SystemExit(f"simulator did not start: {line!r}")
    rest = line[len(READY) :].split()[0].removeprefix("rest=")
    return process, rest


class Client:
    def __init__(self, http: aiohttp.ClientSession, rest: str) -> None:
        self.http = http
        self.rest = rest
        self.server_us: list[int] = []
        self.round_trip_us: list[int] = []
        self.errors: dict[str, int] = {}

    async def signed(self, method: str, path: str, params: dict[str, Any]) -> Any:
        params["timestamp"] = int(time.time() * 1000)
        query = urlencode(params)
        digest = hmac.new(API_SECRET.encode(), query.encode(), hashlib.sha256).hexdigest()
        url = f"{self.rest}{path}?{query}&signature={digest}"
        started = time.perf_counter_ns()
        async with self.http.request(method, url, headers={"X-MBX-APIKEY": API_KEY}) as response:
            body = await response.json()
            self.round_trip_us.append((time.perf_counter_ns() - started) // 1000)
            self.server_us.append(int(response.headers.get("X-Sim-Handling-Us", "0")))
            if response.status != 200:
                key = f"{response.status} {body.get('code')} {body.get('msg')}"
                self.errors[key] = self.errors.get(key, 0) + 1
                return None
            return body


class WsClient:
    """The same measurements over ``/ws-fapi/v1``: one request in flight per connection."""

    def __init__(self) -> None:
        self.round_trip_us: list[int] = []
        self.server_us: list[int] = []
        self.errors: dict[str, int] = {}
        self._ids = 0

    async def call(
        self, ws: aiohttp.ClientWebSocketResponse, method: str, params: dict[str, Any]
    ) -> Any:
        params = {**params, "apiKey": API_KEY, "timestamp": int(time.time() * 1000)}
        payload = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
        params["signature"] = hmac.new(
            API_SECRET.encode(), payload.encode(), hashlib.sha256
        ).hexdigest()
        self._ids += 1
        started = time.perf_counter_ns()
        await ws.send_json({"id": str(self._ids), "method": method, "params": params})
        reply = await ws.receive_json()
        self.round_trip_us.append((time.perf_counter_ns() - started) // 1000)
        if reply["status"] != 200:
            key = f"{reply['status']} {reply['error']}"
            self.errors[key] = self.errors.get(key, 0) + 1
            return None
        return reply["result"]


async def _resting_price(http: aiohttp.ClientSession, rest: str, symbol: str) -> tuple[str, str]:
    """A BUY price 3% under the mark (inside PERCENT_PRICE, far from the book) and a quantity."""
    async with http.get(f"{rest}/fapi/v1/exchangeInfo") as response:
        info = await response.json()
    spec = next(s for s in info["symbols"] if s["symbol"] == symbol)
    filters = {f["filterType"]: f for f in spec["filters"]}
    tick = Decimal(filters["PRICE_FILTER"]["tickSize"])
    step = Decimal(filters["LOT_SIZE"]["stepSize"])
    async with http.get(f"{rest}/fapi/v1/premiumIndex", params={"symbol": symbol}) as response:
        mark = Decimal((await response.json())["markPrice"])
    price = (mark * Decimal("0.97") / tick).to_integral_value(ROUND_DOWN) * tick
    min_notional = Decimal(filters.get("MIN_NOTIONAL", {}).get("notional", "5"))
    qty = max(Decimal(filters["LOT_SIZE"]["minQty"]), min_notional * 2 / price)
    qty = (qty / step).to_integral_value() * step + step
    return str(price), str(qty)


async def _run(rest: str, total: int, connections: int, symbol: str, ws_api: bool) -> None:
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as http:
        client: Client | WsClient = Client(http, rest)
        price, qty = await _resting_price(http, rest, symbol)
        order = {
            "symbol": symbol,
            "side": "BUY",
            "type": "LIMIT",
            "timeInForce": "GTC",
            "quantity": qty,
            "price": price,
        }
        remaining = total // 2

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                placed = await client.signed("POST", "/fapi/v1/order", dict(order))
                if placed is not None:
                    cancel = {"symbol": symbol, "orderId": placed["orderId"]}
                    await client.signed("DELETE", "/fapi/v1/order", cancel)

        async def ws_worker(ws: aiohttp.ClientWebSocketResponse, api: WsClient) -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                placed = await api.call(ws, "order.place", order)
                if placed is not None:
                    cancel = {"symbol": symbol, "orderId": placed["orderId"]}
                    await api.call(ws, "order.cancel", cancel)

        assert isinstance(client, Client)
        for _ in range(min(50, remaining)):  # warm-up, not measured
            await client.signed("GET", "/fapi/v2/balance", {})
        client.server_us.clear()
        client.round_trip_us.clear()
        if ws_api:
            client = WsClient()
            url = rest.replace("http", "ws", 1) + "/ws-fapi/v1"
            sockets = [await http.ws_connect(url) for _ in range(connections)]
            started = time.perf_counter()
            await asyncio.gather(*(ws_worker(ws, client) for ws in sockets))
            elapsed = time.perf_counter() - started
            for ws in sockets:
                await ws.close()
        else:
            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(connections)))
            elapsed = time.perf_counter() - started
    done = len(client.round_trip_us)
    print(f"requests: {done} in {elapsed:.2f} s over {connections} connections")
    print(f"throughput: {done / elapsed:,.0f} requests/s")
    FIGURES.figures["requests/s"] = done / elapsed
    FIGURES.figures["connections"] = connections
    for label, values in (("server", client.server_us), ("round trip", client.round_trip_us)):
        if not values:
            continue  # no server timing over the WebSocket API
        FIGURES.series[label] = summarize_us(values)
        print(
            f"{label} latency us: p50 {_percentile(values, 0.50):.0f}  "
            f"p99 {_percentile(values, 0.99):.0f}  max {max(values, default=0)}  "
            f"mean {statistics.fmean(values) if values else float('nan'):.0f}"
        )
    if client.errors:
        print(f"errors: {client.errors}")
        raise SystemExit(1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20_000, help="requests to send")
    parser.add_argument("--connections", type=int, default=8, help="keep-alive connections")
    parser.add_argument("--symbol", default="BTCUSDC")
    parser.add_argument("--quick", action="store_true", help="a short smoke run (400 requests)")
    parser.add_argument(
        "--ws-api", action="store_true", help="order.place / order.cancel over /ws-fapi/v1"
    )
    parser.add_argument("--json", metavar="PATH", help="write the figures here")
    args = parser.parse_args(argv)
    total = 400 if args.quick else args.requests
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "bench.toml"
        config.write_text(CONFIG)
        process, rest = _start_simulator(config)
        try:
            try:
                import uvloop

                uvloop.run(_run(rest, total, args.connections, args.symbol, args.ws_api))
            except ImportError:
                asyncio.run(_run(rest, total, args.connections, args.symbol, args.ws_api))
        finally:
            process.terminate()
            process.wait(timeout=10)
    FIGURES.extra["transport"] = "WS API" if args.ws_api else "REST"
    FIGURES.write(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
