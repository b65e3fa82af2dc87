"""Callbacks: who hears what, a callback that raises, the error policy, timers, PnL."""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal as D

import pytest

import mmoms
from mmoms.core.enums import OrderStatus
from mmoms.core.ids import ClientOrderId

from .harness import start

BUY, SELL = mmoms.Side.BUY, mmoms.Side.SELL


class Tracker(mmoms.Strategy):
    symbols = ("BTCUSDC",)

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.fills: list[mmoms.Fill] = []
        self.orders: list[mmoms.OrderEvent] = []
        self.rejections: list[mmoms.RiskRejection] = []
        self.timers: list[str] = []

    def on_start(self) -> None:
        self.calls.append("start")

    def on_market(self, update: mmoms.MarketUpdate) -> None:
        self.calls.append(f"market {update.bid}")

    def on_mark_price(self, mark: mmoms.MarkPriceUpdate) -> None:
        self.calls.append(f"mark {mark.mark_price}")

    def on_order(self, event: mmoms.OrderEvent) -> None:
        self.orders.append(event)

    def on_fill(self, fill: mmoms.Fill) -> None:
        self.fills.append(fill)

    def on_risk_rejected(self, rejection: mmoms.RiskRejection) -> None:
        self.rejections.append(rejection)

    def on_timer(self, name: str) -> None:
        self.timers.append(name)

    def on_stop(self) -> None:
        self.calls.append("stop")


class Raises(Tracker):
    def on_market(self, update: mmoms.MarketUpdate) -> None:
        super().on_market(update)
        raise RuntimeError("strategy bug")


@pytest.mark.asyncio
async def test_each_strategy_hears_only_its_own_orders_and_fills_with_its_own_pnl() -> None:
    a, b = Tracker(), Tracker()
    node = await start(("a", a), ("b", b))
    try:
        node.tick("95000", "95001")
        bought = a.place(symbol="BTCUSDC", side=BUY, quantity=D("0.02"), price=D(95000))
        sold = b.place(symbol="BTCUSDC", side=SELL, quantity=D("0.01"), price=D(95001))
        await node.until(lambda: len(node.venue.live()) == 2)
        node.venue.fill(bought, D("0.02"))
        node.venue.fill(sold, D("0.01"))
        await node.until(lambda: len(a.fills) == 1 and len(b.fills) == 1)
        assert {e.client_order_id for e in a.orders} == {bought}
        assert {e.client_order_id for e in b.orders} == {sold}
        assert [type(e).__name__ for e in a.orders][-1] in ("OrderFilled", "OrderUpdated")
        fa, fb = a.fills[0], b.fills[0]
        assert (fa.strategy_id, fa.side, fa.quantity, fa.price, fa.position) == (
            "a",
            BUY,
            D("0.02"),
            D("95000.0"),
            D("0.02"),
        )
        assert (fb.strategy_id, fb.position) == ("b", D("-0.01"))
        assert a.position("BTCUSDC") == D("0.02")
        assert b.position("BTCUSDC") == D("-0.01")
        assert a.account_position("BTCUSDC") == D("0.01")  # the account nets both
        # b buys back higher: a realized loss of 0.01 × (95010 − 95001) for b, none for a
        back = b.place(symbol="BTCUSDC", side=BUY, quantity=D("0.01"), price=D(95010))
        await node.until(lambda: any(o.cid == back for o in node.venue.live()))
        node.venue.fill(back, D("0.01"))
        await node.until(lambda: len(b.fills) == 2)
        assert b.fills[1].realized_pnl == D("-0.09")
        assert b.fills[1].position == 0
        node.mark("95100")
        pa, pb = a.pnl("BTCUSDC"), b.pnl("BTCUSDC")
        assert (pa.position, pa.realized, pa.unrealized) == (D("0.02"), 0, D("2.0"))
        assert (pb.position, pb.realized, pb.unrealized, pb.fills) == (0, D("-0.09"), 0, 2)
        assert pa.net == D("2.0")
    finally:
        await node.stop()


@pytest.mark.asyncio
async def test_a_raising_callback_is_logged_counted_and_the_engine_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    s = Raises()
    node = await start(("r", s))
    try:
        with caplog.at_level(logging.ERROR, logger="mmoms.strategy"):
            node.tick("95000", "95001")
            node.tick("95002", "95003")
        host = node.host("r")
        assert host.errors == {"on_market": 2}
        tracebacks = [r for r in caplog.records if r.exc_info]
        assert len(tracebacks) == 1  # the second within the quiet period is counted, not logged
        assert "on_market raised" in tracebacks[0].getMessage()
        assert host.running  # "continue": the strategy goes on
        cid = s.place(symbol="BTCUSDC", side=BUY, quantity=D("0.01"), price=D(95000))
        await node.until(lambda: (o := s.order(cid)) is not None and o.status is OrderStatus.NEW)
        assert not node.run_task.done()
    finally:
        await node.stop()


@pytest.mark.asyncio
async def test_the_stop_policy_halts_only_that_strategy_and_cancels_its_orders() -> None:
    bad, good = Raises(), Tracker()
    node = await start(("bad", bad, "stop"), ("good", good))
    try:
        node.mark("95000")  # a price for risk, without a top of book: nothing raised yet
        mine = bad.place(symbol="BTCUSDC", side=BUY, quantity=D("0.01"), price=D(94000))
        theirs = good.place(symbol="BTCUSDC", side=BUY, quantity=D("0.01"), price=D(94001))
        await node.until(lambda: len(node.venue.live()) == 2)
        node.tick("95000", "95001")  # bad's on_market raises
        assert node.halted == [node.host("bad")]
        assert node.host("bad").state == "halted"
        assert bad.calls[-1] == "stop"  # on_stop ran
        await node.until(lambda: [o.cid for o in node.venue.live()] == [theirs])
        assert mine not in {o.cid for o in node.venue.live()}
        with pytest.raises(mmoms.OmsNotRunningError, match="strategy bad is halted"):
            bad.place(symbol="BTCUSDC", side=BUY, quantity=D("0.01"), price=D(94000))
        before = len(bad.calls)
        node.tick("95002", "95003")
        assert len(bad.calls) == before  # no more callbacks
        assert node.host("good").running
        assert good.calls[-1] == "market 95002"
    finally:
        await node.stop()


@pytest.mark.asyncio
async def test_no_price_yet_is_a_rejection_told_to_the_strategy() -> None:
    s = Tracker()
    node = await start(("a", s))
    try:
        cid = s.place(symbol="BTCUSDC", side=BUY, quantity=D("0.01"), price=D(95000))
        await node.until(lambda: bool(s.rejections))
        [r] = s.rejections
        assert (r.strategy_id, r.symbol, r.check, r.client_order_id) == (
            "a",
            "BTCUSDC",
            "price_band",
            ClientOrderId(cid),
        )
        assert "no reference price" in r.reason
        assert node.venue.submitted == []
        node.mark("95000")  # the node's market data arrives: the same order now goes
        cid = s.place(symbol="BTCUSDC", side=BUY, quantity=D("0.01"), price=D(95000))
        await node.until(lambda: (o := s.order(cid)) is not None and o.status is OrderStatus.NEW)
    finally:
        await node.stop()


@pytest.mark.asyncio
async def test_timers_fire_repeatedly_until_cancelled_and_stop_with_the_strategy() -> None:
    s = Tracker()
    node = await start(("a", s))
    fired = asyncio.Event()
    real = s.on_timer

    def on_timer(name: str) -> None:
        real(name)
        if s.timers.count("fast") == 3:
            fired.set()

    s.on_timer = on_timer  # type: ignore[method-assign]
    try:
        s.set_timer("fast", 0.01)
        s.set_timer("slow", 3600)
        await asyncio.wait_for(fired.wait(), 5)
        s.cancel_timer("fast")
        count = s.timers.count("fast")
        assert node.host("a").timers.names() == ["slow"]
        with pytest.raises(mmoms.InvalidOrderError, match=r"at least 0\.001 s"):
            s.set_timer("x", 0)
        with pytest.raises(mmoms.InvalidOrderError, match="non-empty string"):
            s.set_timer("", 1)
    finally:
        await node.stop()
    assert node.host("a").timers.names() == []  # the stop took the slow one down
    assert s.timers.count("fast") == count
    assert s.calls[0] == "start"
    assert s.calls[-1] == "stop"
