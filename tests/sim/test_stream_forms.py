"""Every form of stream connection real clients use, each served; every stream name and speed
they request, each delivering its payload; and what the simulator does not serve, refused the
way Binance refuses it (an error reply to SUBSCRIBE, HTTP 400 in the URL), never left silent."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

if TYPE_CHECKING:
    from conftest import FakeSim, VirtualSim

pytestmark = pytest.mark.asyncio


async def _next_json(ws: aiohttp.ClientWebSocketResponse) -> Any:
    msg = await ws.receive(timeout=10)
    assert msg.type is aiohttp.WSMsgType.TEXT, msg
    return msg.json()


# -- user data: path, query, combined streams, SUBSCRIBE; every category and root ----------------

URL_FORMS = [
    ("/private/ws/{key}", False),  # the official Connect page
    ("/ws/{key}", False),  # legacy root form
    ("/private/ws?listenKey={key}", False),  # ccxt, NautilusTrader
    ("/private/ws/?listenKey={key}", False),  # python-binance
    ("/ws?listenKey={key}", False),
    ("/private/ws?listenKey={key}&events=ORDER_TRADE_UPDATE", False),
    ("/private/stream?listenKey={key}", True),
    ("/private/stream?listenKey={key}&events=ORDER_TRADE_UPDATE/ACCOUNT_UPDATE", True),
    ("/private/stream?streams={key}", True),  # a listenKey inside a combined stream
    ("/stream?streams=btcusdt@bookTicker/{key}", True),  # beside a market stream
    ("/market/stream?streams={key}", True),
    ("/public/ws/{key}", False),
]


@pytest.mark.parametrize(("template", "wrapped"), URL_FORMS)
async def test_user_data_url_forms_deliver_events(
    fake_sim: FakeSim, template: str, wrapped: bool
) -> None:
    key = await fake_sim.listen_key()
    url = fake_sim.server.ws_url + template.format(key=key)
    async with fake_sim.http.ws_connect(url) as ws:
        order = await fake_sim.place_order()
        message = await _next_json(ws)
    event = message["data"] if wrapped else message
    if wrapped:
        assert message["stream"] == key
    assert (event["e"], event["o"]["i"]) == ("ORDER_TRADE_UPDATE", order["orderId"])


@pytest.mark.parametrize("path", ["/private/stream", "/stream", "/private/ws", "/ws", "/market/ws"])
async def test_subscribe_a_listen_key(fake_sim: FakeSim, path: str) -> None:
    key = await fake_sim.listen_key()
    async with fake_sim.http.ws_connect(fake_sim.server.ws_url + path) as ws:
        await ws.send_json({"method": "SUBSCRIBE", "params": [key], "id": "a-uuid"})
        assert await _next_json(ws) == {"result": None, "id": "a-uuid"}
        order = await fake_sim.place_order()
        message = await _next_json(ws)
    event = message["data"] if path.endswith("stream") else message
    assert event["o"]["i"] == order["orderId"]


# -- market streams: every name and speed clients ask for, in every form ------------------------

STREAMS = [
    ("btcusdc@depth", "depthUpdate"),
    ("btcusdc@depth@0ms", "depthUpdate"),
    ("btcusdc@depth@100ms", "depthUpdate"),  # ccxt.pro's default
    ("btcusdc@depth@250ms", "depthUpdate"),
    ("btcusdc@depth@500ms", "depthUpdate"),
    ("btcusdc@depth5", "depthUpdate"),
    ("btcusdc@depth10@500ms", "depthUpdate"),
    ("btcusdc@depth20@100ms", "depthUpdate"),
    ("btcusdc@bookTicker", "bookTicker"),
    ("BTCUSDC@bookTicker", "bookTicker"),
    ("!bookTicker", "bookTicker"),
    ("btcusdc@aggTrade", "aggTrade"),
    ("btcusdc@trade", "trade"),
    ("btcusdc@markPrice", "markPriceUpdate"),
    ("btcusdc@markPrice@1s", "markPriceUpdate"),
    ("!markPrice@arr", "markPriceUpdate"),
    ("!markPrice@arr@1s", "markPriceUpdate"),
    ("btcusdc@kline_1m", "kline"),
    ("btcusdc@kline_1h", "kline"),
]


async def _first_payload(sim: VirtualSim, ws: aiohttp.ClientWebSocketResponse) -> Any:
    """Move the market (a trade at the touch, a few steps) until the connection gets a frame."""
    for _ in range(30):
        await sim.admin("POST", "/admin/market", {"symbol": "BTCUSDC", "side": "BUY",
                                                  "quantity": "0.001"})  # fmt: skip
        await sim.advance(500, 100)
        try:
            msg = await ws.receive(timeout=0.2)
        except TimeoutError:
            continue
        assert msg.type is aiohttp.WSMsgType.TEXT, msg
        return msg.json()
    raise AssertionError("no payload")


@pytest.mark.parametrize(("stream", "event"), STREAMS)
async def test_market_stream_names_deliver(
    virtual_sim: VirtualSim, stream: str, event: str
) -> None:
    url = f"{virtual_sim.server.ws_url}/market/ws/{stream}"
    async with virtual_sim.http.ws_connect(url) as ws:
        payload = await _first_payload(virtual_sim, ws)
    first = payload[0] if isinstance(payload, list) else payload
    assert first["e"] == event


@pytest.mark.parametrize(
    "form",
    [
        "/public/ws/btcusdc@bookTicker",
        "/ws/btcusdc@bookTicker",
        "/ws/btcusdc@bookTicker/btcusdc@depth@100ms",
        "/stream?streams=btcusdc@bookTicker/btcusdc@depth@100ms",
        "/public/stream?streams=btcusdc@bookTicker",
        "/market/stream?streams=btcusdc@bookTicker",
        "SUBSCRIBE /ws",
        "SUBSCRIBE /public/stream",
        "SUBSCRIBE /market/ws",
    ],
)
async def test_market_connection_forms(virtual_sim: VirtualSim, form: str) -> None:
    subscribe = form.startswith("SUBSCRIBE ")
    path = form.removeprefix("SUBSCRIBE ")
    async with virtual_sim.http.ws_connect(virtual_sim.server.ws_url + path) as ws:
        if subscribe:
            await ws.send_json({"method": "SUBSCRIBE", "params": ["btcusdc@bookTicker"], "id": 1})
            assert await _next_json(ws) == {"result": None, "id": 1}
        payload = await _first_payload(virtual_sim, ws)
    if "/stream" in path:
        assert payload["stream"] in ("btcusdc@bookTicker", "btcusdc@depth@100ms")
        payload = payload["data"]
    assert payload["e"] in ("bookTicker", "depthUpdate")


# -- refusals --------------------------------------------------------------------------------------

NOT_SERVED = [
    "btcusdc@ticker",  # streams this simulator does not build
    "btcusdc@miniTicker",
    "btcusdc@forceOrder",
    "btcusdc@depth@300ms",  # malformed
    "btcusdc@kline_7m",
]
INVALID = {"code": 2, "msg": "Invalid request: invalid stream"}


@pytest.mark.parametrize("stream", NOT_SERVED)
async def test_subscribe_to_a_stream_not_served_is_an_error(
    virtual_sim: VirtualSim, stream: str
) -> None:
    async with virtual_sim.http.ws_connect(f"{virtual_sim.server.ws_url}/market/stream") as ws:
        request = {"method": "SUBSCRIBE", "params": ["btcusdc@bookTicker", stream], "id": 7}
        await ws.send_json(request)
        assert await _next_json(ws) == {"error": INVALID, "id": 7}
        await ws.send_json({"method": "LIST_SUBSCRIPTIONS", "id": 8})
        assert await _next_json(ws) == {"result": [], "id": 8}  # nothing of it was taken


async def test_a_symbol_it_does_not_list_is_taken_and_stays_silent(
    virtual_sim: VirtualSim,
) -> None:
    """As on Binance: one mistyped symbol in a subscription list must not cost the others."""
    url = f"{virtual_sim.server.ws_url}/stream?streams=btcusdc@bookTicker/nosuchsym@aggTrade"
    async with virtual_sim.http.ws_connect(url) as ws:
        await ws.send_json({"method": "LIST_SUBSCRIPTIONS", "id": 8})
        assert await _next_json(ws) == {
            "result": ["btcusdc@bookTicker", "nosuchsym@aggTrade"],
            "id": 8,
        }
        payload = await _first_payload(virtual_sim, ws)
        assert payload["stream"] == "btcusdc@bookTicker"


@pytest.mark.parametrize("path", ["/market/ws/{s}", "/stream?streams=btcusdc@bookTicker/{s}"])
@pytest.mark.parametrize("stream", NOT_SERVED[:3])
async def test_a_stream_not_served_in_the_url_is_not_upgraded(
    virtual_sim: VirtualSim, path: str, stream: str
) -> None:
    url = virtual_sim.server.ws_url + path.format(s=stream)
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await virtual_sim.http.ws_connect(url)
    assert info.value.status == 400
    async with virtual_sim.http.get(url.replace("ws://", "http://"), headers={
            "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}) as reply:  # fmt: skip
        assert (reply.status, await reply.json()) == (400, INVALID)


@pytest.mark.parametrize("path", ["/fapi/ws/btcusdc@aggTrade", "/private/foo", "/ws-fapi/v2"])
async def test_unknown_paths_are_not_upgraded(virtual_sim: VirtualSim, path: str) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await virtual_sim.http.ws_connect(virtual_sim.server.ws_url + path)
    assert info.value.status == 404


async def test_an_unknown_listen_key_is_refused_then_closed(fake_sim: FakeSim) -> None:
    url = f"{fake_sim.server.ws_url}/private/stream?streams=nosuchkey0123456789"
    async with fake_sim.http.ws_connect(url) as ws:
        assert await _next_json(ws) == {
            "error": {"code": -1125, "msg": "This listenKey does not exist."}
        }
        closing = await ws.receive(timeout=10)
    assert closing.type is aiohttp.WSMsgType.CLOSE
    assert ws.close_code == 1008
