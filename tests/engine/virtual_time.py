"""An asyncio event loop on virtual time, for engine tests that span seconds of trading.

The loop's clock is a :class:`~mmoms.core.clock.TestClock`: when nothing is ready to run,
instead of sleeping until its next timer the loop moves the TestClock there and runs it. The
engine's windows, retries and budget timers then fire at exact test times, and 30 s of quoting
take as long as the work done in them. Only in-process waits are supported (queues, events,
timers: the fake venue); a real socket would never be waited for.
"""

from __future__ import annotations

import asyncio
import math
import selectors
from collections.abc import Coroutine
from typing import Any, TypeVar

from mmoms.core.clock import NANOS_PER_SECOND, TestClock

T = TypeVar("T")


class _JumpingSelector(selectors.DefaultSelector):
    """Polls without blocking; a wait for the next timer becomes a jump of the clock."""

    def __init__(self, clock: TestClock) -> None:
        super().__init__()
        self._clock = clock

    def select(self, timeout: float | None = None) -> list[tuple[Any, int]]:
        ready: list[tuple[Any, int]] = super().select(0)
        if ready or timeout == 0:
            return ready
        if timeout is None:  # no timer and nothing ready: the test would hang forever
            raise RuntimeError("virtual time: nothing is scheduled, nothing can wake the loop")
        self._clock.advance(math.ceil(timeout * NANOS_PER_SECOND))
        return ready


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    def __init__(self, clock: TestClock) -> None:
        super().__init__(_JumpingSelector(clock))
        self.clock = clock
        self._origin = clock.monotonic_ns()  # small floats: timers land on the nanosecond

    def time(self) -> float:
        return (self.clock.monotonic_ns() - self._origin) / NANOS_PER_SECOND


def run_virtual(clock: TestClock, main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` to completion on a loop whose time is ``clock``."""
    loop = VirtualTimeLoop(clock)
    try:
        return loop.run_until_complete(main)
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
