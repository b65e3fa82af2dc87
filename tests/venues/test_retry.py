"""Retry policy: what may be repeated, on which schedule."""

from __future__ import annotations

import pytest

from mmoms.core.clock import NANOS_PER_MILLI
from mmoms.venues.binance.endpoints import OpKind
from mmoms.venues.binance.retry import (
    DEFAULT_SCHEDULE_NS,
    RetryPolicy,
    is_repeatable,
    run_with_retry,
)
from mmoms.venues.errors import (
    NotSent,
    OrderNotFound,
    OutcomeUnknown,
    ProtocolError,
    RateLimited,
    Rejected,
    VenueError,
)

NOT_EXECUTED = Rejected("503 Service Unavailable.", retryable=True)
DEFINITE = Rejected("margin", code=-2019)
UNKNOWN = OutcomeUnknown("timeout")
TIMESTAMP = Rejected("-1021", code=-1021, retryable=True)


@pytest.mark.parametrize(
    ("op", "error", "expected"),
    [
        (OpKind.QUERY, UNKNOWN, True),
        (OpKind.QUERY, ProtocolError("x"), True),
        (OpKind.QUERY, NOT_EXECUTED, True),
        (OpKind.QUERY, DEFINITE, False),
        (OpKind.CANCEL, UNKNOWN, True),
        (OpKind.CANCEL, OrderNotFound("x", code=-2011), False),
        (OpKind.IDEMPOTENT, UNKNOWN, True),
        (OpKind.PLACE, NOT_EXECUTED, True),
        (OpKind.PLACE, NotSent("refused", retryable=True), True),
        (OpKind.PLACE, UNKNOWN, False),
        (OpKind.PLACE, ProtocolError("x"), False),
        (OpKind.PLACE, DEFINITE, False),
        (OpKind.AMEND, UNKNOWN, False),
        (OpKind.AMEND, NOT_EXECUTED, True),
        (OpKind.PLACE, RateLimited("429"), False),
        (OpKind.QUERY, RateLimited("429"), False),
        (OpKind.PLACE, TIMESTAMP, False),
        (OpKind.QUERY, ValueError("local"), False),
    ],
)
def test_is_repeatable(op: OpKind, error: BaseException, expected: bool) -> None:
    assert is_repeatable(op, error) is expected


def test_default_schedule() -> None:
    assert tuple(d // NANOS_PER_MILLI for d in DEFAULT_SCHEDULE_NS) == (0, 30, 100, 300)


@pytest.mark.asyncio
async def test_run_with_retry_follows_the_schedule_then_gives_up() -> None:
    slept: list[float] = []
    attempts: list[int] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async def attempt(n: int) -> str:
        attempts.append(n)
        raise UNKNOWN

    with pytest.raises(OutcomeUnknown):
        await run_with_retry(OpKind.QUERY, attempt, RetryPolicy(), sleep=sleep)
    assert attempts == [0, 1, 2, 3, 4]
    assert slept == [0.03, 0.1, 0.3]  # the 0 ms retry does not sleep


@pytest.mark.asyncio
async def test_run_with_retry_succeeds_after_a_not_executed_error() -> None:
    async def attempt(n: int) -> str:
        if n < 2:
            raise NOT_EXECUTED
        return "ok"

    async def no_sleep(_: float) -> None:
        pass

    assert await run_with_retry(OpKind.PLACE, attempt, RetryPolicy(), sleep=no_sleep) == "ok"


@pytest.mark.asyncio
@pytest.mark.parametrize("error", [UNKNOWN, DEFINITE])
async def test_a_new_order_is_never_repeated_after_unknown_or_definite(error: VenueError) -> None:
    calls = 0

    async def attempt(n: int) -> str:
        nonlocal calls
        calls += 1
        raise error

    with pytest.raises(type(error)):
        await run_with_retry(OpKind.PLACE, attempt, RetryPolicy())
    assert calls == 1
