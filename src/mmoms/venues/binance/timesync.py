"""Server-time offset estimation (pure, clock-injected).

Binance rejects a signed request whose ``timestamp`` is 1000 ms ahead of its clock or older than
``recvWindow`` (-1021), so every timestamp we sign is *our* wall clock plus an estimated offset.

Estimate: probe ``GET /fapi/v1/time``; assume the server read its clock half-way through the
round trip (round trip measured on the monotonic clock, immune to wall-clock steps), so
``offset = serverTime - (t_send_wall + rtt / 2)``. Of the last few samples the one with the
*shortest* round trip wins: its midpoint assumption has the least room to be wrong (the NTP
idea). Samples expire, so a stepped local clock is noticed at the next refresh.

The shell (:mod:`.gateway`) refreshes every ``refresh_interval_ns`` and at once after -1021
(:meth:`TimeSync.invalidate` drops every sample: the clock we measured against has moved).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from mmoms.core.clock import NANOS_PER_MILLI, NANOS_PER_SECOND, Clock


@dataclass(frozen=True, slots=True)
class Probe:
    """When a time request left: wall clock for the offset, monotonic for the round trip."""

    wall_ns: int
    mono_ns: int


@dataclass(frozen=True, slots=True)
class TimeSample:
    offset_ns: int  # server minus local wall clock
    rtt_ns: int
    taken_mono_ns: int


class TimeSync:
    """Keeps the offset between the venue's clock and ours."""

    def __init__(
        self,
        clock: Clock,
        *,
        refresh_interval_ns: int = 60 * NANOS_PER_SECOND,
        sample_ttl_ns: int = 300 * NANOS_PER_SECOND,
        max_samples: int = 8,
    ) -> None:
        self._clock = clock
        self._refresh_interval_ns = refresh_interval_ns
        self._sample_ttl_ns = sample_ttl_ns
        self._samples: deque[TimeSample] = deque(maxlen=max_samples)
        self._offset_ns = 0
        self._last_sync_mono_ns: int | None = None

    def begin(self) -> Probe:
        """Call just before sending the time request."""
        return Probe(self._clock.time_ns(), self._clock.monotonic_ns())

    def complete(self, probe: Probe, server_time_ms: int) -> TimeSample:
        """Feed the reply; returns the sample and updates the estimate."""
        now_mono = self._clock.monotonic_ns()
        rtt = max(0, now_mono - probe.mono_ns)
        midpoint_wall = probe.wall_ns + rtt // 2
        sample = TimeSample(server_time_ms * NANOS_PER_MILLI - midpoint_wall, rtt, now_mono)
        self._samples.append(sample)
        self._last_sync_mono_ns = now_mono
        fresh = [s for s in self._samples if now_mono - s.taken_mono_ns <= self._sample_ttl_ns]
        # Shortest round trip wins; on a tie the newest (the clocks may have drifted since).
        self._offset_ns = min(fresh, key=lambda s: (s.rtt_ns, -s.taken_mono_ns)).offset_ns
        return sample

    def invalidate(self) -> None:
        """The venue said our timestamp is off (-1021): forget every sample; refresh is due."""
        self._samples.clear()
        self._last_sync_mono_ns = None

    def needs_refresh(self) -> bool:
        last = self._last_sync_mono_ns
        return last is None or self._clock.monotonic_ns() - last >= self._refresh_interval_ns

    def next_refresh_in_ns(self) -> int:
        """Nanoseconds until the next periodic refresh (0 if due)."""
        last = self._last_sync_mono_ns
        if last is None:
            return 0
        return max(0, last + self._refresh_interval_ns - self._clock.monotonic_ns())

    @property
    def offset_ms(self) -> int:
        return self._offset_ns // NANOS_PER_MILLI

    @property
    def synced(self) -> bool:
        return self._last_sync_mono_ns is not None

    def now_ms(self) -> int:
        """The venue's clock as we estimate it, in ms: what goes into ``timestamp``."""
        return (self._clock.time_ns() + self._offset_ns) // NANOS_PER_MILLI
