"""Contingent groups through the whole stack on the simulator: a bracket's entry fills, the
take-profit (LIMIT) and the stop-loss (STOP_MARKET in Binance's algo service) go out at once,
the market moves, one exit fills and the other is canceled."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from mmoms.app.stack import EmbeddedStack, start_embedded
from mmoms.contingent import GroupStatus, bracket
from mmoms.core.enums import OrderStatus, OrderType, Side
from mmoms.core.ids import ClientOrderId, GroupId, StrategyId, Symbol

from .test_oms_on_sim import Waiter, mid, sim_call

BTC = Symbol("BTCUSDC")
S = StrategyId("e2e")


@pytest_asyncio.fixture
async def stack(tmp_path: Path) -> AsyncIterator[EmbeddedStack]:
    s = await start_embedded(journal_path=tmp_path / "journal.sqlite", seed=5)
    yield s
    await s.close()


def open_algo(stack: EmbeddedStack) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = sim_call(stack, "GET /fapi/v1/openAlgoOrders", symbol=BTC)
    return result


@pytest.mark.asyncio
async def test_bracket_take_profit_exit_cancels_the_stop(stack: EmbeddedStack) -> None:
    waiter = Waiter(stack)
    oms = stack.oms
    center = mid(stack).quantize(D("0.1"))
    oms.set_reference_price(BTC, center)
    group = bracket(
        "b1", BTC, Side.BUY, D("0.002"), take_profit_price=center + 60, stop_price=center - 60
    )
    oms.place_group(S, group)
    tp, sl = ClientOrderId("b1-tp"), ClientOrderId("b1-sl")

    def leg(cid: ClientOrderId) -> OrderStatus | None:
        order = oms.book.get(BTC, cid)
        return None if order is None else order.status

    # The MARKET entry fills at once; both exits are placed in the plan of that fill.
    await waiter.until(lambda: leg(tp) is OrderStatus.NEW and leg(sl) is OrderStatus.NEW)
    assert oms.position(BTC) == D("0.002")
    assert [o["clientAlgoId"] for o in open_algo(stack)] == ["b1-sl"]  # the stop is an algo order
    sl_order = oms.book.get(BTC, sl)
    assert sl_order is not None
    assert sl_order.order_type is OrderType.STOP_MARKET

    # The market rises through the take-profit: it fills, the stop is canceled, the group ends.
    stack.exchange.set_mid(BTC, str(center + 200))
    await waiter.until(lambda: leg(tp) is OrderStatus.FILLED and leg(sl) is OrderStatus.CANCELED)
    state = oms.group(GroupId("b1"))
    assert state is not None
    await waiter.until(
        lambda: (g := oms.group(GroupId("b1"))) is not None and g.status is GroupStatus.COMPLETED
    )
    assert oms.position(BTC) == 0
    assert open_algo(stack) == []


@pytest.mark.asyncio
async def test_bracket_stop_triggered_by_mark_price_cancels_the_take_profit(
    stack: EmbeddedStack,
) -> None:
    waiter = Waiter(stack)
    oms = stack.oms
    center = mid(stack).quantize(D("0.1"))
    oms.set_reference_price(BTC, center)
    oms.place_group(
        S,
        bracket(
            "b2", BTC, Side.SELL, D("0.002"), take_profit_price=center - 60, stop_price=center + 60
        ),
    )
    tp, sl = ClientOrderId("b2-tp"), ClientOrderId("b2-sl")

    def leg(cid: ClientOrderId) -> OrderStatus | None:
        order = oms.book.get(BTC, cid)
        return None if order is None else order.status

    await waiter.until(lambda: leg(tp) is OrderStatus.NEW and leg(sl) is OrderStatus.NEW)
    assert oms.position(BTC) == D("-0.002")
    stack.exchange.set_mid(BTC, str(center + 300))  # the mark follows: the short's stop fires
    # The take-profit ends canceled by us, or expired by the venue first: a reduce-only order
    # with no position left to reduce (Binance expires those itself, er=4).
    gone = (OrderStatus.CANCELED, OrderStatus.EXPIRED)
    await waiter.until(lambda: leg(sl) is OrderStatus.FILLED and leg(tp) in gone)
    await waiter.until(
        lambda: (g := oms.group(GroupId("b2"))) is not None and g.status is GroupStatus.COMPLETED
    )
    assert oms.position(BTC) == 0
    assert open_algo(stack) == []


@pytest.mark.asyncio
async def test_stopping_cancels_a_live_bracket_in_one_batch(tmp_path: Path) -> None:
    """Both exits canceled together at stop: the take-profit through the batch endpoint, the
    stop through the algo service (Binance's batch cancel does not know algo orders)."""
    stack = await start_embedded(journal_path=tmp_path / "j.sqlite", seed=9)
    waiter = Waiter(stack)
    oms = stack.oms
    notes: list[object] = []
    oms.add_listener(notes.append)
    center = mid(stack).quantize(D("0.1"))
    oms.set_reference_price(BTC, center)
    oms.place_group(
        S,
        bracket(
            "b3", BTC, Side.BUY, D("0.002"), take_profit_price=center + 80, stop_price=center - 80
        ),
    )
    await waiter.until(
        lambda: all(
            (o := oms.book.get(BTC, ClientOrderId(c))) is not None and o.status is OrderStatus.NEW
            for c in ("b3-tp", "b3-sl")
        )
    )
    await stack.close(cancel_orders=True)
    assert not [n for n in notes if type(n).__name__ == "OrderCancelRejected"]
    for cid in ("b3-tp", "b3-sl"):
        order = oms.book.get(BTC, ClientOrderId(cid))
        assert order is not None
        assert order.status is OrderStatus.CANCELED, cid
    assert open_algo(stack) == []
