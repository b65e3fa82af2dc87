"""One signed request, without I/O: every decision REST (:mod:`.rest`) and the WS API
(:mod:`.wsapi`) make about a request, in the order the request lives them. The two clients are
thin shells that only move text and hand the result back here.

1. :meth:`RequestPipeline.prepare` — credentials present for the endpoint's security, else
   :class:`MissingCredentialsError`; the parameters are encoded once into a :class:`Request`.
2. :meth:`RequestPipeline.admit` — the rate budget: 0 means go; otherwise how long to wait
   before asking again, or :class:`RateBudgetExceededError` once the wait would pass the
   operation's limit (:class:`SendingHaltedError` after a ban). Nothing is sent in either case.
3. :meth:`RequestPipeline.sign` — ``recvWindow``, ``timestamp`` (the venue's clock as
   :mod:`.timesync` estimates it) and ``signature``: the exact text to send, in an
   :class:`Attempt` that remembers the timestamp.
4. :meth:`RequestPipeline.on_http_reply`, :meth:`~RequestPipeline.on_ws_reply`,
   :meth:`~RequestPipeline.on_failure` — the outcome: the venue's usage fed to rate control,
   the reply decoded or classified (:func:`.errors.classify`), the error tagged with the client
   order id and the signed timestamp, the call recorded once in the error-rate tracker.
   :attr:`Outcome.resync_and_retry` asks the shell to resync the clock and send one re-signed
   retry: only after -1021, an answer that says the venue did not act. A transport failure (a
   half-written request, a dropped connection, no reply) is an unknown outcome and never retried.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, TypeVar, cast
from urllib.parse import quote

import msgspec

from mmoms.core.clock import NANOS_PER_SECOND
from mmoms.venues.binance import schemas
from mmoms.venues.binance.codec import ParamSeq, encode_query, int_text
from mmoms.venues.binance.endpoints import Endpoint, OpKind, Security
from mmoms.venues.binance.errors import INVALID_TIMESTAMP, classify
from mmoms.venues.binance.ratecontrol import Priority, RateController
from mmoms.venues.binance.signing import Credentials
from mmoms.venues.binance.timesync import TimeSync
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
from mmoms.venues.transport import HttpReply

log = logging.getLogger("mmoms.venues.binance.pipeline")

T = TypeVar("T")

# Besides msgspec's errors, a hostile body can raise RecursionError (JSON nested too deep) and
# UnicodeError (a string that is not UTF-8, or lone surrogates).
_UNREADABLE = (msgspec.DecodeError, RecursionError, UnicodeError)
MAX_RETRY_AFTER_S = 86_400.0  # a longer (or NaN, or negative) Retry-After is not believed
_WS_INT_PARAMS = frozenset({"timestamp", "recvWindow", "orderId", "goodTillDate"})

DEFAULT_MAX_WAIT_NS: Mapping[OpKind, int] = {
    OpKind.PLACE: 0,  # a quote that cannot go now is stale later: the OMS re-decides
    OpKind.AMEND: 0,
    OpKind.CANCEL: 2 * NANOS_PER_SECOND,  # getting out is worth waiting for
    OpKind.QUERY: 2 * NANOS_PER_SECOND,
    OpKind.IDEMPOTENT: 2 * NANOS_PER_SECOND,
}


class Wire(Enum):
    """How the request travels: a signed REST query string, or a signed WS API JSON frame."""

    REST = "REST"
    WS_API = "WS_API"


@dataclass(frozen=True, slots=True)
class Request:
    """One request as decided before sending; reused unchanged by the -1021 retry."""

    endpoint: Endpoint
    params: ParamSeq
    query: str  # the parameters encoded once (REST)
    priority: Priority
    weight: int
    client_order_id: str | None
    label: str  # the endpoint's name in errors and the error rate


@dataclass(frozen=True, slots=True)
class Attempt:
    """One signed send of a :class:`Request`: ``text`` is exactly what goes on the wire (REST:
    the query string, signature included; WS API: the JSON frame)."""

    request: Request
    number: int  # 0: the first; 1: the re-signed retry after -1021
    text: str
    timestamp_ms: int | None  # what it was signed with; None when unsigned


@dataclass(frozen=True, slots=True)
class Outcome(Generic[T]):
    """What became of one attempt: a value or an error, and whether to resync and retry once."""

    value: T | None = None
    error: VenueError | None = None
    resync_and_retry: bool = False

    def result(self) -> T:
        """Raises:
        VenueError: the attempt's error.
        """
        if self.error is not None:
            raise self.error
        return cast(T, self.value)


class RequestPipeline:
    """Admission, signing and classification of requests over one wire; holds no connection."""

    def __init__(
        self,
        *,
        wire: Wire,
        credentials: Credentials | None,
        timesync: TimeSync,
        rate: RateController,
        errors: ErrorRateTracker,
        recv_window_ms: int = 5000,
        max_wait_ns: Mapping[OpKind, int] = DEFAULT_MAX_WAIT_NS,
        can_resync: bool = True,
    ) -> None:
        """``can_resync``: the shell can probe the venue's clock; without it a -1021 is final.

        Raises:
            ValueError: ``recv_window_ms`` outside 1..60000.
        """
        if not 0 < recv_window_ms <= 60_000:
            raise ValueError("recv_window_ms must be in 1..60000")
        self.wire = wire
        self._credentials = credentials
        self.timesync = timesync
        self.rate = rate
        self.errors = errors
        self.recv_window_ms = recv_window_ms
        self._recv_window = f"recvWindow={recv_window_ms}&timestamp="
        self._max_wait_ns = dict(max_wait_ns)
        self._can_resync = can_resync
        self._key_headers: dict[str, str] = (
            {"X-MBX-APIKEY": credentials.api_key} if credentials is not None else {}
        )
        self._decoders: dict[type[Any], msgspec.json.Decoder[Any]] = {}
        self._error_decoder = msgspec.json.Decoder(schemas.ErrorBody)

    # -- before sending --------------------------------------------------------------------------

    def prepare(
        self,
        endpoint: Endpoint,
        params: ParamSeq,
        *,
        priority: Priority | None = None,
        client_order_id: str | None = None,
    ) -> Request:
        """Raises:
        MissingCredentialsError: the endpoint needs credentials we lack (or, over the WS API,
            is not a signed method): nothing sent.
        """
        if self.wire is Wire.WS_API:
            if endpoint.security is not Security.SIGNED or self._credentials is None:
                raise MissingCredentialsError(f"{endpoint.name}: only signed methods are supported")
            label, query = endpoint.path, ""
        else:
            if endpoint.security is not Security.NONE and self._credentials is None:
                raise MissingCredentialsError(f"{endpoint.name} needs API credentials")
            label, query = endpoint.name, encode_query(params)
        has_symbol = any(k == "symbol" for k, _ in params)
        return Request(
            endpoint=endpoint,
            params=params,
            query=query,
            priority=Priority.of(endpoint.op) if priority is None else priority,
            weight=endpoint.weight_for(has_symbol),
            client_order_id=client_order_id,
            label=label,
        )

    def admit(self, request: Request, waited_ns: int = 0) -> int:
        """Charge the rate budget and return 0, or the ns to wait before asking again.

        Raises:
            RateBudgetExceededError: waiting would pass the operation's limit (nothing charged).
            SendingHaltedError: sending is halted after an IP ban.
        """
        ep = request.endpoint
        wait = self.rate.admit(
            request.weight, ep.orders_10s, ep.orders_1m, priority=request.priority
        )
        if wait and waited_ns + wait > self._max_wait_ns.get(ep.op, 0):
            raise RateBudgetExceededError(
                f"{request.label}: rate budget exhausted for {wait / 1e6:.0f} ms", wait_ns=wait
            )
        return wait

    def headers(self, request: Request) -> Mapping[str, str]:
        """The REST headers: the API key for every endpoint that is not public."""
        return self._key_headers if request.endpoint.security is not Security.NONE else {}

    def sign(self, request: Request, number: int = 0, *, request_id: str = "") -> Attempt:
        """The text to send now (``request_id``: the WS API frame's id), signed with the venue's
        clock as estimated at this moment."""
        if request.endpoint.security is not Security.SIGNED:
            return Attempt(request, number, request.query, None)
        creds = self._credentials
        assert creds is not None  # prepare() refused the request otherwise
        timestamp = self.timesync.now_ms()
        if self.wire is Wire.WS_API:
            signed: dict[str, str | int] = {
                k: int(v) if k in _WS_INT_PARAMS else v for k, v in request.params
            }
            signed["apiKey"] = creds.api_key
            signed["recvWindow"] = self.recv_window_ms
            signed["timestamp"] = timestamp
            payload = "&".join(f"{k}={signed[k]}" for k in sorted(signed))
            signed["signature"] = creds.signer.sign(payload)
            frame = {"id": request_id, "method": request.endpoint.path, "params": signed}
            return Attempt(request, number, msgspec.json.encode(frame).decode(), timestamp)
        query = request.query
        payload = (
            f"{query}&{self._recv_window}{timestamp}"
            if query
            else f"{self._recv_window}{timestamp}"
        )
        signature = creds.signer.sign(payload)
        if not creds.signer.url_safe:
            signature = quote(signature, safe="")
        return Attempt(request, number, f"{payload}&signature={signature}", timestamp)

    # -- after sending ---------------------------------------------------------------------------

    def on_http_reply(self, attempt: Attempt, reply: HttpReply, reply_type: type[T]) -> Outcome[T]:
        """A complete HTTP reply: usage headers to rate control; 2xx decoded, else classified."""
        self.rate.on_headers(reply.headers)
        if not 200 <= reply.status < 300:
            return self._finish(attempt, None, self._http_error(attempt, reply))
        try:
            value = self._decode(reply_type, reply.body)
        except _UNREADABLE as exc:
            # A 2xx carrying an error object is still an error; anything else is unreadable.
            code, _ = self._read_error(reply.body)
            if isinstance(code, int) and code < 0:
                return self._finish(attempt, None, self._http_error(attempt, reply))
            label = attempt.request.label
            error = ProtocolError(
                f"{label}: unreadable reply ({exc})", http_status=reply.status, endpoint=label
            )
            return self._finish(attempt, None, error)
        return self._finish(attempt, value, None)

    def on_ws_reply(
        self, attempt: Attempt, reply: schemas.WsApiReply, reply_type: type[T]
    ) -> Outcome[T]:
        """A WS API reply envelope: ``rateLimits`` to rate control; a 200 result decoded, else
        ``error`` classified."""
        for limit in reply.rate_limits or ():
            if limit.count is not None:
                self.rate.on_usage(
                    limit.rate_limit_type, limit.interval, limit.interval_num, limit.count
                )
        label = attempt.request.label
        if reply.status == 200 and len(reply.result):
            try:
                value = self._decode(reply_type, reply.result)
            except _UNREADABLE as exc:
                error = ProtocolError(
                    f"{label}: unreadable result ({exc})", http_status=reply.status, endpoint=label
                )
                return self._finish(attempt, None, error)
            return self._finish(attempt, value, None)
        err = reply.error
        code = err.code if err is not None else None
        if isinstance(code, str):
            code = int_text(code)
        msg = err.msg if err is not None else ""
        return self._finish(attempt, None, self._classified(attempt, reply.status, code, msg, None))

    def on_failure(self, attempt: Attempt, error: VenueError) -> Outcome[Any]:
        """The transport failed (``NotSent``: nothing left; ``OutcomeUnknown``: it may have)."""
        return self._finish(attempt, None, error)

    def _finish(self, attempt: Attempt, value: Any, error: VenueError | None) -> Outcome[Any]:
        request = attempt.request
        if error is not None:
            error.client_order_id = error.client_order_id or request.client_order_id
            if isinstance(error, OutcomeUnknown) and attempt.timestamp_ms is not None:
                error.sent_timestamp_ms = attempt.timestamp_ms  # when it can no longer execute
        self.errors.record(request.label, outcome_of(error))
        retry = (
            isinstance(error, Rejected)
            and not isinstance(error, RateLimited)  # never straight back after a 429
            and error.code == INVALID_TIMESTAMP
            and attempt.number == 0
            and request.endpoint.security is Security.SIGNED
            and self._can_resync
        )
        if retry:
            log.warning("%s: -1021, resyncing the clock and retrying once", request.label)
            self.timesync.invalidate()  # the clock we measured against has moved
        return Outcome(value, error, retry)

    def _decode(self, reply_type: type[T], data: bytes | msgspec.Raw) -> T:
        decoder = self._decoders.get(reply_type)
        if decoder is None:
            decoder = self._decoders[reply_type] = msgspec.json.Decoder(reply_type)
        return decoder.decode(data)  # type: ignore[no-any-return]

    def _read_error(self, body: bytes) -> tuple[int | None, str]:
        try:
            err = self._error_decoder.decode(body)
        except _UNREADABLE:
            return None, body[:200].decode("utf-8", "replace")  # e.g. a plain-text 503
        code = err.code
        if isinstance(code, str):
            code = int_text(code)
        return code, err.msg

    def _http_error(self, attempt: Attempt, reply: HttpReply) -> VenueError:
        code, msg = self._read_error(reply.body)
        return self._classified(attempt, reply.status, code, msg, retry_after_ms(reply.headers))

    def _classified(
        self, attempt: Attempt, status: int, code: int | None, msg: str, retry_after: int | None
    ) -> VenueError:
        label = attempt.request.label
        exc = classify(
            status,
            code,
            msg,
            endpoint=label,
            retry_after_ms=retry_after,
            client_order_id=attempt.request.client_order_id,
        )
        if isinstance(exc, IpBanned):
            log.critical("%s: IP banned by Binance (HTTP 418); sending halted", label)
        elif isinstance(exc, RateLimited):
            log.warning("%s: rate limited (%s); cooling down", label, status)
        self.rate.on_error(exc)
        return exc


def retry_after_ms(headers: Mapping[str, str]) -> int | None:
    """The ``Retry-After`` header in ms, when it is a believable number of seconds."""
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
