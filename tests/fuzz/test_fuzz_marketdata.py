"""Fuzz the app's top-of-book feed parser (``<symbol>@bookTicker`` on the combined stream).

Property: a message either updates one symbol with positive, finite prices, or changes nothing
and leaves a log line; it never raises (the feed's task would die and quoting would stop).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given

from mmoms.app.marketdata import BookTickerFeed
from mmoms.core.ids import Symbol
from tests.fuzz.logs import captured
from tests.fuzz.mutate import fuzz_settings, hostile_json

TICKER = (
    b'{"stream":"btcusdc@bookTicker","data":{"e":"bookTicker","u":400900217,"E":1568014460893,'
    b'"T":1568014460891,"s":"BTCUSDC","b":"95000.10","B":"31.21","a":"95000.20","A":"40.66"}}'
)
SEEDS = [TICKER, b'{"result":null,"id":1}']
LOGGER = "mmoms.app.marketdata"


def check_text(text: str) -> None:
    feed = BookTickerFeed("ws://127.0.0.1:1", [Symbol("BTCUSDC")])
    feed.top[Symbol("ETHUSDC")] = (Decimal("3000"), Decimal("3001"))
    before = dict(feed.top)
    with captured(LOGGER) as records:
        feed._on_text(text)
    changed = {s: v for s, v in feed.top.items() if before.get(s) != v}
    if not changed:
        assert feed.updates == 0
        assert records, "an ignored message must leave a log line"
        return
    assert len(changed) == 1
    assert feed.updates == 1
    [(bid, ask)] = changed.values()
    assert bid.is_finite()
    assert ask.is_finite()
    assert bid > 0
    assert ask > 0


@fuzz_settings(300)
@given(data=hostile_json(SEEDS))
def test_hostile_ticker_messages(data: bytes) -> None:
    check_text(data.decode("utf-8", "replace"))


@pytest.mark.parametrize(
    "text",
    [
        TICKER.decode().replace('"b":"95000.10"', '"b":"NaN"'),  # kept as a NaN bid before
        TICKER.decode().replace('"a":"95000.20"', '"a":"-1"'),
        TICKER.decode().replace('"b":"95000.10"', '"b":"sNaN"'),
        '{"stream":"x","data":' + "[" * 100_000 + "]" * 100_000 + "}",  # RecursionError
    ],
)
def test_crashers_and_garbage_prices(text: str) -> None:
    check_text(text)


def test_a_real_ticker_is_kept() -> None:
    feed = BookTickerFeed("ws://127.0.0.1:1", [Symbol("BTCUSDC")])
    feed._on_text(TICKER.decode())
    assert feed.top[Symbol("BTCUSDC")] == (Decimal("95000.10"), Decimal("95000.20"))
