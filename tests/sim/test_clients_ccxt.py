"""ccxt ``binanceusdm`` (REST) and ``ccxt.pro.binanceusdm`` (user data) against the simulator.

The only change from talking to Binance is the base URLs.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conftest import RealSim

pytestmark = [pytest.mark.clients, pytest.mark.asyncio]

SYMBOL = "BTC/USDC:USDC"
AMOUNT = 0.01


def _point_at(exchange: Any, sim: RealSim) -> None:
    """The base-URL change: every fapi / sapi entry and the futures WebSocket."""
    api = exchange.urls["api"]
    for name, suffix in (
        ("fapiPublic", "/fapi/v1"),
        ("fapiPublicV2", "/fapi/v2"),
        ("fapiPublicV3", "/fapi/v3"),
        ("fapiPrivate", "/fapi/v1"),
        ("fapiPrivateV2", "/fapi/v2"),
        ("fapiPrivateV3", "/fapi/v3"),
        ("fapiData", "/futures/data"),
        ("sapi", "/sapi/v1"),
    ):
        api[name] = sim.rest_url + suffix
    if "ws" in api:
        api["ws"]["linear"] = sim.ws_url + "/ws"


async def _far_prices(exchange: Any) -> tuple[float, float]:
    """Two BUY prices well under the mark (resting, inside PERCENT_PRICE)."""
    premium = await exchange.fapiPublicGetPremiumIndex({"symbol": "BTCUSDC"})
    mark = Decimal(premium["markPrice"])
    first = float(exchange.price_to_precision(SYMBOL, mark * Decimal("0.97")))
    second = float(exchange.price_to_precision(SYMBOL, mark * Decimal("0.96")))
    return first, second


async def test_ccxt_rest_lifecycle(real_sim: RealSim) -> None:
    import ccxt.async_support as ccxt

    exchange = ccxt.binanceusdm({"apiKey": real_sim.api_key, "secret": real_sim.api_secret})
    _point_at(exchange, real_sim)
    try:
        markets = await exchange.load_markets()
        assert SYMBOL in markets

        price, new_price = await _far_prices(exchange)
        order = await exchange.create_order(SYMBOL, "limit", "buy", AMOUNT, price)
        assert order["status"] == "open"
        edited = await exchange.edit_order(order["id"], SYMBOL, "limit", "buy", AMOUNT, new_price)
        assert edited["id"] == order["id"]
        assert edited["price"] == pytest.approx(new_price)
        open_orders = await exchange.fetch_open_orders(SYMBOL)
        assert [o["id"] for o in open_orders] == [order["id"]]
        canceled = await exchange.cancel_order(order["id"], SYMBOL)
        assert canceled["status"] == "canceled"
        assert await exchange.fetch_open_orders(SYMBOL) == []

        market_order = await exchange.create_order(SYMBOL, "market", "buy", AMOUNT)
        fetched = await exchange.fetch_order(market_order["id"], SYMBOL)
        assert fetched["status"] == "closed"
        assert fetched["filled"] == pytest.approx(AMOUNT)
        positions = await exchange.fetch_positions([SYMBOL])
        position = next(p for p in positions if p["symbol"] == SYMBOL)
        assert position["contracts"] == pytest.approx(AMOUNT)
        assert position["side"] == "long"
        trades = await exchange.fetch_my_trades(SYMBOL)
        assert sum(t["amount"] for t in trades) == pytest.approx(AMOUNT)
    finally:
        await exchange.close()


async def test_ccxt_fetch_balance(real_sim: RealSim) -> None:
    import ccxt.async_support as ccxt

    exchange = ccxt.binanceusdm({"apiKey": real_sim.api_key, "secret": real_sim.api_secret})
    _point_at(exchange, real_sim)
    try:
        await exchange.load_markets()
        balance = await exchange.fetch_balance()
        assert balance["USDC"]["total"] == pytest.approx(100000)
        assert balance["USDC"]["free"] == pytest.approx(100000)
    finally:
        await exchange.close()


async def test_ccxt_pro_watch_orders(real_sim: RealSim) -> None:
    import ccxt.pro as ccxtpro

    exchange = ccxtpro.binanceusdm({"apiKey": real_sim.api_key, "secret": real_sim.api_secret})
    _point_at(exchange, real_sim)
    try:
        await exchange.load_markets()
        # Authenticate first so we know the user-data URL and can wait for its connection
        # before placing the order (no race, no sleep).
        await exchange.authenticate({"type": "linear", "subType": "linear", "symbol": SYMBOL})
        url = exchange.get_private_ws_url("linear", exchange.options["linear"]["listenKey"])
        assert url.startswith(real_sim.ws_url + "/private/ws?listenKey=")
        client = exchange.client(url)
        watcher = asyncio.create_task(exchange.watch_orders(SYMBOL))
        await asyncio.wait_for(client.connected, timeout=30)

        price, _ = await _far_prices(exchange)
        order = await exchange.create_order(SYMBOL, "limit", "buy", AMOUNT, price)
        updates = await asyncio.wait_for(watcher, timeout=30)
        assert updates[-1]["id"] == order["id"]
        assert updates[-1]["status"] == "open"

        watcher = asyncio.create_task(exchange.watch_orders(SYMBOL))
        await exchange.cancel_order(order["id"], SYMBOL)
        updates = await asyncio.wait_for(watcher, timeout=30)
        assert updates[-1]["id"] == order["id"]
        assert updates[-1]["status"] == "canceled"
    finally:
        await exchange.close()


async def test_ccxt_conditional_orders_go_to_the_algo_service(real_sim: RealSim) -> None:
    import ccxt.async_support as ccxt

    exchange = ccxt.binanceusdm({"apiKey": real_sim.api_key, "secret": real_sim.api_secret})
    _point_at(exchange, real_sim)
    try:
        await exchange.load_markets()
        low, lower = await _far_prices(exchange)
        # ccxt 4.5.90 routes any order with stopPrice/triggerPrice to POST /fapi/v1/algoOrder.
        stop = await exchange.create_order(
            SYMBOL, "market", "sell", AMOUNT, None, {"stopPrice": low, "reduceOnly": True}
        )
        assert stop["status"] == "open"
        assert stop["triggerPrice"] == pytest.approx(low)
        take_profit = await exchange.create_order(  # a BUY take-profit waits for a fall
            SYMBOL, "limit", "buy", AMOUNT, lower, {"takeProfitPrice": low}
        )
        assert take_profit["status"] == "open"
        trigger = {"trigger": True}
        listed = await exchange.fetch_open_orders(SYMBOL, params=trigger)
        assert {o["id"] for o in listed} == {stop["id"], take_profit["id"]}
        assert await exchange.fetch_open_orders(SYMBOL) == []  # regular orders: none
        fetched = await exchange.fetch_order(stop["id"], SYMBOL, trigger)
        assert fetched["status"] == "open"
        canceled = await exchange.cancel_order(stop["id"], SYMBOL, trigger)
        assert canceled["id"] == stop["id"]
        await exchange.cancel_all_orders(SYMBOL, trigger)
        assert await exchange.fetch_open_orders(SYMBOL, params=trigger) == []
    finally:
        await exchange.close()
