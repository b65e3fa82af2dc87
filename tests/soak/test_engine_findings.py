"""Engine bugs the chaos soak found, each reduced to a minimal reproduction.

A new finding goes in as ``xfail(strict=True)`` until the engine is fixed; a fix makes the test
pass, which fails the suite as XPASS: then its marker is deleted. The soak itself is not the
place to work around them. Evidence (seeds, journal records) is in the soak's report of the
commit that added each one. Fixed: F1 (a triggered stop's venue order id is learned from the
algo service), F2 (an amend answered "unknown order" fails and pulls the order; in-flight orders
are queried), F3 (a failed reconciliation is retried as itself, not as a periodic timer), F4 (a
cancel answered -2011 makes the order UNKNOWN, never live again on our word).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from mmoms.app.stack import demo_oms_config, start_embedded
from mmoms.contingent import bracket, limit, oco
from mmoms.core.clock import LiveClock
from mmoms.core.commands import AmendOrder, QueryOrder, SubmitOrder
from mmoms.core.enums import OrderStatus, Side
from mmoms.core.ids import ClientOrderId, StrategyId, Symbol
from mmoms.core.reports import OpenOrdersSnapshot, OrderNotFoundReport, OrderStatusReport
from mmoms.journal.memory import MemoryJournal
from mmoms.sim.faults import FaultInjector
from mmoms.venues.errors import NotSent, OrderNotFound, OutcomeUnknown
from mmoms.venues.gateway import BatchResult
from tests.e2e.test_oms_on_sim import Waiter, mid, sim_call
from tests.engine.fake_gateway import SYM, FakeGateway
from tests.engine.test_oms import quotes, start

BTC = Symbol("BTCUSDC")


@pytest.mark.asyncio
async def test_the_lost_fill_of_a_triggered_stop_is_recovered(tmp_path: Path) -> None:
    faults = FaultInjector()
    stack = await start_embedded(
        journal_path=tmp_path / "journal.sqlite",
        seed=5,
        faults=faults,
        oms_config=demo_oms_config(reconcile_interval_s=0.2),
    )
    try:
        waiter, oms = Waiter(stack), stack.oms
        center = mid(stack).quantize(D("0.1"))
        oms.set_reference_price(BTC, center)
        oms.place_group(
            StrategyId("t"),
            bracket("f1", BTC, Side.BUY, D("0.002"), take_profit_price=center + 80,
                    stop_price=center - 80),
        )  # fmt: skip

        def status(cid: str) -> OrderStatus | None:
            order = oms.book.get(BTC, ClientOrderId(cid))
            return None if order is None else order.status

        await waiter.until(lambda: status("f1-sl") is OrderStatus.NEW)
        assert oms.position(BTC) == D("0.002")
        # From now on the stream loses every order update: the stop's trade with it. The
        # algo service's own updates (ALGO_UPDATE) still arrive.
        faults.add(
            [{"kind": "user_event", "action": "drop", "event_types": ["ORDER_TRADE_UPDATE"]}], 0
        )
        stack.exchange.set_mid(BTC, str(center - 300))  # the mark follows: the stop fires
        await waiter.until(lambda: status("f1-sl") is OrderStatus.FILLED)
        venue = sum(D(p["positionAmt"]) for p in sim_call(stack, "GET /fapi/v3/positionRisk"))
        assert venue == 0
        done = oms.metrics.reconciliations + 5
        await waiter.until(lambda: oms.metrics.reconciliations >= done)
        assert oms.position(BTC) == venue  # the OMS still holds 0.002: the stop's fill is lost
    finally:
        await stack.close()


@dataclass
class BatchLikeBinance(FakeGateway):
    """Answers like the Binance gateway does: an unknown order in a batch modify is an
    OrderNotFoundReport item (mmoms/venues/binance/batch.py), and the first queries of an
    order are eventually consistent (-2013: not found yet)."""

    stale_queries: int = 0

    async def amend_batch(self, cmds: Sequence[AmendOrder]) -> list[BatchResult]:
        out: list[BatchResult] = []
        for result in await super().amend_batch(cmds):
            if isinstance(result, OrderNotFound):
                cmd = cmds[len(out)]
                now = self.clock.time_ns()
                result = OrderNotFoundReport(
                    ts_event_ns=now, ts_recv_ns=now, symbol=cmd.symbol,
                    client_order_id=cmd.client_order_id,
                )  # fmt: skip
            out.append(result)
        return out

    async def query(self, cmd: QueryOrder, **kw: Any) -> OrderStatusReport | OrderNotFoundReport:
        if self.stale_queries:
            self.stale_queries -= 1
            now = self.clock.time_ns()
            return OrderNotFoundReport(
                ts_event_ns=now, ts_recv_ns=now, symbol=cmd.symbol,
                client_order_id=cmd.client_order_id,
            )  # fmt: skip
        return await super().query(cmd, **kw)


@pytest.mark.asyncio
async def test_an_amend_of_a_silently_filled_order_does_not_stick_in_flight() -> None:
    venue = BatchLikeBinance(LiveClock())
    h = await start(venue, MemoryJournal(), reconcile_interval_s=0.05)
    try:
        h.oms.set_quotes(StrategyId("mm"), SYM, quotes("94990", "95010"))
        await h.until(lambda: len([o for o in venue.live()]) == 4)
        await h.until(lambda: all(not o.status.is_in_flight for o in h.oms.book.open_orders()))
        bid = next(o for o in venue.live() if o.price == D(94990))
        venue.drop_stream = True  # the fill's events are lost...
        venue.fill(bid.cid, bid.qty)
        venue.drop_stream = False
        venue.stale_queries = 1  # ...and the first query of it reads stale
        h.oms.set_quotes(StrategyId("mm"), SYM, quotes("94980", "95010"))  # both bids amend
        done = h.oms.metrics.reconciliations + 10
        await h.until(lambda: h.oms.metrics.reconciliations >= done)
        order = h.oms.book.get(SYM, bid.cid)
        assert order is not None
        assert order.status is OrderStatus.FILLED, order.status
    finally:
        await h.oms.stop(cancel_orders=False)
        await asyncio.wait_for(h.run_task, 5)
        await h.oms.close()


@dataclass
class FailingSnapshots(FakeGateway):
    failures: int = 0

    async def open_orders(self, symbols: Sequence[Symbol] | None = None) -> OpenOrdersSnapshot:
        if self.failures:
            self.failures -= 1
            raise NotSent("503 Service Unavailable.", code=-1001, http_status=503)
        return await super().open_orders(symbols)


@pytest.mark.asyncio
async def test_failed_reconciliations_do_not_multiply_the_periodic_ones() -> None:
    venue = FailingSnapshots(LiveClock())
    interval = 0.1
    h = await start(venue, MemoryJournal(), reconcile_interval_s=interval, retry_unknown_s=0.01)
    try:
        venue.failures = 30
        loop = asyncio.get_running_loop()
        await h.until(lambda: venue.failures == 0)
        began, done = loop.time(), h.oms.metrics.reconciliations + 20
        await h.until(lambda: h.oms.metrics.reconciliations >= done)
        # 20 periodic reconciliations take 2 s at one per interval. A slow machine only makes it
        # longer; several timer chains make it far shorter.
        assert loop.time() - began >= 20 * interval / 2
    finally:
        await h.oms.stop(cancel_orders=False)
        await asyncio.wait_for(h.run_task, 5)
        await h.oms.close()


@dataclass
class NeverPlaced(FakeGateway):
    """Leg ``b`` of a group is lost behind a 503 (never placed); the answer to "was it placed?"
    comes only when the test says so (the gateway waits out the recvWindow before it)."""

    resolved: asyncio.Event | None = None

    def _submit(self, cmd: SubmitOrder) -> OrderStatusReport:
        if cmd.client_order_id.endswith("-b"):
            raise OutcomeUnknown("503 Unknown error", code=-1000, http_status=503)
        return super()._submit(cmd)

    async def resolve_unknown(
        self, symbol: Symbol, client_order_id: ClientOrderId, **kw: Any
    ) -> OrderStatusReport | OrderNotFoundReport:
        assert self.resolved is not None
        await self.resolved.wait()
        return await super().resolve_unknown(symbol, client_order_id, **kw)


@pytest.mark.asyncio
async def test_a_never_placed_order_canceled_while_unknown_ends_rejected() -> None:
    venue = NeverPlaced(LiveClock(), resolved=asyncio.Event())
    h = await start(venue, MemoryJournal(), reconcile_interval_s=0.05)
    try:
        h.oms.place_group(
            StrategyId("t"),
            oco("f4", SYM, [limit(Side.BUY, D("0.01"), D(94990)),
                            limit(Side.SELL, D("0.01"), D(95010))]),
        )  # fmt: skip
        b = ClientOrderId("f4-b")

        def status(cid: ClientOrderId) -> OrderStatus | None:
            order = h.oms.book.get(SYM, cid)
            return None if order is None else order.status

        await h.until(
            lambda: status(b) is OrderStatus.UNKNOWN and ClientOrderId("f4-a") in venue.orders
        )
        venue.fill(ClientOrderId("f4-a"), D("0.01"))  # a fills: the group cancels b
        await h.until(lambda: h.oms.metrics.cancel_races == 1)  # answered -2011, before resolution
        assert venue.resolved is not None
        venue.resolved.set()  # the venue never had b
        done = h.oms.metrics.reconciliations + 10
        await h.until(lambda: h.oms.metrics.reconciliations >= done)
        assert status(b) is OrderStatus.REJECTED
    finally:
        await h.oms.stop(cancel_orders=False)
        await asyncio.wait_for(h.run_task, 5)
        await h.oms.close()
