"""Per-symbol state the matching engine keeps beside the book: id counters, mark price and
its PERCENT_PRICE band (in ticks, recomputed once per mark change so order checks are integer
comparisons), trade statistics, candles and the last public trades. Each trade is its own
aggregate trade (aggTrade id = trade id).

Order ids and trade ids are per symbol (as on Binance) and start large, so clients cannot get
away with assuming small or globally unique integers.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import NamedTuple

from .klines import CandleSeries
from .orderbook import OrderBook
from .specs import SymbolSpec

__all__ = ["ORDER_ID_BASE", "TRADE_ID_BASE", "PublicTrade", "SymbolState", "TickerStats"]

ORDER_ID_BASE = 8_000_000_000
TRADE_ID_BASE = 5_000_000_000
RECENT_TRADES = 1000  # what GET /fapi/v1/trades and /aggTrades can return


@dataclass(slots=True)
class TickerStats:
    """Since-start trade statistics (the simulator's stand-in for a rolling 24 h window)."""

    open_ticks: int
    last_ticks: int
    last_lots: int = 0
    high: int = 0
    low: int = 0
    volume_lots: int = 0
    quote_tl: int = 0
    count: int = 0
    first_trade_id: int = -1
    last_trade_id: int = -1

    def record(self, ticks: int, lots: int, trade_id: int) -> None:
        self.last_ticks, self.last_lots = ticks, lots
        self.high = max(self.high, ticks)
        self.low = ticks if self.count == 0 else min(self.low, ticks)
        self.volume_lots += lots
        self.quote_tl += ticks * lots
        self.count += 1
        if self.first_trade_id < 0:
            self.first_trade_id = trade_id
        self.last_trade_id = trade_id


class PublicTrade(NamedTuple):
    trade_id: int
    ticks: int
    lots: int
    time: int
    buyer_is_maker: bool


class SymbolState:
    """One symbol's book, id counters, mark price and PERCENT_PRICE band, public trades."""

    def __init__(self, spec: SymbolSpec, track_changes: bool, started_ms: int) -> None:
        self.spec = spec
        self.book = OrderBook(track_changes)
        self.candles = CandleSeries(spec, started_ms)
        self.recent_trades: deque[PublicTrade] = deque(maxlen=RECENT_TRADES)
        self.last_order_id = ORDER_ID_BASE
        self.last_trade_id = TRADE_ID_BASE
        self.last_synthetic_id = 0
        self.stats = TickerStats(open_ticks=spec.start_ticks, last_ticks=spec.start_ticks)
        self.mark = Decimal(0)
        self.band_low = 0
        self.band_high = 0
        self.set_mark(spec.price(spec.start_ticks))

    def set_mark(self, mark: Decimal) -> None:
        spec = self.spec
        self.mark = mark
        low = (mark * spec.multiplier_down / spec.tick).to_integral_value(ROUND_CEILING)
        high = (mark * spec.multiplier_up / spec.tick).to_integral_value(ROUND_FLOOR)
        self.band_low, self.band_high = int(low), int(high)

    def record_trade(self, ticks: int, lots: int, taker_is_buy: bool, now: int) -> int:
        """Count a public trade everywhere it shows (stats, candles, recent trades); its id."""
        self.last_trade_id += 1
        trade_id = self.last_trade_id
        self.stats.record(ticks, lots, trade_id)
        self.candles.record(now, ticks, lots, taker_is_buy)
        self.recent_trades.append(PublicTrade(trade_id, ticks, lots, now, taker_is_buy is False))
        return trade_id
