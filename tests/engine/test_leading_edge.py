"""Leading-edge batching: an action that finds nothing of ours in flight leaves at once, not
after the window; what arrives while a flight is out is collected and leaves as one batch the
moment that flight lands; an explicit cancel never waits. The window here is 60 s: anything
that waited for it would time the test out."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D

import pytest

from mmoms.core.clock import LiveClock
from mmoms.core.enums import OrderStatus, Side
from mmoms.core.ids import ClientOrderId, Symbol
from mmoms.engine.risk import RiskConfig
from mmoms.journal.memory import MemoryJournal

from .fake_gateway import SYM, FakeGateway
from .test_oms import LIMITS, Harness, S, shutdown, start
from .test_quote_budget import BTCUSDC, ETHUSDC

ETH = Symbol("ETHUSDC")

LONG_WINDOW = dict(batch_window_s=60.0)


def _intents(journal: MemoryJournal) -> int:
    return sum(1 for r in journal.records.values() if r.kind == "IntentReceived")


def status(h: Harness, cid: ClientOrderId, symbol: Symbol = SYM) -> OrderStatus | None:
    order = h.oms.book.get(symbol, cid)
    return None if order is None else order.status


@pytest.mark.asyncio
async def test_a_lone_order_leaves_at_once_not_after_the_window() -> None:
    venue = FakeGateway(LiveClock())
    h = await start(venue, MemoryJournal(), **LONG_WINDOW)
    try:
        cid = h.oms.place(S, SYM, Side.BUY, D(1), D(94_000))
        await h.until(lambda: status(h, cid) is OrderStatus.NEW)
        assert venue.requests.count("submit") == 1
    finally:
        await shutdown(h)


@pytest.mark.asyncio
async def test_what_arrives_while_a_flight_is_out_leaves_together_when_it_lands() -> None:
    venue, journal = FakeGateway(LiveClock()), MemoryJournal()
    h = await start(venue, journal, **LONG_WINDOW)
    try:
        first = h.oms.place(S, SYM, Side.BUY, D(1), D(94_000))
        reply = venue.hold_reply[first] = asyncio.Event()  # the venue acts, answers late
        await h.until(lambda: first in venue.orders)
        intents = _intents(journal)
        later = [h.oms.place(S, SYM, Side.BUY, D(1), D(93_900 - i)) for i in range(3)]
        await h.until(lambda: _intents(journal) == intents + 3)  # the engine has them
        assert [status(h, c) for c in later] == [None] * 3  # collected, not decided yet
        assert not any(c in venue.orders for c in later)
        reply.set()
        await h.until(lambda: all(status(h, c) is OrderStatus.NEW for c in later))
        assert venue.requests.count("submit") == 1  # the first, alone
        assert venue.requests.count("submit_batch") == 1  # the three, in one request
    finally:
        await shutdown(h)


@pytest.mark.asyncio
async def test_a_cancel_does_not_wait_behind_a_flight_in_flight() -> None:
    venue = FakeGateway(LiveClock())
    h = await start(venue, MemoryJournal(), **LONG_WINDOW)
    try:
        resting = h.oms.place(S, SYM, Side.BUY, D(1), D(94_000))
        await h.until(lambda: status(h, resting) is OrderStatus.NEW)
        other = h.oms.place(S, SYM, Side.BUY, D(1), D(93_000))
        venue.hold_reply[other] = asyncio.Event()  # in flight until the end of the test
        await h.until(lambda: other in venue.orders)
        h.oms.cancel(S, SYM, resting)
        await h.until(lambda: status(h, resting) is OrderStatus.CANCELED)
        venue.hold_reply[other].set()
    finally:
        await shutdown(h)


@pytest.mark.asyncio
async def test_one_symbols_flight_never_holds_another_symbols_order() -> None:
    venue = FakeGateway(LiveClock(), listed=[BTCUSDC, ETHUSDC])
    risk = RiskConfig(limits={SYM: LIMITS, ETH: LIMITS}, max_orders_per_second=1000)
    h = await start(venue, MemoryJournal(), symbols=(SYM, ETH), risk=risk, **LONG_WINDOW)
    h.oms.set_reference_price(ETH, D(3_000))
    try:
        btc = h.oms.place(S, SYM, Side.BUY, D(1), D(94_000))
        venue.hold_reply[btc] = asyncio.Event()  # BTC's flight stays out
        await h.until(lambda: btc in venue.orders)
        eth = h.oms.place(S, ETH, Side.BUY, D(1), D(3_000))
        await h.until(lambda: status(h, eth, ETH) is OrderStatus.NEW)  # not behind BTC's
        venue.hold_reply[btc].set()
    finally:
        await shutdown(h)
