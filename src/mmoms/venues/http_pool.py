"""A purpose-built HTTP/1.1 client: keep-alive connections on raw asyncio, replies parsed by
``httptools`` (:mod:`.http_conn`), behind :class:`~mmoms.venues.transport.HttpTransport`.

Why not aiohttp on the hot path: per request it builds a ``ClientRequest``/``ClientResponse``,
a multidict of headers, a timer context and trace hooks. Here a request is three bytes joins:
the method, the already-encoded target and a header block pre-built per (method, host,
headers); the reply is one future resolved from ``data_received``.

Error honesty (the only thing the OMS asks of a transport, see :mod:`mmoms.venues.errors`):

* before any byte of the request is written — bad URL, pool wait or connect failed or timed
  out, TLS handshake refused — :class:`NotSent`;
* after the first byte — reset, EOF, timeout, the task cancelled — :class:`OutcomeUnknown`;
* a reply that cannot be parsed — :class:`ProtocolError` (it may have executed all the same);
* a pooled connection found dead *before* writing (the server closed it while idle: EOF seen,
  bytes waiting, or the write failing at once) is discarded and the request goes on another
  connection: nothing was sent on the dead one. Once written, a dying connection is unknown.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from mmoms.venues.errors import GatewayClosedError, NotSent, OutcomeUnknown, ProtocolError
from mmoms.venues.http_conn import Connection, DroppedError, GarbledError, StaleError
from mmoms.venues.transport import HttpReply

__all__ = ["FastHttpTransport", "PoolStats"]

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_MAX_TEMPLATES = 256  # (method, host, headers) combinations: a handful in practice

_Key = tuple[str, str, tuple[tuple[str, str], ...]]  # (method, scheme://host[:port], headers)


@dataclass(slots=True)
class PoolStats:
    opened: int = 0  # connections made
    reused: int = 0  # requests sent on a kept-alive connection
    stale: int = 0  # pooled connections found dead before writing (nothing sent on them)


class _Host:
    """The connections to one (scheme, host, port): idle ones (LIFO) and a bounded slot count."""

    __slots__ = ("busy", "host", "idle", "port", "tls", "waiters")

    def __init__(self, host: str, port: int, tls: bool) -> None:
        self.host = host
        self.port = port
        self.tls = tls
        self.idle: list[Connection] = []
        self.busy = 0
        self.waiters: deque[asyncio.Future[None]] = deque()

    def release(self) -> None:
        while self.waiters:  # hand the slot straight to the next waiter
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.busy -= 1


class FastHttpTransport:
    """HTTP/1.1 keep-alive pool: at most ``pool_size`` connections per host, idle ones reused for
    ``keepalive_s``. ``ssl_context`` defaults to the system's verified context.
    ``on_written(method)`` is called right after a request is written (benchmarks)."""

    def __init__(
        self,
        *,
        pool_size: int = 16,
        keepalive_s: float = 30.0,
        connect_timeout_s: float = 5.0,
        ssl_context: ssl.SSLContext | None = None,
        on_written: Callable[[str], None] | None = None,
    ) -> None:
        self._pool_size = pool_size
        self._keepalive_s = keepalive_s
        self._connect_timeout_s = connect_timeout_s
        self._ssl = ssl_context
        self._on_written = on_written
        self._hosts: dict[str, _Host] = {}
        self._templates: dict[_Key, tuple[bytes, bytes]] = {}
        self._conns: set[Connection] = set()
        self._closed = False
        self.stats = PoolStats()

    async def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        *,
        timeout_s: float,
        endpoint: str,
    ) -> HttpReply:
        """Send one bodyless request (``url`` already encoded) and read the whole reply.

        Raises:
            NotSent: nothing was written (bad URL or header, pool wait / connect / TLS failed).
            OutcomeUnknown: the request was written, but no complete reply came (reset, EOF,
                timeout).
            ProtocolError: the reply could not be parsed.
            GatewayClosedError: the transport is closed.
        """
        if self._closed:
            raise GatewayClosedError("HTTP transport is closed")
        try:
            origin, _, target = url.partition("://")[2].partition("/")
            target = "/" + target
            if not target.isascii() or not target.isprintable() or " " in target:
                raise ValueError("the target must be encoded")
            base = url[: url.find("://") + 3 + len(origin)]
            host = self._hosts.get(base) or self._host(base, origin)
            key = (method, base, tuple(headers.items()))
            template = self._templates.get(key) or self._template(key, origin, headers)
        except ValueError as exc:
            raise NotSent(f"{endpoint}: invalid request ({exc})", endpoint=endpoint) from None
        data = template[0] + target.encode("ascii") + template[1]
        await self._acquire(host, endpoint)
        conn: Connection | None = None
        try:
            conn = self._pooled(host)
            if conn is None:
                conn = await self._connect(host, endpoint)
            try:
                pending = conn.send(data)
            except StaleError:  # nothing left on the dead connection: one more try on a fresh one
                self.stats.stale += 1
                conn = await self._connect(host, endpoint)
                try:
                    pending = conn.send(data)
                except StaleError:
                    raise NotSent(f"{endpoint}: write failed", endpoint=endpoint) from None
            if self._on_written is not None:
                self._on_written(method)
            return await self._reply(conn, pending, timeout_s, endpoint)
        except BaseException:
            if conn is not None:
                conn.close()  # mid-exchange (or unknown): never reused
            raise
        finally:
            if conn is not None and conn.reusable():
                conn.idle_since = time.monotonic()
                host.idle.append(conn)
            host.release()

    async def close(self) -> None:
        self._closed = True
        for host in self._hosts.values():
            for waiter in host.waiters:
                if not waiter.done():
                    waiter.set_exception(GatewayClosedError("HTTP transport is closed"))
            host.idle.clear()
        for conn in list(self._conns):
            conn.close()
        self._conns.clear()

    # -- one exchange ---------------------------------------------------------------------------

    async def _acquire(self, host: _Host, endpoint: str) -> None:
        """Raises:
        NotSent: no connection slot within the connect timeout.
        """
        if host.busy < self._pool_size:
            host.busy += 1
            return
        waiter = asyncio.get_running_loop().create_future()
        host.waiters.append(waiter)
        try:
            async with asyncio.timeout(self._connect_timeout_s):
                await waiter
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                host.release()  # the slot came just as we gave up: pass it on
            waiter.cancel()
            if isinstance(exc, TimeoutError):
                raise NotSent(
                    f"{endpoint}: no free connection in time", endpoint=endpoint
                ) from None
            raise

    def _pooled(self, host: _Host) -> Connection | None:
        """The most recently used idle connection that is still good; dead ones are dropped
        (counted stale: nothing was ever sent on them)."""
        expired = time.monotonic() - self._keepalive_s
        while host.idle:
            conn = host.idle.pop()
            if conn.idle_since < expired:
                conn.close()
                continue
            if not conn.open or conn.readable():  # EOF or bytes while idle: server closed it
                self.stats.stale += 1
                conn.close()
                continue
            self.stats.reused += 1
            return conn
        return None

    async def _connect(self, host: _Host, endpoint: str) -> Connection:
        """Raises:
        NotSent: refused, DNS, TLS handshake or the connect timeout.
        """
        loop = asyncio.get_running_loop()
        context: ssl.SSLContext | None = None
        if host.tls:
            context = self._ssl = self._ssl or ssl.create_default_context()
        try:
            async with asyncio.timeout(self._connect_timeout_s):
                _, conn = await loop.create_connection(
                    lambda: Connection(loop, host.tls, self._conns),
                    host.host,
                    host.port,
                    ssl=context,
                    server_hostname=host.host if context else None,
                )
        except (OSError, TimeoutError) as exc:  # ssl.SSLError is an OSError
            raise NotSent(
                f"{endpoint}: could not connect ({type(exc).__name__})", endpoint=endpoint
            ) from None
        if self._closed:
            conn.close()
            raise GatewayClosedError("HTTP transport is closed")
        self.stats.opened += 1
        return conn

    async def _reply(
        self, conn: Connection, pending: asyncio.Future[HttpReply], timeout_s: float, endpoint: str
    ) -> HttpReply:
        """Raises:
        OutcomeUnknown: reset, EOF or timeout after the request was written.
        ProtocolError: the reply could not be parsed.
        """
        timer = asyncio.get_running_loop().call_later(timeout_s, conn.time_out)
        try:
            return await pending
        except (DroppedError, TimeoutError, OSError) as exc:
            # The request may have reached the venue: only a query can tell.
            raise OutcomeUnknown(
                f"{endpoint}: no complete reply ({type(exc).__name__})", endpoint=endpoint
            ) from None
        except GarbledError as exc:
            raise ProtocolError(
                f"{endpoint}: unreadable reply ({exc})", endpoint=endpoint
            ) from None
        finally:
            timer.cancel()

    # -- what is built once ---------------------------------------------------------------------

    def _template(self, key: _Key, origin: str, headers: Mapping[str, str]) -> tuple[bytes, bytes]:
        """The bytes before and after the target. Raises ValueError: a header with CR / LF."""
        lines = [f"Host: {origin}"]
        for name, value in headers.items():
            if any(c in name or c in value for c in "\r\n\0") or ":" in name:
                raise ValueError(f"bad header {name!r}")
            lines.append(f"{name}: {value}")
        if key[0] in _BODY_METHODS:
            lines.append("Content-Length: 0")  # some front ends answer a bodyless POST with 411
        lines.append("Accept-Encoding: gzip, deflate")
        if len(self._templates) >= _MAX_TEMPLATES:
            self._templates.clear()
        template = self._templates[key] = (
            f"{key[0]} ".encode("ascii"),
            (" HTTP/1.1\r\n" + "\r\n".join(lines) + "\r\n\r\n").encode("latin-1"),
        )
        return template

    def _host(self, base: str, origin: str) -> _Host:
        """Raises ValueError: an unknown scheme or a bad port."""
        scheme = base.partition("://")[0].lower()
        if scheme not in _DEFAULT_PORTS or not origin:
            raise ValueError(f"unsupported URL {base!r}")
        name, port = origin, _DEFAULT_PORTS[scheme]
        if origin.startswith("["):  # [IPv6]:port
            name, _, rest = origin[1:].partition("]")
            if rest:
                port = int(rest.removeprefix(":"))
        elif ":" in origin:
            name, _, text = origin.rpartition(":")
            port = int(text)
        host = self._hosts[base] = _Host(name, port, scheme == "https")
        return host
