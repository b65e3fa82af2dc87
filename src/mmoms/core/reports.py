"""Venue reports: what an exchange says, normalized. Adapters produce them; only the core
turns them into events.

REST replies, WebSocket execution reports and reconciliation snapshots all become these same
structs, so the local book has one merge rule for all three sources.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

import msgspec

from mmoms.core.enums import (
    LiquiditySide,
    OrderType,
    PositionSide,
    Side,
    TimeInForce,
    VenueOrderStatus,
)
from mmoms.core.ids import ClientOrderId, Symbol, TradeId, VenueOrderId


class ReportSource(StrEnum):
    REST = "REST"  # the reply to one of our requests
    STREAM = "STREAM"  # user-data WebSocket
    RECONCILIATION = "RECONCILIATION"  # a query we made to check state


class Report(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    """Base of all reports. ``ts_event_ns``: venue's time; ``ts_recv_ns``: when we read it."""

    ts_event_ns: int
    ts_recv_ns: int
    source: ReportSource = ReportSource.STREAM


class OrderStatusReport(Report, frozen=True, tag=True, kw_only=True):
    """The venue's view of one order at one moment."""

    symbol: Symbol
    client_order_id: ClientOrderId
    venue_order_id: VenueOrderId
    side: Side
    order_type: OrderType
    status: VenueOrderStatus
    quantity: Decimal
    price: Decimal  # 0 for market orders
    filled_qty: Decimal  # cumulative
    avg_price: Decimal = Decimal(0)
    time_in_force: TimeInForce | None = None
    reduce_only: bool = False
    position_side: PositionSide = PositionSide.BOTH
    amended: bool = False  # this report is an AMENDMENT
    # The venue says the order is done (or may be) without saying how: the order numbered
    # ``venue_order_id`` knows, and must be queried by that number (its client order id may
    # differ from ours) to settle this one.
    ask_placed_order: bool = False


class FillReport(Report, frozen=True, tag=True, kw_only=True):
    """One trade of one order. ``trade_id`` is unique per symbol and counts once."""

    symbol: Symbol
    client_order_id: ClientOrderId
    venue_order_id: VenueOrderId
    trade_id: TradeId
    side: Side
    last_qty: Decimal
    last_price: Decimal
    cum_filled_qty: Decimal | None = None  # None when the source does not say (userTrades)
    commission: Decimal = Decimal(0)
    commission_asset: str = ""
    liquidity: LiquiditySide = LiquiditySide.TAKER
    realized_pnl: Decimal = Decimal(0)
    position_side: PositionSide = PositionSide.BOTH


class PositionReport(Report, frozen=True, tag=True, kw_only=True):
    symbol: Symbol
    position_side: PositionSide
    quantity: Decimal  # signed: + long, - short
    entry_price: Decimal
    unrealized_pnl: Decimal = Decimal(0)


class BalanceReport(Report, frozen=True, tag=True, kw_only=True):
    asset: str
    wallet_balance: Decimal
    available_balance: Decimal | None = None


class OrderNotFoundReport(Report, frozen=True, tag=True, kw_only=True):
    """A query by client order id answered 'does not exist' (-2013 / -2011)."""

    symbol: Symbol
    client_order_id: ClientOrderId


class OpenOrdersSnapshot(Report, frozen=True, tag=True, kw_only=True):
    """A reconciliation snapshot: every open order the venue has on ``symbols``.

    An order of ours on these symbols that is not in ``orders`` is no longer open on the venue.
    """

    symbols: tuple[Symbol, ...]
    orders: tuple[OrderStatusReport, ...]


AnyReport = (
    OrderStatusReport
    | FillReport
    | PositionReport
    | BalanceReport
    | OrderNotFoundReport
    | OpenOrdersSnapshot
)
