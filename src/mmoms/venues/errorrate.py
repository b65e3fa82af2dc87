"""API error rate per endpoint over a sliding window, for the risk layer's circuit breaker.

Pure and clock-injected. Every finished request is recorded once as one of three outcomes:

* ``OK``;
* ``REJECTED`` — the venue refused for a business reason (post-only would cross, margin, filters).
  A market maker sees these in normal quoting, so they are *not* errors; :meth:`reject_rate`
  reports them separately;
* ``FAILED`` — the API misbehaved: outcome unknown, unreadable reply, not sent, rate limited,
  "try again" server errors. :meth:`error_rate` is the share of these.

Memory is bounded: the window is pruned on every call and each endpoint keeps at most
``max_samples`` entries.
"""

from __future__ import annotations

from collections import deque
from enum import StrEnum

from mmoms.core.clock import NANOS_PER_SECOND, Clock
from mmoms.venues.errors import RateLimited, Rejected


class CallOutcome(StrEnum):
    OK = "OK"
    REJECTED = "REJECTED"
    FAILED = "FAILED"


def outcome_of(error: BaseException | None) -> CallOutcome:
    """Classify a finished call: None → OK; a definite business refusal → REJECTED; else FAILED."""
    if error is None:
        return CallOutcome.OK
    if isinstance(error, Rejected) and not error.retryable and not isinstance(error, RateLimited):
        return CallOutcome.REJECTED
    return CallOutcome.FAILED


class _Window:
    """One endpoint's samples with running counts, so a rate is O(1), not a scan."""

    __slots__ = ("counts", "samples")

    def __init__(self) -> None:
        self.samples: deque[tuple[int, CallOutcome]] = deque()
        self.counts = dict.fromkeys(CallOutcome, 0)

    def append(self, ts: int, outcome: CallOutcome, max_samples: int) -> None:
        if len(self.samples) >= max_samples:
            self.counts[self.samples.popleft()[1]] -= 1
        self.samples.append((ts, outcome))
        self.counts[outcome] += 1

    def prune(self, horizon: int) -> None:
        samples, counts = self.samples, self.counts
        while samples and samples[0][0] <= horizon:
            counts[samples.popleft()[1]] -= 1


class ErrorRateTracker:
    """Sliding-window outcome counts per endpoint (``"POST /fapi/v1/order"``, ``"order.place"``)."""

    def __init__(
        self, clock: Clock, window_ns: int = 60 * NANOS_PER_SECOND, max_samples: int = 10_000
    ) -> None:
        """Raises:
        ValueError: a non-positive window or sample bound.
        """
        if window_ns <= 0 or max_samples <= 0:
            raise ValueError("window and max_samples must be positive")
        self._clock = clock
        self._window_ns = window_ns
        self._max = max_samples
        self._windows: dict[str, _Window] = {}

    def record(self, endpoint: str, outcome: CallOutcome) -> None:
        window = self._windows.get(endpoint)
        if window is None:
            window = self._windows[endpoint] = _Window()
        window.append(self._clock.monotonic_ns(), outcome, self._max)

    def error_rate(self, endpoint: str) -> float:
        """Share of FAILED calls to ``endpoint`` in the window (0.0 with no calls)."""
        return self._rate([endpoint], CallOutcome.FAILED)

    def reject_rate(self, endpoint: str) -> float:
        """Share of business rejections of ``endpoint`` in the window (0.0 with no calls)."""
        return self._rate([endpoint], CallOutcome.REJECTED)

    def overall_error_rate(self) -> float:
        """Share of FAILED calls over every endpoint in the window (0.0 with no calls)."""
        return self._rate(list(self._windows), CallOutcome.FAILED)

    def calls(self, endpoint: str) -> int:
        """Calls to ``endpoint`` in the window."""
        window = self._pruned(endpoint)
        return 0 if window is None else len(window.samples)

    def endpoints(self) -> list[str]:
        return sorted(e for e in self._windows if self.calls(e))

    def _rate(self, endpoints: list[str], outcome: CallOutcome) -> float:
        total = hits = 0
        for endpoint in endpoints:
            window = self._pruned(endpoint)
            if window is not None:
                total += len(window.samples)
                hits += window.counts[outcome]
        return hits / total if total else 0.0

    def _pruned(self, endpoint: str) -> _Window | None:
        window = self._windows.get(endpoint)
        if window is not None:
            window.prune(self._clock.monotonic_ns() - self._window_ns)
        return window
