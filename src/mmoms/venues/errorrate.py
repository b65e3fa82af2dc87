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
        self._samples: dict[str, deque[tuple[int, CallOutcome]]] = {}

    def record(self, endpoint: str, outcome: CallOutcome) -> None:
        samples = self._samples.get(endpoint)
        if samples is None:
            samples = self._samples[endpoint] = deque(maxlen=self._max)
        samples.append((self._clock.monotonic_ns(), outcome))

    def error_rate(self, endpoint: str) -> float:
        """Share of FAILED calls to ``endpoint`` in the window (0.0 with no calls)."""
        return self._rate([endpoint], CallOutcome.FAILED)

    def reject_rate(self, endpoint: str) -> float:
        """Share of business rejections of ``endpoint`` in the window (0.0 with no calls)."""
        return self._rate([endpoint], CallOutcome.REJECTED)

    def overall_error_rate(self) -> float:
        """Share of FAILED calls over every endpoint in the window (0.0 with no calls)."""
        return self._rate(list(self._samples), CallOutcome.FAILED)

    def calls(self, endpoint: str) -> int:
        """Calls to ``endpoint`` in the window."""
        return len(self._pruned(endpoint))

    def endpoints(self) -> list[str]:
        return sorted(e for e in self._samples if self._pruned(e))

    def _rate(self, endpoints: list[str], outcome: CallOutcome) -> float:
        total = hits = 0
        for endpoint in endpoints:
            samples = self._pruned(endpoint)
            total += len(samples)
            hits += sum(1 for _, o in samples if o is outcome)
        return hits / total if total else 0.0

    def _pruned(self, endpoint: str) -> deque[tuple[int, CallOutcome]]:
        samples = self._samples.get(endpoint)
        if samples is None:
            return deque()
        horizon = self._clock.monotonic_ns() - self._window_ns
        while samples and samples[0][0] <= horizon:
            samples.popleft()
        return samples
