"""The node's market-data feed for Binance USDⓈ-M: a thin I/O shell around
:class:`~mmoms.venues.binance.marketcodec.MarketDataDecoder`.

One combined-stream WebSocket per route (:func:`~.marketcodec.stream_urls`: ``/public`` and
``/market`` in split mode, the root ``/stream`` in root mode), each read by its own task. Every
decoded update is stored as the symbol's latest (:attr:`BinanceMarketData.top`, ``marks``,
``depth``, ``trades``: the :class:`~mmoms.core.market.MarketState` it writes, which the caller
may hand in) and *then* handed to ``on_update``, so the callback sees the feed
already holding it.

Decisions:

* **No conflation.** ``on_update`` is called synchronously for every update, in arrival order
  per connection; trades are never merged and the caller sees each top-of-book change. A slow
  callback holds up the reading task, the socket buffers fill and, if it lasts, Binance drops
  the connection (we reconnect). A consumer that only needs the latest state conflates itself:
  it reads ``top`` / ``depth`` when it wakes instead of acting on every call (the soak's quoter
  sets an event in its callback and requotes from ``top`` at its own pace). The feed cannot
  conflate for it without reading ahead of the socket, and it would have to guess which kinds
  may be merged.
* **A raising callback** is the caller's bug, not the feed's: it is logged with its traceback
  (the first time, then at most every ``_ERROR_LOG_EVERY_NS`` with the count), counted in
  :attr:`BinanceMarketData.callback_errors`, and the feed carries on with the next message.
* **Reconnect at once** after a connection that lived ``stable_after_s`` drops; connections that
  keep failing (refused connects, connections that die at once) back off along ``backoff_s``
  (bounded), so a dead host is not hammered. Each attempt and loss is a log line.
* **Silence recycles.** A connection that delivers nothing for ``idle_timeout_s`` is closed and
  reopened: every connection carries a stream that ticks without trading (markPrice each second,
  bookTicker), so silence means a half-dead socket or a route that stopped serving us.
* Times: ``received_ns`` from the injected clock, read once per message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

from mmoms.core.clock import NANOS_PER_SECOND, Clock, LiveClock
from mmoms.core.ids import Symbol
from mmoms.core.market import (
    AnyMarketData,
    DepthUpdate,
    MarketState,
    MarketUpdate,
    MarkPriceUpdate,
    TradeUpdate,
)
from mmoms.venues.binance.marketcodec import (
    MarketDataDecoder,
    MarketSubscription,
    RouteMode,
    stream_urls,
)
from mmoms.venues.errors import GatewayClosedError, NotSent
from mmoms.venues.transport import (
    AiohttpWsConnector,
    WsClosedError,
    WsConnection,
    WsConnector,
    WsHandshakeError,
)

__all__ = ["BinanceMarketData"]

log = logging.getLogger("mmoms.venues.binance.marketdata")

RECONNECT_BACKOFF_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
_ERROR_LOG_EVERY_NS = 10 * NANOS_PER_SECOND

OnUpdate = Callable[[AnyMarketData], None]


class BinanceMarketData:
    """Top of book, mark price and optionally partial depth and trades for a set of symbols.

    State, read by the owner at any time: ``top``, ``marks``, ``depth``, ``trades`` (the latest
    per symbol); ``updates`` (decoded updates), ``reconnects`` (connections opened after each
    route's first), ``callback_errors``, ``decoder.stats`` (messages, decoded, ignored).
    ``on_update`` may be set after construction, before :meth:`start`.
    """

    def __init__(
        self,
        stream_url: str,
        subscriptions: Iterable[MarketSubscription],
        *,
        routes: RouteMode | str = RouteMode.SPLIT,
        on_update: OnUpdate | None = None,
        clock: Clock | None = None,
        market: MarketState | None = None,
        connector: WsConnector | None = None,
        idle_timeout_s: float = 30.0,
        connect_timeout_s: float = 5.0,
        stable_after_s: float = 5.0,
        backoff_s: tuple[float, ...] = RECONNECT_BACKOFF_S,
    ) -> None:
        """Raises ValueError for a symbol subscribed twice or an unknown route mode."""
        subs = tuple(subscriptions)
        if len({s.symbol for s in subs}) != len(subs):
            raise ValueError("each symbol may be subscribed once")
        self.routes = RouteMode(routes)
        self.urls = stream_urls(stream_url, self.routes, subs)
        self.symbols: tuple[Symbol, ...] = tuple(s.symbol for s in subs)
        self.on_update = on_update
        self.market = market if market is not None else MarketState()  # the latest per symbol
        self.reconnects = 0
        self.callback_errors = 0
        self.decoder = MarketDataDecoder(subs)
        self._clock = clock or LiveClock()
        self._own_connector = connector is None
        self._connector = connector or AiohttpWsConnector(heartbeat_s=20.0)
        self._idle_s = idle_timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._stable_after_ns = int(stable_after_s * NANOS_PER_SECOND)
        self._backoff_s = backoff_s or (0.0,)
        self._new_top = asyncio.Event()  # set when a symbol gets its first top of book
        self._tasks: list[asyncio.Task[None]] = []
        self._last_error_log_ns: int | None = None

    @property
    def updates(self) -> int:
        """Updates decoded and stored."""
        return self.market.updates

    @property
    def top(self) -> dict[Symbol, MarketUpdate]:
        return self.market.top

    @property
    def marks(self) -> dict[Symbol, MarkPriceUpdate]:
        return self.market.marks

    @property
    def depth(self) -> dict[Symbol, DepthUpdate]:
        return self.market.depth

    @property
    def trades(self) -> dict[Symbol, TradeUpdate]:
        """The latest public trade per symbol."""
        return self.market.trades

    def start(self) -> None:
        """Open every connection (in the running loop); they live until :meth:`close`."""
        if self._tasks:
            raise RuntimeError("the market-data feed is already started")
        self._tasks = [
            asyncio.create_task(self._connection(url), name=f"marketdata-{i}")
            for i, url in enumerate(self.urls)
        ]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._own_connector:
            await self._connector.close()

    async def wait_first(self, symbols: Iterable[Symbol], timeout_s: float) -> set[Symbol]:
        """Wait up to ``timeout_s`` until every one of ``symbols`` has a top of book; return
        those that still have none (empty: all there)."""
        wanted = set(symbols)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            self._new_top.clear()
            missing = wanted - self.top.keys()
            remaining = deadline - loop.time()
            if not missing or remaining <= 0:
                return missing
            try:
                async with asyncio.timeout(remaining):
                    await self._new_top.wait()
            except TimeoutError:
                return wanted - self.top.keys()

    def handle_message(self, data: str | bytes) -> AnyMarketData | None:
        """One message's path: decode, store, call back. Never raises for what the wire or the
        callback does; the reading tasks call it, tests and replays may too."""
        update = self.decoder.decode(data, self._clock.time_ns())
        if update is None:
            return None
        if self.market.apply(update):
            self._new_top.set()  # a symbol's first top of book: wait_first() looks again
        if self.on_update is not None:
            try:
                self.on_update(update)
            except Exception:
                self._callback_failed()
        return update

    # -- connections -----------------------------------------------------------------------------

    async def _connection(self, url: str) -> None:
        route = url.split("?", 1)[0]  # the log names the route, not every stream
        failures = 0
        opened = 0
        while True:
            try:
                ws = await self._connector.connect(url, timeout_s=self._connect_timeout_s)
            except GatewayClosedError:
                return
            except Exception as exc:  # NotSent / WsHandshakeError; anything else is a bug
                failures += 1
                delay = self._delay(failures)
                log.warning(
                    "market data: %s connect failed (%s); retry in %.2fs",
                    route,
                    exc,
                    delay,
                    exc_info=not isinstance(exc, NotSent | WsHandshakeError),
                )
                await asyncio.sleep(delay)
                continue
            opened += 1
            if opened > 1:
                self.reconnects += 1
            log.info("market data: %s connected (connection %d)", route, opened)
            up_ns = self._clock.monotonic_ns()
            try:
                reason = await self._read(ws)
            finally:
                await ws.close()
            stable = self._clock.monotonic_ns() - up_ns >= self._stable_after_ns
            failures = 0 if stable else failures + 1
            delay = self._delay(failures) if failures else 0.0
            log.warning("market data: %s lost (%s); reconnecting in %.2fs", route, reason, delay)
            if delay:
                await asyncio.sleep(delay)

    async def _read(self, ws: WsConnection) -> str:
        loop = asyncio.get_running_loop()
        idle = self._idle_s
        try:
            async with asyncio.timeout(idle) as silence:
                while True:
                    data = await ws.recv()
                    silence.reschedule(loop.time() + idle)
                    try:
                        self.handle_message(data)
                    except Exception:  # a decoder bug must not end the feed (fuzzing hunts them)
                        log.exception("market data: a message could not be handled")
        except WsClosedError as exc:
            return str(exc)
        except TimeoutError:
            return f"nothing received for {idle:g}s"

    def _delay(self, failures: int) -> float:
        return self._backoff_s[min(failures, len(self._backoff_s)) - 1]

    def _callback_failed(self) -> None:
        self.callback_errors += 1
        now = self._clock.monotonic_ns()
        last = self._last_error_log_ns
        if last is None or now - last >= _ERROR_LOG_EVERY_NS:
            self._last_error_log_ns = now
            log.exception(
                "market data: on_update raised (%d times so far); the feed carries on",
                self.callback_errors,
            )
