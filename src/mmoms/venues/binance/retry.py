"""When a failed request may be repeated, and the loop that repeats it.

Schedule: retries after 0, 30, 100 and 300 ms, then give up (configurable). What may be
repeated depends on the operation (:class:`~.endpoints.OpKind`) and the error kind:

==========================  ==================  ==================  ===================
error                       QUERY / IDEMPOTENT  CANCEL              PLACE / AMEND
==========================  ==================  ==================  ===================
Rejected, retryable         repeat              repeat              repeat (same id)
OutcomeUnknown              repeat              repeat (harmless)   **never**: resolve
ProtocolError               repeat              repeat              **never**: resolve
Rejected (definite)         no                  no                  no
RateLimited / IpBanned      no (rate control)   no                  no
-1021                       no (the request layer already resynced and re-signed once)
==========================  ==================  ==================  ===================

A new order is only repeated with the *same* client order id, so a repeat that reaches the
venue after an attempt we thought failed is refused as a duplicate (-4116), never doubled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from mmoms.core.clock import NANOS_PER_MILLI, NANOS_PER_SECOND
from mmoms.venues.binance.endpoints import OpKind
from mmoms.venues.binance.errors import INVALID_TIMESTAMP
from mmoms.venues.errors import OutcomeUnknown, ProtocolError, RateLimited, Rejected

T = TypeVar("T")

DEFAULT_SCHEDULE_NS: tuple[int, ...] = tuple(ms * NANOS_PER_MILLI for ms in (0, 30, 100, 300))

_REPEATABLE_OPS = frozenset({OpKind.QUERY, OpKind.IDEMPOTENT, OpKind.CANCEL})


def is_repeatable(op: OpKind, error: BaseException) -> bool:
    """Whether repeating ``op`` after ``error`` is safe (the table in the module docstring)."""
    if isinstance(error, RateLimited):
        return False
    if isinstance(error, Rejected):
        return error.retryable and error.code != INVALID_TIMESTAMP
    if isinstance(error, OutcomeUnknown | ProtocolError):
        return op in _REPEATABLE_OPS
    return False


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    schedule_ns: tuple[int, ...] = DEFAULT_SCHEDULE_NS

    def delay_before_retry(self, op: OpKind, error: BaseException, retries_done: int) -> int | None:
        """Nanoseconds to wait before retry number ``retries_done + 1``, or None to give up."""
        if retries_done >= len(self.schedule_ns) or not is_repeatable(op, error):
            return None
        return self.schedule_ns[retries_done]


async def run_with_retry(
    op: OpKind,
    attempt: Callable[[int], Awaitable[T]],
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> T:
    """Call ``attempt(n)`` (n = retries so far) until it succeeds or the policy gives up.

    Raises:
        VenueError: the last attempt's error, when it may not be repeated or retries ran out.
    """
    retries = 0
    while True:
        try:
            return await attempt(retries)
        except (Rejected, OutcomeUnknown, ProtocolError) as exc:
            delay = policy.delay_before_retry(op, exc, retries)
            if delay is None:
                raise
            retries += 1
            if delay:
                await sleep(delay / NANOS_PER_SECOND)
