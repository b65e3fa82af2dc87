"""Time as a dependency.

The core never calls ``time.time()``: components receive a :class:`Clock`. Production uses
:class:`LiveClock`; tests use :class:`TestClock` and advance it instead of sleeping.
Timestamps are integer nanoseconds since the Unix epoch.
"""

from __future__ import annotations

import time
from typing import Protocol

NANOS_PER_MILLI = 1_000_000
NANOS_PER_SECOND = 1_000_000_000


class Clock(Protocol):
    """Source of wall-clock and monotonic time, both in integer nanoseconds."""

    def time_ns(self) -> int:
        """Wall-clock time (Unix epoch), nanoseconds."""
        ...

    def monotonic_ns(self) -> int:
        """Monotonic time for measuring intervals, nanoseconds."""
        ...


class LiveClock:
    """The real clock."""

    def time_ns(self) -> int:
        return time.time_ns()

    def monotonic_ns(self) -> int:
        return time.monotonic_ns()


class TestClock:
    """A clock that moves only when told to. Wall and monotonic time advance together."""

    __test__ = False  # not a pytest test class

    def __init__(self, start_ns: int = 1_700_000_000 * NANOS_PER_SECOND) -> None:
        self._now = start_ns

    def time_ns(self) -> int:
        return self._now

    def monotonic_ns(self) -> int:
        return self._now

    def advance(self, delta_ns: int) -> int:
        """Move time forward by ``delta_ns`` (must be >= 0); return the new time.

        Raises:
            ValueError: if ``delta_ns`` is negative (time never runs backwards).
        """
        if delta_ns < 0:
            raise ValueError(f"time cannot run backwards (delta {delta_ns} ns)")
        self._now += delta_ns
        return self._now

    def set(self, now_ns: int) -> None:
        """Jump to ``now_ns``.

        Raises:
            ValueError: if ``now_ns`` lies before the current time.
        """
        self.advance(now_ns - self._now)


class ManualClock:
    """A clock whose reading is set by its owner, e.g. to a journal record's timestamp.

    Unlike :class:`TestClock` it may be set backwards: replaying a journal reproduces whatever
    the wall clock said, NTP steps included.
    """

    def __init__(self, now_ns: int = 0) -> None:
        self.now_ns = now_ns

    def time_ns(self) -> int:
        return self.now_ns

    def monotonic_ns(self) -> int:
        return self.now_ns


def ms_to_ns(ms: int) -> int:
    return ms * NANOS_PER_MILLI


def ns_to_ms(ns: int) -> int:
    return ns // NANOS_PER_MILLI
