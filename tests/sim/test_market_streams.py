"""Market streams of the real exchange on a virtual clock: a client that follows Binance's
local-order-book procedure ends up with the exchange's book exactly; partial depth; legacy root
paths and SUBSCRIBE on a connection.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

if TYPE_CHECKING:
    from conftest import VirtualSim

pytestmark = pytest.mark.asyncio

STEP = 100


async def _next(ws: aiohttp.ClientWebSocketResponse) -> Any:
    msg = await ws.receive(timeout=10)
    assert msg.type is aiohttp.WSMsgType.TEXT, msg
    return msg.json()


class LocalBook:
    """Binance's documented procedure (binance-usdm.md §10), nothing more."""

    def __init__(self, snapshot: dict[str, Any]) -> None:
        self.last_update_id = int(snapshot["lastUpdateId"])
        self.sides: dict[str, dict[Decimal, str]] = {
            "b": {Decimal(p): q for p, q in snapshot["bids"]},
            "a": {Decimal(p): q for p, q in snapshot["asks"]},
        }
        self.previous_u: int | None = None

    def apply(self, event: dict[str, Any]) -> bool:
        """Feed one diff event; False when it was dropped as older than the snapshot."""
        if event["u"] < self.last_update_id:
            return False  # step 4
        if self.previous_u is None:
            assert event["U"] <= self.last_update_id <= event["u"]  # step 5
        else:
            assert event["pu"] == self.previous_u  # step 6: no gap
        for side in ("b", "a"):
            for price, qty in event[side]:
                if Decimal(qty) == 0:
                    self.sides[side].pop(Decimal(price), None)  # steps 8 and 9
                else:
                    self.sides[side][Decimal(price)] = qty  # step 7: absolute quantities
        self.previous_u = event["u"]
        return True

    def levels(self, side: str) -> list[list[str]]:
        prices = sorted(self.sides[side], reverse=side == "b")
        return [[_fmt(p), self.sides[side][p]] for p in prices]


def _fmt(price: Decimal) -> str:
    return f"{price:.2f}"


async def test_local_order_book_procedure_rebuilds_the_book_exactly(
    virtual_sim: VirtualSim,
) -> None:
    sim = virtual_sim
    buffered: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    url = f"{sim.server.ws_url}/public/ws/btcusdc@depth@100ms"
    async with sim.http.ws_connect(url) as ws:
        reader = asyncio.create_task(_pump(ws, buffered))  # step 1-2: buffer from the start
        await sim.advance(STEP)
        # A user order changes the book between steps: the snapshot lands mid-interval.
        status, _ = await sim.signed("POST", "/fapi/v1/order", symbol="BTCUSDC", side="BUY",
                                     type="LIMIT", timeInForce="GTC", quantity="0.250",
                                     price="94990.00")  # fmt: skip
        assert status == 200
        _, snapshot = await sim.public("/fapi/v1/depth?symbol=BTCUSDC&limit=1000")  # step 3
        book = LocalBook(snapshot)
        for n in range(30):  # the synthetic market moves every step; so do we
            side, price = ("SELL", "95010.00") if n % 2 else ("BUY", "94990.00")
            await sim.signed("POST", "/fapi/v1/order", symbol="BTCUSDC", side=side, type="LIMIT",
                             timeInForce="GTC", quantity="0.050", price=price)  # fmt: skip
            await sim.advance(STEP)
        _, final = await sim.public("/fapi/v1/depth?symbol=BTCUSDC&limit=1000")
        applied = 0
        while book.previous_u is None or book.previous_u < final["lastUpdateId"]:
            applied += book.apply(await asyncio.wait_for(buffered.get(), 10))
        reader.cancel()
    assert applied >= 20
    assert book.previous_u == final["lastUpdateId"]
    assert book.levels("b") == final["bids"]
    assert book.levels("a") == final["asks"]


async def _pump(ws: aiohttp.ClientWebSocketResponse, into: asyncio.Queue[Any]) -> None:
    async for msg in ws:
        into.put_nowait(msg.json())


async def test_partial_depth_streams_carry_the_top_levels(virtual_sim: VirtualSim) -> None:
    sim = virtual_sim
    streams = "btcusdc@depth5@100ms/ethusdc@depth10"
    async with sim.http.ws_connect(f"{sim.server.ws_url}/public/stream?streams={streams}") as ws:
        await sim.advance(10 * STEP)
        _, rest = await sim.public("/fapi/v1/depth?symbol=BTCUSDC&limit=5")
        latest: dict[str, dict[str, Any]] = {}
        while latest.get("btcusdc@depth5@100ms", {}).get("u") != rest["lastUpdateId"]:
            message = await _next(ws)
            data = latest[message["stream"]] = message["data"]
            assert data["pu"] < data["U"] <= data["u"]
        btc, eth = latest["btcusdc@depth5@100ms"], latest["ethusdc@depth10"]
        assert (btc["e"], btc["s"]) == ("depthUpdate", "BTCUSDC")
        assert (btc["b"], btc["a"]) == (rest["bids"], rest["asks"])
        assert (len(eth["b"]), len(eth["a"])) == (10, 10)


async def test_root_paths_and_subscribe_on_a_connection(virtual_sim: VirtualSim) -> None:
    sim = virtual_sim
    ws_url = sim.server.ws_url
    raw = await sim.http.ws_connect(f"{ws_url}/ws/btcusdc@aggTrade")
    combined = await sim.http.ws_connect(f"{ws_url}/stream?streams=btcusdc@markPrice")
    async with raw, combined:
        await combined.send_json({"method": "SUBSCRIBE", "params": ["btcusdc@bookTicker"], "id": 1})
        assert await _next(combined) == {"result": None, "id": 1}
        await sim.admin("POST", "/admin/market", {"symbol": "BTCUSDC", "side": "BUY",
                                                  "quantity": "0.100"})  # fmt: skip
        trade = await _next(raw)
        assert (trade["e"], trade["s"], trade["m"]) == ("aggTrade", "BTCUSDC", False)
        await sim.advance(1000)  # a whole second: one markPrice, book tickers as it moves
        names = set()
        while "btcusdc@markPrice" not in names:
            message = await _next(combined)
            names.add(message["stream"])
            if message["stream"] == "btcusdc@bookTicker":
                assert message["data"]["e"] == "bookTicker"
        await combined.send_json(
            {"method": "UNSUBSCRIBE", "params": ["btcusdc@bookTicker"], "id": "two"}
        )
        reply = await _next(combined)
        while "id" not in reply:  # frames already queued before the unsubscribe
            reply = await _next(combined)
        assert reply == {"result": None, "id": "two"}
        await combined.send_json({"method": "LIST_SUBSCRIPTIONS", "id": 3})
        listed = await _next(combined)
        while "id" not in listed:
            listed = await _next(combined)
        assert listed == {"result": ["btcusdc@markPrice"], "id": 3}
