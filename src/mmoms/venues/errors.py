"""Errors of the venue layer, in the three kinds the OMS acts on, plus local errors.

The OMS needs to know one thing about a failed request: *could it have executed?*

* :class:`Rejected` — the venue answered and said no. Definite: the order does not exist
  (or the cancel / amend did not happen). ``retryable`` marks the "not executed, try again"
  answers (5xx "Service Unavailable", -1001, -1008, -1021, -5028) which the retry policy may
  repeat where repeating is safe.
* :class:`OutcomeUnknown` — a timeout after the request may have left, a dropped connection,
  the documented 503 "Unknown error…", -1006 / -1007. The order may exist: keep it in flight
  and resolve it by client order id, never report it rejected.
* :class:`ProtocolError` — we could not read the reply. After a 2xx it may well have executed,
  so it counts as "may have executed" too.

Read :attr:`VenueError.may_have_executed` rather than testing classes when the only question is
whether to resolve. Library exceptions (aiohttp, asyncio) are converted into these once, in
:mod:`mmoms.venues.transport`; nothing above it sees a library exception.

Local errors (bad arguments, missing credentials, a halted or exhausted send budget) derive from
:class:`mmoms.core.errors.MmomsError` and are raised *before* anything is sent.

Messages never contain secrets: no API key, secret, signature or signed query string is ever
put into an exception (only the endpoint name, the venue's code and the venue's message).
"""

from __future__ import annotations

from typing import ClassVar

from mmoms.core.errors import MmomsError


class VenueError(MmomsError):
    """A request to a venue failed. Base of the three kinds; carries the venue's answer.

    Attributes:
        code: the venue's error code, if it sent one.
        http_status: the HTTP (or WS API envelope) status, if there was a reply.
        venue_message: the venue's own message text (never contains our secrets).
        endpoint: ``"METHOD /path"`` or the WS API method, for logs and error-rate tracking.
        retryable: the venue documents the request as not executed and safe to repeat.
        client_order_id: the order this request was about, when known.
    """

    may_have_executed: ClassVar[bool] = True
    kind: ClassVar[str] = "ERROR"

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        http_status: int | None = None,
        venue_message: str = "",
        endpoint: str = "",
        retryable: bool = False,
        client_order_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.http_status = http_status
        self.venue_message = venue_message
        self.endpoint = endpoint
        self.retryable = retryable
        self.client_order_id = client_order_id

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.args[0]!r}, code={self.code}, "
            f"http_status={self.http_status}, endpoint={self.endpoint!r})"
        )


class Rejected(VenueError):  # noqa: N818 -- the kind's name in the OMS vocabulary
    """The venue said no: the request definitely did not take effect."""

    may_have_executed: ClassVar[bool] = False
    kind: ClassVar[str] = "REJECTED"


class NotSent(Rejected):
    """The request never left (connection refused, DNS failure): definitely not executed."""

    kind: ClassVar[str] = "NOT_SENT"


class OrderNotFound(Rejected):
    """The venue does not know the order (Binance -2013 "Order does not exist.", -2011 on cancel).

    The gateway turns this into an :class:`~mmoms.core.reports.OrderNotFoundReport` where the
    OMS asked about one order, so the OMS reconciles it.
    """

    kind: ClassVar[str] = "NOT_FOUND"


class DuplicateClientOrderId(Rejected):
    """The client order id is already in use (Binance -4116).

    After a timeout this means the earlier attempt *was* accepted: resolve by query.
    """

    kind: ClassVar[str] = "DUPLICATE_ID"


class RateLimited(Rejected):
    """Too many requests (HTTP 429, -1003, -1015): not executed; send less.

    Attributes:
        retry_after_ms: the venue's Retry-After, if it sent one.
    """

    kind: ClassVar[str] = "RATE_LIMITED"

    def __init__(
        self,
        message: str,
        *,
        retry_after_ms: int | None = None,
        code: int | None = None,
        http_status: int | None = None,
        venue_message: str = "",
        endpoint: str = "",
        client_order_id: str | None = None,
    ) -> None:
        super().__init__(
            message,
            code=code,
            http_status=http_status,
            venue_message=venue_message,
            endpoint=endpoint,
            retryable=False,  # the rate controller decides when to send again, not the retry loop
            client_order_id=client_order_id,
        )
        self.retry_after_ms = retry_after_ms


class IpBanned(RateLimited):
    """HTTP 418: the IP is banned for ignoring 429s. Sending halts; this is an alert."""

    kind: ClassVar[str] = "BANNED"


class OutcomeUnknown(VenueError):  # noqa: N818 -- the kind's name in the OMS vocabulary
    """The request may or may not have executed. Resolve by client order id; never re-send blindly.

    Attributes:
        sent_timestamp_ms: the ``timestamp`` the request was signed with, when known. Once the
            venue's clock passes ``sent_timestamp_ms + recvWindow`` the request can no longer
            execute, so a "not found" after that is definite.
    """

    kind: ClassVar[str] = "UNKNOWN"

    def __init__(
        self,
        message: str,
        *,
        sent_timestamp_ms: int | None = None,
        code: int | None = None,
        http_status: int | None = None,
        venue_message: str = "",
        endpoint: str = "",
        client_order_id: str | None = None,
    ) -> None:
        super().__init__(
            message,
            code=code,
            http_status=http_status,
            venue_message=venue_message,
            endpoint=endpoint,
            retryable=False,  # never blindly: only idempotent requests are repeated (retry.py)
            client_order_id=client_order_id,
        )
        self.sent_timestamp_ms = sent_timestamp_ms


class ProtocolError(VenueError):
    """We could not read the reply (not JSON, wrong shape). After a 2xx it may have executed."""

    kind: ClassVar[str] = "PROTOCOL"


# -- local errors: raised before anything is sent ------------------------------------------


class MissingCredentialsError(MmomsError, ValueError):
    """A signed request was asked for but no API key / secret is configured."""


class SendingHaltedError(MmomsError):
    """Sending is halted (the IP was banned with HTTP 418). Nothing was sent.

    Attributes:
        until_ns: monotonic time at which sending resumes by itself, or None until resumed by hand.
    """

    def __init__(self, message: str, *, until_ns: int | None = None) -> None:
        super().__init__(message)
        self.until_ns = until_ns


class RateBudgetExceededError(MmomsError):
    """The local rate budget has no room for this request within its wait limit. Nothing was sent.

    Attributes:
        wait_ns: how long until the budget would have room.
    """

    def __init__(self, message: str, *, wait_ns: int) -> None:
        super().__init__(message)
        self.wait_ns = wait_ns


class GatewayClosedError(MmomsError):
    """The gateway (or one of its transports) is closed. Nothing was sent."""
