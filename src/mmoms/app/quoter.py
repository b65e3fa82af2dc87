"""A sample market-making strategy: symmetric ladders around the mid, skewed by inventory.

Pure: :meth:`SkewedQuoter.levels` turns (best bid, best ask, position) into the desired quote
levels; the caller hands them to the OMS, whose diff keeps whatever is still within tolerance,
so most market ticks cost no exchange action.

* The reservation price moves against inventory: long → quotes shift down (sell more readily),
  short → up. ``skew_bps`` is the shift at full inventory.
* Near the inventory limit the side that would grow the position shrinks to nothing.
* Levels are tagged (``b0``, ``a0``, ...) so the diff matches them across updates.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from mmoms.core.enums import Side
from mmoms.core.intents import QuoteLevel

_BPS = Decimal("0.0001")


@dataclass(frozen=True, slots=True)
class QuoterConfig:
    levels: int = 3
    half_spread_bps: Decimal = Decimal(2)
    level_step_bps: Decimal = Decimal(2)
    size: Decimal = Decimal("0.002")
    max_inventory: Decimal = Decimal("0.02")
    skew_bps: Decimal = Decimal(4)


@dataclass(slots=True)
class SkewedQuoter:
    config: QuoterConfig

    def levels(self, best_bid: Decimal, best_ask: Decimal, position: Decimal) -> list[QuoteLevel]:
        """The quotes wanted now; empty when the book is crossed or one-sided."""
        if best_bid <= 0 or best_ask <= best_bid:
            return []
        cfg = self.config
        mid = (best_bid + best_ask) / 2
        inventory = max(min(position / cfg.max_inventory, Decimal(1)), Decimal(-1))
        reservation = mid * (1 - inventory * cfg.skew_bps * _BPS)
        out: list[QuoteLevel] = []
        for i in range(cfg.levels):
            offset = (cfg.half_spread_bps + i * cfg.level_step_bps) * _BPS
            bid = min(reservation * (1 - offset), best_bid)  # never cross: post-only would reject
            ask = max(reservation * (1 + offset), best_ask)
            bid_size = self._size(Side.BUY, position)
            ask_size = self._size(Side.SELL, position)
            if bid_size > 0:
                out.append(QuoteLevel(side=Side.BUY, price=bid, quantity=bid_size, tag=f"b{i}"))
            if ask_size > 0:
                out.append(QuoteLevel(side=Side.SELL, price=ask, quantity=ask_size, tag=f"a{i}"))
        return out

    def _size(self, side: Side, position: Decimal) -> Decimal:
        room = self.config.max_inventory - side.sign * position
        return max(min(self.config.size, room), Decimal(0))
