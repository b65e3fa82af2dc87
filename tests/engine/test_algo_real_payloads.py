"""A stop that triggered and filled, read back as the real exchange answers: the engine books it
FILLED with its fill, the position and the fee, from the order the stop placed.

The venue (:mod:`tests.engine.realshape_venue`) answers with real captured payloads; the real
:class:`BinanceGateway` reads them with its schemas and codec, so nothing is built in the
engine's own vocabulary. There is no user stream (as after an outage): the engine learns only
from replies. The algo service's REST replies carry ``actualOrderId`` and ``actualPrice`` but no
``actualQty``; the engine used to take "FINISHED with no executed quantity" for a cancel, and
booked every such stop CANCELED with nothing filled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal as D
from typing import Any

import msgspec
import pytest

from mmoms.contingent.builders import limit, oco, stop_market
from mmoms.core.clock import LiveClock
from mmoms.core.enums import OrderStatus, Side, VenueOrderStatus
from mmoms.core.ids import ClientOrderId, StrategyId
from mmoms.core.reports import ReportSource
from mmoms.engine.config import OmsConfig
from mmoms.engine.oms import OrderManager
from mmoms.engine.risk import RiskConfig, SymbolLimits
from mmoms.journal.memory import InMemoryJournalStore, MemoryJournal
from mmoms.venues.binance import BinanceConfig, BinanceGateway, Credentials, codec, schemas
from mmoms.venues.binance.algo_view import conditional_status_report
from mmoms.venues.binance.streamcodec import UserStreamDecoder
from mmoms.venues.testing import FakeHttpTransport, FakeWsConnector
from mmoms.venues.venue_reports import AlgoOrderReport
from tests.venues.conftest import API_KEY, SECRET
from tests.venues.real_payloads import payload, raw
from tests.waiting import until

from .realshape_venue import SYM, RealShapeBinance

S = StrategyId("mm")
STOP, DIP = ClientOrderId("oco1-a"), ClientOrderId("oco1-b")
FILL_PRICE, COMMISSION = "96012.30", "0.38404920"


@dataclass
class Engine:
    oms: OrderManager
    venue: RealShapeBinance
    journal: MemoryJournal
    changed: asyncio.Event
    task: asyncio.Task[None]

    async def until(self, cond: Callable[[], bool]) -> None:
        """Wait until ``cond`` holds, re-checking after every engine batch (5 s at most)."""
        await until(self.changed, cond)

    def status(self, cid: ClientOrderId) -> OrderStatus | None:
        order = self.oms.book.get(SYM, cid)
        return None if order is None else order.status


async def _start(venue: RealShapeBinance, *, reconcile_interval_s: float) -> Engine:
    clock = LiveClock()
    gateway = BinanceGateway(
        BinanceConfig(rest_url="https://fapi.test", user_stream=False),
        Credentials.hmac(API_KEY, SECRET),
        clock=clock,
        http=FakeHttpTransport(venue),
        ws=FakeWsConnector(),
    )
    limits = SymbolLimits(max_order_qty=D(1), max_order_notional=D(1_000_000),
                          max_open_orders=50, max_position=D(1), price_band_pct=D(5))  # fmt: skip
    config = OmsConfig(
        risk=RiskConfig(limits={SYM: limits}, max_orders_per_second=1000),
        symbols=(SYM,),
        batch_window_s=0.002,
        reconcile_interval_s=reconcile_interval_s,
    )
    journal = MemoryJournal()
    oms = OrderManager(gateway, InMemoryJournalStore(journal), config, clock=clock)
    changed = asyncio.Event()
    oms.add_batch_listener(changed.set)
    await oms.start()
    oms.set_reference_price(SYM, D(95_000))
    engine = Engine(oms, venue, journal, changed, asyncio.create_task(oms.run()))
    await engine.until(lambda: oms.metrics.reconciliations >= 1)
    return engine


async def _stop(e: Engine) -> None:
    await e.oms.stop(cancel_orders=False)
    await asyncio.wait_for(e.task, 5)
    await e.oms.close()


async def _breakout_oco(e: Engine) -> None:
    """Buy the breakout (a stop above the market) or the dip (a limit below), whichever first."""
    group = oco("oco1", SYM, [stop_market(Side.BUY, D("0.010"), D("96000.0")),
                              limit(Side.BUY, D("0.010"), D("94000.0"))])  # fmt: skip
    e.oms.place_group(S, group)
    await e.until(lambda: e.status(STOP) is OrderStatus.NEW and e.status(DIP) is OrderStatus.NEW)


def _settled(e: Engine) -> bool:
    """The stop is final and holds every fill its filled quantity says it had."""
    stop = e.oms.book.get(SYM, STOP)
    return stop is not None and stop.status.is_terminal and stop.fills_qty >= stop.filled_qty


async def _assert_filled_from_the_placed_order(
    e: Engine, trade: dict[str, Any], *, asked: bool = True
) -> None:
    """``asked``: the engine had to ask for the placed order (by its id) to know."""
    await e.until(lambda: _settled(e))
    stop = e.oms.book.get(SYM, STOP)
    assert stop is not None
    assert (stop.status, stop.filled_qty) == (OrderStatus.FILLED, D(trade["qty"]))
    assert stop.venue_order_id == trade["orderId"]  # the placed order's id, not the algo id
    [fill] = stop.fills
    assert fill.trade_id == trade["id"]
    assert (fill.qty, fill.price) == (D(trade["qty"]), D(trade["price"]))
    assert (fill.commission, fill.commission_asset) == (D(trade["commission"]), "USDT")
    assert e.oms.position(SYM) == D(trade["qty"]) == e.venue.position
    book = e.oms.ledger.get(S, SYM)
    assert book is not None
    assert (book.position, book.fees) == (D(trade["qty"]), D(COMMISSION))
    await e.until(lambda: e.status(DIP) is OrderStatus.CANCELED)  # the OCO acted on the fill
    queries = [r.params for r in e.venue.calls("GET", "/fapi/v1/order")]
    by_id = {"symbol": SYM, "orderId": str(trade["orderId"])}.items()
    assert [q for q in queries if by_id <= q.items()] == (queries[:1] if asked else [])


def test_the_algo_replies_served_have_the_real_key_set() -> None:
    """The double's algo replies are the capture's keys: actualOrderId, no actualQty."""
    venue = RealShapeBinance()
    venue._algo_place({"clientAlgoId": "k", "type": "STOP_MARKET", "side": "BUY",
                       "quantity": "0.010", "triggerPrice": "96000.0"})  # fmt: skip
    venue.trigger("k", status="FINISHED", price=FILL_PRICE, commission=COMMISSION)
    captured = payload("rest.algoOrder.open.ETHUSDC.2025")
    assert venue.algos["k"].keys() == captured.keys()
    assert "actualOrderId" in captured
    assert "actualQty" not in captured


@pytest.mark.parametrize(
    ("algo_status", "id_as_text"),
    [("FINISHED", True), ("FINISHED", False), ("TRIGGERED", True)],
    ids=["finished", "finished-numeric-id", "triggered-lagging"],
)
@pytest.mark.asyncio
async def test_a_stop_filled_unseen_is_read_back_filled_by_reconciliation(
    algo_status: str, id_as_text: bool
) -> None:
    venue = RealShapeBinance(actual_id_as_text=id_as_text)
    e = await _start(venue, reconcile_interval_s=0.05)
    try:
        await _breakout_oco(e)
        trade = venue.trigger(STOP, status=algo_status, price=FILL_PRICE, commission=COMMISSION)
        await _assert_filled_from_the_placed_order(e, trade)
    finally:
        await _stop(e)


@pytest.mark.asyncio
async def test_a_stop_filled_before_its_cancel_is_read_back_filled_by_the_query() -> None:
    # No periodic reconciliation: the cancel's answer (-2011, the stop is no longer the algo
    # service's) and the query it leads to are all the engine learns from.
    venue = RealShapeBinance()
    e = await _start(venue, reconcile_interval_s=3600)
    try:
        await _breakout_oco(e)
        trade = venue.trigger(STOP, status="FINISHED", price=FILL_PRICE, commission=COMMISSION)
        e.oms.cancel_group(S, "oco1")
        await _assert_filled_from_the_placed_order(e, trade)
        assert venue.calls("DELETE", "/fapi/v1/algoOrder")  # it was asked to cancel first
    finally:
        await _stop(e)


@pytest.mark.asyncio
async def test_a_stale_read_of_the_placed_order_is_asked_again_not_an_anomaly() -> None:
    # Young orders read "not found" for a while after a change (the soak's stale_reads); the
    # algo service named the order, so it exists: the answer is not taken.
    venue = RealShapeBinance()
    e = await _start(venue, reconcile_interval_s=0.05)
    try:
        await _breakout_oco(e)
        trade = venue.trigger(STOP, status="FINISHED", price=FILL_PRICE, commission=COMMISSION)
        venue.stale_order_queries = 2
        await e.until(lambda: _settled(e))
        assert e.oms.book.anomaly_count == 0
        assert len(venue.calls("GET", "/fapi/v1/order")) == 3
        stop = e.oms.book.get(SYM, STOP)
        assert stop is not None
        assert (stop.status, stop.fills_qty) == (OrderStatus.FILLED, D(trade["qty"]))
    finally:
        await _stop(e)


@pytest.mark.asyncio
async def test_an_algo_reply_that_does_carry_the_executed_quantity_is_read_alike() -> None:
    """The simulator used to send ``actualQty`` (the SDK's models list it): with it the stop is
    FILLED from the algo service's word, and its trade still comes from ``userTrades``."""
    venue = RealShapeBinance()
    e = await _start(venue, reconcile_interval_s=0.05)
    try:
        await _breakout_oco(e)
        trade = venue.trigger(STOP, status="FINISHED", price=FILL_PRICE, commission=COMMISSION)
        venue.algos[STOP]["actualQty"] = trade["qty"]
        await _assert_filled_from_the_placed_order(e, trade, asked=False)
    finally:
        await _stop(e)


# -- the rule, per algo status, on real captured payloads -------------------------------------

_STREAM = [  # ALGO_UPDATE captures: (id, the book's view, the placed order asked about)
    ("algo.NEW.DOTUSDT.2026", VenueOrderStatus.NEW, False),
    ("algo.TRIGGERING.DOGEUSDT.2025", VenueOrderStatus.NEW, False),
    ("algo.TRIGGERED.DOGEUSDT.2025", VenueOrderStatus.NEW, False),  # its own updates follow
    ("algo.FINISHED.DOGEUSDT.2025", VenueOrderStatus.FILLED, False),  # aq == q: proven
    ("algo.FINISHED_CANCELED.DOGEUSDT.2025", VenueOrderStatus.NEW, True),  # aq 0: not proof
    ("algo.CANCELED.DOTUSDT.2026", VenueOrderStatus.CANCELED, False),  # cancelled waiting
]


@pytest.mark.parametrize(("payload_id", "view", "asks"), _STREAM, ids=[i for i, *_ in _STREAM])
def test_the_rule_on_captured_algo_updates(
    payload_id: str, view: VenueOrderStatus, asks: bool
) -> None:
    [report] = UserStreamDecoder().decode(raw(payload_id), 1)
    assert isinstance(report, AlgoOrderReport)
    seen = conditional_status_report(report)
    assert (seen.status, seen.ask_placed_order) == (view, asks)
    o = payload(payload_id)["o"]
    assert seen.venue_order_id == (int(o["ai"]) if o["ai"] else 0)
    assert seen.filled_qty == (D(o["aq"]) if o.get("aq") else 0)


@pytest.mark.parametrize("status", ["TRIGGERED", "FINISHED"])
def test_a_triggered_stop_read_by_a_query_is_never_final_without_proof(status: str) -> None:
    """The captured ``openAlgoOrders`` item, triggered: an order id, a price, no quantity."""
    item = payload("rest.algoOrder.open.ETHUSDC.2025")
    item.update(algoStatus=status, actualOrderId="88937381063", actualPrice="2899.50",
                quantity="0.050", closePosition=False)  # fmt: skip
    reply = msgspec.json.decode(msgspec.json.encode(item), type=schemas.AlgoOrderReply)
    report = codec.algo_report(reply, 1, source=ReportSource.RECONCILIATION)
    seen = conditional_status_report(report)
    assert (seen.status, seen.venue_order_id, seen.filled_qty) == (VenueOrderStatus.NEW,
                                                                  88937381063, 0)  # fmt: skip
    assert seen.ask_placed_order
