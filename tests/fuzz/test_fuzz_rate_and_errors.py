"""Fuzz the small venue parsers that take the venue's word for something: the error table
(:func:`classify`: any HTTP status, any code, any text), the usage headers
(``X-MBX-USED-WEIGHT-1M``, ``X-MBX-ORDER-COUNT-*``) and WS API ``rateLimits`` entries fed to the
rate controller, and server times fed to the clock-offset estimate.

Properties: nothing raises; ``classify`` always gives one of the documented kinds with the
venue's text in its message; the rate controller's counts stay non-negative integers and it
keeps admitting exits within the venue's limits; the time estimate stays an integer.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mmoms.core.clock import TestClock
from mmoms.venues.binance.errors import classify
from mmoms.venues.binance.ratecontrol import Priority, RateController
from mmoms.venues.binance.schemas import MAX_MS
from mmoms.venues.binance.timesync import TimeSync
from mmoms.venues.errors import OutcomeUnknown, Rejected, VenueError
from tests.fuzz.mutate import HOSTILE_TOKENS, fuzz_settings
from tests.venues.conftest import START_NS

HEADER_NAMES = ["x-mbx-used-weight-1m", "x-mbx-order-count-10s", "x-mbx-order-count-1m", "other"]
TEXTS = st.sampled_from([t.decode("utf-8", "replace") for t in HOSTILE_TOKENS]) | st.text()


@fuzz_settings(300)
@given(
    status=st.integers(-1, 1000),
    code=st.none() | st.integers(-(2**70), 2**70),
    msg=TEXTS,
    retry_after=st.none() | st.integers(-(2**40), 2**40),
)
def test_classify_any_answer(
    status: int, code: int | None, msg: str, retry_after: int | None
) -> None:
    error = classify(status, code, msg, endpoint="POST /fapi/v1/order", retry_after_ms=retry_after)
    assert isinstance(error, VenueError)
    assert isinstance(error, Rejected | OutcomeUnknown)
    assert error.endpoint == "POST /fapi/v1/order"
    assert str(error).startswith("POST /fapi/v1/order: ")
    assert len(str(error)) < 300  # one short line, whatever the venue sent


@fuzz_settings(300)
@given(
    headers=st.lists(st.dictionaries(st.sampled_from(HEADER_NAMES), TEXTS), max_size=4),
    usage=st.lists(
        st.tuples(
            st.sampled_from(["REQUEST_WEIGHT", "ORDERS", "RAW_REQUESTS", ""]),
            st.sampled_from(["SECOND", "MINUTE", "DAY", "HOUR", ""]),
            st.integers(-(2**40), 2**40),
            st.integers(-(2**40), 2**63),
        ),
        max_size=4,
    ),
)
def test_usage_reports_never_break_rate_control(
    headers: list[dict[str, str]], usage: list[tuple[str, str, int, int]]
) -> None:
    clock = TestClock(start_ns=START_NS)
    rate = RateController(clock)
    for h in headers:
        rate.on_headers(h)
    for kind, interval, num, count in usage:
        rate.on_usage(kind, interval, num, count)
    for pool in rate.state().pools:
        assert isinstance(pool.used, int)
        assert pool.used >= 0
    clock.advance(61 * 1_000_000_000)  # a new window: the venue's counts reset, so do ours
    assert rate.admit(1, 1, 1, priority=Priority.EXIT) == 0


@fuzz_settings(200)
@given(server_ms=st.lists(st.integers(0, MAX_MS), min_size=1, max_size=5))
def test_any_decodable_server_time_gives_an_integer_estimate(server_ms: list[int]) -> None:
    clock = TestClock(start_ns=START_NS)
    sync = TimeSync(clock)
    for ms in server_ms:
        sync.complete(sync.begin(), ms)
    assert isinstance(sync.now_ms(), int)
    assert isinstance(sync.offset_ms, int)
