"""Top of book for the demo strategy, from Binance's ``<symbol>@bookTicker`` stream.

A thin I/O shell: one WebSocket on ``/public/stream?streams=...`` (the combined form, so one
connection serves every symbol), parsed into Decimals, kept as the latest (bid, ask) per symbol.
It reconnects at once when the connection drops. A strategy waits on :meth:`BookTickerFeed.wait`
for the next change instead of polling.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from decimal import Decimal

import aiohttp
import msgspec

from mmoms.core.ids import Symbol

log = logging.getLogger(__name__)


class _Ticker(msgspec.Struct):
    s: str  # symbol
    b: str  # best bid price
    a: str  # best ask price


class _Envelope(msgspec.Struct):
    stream: str
    data: _Ticker


_decode = msgspec.json.Decoder(_Envelope).decode


class BookTickerFeed:
    def __init__(self, ws_base_url: str, symbols: Sequence[Symbol]) -> None:
        streams = "/".join(f"{s.lower()}@bookTicker" for s in symbols)
        self._url = f"{ws_base_url.rstrip('/')}/public/stream?streams={streams}"
        self.top: dict[Symbol, tuple[Decimal, Decimal]] = {}
        self.updates = 0
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="book-ticker")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def wait(self) -> None:
        """Until the next top-of-book change."""
        self._changed.clear()
        await self._changed.wait()

    async def _run(self) -> None:
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    async with session.ws_connect(self._url, heartbeat=20) as ws:
                        async for msg in ws:
                            if msg.type is aiohttp.WSMsgType.TEXT:
                                self._on_text(msg.data)
                except (aiohttp.ClientError, OSError) as exc:
                    log.warning("book ticker stream dropped (%s); reconnecting", exc)
                    await asyncio.sleep(0.1)  # a refused connect must not spin

    def _on_text(self, text: str) -> None:
        """Keep one ticker; anything else changes nothing and is logged (never the payload)."""
        try:
            env = _decode(text)
            bid, ask = Decimal(env.data.b), Decimal(env.data.a)
        except (msgspec.DecodeError, RecursionError, UnicodeError) as exc:
            # Control replies ({"result": null, "id": 1}) land here too: not worth a warning.
            log.debug("book ticker: not a ticker message (%d chars): %s", len(text), exc)
            return
        except ArithmeticError:
            log.warning("book ticker: unreadable prices for %r, ignored", env.data.s[:32])
            return
        if not (bid.is_finite() and ask.is_finite() and bid > 0 and ask > 0):
            log.warning(
                "book ticker: non-positive or non-finite prices for %r, ignored", env.data.s[:32]
            )
            return
        self.top[Symbol(env.data.s)] = (bid, ask)
        self.updates += 1
        self._changed.set()
