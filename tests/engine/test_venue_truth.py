"""How the engine settles an order from the venue's word when its own view went wrong: a
triggered stop whose order reports were lost, an amend or cancel answered "unknown order", a
"not found" that is only a stale read, a request that never answers. Against the in-memory
venue; no sleeps: every wait is on the engine's own batches.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal as D
from typing import Any

import msgspec
import pytest

from mmoms.core.clock import LiveClock
from mmoms.core.commands import AmendOrder, CancelOrder, QueryOrder, SubmitOrder
from mmoms.core.enums import OrderStatus, OrderType, Side
from mmoms.core.events import OrderAmendRejected, OrderCancelRejected
from mmoms.core.ids import ClientOrderId, VenueOrderId
from mmoms.core.reports import OrderNotFoundReport, OrderStatusReport, ReportSource
from mmoms.journal.memory import MemoryJournal
from mmoms.venues.binance.algo_view import conditional_status_report
from mmoms.venues.errors import OrderNotFound, OutcomeUnknown
from mmoms.venues.gateway import BatchResult, StreamItem
from mmoms.venues.venue_reports import AlgoOrderReport, AlgoStatus

from .fake_gateway import SYM, Failure, FakeGateway, VenueOrder
from .test_groups_oms import a_bracket, live, status
from .test_oms import Harness, S, quotes, shutdown, start

SL, TP, ENTRY = ClientOrderId("b-sl"), ClientOrderId("b-tp"), ClientOrderId("b-entry")


@dataclass
class AlgoVenue(FakeGateway):
    """Conditional orders wait in an algo service, as on Binance: its replies and updates are
    :class:`AlgoOrderReport` s, handed out as orders the way the Binance gateway does
    (:func:`~mmoms.venues.binance.algo_view.conditional_status_report`). At trigger a regular
    order is placed under the same client id with an order id of its own, which ALGO_UPDATE
    names (``ai``) when ``names_order`` and a query of the algo order always does."""

    names_order: bool = True
    algos: dict[ClientOrderId, AlgoOrderReport] = field(default_factory=dict)
    _algo_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1_000))

    async def submit(self, cmd: SubmitOrder) -> OrderStatusReport:
        if not cmd.order_type.is_conditional:
            return await super().submit(cmd)
        self.requests.append("submit")
        self.submitted.append(cmd.client_order_id)
        now = self.clock.time_ns()
        report = AlgoOrderReport(
            ts_event_ns=now, ts_recv_ns=now, source=ReportSource.REST, symbol=cmd.symbol,
            client_order_id=cmd.client_order_id, algo_id=next(self._algo_ids),
            status=AlgoStatus.NEW, order_type=cmd.order_type, side=cmd.side,
            quantity=cmd.quantity, price=None, trigger_price=cmd.trigger_price,
            reduce_only=cmd.reduce_only,
        )  # fmt: skip
        self.algos[cmd.client_order_id] = report
        self._stream.put_nowait(StreamItem(self._epoch, self._seen(report)))
        return self._seen(report)

    def _seen(self, report: AlgoOrderReport) -> OrderStatusReport:
        return conditional_status_report(report, self.algos[report.client_order_id].quantity)

    async def query(self, cmd: QueryOrder, *, conditional: bool = False) -> Any:
        algo = self.algos.get(cmd.client_order_id)
        if not conditional or algo is None:
            return await super().query(cmd, conditional=conditional)
        self.requests.append("query")
        self.conditional_hints.append((cmd.client_order_id, conditional))
        return self._seen(msgspec.structs.replace(algo, source=ReportSource.RECONCILIATION))

    def trigger_and_fill(self, cid: ClientOrderId, price: D) -> VenueOrder:
        """The stop fires and its market order fills; the order's own reports are lost, the
        algo service's update arrives."""
        algo = self.algos[cid]
        assert algo.quantity is not None
        placed = VenueOrder(cid, VenueOrderId(next(self._vids)), algo.side, algo.quantity, price,
                            None)  # fmt: skip
        self.orders[cid] = placed
        self.drop_stream = True
        self.fill(cid, placed.qty)
        self.drop_stream = False
        now = self.clock.time_ns()
        finished = msgspec.structs.replace(
            algo, status=AlgoStatus.FINISHED, actual_order_id=placed.vid, actual_qty=placed.qty,
            actual_avg_price=price, ts_event_ns=now, ts_recv_ns=now, source=ReportSource.STREAM,
        )  # fmt: skip
        self.algos[cid] = finished
        unnamed = msgspec.structs.replace(finished, actual_order_id=None)
        update = finished if self.names_order else unnamed
        self._stream.put_nowait(StreamItem(self._epoch, self._seen(update)))
        return placed


async def _stop_fired_unseen(h: Harness, venue: AlgoVenue) -> VenueOrder:
    h.oms.place_group(S, a_bracket())
    await h.until(lambda: live(h, "b-entry"))
    venue.fill(ENTRY, D(1))
    await h.until(lambda: live(h, "b-sl", "b-tp"))
    assert h.oms.position(SYM) == D(1)
    placed = venue.trigger_and_fill(SL, D(93_000))
    await h.until(lambda: status(h, "b-sl") is OrderStatus.FILLED)  # from the algo update
    assert h.oms.position(SYM) == D(1)  # its trade was lost with the order's reports
    venue.gap()  # a reconciliation
    return placed


def test_the_algo_service_names_the_order_a_stop_placed_at_trigger() -> None:
    now = 1
    report = AlgoOrderReport(
        ts_event_ns=now, ts_recv_ns=now, symbol=SYM, client_order_id=SL, algo_id=7,
        status=AlgoStatus.TRIGGERED, order_type=OrderType.STOP_MARKET, side=Side.SELL,
        quantity=D(1), price=None, trigger_price=D(93_000), actual_order_id=VenueOrderId(42),
    )  # fmt: skip
    assert conditional_status_report(report).venue_order_id == 42  # not the algo id (7)
    waiting = msgspec.structs.replace(report, status=AlgoStatus.NEW, actual_order_id=None)
    assert conditional_status_report(waiting).venue_order_id == 0  # not known yet


@pytest.mark.venue_stops
@pytest.mark.asyncio
async def test_a_triggered_stops_lost_trade_is_backfilled_by_the_order_id_the_update_names() -> (
    None
):
    venue = AlgoVenue(LiveClock())
    h = await start(venue, MemoryJournal())
    try:
        placed = await _stop_fired_unseen(h, venue)
        await h.until(lambda: h.oms.position(SYM) == venue.position == 0)
        stop = h.oms.book.get(SYM, SL)
        assert stop is not None
        assert (stop.venue_order_id, stop.fills_qty) == (placed.vid, D(1))
        assert h.oms.metrics.fills_backfilled == 1
    finally:
        await shutdown(h, cancel_orders=False)


@pytest.mark.venue_stops
@pytest.mark.asyncio
async def test_a_triggered_stop_whose_order_id_is_not_known_is_queried_then_backfilled() -> None:
    venue = AlgoVenue(LiveClock(), names_order=False)
    h = await start(venue, MemoryJournal())
    try:
        placed = await _stop_fired_unseen(h, venue)
        await h.until(lambda: h.oms.position(SYM) == venue.position == 0)
        stop = h.oms.book.get(SYM, SL)
        assert stop is not None
        assert (stop.venue_order_id, stop.fills_qty) == (placed.vid, D(1))
        assert (SL, True) in venue.conditional_hints  # asked where stops live
    finally:
        await shutdown(h, cancel_orders=False)


async def _quoting(h: Harness) -> VenueOrder:
    """Four quotes live; the best bid then fills on the venue with its reports lost."""
    h.oms.set_quotes(S, SYM, quotes("94990", "95010"))
    await h.until(lambda: len(h.venue.live()) == 4)
    await h.until(lambda: all(not o.status.is_in_flight for o in h.oms.book.open_orders()))
    bid = next(o for o in h.venue.live() if o.price == D(94990))
    h.venue.drop_stream = True
    h.venue.fill(bid.cid, bid.qty)
    h.venue.drop_stream = False
    return bid


@pytest.mark.asyncio
async def test_a_cancel_answered_unknown_order_never_makes_the_order_live_again() -> None:
    venue = FakeGateway(LiveClock())
    h = await start(venue, MemoryJournal())
    notes: list[object] = []
    h.oms.add_listener(notes.append)
    try:
        bid = await _quoting(h)
        h.oms.set_quotes(S, SYM, quotes("94990", "95010", levels=1)[1:])  # pull the bids
        await h.until(lambda: (o := h.oms.book.get(SYM, bid.cid)) is not None and o.fills_qty)
        answered = [n for n in notes if isinstance(n, OrderCancelRejected)]
        assert [(n.client_order_id, n.status) for n in answered] == [(bid.cid, OrderStatus.UNKNOWN)]
        assert h.oms.metrics.cancel_races == 1
        order = h.oms.book.get(SYM, bid.cid)
        assert order is not None
        assert order.status is OrderStatus.FILLED
        assert h.oms.position(SYM) == venue.position
    finally:
        await shutdown(h)


@dataclass
class StaleVenue(FakeGateway):
    """Answers like Binance: an unknown order in a batch modify is an OrderNotFoundReport item,
    and the first ``stale_queries`` queries read stale (-2013: not found yet)."""

    stale_queries: int = 0

    async def amend_batch(self, cmds: Sequence[AmendOrder]) -> list[BatchResult]:
        out: list[BatchResult] = []
        for cmd, result in zip(cmds, await super().amend_batch(cmds), strict=True):
            if isinstance(result, OrderNotFound):
                result = self._not_found(cmd.client_order_id, ReportSource.REST)
            out.append(result)
        return out

    async def query(self, cmd: QueryOrder, *, conditional: bool = False) -> Any:
        if self.stale_queries:
            self.stale_queries -= 1
            self.requests.append("query")
            return self._not_found(cmd.client_order_id, ReportSource.RECONCILIATION)
        return await super().query(cmd, conditional=conditional)

    def _not_found(self, cid: ClientOrderId, source: ReportSource) -> OrderNotFoundReport:
        now = self.clock.time_ns()
        return OrderNotFoundReport(
            ts_event_ns=now, ts_recv_ns=now, source=source, symbol=SYM, client_order_id=cid
        )


@pytest.mark.amend_venue
@pytest.mark.asyncio
async def test_an_amend_answered_unknown_order_in_a_batch_settles_by_asking_again() -> None:
    # No periodic reconciliation to lean on: the engine's own follow-through must settle it.
    venue = StaleVenue(LiveClock())
    h = await start(venue, MemoryJournal(), retry_unknown_s=0.01)
    notes: list[object] = []
    h.oms.add_listener(notes.append)
    try:
        bid = await _quoting(h)
        venue.stale_queries = 2  # the first reads of it say "not found"
        h.oms.set_quotes(S, SYM, quotes("94980", "95010"))  # both bids amend, in one batch
        await h.until(lambda: (o := h.oms.book.get(SYM, bid.cid)) is not None and o.fills_qty)
        order = h.oms.book.get(SYM, bid.cid)
        assert order is not None
        assert order.status is OrderStatus.FILLED
        # The amend failed (not: a cancel failed, which the amend's state refuses).
        assert [n.client_order_id for n in notes if isinstance(n, OrderAmendRejected)] == [bid.cid]
        assert venue.stale_queries == 0
        assert h.oms.position(SYM) == venue.position
    finally:
        await shutdown(h)


@dataclass
class SilentCancels(FakeGateway):
    """With ``hang_cancels``, batched cancels never answer either."""

    async def cancel_batch(self, cmds: Sequence[CancelOrder]) -> list[BatchResult]:
        if self.hang_cancels:
            await asyncio.Event().wait()
        return await super().cancel_batch(cmds)


@pytest.mark.asyncio
async def test_an_order_whose_cancel_never_answers_is_settled_by_reconciliation() -> None:
    venue = SilentCancels(LiveClock())
    h = await start(venue, MemoryJournal(), reconcile_interval_s=0.05)
    try:
        bid = await _quoting(h)
        venue.hang_cancels = True
        h.oms.set_quotes(S, SYM, quotes("94990", "95010", levels=1)[1:])  # pull the bids
        await h.until(lambda: status(h, bid.cid) is OrderStatus.PENDING_CANCEL)
        await h.until(lambda: status(h, bid.cid) is OrderStatus.FILLED)  # queried, in flight
        await h.until(lambda: h.oms.position(SYM) == venue.position)  # and its trade fetched
    finally:
        venue.hang_cancels = False
        await shutdown(h, cancel_orders=False)


@pytest.mark.venue_stops
@pytest.mark.asyncio
async def test_a_cancelled_follow_up_the_venue_never_saw_is_not_sent_again() -> None:
    venue = FakeGateway(LiveClock())
    h = await start(venue, MemoryJournal())
    try:
        venue.fail_for[SL] = [Failure(OutcomeUnknown("read timeout"), executed=False)]
        gate = venue.hold_query[SL] = asyncio.Event()  # its resolution is slow to answer
        h.oms.place_group(S, a_bracket())
        await h.until(lambda: live(h, "b-entry"))
        venue.fill(ENTRY, D(1))
        await h.until(lambda: live(h, "b-tp") and status(h, "b-sl") is OrderStatus.UNKNOWN)
        venue.fill(TP, D(1))  # the take-profit closes the position: the stop is cancelled
        await h.until(lambda: h.oms.metrics.cancel_races == 1)  # -2011: it never existed
        gate.set()
        await h.until(lambda: status(h, "b-sl") is OrderStatus.REJECTED)
        assert venue.submitted.count(SL) == 1  # not re-sent: the group no longer wants it
        assert SL not in venue.orders
        assert h.oms.group_stats().protection_failures == 0
    finally:
        await shutdown(h)
