"""Risk counts what the current batching window has already accepted: a burst of intents
inside one window is checked as a whole, not each one against the book alone."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from mmoms.core.clock import LiveClock
from mmoms.core.enums import Side
from mmoms.core.ids import StrategyId
from mmoms.engine.risk import NOTHING_QUEUED, Queued, RiskConfig, SymbolLimits
from mmoms.journal.memory import MemoryJournal
from tests.engine.fake_gateway import SYM, FakeGateway
from tests.engine.test_oms import LIMITS, shutdown, start

STRATEGY = StrategyId("burst")


def test_queued_sums_by_side() -> None:
    queued = Queued(3, D(2), D(5))
    assert (queued.qty(Side.BUY), queued.qty(Side.SELL)) == (D(2), D(5))
    assert NOTHING_QUEUED.orders == 0


@pytest.mark.parametrize(
    ("limits", "accepted", "check"),
    [
        # 4 × 5 = 20 reaches max_position exactly; the fifth would make the worst case 25.
        (LIMITS, 4, "max_position"),
        (SymbolLimits(D(5), D(1_000_000), 3, D(100), D(5)), 3, "max_open_orders"),
    ],
    ids=["max_position", "max_open_orders"],
)
@pytest.mark.asyncio
async def test_a_burst_in_one_window_is_checked_as_a_whole(
    limits: SymbolLimits, accepted: int, check: str
) -> None:
    venue = FakeGateway(LiveClock())
    risk = RiskConfig(limits={SYM: limits}, max_orders_per_second=1000)
    # A long window: every intent below lands in it before anything is booked or sent.
    h = await start(venue, MemoryJournal(), risk=risk, batch_window_s=0.5)
    try:
        for _ in range(5):
            h.oms.place(STRATEGY, SYM, Side.BUY, D(5), D(94_000))
        await h.until(lambda: sum(h.oms.metrics.risk_rejections.values()) >= 5 - accepted)
        await h.until(lambda: len(venue.orders) >= accepted)
        assert len(venue.orders) == accepted
        assert h.oms.metrics.risk_rejections == {check: 5 - accepted}
    finally:
        await shutdown(h)
