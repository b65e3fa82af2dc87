"""A market maker's first strategy: ladders of post-only quotes around the mid, skewed by
inventory. The demo and ``mmoms run`` use it when no other strategy is named.

Run it::

    mmoms run --config examples/sim.toml \\
        --strategy examples/strategies/skewed_quoter.py:SkewedQuoter

What it shows:
* declarative quoting — each refresh states the whole ladder with ``set_quotes``; the engine
  keeps what is still within tolerance, amends or replaces the rest, so most ticks cost nothing;
* a timer (``set_timer``) to refresh at a steady pace, on top of reacting to the market;
* its own position (``self.position``) to skew: long → quotes move down (sell more readily),
  short → up, and the side that would grow the position shrinks to nothing at the limit;
* parameters from the config's ``[strategy.params]`` as constructor arguments (money as
  strings: ``size = { BTCUSDC = "0.002" }``).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import mmoms

BPS = Decimal("0.0001")
DEFAULT_SIZE = {"BTCUSDC": Decimal("0.002"), "ETHUSDC": Decimal("0.05")}
DEFAULT_MAX_INVENTORY = {"BTCUSDC": Decimal("0.02"), "ETHUSDC": Decimal("0.5")}


def ladder(
    best_bid: Decimal,
    best_ask: Decimal,
    position: Decimal,
    *,
    levels: int,
    half_spread_bps: Decimal,
    level_step_bps: Decimal,
    skew_bps: Decimal,
    size: Decimal,
    max_inventory: Decimal,
) -> list[mmoms.QuoteLevel]:
    """The quotes wanted now (pure); empty when the book is crossed or one-sided."""
    if best_bid <= 0 or best_ask <= best_bid:
        return []
    mid = (best_bid + best_ask) / 2
    inventory = max(min(position / max_inventory, Decimal(1)), Decimal(-1))
    reservation = mid * (1 - inventory * skew_bps * BPS)
    bid_size = max(min(size, max_inventory - position), Decimal(0))
    ask_size = max(min(size, max_inventory + position), Decimal(0))
    out: list[mmoms.QuoteLevel] = []
    for i in range(levels):
        offset = (half_spread_bps + i * level_step_bps) * BPS
        bid = min(reservation * (1 - offset), best_bid)  # never cross: post-only would reject
        ask = max(reservation * (1 + offset), best_ask)
        if bid_size > 0:
            out.append(
                mmoms.QuoteLevel(side=mmoms.Side.BUY, price=bid, quantity=bid_size, tag=f"b{i}")
            )
        if ask_size > 0:
            out.append(
                mmoms.QuoteLevel(side=mmoms.Side.SELL, price=ask, quantity=ask_size, tag=f"a{i}")
            )
    return out


class SkewedQuoter(mmoms.Strategy):
    symbols = ("BTCUSDC", "ETHUSDC")

    def __init__(
        self,
        *,
        levels: int = 3,
        half_spread_bps: Decimal = Decimal(0),
        level_step_bps: Decimal = Decimal("0.1"),
        skew_bps: Decimal = Decimal(4),
        refresh_ms: int = 100,
        size: Mapping[str, Decimal] | None = None,
        max_inventory: Mapping[str, Decimal] | None = None,
    ) -> None:
        if levels < 1 or refresh_ms < 1:
            raise ValueError("levels and refresh_ms must be at least 1")
        self.levels = levels
        self.half_spread_bps = half_spread_bps
        self.level_step_bps = level_step_bps
        self.skew_bps = skew_bps
        self.refresh_s = refresh_ms / 1000
        self.size = {**DEFAULT_SIZE, **(size or {})}
        self.max_inventory = {**DEFAULT_MAX_INVENTORY, **(max_inventory or {})}
        self._stale: set[str] = set()  # symbols whose market moved since their last refresh

    def on_start(self) -> None:
        for symbol in self.trading_symbols():
            if symbol not in self.size or symbol not in self.max_inventory:
                raise ValueError(f"no size / max_inventory for {symbol} in [strategy.params]")
        self.set_timer("refresh", self.refresh_s)

    def on_market(self, update: mmoms.MarketUpdate) -> None:
        self._stale.add(update.symbol)  # quoted on the next refresh: at most once per period

    def on_timer(self, name: str) -> None:
        stale, self._stale = self._stale, set()
        for symbol in stale:
            self.requote(symbol)

    def on_fill(self, fill: mmoms.Fill) -> None:
        self.requote(fill.symbol)  # the skew changed: move the quotes now

    def requote(self, symbol: str) -> None:
        top = self.book(symbol)
        if top is None:
            return
        self.set_quotes(
            symbol,
            ladder(
                top.bid,
                top.ask,
                self.position(symbol),
                levels=self.levels,
                half_spread_bps=self.half_spread_bps,
                level_step_bps=self.level_step_bps,
                skew_bps=self.skew_bps,
                size=self.size[symbol],
                max_inventory=self.max_inventory[symbol],
            ),
        )
