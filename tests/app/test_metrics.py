"""The metrics server as ``mmoms demo`` would call it: next to an embedded stack, in-process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from decimal import Decimal as D
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from mmoms.app.metrics import RunInfo, start_metrics_server
from mmoms.app.stack import EmbeddedStack, start_embedded
from mmoms.core.enums import Side
from mmoms.core.ids import StrategyId, Symbol
from mmoms.core.intents import QuoteLevel
from tests.waiting import until

BTC = Symbol("BTCUSDC")


@pytest_asyncio.fixture
async def stack(tmp_path: Path) -> AsyncIterator[EmbeddedStack]:
    s = await start_embedded(journal_path=tmp_path / "journal.sqlite", seed=3)
    yield s
    await s.close()


async def engine_until(stack: EmbeddedStack, cond: Callable[[], object]) -> None:
    """Re-check after every engine batch; 10 s at most."""
    changed = asyncio.Event()
    stack.oms.add_batch_listener(changed.set)
    await until(changed, cond, timeout_s=10)


async def fetch(session: aiohttp.ClientSession, url: str) -> str:
    async with session.get(url) as resp:
        assert resp.status == 200
        return await resp.text()


@pytest.mark.asyncio
async def test_the_demo_hook_serves_metrics_and_status(stack: EmbeddedStack) -> None:
    oms = stack.oms
    await engine_until(stack, lambda: oms.metrics.reconciliations >= 1)
    endpoint = stack.exchange.endpoints["GET /fapi/v1/ticker/bookTicker"]
    top = endpoint.handler(stack.exchange.account_for_key(stack.api_key), {"symbol": BTC})
    bid = D(top["bidPrice"])
    oms.set_reference_price(BTC, bid)
    price = (bid * D("0.99")).quantize(D(1))  # 1 % under the market: it rests
    levels = [QuoteLevel(side=Side.BUY, price=price, quantity=D("0.002"), tag="far")]
    oms.set_quotes(StrategyId("t"), BTC, levels)
    await engine_until(stack, lambda: any(o.status.value == "NEW" for o in oms.book.open_orders()))

    first = await start_metrics_server(oms, 0)  # what the demo calls: no RunInfo needed
    info = RunInfo(venue="sim", symbols=(BTC,), stream_ignored=lambda: {"unknown FOO_EVENT": 2})
    second = await start_metrics_server(oms, 0, info=info)
    try:
        assert first.port != second.port
        async with aiohttp.ClientSession() as session:
            text = await fetch(session, f"{first.url}/metrics")
            assert 'mmoms_orders{state="NEW",symbol="BTCUSDC"} 1.0' in text
            assert "mmoms_reconciliations_total" in text
            assert 'mmoms_position{symbol="BTCUSDC"} 0.0' in text
            assert "mmoms_market_data_updates_total" not in text  # no feed given
            assert "mmoms_user_stream_ignored_total" not in text
            text = await fetch(session, f"{second.url}/metrics")
            assert 'mmoms_user_stream_ignored_total{kind="unknown FOO_EVENT"} 2.0' in text
            async with session.get(f"{second.url}/status") as resp:
                doc = await resp.json()
        assert doc["venue"] == "sim"
        assert doc["health"] == {"status": "ok", "problems": []}
        [order] = doc["open_orders"]
        assert (order["symbol"], order["side"], order["quantity"]) == ("BTCUSDC", "BUY", "0.002")
        assert D(order["price"]) == price
        assert order["tag"] == "far"
    finally:
        await first.close()
        await second.close()


@pytest.mark.asyncio
async def test_a_busy_port_is_an_os_error(stack: EmbeddedStack) -> None:
    server = await start_metrics_server(stack.oms, 0)
    try:
        with pytest.raises(OSError, match=r"(?i)address already in use"):
            await start_metrics_server(stack.oms, server.port)
    finally:
        await server.close()
