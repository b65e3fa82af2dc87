"""Market data as a strategy sees it: venue-neutral, immutable, money as Decimal; and
:class:`MarketState`, the latest of each kind per symbol.

A venue's market-data feed decodes its wire format into these (Binance:
:mod:`mmoms.venues.binance.marketdata`); the node hands them to strategies (``on_market``,
``on_depth``, ``on_trade``, ``on_mark_price``) and feeds the risk engine's reference price from
them. They are frozen: a strategy cannot change what another strategy, or the risk engine, sees.

``ts_ns`` is the venue's event time (nanoseconds since the epoch; Binance stamps milliseconds),
``received_ns`` our wall clock when the message was read — their difference is the feed's lag.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal

import msgspec

from mmoms.core.enums import Side
from mmoms.core.ids import Symbol

__all__ = [
    "AnyMarketData",
    "DepthUpdate",
    "MarkPriceUpdate",
    "MarketState",
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


class MarketState:
    """The latest market data per symbol: what a feed keeps, what strategies' views and the
    risk engine's reference price read. One writer (the feed, on the event loop).

    The *valuation* price of a symbol (unrealized PnL, the fat-finger band's reference) is the
    venue's mark price when it has sent one, else the mid of the top of book: the mark is what
    the venue values positions and triggers MARK_PRICE stops at, and our own quotes cannot move
    it; the mid stands in until the first mark arrives.
    """

    def __init__(self) -> None:
        self.top: dict[Symbol, MarketUpdate] = {}
        self.marks: dict[Symbol, MarkPriceUpdate] = {}
        self.depth: dict[Symbol, DepthUpdate] = {}
        self.trades: dict[Symbol, TradeUpdate] = {}  # the latest trade
        self.updates = 0

    def apply(self, update: AnyMarketData) -> bool:
        """Keep ``update`` as its symbol's latest of its kind; True if it is the symbol's first
        top of book."""
        self.updates += 1
        if isinstance(update, MarketUpdate):
            first = update.symbol not in self.top
            self.top[update.symbol] = update
            return first
        if isinstance(update, MarkPriceUpdate):
            self.marks[update.symbol] = update
        elif isinstance(update, DepthUpdate):
            self.depth[update.symbol] = update
        else:
            self.trades[update.symbol] = update
        return False

    def valuation_price(self, symbol: Symbol) -> Decimal | None:
        """The mark price if the venue sent one, else the mid; None before any price."""
        mark = self.marks.get(symbol)
        if mark is not None:
            return mark.mark_price
        top = self.top.get(symbol)
        return None if top is None else top.mid

    def pairs(self) -> Mapping[Symbol, tuple[Decimal, Decimal]]:
        """A live (bid, ask) per symbol mapping, for views that want plain pairs."""
        return _Pairs(self.top)


class _Pairs(Mapping[Symbol, tuple[Decimal, Decimal]]):
    def __init__(self, top: dict[Symbol, MarketUpdate]) -> None:
        self._top = top

    def __getitem__(self, symbol: Symbol) -> tuple[Decimal, Decimal]:
        t = self._top[symbol]
        return t.bid, t.ask

    def __iter__(self) -> Iterator[Symbol]:
        return iter(list(self._top))

    def __len__(self) -> int:
        return len(self._top)
