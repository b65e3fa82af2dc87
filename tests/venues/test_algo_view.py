"""A conditional order as the core sees every order: the rule of :mod:`.algo_view` on captured
payloads, and the gateway handing out only that view when asked to."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal as D

import msgspec
import pytest

from mmoms.core.clock import TestClock
from mmoms.core.commands import CancelOrder, QueryOrder, SubmitOrder
from mmoms.core.enums import OrderType, Side, VenueOrderStatus
from mmoms.core.ids import ClientOrderId, Symbol
from mmoms.core.reports import OrderStatusReport, ReportSource
from mmoms.venues.binance import BinanceConfig, BinanceGateway, Credentials, codec, schemas
from mmoms.venues.binance.algo_view import conditional_status_report
from mmoms.venues.binance.streamcodec import UserStreamDecoder
from mmoms.venues.gateway import StreamItem
from mmoms.venues.testing import FakeHttpTransport, FakeWsConnector, json_reply
from mmoms.venues.venue_reports import AlgoOrderReport
from tests.venues import payloads as p
from tests.venues.conftest import API_KEY, SECRET, START_NS
from tests.venues.fakevenue import FakeBinance
from tests.venues.real_payloads import payload, raw

_STREAM = [  # ALGO_UPDATE captures: (id, the view's status, the placed order asked about)
    ("algo.NEW.DOTUSDT.2026", VenueOrderStatus.NEW, False),
    ("algo.TRIGGERING.DOGEUSDT.2025", VenueOrderStatus.NEW, False),
    ("algo.TRIGGERED.DOGEUSDT.2025", VenueOrderStatus.NEW, False),  # its own updates follow
    ("algo.FINISHED.DOGEUSDT.2025", VenueOrderStatus.FILLED, False),  # aq == q: proven
    ("algo.FINISHED_CANCELED.DOGEUSDT.2025", VenueOrderStatus.NEW, True),  # aq 0: not proof
    ("algo.CANCELED.DOTUSDT.2026", VenueOrderStatus.CANCELED, False),  # cancelled waiting
]


def _streamed(payload_id: str) -> AlgoOrderReport:
    [report] = UserStreamDecoder().decode(raw(payload_id), 1)
    assert isinstance(report, AlgoOrderReport)
    return report


def _queried(**changes: object) -> AlgoOrderReport:
    """The captured ``openAlgoOrders`` item (a close-position stop), changed as told."""
    item = payload("rest.algoOrder.open.ETHUSDC.2025")
    item.update(changes)
    reply = msgspec.json.decode(msgspec.json.encode(item), type=schemas.AlgoOrderReply)
    return codec.algo_report(reply, 1, source=ReportSource.RECONCILIATION)


@pytest.mark.parametrize(("payload_id", "status", "asks"), _STREAM, ids=[i for i, *_ in _STREAM])
def test_the_rule_on_captured_algo_updates(
    payload_id: str, status: VenueOrderStatus, asks: bool
) -> None:
    view = conditional_status_report(_streamed(payload_id))
    o = payload(payload_id)["o"]
    assert (view.status, view.ask_placed_order) == (status, asks)
    assert view.client_order_id == o["caid"]
    assert view.venue_order_id == (int(o["ai"]) if o["ai"] else 0)  # never the algo id
    assert view.filled_qty == (D(o["aq"]) if o.get("aq") else 0)
    assert view.quantity == D(o["q"])
    assert view.source is ReportSource.STREAM


@pytest.mark.parametrize("status", ["TRIGGERED", "FINISHED"])
def test_a_triggered_stop_read_by_a_query_asks_for_the_order_it_placed(status: str) -> None:
    # The algo service's replies name the placed order and its price, never the executed
    # quantity: "nothing executed" there is not proof of a cancel.
    report = _queried(algoStatus=status, actualOrderId="88937381063", actualPrice="2899.50",
                      quantity="0.050", closePosition=False)  # fmt: skip
    view = conditional_status_report(report)
    assert (view.status, view.venue_order_id, view.filled_qty) == (
        VenueOrderStatus.NEW, 88937381063, 0)  # fmt: skip
    assert view.ask_placed_order


def test_canceled_naming_a_placed_order_is_decided_by_that_order() -> None:
    view = conditional_status_report(_queried(algoStatus="CANCELED", actualOrderId="77"))
    assert (view.status, view.venue_order_id, view.ask_placed_order) == (
        VenueOrderStatus.NEW, 77, True)  # fmt: skip
    rejected = conditional_status_report(_queried(algoStatus="REJECTED"))
    assert (rejected.status, rejected.ask_placed_order) == (VenueOrderStatus.REJECTED, False)


def test_a_close_position_stop_takes_the_known_quantity_or_says_none() -> None:
    # The capture states quantity "0.000" (close position): the view cannot make up a size.
    waiting = _queried()
    assert conditional_status_report(waiting).quantity == 0
    assert conditional_status_report(waiting, D("0.3")).quantity == D("0.3")
    o = payload("algo.FINISHED.DOGEUSDT.2025")["o"]
    o.update(q="", cp=True)
    event = {**payload("algo.FINISHED.DOGEUSDT.2025"), "o": o}
    [report] = UserStreamDecoder().decode(msgspec.json.encode(event), 1)
    assert isinstance(report, AlgoOrderReport)
    unknown = conditional_status_report(report)  # 38 executed of an unstated size: not FILLED
    assert (unknown.quantity, unknown.filled_qty, unknown.status) == (
        0, 38, VenueOrderStatus.PARTIALLY_FILLED)  # fmt: skip
    known = conditional_status_report(report, D("30"))  # closed more than the spec's size
    assert (known.quantity, known.filled_qty, known.status) == (30, 30, VenueOrderStatus.FILLED)


# -- the gateway --------------------------------------------------------------------------------

SYM = Symbol("BNBUSDT")


def _stop(cid: str, quantity: str = "0.01", **kw: object) -> SubmitOrder:
    return SubmitOrder(ts_ns=0, client_order_id=ClientOrderId(cid), symbol=SYM, side=Side.SELL,
                       order_type=OrderType.STOP_MARKET, quantity=D(quantity),
                       trigger_price=D("600"), **kw)  # type: ignore[arg-type]  # fmt: skip


@asynccontextmanager
async def gateway(
    *, user_stream: bool = False, venue: FakeBinance | None = None
) -> AsyncIterator[BinanceGateway]:
    clock = TestClock(start_ns=START_NS)
    cfg = BinanceConfig(rest_url="https://fapi.test", stream_url="wss://fstream.test",
                        ws_api_url="wss://ws.test/ws-fapi/v1", user_stream=user_stream)  # fmt: skip
    gw = BinanceGateway(cfg, Credentials.hmac(API_KEY, SECRET), clock=clock,
                        http=FakeHttpTransport(venue or FakeBinance()),
                        ws=FakeWsConnector())  # fmt: skip
    await gw.start()
    try:
        yield gw
    finally:
        await gw.close()


@pytest.mark.asyncio
async def test_with_the_flag_every_reply_about_a_conditional_order_is_an_order_report() -> None:
    async with gateway() as gw:
        placed = await gw.submit(_stop("stop1"))
        assert isinstance(placed, OrderStatusReport)
        assert (placed.client_order_id, placed.status, placed.quantity) == (
            "stop1", VenueOrderStatus.NEW, D("0.01"))  # fmt: skip
        assert placed.venue_order_id == 0  # not triggered: no order placed yet
        query = QueryOrder(ts_ns=0, client_order_id=ClientOrderId("stop1"), symbol=SYM)
        assert isinstance(await gw.query(query), OrderStatusReport)
        assert isinstance(await gw.resolve_unknown(SYM, ClientOrderId("stop1")), OrderStatusReport)
        [listed] = await gw.open_conditional_orders([SYM])
        assert isinstance(listed, OrderStatusReport)
        assert listed.source is ReportSource.RECONCILIATION
        cancel = CancelOrder(ts_ns=0, client_order_id=ClientOrderId("stop1"), symbol=SYM)
        cancelled = await gw.cancel(cancel)
        assert isinstance(cancelled, OrderStatusReport)
        assert cancelled.status is VenueOrderStatus.CANCELED
        [batch] = await gw.cancel_batch([msgspec.structs.replace(cancel, conditional=True)])
        assert isinstance(batch, OrderStatusReport)


@pytest.mark.asyncio
async def test_a_close_position_stop_keeps_the_quantity_it_was_placed_with() -> None:
    # The venue states no size for a close-position stop ("0.000" in the capture): the size
    # the caller placed it with stands in, as the caller's own book has it.
    venue = FakeBinance()
    reply = payload("rest.algoOrder.open.ETHUSDC.2025")
    reply.update(symbol=SYM, clientAlgoId="stop2")
    venue.script("POST", "/fapi/v1/algoOrder", json_reply(200, reply))
    async with gateway(venue=venue) as gw:
        placed = await gw.submit(_stop("stop2", quantity="0.7", close_position=True))
        assert isinstance(placed, OrderStatusReport)
        assert placed.quantity == D("0.7")
    async with gateway() as restarted:  # knows nothing of it: "not stated"
        [listed] = await restarted.open_conditional_orders([SYM])
        assert listed.quantity == D("0.01")  # the fake lists a stop that does state its size
        report = _queried(clientAlgoId="stop2")
        assert restarted.conditional_view(report).quantity == 0


@pytest.mark.asyncio
async def test_with_the_flag_the_stream_hands_out_the_view() -> None:
    async with gateway(user_stream=True) as gw:
        ws = gw._ws
        assert isinstance(ws, FakeWsConnector)
        peer = await ws.next_peer()
        stream = gw.stream()
        await anext(stream)  # the gap of the first connection
        await peer.send(p.ALGO_UPDATE.replace(b'"X":"CANCELED"', b'"X":"NEW"').decode())
        item = await anext(stream)
        assert isinstance(item, StreamItem)
        assert isinstance(item.report, OrderStatusReport)
        assert item.report.client_order_id == "Q5xaq5EGKgXXa0fD7fs0Ip"
        assert gw.algo.is_algo("Q5xaq5EGKgXXa0fD7fs0Ip")  # still routed to the algo service


@pytest.mark.asyncio
async def test_the_algo_service_view_stays_available_apart() -> None:
    async with gateway() as gw:
        await gw.submit(_stop("stop3"))
        [listed] = await gw.open_algo_orders(SYM)
        assert isinstance(listed, AlgoOrderReport)
