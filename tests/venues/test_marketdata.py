"""The market-data feed shell over fake connections: routes, callback order, a raising
callback, reconnects (at once after a stable connection, backing off after refusals), silence
recycling, wait_first."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal as D

import pytest

from mmoms.core.clock import NANOS_PER_SECOND, TestClock
from mmoms.core.ids import Symbol
from mmoms.core.market import AnyMarketData, MarketUpdate, MarkPriceUpdate, TradeUpdate
from mmoms.venues.binance.marketcodec import RouteMode, subscriptions
from mmoms.venues.binance.marketdata import BinanceMarketData
from mmoms.venues.errors import NotSent
from mmoms.venues.testing import FakeWsConnector, FakeWsPeer
from mmoms.venues.transport import WsConnection

pytestmark = pytest.mark.asyncio

LOGGER = "mmoms.venues.binance.marketdata"
BTC, ETH = Symbol("BTCUSDC"), Symbol("ETHUSDC")


def ticker(symbol: str, bid: str, ask: str = "100000.00") -> str:
    return (
        f'{{"stream":"{symbol.lower()}@bookTicker","data":{{"e":"bookTicker","u":1,'
        f'"E":1700000000000,"T":1700000000000,"s":"{symbol}","b":"{bid}","B":"1",'
        f'"a":"{ask}","A":"2"}}}}'
    )


def mark(symbol: str, price: str) -> str:
    return (
        f'{{"stream":"{symbol.lower()}@markPrice@1s","data":{{"e":"markPriceUpdate",'
        f'"E":1700000000000,"s":"{symbol}","p":"{price}","i":"{price}","r":"0.0001",'
        f'"T":1700028800000}}}}'
    )


def trade(symbol: str, trade_id: int) -> str:
    return (
        f'{{"stream":"{symbol.lower()}@aggTrade","data":{{"e":"aggTrade","E":1700000000000,'
        f'"a":{trade_id},"s":"{symbol}","p":"95000.00","q":"0.010","T":1700000000000,'
        f'"m":true}}}}'
    )


class TimedConnector(FakeWsConnector):
    """Records when each connect was attempted (loop time)."""

    def __init__(self) -> None:
        super().__init__()
        self.attempts: list[float] = []

    async def connect(self, url: str, *, timeout_s: float) -> WsConnection:
        self.attempts.append(asyncio.get_running_loop().time())
        return await super().connect(url, timeout_s=timeout_s)


@asynccontextmanager
async def running(
    connector: FakeWsConnector,
    clock: TestClock,
    on_update: Callable[[AnyMarketData], None] | None = None,
    **kwargs: object,
) -> AsyncIterator[BinanceMarketData]:
    args: dict[str, object] = {"routes": RouteMode.ROOT, "backoff_s": (0.01,)} | kwargs
    feed = BinanceMarketData(
        "wss://fstream.test",
        subscriptions([BTC, ETH], trades=True),
        on_update=on_update,
        clock=clock,
        connector=connector,
        **args,  # type: ignore[arg-type]
    )
    feed.start()
    try:
        yield feed
    finally:
        await feed.close()


async def next_peer(connector: FakeWsConnector) -> FakeWsPeer:
    return await asyncio.wait_for(connector.next_peer(), 5)


async def test_split_mode_opens_one_connection_per_route_and_keeps_the_latest() -> None:
    connector, seen = FakeWsConnector(), asyncio.Queue[AnyMarketData]()
    async with running(connector, TestClock(), seen.put_nowait, routes="split") as feed:
        peers = {}
        for _ in range(2):
            peer = await next_peer(connector)
            peers[peer.url.split("?")[0].removeprefix("wss://fstream.test")] = peer
        assert set(peers) == {"/public/stream", "/market/stream"}
        public, market = peers["/public/stream"], peers["/market/stream"]
        assert "btcusdc@bookTicker" in public.url
        assert "aggTrade" not in public.url
        await market.send(mark(BTC, "95000.5"))
        assert isinstance(await seen.get(), MarkPriceUpdate)
        await public.send(ticker(BTC, "94999.90"))
        await public.send(ticker(BTC, "94999.95"))
        await market.send(trade(ETH, 7))
        got = [await seen.get() for _ in range(3)]
        assert [type(u) for u in got] == [MarketUpdate, MarketUpdate, TradeUpdate]
        assert feed.top[BTC] is got[1]  # the latest is kept
        assert feed.trades[ETH] is got[2]
        assert feed.marks[BTC].mark_price == feed.marks[BTC].index_price
        assert feed.updates == 4


async def test_a_raising_callback_is_logged_counted_and_survived(
    caplog: pytest.LogCaptureFixture,
) -> None:
    connector, seen = FakeWsConnector(), asyncio.Queue[AnyMarketData]()
    feed_ref: list[BinanceMarketData] = []

    def callback(update: AnyMarketData) -> None:
        assert isinstance(update, MarketUpdate)
        assert feed_ref[0].top[update.symbol] is update  # stored before the call
        seen.put_nowait(update)
        if update.bid < 2:
            raise RuntimeError("strategy bug")

    with caplog.at_level(logging.INFO, LOGGER):
        async with running(connector, TestClock(), callback) as feed:
            feed_ref.append(feed)
            peer = await next_peer(connector)
            await peer.send(ticker(BTC, "1"))
            await peer.send(ticker(BTC, "1.5"))
            await peer.send(ticker(BTC, "3"))
            got = [await asyncio.wait_for(seen.get(), 5) for _ in range(3)]
            assert [u.bid for u in got if isinstance(u, MarketUpdate)] == [D(1), D("1.5"), D(3)]
            assert feed.callback_errors == 2
            assert feed.reconnects == 0
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1  # the second within 10 s is counted, not logged again
    assert errors[0].exc_info is not None


async def test_a_drop_after_a_stable_connection_reconnects_at_once() -> None:
    clock, connector = TestClock(), TimedConnector()
    seen = asyncio.Queue[AnyMarketData]()
    async with running(connector, clock, seen.put_nowait, backoff_s=(60.0,)) as feed:
        first = await next_peer(connector)
        await first.send(ticker(ETH, "3000.10", "3000.20"))
        await seen.get()
        clock.advance(10 * NANOS_PER_SECOND)  # lived past stable_after_s
        await first.close()
        second = await next_peer(connector)  # no 60 s backoff in between
        await second.send(ticker(ETH, "3000.15", "3000.20"))
        assert (await seen.get()).ts_ns > 0
        assert feed.reconnects == 1
        assert feed.top[ETH].bid == D("3000.15")


async def test_refused_connects_back_off_instead_of_spinning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    connector = TimedConnector()
    connector.refuse = [NotSent("refused"), NotSent("refused"), NotSent("refused")]
    with caplog.at_level(logging.WARNING, LOGGER):
        async with running(connector, TestClock(), backoff_s=(0.05, 0.1, 0.2)) as feed:
            await next_peer(connector)
            assert feed.reconnects == 0  # the first connection that opened
    waits = [b - a for a, b in zip(connector.attempts, connector.attempts[1:], strict=False)]
    assert len(waits) == 3
    assert [w >= 0.9 * want for w, want in zip(waits, (0.05, 0.1, 0.2), strict=True)] == [True] * 3
    assert sum("connect failed" in r.getMessage() for r in caplog.records) == 3


async def test_a_silent_connection_is_recycled(caplog: pytest.LogCaptureFixture) -> None:
    connector = FakeWsConnector()
    with caplog.at_level(logging.WARNING, LOGGER):
        async with running(connector, TestClock(), idle_timeout_s=0.05) as feed:
            first = await next_peer(connector)
            second = await next_peer(connector)
            assert first.closed
            assert second is not first
            assert feed.reconnects >= 1
    assert any("nothing received" in r.getMessage() for r in caplog.records)


async def test_wait_first_returns_the_symbols_that_never_ticked() -> None:
    connector = FakeWsConnector()
    async with running(connector, TestClock()) as feed:
        peer = await next_peer(connector)
        waiting = asyncio.create_task(feed.wait_first([BTC, ETH], timeout_s=30))
        await peer.send(ticker(BTC, "95000.00"))
        await peer.send(mark(ETH, "3000.00"))  # a mark price is not a top of book
        assert await feed.wait_first([BTC], timeout_s=5) == set()
        assert await feed.wait_first([BTC, Symbol("XRPUSDC")], timeout_s=0.05) == {"XRPUSDC"}
        assert not waiting.done()
        await peer.send(ticker(ETH, "3000.00", "3000.10"))
        assert await asyncio.wait_for(waiting, 5) == set()  # woken by the tick, not the timeout
        assert await feed.wait_first([BTC], timeout_s=0) == set()


async def test_close_stops_every_task_and_leaves_a_given_connector_open() -> None:
    connector = FakeWsConnector()
    async with running(connector, TestClock(), routes=RouteMode.SPLIT) as feed:
        peers = [await next_peer(connector), await next_peer(connector)]
    assert all(task.done() for task in feed._tasks)
    assert all(peer.closed for peer in peers)
    assert not connector.closed
