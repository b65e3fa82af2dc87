"""Byte transports: the one-method interfaces the venue clients speak through, and their aiohttp
implementations. This is the only module of the venue layer that imports aiohttp.

REST's default is :class:`mmoms.venues.http_pool.FastHttpTransport` (raw asyncio + httptools,
about a third of aiohttp's client CPU per request); :class:`AiohttpHttpTransport` stays as the
fallback (``BinanceConfig.http_transport = "aiohttp"``). Both map errors by the rules below,
except that an unparseable reply is :class:`ProtocolError` there and ``OutcomeUnknown`` here
(both "may have executed").

Decisions:

* One boundary. aiohttp and asyncio exceptions become the venue error kinds *here*, once, by
  what they say about the request: could not connect → :class:`NotSent` (definitely not
  executed); a timeout or disconnect after the request may have left → :class:`OutcomeUnknown`.
  Everything above (``binance/rest.py``, ``userstream.py``, ``wsapi.py``) sees only our kinds, and
  the fakes in :mod:`mmoms.venues.testing` implement the same interfaces.
* Keep-alive pool: one ``ClientSession`` per transport, its connector keeping connections warm,
  so the hot path writes to an open socket. URLs are passed pre-encoded (``encoded=True``): the
  signature covers the query string exactly as we built it, so nothing may re-encode it.
* Response headers are handed up as aiohttp's case-insensitive mapping (fakes use lowercase).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import aiohttp
from yarl import URL

from mmoms.venues.errors import GatewayClosedError, NotSent, OutcomeUnknown


@dataclass(frozen=True, slots=True)
class HttpReply:
    status: int
    headers: Mapping[str, str]  # case-insensitive, or lowercase names
    body: bytes


class HttpTransport(Protocol):
    async def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        *,
        timeout_s: float,
        endpoint: str,
    ) -> HttpReply:
        """Send one request (``url`` already encoded, body empty) and read the whole reply.

        Raises:
            NotSent: the request certainly did not leave (connection failed).
            OutcomeUnknown: it may have left, but no complete reply came (timeout, disconnect).
            GatewayClosedError: the transport is closed.
        """
        ...

    async def close(self) -> None: ...


class WsClosedError(Exception):
    """The WebSocket is closed (by either side, or the network). Internal to the venue layer."""


class WsHandshakeError(Exception):
    """The server refused the WebSocket upgrade with an HTTP status (e.g. an unknown listenKey)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"WebSocket handshake refused with HTTP {status}")
        self.status = status


class WsConnection(Protocol):
    async def send(self, text: str) -> None:
        """Raises:
        WsClosedError: the connection is closed.
        """
        ...

    async def recv(self) -> str | bytes:
        """The next text or binary message (pings are answered underneath).

        Raises:
            WsClosedError: the connection closed.
        """
        ...

    async def close(self) -> None: ...


class WsConnector(Protocol):
    async def connect(self, url: str, *, timeout_s: float) -> WsConnection:
        """Raises:
        WsHandshakeError: the server answered the upgrade with an error status.
        NotSent: could not connect (refused, DNS, TLS, timeout).
        """
        ...

    async def close(self) -> None: ...


# ============================================================================================
# aiohttp implementations
# ============================================================================================


class AiohttpHttpTransport:
    """HTTP over one keep-alive aiohttp session (created lazily inside the running loop)."""

    def __init__(
        self,
        *,
        pool_size: int = 16,
        keepalive_s: float = 30.0,
        connect_timeout_s: float = 5.0,
        trace_configs: Sequence[aiohttp.TraceConfig] = (),
    ) -> None:
        self._pool_size = pool_size
        self._keepalive_s = keepalive_s
        self._connect_timeout_s = connect_timeout_s
        self._trace_configs = list(trace_configs)
        self._session: aiohttp.ClientSession | None = None
        self._closed = False
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}

    def _get_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise GatewayClosedError("HTTP transport is closed")
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._pool_size,
                keepalive_timeout=self._keepalive_s,
                ttl_dns_cache=300,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                trace_configs=self._trace_configs or None,
                skip_auto_headers=("User-Agent",),
            )
        return self._session

    async def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        *,
        timeout_s: float,
        endpoint: str,
    ) -> HttpReply:
        session = self._get_session()
        timeout = self._timeouts.get(timeout_s)
        if timeout is None:  # one object per distinct value: nothing to build per request
            timeout = self._timeouts[timeout_s] = aiohttp.ClientTimeout(
                total=timeout_s + self._connect_timeout_s,
                sock_connect=self._connect_timeout_s,
                sock_read=timeout_s,
            )
        try:
            async with session.request(
                method, URL(url, encoded=True), headers=headers, timeout=timeout
            ) as resp:
                body = await resp.read()
                return HttpReply(resp.status, resp.headers, body)
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            raise NotSent(
                f"{endpoint}: could not connect ({type(exc).__name__})", endpoint=endpoint
            ) from None
        except aiohttp.InvalidURL as exc:
            raise NotSent(
                f"{endpoint}: invalid URL ({type(exc).__name__})", endpoint=endpoint
            ) from None
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            # The request may have reached the venue: only a query can tell.
            raise OutcomeUnknown(
                f"{endpoint}: no complete reply ({type(exc).__name__})", endpoint=endpoint
            ) from None

    async def close(self) -> None:
        self._closed = True
        if self._session is not None:
            await self._session.close()
            self._session = None


class _AiohttpWsConnection:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws

    async def send(self, text: str) -> None:
        if self._ws.closed:
            raise WsClosedError("WebSocket is closed")
        try:
            await self._ws.send_str(text)
        except (aiohttp.ClientError, OSError, RuntimeError) as exc:
            raise WsClosedError(f"send failed ({type(exc).__name__})") from None

    async def recv(self) -> str | bytes:
        try:
            msg = await self._ws.receive()
        except (aiohttp.ClientError, OSError, RuntimeError) as exc:
            raise WsClosedError(f"receive failed ({type(exc).__name__})") from None
        if msg.type is aiohttp.WSMsgType.TEXT:
            return str(msg.data)
        if msg.type is aiohttp.WSMsgType.BINARY:
            return bytes(msg.data)
        raise WsClosedError(f"WebSocket closed ({msg.type.name}, code {self._ws.close_code})")

    async def close(self) -> None:
        await self._ws.close()


class AiohttpWsConnector:
    """WebSocket connections over one aiohttp session. ``heartbeat_s`` pings to detect a dead
    peer (Binance answers pings; its own pings are answered automatically)."""

    def __init__(self, *, heartbeat_s: float | None = 20.0, max_msg_size: int = 16 << 20) -> None:
        self._heartbeat_s = heartbeat_s
        self._max_msg_size = max_msg_size
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    async def connect(self, url: str, *, timeout_s: float) -> WsConnection:
        if self._closed:
            raise GatewayClosedError("WebSocket connector is closed")
        if self._session is None:
            self._session = aiohttp.ClientSession(skip_auto_headers=("User-Agent",))
        try:
            ws = await asyncio.wait_for(
                self._session.ws_connect(
                    URL(url, encoded=True),
                    heartbeat=self._heartbeat_s,
                    max_msg_size=self._max_msg_size,
                    compress=0,
                ),
                timeout_s,
            )
        except aiohttp.WSServerHandshakeError as exc:
            raise WsHandshakeError(exc.status) from None
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise NotSent(f"WebSocket connect failed ({type(exc).__name__})") from None
        return _AiohttpWsConnection(ws)

    async def close(self) -> None:
        self._closed = True
        if self._session is not None:
            await self._session.close()
            self._session = None
