"""Binance REST client: signs, sends and classifies one request over an :class:`HttpTransport`.

The path from "intent decided" to "bytes written" is kept short: parameters arrive as string
pairs (:mod:`.codec`), are joined once, signed once (keyed HMAC copy, no re-derivation), and the
header dict is built once per client. No dict → urlencode → re-parse round trips.

Per request, in order:

1. rate admission (:mod:`.ratecontrol`): wait up to the operation's limit, else
   :class:`RateBudgetExceededError` — nothing sent;
2. ``recvWindow`` + ``timestamp`` (the venue's clock as :mod:`.timesync` estimates it) and
   ``signature`` appended for SIGNED endpoints; ``X-MBX-APIKEY`` for SIGNED and USER_STREAM;
3. send; feed the ``X-MBX-*`` usage headers back to rate control; record the outcome in the
   error-rate tracker;
4. non-2xx → :func:`.errors.classify`; 429 / 418 also cool down / halt rate control;
5. -1021 → resync the clock at once and send *one* re-signed retry.

An :class:`OutcomeUnknown` leaving here carries ``sent_timestamp_ms`` and ``client_order_id``
so the resolver knows when the request can no longer execute.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any, TypeVar
from urllib.parse import quote

import msgspec

from mmoms.core.clock import NANOS_PER_SECOND, Clock
from mmoms.venues.binance import schemas
from mmoms.venues.binance.codec import ParamSeq, encode_query, int_text
from mmoms.venues.binance.endpoints import SERVER_TIME, Endpoint, OpKind, Security
from mmoms.venues.binance.errors import INVALID_TIMESTAMP, classify
from mmoms.venues.binance.ratecontrol import Priority, RateController
from mmoms.venues.binance.signing import Credentials
from mmoms.venues.binance.timesync import TimeSample, TimeSync
from mmoms.venues.errorrate import ErrorRateTracker, outcome_of
from mmoms.venues.errors import (
    IpBanned,
    MissingCredentialsError,
    OutcomeUnknown,
    ProtocolError,
    RateBudgetExceededError,
    RateLimited,
    Rejected,
    VenueError,
)
from mmoms.venues.transport import HttpReply, HttpTransport

log = logging.getLogger("mmoms.venues.binance.rest")

T = TypeVar("T")

# Besides msgspec's errors, a hostile body can raise RecursionError (JSON nested too deep) and
# UnicodeDecodeError (a string that is not UTF-8).
_UNREADABLE = (msgspec.DecodeError, RecursionError, UnicodeError)
MAX_RETRY_AFTER_S = 86_400.0  # a longer (or NaN, or negative) Retry-After is not believed

DEFAULT_MAX_WAIT_NS: Mapping[OpKind, int] = {
    OpKind.PLACE: 0,  # a quote that cannot go now is stale later: the OMS re-decides
    OpKind.AMEND: 0,
    OpKind.CANCEL: 2 * NANOS_PER_SECOND,  # getting out is worth waiting for
    OpKind.QUERY: 2 * NANOS_PER_SECOND,
    OpKind.IDEMPOTENT: 2 * NANOS_PER_SECOND,
}


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
        if not 0 < recv_window_ms <= 60_000:
            raise ValueError("recv_window_ms must be in 1..60000")
        self._base = base_url.rstrip("/")
        self._transport = transport
        self._credentials = credentials
        self._clock = clock
        self.timesync = timesync
        self.rate = rate
        self.errors = errors
        self._recv_window = f"&recvWindow={recv_window_ms}&timestamp="
        self.recv_window_ms = recv_window_ms
        self._timeout_s = timeout_s
        self._max_wait_ns = dict(max_wait_ns)
        self._key_headers: dict[str, str] = (
            {"X-MBX-APIKEY": credentials.api_key} if credentials is not None else {}
        )
        self._decoders: dict[type[Any], msgspec.json.Decoder[Any]] = {}
        self._error_decoder = msgspec.json.Decoder(schemas.ErrorBody)
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
        """Send one request and decode its reply into ``reply_type``.

        Raises:
            MissingCredentialsError, RateBudgetExceededError, SendingHaltedError: nothing sent.
            Rejected, OutcomeUnknown, ProtocolError: see :mod:`mmoms.venues.errors`.
        """
        if endpoint.security is not Security.NONE and self._credentials is None:
            raise MissingCredentialsError(f"{endpoint.name} needs API credentials")
        if priority is None:
            priority = Priority.of(endpoint.op)
        query = encode_query(params)
        has_symbol = any(k == "symbol" for k, _ in params)
        try:
            return await self._send(
                endpoint, query, reply_type, priority, has_symbol, client_order_id
            )
        except Rejected as exc:
            if exc.code != INVALID_TIMESTAMP or endpoint.security is not Security.SIGNED:
                raise
            log.warning("%s: -1021, resyncing the clock and retrying once", endpoint.name)
            self.timesync.invalidate()
            await self.sync_time()
            return await self._send(
                endpoint, query, reply_type, priority, has_symbol, client_order_id
            )

    async def sync_time(self) -> TimeSample | None:
        """Probe ``/fapi/v1/time`` and update the offset. Concurrent callers share one probe.

        Raises:
            Rejected, OutcomeUnknown, ProtocolError: the probe failed.
        """
        if self._sync_lock.locked():
            async with self._sync_lock:  # someone else is probing: wait for their result
                return None
        async with self._sync_lock:
            probe = self.timesync.begin()
            reply = await self._send(
                SERVER_TIME, "", schemas.ServerTime, Priority.NORMAL, False, None
            )
            sample = self.timesync.complete(probe, reply.server_time)
            log.info(
                "server time offset %d ms (rtt %.1f ms)",
                self.timesync.offset_ms,
                sample.rtt_ns / 1e6,
            )
            return sample

    # -- one exchange --------------------------------------------------------------------------

    async def _admit(self, endpoint: Endpoint, priority: Priority, has_symbol: bool) -> None:
        weight = endpoint.weight_for(has_symbol)
        limit = self._max_wait_ns.get(endpoint.op, 0)
        waited = 0
        while wait := self.rate.admit(
            weight, endpoint.orders_10s, endpoint.orders_1m, priority=priority
        ):
            if waited + wait > limit:
                raise RateBudgetExceededError(
                    f"{endpoint.name}: rate budget exhausted for {wait / 1e6:.0f} ms", wait_ns=wait
                )
            waited += wait
            await asyncio.sleep(wait / NANOS_PER_SECOND)

    def _url(self, endpoint: Endpoint, query: str) -> tuple[str, int | None]:
        if endpoint.security is not Security.SIGNED:
            return (
                f"{self._base}{endpoint.path}?{query}" if query else f"{self._base}{endpoint.path}"
            ), None
        assert self._credentials is not None
        timestamp = self.timesync.now_ms()
        payload = (
            f"{query}{self._recv_window}{timestamp}"
            if query
            else f"{self._recv_window[1:]}{timestamp}"
        )
        signer = self._credentials.signer
        signature = signer.sign(payload)
        if not signer.url_safe:
            signature = quote(signature, safe="")
        return f"{self._base}{endpoint.path}?{payload}&signature={signature}", timestamp

    async def _send(
        self,
        endpoint: Endpoint,
        query: str,
        reply_type: type[T],
        priority: Priority,
        has_symbol: bool,
        client_order_id: str | None,
    ) -> T:
        await self._admit(endpoint, priority, has_symbol)
        url, timestamp = self._url(endpoint, query)
        headers = self._key_headers if endpoint.security is not Security.NONE else {}
        error: VenueError | None = None
        try:
            reply = await self._transport.request(
                endpoint.method, url, headers, timeout_s=self._timeout_s, endpoint=endpoint.name
            )
            self.rate.on_headers(reply.headers)
            if 200 <= reply.status < 300:
                return self._decode_success(endpoint, reply, reply_type, client_order_id)
            raise self._error(endpoint, reply, client_order_id)
        except OutcomeUnknown as exc:
            exc.sent_timestamp_ms = timestamp
            exc.client_order_id = exc.client_order_id or client_order_id
            error = exc
            raise
        except VenueError as exc:
            exc.client_order_id = exc.client_order_id or client_order_id
            error = exc
            raise
        finally:
            self.errors.record(endpoint.name, outcome_of(error))

    def _decode_success(
        self, endpoint: Endpoint, reply: HttpReply, reply_type: type[T], client_order_id: str | None
    ) -> T:
        decoder = self._decoders.get(reply_type)
        if decoder is None:
            decoder = self._decoders[reply_type] = msgspec.json.Decoder(reply_type)
        try:
            return decoder.decode(reply.body)  # type: ignore[no-any-return]
        except _UNREADABLE as exc:
            # A 2xx carrying an error object is still an error; anything else is unreadable.
            code, _ = self._read_error(reply.body)
            if isinstance(code, int) and code < 0:
                raise self._error(endpoint, reply, client_order_id) from None
            raise ProtocolError(
                f"{endpoint.name}: unreadable reply ({exc})",
                http_status=reply.status,
                endpoint=endpoint.name,
                client_order_id=client_order_id,
            ) from None

    def _read_error(self, body: bytes) -> tuple[int | None, str]:
        try:
            err = self._error_decoder.decode(body)
        except _UNREADABLE:
            return None, body[:200].decode("utf-8", "replace")  # e.g. a plain-text 503
        code = err.code
        if isinstance(code, str):
            code = int_text(code)
        return code, err.msg

    def _error(
        self, endpoint: Endpoint, reply: HttpReply, client_order_id: str | None
    ) -> VenueError:
        code, msg = self._read_error(reply.body)
        retry_after_ms = _retry_after_ms(reply.headers)
        exc = classify(
            reply.status,
            code,
            msg,
            endpoint=endpoint.name,
            retry_after_ms=retry_after_ms,
            client_order_id=client_order_id,
        )
        if isinstance(exc, IpBanned):
            log.critical("%s: IP banned by Binance (HTTP 418); sending halted", endpoint.name)
        elif isinstance(exc, RateLimited):
            log.warning("%s: rate limited (%s); cooling down", endpoint.name, reply.status)
        self.rate.on_error(exc)
        return exc


def _retry_after_ms(headers: Mapping[str, str]) -> int | None:
    value = headers.get("retry-after") or headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    if not 0 <= seconds <= MAX_RETRY_AFTER_S:  # also false for NaN; float("1e999") is inf
        return None
    return int(seconds * 1000)
