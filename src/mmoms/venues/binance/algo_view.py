"""Binance's conditional orders seen as the core sees every order: an :class:`AlgoOrderReport`
(the algo service's view) becomes an :class:`~mmoms.core.reports.OrderStatusReport` under the
same client order id, so the local book — and through it the contingency planner — tracks stops
like any order, and nothing above the gateway needs to know about the algo service.

Its venue order id is the id of the order placed at trigger (``actual_order_id``: ``ai`` in
ALGO_UPDATE, ``actualOrderId`` in a query), the number the triggered order's own reports and its
trades (``userTrades``) carry; 0 ("not known") until it triggers. The algo id is a different
number and never stands in for it.

**Who says how a triggered stop ended.** Once a conditional order triggers, the algo service
only placed an order; that order's own reports say what happened to it. The algo service's
word on the outcome is thin: ALGO_UPDATE carries the executed quantity (``aq``), but the REST
replies (query, ``openAlgoOrders``, ``allAlgoOrders``) carry ``actualOrderId`` and
``actualPrice`` and no quantity at all, so "FINISHED with nothing executed" is what every
filled stop looks like when read back by a query. The rule, per algo status:

=================  ==========================================================================
NEW, TRIGGERING    waiting: NEW, no venue order id yet.
TRIGGERED,         the order placed at trigger decides. The view takes its venue order id and
FINISHED           what the algo service proves — FILLED when the executed quantity it names
                   reaches the order's, PARTIALLY_FILLED when some executed — and never a
                   final state from less: no quantity, or a smaller one, is not "canceled".
                   The placed order's own reports settle it (ORDER_TRADE_UPDATE on the
                   stream; else a query of that order *by its venue order id* — its client id
                   need not be ours — and its trades from ``userTrades``):
                   :func:`asks_placed_order` says when that query is needed, and the view
                   carries the answer as ``OrderStatusReport.ask_placed_order``.
CANCELED, EXPIRED  final as said, when no order was placed (cancelled or expired while
                   waiting); if one is named, as FINISHED: that order decides.
REJECTED           final: the matching engine refused the order at trigger.
=================  ==========================================================================

A FINISHED report that names no placed order cannot be settled from the algo service: the
order stays as it was and reconciliation asks again.

**Quantity.** A close-position stop, and some replies, state no quantity. The caller passes
what it knows (``known_quantity``: the quantity it placed, or the book's); knowing none, the
view says ``quantity=0`` — "not stated" — and the executed quantity alone cannot make it FILLED.
"""

from __future__ import annotations

from decimal import Decimal

from mmoms.core.enums import VenueOrderStatus
from mmoms.core.ids import VenueOrderId
from mmoms.core.reports import OrderStatusReport, ReportSource
from mmoms.venues.venue_reports import AlgoOrderReport, AlgoStatus

__all__ = ["asks_placed_order", "conditional_status_report", "placed_decides"]

_ZERO = Decimal(0)

_ALGO_TO_VENUE = {
    AlgoStatus.NEW: VenueOrderStatus.NEW,
    AlgoStatus.TRIGGERING: VenueOrderStatus.NEW,
    AlgoStatus.CANCELED: VenueOrderStatus.CANCELED,
    AlgoStatus.EXPIRED: VenueOrderStatus.EXPIRED,
    AlgoStatus.REJECTED: VenueOrderStatus.REJECTED,
}


def placed_decides(report: AlgoOrderReport) -> bool:
    """The order placed at trigger, not the algo service, says how this one ends."""
    if report.status in (AlgoStatus.TRIGGERED, AlgoStatus.FINISHED):
        return True
    ended = report.status in (AlgoStatus.CANCELED, AlgoStatus.EXPIRED)
    return ended and report.actual_order_id is not None


def conditional_status_report(
    report: AlgoOrderReport, known_quantity: Decimal | None = None
) -> OrderStatusReport:
    """The core's view of a conditional order (the rule in the module docstring), with
    ``ask_placed_order`` set when the order placed at trigger must be queried by its venue
    order id. ``known_quantity``: the order's quantity, used when the report states none."""
    quantity = report.quantity or known_quantity or _ZERO
    filled = report.actual_qty or _ZERO  # what the algo service saw executed, if it says
    if quantity and filled > quantity:
        filled = quantity  # a close-position stop may fill more than the spec's size
    if placed_decides(report):
        # Only what is proven: a missing or short quantity is not a cancel.
        if quantity and filled >= quantity:
            status = VenueOrderStatus.FILLED
        elif filled:
            status = VenueOrderStatus.PARTIALLY_FILLED
        else:
            status = VenueOrderStatus.NEW
    else:
        status = _ALGO_TO_VENUE[report.status]
    return OrderStatusReport(
        ts_event_ns=report.ts_event_ns,
        ts_recv_ns=report.ts_recv_ns,
        source=report.source,
        symbol=report.symbol,
        client_order_id=report.client_order_id,
        venue_order_id=report.actual_order_id or VenueOrderId(0),
        side=report.side,
        order_type=report.order_type,
        status=status,
        quantity=quantity,
        price=report.price or _ZERO,
        filled_qty=filled,
        reduce_only=report.reduce_only,
        position_side=report.position_side,
        ask_placed_order=_asks(report, status),
    )


def asks_placed_order(report: AlgoOrderReport, view: OrderStatusReport) -> bool:
    """True when the order ``report`` names as placed at trigger must be asked about: the algo
    service says it is done (or may be) without proving how. A TRIGGERED update on the stream
    is left to the placed order's own updates, which follow it on the same stream; read back
    by a query or a snapshot, the placed order may have ended long ago."""
    return _asks(report, view.status)


def _asks(report: AlgoOrderReport, status: VenueOrderStatus) -> bool:
    if report.actual_order_id is None or status is VenueOrderStatus.FILLED:
        return False
    if not placed_decides(report):
        return False
    return report.status is not AlgoStatus.TRIGGERED or report.source is not ReportSource.STREAM
