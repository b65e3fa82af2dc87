import pytest

from mmoms.core.clock import LiveClock, TestClock, ms_to_ns, ns_to_ms


def test_test_clock_moves_only_when_told() -> None:
    clock = TestClock(start_ns=1_000)
    assert clock.time_ns() == 1_000
    assert clock.advance(500) == 1_500
    assert clock.time_ns() == clock.monotonic_ns() == 1_500
    clock.set(2_000)
    assert clock.time_ns() == 2_000


def test_test_clock_refuses_to_go_backwards() -> None:
    clock = TestClock(start_ns=1_000)
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="backwards"):
        clock.set(999)


def test_live_clock_is_monotonic() -> None:
    clock = LiveClock()
    a = clock.monotonic_ns()
    b = clock.monotonic_ns()
    assert b >= a
    assert clock.time_ns() > 1_600_000_000 * 10**9


def test_ms_conversions_round_trip() -> None:
    assert ns_to_ms(ms_to_ns(1_700_000_000_123)) == 1_700_000_000_123
    assert ns_to_ms(1_999_999) == 1
