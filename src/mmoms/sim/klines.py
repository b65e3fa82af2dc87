"""Candles for ``GET /fapi/v1/klines``, built from every trade the simulator prints.

Only one-minute candles are stored (a bounded window, default one day); longer intervals are
merged on request. Minutes without trades are filled flat at the previous close with zero
volume, as Binance does. Prices are ticks and volumes lots until rendered.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from .specs import SymbolSpec

__all__ = ["INTERVAL_MS", "CandleSeries"]

MINUTE_MS = 60_000
INTERVAL_MS = {
    "1m": MINUTE_MS,
    "3m": 3 * MINUTE_MS,
    "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS,
    "30m": 30 * MINUTE_MS,
    "1h": 60 * MINUTE_MS,
    "2h": 120 * MINUTE_MS,
    "4h": 240 * MINUTE_MS,
    "6h": 360 * MINUTE_MS,
    "8h": 480 * MINUTE_MS,
    "12h": 720 * MINUTE_MS,
    "1d": 1440 * MINUTE_MS,
}


@dataclass(slots=True)
class _Candle:
    open: int
    high: int
    low: int
    close: int
    lots: int = 0
    quote_tl: int = 0
    trades: int = 0
    taker_buy_lots: int = 0
    taker_buy_tl: int = 0

    def add(self, ticks: int, lots: int, taker_is_buy: bool) -> None:
        self.high = max(self.high, ticks)
        self.low = min(self.low, ticks)
        self.close = ticks
        self.lots += lots
        self.quote_tl += ticks * lots
        self.trades += 1
        if taker_is_buy:
            self.taker_buy_lots += lots
            self.taker_buy_tl += ticks * lots

    def merge(self, other: _Candle) -> None:
        self.high = max(self.high, other.high)
        self.low = min(self.low, other.low)
        self.close = other.close
        self.lots += other.lots
        self.quote_tl += other.quote_tl
        self.trades += other.trades
        self.taker_buy_lots += other.taker_buy_lots
        self.taker_buy_tl += other.taker_buy_tl


class CandleSeries:
    def __init__(self, spec: SymbolSpec, started_ms: int, keep_minutes: int = 1440) -> None:
        self._spec = spec
        self._keep = keep_minutes
        self._first_minute = started_ms - started_ms % MINUTE_MS
        self._start_ticks = spec.start_ticks
        self._minutes: OrderedDict[int, _Candle] = OrderedDict()

    def record(self, now_ms: int, ticks: int, lots: int, taker_is_buy: bool) -> None:
        minute = now_ms - now_ms % MINUTE_MS
        candle = self._minutes.get(minute)
        if candle is None:
            candle = self._minutes[minute] = _Candle(ticks, ticks, ticks, ticks)
            while len(self._minutes) > self._keep:
                _, dropped = self._minutes.popitem(last=False)
                self._start_ticks = dropped.close
                self._first_minute = next(iter(self._minutes))
        candle.add(ticks, lots, taker_is_buy)

    def klines(
        self, interval_ms: int, start: int | None, end: int | None, limit: int, now_ms: int
    ) -> list[list[Any]]:
        """Candles of ``interval_ms`` overlapping [start, end], oldest first, at most ``limit``."""
        first = self._first_minute - self._first_minute % interval_ms
        last = now_ms - now_ms % interval_ms
        lo = first if start is None else max(first, start - start % interval_ms)
        hi = last if end is None else min(last, end - end % interval_ms)
        if hi < lo:
            return []
        if start is None and (hi - lo) // interval_ms + 1 > limit:
            lo = hi - (limit - 1) * interval_ms  # the most recent candles when no start is given
        close = self._close_before(lo)
        out: list[list[Any]] = []
        bucket = lo
        while bucket <= hi and len(out) < limit:
            candle = _Candle(close, close, close, close)
            for minute in range(bucket, bucket + interval_ms, MINUTE_MS):
                one = self._minutes.get(minute)
                if one is not None:
                    if candle.trades == 0:
                        candle = _Candle(one.open, one.high, one.low, one.close)
                        candle.high, candle.low = one.open, one.open
                    candle.merge(one)
            close = candle.close
            out.append(self._render(bucket, interval_ms, candle))
            bucket += interval_ms
        return out

    def _close_before(self, bucket: int) -> int:
        close = self._start_ticks
        for minute, candle in self._minutes.items():
            if minute >= bucket:
                break
            close = candle.close
        return close

    def _render(self, open_ms: int, interval_ms: int, c: _Candle) -> list[Any]:
        spec = self._spec
        return [
            open_ms,
            spec.fmt_price(c.open),
            spec.fmt_price(c.high),
            spec.fmt_price(c.low),
            spec.fmt_price(c.close),
            spec.fmt_qty(c.lots),
            open_ms + interval_ms - 1,
            spec.fmt_quote(c.quote_tl),
            c.trades,
            spec.fmt_qty(c.taker_buy_lots),
            spec.fmt_quote(c.taker_buy_tl),
            "0",
        ]
