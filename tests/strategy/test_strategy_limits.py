"""A strategy's own limits hold inside the account's: one strategy is refused at its limit while
another on the same symbol and account goes on."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

import mmoms
from mmoms.core.enums import OrderStatus
from mmoms.core.ids import StrategyId, Symbol
from mmoms.engine.strategy_limits import StrategyLimits

from .harness import start
from .test_callbacks import Tracker

BTC = Symbol("BTCUSDC")
BUY, SELL = mmoms.Side.BUY, mmoms.Side.SELL


def limits(**kw: object) -> dict[tuple[StrategyId, Symbol], StrategyLimits]:
    return {(StrategyId("a"), BTC): StrategyLimits(**kw)}  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_worst_case_position_per_strategy_counts_resting_queued_and_filled() -> None:
    a, b = Tracker(), Tracker()
    node = await start(("a", a), ("b", b), strategy_limits=limits(max_position=D("0.02")))
    try:
        node.mark("95000")
        first = a.place(symbol="BTCUSDC", side=BUY, quantity=D("0.015"), price=D(94000))
        a.place(symbol="BTCUSDC", side=BUY, quantity=D("0.01"), price=D(94000))  # same window
        await node.until(lambda: len(a.rejections) == 1)
        assert a.rejections[0].check == "strategy_position"
        assert "worst case 0.025" in a.rejections[0].reason
        # b is not held to a's limit: the account's limit (20) applies
        big = b.place(symbol="BTCUSDC", side=BUY, quantity=D("0.5"), price=D(94000))
        await node.until(lambda: (o := b.order(big)) is not None and o.status is OrderStatus.NEW)
        assert b.rejections == []
        # filled, the position itself counts; selling reduces it and passes
        node.venue.fill(first, D("0.015"))
        await node.until(lambda: a.position("BTCUSDC") == D("0.015"))
        a.place(symbol="BTCUSDC", side=BUY, quantity=D("0.01"), price=D(94000))
        await node.until(lambda: len(a.rejections) == 2)
        assert "worst case 0.025" in a.rejections[1].reason
        sell = a.place(symbol="BTCUSDC", side=SELL, quantity=D("0.03"), price=D(96000))
        await node.until(lambda: (o := a.order(sell)) is not None and o.status is OrderStatus.NEW)
        assert len(a.rejections) == 2  # 0.015 − 0.03 = −0.015: inside ±0.02
    finally:
        await node.stop()


@pytest.mark.asyncio
async def test_open_orders_per_strategy_and_amends_are_held_to_the_position_limit() -> None:
    a = Tracker()
    node = await start(("a", a), strategy_limits=limits(max_open_orders=2, max_position=D("0.03")))
    try:
        node.mark("95000")
        ids = [
            a.place(symbol="BTCUSDC", side=BUY, quantity=D("0.01"), price=D(94000 - i))
            for i in range(3)
        ]
        await node.until(lambda: len(a.rejections) == 1)
        assert a.rejections[0].check == "strategy_open_orders"
        assert a.rejections[0].client_order_id == ids[2]
        await node.until(
            lambda: all((o := a.order(c)) and o.status is OrderStatus.NEW for c in ids[:2])
        )
        a.amend(ids[0], quantity=D("0.025"))  # 0.025 + 0.01 resting = 0.035 > 0.03
        await node.until(lambda: len(a.rejections) == 2)
        assert a.rejections[1].check == "strategy_position"
        a.amend(ids[0], quantity=D("0.02"))  # 0.02 + 0.01 = 0.03: allowed
        await node.until(lambda: (o := a.order(ids[0])) is not None and o.quantity == D("0.02"))
    finally:
        await node.stop()
