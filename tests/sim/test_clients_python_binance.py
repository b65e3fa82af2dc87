"""python-binance ``AsyncClient`` futures methods and its futures user socket.

The only change from talking to Binance is the base URLs (``API_URL`` for the spot ping,
``FUTURES_URL`` for REST, the socket manager's ``FSTREAM_URL``).
"""

from __future__ import annotations

import asyncio
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conftest import RealSim

pytestmark = [
    pytest.mark.clients,
    pytest.mark.asyncio,
    # python-binance 1.0.37 uses websockets' legacy client API; not ours to fix.
    pytest.mark.filterwarnings("ignore:websockets.*is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:websockets.legacy is deprecated:DeprecationWarning"),
]

SYMBOL = "BTCUSDC"
QTY = "0.010"


def _client(sim: RealSim) -> Any:
    from binance import AsyncClient

    client = AsyncClient(sim.api_key, sim.api_secret)
    client.API_URL = sim.rest_url + "/api"
    client.FUTURES_URL = sim.rest_url + "/fapi"
    client.FUTURES_DATA_URL = sim.rest_url + "/futures/data"
    return client


async def _far_prices(client: Any) -> tuple[str, str]:
    info = await client.futures_exchange_info()
    spec = next(s for s in info["symbols"] if s["symbol"] == SYMBOL)
    tick = Decimal(
        next(f for f in spec["filters"] if f["filterType"] == "PRICE_FILTER")["tickSize"]
    )
    mark = Decimal((await client.futures_mark_price(symbol=SYMBOL))["markPrice"])

    def snap(value: Decimal) -> str:
        return str((value / tick).to_integral_value(ROUND_DOWN) * tick)

    return snap(mark * Decimal("0.97")), snap(mark * Decimal("0.96"))


async def test_python_binance_lifecycle_and_user_socket(real_sim: RealSim) -> None:
    from binance import BinanceSocketManager

    client = _client(real_sim)
    try:
        assert await client.ping() == {}  # the spot ping its create() would send
        balances = await client.futures_account_balance()
        usdc = next(b for b in balances if b["asset"] == "USDC")
        assert Decimal(usdc["balance"]) == Decimal("100000")

        manager = BinanceSocketManager(client)
        manager.FSTREAM_URL = real_sim.ws_url + "/"
        user_socket = manager.futures_user_socket()
        # Its reader notices "exit" only between receives, which wait up to TIMEOUT (10 s).
        user_socket.TIMEOUT = 0.2
        async with user_socket as socket:
            price, new_price = await _far_prices(client)
            order = await client.futures_create_order(
                symbol=SYMBOL,
                side="BUY",
                type="LIMIT",
                timeInForce="GTC",
                quantity=QTY,
                price=price,
            )
            assert order["status"] == "NEW"
            assert order["clientOrderId"].startswith("x-")  # python-binance's own prefix
            event = await asyncio.wait_for(socket.recv(), timeout=30)
            assert event["e"] == "ORDER_TRADE_UPDATE"
            assert event["o"]["i"] == order["orderId"]
            assert event["o"]["X"] == "NEW"

            modified = await client.futures_modify_order(
                symbol=SYMBOL, orderId=order["orderId"], side="BUY", quantity=QTY, price=new_price
            )
            assert Decimal(modified["price"]) == Decimal(new_price)
            open_orders = await client.futures_get_open_orders(symbol=SYMBOL)
            assert [o["orderId"] for o in open_orders] == [order["orderId"]]
            canceled = await client.futures_cancel_order(symbol=SYMBOL, orderId=order["orderId"])
            assert canceled["status"] == "CANCELED"
            assert await client.futures_get_open_orders(symbol=SYMBOL) == []

            market = await client.futures_create_order(
                symbol=SYMBOL, side="SELL", type="MARKET", quantity=QTY
            )
            fetched = await client.futures_get_order(symbol=SYMBOL, orderId=market["orderId"])
            assert fetched["status"] == "FILLED"
            seen = set()
            while "FILLED" not in seen:  # events for our orders, in order, until the fill
                event = await asyncio.wait_for(socket.recv(), timeout=30)
                if event.get("e") == "ORDER_TRADE_UPDATE":
                    seen.add(event["o"]["X"])
            assert "CANCELED" in seen

        positions = await client.futures_position_information(symbol=SYMBOL)
        assert Decimal(positions[0]["positionAmt"]) == -Decimal(QTY)
        trades = await client.futures_account_trades(symbol=SYMBOL)
        assert sum(Decimal(t["qty"]) for t in trades) == Decimal(QTY)
    finally:
        await client.close_connection()


async def test_python_binance_routes_stop_orders_to_the_algo_service(real_sim: RealSim) -> None:
    client = _client(real_sim)
    try:
        low, _ = await _far_prices(client)
        stop = await client.futures_create_order(
            symbol=SYMBOL, side="BUY", type="STOP_MARKET", quantity=QTY, stopPrice=_above(low)
        )
        assert stop["algoStatus"] == "NEW"
        assert stop["clientAlgoId"].startswith("x-")
        assert Decimal(stop["triggerPrice"]) == Decimal(_above(low))
        listed = await client.futures_get_open_orders(symbol=SYMBOL, conditional=True)
        assert [o["algoId"] for o in listed] == [stop["algoId"]]
        fetched = await client.futures_get_order(symbol=SYMBOL, algoId=stop["algoId"])
        assert fetched["algoStatus"] == "NEW"
        canceled = await client.futures_cancel_order(symbol=SYMBOL, algoId=stop["algoId"])
        assert (canceled["algoId"], canceled["code"]) == (stop["algoId"], "200")
        history = await client.futures_get_all_orders(symbol=SYMBOL, conditional=True)
        assert [o["algoStatus"] for o in history] == ["CANCELED"]
    finally:
        await client.close_connection()


def _above(low: str) -> str:
    """A BUY stop trigger well above the market: the far-below price mirrored (0.97 -> 1.03)."""
    value = Decimal(low) / Decimal("0.97") * Decimal("1.03")
    return str(value.quantize(Decimal("0.1"), rounding=ROUND_DOWN))
