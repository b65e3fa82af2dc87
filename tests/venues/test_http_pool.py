"""The fast HTTP pool (:mod:`mmoms.venues.http_pool`) against a tiny scripted server on loopback:
keep-alive and its bound, and what each fault says about the request (not sent / unknown /
unreadable). The simulator and TLS cases are in ``test_http_pool_sim.py``."""

from __future__ import annotations

import asyncio
import gzip
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from ssl import SSLContext

import pytest
import uvloop

from mmoms.venues.errors import (
    GatewayClosedError,
    NotSent,
    OutcomeUnknown,
    ProtocolError,
)
from mmoms.venues.http_pool import FastHttpTransport

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-MBX-USED-WEIGHT-1M: 7\r\n\r\n{}"


class Peer:
    """One accepted connection, as the handler sees it."""

    def __init__(
        self, server: TinyServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ):
        self.server = server
        self.reader = reader
        self.writer = writer
        self.number = server.connections

    async def read_request(self) -> bytes:
        head = await self.reader.readuntil(b"\r\n\r\n")
        self.server.requests.append((self.number, head))
        return head

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()

    def reset(self) -> None:
        """Close with a RST: linger 0, then abort."""
        sock = self.writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()


Handler = Callable[[Peer], Awaitable[None]]


class TinyServer:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.requests: list[tuple[int, bytes]] = []  # (connection number, request head)
        self.handlers: set[asyncio.Task[None]] = set()
        self.url = ""

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self.handlers.add(task)  # held here: a handler parked forever is not garbage
        try:
            await self.handler(Peer(self, reader, writer))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client went away
        except asyncio.CancelledError:
            pass  # torn down at the end of the test: 3.11's start_server logs a cancelled handler
        finally:
            writer.close()


@asynccontextmanager
async def tiny(handler: Handler, ssl: SSLContext | None = None) -> AsyncIterator[TinyServer]:
    srv = TinyServer(handler)
    server = await asyncio.start_server(srv.serve, "127.0.0.1", 0, ssl=ssl)
    port = server.sockets[0].getsockname()[1]
    srv.url = f"{'https' if ssl else 'http'}://127.0.0.1:{port}"
    try:
        yield srv
    finally:
        server.close()
        for task in srv.handlers:
            task.cancel()
        await asyncio.gather(*srv.handlers)


async def keep_alive(peer: Peer) -> None:
    while True:
        await peer.read_request()
        await peer.send(OK)


async def get(http: FastHttpTransport, url: str, timeout_s: float = 5.0) -> bytes:
    return (await http.request("GET", url, {}, timeout_s=timeout_s, endpoint="GET /x")).body


@pytest.mark.asyncio
async def test_one_connection_carries_sequential_requests() -> None:
    async with tiny(keep_alive) as srv:
        http = FastHttpTransport()
        try:
            for _ in range(10):
                reply = await http.request(
                    "POST", f"{srv.url}/o?a=%3A", {"X-K": "v"}, timeout_s=5, endpoint="e"
                )
                assert (reply.status, reply.body) == (200, b"{}")
        finally:
            await http.close()
    assert reply.headers["x-mbx-used-weight-1m"] == "7"  # lowercase names
    assert (srv.connections, http.stats.opened, http.stats.reused) == (1, 1, 9)
    head = srv.requests[0][1]
    assert head.startswith(b"POST /o?a=%3A HTTP/1.1\r\n")  # the target exactly as given
    assert b"\r\nX-K: v\r\n" in head
    assert b"\r\nContent-Length: 0\r\n" in head


@pytest.mark.asyncio
async def test_concurrency_is_bounded_by_the_pool() -> None:
    release = asyncio.Event()
    all_held = asyncio.Event()
    held = 0

    async def hold(peer: Peer) -> None:
        nonlocal held
        while True:
            await peer.read_request()
            held += 1
            if held == 3:
                all_held.set()
            await release.wait()
            await peer.send(OK)

    async with tiny(hold) as srv:
        http = FastHttpTransport(pool_size=3)
        try:
            calls = [asyncio.create_task(get(http, f"{srv.url}/x")) for _ in range(5)]
            await all_held.wait()
            assert (srv.connections, len(srv.requests)) == (3, 3)  # two wait for a slot
            release.set()
            assert await asyncio.gather(*calls) == [b"{}"] * 5
        finally:
            await http.close()
    assert (srv.connections, http.stats.opened, http.stats.reused) == (3, 3, 2)


@pytest.mark.asyncio
async def test_no_free_slot_in_time_is_not_sent() -> None:
    holding = asyncio.Event()

    async def hang(peer: Peer) -> None:
        await peer.read_request()
        holding.set()
        await asyncio.Event().wait()

    async with tiny(hang) as srv:
        http = FastHttpTransport(pool_size=1, connect_timeout_s=0.05)
        try:
            first = asyncio.create_task(get(http, f"{srv.url}/x", timeout_s=30))
            await holding.wait()  # the first one holds the only slot
            with pytest.raises(NotSent):
                await get(http, f"{srv.url}/x")
            first.cancel()
        finally:
            await http.close()
    assert len(srv.requests) == 1


async def idle_closed_then_retried() -> tuple[TinyServer, FastHttpTransport]:
    closed = asyncio.Event()

    async def close_when_idle(peer: Peer) -> None:
        await peer.read_request()
        if peer.number == 1:  # keep-alive promised, then closed while idle
            await peer.send(OK)
            await peer.close()
            closed.set()
            return
        await keep_alive_after(peer)

    async def keep_alive_after(peer: Peer) -> None:
        await peer.send(OK)
        await keep_alive(peer)

    async with tiny(close_when_idle) as srv:
        http = FastHttpTransport()
        try:
            assert await get(http, f"{srv.url}/x") == b"{}"
            await closed.wait()
            assert await get(http, f"{srv.url}/x") == b"{}"
        finally:
            await http.close()
    return srv, http


@pytest.mark.asyncio
async def test_connection_closed_while_idle_is_replaced_not_unknown() -> None:
    srv, http = await idle_closed_then_retried()
    assert [n for n, _ in srv.requests] == [1, 2]  # nothing went out on the dead connection
    assert (http.stats.opened, http.stats.stale, http.stats.reused) == (2, 1, 0)


def test_connection_closed_while_idle_under_uvloop() -> None:
    srv, http = uvloop.run(idle_closed_then_retried())
    assert [n for n, _ in srv.requests] == [1, 2]
    assert (http.stats.opened, http.stats.stale) == (2, 1)


@pytest.mark.asyncio
@pytest.mark.parametrize("how", ["reset", "eof", "half_reply"])
async def test_dying_after_the_request_was_read_is_unknown(how: str) -> None:
    async def die(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(OK)  # the first request, on the same connection, is answered
        await peer.read_request()
        if how == "reset":
            peer.reset()
        elif how == "eof":
            await peer.close()
        else:
            await peer.send(OK[:-1])
            await peer.close()

    async with tiny(die) as srv:
        http = FastHttpTransport()
        try:
            await get(http, f"{srv.url}/x")
            with pytest.raises(OutcomeUnknown) as info:
                await get(http, f"{srv.url}/x")
        finally:
            await http.close()
    assert info.value.may_have_executed
    assert info.value.endpoint == "GET /x"
    assert len(srv.requests) == 2  # never re-sent on another connection
    assert http.stats.stale == 0


@pytest.mark.asyncio
async def test_no_answer_times_out_as_unknown_and_the_connection_is_dropped() -> None:
    async def silent_once(peer: Peer) -> None:
        await peer.read_request()
        if peer.number == 1:
            await asyncio.Event().wait()
        await peer.send(OK)

    async with tiny(silent_once) as srv:
        http = FastHttpTransport()
        try:
            with pytest.raises(OutcomeUnknown):
                await get(http, f"{srv.url}/x", timeout_s=0.05)
            assert await get(http, f"{srv.url}/x") == b"{}"  # a late reply can't be misread
        finally:
            await http.close()
    assert http.stats.opened == 2


@pytest.mark.asyncio
async def test_garbage_reply_is_a_protocol_error() -> None:
    async def garbage(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(b"SSH-2.0-OpenSSH\r\n\r\n")

    async with tiny(garbage) as srv:
        http = FastHttpTransport()
        try:
            with pytest.raises(ProtocolError) as info:
                await get(http, f"{srv.url}/x")
        finally:
            await http.close()
    assert info.value.may_have_executed


@pytest.mark.asyncio
async def test_chunked_large_eof_delimited_and_gzip_bodies() -> None:
    large = bytes(range(256)) * 20_000  # 5 MB
    chunks = [b"[1,", b"2,", b"3]"]

    async def bodies(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for chunk in chunks:  # written one by one: parsed across reads
            await peer.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        await peer.send(b"0\r\n\r\n")
        await peer.read_request()
        await peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(large) + large)
        await peer.read_request()
        packed = gzip.compress(b'{"z":1}')
        head = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n"
        await peer.send(head % len(packed) + packed)
        await peer.read_request()
        await peer.send(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil-eof")
        await peer.close()

    async with tiny(bodies) as srv:
        http = FastHttpTransport()
        try:
            assert await get(http, f"{srv.url}/x") == b"[1,2,3]"
            assert await get(http, f"{srv.url}/x") == large
            assert await get(http, f"{srv.url}/x") == b'{"z":1}'
            assert await get(http, f"{srv.url}/x") == b"until-eof"
        finally:
            await http.close()
    assert (srv.connections, http.stats.reused) == (1, 3)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("url", "headers"),
    [
        (f"http://127.0.0.1:{free_port()}/x", {}),  # refused
        ("ftp://127.0.0.1/x", {}),
        ("http://127.0.0.1:1/x y", {}),  # not encoded
        ("http://127.0.0.1:1/x", {"X-K": "v\r\nX-Evil: 1"}),
    ],
)
async def test_failures_before_writing_are_not_sent(url: str, headers: dict[str, str]) -> None:
    http = FastHttpTransport()
    try:
        with pytest.raises(NotSent) as info:
            await http.request("POST", url, headers, timeout_s=5, endpoint="POST /x")
    finally:
        await http.close()
    assert not info.value.may_have_executed
    assert info.value.endpoint == "POST /x"


@pytest.mark.asyncio
async def test_closed_transport_refuses_locally() -> None:
    http = FastHttpTransport()
    await http.close()
    with pytest.raises(GatewayClosedError):
        await get(http, "http://127.0.0.1:1/")
