"""Third-party WebSocket API clients against ``/ws-fapi/v1``, pointed at the simulator by URL only:
ccxt.pro ``binanceusdm`` (``*_ws`` methods) and the official SDK's ``websocket_api``."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING, Any

import pytest
from test_clients_ccxt import SYMBOL, _far_prices, _point_at

if TYPE_CHECKING:
    from conftest import RealSim

pytestmark = [pytest.mark.clients, pytest.mark.asyncio]

AMOUNT = 0.01


async def test_ccxt_pro_order_entry_over_the_websocket_api(real_sim: RealSim) -> None:
    import ccxt.pro as ccxtpro

    exchange = ccxtpro.binanceusdm({"apiKey": real_sim.api_key, "secret": real_sim.api_secret})
    _point_at(exchange, real_sim)
    exchange.urls["api"]["ws"]["ws-api"]["linear"] = real_sim.ws_url + "/ws-fapi/v1"
    try:
        await exchange.load_markets()
        price, new_price = await _far_prices(exchange)
        order = await exchange.create_order_ws(SYMBOL, "limit", "buy", AMOUNT, price)
        assert order["status"] == "open"
        assert order["price"] == pytest.approx(price)

        edited = await exchange.edit_order_ws(
            order["id"], SYMBOL, "limit", "buy", AMOUNT, new_price
        )
        assert (edited["id"], edited["price"]) == (order["id"], pytest.approx(new_price))
        fetched = await exchange.fetch_order_ws(order["id"], SYMBOL)
        assert fetched["status"] == "open"
        canceled = await exchange.cancel_order_ws(order["id"], SYMBOL)
        assert canceled["status"] == "canceled"

        balance = await exchange.fetch_balance_ws()
        assert balance["USDC"]["total"] == pytest.approx(100000)
        await exchange.create_order_ws(SYMBOL, "market", "buy", AMOUNT)
        positions = await exchange.fetch_positions_ws([SYMBOL])
        position = next(p for p in positions if p["symbol"] == SYMBOL)
        assert position["contracts"] == pytest.approx(AMOUNT)

        # A conditional order goes to algoOrder.place and is cancelled with algoOrder.cancel.
        stop = price  # well under the market: a SELL stop there waits
        algo = await exchange.create_order_ws(
            SYMBOL, "market", "sell", AMOUNT, None, {"stopPrice": stop, "reduceOnly": True}
        )
        assert algo["id"]
        assert algo["status"] == "open"
        algo_canceled = await exchange.cancel_order_ws(algo["id"], SYMBOL, {"trigger": True})
        assert algo_canceled["id"] == algo["id"]
    finally:
        await exchange.close()


def _snap(value: Decimal, tick: Decimal) -> float:
    return float((value / tick).to_integral_value(ROUND_DOWN) * tick)


def _data(response: Any) -> Any:
    """The reply envelope as a dict (oneOf models wrap it in ``actual_instance``)."""
    data = response.data()
    data = getattr(data, "actual_instance", None) or data
    return data.model_dump(by_alias=True) if hasattr(data, "model_dump") else data


# The SDK passes a float ws_connect timeout, which aiohttp 3.14 deprecates; not ours to fix.
@pytest.mark.filterwarnings("ignore:parameter 'timeout' of type 'float' is deprecated")
async def test_official_sdk_websocket_api(real_sim: RealSim) -> None:
    from binance_common.configuration import ConfigurationWebSocketAPI
    from binance_sdk_derivatives_trading_usds_futures import DerivativesTradingUsdsFutures
    from binance_sdk_derivatives_trading_usds_futures.websocket_api.models import (
        NewAlgoOrderAlgoTypeEnum,
        NewAlgoOrderSideEnum,
        NewAlgoOrderTypeEnum,
        NewOrderSideEnum,
        NewOrderTimeInForceEnum,
        NewOrderTypeEnum,
    )

    client = DerivativesTradingUsdsFutures(
        config_ws_api=ConfigurationWebSocketAPI(
            api_key=real_sim.api_key,
            api_secret=real_sim.api_secret,
            stream_url=real_sim.ws_url + "/ws-fapi/v1",
        )
    )
    connection = await client.websocket_api.create_connection()
    try:
        book = _data(await connection.symbol_order_book_ticker(symbol="BTCUSDC"))
        bid = Decimal(book["result"]["bidPrice"])
        tick = Decimal("0.1")

        placed = _data(
            await connection.new_order(
                symbol="BTCUSDC",
                side=NewOrderSideEnum.BUY,
                type=NewOrderTypeEnum.LIMIT,
                time_in_force=NewOrderTimeInForceEnum.GTC,
                quantity=AMOUNT,
                price=_snap(bid * Decimal("0.97"), tick),
            )
        )
        order = placed["result"]
        assert (placed["status"], order["status"]) == (200, "NEW")
        limits = {(r["rateLimitType"], r["interval"]) for r in placed["rateLimits"]}
        assert ("ORDERS", "SECOND") in limits

        status = _data(await connection.query_order(symbol="BTCUSDC", order_id=order["orderId"]))
        assert status["result"]["status"] == "NEW"
        canceled = _data(await connection.cancel_order(symbol="BTCUSDC", order_id=order["orderId"]))
        assert canceled["result"]["status"] == "CANCELED"

        account = _data(await connection.account_information())
        assert "totalWalletBalance" in account["result"]
        positions = _data(await connection.position_information(symbol="BTCUSDC"))
        assert positions["result"][0]["symbol"] == "BTCUSDC"

        stream = _data(await connection.start_user_data_stream())
        assert len(stream["result"]["listenKey"]) == 64
        assert _data(await connection.keepalive_user_data_stream())["status"] == 200
        assert _data(await connection.close_user_data_stream())["status"] == 200

        algo = _data(
            await connection.new_algo_order(
                algo_type=NewAlgoOrderAlgoTypeEnum.CONDITIONAL,
                symbol="BTCUSDC",
                side=NewAlgoOrderSideEnum.BUY,
                type=NewAlgoOrderTypeEnum.STOP_MARKET,
                quantity=AMOUNT,
                trigger_price=_snap(bid * Decimal("1.03"), tick),
            )
        )
        assert algo["result"]["algoStatus"] == "NEW"
        gone = _data(await connection.cancel_algo_order(algo_id=algo["result"]["algoId"]))
        assert (gone["result"]["code"], gone["result"]["msg"]) == ("200", "success")
    finally:
        await client.websocket_api.close_connection()
