"""User-data WebSocket: every path variant, SUBSCRIBE wrapping, filters, expiry, deletion."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

from mmoms.sim.userstream import canonical_stream, classify_ws_path

if TYPE_CHECKING:
    from conftest import FakeSim, RealSim, VirtualSim

HOUR = 3_600_000


async def _next_json(ws: aiohttp.ClientWebSocketResponse) -> Any:
    msg = await ws.receive(timeout=10)
    assert msg.type is aiohttp.WSMsgType.TEXT, msg
    return msg.json()


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "template",
    [
        "/private/ws?listenKey={key}",
        "/private/ws/?listenKey={key}",
        "/private/ws/{key}",
        "/ws/{key}",
        "/ws?listenKey={key}",
        "/private/ws?listenKey={key}&events=ORDER_TRADE_UPDATE/ACCOUNT_UPDATE",
    ],
)
async def test_raw_mode_paths_receive_order_updates(fake_sim: FakeSim, template: str) -> None:
    key = await fake_sim.listen_key()
    async with fake_sim.http.ws_connect(fake_sim.server.ws_url + template.format(key=key)) as ws:
        order = await fake_sim.place_order()
        event = await _next_json(ws)
        assert event["e"] == "ORDER_TRADE_UPDATE"
        assert event["o"]["i"] == order["orderId"]


@pytest.mark.asyncio
async def test_stream_mode_query_key_wraps_events(fake_sim: FakeSim) -> None:
    key = await fake_sim.listen_key()
    url = f"{fake_sim.server.ws_url}/private/stream?listenKey={key}"
    async with fake_sim.http.ws_connect(url) as ws:
        order = await fake_sim.place_order()
        message = await _next_json(ws)
        assert message["stream"] == key
        assert message["data"]["o"]["i"] == order["orderId"]


@pytest.mark.asyncio
@pytest.mark.parametrize(("path", "request_id"), [("/private/stream", "a-uuid"), ("/stream", 7)])
async def test_subscribe_mode(fake_sim: FakeSim, path: str, request_id: Any) -> None:
    key = await fake_sim.listen_key()
    async with fake_sim.http.ws_connect(fake_sim.server.ws_url + path) as ws:
        await ws.send_json({"method": "SUBSCRIBE", "params": [key], "id": request_id})
        assert await _next_json(ws) == {"result": None, "id": request_id}
        await ws.send_json({"method": "LIST_SUBSCRIPTIONS", "id": 2})
        assert await _next_json(ws) == {"result": [key], "id": 2}
        order = await fake_sim.place_order()
        message = await _next_json(ws)
        assert message == {"stream": key, "data": message["data"]}
        assert message["data"]["o"]["i"] == order["orderId"]


@pytest.mark.asyncio
async def test_bad_subscribe_requests_get_errors(fake_sim: FakeSim) -> None:
    async with fake_sim.http.ws_connect(fake_sim.server.ws_url + "/private/stream") as ws:
        await ws.send_str("not json")
        assert (await _next_json(ws))["error"]["code"] == 3
        await ws.send_json({"method": "FROB", "params": [], "id": 1})
        assert await _next_json(ws) == {"error": {"code": 2, "msg": "Invalid request"}, "id": 1}
        await ws.send_json({"method": "SUBSCRIBE", "params": [1], "id": 2})
        assert (await _next_json(ws))["error"]["code"] == 1
        await ws.send_json({"method": "SUBSCRIBE", "params": ["nosuchkey"], "id": 3})
        reply = await _next_json(ws)
        assert reply["error"]["code"] == -1125
        assert reply["id"] == 3
        closing = await ws.receive(timeout=10)
        assert closing.type is aiohttp.WSMsgType.CLOSE
        assert ws.close_code == 1008


@pytest.mark.asyncio
async def test_events_filter(fake_sim: FakeSim) -> None:
    key = await fake_sim.listen_key()
    url = f"{fake_sim.server.ws_url}/private/ws?listenKey={key}&events=ACCOUNT_UPDATE"
    async with fake_sim.http.ws_connect(url) as ws:
        await fake_sim.place_order()  # its ORDER_TRADE_UPDATE is filtered out
        fake_sim.exchange.on_user_event(fake_sim.api_key, {"e": "ACCOUNT_UPDATE", "E": 1})  # type: ignore[misc]
        assert (await _next_json(ws))["e"] == "ACCOUNT_UPDATE"


@pytest.mark.asyncio
async def test_unknown_listen_key_is_closed_with_an_error(fake_sim: FakeSim) -> None:
    async with fake_sim.http.ws_connect(fake_sim.server.ws_url + "/private/ws/nosuchkey") as ws:
        assert await _next_json(ws) == {
            "error": {"code": -1125, "msg": "This listenKey does not exist."}
        }
        closing = await ws.receive(timeout=10)
        assert closing.type is aiohttp.WSMsgType.CLOSE
        assert ws.close_code == 1008


@pytest.mark.asyncio
async def test_listen_key_expiry_delivers_event_then_closes(fake_sim: FakeSim) -> None:
    key = await fake_sim.listen_key()
    raw = await fake_sim.http.ws_connect(f"{fake_sim.server.ws_url}/private/ws/{key}")
    stream = await fake_sim.http.ws_connect(f"{fake_sim.server.ws_url}/stream?listenKey={key}")
    async with raw, stream:
        fake_sim.clock.advance(HOUR)  # the server's ticker notices on its next tick
        event = await _next_json(raw)
        assert event == {"e": "listenKeyExpired", "E": fake_sim.clock.time_ms(), "listenKey": key}
        wrapped = await _next_json(stream)
        assert wrapped == {"stream": key, "data": event}
        for ws in (raw, stream):
            assert (await ws.receive(timeout=10)).type is aiohttp.WSMsgType.CLOSE
    assert fake_sim.server.hub.connection_count == 0


@pytest.mark.asyncio
async def test_deleting_the_listen_key_closes_its_streams(fake_sim: FakeSim) -> None:
    key = await fake_sim.listen_key()
    async with fake_sim.http.ws_connect(f"{fake_sim.server.ws_url}/ws/{key}") as ws:
        url = f"{fake_sim.url}/fapi/v1/listenKey"
        async with fake_sim.http.delete(url, headers=fake_sim.headers()) as response:
            assert response.status == 200
        assert (await ws.receive(timeout=10)).type is aiohttp.WSMsgType.CLOSE


@pytest.mark.asyncio
async def test_plain_get_on_a_stream_path_is_404(fake_sim: FakeSim) -> None:
    async with fake_sim.http.get(f"{fake_sim.url}/private/ws?listenKey=x") as response:
        assert response.status == 404
        assert response.headers["Content-Type"] == "application/json"


def test_classify_ws_path() -> None:
    assert classify_ws_path("/private/ws") == (False, None)
    assert classify_ws_path("/private/ws/") == (False, None)
    assert classify_ws_path("/private/ws/abc") == (False, "abc")
    assert classify_ws_path("/market/ws/btcusdt@aggTrade") == (False, "btcusdt@aggTrade")
    assert classify_ws_path("/stream") == (True, None)
    assert classify_ws_path("/public/stream") == (True, None)
    assert classify_ws_path("/fapi/v1/order") is None


# -- market streams ------------------------------------------------------------------------------


def test_canonical_stream_names() -> None:
    assert canonical_stream("BTCUSDT@depth") == "btcusdt@depth@100ms"
    assert canonical_stream("btcusdt@depth@500ms") == "btcusdt@depth@100ms"
    assert canonical_stream("btcusdt@markPrice") == "btcusdt@markPrice@1s"
    assert canonical_stream("btcusdt@bookTicker") == "btcusdt@bookTicker"
    assert canonical_stream("btcusdt@depth5@100ms") == "btcusdt@depth5@100ms"  # not the diff feed


@pytest.mark.asyncio
async def test_market_streams_raw_and_combined(fake_sim: FakeSim) -> None:
    hub, ws_url = fake_sim.server.hub, fake_sim.server.ws_url
    assert fake_sim.exchange.on_market_event is None  # nobody listens: no market payloads
    raw = await fake_sim.http.ws_connect(f"{ws_url}/public/ws/btcusdt@depth")
    combined = await fake_sim.http.ws_connect(
        f"{ws_url}/market/stream?streams=btcusdt@markPrice/btcusdt@depth@500ms"
    )
    async with raw, combined:
        assert fake_sim.exchange.on_market_event == hub.publish_market
        depth = {"e": "depthUpdate", "u": 7}
        hub.publish_market("btcusdt@depth@100ms", depth)
        hub.publish_market("ethusdt@depth@100ms", {"e": "depthUpdate", "u": 1})  # not subscribed
        hub.publish_market("btcusdt@markPrice@1s", {"e": "markPriceUpdate"})
        assert await _next_json(raw) == depth
        assert await _next_json(combined) == {"stream": "btcusdt@depth@500ms", "data": depth}
        assert await _next_json(combined) == {
            "stream": "btcusdt@markPrice",
            "data": {"e": "markPriceUpdate"},
        }
        await combined.send_json(
            {"method": "UNSUBSCRIBE", "params": ["btcusdt@markPrice"], "id": 1}
        )
        assert await _next_json(combined) == {"result": None, "id": 1}
        await combined.send_json({"method": "LIST_SUBSCRIPTIONS", "id": 2})
        assert await _next_json(combined) == {"result": ["btcusdt@depth@500ms"], "id": 2}
    await _until_closed(fake_sim)
    assert fake_sim.exchange.on_market_event is None  # the last subscriber left


async def _until_closed(sim: FakeSim) -> None:
    """The server notices client closes asynchronously; a GET round trip per check lets it run."""
    for _ in range(1000):
        if sim.server.hub.connection_count == 0:
            return
        async with sim.http.get(f"{sim.url}/fapi/v1/time") as response:
            await response.read()
    raise AssertionError("connections were not released")


@pytest.mark.asyncio
async def test_real_exchange_book_ticker_stream(real_sim: RealSim) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{real_sim.ws_url}/public/ws/btcusdc@bookTicker") as ws,
    ):
        ticker = await _next_json(ws)  # the synthetic market moves on every step
        assert ticker["e"] == "bookTicker"
        assert ticker["s"] == "BTCUSDC"


# -- the real exchange on a virtual clock -------------------------------------------------------


@pytest.mark.asyncio
async def test_real_exchange_order_events_then_listen_key_expiry(virtual_sim: VirtualSim) -> None:
    sim = virtual_sim
    url = f"{sim.server.rest_url}/fapi/v1/listenKey"
    async with sim.http.post(url, headers={"X-MBX-APIKEY": sim.api_key}) as response:
        key = (await response.json())["listenKey"]
    async with sim.http.ws_connect(f"{sim.server.ws_url}/private/ws/{key}") as ws:
        status, order = await sim.signed(
            "POST",
            "/fapi/v1/order",
            symbol="BTCUSDC",
            side="BUY",
            type="LIMIT",
            timeInForce="GTC",
            quantity="0.010",
            price="92000.00",
        )
        assert status == 200, order
        event = await _next_json(ws)
        assert event["e"] == "ORDER_TRADE_UPDATE"
        assert (event["o"]["i"], event["o"]["x"], event["o"]["X"]) == (
            order["orderId"],
            "NEW",
            "NEW",
        )

        sim.clock.advance(HOUR)  # no keepalive: the key expires on the server's next tick
        expired = await _next_json(ws)
        while expired.get("e") != "listenKeyExpired":  # e.g. margin updates as the mark moves
            expired = await _next_json(ws)
        assert expired == {"e": "listenKeyExpired", "E": sim.clock.time_ms(), "listenKey": key}
        assert (await ws.receive(timeout=10)).type is aiohttp.WSMsgType.CLOSE
    async with sim.http.put(url, headers={"X-MBX-APIKEY": sim.api_key}) as response:
        assert (response.status, (await response.json())["code"]) == (400, -1125)


@pytest.mark.asyncio
async def test_one_stream_two_accounts_keeps_events_apart(fake_sim: FakeSim) -> None:
    exchange = fake_sim.exchange
    exchange.accounts["otherkey"] = type(exchange.accounts[fake_sim.api_key])("otherkey")
    mine = await fake_sim.listen_key()
    url = f"{fake_sim.url}/fapi/v1/listenKey"
    async with fake_sim.http.post(url, headers=fake_sim.headers("otherkey")) as response:
        other = (await response.json())["listenKey"]
    stream_url = f"{fake_sim.server.ws_url}/stream?listenKey={mine}&listenKey={other}"
    async with fake_sim.http.ws_connect(stream_url) as ws:
        exchange.on_user_event("otherkey", {"e": "ACCOUNT_UPDATE", "E": 1})  # type: ignore[misc]
        assert await _next_json(ws) == {"stream": other, "data": {"e": "ACCOUNT_UPDATE", "E": 1}}
        await fake_sim.place_order()
        message = await _next_json(ws)
        assert message["stream"] == mine
        assert message["data"]["e"] == "ORDER_TRADE_UPDATE"
