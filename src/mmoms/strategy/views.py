"""What a strategy reads: immutable copies of the engine's state, never the state itself.

The engine's :class:`~mmoms.core.order.Order` is mutable and owned by the engine loop; a
strategy gets an :class:`OrderView`, a frozen copy made when it asks. Changing a view (it
cannot: the structs are frozen) could never change an order.

Views show the engine's latest state. The engine journals before it tells: a callback can
arrive a few hundred microseconds after the view already shows the change it reports (the
batch being written). Decide from the event in hand; use views for the rest.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from mmoms.core.enums import OrderStatus, OrderType, Side, TimeInForce
from mmoms.core.ids import ClientOrderId, GroupId, StrategyId, Symbol, VenueOrderId
from mmoms.core.order import Order
from mmoms.journal.records import RiskRejected

__all__ = ["OrderView", "RiskRejection", "order_view", "rejection_view"]


class OrderView(msgspec.Struct, frozen=True, kw_only=True):
    """One order as the engine knows it. ``quantity`` is the total (filled included)."""

    client_order_id: ClientOrderId
    symbol: Symbol
    side: Side
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None
    status: OrderStatus
    filled_qty: Decimal
    avg_price: Decimal
    time_in_force: TimeInForce | None
    reduce_only: bool
    tag: str | None
    group_id: GroupId | None
    strategy_id: StrategyId | None
    venue_order_id: VenueOrderId | None
    created_ns: int
    updated_ns: int
    trigger_price: Decimal | None = None  # a stop's / take-profit's trigger; None otherwise

    @property
    def leaves_qty(self) -> Decimal:
        return max(self.quantity - self.filled_qty, Decimal(0))

    @property
    def is_open(self) -> bool:
        """Working or in flight (not filled, canceled, rejected or expired)."""
        return self.status.is_open


def order_view(order: Order) -> OrderView:
    return OrderView(
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        side=order.side,
        order_type=order.order_type,
        quantity=order.quantity,
        price=order.price,
        status=order.status,
        filled_qty=order.filled_qty,
        avg_price=order.avg_price,
        time_in_force=order.time_in_force,
        reduce_only=order.reduce_only,
        tag=order.tag,
        group_id=order.group_id,
        strategy_id=order.strategy_id,
        venue_order_id=order.venue_order_id,
        created_ns=order.created_ns,
        updated_ns=order.updated_ns,
        trigger_price=order.trigger_price,
    )


class RiskRejection(msgspec.Struct, frozen=True, kw_only=True):
    """A risk check refused something the strategy asked for (``on_risk_rejected``).

    ``check`` names the check (``max_position``, ``price_band``, ``order_rate``, ``kill_switch``,
    ...); ``client_order_id`` is set when the refused order already had one (``place``).
    """

    ts_ns: int
    strategy_id: StrategyId
    symbol: Symbol | None
    check: str
    reason: str
    client_order_id: ClientOrderId | None = None


def rejection_view(record: RiskRejected, ts_ns: int) -> RiskRejection:
    """The strategy's copy of a journaled rejection (whose strategy it is: the record says)."""
    cid = getattr(record.command, "client_order_id", None) or getattr(
        record.intent, "client_order_id", None
    )
    intent_symbol = getattr(record.intent, "symbol", None) or getattr(
        record.command, "symbol", None
    )
    return RiskRejection(
        ts_ns=ts_ns,
        strategy_id=StrategyId(record.strategy_id or ""),
        symbol=record.symbol or intent_symbol,
        check=record.check,
        reason=record.reason,
        client_order_id=cid,
    )
