"""The user-data stream shell over fake connections: gaps, epochs, reconnects, key renewal."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from mmoms.core.clock import NANOS_PER_SECOND, TestClock
from mmoms.core.reports import FillReport, OrderStatusReport
from mmoms.venues.binance.userstream import UserStream
from mmoms.venues.errors import NotSent, Rejected
from mmoms.venues.gateway import StreamGap, StreamItem, StreamMessage
from mmoms.venues.testing import FakeWsConnector
from mmoms.venues.transport import WsHandshakeError
from mmoms.venues.venue_reports import LiteFillReport
from tests.venues import payloads as p


class FakeKeys:
    """Plays the listenKey REST endpoints."""

    def __init__(self) -> None:
        self.created = 0
        self.keepalives = 0
        self.keepalive_error: Exception | None = None
        self.keepalive_done = asyncio.Event()

    async def create_listen_key(self) -> str:
        self.created += 1
        return f"k{self.created}"

    async def keepalive_listen_key(self) -> str | None:
        self.keepalives += 1
        self.keepalive_done.set()
        if self.keepalive_error is not None:
            raise self.keepalive_error
        return None

    async def close_listen_key(self) -> None:
        pass


class Harness:
    def __init__(self, clock: TestClock) -> None:
        self.keys = FakeKeys()
        self.connector = FakeWsConnector()
        self.out: asyncio.Queue[StreamMessage] = asyncio.Queue()
        self.stream = UserStream(
            api=self.keys,
            connector=self.connector,
            stream_url="wss://fstream.test/",
            clock=clock,
            emit=self.out.put,
            reconnect_backoff_ns=(0,),  # reconnect at once: no real time passes in these tests
        )

    async def gap(self) -> StreamGap:
        message = await self.out.get()
        assert isinstance(message, StreamGap), message
        return message

    async def item(self) -> StreamItem:
        message = await self.out.get()
        assert isinstance(message, StreamItem), message
        return message


@asynccontextmanager
async def running(clock: TestClock) -> AsyncIterator[Harness]:
    harness = Harness(clock)
    task = asyncio.create_task(harness.stream.run())
    try:
        yield harness
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


@pytest.fixture
def clock() -> TestClock:
    return TestClock()


@pytest.mark.asyncio
async def test_first_connect_emits_a_gap_then_reports_of_its_epoch(clock: TestClock) -> None:
    async with running(clock) as h:
        peer = await h.connector.next_peer()
        assert peer.url == "wss://fstream.test/private/ws?listenKey=k1"
        gap = await h.gap()
        assert (gap.epoch, gap.reason, gap.down_since_ns) == (1, "initial connect", None)
        assert gap.ts_ns == clock.time_ns()
        await peer.send(p.ORDER_TRADE_UPDATE_TRADE.decode())
        fill, status = await h.item(), await h.item()
        assert isinstance(fill.report, FillReport)
        assert isinstance(status.report, OrderStatusReport)
        assert fill.epoch == status.epoch == 1
        assert h.stream.connected


@pytest.mark.asyncio
async def test_drop_reconnects_with_the_same_key_and_a_new_epoch(clock: TestClock) -> None:
    async with running(clock) as h:
        peer = await h.connector.next_peer()
        await h.gap()
        clock.advance(5 * NANOS_PER_SECOND)
        await peer.close()  # the server drops us
        peer2 = await h.connector.next_peer()
        gap = await h.gap()
        assert gap.epoch == 2
        assert gap.down_since_ns == clock.time_ns()
        assert peer2.url == peer.url
        assert h.keys.created == 1  # no REST round trip before reconnecting
        await peer2.send(p.TRADE_LITE.decode())
        assert (await h.item()).epoch == 2


@pytest.mark.asyncio
async def test_events_in_the_combined_stream_wrapper_are_emitted(clock: TestClock) -> None:
    # As a connection to /stream?streams=<listenKey> or /private/stream delivers them.
    async with running(clock) as h:
        peer = await h.connector.next_peer()
        await h.gap()
        await peer.send('{"stream":"k1","data":' + p.ORDER_TRADE_UPDATE_TRADE.decode() + "}")
        await peer.send(p.TRADE_LITE.decode())  # a bare one after it: nothing waits forever
        assert isinstance((await h.item()).report, FillReport)
        assert isinstance((await h.item()).report, OrderStatusReport)
        assert isinstance((await h.item()).report, LiteFillReport)
        assert h.stream.decoder.stats.wrapped == 1


@pytest.mark.asyncio
async def test_garbage_and_unknown_events_do_not_break_the_stream(clock: TestClock) -> None:
    async with running(clock) as h:
        peer = await h.connector.next_peer()
        await h.gap()
        await peer.send("}{ not json")
        await peer.send('{"e":"GRID_UPDATE","E":1,"gu":{}}')
        await peer.send(p.ACCOUNT_CONFIG_LEVERAGE.decode())
        item = await h.item()
        assert item.epoch == 1
        assert h.stream.decoder.stats.malformed == 1
        assert h.stream.decoder.stats.unknown == 1


@pytest.mark.asyncio
async def test_listen_key_expired_renews_the_key_and_reconnects(clock: TestClock) -> None:
    async with running(clock) as h:
        peer = await h.connector.next_peer()
        await h.gap()
        await peer.send('{"e":"listenKeyExpired","E":1736996475556,"listenKey":"k1"}')
        peer2 = await h.connector.next_peer()
        assert peer2.url.endswith("listenKey=k2")
        gap = await h.gap()
        assert (gap.epoch, gap.reason) == (2, "listenKeyExpired")


@pytest.mark.asyncio
async def test_expiry_of_an_old_key_is_ignored(clock: TestClock) -> None:
    async with running(clock) as h:
        peer = await h.connector.next_peer()
        await h.gap()
        await peer.send('{"e":"listenKeyExpired","E":1,"listenKey":"an-old-key"}')
        await peer.send(p.ACCOUNT_CONFIG_LEVERAGE.decode())
        assert (await h.item()).epoch == 1
        assert h.keys.created == 1


@pytest.mark.asyncio
async def test_refused_handshake_renews_the_key(clock: TestClock) -> None:
    async with running(clock) as h:
        h.connector.refuse.append(WsHandshakeError(400))
        peer = await h.connector.next_peer()
        assert peer.url.endswith("listenKey=k2")
        gap = await h.gap()
        assert gap.epoch == 1
        assert h.connector.urls[0].endswith("listenKey=k1")


@pytest.mark.asyncio
async def test_connect_failures_are_retried(clock: TestClock) -> None:
    async with running(clock) as h:
        h.connector.refuse += [NotSent("refused"), NotSent("refused")]
        await h.connector.next_peer()
        assert (await h.gap()).epoch == 1  # failed attempts do not consume epochs
        assert len(h.connector.urls) == 3


@pytest.mark.asyncio
async def test_keepalive_minus_1125_recreates_and_switches(clock: TestClock) -> None:
    async with running(clock) as h:
        await h.connector.next_peer()
        await h.gap()
        h.keys.keepalive_error = Rejected("This listenKey does not exist.", code=-1125)
        clock.advance(30 * 60 * NANOS_PER_SECOND)
        h.stream.wake()
        await h.keys.keepalive_done.wait()
        peer2 = await h.connector.next_peer()
        assert peer2.url.endswith("listenKey=k2")
        assert (await h.gap()).epoch == 2


@pytest.mark.asyncio
async def test_keepalive_success_keeps_the_connection(clock: TestClock) -> None:
    async with running(clock) as h:
        peer = await h.connector.next_peer()
        await h.gap()
        clock.advance(30 * 60 * NANOS_PER_SECOND)
        h.stream.wake()
        await h.keys.keepalive_done.wait()
        await peer.send(p.ACCOUNT_CONFIG_LEVERAGE.decode())
        assert (await h.item()).epoch == 1
        assert h.connector.peers.empty()


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "frame",
    [
        '{"error": {"code": -1125, "msg": "This listenKey does not exist."}}',
        '{"code": -1125, "msg": "This listenKey does not exist."}',
    ],
)
async def test_error_frame_for_our_key_renews_it(clock: TestClock, frame: str) -> None:
    async with running(clock) as h:
        peer = await h.connector.next_peer()
        await h.gap()
        await peer.send(frame)
        peer2 = await h.connector.next_peer()
        assert peer2.url.endswith("listenKey=k2")
        gap = await h.gap()
        assert (gap.epoch, gap.reason) == (2, "listenKey refused (-1125)")


@pytest.mark.asyncio
async def test_connections_that_keep_dying_renew_the_key(clock: TestClock) -> None:
    async with running(clock) as h:
        for _ in range(3):  # each lives no time at all (the test clock does not move)
            peer = await h.connector.next_peer()
            assert peer.url.endswith("listenKey=k1")
            await h.gap()
            await peer.close()
        peer = await h.connector.next_peer()
        assert peer.url.endswith("listenKey=k2")
