"""Fuzz the node's market-data feed (:class:`BinanceMarketData`) on every stream kind it reads:
``bookTicker``, partial ``depth5``, ``aggTrade`` and ``markPrice@1s`` on the combined stream.

Property: a message either updates one symbol's latest value of one kind with sane values (and
calls ``on_update`` once with it), or changes nothing and leaves a log line; it never raises (the
feed's task would die and quoting would stop).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given

from mmoms.core.clock import TestClock
from mmoms.core.enums import Side
from mmoms.core.ids import Symbol
from mmoms.core.market import AnyMarketData, DepthUpdate, MarketUpdate, MarkPriceUpdate, TradeUpdate
from mmoms.venues.binance.marketcodec import MarketSubscription
from mmoms.venues.binance.marketdata import BinanceMarketData
from tests.fuzz.logs import captured
from tests.fuzz.mutate import fuzz_settings, hostile_json
from tests.fuzz.sanity import assert_sane

BTC, ETH = Symbol("BTCUSDC"), Symbol("ETHUSDC")
TICKER = (
    b'{"stream":"btcusdc@bookTicker","data":{"e":"bookTicker","u":400900217,"E":1568014460893,'
    b'"T":1568014460891,"s":"BTCUSDC","b":"95000.10","B":"31.21","a":"95000.20","A":"40.66"}}'
)
DEPTH = (
    b'{"stream":"btcusdc@depth5@100ms","data":{"e":"depthUpdate","E":1785048482829,'
    b'"T":1785048482718,"s":"BTCUSDC","U":157,"u":160,"pu":149,'
    b'"b":[["95000.10","1.5"],["95000.00","2"]],"a":[["95000.20","0.7"],["95000.30","3"]]}}'
)
TRADE = (
    b'{"stream":"btcusdc@aggTrade","data":{"e":"aggTrade","E":1785048482872,"a":300238285,'
    b'"s":"BTCUSDC","p":"95000.20","q":"0.020","nq":"0.020","f":521512568,"l":521512568,'
    b'"T":1785048482718,"m":false,"st":1}}'
)
MARK = (
    b'{"stream":"btcusdc@markPrice@1s","data":{"e":"markPriceUpdate","E":1785048483000,'
    b'"s":"BTCUSDC","p":"95000.15000000","ap":"95000.15000000","P":"95001.31235580",'
    b'"i":"95010.61608696","r":"0.00005301","T":1785052800000,"st":1}}'
)
SEEDS = [TICKER, DEPTH, TRADE, MARK, b'{"result":null,"id":1}']
LOGGER = "mmoms.venues.binance.marketdata"
NOW = 1_800_000_000_000_000_000


def make_feed(seen: list[AnyMarketData]) -> BinanceMarketData:
    subs = [MarketSubscription(BTC, depth=5, trades=True), MarketSubscription(ETH)]
    feed = BinanceMarketData("ws://127.0.0.1:1", subs, on_update=seen.append, clock=TestClock(NOW))
    # another symbol's state is there already: a message must not touch it
    feed.top[ETH] = MarketUpdate(
        symbol=ETH, bid=Decimal(3000), ask=Decimal(3001), bid_qty=Decimal(1), ask_qty=Decimal(1)
    )
    feed.marks[ETH] = MarkPriceUpdate(symbol=ETH, mark_price=Decimal(3000))
    return feed


def state(feed: BinanceMarketData) -> dict[tuple[str, Symbol], AnyMarketData]:
    views: dict[str, dict[Symbol, AnyMarketData]] = {
        "top": dict(feed.top),
        "marks": dict(feed.marks),
        "depth": dict(feed.depth),
        "trades": dict(feed.trades),
    }
    return {(name, s): v for name, view in views.items() for s, v in view.items()}


def assert_sane_update(update: AnyMarketData) -> None:
    assert_sane(update)
    assert update.received_ns == NOW
    assert update.ts_ns >= 0
    if isinstance(update, MarketUpdate):
        assert 0 < update.bid < update.ask
        assert update.bid_qty > 0
        assert update.ask_qty > 0
        assert update.mid > 0  # arithmetic on the values does not overflow
    elif isinstance(update, DepthUpdate):
        for levels, best_first in ((update.bids, -1), (update.asks, 1)):
            prices = [level.price for level in levels]
            assert prices == sorted(set(prices), reverse=best_first < 0)
            assert all(level.price > 0 and level.quantity > 0 for level in levels)
        if update.bids and update.asks:
            assert update.bids[0].price < update.asks[0].price
    elif isinstance(update, TradeUpdate):
        assert update.price > 0
        assert update.quantity > 0
        assert update.aggressor in (Side.BUY, Side.SELL)
    else:
        assert update.mark_price > 0
        assert update.index_price is None or update.index_price > 0
        assert update.funding_rate is None or abs(update.funding_rate) < 1


def check_text(text: str | bytes) -> None:
    seen: list[AnyMarketData] = []
    feed = make_feed(seen)
    before = state(feed)
    with captured(LOGGER) as records:
        feed.handle_message(text)
    after = state(feed)
    changed = {key: v for key, v in after.items() if before.get(key) is not v}
    if not changed:
        assert feed.updates == 0
        assert seen == []
        assert records, "an ignored message must leave a log line"
        return
    assert len(changed) == 1
    [((_, symbol), update)] = changed.items()
    assert symbol == BTC
    assert feed.updates == 1
    assert seen == [update]
    assert_sane_update(update)


@fuzz_settings(600)
@given(data=hostile_json(SEEDS))
def test_hostile_market_messages(data: bytes) -> None:
    check_text(data.decode("utf-8", "replace"))


@fuzz_settings(100)
@given(data=hostile_json(SEEDS))
def test_hostile_market_messages_as_bytes(data: bytes) -> None:
    check_text(data)


@pytest.mark.parametrize(
    "text",
    [
        TICKER.decode().replace('"b":"95000.10"', '"b":"NaN"'),  # kept as a NaN bid once
        TICKER.decode().replace('"a":"95000.20"', '"a":"-1"'),
        TICKER.decode().replace('"b":"95000.10"', '"b":"sNaN"'),
        TICKER.decode().replace('"a":"95000.20"', '"a":"9e999999"'),  # absurd magnitude
        TICKER.decode().replace('"s":"BTCUSDC"', '"s":"ETHUSDC"'),  # not the stream's symbol
        DEPTH.decode().replace("depth5", "depth"),  # a diff is not a snapshot
        DEPTH.decode().replace('["95000.00","2"]', '["95000.20","2"]'),  # crossed
        TRADE.decode().replace('"m":false', '"m":"no"'),
        MARK.decode().replace('"r":"0.00005301"', '"r":"Infinity"'),
        MARK.decode().replace('"T":1785052800000', '"T":-1'),
        '{"stream":"x","data":' + "[" * 100_000 + "]" * 100_000 + "}",  # RecursionError
    ],
)
def test_crashers_and_garbage_values(text: str) -> None:
    check_text(text)


@pytest.mark.parametrize("seed", [TICKER, DEPTH, TRADE, MARK])
def test_every_real_kind_is_kept(seed: bytes) -> None:
    seen: list[AnyMarketData] = []
    feed = make_feed(seen)
    feed.handle_message(seed.decode())
    [update] = seen
    assert_sane_update(update)
    assert update.symbol == BTC
