"""Builders for reports and commands, so tests read as scenarios."""

from decimal import Decimal as D

from mmoms.core.commands import SubmitOrder
from mmoms.core.enums import OrderType, Side, TimeInForce, VenueOrderStatus, WorkingType
from mmoms.core.ids import ClientOrderId, Symbol, TradeId, VenueOrderId
from mmoms.core.reports import FillReport, OrderStatusReport, ReportSource

SYM = Symbol("BTCUSDC")
MS = 1_000_000


def submit(cid: str, qty: str = "1", price: str = "100", side: Side = Side.BUY) -> SubmitOrder:
    return SubmitOrder(
        ts_ns=0,
        client_order_id=ClientOrderId(cid),
        symbol=SYM,
        side=side,
        order_type=OrderType.LIMIT,
        quantity=D(qty),
        price=D(price),
        time_in_force=TimeInForce.GTC,
    )


def stop_loss(trigger: str, cid: str = "sl") -> SubmitOrder:
    """A reduce-only STOP_MARKET sell of 1, triggered by the mark price at ``trigger``."""
    return SubmitOrder(
        ts_ns=0,
        client_order_id=ClientOrderId(cid),
        symbol=SYM,
        side=Side.SELL,
        order_type=OrderType.STOP_MARKET,
        quantity=D(1),
        reduce_only=True,
        trigger_price=D(trigger),
        working_type=WorkingType.MARK_PRICE,
    )


def status(
    cid: str,
    vid: int,
    st: VenueOrderStatus,
    filled: str = "0",
    *,
    qty: str = "1",
    price: str = "100",
    ts_ms: int = 1,
    amended: bool = False,
    side: Side = Side.BUY,
    source: ReportSource = ReportSource.STREAM,
) -> OrderStatusReport:
    return OrderStatusReport(
        ts_event_ns=ts_ms * MS,
        ts_recv_ns=ts_ms * MS,
        source=source,
        symbol=SYM,
        client_order_id=ClientOrderId(cid),
        venue_order_id=VenueOrderId(vid),
        side=side,
        order_type=OrderType.LIMIT,
        status=st,
        quantity=D(qty),
        price=D(price),
        filled_qty=D(filled),
        amended=amended,
    )


def fill(
    cid: str,
    vid: int,
    trade_id: int,
    qty: str,
    *,
    price: str = "100",
    cum: str | None = None,
    ts_ms: int = 1,
    side: Side = Side.BUY,
    source: ReportSource = ReportSource.STREAM,
) -> FillReport:
    return FillReport(
        ts_event_ns=ts_ms * MS,
        ts_recv_ns=ts_ms * MS,
        source=source,
        symbol=SYM,
        client_order_id=ClientOrderId(cid),
        venue_order_id=VenueOrderId(vid),
        trade_id=TradeId(trade_id),
        side=side,
        last_qty=D(qty),
        last_price=D(price),
        cum_filled_qty=None if cum is None else D(cum),
    )
