"""Shared fixtures of the venue tests: credentials and a REST client over a fake transport."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mmoms.core.clock import NANOS_PER_MILLI, TestClock
from mmoms.venues.binance.ratecontrol import RateController
from mmoms.venues.binance.rest import RestClient
from mmoms.venues.binance.signing import Credentials
from mmoms.venues.binance.timesync import TimeSync
from mmoms.venues.errorrate import ErrorRateTracker
from mmoms.venues.testing import FakeHttpTransport, FakeRequest
from mmoms.venues.transport import HttpReply

API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"

START_NS = 1_700_000_000_000 * NANOS_PER_MILLI


@pytest.fixture
def credentials() -> Credentials:
    return Credentials.hmac(API_KEY, SECRET)


MakeRest = Callable[[Callable[[FakeRequest], HttpReply]], tuple[RestClient, FakeHttpTransport]]


@pytest.fixture
def clock() -> TestClock:
    return TestClock(start_ns=START_NS)


@pytest.fixture
def make_rest(clock: TestClock, credentials: Credentials) -> MakeRest:
    def make(handler: Callable[[FakeRequest], HttpReply]) -> tuple[RestClient, FakeHttpTransport]:
        transport = FakeHttpTransport(handler)
        rest = RestClient(
            base_url="https://fapi.test",
            transport=transport,
            credentials=credentials,
            clock=clock,
            timesync=TimeSync(clock),
            rate=RateController(clock),
            errors=ErrorRateTracker(clock),
        )
        return rest, transport

    return make
