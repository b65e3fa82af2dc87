"""Virtual time through ``POST /admin/time/advance``: an hour passes in milliseconds, and every
expiry happens at its own instant (listenKey, GTD, countdownCancelAll, conditional GTD)."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

if TYPE_CHECKING:
    from conftest import VirtualSim

HOUR = 3_600_000
ORDER = {
    "symbol": "BTCUSDC",
    "side": "BUY",
    "type": "LIMIT",
    "quantity": "0.010",
    "price": "94000.00",
}


async def _next(ws: aiohttp.ClientWebSocketResponse) -> Any:
    msg = await ws.receive(timeout=10)
    assert msg.type is aiohttp.WSMsgType.TEXT, msg
    return msg.json()


@pytest.mark.asyncio
async def test_an_hour_passes_and_each_expiry_fires_at_its_own_time(quiet_sim: VirtualSim) -> None:
    sim = quiet_sim
    start = sim.clock.time_ms()
    key = await sim.listen_key()
    gtd = start + 900_000
    _, order = await sim.signed("POST", "/fapi/v1/order", **ORDER, timeInForce="GTD",
                                goodTillDate=gtd)  # fmt: skip
    eth = {**ORDER, "symbol": "ETHUSDC", "price": "3400.00", "timeInForce": "GTC"}
    _, doomed = await sim.signed("POST", "/fapi/v1/order", **eth)
    await sim.signed("POST", "/fapi/v1/countdownCancelAll", symbol="ETHUSDC",
                     countdownTime=120_000)  # fmt: skip
    async with sim.http.ws_connect(f"{sim.server.ws_url}/private/ws/{key}") as ws:
        assert await sim.advance(HOUR) == start + HOUR
        seen = []
        while not seen or seen[-1][0] != "listenKeyExpired":
            event = await _next(ws)
            order_id = event["o"]["i"] if event["e"] == "ORDER_TRADE_UPDATE" else None
            seen.append((event["e"], order_id, event["E"]))
    assert seen == [
        ("ORDER_TRADE_UPDATE", doomed["orderId"], start + 120_000),  # countdownCancelAll
        ("ORDER_TRADE_UPDATE", order["orderId"], gtd),  # GTD
        ("listenKeyExpired", None, start + HOUR),  # 60 minutes without keepalive
    ]


@pytest.mark.asyncio
async def test_market_steps_follow_the_virtual_clock(virtual_sim: VirtualSim) -> None:
    sim = virtual_sim
    _, before = await sim.public("/fapi/v1/depth?symbol=BTCUSDC&limit=5")
    assert (await sim.advance(0)) == sim.clock.time_ms()  # no time, no step
    _, same = await sim.public("/fapi/v1/depth?symbol=BTCUSDC&limit=5")
    assert same["lastUpdateId"] == before["lastUpdateId"]
    end = await sim.advance(10_000, step_ms=100)
    _, after = await sim.public("/fapi/v1/depth?symbol=BTCUSDC&limit=5")
    assert after["lastUpdateId"] > before["lastUpdateId"]
    _, trades = await sim.public("/fapi/v1/aggTrades?symbol=BTCUSDC&limit=1000")
    assert trades  # the synthetic market traded ...
    assert all(end - 10_000 < t["T"] <= end and t["T"] % 100 == 0 for t in trades)  # ... in steps


def test_cli_virtual_time_faults_and_no_admin() -> None:
    start = 1_800_000_000_000
    rule = {"kind": "rate_limit", "match": "GET /fapi/v1/ping", "count": 1}
    args = ["--virtual-time", "--start-time-ms", str(start), "--fault", json.dumps(rule),
            "--latency", "POST /fapi/v1/order=exp:5", "--fault-seed", "9"]  # fmt: skip
    with _spawn(*args) as base:
        assert _get(f"{base}/admin/time") == (200, {"serverTime": start, "virtual": True})
        faults = _get(f"{base}/admin/faults")[1]
        assert faults["seed"] == 9
        assert [r["kind"] for r in faults["rules"]] == ["rate_limit", "latency"]
        assert _get(f"{base}/fapi/v1/ping")[0] == 429
        request = urllib.request.Request(
            f"{base}/admin/time/advance", data=b'{"ms": 5000}', method="POST"
        )
        with urllib.request.urlopen(request, timeout=30) as reply:
            assert json.loads(reply.read()) == {"serverTime": start + 5000}
        assert _get(f"{base}/fapi/v1/time") == (200, {"serverTime": start + 5000})
    with _spawn("--no-admin") as base:
        assert _get(f"{base}/admin/time")[0] == 404


class _spawn:  # noqa: N801 - used like a function, as a context manager
    def __init__(self, *args: str) -> None:
        command = [sys.executable, "-m", "mmoms.sim.cli", "--port", "0", "--log-level", "ERROR"]
        self.process = subprocess.Popen(
            [*command, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )

    def __enter__(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.startswith("mmoms-sim ready rest="), line
        return line.split()[2].removeprefix("rest=")

    def __exit__(self, *_: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        if self.process.stdout is not None:
            self.process.stdout.close()


def _get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=30) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


@pytest.mark.asyncio
async def test_algo_order_lifecycle_over_the_wire_triggered_by_mark_price(
    quiet_sim: VirtualSim,
) -> None:
    sim = quiet_sim
    key = await sim.listen_key()
    async with sim.http.ws_connect(f"{sim.server.ws_url}/private/ws/{key}") as ws:
        status, algo = await sim.signed("POST", "/fapi/v1/algoOrder", algoType="CONDITIONAL",
                                        symbol="BTCUSDC", side="SELL", type="STOP_MARKET",
                                        quantity="0.010", triggerPrice="94000.0",
                                        workingType="MARK_PRICE")  # fmt: skip
        assert status == 200, algo
        assert (await _next(ws))["o"]["X"] == "NEW"
        await sim.admin("POST", "/admin/market", {"symbol": "BTCUSDC", "mid": "93000.0"})
        await sim.advance(1000, step_ms=100)  # the mark follows the mid, step by step
        flow = []
        while not flow or flow[-1] != ("ALGO_UPDATE", "FINISHED"):
            event = await _next(ws)
            if event["e"] in ("ALGO_UPDATE", "ORDER_TRADE_UPDATE"):
                flow.append((event["e"], event["o"]["X"]))
                if event["e"] == "ALGO_UPDATE" and event["o"]["X"] == "TRIGGERED":
                    actual = event["o"]["ai"]
                elif event["e"] == "ORDER_TRADE_UPDATE":
                    assert str(event["o"]["i"]) == actual  # the triggered order's updates
    assert flow == [
        ("ALGO_UPDATE", "TRIGGERING"),
        ("ALGO_UPDATE", "TRIGGERED"),
        ("ORDER_TRADE_UPDATE", "NEW"),
        ("ORDER_TRADE_UPDATE", "FILLED"),
        ("ALGO_UPDATE", "FINISHED"),
    ]
    _, premium = await sim.public("/fapi/v1/premiumIndex?symbol=BTCUSDC")
    assert float(premium["markPrice"]) < 94000
    _, query = await sim.signed("GET", "/fapi/v1/algoOrder", algoId=algo["algoId"])
    assert (query["algoStatus"], query["actualOrderId"]) == ("FINISHED", actual)
