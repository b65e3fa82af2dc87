"""The aiohttp transports on loopback: library exceptions become our kinds, once."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiohttp import web

from mmoms.venues.errors import GatewayClosedError, NotSent, OutcomeUnknown
from mmoms.venues.transport import (
    AiohttpHttpTransport,
    AiohttpWsConnector,
    WsClosedError,
    WsHandshakeError,
)


class Server:
    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.ws_closed = asyncio.Event()
        self.url = ""

    async def hang(self, _request: web.Request) -> web.Response:
        await self.release.wait()  # never set: the client times out
        return web.Response(text="late")

    async def hangup(self, request: web.Request) -> web.Response:
        assert request.transport is not None
        request.transport.close()  # drop the connection without an answer
        await self.release.wait()
        return web.Response()

    async def ok(self, request: web.Request) -> web.Response:
        return web.json_response({"raw": request.raw_path}, headers={"X-MBX-USED-WEIGHT-1M": "3"})

    async def ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str("hello")
        msg = await ws.receive()
        await ws.send_str(f"echo {msg.data}")
        await ws.close()
        self.ws_closed.set()
        return ws


@pytest_asyncio.fixture
async def server() -> AsyncIterator[Server]:
    srv = Server()
    app = web.Application()
    app.router.add_get("/hang", srv.hang)
    app.router.add_get("/hangup", srv.hangup)
    app.router.add_get("/ok", srv.ok)
    app.router.add_get("/ws", srv.ws)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    srv.url = f"127.0.0.1:{port}"
    try:
        yield srv
    finally:
        srv.release.set()
        await runner.cleanup()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.asyncio
async def test_reply_with_headers_and_the_query_untouched(server: Server) -> None:
    http = AiohttpHttpTransport()
    try:
        reply = await http.request(
            "GET", f"http://{server.url}/ok?id=a%3Ab&sig=x%2By", {}, timeout_s=5, endpoint="e"
        )
    finally:
        await http.close()
    assert reply.status == 200
    assert reply.headers["x-mbx-used-weight-1m"] == "3"  # case-insensitive
    assert b"id=a%3Ab&sig=x%2By" in reply.body  # pre-encoded: not re-encoded


@pytest.mark.asyncio
async def test_refused_connection_is_not_sent() -> None:
    http = AiohttpHttpTransport()
    try:
        with pytest.raises(NotSent) as info:
            await http.request(
                "POST", f"http://127.0.0.1:{free_port()}/x", {}, timeout_s=5, endpoint="POST /x"
            )
    finally:
        await http.close()
    assert info.value.endpoint == "POST /x"
    assert not info.value.may_have_executed


@pytest.mark.asyncio
@pytest.mark.parametrize("path", ["/hang", "/hangup"])
async def test_no_reply_is_outcome_unknown(server: Server, path: str) -> None:
    http = AiohttpHttpTransport()
    try:
        with pytest.raises(OutcomeUnknown) as info:
            await http.request(
                "GET", f"http://{server.url}{path}", {}, timeout_s=0.05, endpoint="e"
            )
    finally:
        await http.close()
    assert info.value.may_have_executed
    assert info.value.__cause__ is None  # converted once, library exception not chained


@pytest.mark.asyncio
async def test_closed_transport_refuses_locally() -> None:
    http = AiohttpHttpTransport()
    await http.close()
    with pytest.raises(GatewayClosedError):
        await http.request("GET", "http://127.0.0.1:1/", {}, timeout_s=1, endpoint="e")


@pytest.mark.asyncio
async def test_websocket_round_trip_and_close(server: Server) -> None:
    connector = AiohttpWsConnector(heartbeat_s=None)
    try:
        ws = await connector.connect(f"ws://{server.url}/ws", timeout_s=5)
        assert await ws.recv() == "hello"
        await ws.send("ping")
        assert await ws.recv() == "echo ping"
        with pytest.raises(WsClosedError):
            await ws.recv()
        await server.ws_closed.wait()
    finally:
        await connector.close()


@pytest.mark.asyncio
async def test_websocket_refusals(server: Server) -> None:
    connector = AiohttpWsConnector()
    try:
        with pytest.raises(WsHandshakeError) as info:
            await connector.connect(f"ws://{server.url}/nothing-here", timeout_s=5)
        assert info.value.status == 404
        with pytest.raises(NotSent):
            await connector.connect(f"ws://127.0.0.1:{free_port()}/ws", timeout_s=5)
    finally:
        await connector.close()
