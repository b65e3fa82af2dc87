"""Market data as a strategy sees it: venue-neutral, immutable, money as Decimal.

A venue's market-data feed decodes its wire format into these (Binance:
:mod:`mmoms.venues.binance.marketdata`); the node hands them to strategies (``on_market``,
``on_depth``, ``on_trade``, ``on_mark_price``) and feeds the risk engine's reference price from
them. They are frozen: a strategy cannot change what another strategy, or the risk engine, sees.

``ts_ns`` is the venue's event time (nanoseconds since the epoch; Binance stamps milliseconds),
``received_ns`` our wall clock when the message was read — their difference is the feed's lag.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from mmoms.core.enums import Side
from mmoms.core.ids import Symbol

__all__ = [
    "AnyMarketData",
    "DepthUpdate",
    "MarkPriceUpdate",
    "MarketUpdate",
    "PriceLevel",
    "TradeUpdate",
]


class MarketUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """Top of book: the best bid and ask with their quantities."""

    symbol: Symbol
    bid: Decimal
    ask: Decimal
    bid_qty: Decimal
    ask_qty: Decimal
    ts_ns: int = 0
    received_ns: int = 0

    @property
    def mid(self) -> Decimal:
        return (self.bid + self.ask) / 2

    @property
    def spread(self) -> Decimal:
        return self.ask - self.bid


class PriceLevel(msgspec.Struct, frozen=True, array_like=True):
    price: Decimal
    quantity: Decimal


class DepthUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """The top ``len(bids)`` / ``len(asks)`` levels of the book, best first (a snapshot of the
    partial book, not a diff: each update replaces the previous one)."""

    symbol: Symbol
    bids: tuple[PriceLevel, ...]
    asks: tuple[PriceLevel, ...]
    ts_ns: int = 0
    received_ns: int = 0


class TradeUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """A public trade (Binance: an aggregated trade). ``aggressor`` is the taker's side."""

    symbol: Symbol
    price: Decimal
    quantity: Decimal
    aggressor: Side
    trade_id: int = 0
    ts_ns: int = 0
    received_ns: int = 0


class MarkPriceUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """The venue's mark price (what it values positions and triggers MARK_PRICE stops at)."""

    symbol: Symbol
    mark_price: Decimal
    index_price: Decimal | None = None
    funding_rate: Decimal | None = None
    next_funding_ns: int | None = None
    ts_ns: int = 0
    received_ns: int = 0


AnyMarketData = MarketUpdate | DepthUpdate | TradeUpdate | MarkPriceUpdate
