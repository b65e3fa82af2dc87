"""Binance REST client: the I/O shell around :class:`.pipeline.RequestPipeline` over an
:class:`HttpTransport`.

The pipeline decides everything about a request (rate admission, signing, classifying the
reply, the error rate, whether to retry after -1021); this module only waits where admission
says so, builds the URL from the signed query, sends it and hands back what came: the reply,
or the transport's :class:`NotSent` / :class:`OutcomeUnknown`.

The path from "intent decided" to "bytes written" is kept short: parameters arrive as string
pairs (:mod:`.codec`), are joined once, signed once (keyed HMAC copy, no re-derivation), and the
header dict is built once per client. No dict → urlencode → re-parse round trips.

An :class:`OutcomeUnknown` leaving here carries ``sent_timestamp_ms`` and ``client_order_id``
so the resolver knows when the request can no longer execute.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import TypeVar

from mmoms.core.clock import NANOS_PER_SECOND, Clock
from mmoms.venues.binance import schemas
from mmoms.venues.binance.codec import ParamSeq
from mmoms.venues.binance.endpoints import SERVER_TIME, Endpoint, OpKind
from mmoms.venues.binance.pipeline import (
    DEFAULT_MAX_WAIT_NS,
    MAX_RETRY_AFTER_S,
    Outcome,
    Request,
    RequestPipeline,
    Wire,
)
from mmoms.venues.binance.ratecontrol import Priority, RateController
from mmoms.venues.binance.signing import Credentials
from mmoms.venues.binance.timesync import TimeSample, TimeSync
from mmoms.venues.errorrate import ErrorRateTracker
from mmoms.venues.errors import VenueError
from mmoms.venues.transport import HttpTransport

__all__ = ["DEFAULT_MAX_WAIT_NS", "MAX_RETRY_AFTER_S", "RestClient"]

log = logging.getLogger("mmoms.venues.binance.rest")

T = TypeVar("T")


class RestClient:
    """Sends Binance REST requests. One per gateway; safe to use from many tasks."""

    def __init__(
        self,
        *,
        base_url: str,
        transport: HttpTransport,
        credentials: Credentials | None,
        clock: Clock,
        timesync: TimeSync,
        rate: RateController,
        errors: ErrorRateTracker,
        recv_window_ms: int = 5000,
        timeout_s: float = 5.0,
        max_wait_ns: Mapping[OpKind, int] = DEFAULT_MAX_WAIT_NS,
    ) -> None:
        """Raises:
        ValueError: ``recv_window_ms`` outside 1..60000.
        """
        self.pipeline = RequestPipeline(
            wire=Wire.REST,
            credentials=credentials,
            timesync=timesync,
            rate=rate,
            errors=errors,
            recv_window_ms=recv_window_ms,
            max_wait_ns=max_wait_ns,
        )
        self._base = base_url.rstrip("/")
        self._transport = transport
        self._clock = clock
        self.timesync = timesync
        self.rate = rate
        self.errors = errors
        self.recv_window_ms = recv_window_ms
        self._timeout_s = timeout_s
        self._sync_lock = asyncio.Lock()

    # -- public --------------------------------------------------------------------------------

    async def call(
        self,
        endpoint: Endpoint,
        params: ParamSeq,
        reply_type: type[T],
        *,
        priority: Priority | None = None,
        client_order_id: str | None = None,
    ) -> T:
        """Send one request and decode its reply into ``reply_type``. A -1021 (timestamp outside
        recvWindow: the request did not execute) resyncs the clock and sends one re-signed retry.

        Raises:
            MissingCredentialsError, RateBudgetExceededError, SendingHaltedError: nothing sent.
            Rejected, OutcomeUnknown, ProtocolError: see :mod:`mmoms.venues.errors`; also those of
                the clock probe when the resync after -1021 fails.
            GatewayClosedError: the transport is closed.
        """
        request = self.pipeline.prepare(
            endpoint, params, priority=priority, client_order_id=client_order_id
        )
        outcome = await self._exchange(request, reply_type, 0)
        if outcome.resync_and_retry:
            await self.sync_time()
            outcome = await self._exchange(request, reply_type, 1)
        return outcome.result()

    async def sync_time(self) -> TimeSample | None:
        """Probe ``/fapi/v1/time`` and update the offset. Concurrent callers share one probe.

        Raises:
            Rejected, OutcomeUnknown, ProtocolError: the probe failed.
        """
        if self._sync_lock.locked():
            async with self._sync_lock:  # someone else is probing: wait for their result
                return None
        async with self._sync_lock:
            request = self.pipeline.prepare(SERVER_TIME, [], priority=Priority.NORMAL)
            await self._admit(request)  # a wait for the budget is no part of the round trip
            probe = self.timesync.begin()
            reply = (await self._send(request, schemas.ServerTime, 0)).result()
            sample = self.timesync.complete(probe, reply.server_time)
            log.info(
                "server time offset %d ms (rtt %.1f ms)",
                self.timesync.offset_ms,
                sample.rtt_ns / 1e6,
            )
            return sample

    # -- one exchange --------------------------------------------------------------------------

    async def _exchange(self, request: Request, reply_type: type[T], number: int) -> Outcome[T]:
        await self._admit(request)
        return await self._send(request, reply_type, number)

    async def _admit(self, request: Request) -> None:
        waited = 0
        while wait := self.pipeline.admit(request, waited):
            waited += wait
            await asyncio.sleep(wait / NANOS_PER_SECOND)

    async def _send(self, request: Request, reply_type: type[T], number: int) -> Outcome[T]:
        attempt = self.pipeline.sign(request, number)
        endpoint = request.endpoint
        url = f"{self._base}{endpoint.path}"
        if attempt.text:
            url = f"{url}?{attempt.text}"
        try:
            reply = await self._transport.request(
                endpoint.method,
                url,
                self.pipeline.headers(request),
                timeout_s=self._timeout_s,
                endpoint=request.label,
            )
        except VenueError as exc:  # NotSent (nothing left) or OutcomeUnknown (it may have)
            return self.pipeline.on_failure(attempt, exc)
        return self.pipeline.on_http_reply(attempt, reply, reply_type)
