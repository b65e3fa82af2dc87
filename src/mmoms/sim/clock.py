"""Time sources for the simulator.

The exchange only ever calls :meth:`SimClock.time_ms`; the transport calls it too (timestamp
windows, rate-limit windows). Two implementations:

* :class:`LiveSimClock` follows the wall clock. Its ``skew_ms`` lets a scenario pretend the
  exchange's clock runs ahead of or behind the client's (fault injection: ``-1021`` storms).
* :class:`VirtualSimClock` moves only when told to, so tests and long scenarios (listenKey expiry,
  rate-limit windows, GTD orders) run instantly and deterministically, without sleeping.
"""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable

__all__ = ["LiveSimClock", "SimClock", "VirtualSimClock"]


@runtime_checkable
class SimClock(Protocol):
    """Milliseconds since the Unix epoch, as the exchange sees them."""

    def time_ms(self) -> int: ...


class LiveSimClock:
    """The wall clock plus an adjustable skew (ms; positive = exchange ahead of real time)."""

    __slots__ = ("skew_ms",)

    def __init__(self, skew_ms: int = 0) -> None:
        self.skew_ms = skew_ms

    def time_ms(self) -> int:
        return time.time_ns() // 1_000_000 + self.skew_ms


class VirtualSimClock:
    """A clock that stands still until :meth:`advance` or :meth:`set` moves it.

    Time never goes backwards: :meth:`set` to an earlier instant raises ``ValueError``, because the
    exchange's windows and expiry timers assume a monotone clock.
    """

    __slots__ = ("_now_ms",)

    DEFAULT_START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z, a round, recognisable instant

    def __init__(self, start_ms: int = DEFAULT_START_MS) -> None:
        self._now_ms = start_ms

    def time_ms(self) -> int:
        return self._now_ms

    def advance(self, delta_ms: int) -> int:
        """Move forward by ``delta_ms`` (>= 0) and return the new time; raises ``ValueError``."""
        if delta_ms < 0:
            raise ValueError(f"cannot move a clock backwards (delta {delta_ms} ms)")
        self._now_ms += delta_ms
        return self._now_ms

    def set(self, now_ms: int) -> None:
        """Jump to ``now_ms``; raises ``ValueError`` if that is earlier than the current time."""
        if now_ms < self._now_ms:
            raise ValueError(f"cannot move a clock backwards ({self._now_ms} -> {now_ms})")
        self._now_ms = now_ms
