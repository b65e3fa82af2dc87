"""Server-time offset: round-trip compensation, best sample, invalidation, refresh."""

from __future__ import annotations

from mmoms.core.clock import NANOS_PER_MILLI, NANOS_PER_SECOND, TestClock
from mmoms.venues.binance.timesync import TimeSync

MS = NANOS_PER_MILLI


def test_offset_uses_the_round_trip_midpoint() -> None:
    clock = TestClock(start_ns=1_000_000 * MS)
    ts = TimeSync(clock)
    probe = ts.begin()
    clock.advance(20 * MS)  # 20 ms round trip; the server stamped the midpoint
    sample = ts.complete(probe, server_time_ms=1_000_010 + 250)  # server is 250 ms ahead
    assert sample.rtt_ns == 20 * MS
    assert ts.offset_ms == 250
    assert ts.now_ms() == 1_000_020 + 250
    assert ts.synced


def test_shortest_round_trip_wins() -> None:
    clock = TestClock(start_ns=1_000_000 * MS)
    ts = TimeSync(clock)
    probe = ts.begin()
    clock.advance(2 * MS)
    ts.complete(probe, 1_000_001 - 100)  # precise sample: -100 ms
    probe = ts.begin()
    clock.advance(400 * MS)  # slow, asymmetric round trip: a poor estimate
    ts.complete(probe, 1_000_002 + 350)
    assert ts.offset_ms == -100


def test_old_samples_expire() -> None:
    clock = TestClock(start_ns=1_000_000 * MS)
    ts = TimeSync(clock, sample_ttl_ns=10 * NANOS_PER_SECOND)
    probe = ts.begin()
    ts.complete(probe, 1_000_000 - 100)
    clock.advance(11 * NANOS_PER_SECOND)
    probe = ts.begin()
    clock.advance(300 * MS)
    ts.complete(probe, 1_011_150 + 40)
    assert ts.offset_ms == 40


def test_refresh_schedule_and_invalidate() -> None:
    clock = TestClock()
    ts = TimeSync(clock, refresh_interval_ns=60 * NANOS_PER_SECOND)
    assert ts.needs_refresh()
    assert ts.next_refresh_in_ns() == 0
    ts.complete(ts.begin(), clock.time_ns() // MS)
    assert not ts.needs_refresh()
    assert ts.next_refresh_in_ns() == 60 * NANOS_PER_SECOND
    clock.advance(60 * NANOS_PER_SECOND)
    assert ts.needs_refresh()
    ts.complete(ts.begin(), clock.time_ns() // MS + 5)
    ts.invalidate()  # after -1021
    assert ts.needs_refresh()
    assert ts.offset_ms == 5  # best guess kept until the next sample
