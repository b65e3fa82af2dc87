"""The latest market data a node has seen, per symbol: what strategies' views and the risk
engine's reference price read.

Fed by the node from its market-data feed, one update at a time, on the event loop. The
*valuation* price of a symbol (unrealized PnL, the fat-finger band's reference) is the venue's
mark price when it has sent one, else the mid of the top of book: the mark is what the venue
values positions and triggers MARK_PRICE stops at, and it cannot be moved by our own quotes; the
mid stands in until the first mark arrives (Binance sends marks every second).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal

from mmoms.core.ids import Symbol
from mmoms.core.market import (
    AnyMarketData,
    DepthUpdate,
    MarketUpdate,
    MarkPriceUpdate,
    TradeUpdate,
)

__all__ = ["MarketState"]


class MarketState:
    def __init__(self) -> None:
        self.top: dict[Symbol, MarketUpdate] = {}
        self.marks: dict[Symbol, MarkPriceUpdate] = {}
        self.depth: dict[Symbol, DepthUpdate] = {}
        self.last_trade: dict[Symbol, TradeUpdate] = {}
        self.updates = 0

    def apply(self, update: AnyMarketData) -> None:
        self.updates += 1
        if isinstance(update, MarketUpdate):
            self.top[update.symbol] = update
        elif isinstance(update, MarkPriceUpdate):
            self.marks[update.symbol] = update
        elif isinstance(update, DepthUpdate):
            self.depth[update.symbol] = update
        else:
            self.last_trade[update.symbol] = update

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
