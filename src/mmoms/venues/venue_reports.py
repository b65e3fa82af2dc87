"""Gateway-level reports: venue facts the core vocabulary (``mmoms.core.reports``) has no struct
for yet. Venue-neutral; built on :class:`mmoms.core.reports.Report` so they carry the same
timestamps and source.

* :class:`AlgoOrderReport` — a conditional (stop / take-profit / trailing) order, which Binance
  keeps in a separate "algo" service with its own ids until it triggers and places a regular
  order (``actual_order_id``), which then reports as a normal :class:`OrderStatusReport`.
* :class:`LiteFillReport` — Binance's early ``TRADE_LITE`` trade signal. It is *not* a
  :class:`FillReport`: it lacks the commission and cumulative quantity, and the full fill with the
  same trade id follows in ``ORDER_TRADE_UPDATE``. Were it a fill, "each trade id counts once"
  would keep the incomplete copy. Use it for fast inventory estimates only.
* :class:`AccountConfigReport`, :class:`MarginCallReport` — account notices for the risk layer.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

import msgspec

from mmoms.core.enums import OrderType, PositionSide, Side
from mmoms.core.ids import ClientOrderId, Symbol, VenueOrderId
from mmoms.core.reports import FillReport, Report


class AlgoStatus(StrEnum):
    """Life of a conditional order in the venue's algo service."""

    NEW = "NEW"  # waiting for its trigger
    TRIGGERING = "TRIGGERING"  # condition met, being forwarded to the matching engine
    TRIGGERED = "TRIGGERED"  # placed in the matching engine as ``actual_order_id``
    FINISHED = "FINISHED"  # the placed order is done (filled or cancelled)
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"  # the matching engine refused the triggered order (see ``reason``)
    EXPIRED = "EXPIRED"  # cancelled by the system

    @property
    def is_terminal(self) -> bool:
        return self in (
            AlgoStatus.FINISHED,
            AlgoStatus.CANCELED,
            AlgoStatus.REJECTED,
            AlgoStatus.EXPIRED,
        )


class AlgoOrderReport(Report, frozen=True, tag=True, kw_only=True):
    """The venue's view of one conditional order; ``client_order_id`` is our clientAlgoId."""

    symbol: Symbol
    client_order_id: ClientOrderId
    algo_id: int
    status: AlgoStatus
    order_type: OrderType
    side: Side
    quantity: Decimal | None  # None with close_position
    price: Decimal | None  # None for market types
    trigger_price: Decimal | None
    position_side: PositionSide = PositionSide.BOTH
    reduce_only: bool = False
    close_position: bool = False
    actual_order_id: VenueOrderId | None = None  # the matching-engine order after triggering
    # Executed in the matching engine: ALGO_UPDATE's ``aq``; the REST replies carry none.
    actual_qty: Decimal | None = None
    actual_avg_price: Decimal | None = None
    reason: str = ""  # why it was rejected, when it was


class LiteFillReport(Report, frozen=True, tag=True, kw_only=True):
    """An early trade signal; ``fill.commission`` is unknown (0) and ``cum_filled_qty`` None."""

    fill: FillReport


class AccountConfigReport(Report, frozen=True, tag=True, kw_only=True):
    """A leverage change on ``symbol``, or a switch of the multi-assets margin mode."""

    symbol: Symbol | None = None
    leverage: int | None = None
    multi_assets: bool | None = None


class MarginCallPosition(msgspec.Struct, frozen=True, kw_only=True):
    symbol: Symbol
    position_side: PositionSide
    quantity: Decimal  # signed
    mark_price: Decimal
    maint_margin: Decimal
    unrealized_pnl: Decimal


class MarginCallReport(Report, frozen=True, tag=True, kw_only=True):
    cross_wallet_balance: Decimal | None
    positions: tuple[MarginCallPosition, ...]


class CommissionRates(msgspec.Struct, frozen=True, kw_only=True):
    symbol: Symbol
    maker: Decimal  # negative: a rebate
    taker: Decimal
    rpi: Decimal | None = None
