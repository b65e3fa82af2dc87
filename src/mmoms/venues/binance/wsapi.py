"""Order entry over Binance's WebSocket API (``/ws-fapi/v1``): an alternative to REST.

Same error kinds and the same unknown-outcome rules as REST:

* each request is signed on its own (all parameters but ``signature``, sorted by name,
  ``name=value`` joined by ``&``; HMAC or Ed25519), carries ``apiKey``, ``timestamp`` and
  ``recvWindow``; integers go as JSON integers, decimals and flags as strings;
* a reply's ``status`` and ``error {code, msg}`` go through the same :func:`.errors.classify`;
  its ``rateLimits`` correct the same :class:`RateController`;
* a request that is in flight when the connection drops, or that gets no reply within the
  timeout, ends in :class:`OutcomeUnknown` (it may have executed); one that could not be
  written ends in :class:`NotSent`.

A reader task matches replies to requests by id. On a drop the client reconnects at once in the
background (backing off after repeated failures); a request made while disconnected waits for
the connection up to ``connect_timeout_s`` and otherwise fails with :class:`NotSent`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec

from mmoms.core.clock import NANOS_PER_SECOND, Clock
from mmoms.venues.binance import schemas
from mmoms.venues.binance.codec import ParamSeq, int_text
from mmoms.venues.binance.endpoints import Endpoint, Security
from mmoms.venues.binance.errors import INVALID_TIMESTAMP, classify
from mmoms.venues.binance.ratecontrol import Priority, RateController
from mmoms.venues.binance.signing import Credentials
from mmoms.venues.binance.timesync import TimeSync
from mmoms.venues.binance.userstream import RECONNECT_BACKOFF_NS
from mmoms.venues.errorrate import ErrorRateTracker, outcome_of
from mmoms.venues.errors import (
    GatewayClosedError,
    MissingCredentialsError,
    NotSent,
    OutcomeUnknown,
    ProtocolError,
    RateBudgetExceededError,
    Rejected,
    VenueError,
)
from mmoms.venues.transport import WsClosedError, WsConnection, WsConnector, WsHandshakeError

log = logging.getLogger("mmoms.venues.binance.wsapi")

T = TypeVar("T")

_INT_PARAMS = frozenset({"timestamp", "recvWindow", "orderId", "goodTillDate"})
# Besides msgspec's errors, a hostile frame can raise RecursionError (JSON nested too deep) and
# a str frame with lone surrogates UnicodeError.
_UNREADABLE = (msgspec.DecodeError, RecursionError, UnicodeError)


@dataclass(slots=True)
class _InFlight:
    future: asyncio.Future[schemas.WsApiReply]
    endpoint: Endpoint
    client_order_id: str | None
    timestamp_ms: int


class WsApiClient:
    """A signed request/reply channel over one WebSocket API connection."""

    def __init__(
        self,
        *,
        url: str,
        connector: WsConnector,
        credentials: Credentials,
        clock: Clock,
        timesync: TimeSync,
        rate: RateController,
        errors: ErrorRateTracker,
        recv_window_ms: int = 5000,
        timeout_s: float = 5.0,
        connect_timeout_s: float = 5.0,
        reconnect_backoff_ns: tuple[int, ...] = RECONNECT_BACKOFF_NS,
        resync: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        """``resync``: probes the venue's clock (the REST client's ``sync_time``); without it a
        -1021 is raised as it came."""
        self._resync = resync
        self._url = url
        self._connector = connector
        self._credentials = credentials
        self._clock = clock
        self._timesync = timesync
        self._rate = rate
        self._errors = errors
        self._recv_window_ms = recv_window_ms
        self._timeout_s = timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._backoff = reconnect_backoff_ns
        self._ids = itertools.count(1)
        self._in_flight: dict[str, _InFlight] = {}
        self._ws: WsConnection | None = None
        self._connected = asyncio.Event()
        self._closed = False
        self._reply_decoder = msgspec.json.Decoder(schemas.WsApiReply)
        self._decoders: dict[type[Any], msgspec.json.Decoder[Any]] = {}
        self.connections = 0  # how many times we connected (for tests and metrics)

    @property
    def connected(self) -> bool:
        return self._connected.is_set() and not self._closed

    async def wait_connected(self) -> None:
        await self._connected.wait()

    async def run(self) -> None:
        """Keep a connection open until cancelled; fail in-flight requests on every drop."""
        failures = 0
        try:
            while not self._closed:
                try:
                    ws = await self._connector.connect(self._url, timeout_s=self._connect_timeout_s)
                except (NotSent, WsHandshakeError) as exc:
                    failures += 1
                    log.warning("WS API connect failed (%d): %s", failures, exc)
                    await self._sleep_backoff(failures)
                    continue
                self._ws = ws
                self.connections += 1
                self._connected.set()
                failures = 0
                try:
                    reason = await self._read(ws)
                finally:
                    self._connected.clear()
                    self._ws = None
                    self._fail_in_flight("connection dropped with the request in flight")
                    await ws.close()
                log.warning("WS API connection lost: %s", reason)
        finally:
            self._closed = True
            self._fail_in_flight("WS API client closed with the request in flight")

    async def close(self) -> None:
        self._closed = True
        if self._ws is not None:
            await self._ws.close()

    async def drop_connection(self) -> None:
        """Close the current connection (it reconnects at once); for tests and operators."""
        if self._ws is not None:
            await self._ws.close()

    # -- requests ------------------------------------------------------------------------------

    async def request(
        self,
        endpoint: Endpoint,
        params: ParamSeq,
        reply_type: type[T],
        *,
        priority: Priority | None = None,
        client_order_id: str | None = None,
    ) -> T:
        """Send one signed WS API request (``endpoint.path`` is the method) and decode its result.
        A -1021 (timestamp outside recvWindow: the request did not execute) resyncs the clock
        and sends one re-signed retry, as the REST client does.

        Raises:
            MissingCredentialsError, RateBudgetExceededError, SendingHaltedError,
            GatewayClosedError: nothing sent.
            NotSent, Rejected, OutcomeUnknown, ProtocolError: see :mod:`mmoms.venues.errors`.
        """
        if priority is None:
            priority = Priority.of(endpoint.op)
        try:
            return await self._request_once(endpoint, params, reply_type, priority, client_order_id)
        except Rejected as exc:
            if exc.code != INVALID_TIMESTAMP or self._resync is None:
                raise
            log.warning("%s: -1021, resyncing the clock and retrying once", endpoint.path)
            self._timesync.invalidate()
            await self._resync()
            return await self._request_once(endpoint, params, reply_type, priority, client_order_id)

    async def _request_once(
        self,
        endpoint: Endpoint,
        params: ParamSeq,
        reply_type: type[T],
        priority: Priority,
        client_order_id: str | None,
    ) -> T:
        if endpoint.security is not Security.SIGNED:
            raise MissingCredentialsError(f"{endpoint.name}: only signed methods are supported")
        if self._closed:
            raise GatewayClosedError("WS API client is closed")
        wait = self._rate.admit(
            endpoint.weight, endpoint.orders_10s, endpoint.orders_1m, priority=priority
        )
        if wait:
            raise RateBudgetExceededError(f"{endpoint.path}: rate budget exhausted", wait_ns=wait)
        ws = await self._connection(endpoint)
        request_id = str(next(self._ids))
        timestamp = self._timesync.now_ms()
        text = self._encode(request_id, endpoint.path, params, timestamp)
        future: asyncio.Future[schemas.WsApiReply] = asyncio.get_running_loop().create_future()
        self._in_flight[request_id] = _InFlight(future, endpoint, client_order_id, timestamp)
        error: VenueError | None = None
        try:
            try:
                await ws.send(text)
            except WsClosedError:
                raise NotSent(
                    f"{endpoint.path}: connection closed before sending", endpoint=endpoint.path
                ) from None
            try:
                reply = await asyncio.wait_for(asyncio.shield(future), self._timeout_s)
            except TimeoutError:
                raise OutcomeUnknown(
                    f"{endpoint.path}: no reply within {self._timeout_s} s",
                    endpoint=endpoint.path,
                    sent_timestamp_ms=timestamp,
                    client_order_id=client_order_id,
                ) from None
            return self._result(endpoint, reply, reply_type, client_order_id)
        except VenueError as exc:
            exc.client_order_id = exc.client_order_id or client_order_id
            error = exc
            raise
        finally:
            self._in_flight.pop(request_id, None)
            self._errors.record(endpoint.path, outcome_of(error))

    async def _connection(self, endpoint: Endpoint) -> WsConnection:
        if not self._connected.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._connected.wait(), self._connect_timeout_s)
        ws = self._ws
        if ws is None:
            raise NotSent(f"{endpoint.path}: WS API not connected", endpoint=endpoint.path)
        return ws

    def _encode(self, request_id: str, method: str, params: ParamSeq, timestamp: int) -> str:
        signed: dict[str, str | int] = {k: int(v) if k in _INT_PARAMS else v for k, v in params}
        signed["apiKey"] = self._credentials.api_key
        signed["recvWindow"] = self._recv_window_ms
        signed["timestamp"] = timestamp
        payload = "&".join(f"{k}={signed[k]}" for k in sorted(signed))
        signed["signature"] = self._credentials.signer.sign(payload)
        return msgspec.json.encode({"id": request_id, "method": method, "params": signed}).decode()

    def _result(
        self,
        endpoint: Endpoint,
        reply: schemas.WsApiReply,
        reply_type: type[T],
        client_order_id: str | None,
    ) -> T:
        for limit in reply.rate_limits or ():
            if limit.count is not None:
                self._rate.on_usage(
                    limit.rate_limit_type, limit.interval, limit.interval_num, limit.count
                )
        if reply.status == 200 and len(reply.result):
            decoder = self._decoders.get(reply_type)
            if decoder is None:
                decoder = self._decoders[reply_type] = msgspec.json.Decoder(reply_type)
            try:
                return decoder.decode(reply.result)  # type: ignore[no-any-return]
            except _UNREADABLE as exc:
                raise ProtocolError(
                    f"{endpoint.path}: unreadable result ({exc})",
                    http_status=reply.status,
                    endpoint=endpoint.path,
                ) from None
        err = reply.error
        code = err.code if err is not None else None
        if isinstance(code, str):
            code = int_text(code)
        error = classify(
            reply.status,
            code,
            err.msg if err is not None else "",
            endpoint=endpoint.path,
            client_order_id=client_order_id,
        )
        self._rate.on_error(error)
        raise error

    # -- reading -------------------------------------------------------------------------------

    async def _read(self, ws: WsConnection) -> str:
        while True:
            try:
                data = await ws.recv()
            except WsClosedError as exc:
                return str(exc)
            try:
                reply = self._reply_decoder.decode(data)
            except _UNREADABLE as exc:
                log.error("WS API: unreadable message (%d bytes): %s", len(data), exc)
                continue
            pending = self._in_flight.get(str(reply.id))
            if pending is None:
                log.debug("WS API: reply for no request in flight (id %r)", reply.id)
                continue
            if not pending.future.done():
                pending.future.set_result(reply)

    def _fail_in_flight(self, why: str) -> None:
        for pending in list(self._in_flight.values()):
            if not pending.future.done():
                pending.future.set_exception(
                    OutcomeUnknown(
                        f"{pending.endpoint.path}: {why}",
                        endpoint=pending.endpoint.path,
                        sent_timestamp_ms=pending.timestamp_ms,
                        client_order_id=pending.client_order_id,
                    )
                )
        self._in_flight.clear()

    async def _sleep_backoff(self, failures: int) -> None:
        delay = self._backoff[min(failures, len(self._backoff)) - 1]
        if delay:
            await asyncio.sleep(delay / NANOS_PER_SECOND)
