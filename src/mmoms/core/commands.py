"""Commands: what the OMS asks a venue to do. Imperative names, frozen and tagged.

A command carries everything the gateway needs to build the request; the gateway adds only
transport details (timestamp, signature). Prices and quantities are already snapped to the
instrument's grid when a command is built.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from mmoms.core.enums import OrderType, PositionSide, Side, TimeInForce, WorkingType
from mmoms.core.ids import ClientOrderId, Symbol, VenueOrderId


class Command(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    """Base of all commands. ``ts_ns`` is when the OMS decided it."""

    ts_ns: int


class SubmitOrder(Command, frozen=True, tag=True, kw_only=True):
    client_order_id: ClientOrderId
    symbol: Symbol
    side: Side
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None = None
    time_in_force: TimeInForce | None = None
    reduce_only: bool = False
    position_side: PositionSide = PositionSide.BOTH
    good_till_ms: int | None = None  # GTD expiry, milliseconds
    trigger_price: Decimal | None = None  # conditional (algo) orders only
    working_type: WorkingType | None = None
    close_position: bool = False


class CancelOrder(Command, frozen=True, tag=True, kw_only=True):
    client_order_id: ClientOrderId
    symbol: Symbol
    venue_order_id: VenueOrderId | None = None
    # A conditional (stop / take-profit) order: on Binance it lives in the algo service, which
    # a gateway restarted since the order was placed cannot tell from its id alone.
    conditional: bool = False


class AmendOrder(Command, frozen=True, tag=True, kw_only=True):
    """Binance modify: LIMIT only, re-queues the order; cancels it if quantity <= filled."""

    client_order_id: ClientOrderId
    symbol: Symbol
    side: Side
    quantity: Decimal
    price: Decimal
    venue_order_id: VenueOrderId | None = None


class CancelAllOrders(Command, frozen=True, tag=True, kw_only=True):
    symbol: Symbol


class QueryOrder(Command, frozen=True, tag=True, kw_only=True):
    """Ask the venue for one order's state (resolves UNKNOWN and -2013 answers)."""

    client_order_id: ClientOrderId
    symbol: Symbol
    # Ask for the order the venue numbered so, not for the client id: a triggered conditional
    # order lives on as the order it placed, whose client id the venue may not carry over.
    venue_order_id: VenueOrderId | None = None


AnyCommand = SubmitOrder | CancelOrder | AmendOrder | CancelAllOrders | QueryOrder
