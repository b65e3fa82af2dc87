"""Intents: what a strategy wants. The OMS turns them into commands after risk checks.

Declarative quoting (:class:`SetQuotes`) states the *whole* desired set of resting orders for a
symbol; the OMS diffs it against live orders and acts as little as it can. Imperative intents
place, amend or cancel one order. Prices and quantities may be off-grid: the OMS snaps them
(passively for quotes) and refuses what cannot be represented.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from mmoms.core.enums import OrderType, PositionSide, Side, TimeInForce
from mmoms.core.ids import ClientOrderId, StrategyId, Symbol


class Intent(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    strategy_id: StrategyId
    ts_ns: int = 0  # set by the OMS when it receives the intent


class QuoteLevel(msgspec.Struct, frozen=True, kw_only=True):
    side: Side
    price: Decimal
    quantity: Decimal
    tag: str | None = None  # e.g. "bid1": lets the diff match levels across updates
    post_only: bool = True


class SetQuotes(Intent, frozen=True, tag=True, kw_only=True):
    """The full set of quotes wanted on ``symbol``. An empty set pulls every quote."""

    symbol: Symbol
    levels: tuple[QuoteLevel, ...]


class PlaceOrder(Intent, frozen=True, tag=True, kw_only=True):
    symbol: Symbol
    side: Side
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None = None
    time_in_force: TimeInForce | None = None
    reduce_only: bool = False
    position_side: PositionSide = PositionSide.BOTH
    trigger_price: Decimal | None = None
    client_order_id: ClientOrderId | None = None  # the OMS assigns one if absent
    tag: str | None = None


class AmendOrderIntent(Intent, frozen=True, tag=True, kw_only=True):
    symbol: Symbol
    client_order_id: ClientOrderId
    price: Decimal
    quantity: Decimal


class CancelOrderIntent(Intent, frozen=True, tag=True, kw_only=True):
    symbol: Symbol
    client_order_id: ClientOrderId


class CancelAllIntent(Intent, frozen=True, tag=True, kw_only=True):
    """Cancel every order of this strategy (on ``symbol``, or everywhere)."""

    symbol: Symbol | None = None


AnyIntent = SetQuotes | PlaceOrder | AmendOrderIntent | CancelOrderIntent | CancelAllIntent
