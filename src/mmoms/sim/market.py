"""The synthetic rest of the market around one symbol: a mid price, a ladder of other
participants' resting orders, and their aggressive trades.

Model, per fixed step (``SimConfig.step_ms``), all randomness from one ``random.Random`` seeded by
(seed, symbol), so the same seed and the same calls give the same book, trades and events:

1. **Mid** (integer ticks) follows a mean-reverting random walk: ``N(-k·(mid - start), σ)``.
2. **Trade through**: when the mid has moved so that the new synthetic best ask is at or below
   resting bids (or the best bid at or above resting asks), synthetic aggressors sweep those
   levels first, in price-time order: a user order there fills only with, or after, the
   volume queued ahead of it. This is how the market trades through user prices.
3. **Requote**: the participants keep ``ladder_levels`` price levels per side, ``half_spread``
   ticks either side of the mid. Synthetic orders that left the ladder are cancelled; a ladder
   level whose synthetic size fell below ``refill_fraction`` of the target is topped up *at the
   back of the queue*.
4. **Aggressive trade**: with ``trade_probability``, one synthetic market order of exponential
   size hits the touch and walks the book (bounded by the PERCENT_PRICE band). It consumes the
   queue in price-time order, so a user order fills only after the volume ahead of it.
5. **Mark price** moves a ``mark_smoothing`` share of the way to the mid (kept in 1/100 ticks).

Per-step cost is O(ladder levels) with small constants; the book's own operations are O(log n).
"""

from __future__ import annotations

import random
from decimal import Decimal

from .config_model import MarketParams
from .matching import MatchingEngine
from .orderbook import Resting
from .specs import SymbolSpec

__all__ = ["SyntheticMarket"]

_MAX_TRADE_MULTIPLE = 10  # cap on a synthetic trade, in multiples of the mean size


class SyntheticMarket:
    def __init__(
        self, spec: SymbolSpec, params: MarketParams, engine: MatchingEngine, seed: int
    ) -> None:
        self.spec = spec
        self.params = params
        self._engine = engine
        self._book = engine.states[spec.symbol].book
        self._rng = random.Random(f"market:{seed}:{spec.symbol}")
        self.mid = spec.start_ticks
        self._anchor = spec.start_ticks
        self._mark_c = spec.start_ticks * 100  # mark price in hundredths of a tick
        self._level_lots = max(1, int(Decimal(params.level_qty) / spec.step))
        self._trade_mean_lots = max(1.0, float(Decimal(params.trade_qty_mean) / spec.step))
        self._floor = (
            spec.min_price_ticks
            + params.half_spread_ticks
            + params.ladder_levels * (params.ladder_step_ticks)
        )
        self._synthetic: tuple[dict[int, list[Resting]], dict[int, list[Resting]]] = ({}, {})

    @property
    def mark(self) -> Decimal:
        return Decimal(self._mark_c) * self.spec.tick / 100

    def seed_book(self, now: int) -> None:
        """Lay out the initial ladder (no user orders exist yet, so nothing trades)."""
        self._requote(now)

    def step(self, now: int) -> None:
        p = self.params
        rng = self._rng
        if p.volatility_ticks > 0:
            drift = -p.mean_reversion * (self.mid - self._anchor)
            self.mid = max(self._floor, self.mid + round(rng.gauss(drift, p.volatility_ticks)))
        self._requote(now)
        if p.trade_probability > 0 and rng.random() < p.trade_probability:
            is_buy = rng.random() < 0.5
            lots = int(rng.expovariate(1.0 / self._trade_mean_lots)) + 1
            self.take(is_buy, min(lots, int(self._trade_mean_lots * _MAX_TRADE_MULTIPLE)), now)
        diff = self.mid * 100 - self._mark_c
        if diff:
            move = round(diff * p.mark_smoothing) or (1 if diff > 0 else -1)
            self._mark_c += move
            self._engine.set_mark(self.spec.symbol, self.mark)

    def set_mid(self, ticks: int) -> None:
        """Move the mid (scenarios, tests): the next step requotes around it and trades through
        resting orders in the way; the mark follows over the next steps. The mean reversion
        anchor moves too, so the market stays there."""
        self.mid = self._anchor = max(self._floor, ticks)

    def take(self, is_buy: bool, lots: int, now: int) -> int:
        """A synthetic aggressive order walking the book within the PERCENT_PRICE band."""
        state = self._engine.states[self.spec.symbol]
        limit = state.band_high if is_buy else state.band_low
        return self._engine.synthetic_take(self.spec.symbol, is_buy, lots, limit, now)

    # -- the ladder -------------------------------------------------------------------------

    def _requote(self, now: int) -> None:
        p = self.params
        bid_top = self.mid - p.half_spread_ticks
        ask_top = self.mid + p.half_spread_ticks
        symbol = self.spec.symbol
        crossed_bids = self._book.volume_through(True, ask_top)
        if crossed_bids:
            self._engine.synthetic_take(symbol, False, crossed_bids, ask_top, now)
        crossed_asks = self._book.volume_through(False, bid_top)
        if crossed_asks:
            self._engine.synthetic_take(symbol, True, crossed_asks, bid_top, now)
        span = (p.ladder_levels - 1) * p.ladder_step_ticks
        self._cancel_outside(True, bid_top - span, bid_top)
        self._cancel_outside(False, ask_top, ask_top + span)
        for i in range(p.ladder_levels):
            offset = i * p.ladder_step_ticks
            self._top_up(True, bid_top - offset, now)
            self._top_up(False, ask_top + offset, now)

    def _cancel_outside(self, is_buy: bool, low: int, high: int) -> None:
        side = self._synthetic[0 if is_buy else 1]
        step = self.params.ladder_step_ticks
        anchor = high if is_buy else low
        for ticks in [t for t in side if t < low or t > high or (t - anchor) % step]:
            for entry in side.pop(ticks):
                self._book.remove(entry.entry_id)

    def _top_up(self, is_buy: bool, ticks: int, now: int) -> None:
        side = self._synthetic[0 if is_buy else 1]
        book = self._book
        entries = side.get(ticks)
        have = 0
        if entries is not None:
            entries[:] = [e for e in entries if e.entry_id in book]
            have = sum(e.lots for e in entries)
        if have >= self.params.refill_fraction * self._level_lots:
            return
        jitter = self.params.level_qty_jitter
        target = self._level_lots * (1.0 + jitter * (2.0 * self._rng.random() - 1.0))
        lots = max(1, round(target)) - have
        if lots <= 0:
            return
        entry = self._engine.synthetic_post(self.spec.symbol, is_buy, ticks, lots, now)
        if entry is not None:
            side.setdefault(ticks, []).append(entry)
