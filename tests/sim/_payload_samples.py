"""The simulator's payloads of every kind a real payload exists for, from one real scenario.

The real exchange behind the real server on a virtual clock, driven over HTTP and the WebSocket
API exactly as a client drives it; user-data events and market-stream payloads are taken where
the server encodes them (the exchange's ``on_user_event`` / ``on_market_event`` sinks) and
round-tripped through JSON. :func:`collect` returns ``{sample name: payload}``; the names are
what :data:`test_real_payloads.SAMPLE_OF` maps each real payload id to.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import msgspec
from conftest import API_KEY, API_SECRET, VirtualSim, _virtual
from yarl import URL

from mmoms.sim.config_model import AccountConfig, MarketParams, SimConfig, default_symbols

HEDGE_KEY, HEDGE_SECRET = "hedgekey0123456789", "hedgesecret0123456789"
SYM = "BTCUSDC"
STEP_MS = 100

Samples = dict[str, Any]


def _config() -> SimConfig:
    from dataclasses import replace

    quiet = MarketParams(volatility_ticks=0.0, trade_probability=0.0, level_qty_jitter=0.0)
    symbols = tuple(replace(s, market=quiet) for s in default_symbols())
    accounts = (
        AccountConfig(api_key=API_KEY, api_secret=API_SECRET),
        AccountConfig(api_key=HEDGE_KEY, api_secret=HEDGE_SECRET, dual_side_position=True),
    )
    return SimConfig(symbols=symbols, accounts=accounts, seed=5)


def _json(value: Any) -> Any:
    return msgspec.json.decode(msgspec.json.encode(value))


class Driver:
    """Signed REST calls (as either account), the event taps and the samples collected."""

    def __init__(self, sim: VirtualSim) -> None:
        self.sim = sim
        self.samples: Samples = {}
        self.user: list[tuple[str, dict[str, Any]]] = []
        self.market: list[tuple[str, dict[str, Any]]] = []
        exchange: Any = sim.server.exchange
        publish: Callable[[str, dict[str, Any]], None] = exchange.on_user_event

        def tap_user(key: str, event: dict[str, Any]) -> None:
            self.user.append((key, _json(event)))
            publish(key, event)

        def tap_market(stream: str, data: dict[str, Any]) -> None:
            self.market.append((stream, _json(data)))

        exchange.on_user_event = tap_user
        exchange.on_market_event = tap_market

    async def call(
        self, method: str, path: str, key: str = API_KEY, secret: str = API_SECRET, **params: Any
    ) -> tuple[int, Any]:
        query = urlencode({"timestamp": self.sim.clock.time_ms(), **params})
        query += "&signature=" + hmac.new(secret.encode(), query.encode(), "sha256").hexdigest()
        url = URL(f"{self.sim.server.rest_url}{path}?{query}", encoded=True)
        async with self.sim.http.request(method, url, headers={"X-MBX-APIKEY": key}) as r:
            return r.status, await r.json()

    async def ok(self, name: str | None, method: str, path: str, **params: Any) -> Any:
        status, body = await self.call(method, path, **params)
        assert status == 200, (method, path, body)
        if name is not None:
            self.samples[name] = body
        return body

    async def error(self, code: int, method: str, path: str, **params: Any) -> None:
        status, body = await self.call(method, path, **params)
        assert status >= 400, (method, path, status, body)
        assert body.get("code") == code, (method, path, status, body)
        self.samples[f"error.{code}"] = body

    async def raw(self, name: str, path: str, headers: dict[str, str] | None = None) -> Any:
        async with self.sim.http.get(self.sim.server.rest_url + path, headers=headers) as r:
            self.samples[name] = body = await r.json()
            return body

    def take_user(self, name: str, pick: Callable[[dict[str, Any]], bool]) -> None:
        """The last user event so far that ``pick`` accepts."""
        found = [e for _, e in self.user if pick(e)]
        assert found, f"no user event for {name}"
        self.samples[name] = found[-1]

    async def step(self, ms: int = STEP_MS) -> None:
        await self.sim.advance(ms, STEP_MS)


def _otu(x: str, status: str, **o: Any) -> Callable[[dict[str, Any]], bool]:
    def pick(e: dict[str, Any]) -> bool:
        if e["e"] != "ORDER_TRADE_UPDATE" or (e["o"]["x"], e["o"]["X"]) != (x, status):
            return False
        return all(e["o"].get(k) == v for k, v in o.items())

    return pick


def _algo(status: str, **o: Any) -> Callable[[dict[str, Any]], bool]:
    def pick(e: dict[str, Any]) -> bool:
        return (
            e["e"] == "ALGO_UPDATE"
            and e["o"]["X"] == status
            and all(e["o"].get(k) == v for k, v in o.items())
        )

    return pick


async def _public(d: Driver) -> None:
    await d.raw("time", "/fapi/v1/time")
    await d.raw("exchangeInfo", "/fapi/v1/exchangeInfo")
    await d.raw("depth", f"/fapi/v1/depth?symbol={SYM}&limit=5")
    await d.raw("bookTicker", f"/fapi/v1/ticker/bookTicker?symbol={SYM}")
    await d.raw("tickerPrice.v1", f"/fapi/v1/ticker/price?symbol={SYM}")
    await d.raw("tickerPrice.v2", f"/fapi/v2/ticker/price?symbol={SYM}")
    await d.raw("premiumIndex", f"/fapi/v1/premiumIndex?symbol={SYM}")
    await d.raw("aggTrades", f"/fapi/v1/aggTrades?symbol={SYM}&limit=2")
    await d.raw("klines", f"/fapi/v1/klines?symbol={SYM}&interval=1m&limit=1")
    await d.raw("error.-1121", "/fapi/v1/ticker/24hr?symbol=NOTAREALSYM")
    await d.raw("error.-1130", f"/fapi/v1/aggTrades?symbol={SYM}&limit=1001")
    await d.raw("error.-2014", f"/fapi/v1/historicalTrades?symbol={SYM}")
    await d.raw("error.path", "/fapi/v1/stock/contract")


async def _orders(d: Driver) -> None:
    limit = {"symbol": SYM, "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"}
    placed = await d.ok("order.new.limit", "POST", "/fapi/v1/order",
                        **limit, quantity="0.010", price="92000.00")  # fmt: skip
    d.take_user("otu.NEW.limit", _otu("NEW", "NEW", o="LIMIT", f="GTC"))
    await d.ok("order.openOrder", "GET", "/fapi/v1/openOrder", symbol=SYM,
               orderId=placed["orderId"])  # fmt: skip
    await d.ok("order.openOrders", "GET", "/fapi/v1/openOrders", symbol=SYM)
    await d.ok("order.modify", "PUT", "/fapi/v1/order", symbol=SYM, side="BUY",
               orderId=placed["orderId"], quantity="0.010", price="92001.00")  # fmt: skip
    d.take_user("otu.AMENDMENT", _otu("AMENDMENT", "NEW"))
    await d.ok("order.cancel", "DELETE", "/fapi/v1/order", symbol=SYM, orderId=placed["orderId"])
    d.take_user("otu.CANCELED.limit", _otu("CANCELED", "CANCELED"))

    market = {"symbol": SYM, "type": "MARKET"}
    await d.ok("order.new.market_ack", "POST", "/fapi/v1/order",
               **market, side="BUY", quantity="0.010")  # fmt: skip
    d.take_user("otu.NEW.market", _otu("NEW", "NEW", o="MARKET"))
    d.take_user("otu.FILLED.market", _otu("TRADE", "FILLED", o="MARKET", m=False))
    d.take_user("tl.taker", lambda e: e["e"] == "TRADE_LITE" and not e["m"])
    d.take_user("au.ORDER.open", lambda e: e["e"] == "ACCOUNT_UPDATE")
    # more than the best ask level holds: partial fills across levels
    await d.ok("order.new.market_result", "POST", "/fapi/v1/order", **market, side="BUY",
               quantity="0.700", newOrderRespType="RESULT")  # fmt: skip
    d.take_user("otu.PARTIALLY_FILLED.market", _otu("TRADE", "PARTIALLY_FILLED", o="MARKET"))
    await d.ok(None, "POST", "/fapi/v1/order", **market, side="SELL", quantity="0.710",
               reduceOnly="true")  # fmt: skip
    d.take_user("otu.FILLED.market_close", _otu("TRADE", "FILLED", o="MARKET", R=True))
    d.take_user("au.ORDER.closed", lambda e: e["e"] == "ACCOUNT_UPDATE")

    maker = {"symbol": SYM, "type": "LIMIT", "timeInForce": "GTX"}
    await d.ok(
        None, "POST", "/fapi/v1/order", **maker, side="SELL", quantity="0.010", price="95000.00"
    )  # fmt: skip  (inside the spread: first in the queue)
    d.take_user("otu.NEW.gtx", _otu("NEW", "NEW", f="GTX"))
    await d.sim.admin("POST", "/admin/market", {"symbol": SYM, "side": "BUY", "quantity": "0.010"})
    d.take_user("otu.FILLED.maker", _otu("TRADE", "FILLED", m=True))
    d.take_user("tl.maker", lambda e: e["e"] == "TRADE_LITE" and e["m"])
    await d.ok(None, "POST", "/fapi/v1/order", **{**limit, "timeInForce": "IOC"},
               quantity="0.010", price="94000.00")  # fmt: skip
    d.take_user("otu.EXPIRED.ioc", _otu("EXPIRED", "EXPIRED", f="IOC"))
    await d.ok("userTrades", "GET", "/fapi/v1/userTrades", symbol=SYM, limit=2)
    await d.ok("allOrders", "GET", "/fapi/v1/allOrders", symbol=SYM, limit=2)


async def _batches(d: Driver) -> None:
    item = {"symbol": SYM, "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
            "quantity": "0.010"}  # fmt: skip
    placed = await d.ok("batch.place", "POST", "/fapi/v1/batchOrders", batchOrders=msgspec.json
                        .encode([{**item, "price": "92000.00"}, {**item, "price": "92000.10"}])
                        .decode())  # fmt: skip
    order_id = placed[0]["orderId"]
    await d.ok("batch.modify", "PUT", "/fapi/v1/batchOrders", batchOrders=msgspec.json.encode(
        [{"symbol": SYM, "side": "BUY", "orderId": order_id, "quantity": "0.010",
          "price": "92002.00"}]).decode())  # fmt: skip
    await d.ok("batch.cancel", "DELETE", "/fapi/v1/batchOrders", symbol=SYM,
               orderIdList=f"[{order_id},12345]")  # fmt: skip


async def _account(d: Driver) -> None:
    await d.ok(None, "POST", "/fapi/v1/order", symbol=SYM, side="BUY", type="MARKET",
               quantity="0.010")  # fmt: skip
    await d.ok("positionRisk.v2.open", "GET", "/fapi/v2/positionRisk", symbol=SYM)
    await d.ok("positionRisk.v3", "GET", "/fapi/v3/positionRisk", symbol=SYM)
    await d.ok("positionRisk.v2.flat", "GET", "/fapi/v2/positionRisk", symbol="ETHUSDC")
    await d.ok("account.v2", "GET", "/fapi/v2/account")
    await d.ok("account.v3", "GET", "/fapi/v3/account")
    await d.ok("balance.v2", "GET", "/fapi/v2/balance")
    await d.ok("leverage", "POST", "/fapi/v1/leverage", symbol=SYM, leverage=10)
    d.take_user("acu.leverage", lambda e: e["e"] == "ACCOUNT_CONFIG_UPDATE" and "ac" in e)
    await d.ok("countdown", "POST", "/fapi/v1/countdownCancelAll", symbol=SYM, countdownTime=0)
    await d.ok("commissionRate", "GET", "/fapi/v1/commissionRate", symbol=SYM)
    await d.ok("positionSide.dual", "GET", "/fapi/v1/positionSide/dual")
    await d.ok("cancelAll", "DELETE", "/fapi/v1/allOpenOrders", symbol=SYM)
    await d.ok("symbolConfig", "GET", "/fapi/v1/symbolConfig", symbol=SYM)
    await d.ok("accountConfig", "GET", "/fapi/v1/accountConfig")
    await d.ok("multiAssets", "POST", "/fapi/v1/multiAssetsMargin", multiAssetsMargin="true")
    d.take_user("acu.multiassets", lambda e: e["e"] == "ACCOUNT_CONFIG_UPDATE" and "ai" in e)
    status, body = await d.call("POST", "/fapi/v1/listenKey")
    d.samples["listenKey"] = body
    await d.sim.admin("POST", "/admin/listen-keys/expire", {"listenKey": body["listenKey"]})
    d.take_user("lke", lambda e: e["e"] == "listenKeyExpired")
    hedge = {"key": HEDGE_KEY, "secret": HEDGE_SECRET}
    for side, position in (("BUY", "LONG"), ("SELL", "SHORT")):
        status, body = await d.call(
            "POST", "/fapi/v1/order", **hedge, symbol=SYM, side=side, type="MARKET",
            quantity="0.010", positionSide=position)  # fmt: skip
        assert status == 200, body
    d.take_user("au.ORDER.hedge", lambda e: e["e"] == "ACCOUNT_UPDATE")
    _, d.samples["positionRisk.v2.hedge"] = await d.call(
        "GET", "/fapi/v2/positionRisk", **hedge, symbol=SYM
    )


async def _algo_orders(d: Driver) -> None:
    stop = {"algoType": "CONDITIONAL", "symbol": SYM, "side": "BUY", "type": "STOP_MARKET",
            "quantity": "0.010"}  # fmt: skip
    first = await d.ok("algo.new", "POST", "/fapi/v1/algoOrder", **stop, triggerPrice="99000.0")
    d.take_user("algo.NEW", _algo("NEW"))
    listed = await d.ok(None, "GET", "/fapi/v1/openAlgoOrders", symbol=SYM)
    d.samples["algo.open.item"] = listed[0]
    await d.ok("algo.cancel", "DELETE", "/fapi/v1/algoOrder", algoId=first["algoId"])
    d.take_user("algo.CANCELED", _algo("CANCELED"))
    fired = await d.ok(None, "POST", "/fapi/v1/algoOrder", **stop, triggerPrice="95100.0")
    resting = await d.ok(None, "POST", "/fapi/v1/algoOrder", **{**stop, "type": "STOP"},
                         triggerPrice="95100.0", price="92000.0")  # fmt: skip
    await d.sim.admin("POST", "/admin/market", {"symbol": SYM, "mid": "95500.0"})
    for _ in range(5):
        await d.step()
    # the stops watch the last trade price: print one up there
    await d.sim.admin("POST", "/admin/market", {"symbol": SYM, "side": "BUY", "quantity": "0.001"})
    for _ in range(5):
        await d.step()
    d.take_user("algo.TRIGGERING", _algo("TRIGGERING"))
    d.take_user("algo.TRIGGERED", _algo("TRIGGERED"))
    d.take_user("algo.FINISHED", _algo("FINISHED", aid=fired["algoId"]))
    await d.ok("algo.query", "GET", "/fapi/v1/algoOrder", algoId=fired["algoId"])
    triggered = await d.ok(None, "GET", "/fapi/v1/algoOrder", algoId=resting["algoId"])
    await d.ok(None, "DELETE", "/fapi/v1/order", symbol=SYM,
               orderId=int(triggered["actualOrderId"]))  # fmt: skip
    d.take_user("algo.FINISHED_CANCELED", _algo("FINISHED", aid=resting["algoId"]))


async def _errors(d: Driver) -> None:
    order = {"symbol": SYM, "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"}
    await d.error(-4164, "POST", "/fapi/v1/order", **{**order, "symbol": "ETHUSDC"},
                  quantity="0.001", price="3400.00")  # fmt: skip
    _, body = await d.call("GET", "/fapi/v2/balance", secret="not-the-secret")
    d.samples["error.-1022"] = body
    await d.error(-2011, "DELETE", "/fapi/v1/order", symbol=SYM, orderId=1)
    await d.error(-2013, "GET", "/fapi/v1/order", symbol=SYM, orderId=1)
    await d.error(-1021, "GET", "/fapi/v3/positionRisk", recvWindow=5000,
                  timestamp=d.sim.clock.time_ms() - 60_000)  # fmt: skip
    await d.error(-5022, "POST", "/fapi/v1/order", **{**order, "timeInForce": "GTX"},
                  quantity="0.010", price="99000.00")  # fmt: skip
    await d.error(-4120, "POST", "/fapi/v1/order", symbol=SYM, side="BUY", type="STOP_MARKET",
                  quantity="0.010", stopPrice="99000.0")  # fmt: skip
    await d.error(-4061, "POST", "/fapi/v1/order", **order, quantity="0.010",
                  price="92000.00", positionSide="LONG")  # fmt: skip
    await d.error(-1102, "POST", "/fapi/v1/order", **order, quantity="0.010")
    await d.error(-4059, "POST", "/fapi/v1/positionSide/dual", dualSidePosition="false")
    await d.raw("error.-2015", "/fapi/v2/balance", headers={"X-MBX-APIKEY": "nosuchkey"})
    await d.sim.admin("POST", "/admin/faults", {"kind": "http_error", "match": "GET /fapi/v1/time",
                                                "variant": "unknown", "count": 1})  # fmt: skip
    await d.raw("error.-1000", "/fapi/v1/time")


async def _wsapi(d: Driver) -> None:
    ids = itertools.count(1)
    async with d.sim.http.ws_connect(d.sim.server.ws_url + "/ws-fapi/v1") as ws:

        async def call(name: str, method: str, params: dict[str, Any]) -> Any:
            params = {"apiKey": API_KEY, "timestamp": d.sim.clock.time_ms(), **params}
            payload = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
            signature = hmac.new(API_SECRET.encode(), payload.encode(), hashlib.sha256)
            request = {"id": str(next(ids)), "method": method,
                       "params": {**params, "signature": signature.hexdigest()}}  # fmt: skip
            await ws.send_json(request)
            d.samples[name] = reply = await ws.receive_json(timeout=10)
            assert reply["status"] == 200, reply
            return reply["result"]

        placed = await call("wsapi.order.place", "order.place", {
            "symbol": SYM, "side": "SELL", "type": "LIMIT", "timeInForce": "GTC",
            "quantity": "0.010", "price": "99000.00"})  # fmt: skip
        await call("wsapi.order.modify", "order.modify", {
            "symbol": SYM, "side": "SELL", "orderId": placed["orderId"], "quantity": "0.010",
            "price": "99001.00"})  # fmt: skip
        await call("wsapi.algoOrder.place", "algoOrder.place", {
            "algoType": "CONDITIONAL", "symbol": SYM, "side": "SELL", "type": "TAKE_PROFIT",
            "quantity": "0.010", "price": "99000.00", "triggerPrice": "99000.00"})  # fmt: skip


def _market(d: Driver) -> None:
    for name, feed, event in (
        ("md.bookTicker", f"{SYM.lower()}@bookTicker", "bookTicker"),
        ("md.depthUpdate", f"{SYM.lower()}@depth@100ms", "depthUpdate"),
        ("md.aggTrade", f"{SYM.lower()}@aggTrade", "aggTrade"),
        ("md.markPriceUpdate", f"{SYM.lower()}@markPrice@1s", "markPriceUpdate"),
    ):
        found = [data for stream, data in d.market if stream == feed and data["e"] == event]
        assert found, f"no {feed} payload"
        d.samples[name] = found[-1]
        d.samples[f"{name}.combined"] = {"stream": feed, "data": found[-1]}


async def collect() -> Samples:
    samples: Samples = {}
    async for sim in _virtual(_config()):  # run to the end: the server closes after the loop
        d = Driver(sim)
        await d.step()
        await _orders(d)
        await _public(d)
        await _batches(d)
        await _algo_orders(d)
        await _account(d)
        await _errors(d)
        await _wsapi(d)
        await d.step(1000)
        _market(d)
        samples = d.samples
    return samples
