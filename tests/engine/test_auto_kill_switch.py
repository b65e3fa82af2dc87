"""The automatic kill switch, end to end: a fill that takes the position beyond the hard limit
engages it, whatever the engine's internal routing of the fill looks like."""

from __future__ import annotations

import dataclasses
from decimal import Decimal as D

import pytest

from mmoms.core.enums import OrderStatus, Side
from mmoms.engine.risk import SymbolLimits

from .fake_gateway import SYM
from .test_oms import Harness, S, h  # noqa: F401 (h is the fixture)


@pytest.mark.asyncio
async def test_a_fill_beyond_the_hard_position_limit_engages_the_kill_switch(h: Harness) -> None:  # noqa: F811
    risk = h.oms.risk
    cid = h.oms.place(S, SYM, Side.BUY, D("0.02"), D("95000"))
    await h.until(
        lambda: (o := h.oms.book.get(SYM, cid)) is not None and o.status is OrderStatus.NEW
    )
    # Tighten the limits under the resting order: hard limit 1.5 x 0.01 = 0.015 < 0.02.
    tight = SymbolLimits(
        max_order_qty=D(5),
        max_order_notional=D(1_000_000),
        max_open_orders=50,
        max_position=D("0.01"),
    )
    risk.config = dataclasses.replace(risk.config, limits={SYM: tight})
    assert risk.kill_reason is None
    h.venue.fill(cid, D("0.02"))
    await h.until(lambda: h.oms.position(SYM) == D("0.02"))
    await h.until(lambda: risk.kill_reason is not None)
    assert risk.kill_reason == f"{SYM} position 0.02 beyond 0.015"
    notes: list[object] = []
    h.oms.add_listener(notes.append)
    h.oms.place(S, SYM, Side.SELL, D("0.01"), D("95000"))  # even a reducing order: all stop
    await h.until(lambda: h.oms.metrics.risk_rejections.get("kill_switch", 0) == 1)
