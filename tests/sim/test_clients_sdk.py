"""The official ``binance-sdk-derivatives-trading-usds-futures`` against the simulator.

REST goes through ``ConfigurationRestAPI(base_path=...)``; user data through its WebSocket
streams (``/market/stream``, ``/public/stream``, ``/private/stream`` + ``SUBSCRIBE [listenKey]``)
with ``ConfigurationWebSocketStreams(stream_url=...)``. The SDK's REST client is synchronous, so
its calls run in a worker thread; the simulator runs in a thread of its own.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

if TYPE_CHECKING:
    from conftest import RealSim

pytestmark = [pytest.mark.clients, pytest.mark.asyncio]

SYMBOL = "BTCUSDC"
QTY = 0.01
T = TypeVar("T")


async def _call(fn: Callable[..., Any], **kwargs: Any) -> Any:
    """Run one synchronous SDK REST call off the event loop and return its parsed data."""
    response = await asyncio.to_thread(fn, **kwargs)
    return response.data()


def _as_dict(model: Any) -> Any:
    """SDK responses are pydantic models (some wrap a union in ``actual_instance``)."""
    inner = getattr(model, "actual_instance", None)
    if inner is not None:
        model = inner
    if isinstance(model, list):
        return [_as_dict(m) for m in model]
    return model.model_dump(by_alias=True) if hasattr(model, "model_dump") else model


def _event(message: Any) -> tuple[str, dict[str, Any]]:
    """(SDK model class name, fields): the SDK's event models drop the ``e`` discriminator."""
    model = getattr(message, "actual_instance", None) or message
    return type(model).__name__, _as_dict(model)


async def test_official_sdk_lifecycle_and_user_stream(real_sim: RealSim) -> None:
    from binance_common.configuration import (
        ConfigurationRestAPI,
        ConfigurationWebSocketStreams,
    )
    from binance_sdk_derivatives_trading_usds_futures import DerivativesTradingUsdsFutures
    from binance_sdk_derivatives_trading_usds_futures.rest_api.models import (
        ModifyOrderSideEnum,
        NewOrderSideEnum,
        NewOrderTimeInForceEnum,
        NewOrderTypeEnum,
    )

    client = DerivativesTradingUsdsFutures(
        config_rest_api=ConfigurationRestAPI(
            api_key=real_sim.api_key, api_secret=real_sim.api_secret, base_path=real_sim.rest_url
        ),
        config_ws_streams=ConfigurationWebSocketStreams(stream_url=real_sim.ws_url),
    )
    rest = client.rest_api

    info = _as_dict(await _call(rest.exchange_information))
    spec = next(s for s in info["symbols"] if s["symbol"] == SYMBOL)
    tick = Decimal(
        next(f for f in spec["filters"] if f["filterType"] == "PRICE_FILTER")["tickSize"]
    )
    balances = _as_dict(await _call(rest.futures_account_balance_v3))
    usdc = next(b for b in balances if b["asset"] == "USDC")
    assert Decimal(usdc["balance"]) == Decimal("100000")
    mark = Decimal(_as_dict(await _call(rest.mark_price, symbol=SYMBOL))["markPrice"])

    def far(fraction: str) -> float:
        return float((mark * Decimal(fraction) / tick).to_integral_value(ROUND_DOWN) * tick)

    listen_key = _as_dict(await _call(rest.start_user_data_stream))["listenKey"]
    events: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
    streams = client.websocket_streams
    connection = await streams.create_connection()
    try:
        stream = await connection.user_data(listen_key)
        stream.on("message", lambda message: events.put_nowait(_event(message)))
        await _subscription_processed(connection)

        order = _as_dict(
            await _call(
                rest.new_order,
                symbol=SYMBOL,
                side=NewOrderSideEnum.BUY,
                type=NewOrderTypeEnum.LIMIT,
                time_in_force=NewOrderTimeInForceEnum.GTC,
                quantity=QTY,
                price=far("0.97"),
            )
        )
        assert order["status"] == "NEW"
        kind, event = await asyncio.wait_for(events.get(), timeout=30)
        assert kind == "OrderTradeUpdate"
        assert event["o"]["i"] == order["orderId"]

        modified = _as_dict(
            await _call(
                rest.modify_order,
                symbol=SYMBOL,
                side=ModifyOrderSideEnum.BUY,
                quantity=QTY,
                price=far("0.96"),
                order_id=order["orderId"],
            )
        )
        assert Decimal(modified["price"]) == Decimal(str(far("0.96")))
        open_orders = _as_dict(await _call(rest.current_all_open_orders, symbol=SYMBOL))
        assert [o["orderId"] for o in open_orders] == [order["orderId"]]
        canceled = _as_dict(
            await _call(rest.cancel_order, symbol=SYMBOL, order_id=order["orderId"])
        )
        assert canceled["status"] == "CANCELED"

        market = _as_dict(
            await _call(
                rest.new_order,
                symbol=SYMBOL,
                side=NewOrderSideEnum.BUY,
                type=NewOrderTypeEnum.MARKET,
                quantity=QTY,
            )
        )
        statuses: set[str] = set()
        while "FILLED" not in statuses:
            kind, event = await asyncio.wait_for(events.get(), timeout=30)
            if kind == "OrderTradeUpdate" and event["o"]["i"] == market["orderId"]:
                statuses.add(event["o"]["X"])
    finally:
        await streams.close_connection(close_session=True)

    positions = _as_dict(await _call(rest.position_information_v3, symbol=SYMBOL))
    assert Decimal(positions[0]["positionAmt"]) == Decimal(str(QTY))
    trades = _as_dict(await _call(rest.account_trade_list, symbol=SYMBOL))
    assert sum(Decimal(t["qty"]) for t in trades) == Decimal(str(QTY))


async def _subscription_processed(streams_connection: Any) -> None:
    """Round-trip a LIST_SUBSCRIPTIONS on the private connection: the server handles messages
    of one connection in order, so the SUBSCRIBE sent before it is in effect afterwards."""
    private = next(c for c in streams_connection.connections if c.url_path == "private")
    request = {"method": "LIST_SUBSCRIPTIONS", "id": str(uuid.uuid4())}
    reply = await asyncio.wait_for(
        await streams_connection.send_message(request, private), timeout=30
    )
    assert reply  # the listenKey is listed
