"""The market-data feed against the simulator over real WebSockets, in both route modes: every
stream kind arrives for two symbols with the core types, ``wait_first`` names a symbol that
never ticks, and a server-side drop of the market connections is followed by reconnects and
more updates."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from decimal import Decimal

import pytest
import pytest_asyncio

from mmoms.app.stack import LocalSim, demo_sim_config, start_local_sim
from mmoms.core.enums import Side
from mmoms.core.ids import Symbol
from mmoms.core.market import AnyMarketData, DepthUpdate, MarketUpdate, MarkPriceUpdate, TradeUpdate
from mmoms.venues.binance.marketcodec import RouteMode, subscriptions
from mmoms.venues.binance.marketdata import BinanceMarketData
from tests.venues.simfaults import SimAdmin
from tests.waiting import until

pytestmark = pytest.mark.asyncio

BTC, ETH, XRP = Symbol("BTCUSDC"), Symbol("ETHUSDC"), Symbol("XRPUSDC")  # the sim has no XRP
KINDS = (MarketUpdate, MarkPriceUpdate, DepthUpdate, TradeUpdate)
MODES = [RouteMode.SPLIT, RouteMode.ROOT]


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[LocalSim]:
    local = await start_local_sim(demo_sim_config(5))
    try:
        yield local
    finally:
        await local.server.close()


class Collector:
    """The feed's ``on_update``: remembers what came and wakes whoever waits for a condition."""

    def __init__(self) -> None:
        self.seen: list[AnyMarketData] = []
        self._changed = asyncio.Event()

    def __call__(self, update: AnyMarketData) -> None:
        self.seen.append(update)
        self._changed.set()

    async def until(self, condition: Callable[[], bool], timeout_s: float = 15.0) -> None:
        await until(self._changed, condition, timeout_s=timeout_s)

    def kinds(self, since: int = 0) -> set[tuple[type, Symbol]]:
        return {(type(u), u.symbol) for u in self.seen[since:]}


@pytest_asyncio.fixture
async def feeds() -> AsyncIterator[list[BinanceMarketData]]:
    made: list[BinanceMarketData] = []
    yield made
    for feed in made:
        await feed.close()


def open_feed(
    sim: LocalSim, made: list[BinanceMarketData], routes: RouteMode, symbols: list[Symbol]
) -> tuple[BinanceMarketData, Collector]:
    collector = Collector()
    feed = BinanceMarketData(
        sim.server.ws_url,
        subscriptions(symbols, depth=5, trades=True),
        routes=routes,
        on_update=collector,
    )
    made.append(feed)
    feed.start()
    return feed, collector


@pytest.mark.parametrize("routes", MODES)
async def test_every_stream_kind_arrives_for_two_symbols(
    sim: LocalSim, feeds: list[BinanceMarketData], routes: RouteMode
) -> None:
    feed, collector = open_feed(sim, feeds, routes, [BTC, ETH])
    assert len(feed.urls) == (2 if routes is RouteMode.SPLIT else 1)
    assert await feed.wait_first([BTC, ETH], timeout_s=15) == set()
    admin = SimAdmin(sim.server)
    await admin.trade(BTC, "BUY", "0.010")
    await admin.trade(ETH, "SELL", "0.100")
    wanted = {(kind, symbol) for kind in KINDS for symbol in (BTC, ETH)}
    await collector.until(lambda: wanted <= collector.kinds())
    for symbol in (BTC, ETH):
        top, mark, depth = feed.top[symbol], feed.marks[symbol], feed.depth[symbol]
        assert isinstance(top.bid, Decimal)
        assert 0 < top.bid < top.ask
        assert top.ts_ns > 0
        assert top.received_ns > 0
        assert mark.mark_price > 0
        assert mark.funding_rate is not None
        assert mark.next_funding_ns is not None
        assert 1 <= len(depth.bids) <= 5
        assert 1 <= len(depth.asks) <= 5
        assert depth.bids[0].price < depth.asks[0].price
        assert isinstance(feed.trades[symbol].quantity, Decimal)
    sides = {(u.symbol, u.aggressor) for u in collector.seen if isinstance(u, TradeUpdate)}
    assert {(BTC, Side.BUY), (ETH, Side.SELL)} <= sides  # the trades we made, as taker side
    assert feed.updates == len(collector.seen)
    assert feed.reconnects == 0
    assert feed.decoder.stats.ignored == 0


@pytest.mark.parametrize("routes", MODES)
async def test_wait_first_names_a_symbol_that_never_ticks(
    sim: LocalSim, feeds: list[BinanceMarketData], routes: RouteMode
) -> None:
    feed, _ = open_feed(sim, feeds, routes, [BTC, XRP])
    assert await feed.wait_first([BTC], timeout_s=15) == set()
    assert await feed.wait_first([BTC, XRP], timeout_s=0.3) == {XRP}
    assert XRP not in feed.marks


@pytest.mark.parametrize("routes", MODES)
async def test_a_server_side_drop_is_followed_by_reconnects_and_more_updates(
    sim: LocalSim, feeds: list[BinanceMarketData], routes: RouteMode
) -> None:
    feed, collector = open_feed(sim, feeds, routes, [BTC, ETH])
    await collector.until(lambda: (MarkPriceUpdate, BTC) in collector.kinds())
    assert await SimAdmin(sim.server).disconnect("market") == len(feed.urls)
    await collector.until(lambda: feed.reconnects == len(feed.urls))
    after = len(collector.seen)
    # one kind per route (split: /market carries marks, /public tops; root: both)
    await collector.until(
        lambda: {(MarkPriceUpdate, BTC), (MarketUpdate, ETH)} <= collector.kinds(after)
    )
    assert feed.reconnects == len(feed.urls)
