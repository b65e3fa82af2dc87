"""The whole stack — OMS, Binance gateway, SQLite journal — against the simulator over real
HTTP and WebSocket. What a market maker checks first: quoting economy, batching, clean stop,
and a journal that rebuilds the exact state."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from mmoms.app.stack import EmbeddedStack, start_embedded
from mmoms.core.enums import Side
from mmoms.core.ids import StrategyId, Symbol
from mmoms.core.instrument import PriceRounding
from mmoms.core.intents import QuoteLevel
from mmoms.journal.recovery import recover
from mmoms.journal.sqlite import SqliteJournalStore
from tests.waiting import until

BTC = Symbol("BTCUSDC")
S = StrategyId("e2e")


class Waiter:
    def __init__(self, stack: EmbeddedStack) -> None:
        self.changed = asyncio.Event()
        stack.oms.add_batch_listener(self.changed.set)

    async def until(self, cond: Callable[[], bool]) -> None:
        """Re-check ``cond`` after every engine batch; 10 s at most."""
        await until(self.changed, cond, timeout_s=10)


@pytest_asyncio.fixture
async def stack(tmp_path: Path) -> AsyncIterator[EmbeddedStack]:
    s = await start_embedded(journal_path=tmp_path / "journal.sqlite", seed=7)
    yield s
    await s.close()


def sim_call(stack: EmbeddedStack, key: str, **params: str) -> Any:
    endpoint = stack.exchange.endpoints[key]
    return endpoint.handler(stack.exchange.account_for_key(stack.api_key), params)


def mid(stack: EmbeddedStack) -> D:
    top = sim_call(stack, "GET /fapi/v1/ticker/bookTicker", symbol=BTC)
    return (D(top["bidPrice"]) + D(top["askPrice"])) / 2


def far_quotes(center: D, shift: D = D(0)) -> list[QuoteLevel]:
    """Two levels a side, 1 % away from the market: they rest, nothing fills."""
    out = []
    for i in range(2):
        gap = center * D("0.01") + i * 10
        out.append(
            QuoteLevel(side=Side.BUY, price=center - gap + shift, quantity=D("0.002"), tag=f"b{i}")
        )
        out.append(
            QuoteLevel(side=Side.SELL, price=center + gap + shift, quantity=D("0.002"), tag=f"a{i}")
        )
    return out


def settled(stack: EmbeddedStack, n: int) -> Callable[[], bool]:
    def check() -> bool:
        orders = stack.oms.book.open_orders(BTC)
        return len(orders) == n and not any(o.status.is_in_flight for o in orders)

    return check


@pytest.mark.asyncio
async def test_quoting_economy_on_the_simulator(stack: EmbeddedStack) -> None:
    waiter = Waiter(stack)
    oms = stack.oms
    center = mid(stack)
    oms.set_reference_price(BTC, center)
    oms.set_quotes(S, BTC, far_quotes(center))
    await waiter.until(settled(stack, 4))
    venue_open = sim_call(stack, "GET /fapi/v1/openOrders", symbol=BTC)
    assert {o["clientOrderId"] for o in venue_open} == {
        o.client_order_id for o in oms.book.open_orders(BTC)
    }
    sent = oms.metrics.requests

    # Sub-tolerance moves (tolerance: 10 ticks = 1.0): no request at all.
    saved = oms.metrics.actions_saved
    oms.set_quotes(S, BTC, far_quotes(center, shift=D("0.3")))
    await waiter.until(lambda: oms.metrics.actions_saved >= saved + 4)
    assert oms.metrics.requests == sent

    # One level moves: one action, one request.
    levels = far_quotes(center)
    levels[2] = QuoteLevel(side=Side.BUY, price=levels[2].price - 50, quantity=D("0.002"), tag="b1")
    oms.set_quotes(S, BTC, levels)
    await waiter.until(lambda: oms.metrics.requests == sent + 1 and settled(stack, 4)())
    assert oms.metrics.actions.get("amend", 0) + oms.metrics.actions.get("cancel", 0) >= 1


@pytest.mark.asyncio
async def test_a_burst_of_100_updates_is_a_handful_of_requests(stack: EmbeddedStack) -> None:
    waiter = Waiter(stack)
    oms = stack.oms
    center = mid(stack)
    oms.set_reference_price(BTC, center)
    for i in range(100):
        oms.set_quotes(S, BTC, far_quotes(center, shift=D(i % 9) * 3))
    final = far_quotes(center, shift=D(40))
    oms.set_quotes(S, BTC, final)
    want = {(lv.side, lv.price) for lv in final}
    await waiter.until(
        lambda: (
            settled(stack, 4)()
            and {(o.side, o.price) for o in oms.book.open_orders(BTC)}
            == {(s, oms.instrument(BTC).round_price(p, PriceRounding.PASSIVE, s)) for s, p in want}
        )
    )
    assert oms.metrics.requests <= 8, oms.metrics.requests


@pytest.mark.asyncio
async def test_stop_leaves_nothing_and_the_journal_rebuilds_the_state(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    stack = await start_embedded(journal_path=path, seed=3)
    waiter = Waiter(stack)
    center = mid(stack)
    stack.oms.set_reference_price(BTC, center)
    stack.oms.set_quotes(S, BTC, far_quotes(center))
    await waiter.until(settled(stack, 4))
    await stack.close(cancel_orders=True)
    assert sim_call(stack, "GET /fapi/v1/openOrders", symbol=BTC) == []
    live_hash = stack.oms.book.state_hash()

    store = SqliteJournalStore(path, create=False)
    await store.open()
    try:
        replayed = await recover(store, use_snapshot=False)
        from_snapshot = await recover(store)
    finally:
        await store.close()
    assert replayed.book.state_hash() == live_hash
    assert from_snapshot.book.state_hash() == live_hash
    assert all(o.status.is_terminal for o in replayed.book.orders())
