"""Contingent groups inside the engine: the live group states, and conditional orders seen
through the book.

* :class:`GroupBook` holds the latest :class:`~mmoms.contingent.state.GroupState` of every
  group and finds a group from any client order id it uses (legs, replacements, flattens). It
  encodes the active groups for the snapshot and restores them, and keeps each live group's
  worst-case exposure for the risk layer (:meth:`GroupBook.resting`: a group counts once).
* :func:`algo_status_report` turns Binance's view of a conditional order (an
  :class:`~mmoms.venues.reports.AlgoOrderReport`, from the algo service) into the core's
  :class:`~mmoms.core.reports.OrderStatusReport` under the same client order id, so the local
  book — and through it the contingency planner — tracks stops like any order. Its venue order
  id is the id of the order placed at trigger (``actual_order_id``: ``ai`` in ALGO_UPDATE,
  ``actualOrderId`` in a query), the number the triggered order's own reports and its trades
  (``userTrades``) carry; 0 ("not known") until it triggers. The algo id is a different number
  and never stands in for it.

**Who says how a triggered stop ended.** Once a conditional order triggers, the algo service
only placed an order; that order's own reports say what happened to it. The algo service's
word on the outcome is thin: ALGO_UPDATE carries the executed quantity (``aq``), but the REST
replies (query, ``openAlgoOrders``, ``allAlgoOrders``) carry ``actualOrderId`` and
``actualPrice`` and no quantity at all, so "FINISHED with nothing executed" is what every
filled stop looks like when read back by a query. The rule, per algo status:

=================  ==========================================================================
NEW, TRIGGERING    waiting: NEW, no venue order id yet.
TRIGGERED,         the order placed at trigger decides. The book takes its venue order id and
FINISHED           what the algo service proves — FILLED when the executed quantity it names
                   reaches the order's, PARTIALLY_FILLED when some executed — and never a
                   final state from less: no quantity, or a smaller one, is not "canceled".
                   The placed order's own reports settle it (ORDER_TRADE_UPDATE on the
                   stream; else a query of that order *by its venue order id* — its client id
                   need not be ours — and its trades from ``userTrades``):
                   :func:`asks_placed_order` says when the engine must ask.
CANCELED, EXPIRED  final as said, when no order was placed (cancelled or expired while
                   waiting); if one is named, as FINISHED: that order decides.
REJECTED           final: the matching engine refused the order at trigger.
=================  ==========================================================================

A FINISHED report that names no placed order cannot be settled from the algo service: the
order stays as it was and reconciliation asks again.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from mmoms.contingent.exposure import GroupExposure, group_exposure
from mmoms.contingent.state import GroupState, GroupStatus, decode_state, encode_state
from mmoms.core.enums import Side, VenueOrderStatus
from mmoms.core.ids import ClientOrderId, GroupId, StrategyId, Symbol, VenueOrderId
from mmoms.core.order import Order
from mmoms.core.reports import OrderStatusReport, ReportSource
from mmoms.venues.reports import AlgoOrderReport, AlgoStatus

_ZERO = Decimal(0)


class GroupBook:
    def __init__(self) -> None:
        self._states: dict[GroupId, GroupState] = {}
        self._strategies: dict[GroupId, StrategyId | None] = {}
        self._by_cid: dict[ClientOrderId, GroupId] = {}
        self._live: set[GroupId] = set()  # groups not finished yet
        self._exposure: dict[GroupId, GroupExposure] = {}  # cache, dropped at every change

    def __contains__(self, group_id: object) -> bool:
        return group_id in self._states

    def get(self, group_id: GroupId) -> GroupState | None:
        return self._states.get(group_id)

    def for_order(self, client_order_id: ClientOrderId) -> GroupState | None:
        group_id = self._by_cid.get(client_order_id)
        return None if group_id is None else self._states[group_id]

    def strategy(self, group_id: GroupId) -> StrategyId | None:
        return self._strategies.get(group_id)

    def put(self, state: GroupState, strategy_id: StrategyId | None = None) -> None:
        group_id = state.spec.group_id
        self._states[group_id] = state
        if strategy_id is not None or group_id not in self._strategies:
            self._strategies[group_id] = strategy_id
        for cid in state.client_order_ids():
            self._by_cid[cid] = group_id
        # States change only through here. The exposure is computed when risk next asks, not
        # now: this runs on the fill → follow-up path, where every microsecond counts.
        self._exposure.pop(group_id, None)
        if state.status.is_terminal:
            self._live.discard(group_id)
        else:
            self._live.add(group_id)

    def resting(self, symbol: Symbol, side: Side) -> Decimal:
        """What all live groups on ``symbol`` could still add on ``side``, each counted once."""
        total = _ZERO
        for group_id in self._live:
            e = self._exposure.get(group_id)
            if e is None:
                e = self._exposure[group_id] = group_exposure(self._states[group_id])
            if e.symbol == symbol:
                total += e.buy_qty if side is Side.BUY else e.sell_qty
        return total

    def states(self) -> list[GroupState]:
        return list(self._states.values())

    def active(self) -> list[GroupState]:
        return [s for s in self._states.values() if s.status is GroupStatus.ACTIVE]

    # -- snapshot -----------------------------------------------------------------------------

    def to_raw(self) -> msgspec.Raw:
        """Active groups (finished ones need no recovery) as JSON, for the engine snapshot."""
        items = [
            {
                "strategy_id": self._strategies.get(s.spec.group_id),
                "state": msgspec.Raw(encode_state(s)),
            }
            for s in self.active()
        ]
        return msgspec.Raw(msgspec.json.encode(items))

    def load_raw(self, raw: bytes) -> None:
        """Restore what :meth:`to_raw` wrote.

        Raises:
            msgspec.DecodeError / StateVersionError: not a groups snapshot we understand.
        """
        for item in msgspec.json.decode(raw, type=list[_SnapshotItem]):
            self.put(decode_state(bytes(item.state)), item.strategy_id)


class _SnapshotItem(msgspec.Struct):
    strategy_id: StrategyId | None
    state: msgspec.Raw


_ALGO_TO_VENUE = {
    AlgoStatus.NEW: VenueOrderStatus.NEW,
    AlgoStatus.TRIGGERING: VenueOrderStatus.NEW,
    AlgoStatus.CANCELED: VenueOrderStatus.CANCELED,
    AlgoStatus.EXPIRED: VenueOrderStatus.EXPIRED,
    AlgoStatus.REJECTED: VenueOrderStatus.REJECTED,
}


def _placed_decides(report: AlgoOrderReport) -> bool:
    """The order placed at trigger, not the algo service, says how this one ends."""
    if report.status in (AlgoStatus.TRIGGERED, AlgoStatus.FINISHED):
        return True
    ended = report.status in (AlgoStatus.CANCELED, AlgoStatus.EXPIRED)
    return ended and report.actual_order_id is not None


def algo_status_report(report: AlgoOrderReport, order: Order | None) -> OrderStatusReport:
    """The book's view of a conditional order (see the module docstring for the rule)."""
    quantity = report.quantity or (order.quantity if order is not None else _ZERO)
    filled = report.actual_qty or _ZERO  # what the algo service saw executed, if it says
    if quantity and filled > quantity:
        filled = quantity  # a close-position stop may fill more than the spec's size
    if _placed_decides(report):
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
    )


def asks_placed_order(report: AlgoOrderReport, view: OrderStatusReport) -> bool:
    """True when the order ``report`` names as placed at trigger must be asked about: the algo
    service says it is done (or may be) without proving how. A TRIGGERED update on the stream
    is left to the placed order's own updates, which follow it on the same stream; read back
    by a query or a snapshot, the placed order may have ended long ago."""
    if report.actual_order_id is None or view.status is VenueOrderStatus.FILLED:
        return False
    if not _placed_decides(report):
        return False
    return report.status is not AlgoStatus.TRIGGERED or report.source is not ReportSource.STREAM
