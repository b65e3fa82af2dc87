"""Order entry over Binance's WebSocket API (``/ws-fapi/v1``): an alternative to REST.

The I/O shell around :class:`.pipeline.RequestPipeline`, as :mod:`.rest` is, so the error
kinds and the unknown-outcome rules are the same:

* each request is signed on its own (all parameters but ``signature``, sorted by name,
  ``name=value`` joined by ``&``; HMAC or Ed25519), carries ``apiKey``, ``timestamp`` and
  ``recvWindow``; integers go as JSON integers, decimals and flags as strings;
* a reply's ``status`` and ``error {code, msg}`` go through the same :func:`.errors.classify`;
  its ``rateLimits`` correct the same :class:`RateController`;
* a request that is in flight when the connection drops, that fails while being written, or
  that gets no reply within the timeout, ends in :class:`OutcomeUnknown` (it may have
  executed); one made while no connection is up ends in :class:`NotSent`.

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
from typing import TypeVar

import msgspec

from mmoms.core.clock import NANOS_PER_SECOND, Clock
from mmoms.venues.binance import schemas
from mmoms.venues.binance.codec import ParamSeq
from mmoms.venues.binance.endpoints import Endpoint
from mmoms.venues.binance.pipeline import Outcome, Request, RequestPipeline, Wire
from mmoms.venues.binance.ratecontrol import Priority, RateController
from mmoms.venues.binance.signing import Credentials
from mmoms.venues.binance.timesync import TimeSync
from mmoms.venues.binance.userstream import RECONNECT_BACKOFF_NS
from mmoms.venues.errorrate import ErrorRateTracker
from mmoms.venues.errors import GatewayClosedError, NotSent, OutcomeUnknown
from mmoms.venues.transport import WsClosedError, WsConnection, WsConnector, WsHandshakeError

log = logging.getLogger("mmoms.venues.binance.wsapi")

T = TypeVar("T")

# Besides msgspec's errors, a hostile frame can raise RecursionError (JSON nested too deep) and
# a str frame with lone surrogates UnicodeError.
_UNREADABLE = (msgspec.DecodeError, RecursionError, UnicodeError)


@dataclass(slots=True)
class _InFlight:
    future: asyncio.Future[schemas.WsApiReply]
    endpoint: Endpoint
    client_order_id: str | None
    timestamp_ms: int | None


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
        -1021 is raised as it came.

        Raises:
            ValueError: ``recv_window_ms`` outside 1..60000.
        """
        self.pipeline = RequestPipeline(
            wire=Wire.WS_API,
            credentials=credentials,
            timesync=timesync,
            rate=rate,
            errors=errors,
            recv_window_ms=recv_window_ms,
            max_wait_ns={},  # an order that cannot go now is stale later: the OMS re-decides
            can_resync=resync is not None,
        )
        self._resync = resync
        self._url = url
        self._connector = connector
        self._clock = clock
        self._timeout_s = timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._backoff = reconnect_backoff_ns
        self._ids = itertools.count(1)
        self._in_flight: dict[str, _InFlight] = {}
        self._ws: WsConnection | None = None
        self._connected = asyncio.Event()
        self._closed = False
        self._reply_decoder = msgspec.json.Decoder(schemas.WsApiReply)
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
        request = self.pipeline.prepare(
            endpoint, params, priority=priority, client_order_id=client_order_id
        )
        outcome = await self._exchange(request, reply_type, 0)
        if outcome.resync_and_retry and self._resync is not None:
            await self._resync()
            outcome = await self._exchange(request, reply_type, 1)
        return outcome.result()

    async def _exchange(self, request: Request, reply_type: type[T], number: int) -> Outcome[T]:
        if self._closed:
            raise GatewayClosedError("WS API client is closed")
        self.pipeline.admit(request)  # no waiting here: the limit is 0 for every operation
        ws = await self._connection(request)
        request_id = str(next(self._ids))
        attempt = self.pipeline.sign(request, number, request_id=request_id)
        future: asyncio.Future[schemas.WsApiReply] = asyncio.get_running_loop().create_future()
        self._in_flight[request_id] = _InFlight(
            future, request.endpoint, request.client_order_id, attempt.timestamp_ms
        )
        label = request.label
        try:
            try:
                await ws.send(attempt.text)
            except WsClosedError:
                # The frame may be partly written before the connection went: it may execute.
                error = OutcomeUnknown(f"{label}: connection lost while sending", endpoint=label)
                return self.pipeline.on_failure(attempt, error)
            try:
                reply = await asyncio.wait_for(asyncio.shield(future), self._timeout_s)
            except TimeoutError:
                error = OutcomeUnknown(
                    f"{label}: no reply within {self._timeout_s} s", endpoint=label
                )
                return self.pipeline.on_failure(attempt, error)
            except OutcomeUnknown as exc:  # the connection dropped with the request in flight
                return self.pipeline.on_failure(attempt, exc)
            return self.pipeline.on_ws_reply(attempt, reply, reply_type)
        finally:
            self._in_flight.pop(request_id, None)

    async def _connection(self, request: Request) -> WsConnection:
        if not self._connected.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._connected.wait(), self._connect_timeout_s)
        ws = self._ws
        if ws is None:
            raise NotSent(f"{request.label}: WS API not connected", endpoint=request.label)
        return ws

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
