"""Fakes of the byte transports, for tests of the venue layer and of its users (the OMS).

In the manner of httpx's ``MockTransport``: a fake is handed a function that plays the venue.

* :class:`FakeHttpTransport` calls ``handler(FakeRequest)`` for every request and returns its
  :class:`HttpReply` (or raises what it raises: ``OutcomeUnknown`` to play a timeout,
  ``NotSent`` to play a refused connection). Every request is kept in ``requests``.
* :class:`FakeWsConnector` hands the test the server's end (:class:`FakeWsPeer`) of every
  connection the code under test opens; ``refuse`` queues failures for the next connects.

No sockets, no sleeps: everything moves through asyncio queues.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import msgspec

from mmoms.venues.errors import GatewayClosedError
from mmoms.venues.transport import HttpReply, WsClosedError, WsConnection

__all__ = [
    "FakeHttpTransport",
    "FakeRequest",
    "FakeWsConnector",
    "FakeWsPeer",
    "json_reply",
]


@dataclass(frozen=True, slots=True)
class FakeRequest:
    method: str
    url: str
    headers: Mapping[str, str]

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def query(self) -> str:
        """The raw query string, exactly as signed."""
        return urlsplit(self.url).query

    @property
    def params(self) -> dict[str, str]:
        """The decoded parameters (last one wins)."""
        return dict(parse_qsl(self.query, keep_blank_values=True))


def json_reply(status: int, body: Any, headers: Mapping[str, str] | None = None) -> HttpReply:
    """A reply with a JSON body (``body`` may be any msgspec-encodable value, or raw bytes)."""
    data = body if isinstance(body, bytes) else msgspec.json.encode(body)
    return HttpReply(status, {k.lower(): v for k, v in (headers or {}).items()}, data)


Handler = Callable[[FakeRequest], HttpReply | Awaitable[HttpReply]]


class FakeHttpTransport:
    """An :class:`~mmoms.venues.transport.HttpTransport` asking ``handler`` instead of a server."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[FakeRequest] = []
        self.closed = False

    async def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        *,
        timeout_s: float,
        endpoint: str,
    ) -> HttpReply:
        if self.closed:
            raise GatewayClosedError("fake transport closed")
        request = FakeRequest(method, url, dict(headers))
        self.requests.append(request)
        reply = self.handler(request)
        if inspect.isawaitable(reply):
            reply = await reply
        return reply

    def find(self, method: str, path: str) -> list[FakeRequest]:
        return [r for r in self.requests if r.method == method and r.path == path]

    async def close(self) -> None:
        self.closed = True


_CLOSE = object()


@dataclass(eq=False)
class FakeWsPeer:
    """The server's end of one fake WebSocket connection."""

    url: str
    _to_client: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)
    _to_server: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)
    closed: bool = False

    async def send(self, text: str | bytes) -> None:
        """Deliver a message to the client."""
        await self._to_client.put(text)

    async def send_json(self, obj: Any) -> None:
        await self.send(msgspec.json.encode(obj).decode())

    async def recv(self) -> str | bytes:
        """The client's next message.

        Raises:
            WsClosedError: the connection was closed.
        """
        item = await self._to_server.get()
        if item is _CLOSE:
            self._to_server.put_nowait(_CLOSE)
            raise WsClosedError("closed")
        return item  # type: ignore[no-any-return]

    async def recv_json(self) -> Any:
        return msgspec.json.decode(await self.recv())

    async def close(self) -> None:
        """Close from the server side: the client's ``recv`` raises ``WsClosedError``."""
        self.closed = True
        self._to_client.put_nowait(_CLOSE)
        self._to_server.put_nowait(_CLOSE)


class _FakeClientEnd:
    def __init__(self, peer: FakeWsPeer) -> None:
        self._peer = peer

    async def send(self, text: str) -> None:
        if self._peer.closed:
            raise WsClosedError("closed")
        await self._peer._to_server.put(text)

    async def recv(self) -> str | bytes:
        item = await self._peer._to_client.get()
        if item is _CLOSE:
            self._peer._to_client.put_nowait(_CLOSE)
            raise WsClosedError("closed by peer")
        return item  # type: ignore[no-any-return]

    async def close(self) -> None:
        if not self._peer.closed:
            await self._peer.close()


class FakeWsConnector:
    """A :class:`~mmoms.venues.transport.WsConnector` whose connections the test serves."""

    def __init__(self) -> None:
        self.peers: asyncio.Queue[FakeWsPeer] = asyncio.Queue()
        self.urls: list[str] = []
        self.refuse: list[BaseException] = []  # raised by the next connects, in order
        self.closed = False

    async def connect(self, url: str, *, timeout_s: float) -> WsConnection:
        self.urls.append(url)
        if self.refuse:
            raise self.refuse.pop(0)
        peer = FakeWsPeer(url)
        await self.peers.put(peer)
        return _FakeClientEnd(peer)

    async def next_peer(self) -> FakeWsPeer:
        """Wait for the code under test to open its next connection."""
        return await self.peers.get()

    async def close(self) -> None:
        self.closed = True
