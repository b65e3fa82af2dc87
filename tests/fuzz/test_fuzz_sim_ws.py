"""Fuzz the simulator's WebSocket request parsing: WS API frames (``/ws-fapi/v1``: envelope,
signatures, every mirrored method's parameters) and stream control frames
(``SUBSCRIBE`` / ``UNSUBSCRIBE`` / ``LIST_SUBSCRIPTIONS`` on ``/ws``).

Properties, per frame:

* exactly one reply comes back and the connection stays usable (a WS API error never closes it);
* a WS API reply is ``{"id", "status", "result" | "error": {"code" < 0, "msg"}}`` with a status
  other than 500 (an unhandled exception), and nothing is logged as a crash;
* a refused WS API request leaves the exchange as it was; a stream reply is a ``result`` or an
  ``error`` object.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Iterator
from typing import Any

import aiohttp
import msgspec
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzz.logs import captured
from tests.fuzz.mutate import fuzz_settings, hostile_json, random_json_value
from tests.fuzz.simharness import API_KEY, API_SECRET, Sim, running_sim
from tests.venues import payloads as p

METHODS = [
    "order.place", "order.modify", "order.cancel", "order.status", "algoOrder.place",
    "algoOrder.cancel", "v2/account.status", "v2/account.balance", "v2/account.position",
    "userDataStream.start", "userDataStream.ping", "userDataStream.stop", "session.logon",
    "session.status", "session.logout", "depth", "ticker.book", "no.such.method",
]  # fmt: skip
NAMES = [
    "symbol", "side", "type", "timeInForce", "quantity", "price", "newClientOrderId", "orderId",
    "origClientOrderId", "positionSide", "reduceOnly", "triggerPrice", "algoType", "algoId",
    "clientAlgoId", "limit", "listenKey", "recvWindow", "returnRateLimits", "goodTillDate",
]  # fmt: skip
VALUES = random_json_value | st.sampled_from(
    ["BTCUSDC", "BUY", "SELL", "LIMIT", "GTC", "0.010", "94000.00", "1", "-1", "true", "²", "NaN"]
)
WS_SEEDS = [
    p.WS_API_REQUEST,
    b'{"id": 1, "method": "order.status", "params": {"symbol": "BTCUSDC", "orderId": 1}}',
    b'{"id": "x", "method": "session.status"}',
]
STREAM_SEEDS = [
    b'{"method": "SUBSCRIBE", "params": ["btcusdc@bookTicker"], "id": 1}',
    b'{"method": "UNSUBSCRIBE", "params": ["btcusdc@depth5@100ms"], "id": "a"}',
    b'{"method": "LIST_SUBSCRIPTIONS", "id": 3}',
]
SIM_LOGGERS = ("mmoms.sim", "aiohttp")


def _sign(params: dict[str, Any]) -> str:
    def text(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if v is None:
            return ""
        if isinstance(v, list | dict):
            return msgspec.json.encode(v).decode()
        return str(v)

    payload = "&".join(f"{k}={text(v)}" for k, v in sorted(params.items()))
    return hmac.new(API_SECRET.encode(), payload.encode(), hashlib.sha256).hexdigest()


class Conn:
    def __init__(self, sim: Sim, path: str) -> None:
        self.sim = sim
        self.url = sim.server.ws_url + path
        self.ws: aiohttp.ClientWebSocketResponse | None = None

    async def exchange(self, text: str) -> aiohttp.WSMessage:
        if self.ws is None or self.ws.closed:
            self.ws = await self.sim.http.ws_connect(self.url)
        await self.ws.send_str(text)
        return await self.ws.receive(timeout=30)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()


@pytest.fixture(scope="module")
def sim() -> Iterator[Sim]:
    yield from running_sim()


@pytest.fixture(scope="module")
def wsapi(sim: Sim) -> Iterator[Conn]:
    conn = Conn(sim, "/ws-fapi/v1")
    yield conn
    sim.run(conn.close())


@pytest.fixture(scope="module")
def stream(sim: Sim) -> Iterator[Conn]:
    conn = Conn(sim, "/ws")
    yield conn
    sim.run(conn.close())


def wsapi_frame(sim: Sim, conn: Conn, text: str) -> dict[str, Any]:
    before = sim.state_digest()
    with captured(*SIM_LOGGERS) as records:
        message = sim.run(conn.exchange(text))
    assert message.type is aiohttp.WSMsgType.TEXT, f"no reply but {message.type}"
    assert not [r for r in records if r.levelno >= logging.ERROR], "the simulator logged a crash"
    reply = msgspec.json.decode(message.data)
    assert reply["status"] != 500, reply
    assert API_SECRET not in message.data
    if reply["status"] != 200:
        assert reply["error"]["code"] < 0
        assert isinstance(reply["error"]["msg"], str)
        assert reply["error"]["msg"]
        assert sim.state_digest() == before
    return reply


@fuzz_settings(250)
@given(frame=hostile_json(WS_SEEDS))
@example(frame=b"[" * 100_000 + b"]" * 100_000)
@example(
    frame=b'{"id": 1, "method": "order.status", "params": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
)
@example(
    frame=b'{"id": 1, "method": "order.status", "params": {"apiKey": "%s", "symbol": "BTCUSDC",'
    b' "orderId": %s, "timestamp": 1, "signature": "ab"}}' % (API_KEY.encode(), b"9" * 5000)
)
def test_wsapi_garbage_frames(sim: Sim, wsapi: Conn, frame: bytes) -> None:
    wsapi_frame(sim, wsapi, frame.decode("utf-8", "replace"))


@fuzz_settings(250)
@given(
    method=st.sampled_from(METHODS),
    params=st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=7),
    request_id=random_json_value,
)
def test_wsapi_signed_garbage_params(
    sim: Sim, wsapi: Conn, method: str, params: dict[str, Any], request_id: Any
) -> None:
    """Correctly signed, any parameter values and ids: a result or an error, never a crash."""
    signed = {**params, "apiKey": API_KEY, "timestamp": sim.clock.time_ms()}
    signed["signature"] = _sign(signed)
    text = msgspec.json.encode({"id": request_id, "method": method, "params": signed}).decode()
    wsapi_frame(sim, wsapi, text)


def stream_frame(sim: Sim, conn: Conn, text: str) -> None:
    with captured(*SIM_LOGGERS) as records:
        message = sim.run(conn.exchange(text))
    assert message.type is aiohttp.WSMsgType.TEXT, f"no reply but {message.type}"
    assert not [r for r in records if r.levelno >= logging.ERROR], "the simulator logged a crash"
    reply = msgspec.json.decode(message.data)
    assert "result" in reply or isinstance(reply["error"]["msg"], str)


@fuzz_settings(200)
@given(frame=hostile_json(STREAM_SEEDS))
@example(frame=b'{"method": "SUBSCRIBE", "params": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
def test_stream_control_frames(sim: Sim, stream: Conn, frame: bytes) -> None:
    stream_frame(sim, stream, frame.decode("utf-8", "replace"))
