"""A price-time-priority limit order book for one symbol.

Both sides are ``SortedDict``s of :class:`Level` keyed so that index 0 is the best price (bids by
``-ticks``, asks by ``ticks``); a level is an ``OrderedDict`` of resting entries in arrival order,
so adding, removing by id and taking from the front are all O(1) (a plain ``dict`` degrades when
its front is deleted repeatedly). Prices are integer ticks and quantities integer lots.

The book does not know what an account or an order is: a :class:`Resting` entry carries an
opaque ``owner`` (``None`` for the synthetic participants) and an opaque ``order``. Matching walks
the opposite side and reports fills; the caller settles them. Self-trade prevention is decided
here because it changes *which* entries trade.

``update_id`` grows by one on every change of the visible book (for ``lastUpdateId`` and the
``U``/``u``/``pu`` of depth streams). When ``track_changes`` is on, changed price levels are
remembered until :meth:`OrderBook.drain_changes` (the depth-diff stream's input).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from sortedcontainers import SortedDict

__all__ = ["Level", "MatchResult", "OrderBook", "Resting"]

STP_NONE = "NONE"
STP_EXPIRE_TAKER = "EXPIRE_TAKER"
STP_EXPIRE_MAKER = "EXPIRE_MAKER"
STP_EXPIRE_BOTH = "EXPIRE_BOTH"


class Resting:
    """One order's visible remainder at one price."""

    __slots__ = ("entry_id", "is_buy", "lots", "order", "owner", "ticks")

    def __init__(
        self, entry_id: int, is_buy: bool, ticks: int, lots: int, owner: Any, order: Any = None
    ) -> None:
        self.entry_id = entry_id
        self.is_buy = is_buy
        self.ticks = ticks
        self.lots = lots
        self.owner = owner  # None = a synthetic participant (owned by nobody)
        self.order = order


class Level:
    __slots__ = ("entries", "lots", "ticks")

    def __init__(self, ticks: int) -> None:
        self.ticks = ticks
        self.lots = 0
        self.entries: OrderedDict[int, Resting] = OrderedDict()


@dataclass(slots=True)
class MatchResult:
    fills: list[tuple[Resting, int, int]] = field(default_factory=list)  # (maker, lots, ticks)
    stp_expired_makers: list[Resting] = field(default_factory=list)
    taker_stp_expired: bool = False
    remaining: int = 0


class OrderBook:
    def __init__(self, track_changes: bool = False) -> None:
        self.update_id = 0
        self.track_changes = track_changes
        self._bids: SortedDict = SortedDict()  # -ticks -> Level
        self._asks: SortedDict = SortedDict()  # ticks -> Level
        self._entries: dict[int, Resting] = {}
        self._dirty_bids: set[int] = set()
        self._dirty_asks: set[int] = set()

    # -- mutation ---------------------------------------------------------------------------

    def add(self, entry: Resting) -> None:
        """Queue ``entry`` at the back of its price level. The caller ensures it does not cross."""
        side, key = (self._bids, -entry.ticks) if entry.is_buy else (self._asks, entry.ticks)
        level = side.get(key)
        if level is None:
            level = side[key] = Level(entry.ticks)
        level.entries[entry.entry_id] = entry
        level.lots += entry.lots
        self._entries[entry.entry_id] = entry
        self._touch(entry.is_buy, entry.ticks)

    def remove(self, entry_id: int) -> Resting | None:
        """Take an entry off the book; ``None`` if it is not (or no longer) resting."""
        entry = self._entries.pop(entry_id, None)
        if entry is None:
            return None
        side, key = (self._bids, -entry.ticks) if entry.is_buy else (self._asks, entry.ticks)
        level = side[key]
        del level.entries[entry_id]
        level.lots -= entry.lots
        if not level.entries:
            del side[key]
        self._touch(entry.is_buy, entry.ticks)
        return entry

    def shrink(self, entry: Resting, lots: int) -> None:
        """Lower a resting entry's visible size in place (it keeps its queue position)."""
        if entry.entry_id not in self._entries or not 0 < lots < entry.lots:
            raise ValueError("shrink needs a resting entry and a smaller positive size")
        side = self._bids if entry.is_buy else self._asks
        level = side[-entry.ticks if entry.is_buy else entry.ticks]
        level.lots -= entry.lots - lots
        entry.lots = lots
        self._touch(entry.is_buy, entry.ticks)

    def _touch(self, is_bid: bool, ticks: int) -> None:
        self.update_id += 1
        if self.track_changes:
            (self._dirty_bids if is_bid else self._dirty_asks).add(ticks)

    # -- inspection -------------------------------------------------------------------------

    def __contains__(self, entry_id: int) -> bool:
        return entry_id in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def levels(self, is_bid: bool) -> Iterator[Level]:
        """A side's levels, best first (inspection; do not mutate)."""
        return iter((self._bids if is_bid else self._asks).values())

    def best_bid(self) -> int | None:
        if not self._bids:
            return None
        key: int = self._bids.keys()[0]
        return -key

    def best_ask(self) -> int | None:
        if not self._asks:
            return None
        key: int = self._asks.keys()[0]
        return key

    def level_price(self, is_bid: bool, n: int) -> int | None:
        """The n-th best price (1-based) on a side, or ``None`` if the side is shallower."""
        side = self._bids if is_bid else self._asks
        if len(side) < n:
            return None
        key: int = side.keys()[n - 1]
        return -key if is_bid else key

    def level_lots(self, is_bid: bool, ticks: int) -> int:
        level = self._bids.get(-ticks) if is_bid else self._asks.get(ticks)
        return level.lots if level is not None else 0

    def top(self, is_bid: bool) -> tuple[int, int] | None:
        """``(ticks, lots)`` of the best level on a side."""
        side = self._bids if is_bid else self._asks
        if not side:
            return None
        level: Level = side.values()[0]
        return level.ticks, level.lots

    def depth(self, limit: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Aggregated ``(ticks, lots)`` levels, best first, at most ``limit`` per side."""
        bids = [(lv.ticks, lv.lots) for lv in islice(self._bids.values(), limit)]
        asks = [(lv.ticks, lv.lots) for lv in islice(self._asks.values(), limit)]
        return bids, asks

    def drain_changes(self) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Levels changed since the last drain with their current size (0 = level gone)."""
        bids = [(t, self.level_lots(True, t)) for t in sorted(self._dirty_bids, reverse=True)]
        asks = [(t, self.level_lots(False, t)) for t in sorted(self._dirty_asks)]
        self._dirty_bids.clear()
        self._dirty_asks.clear()
        return bids, asks

    @staticmethod
    def _acceptable(taker_is_buy: bool, ticks: int, limit: int | None) -> bool:
        if limit is None:
            return True
        return ticks <= limit if taker_is_buy else ticks >= limit

    def would_cross(self, taker_is_buy: bool, limit_ticks: int) -> bool:
        """Would a limit order at ``limit_ticks`` take liquidity right now?"""
        best = self.best_ask() if taker_is_buy else self.best_bid()
        return best is not None and self._acceptable(taker_is_buy, best, limit_ticks)

    def volume_through(self, is_bid: bool, limit_ticks: int) -> int:
        """Lots resting on a side at ``limit_ticks`` or better (what a sweep to it would take)."""
        side = self._bids if is_bid else self._asks
        total = 0
        for level in side.values():
            if (level.ticks < limit_ticks) if is_bid else (level.ticks > limit_ticks):
                break
            total += level.lots
        return total

    def can_fill(self, taker_is_buy: bool, limit_ticks: int | None, lots: int) -> bool:
        """Is there ``lots`` of opposite liquidity within the limit (FOK pre-check)?"""
        side = self._asks if taker_is_buy else self._bids
        available = 0
        for level in side.values():
            if not self._acceptable(taker_is_buy, level.ticks, limit_ticks):
                return False
            available += level.lots
            if available >= lots:
                return True
        return False

    # -- matching ---------------------------------------------------------------------------

    def match(
        self,
        taker_is_buy: bool,
        limit_ticks: int | None,
        lots: int,
        owner: Any = None,
        stp: str = STP_NONE,
    ) -> MatchResult:
        """Trade an incoming order against the opposite side in price-time priority.

        ``limit_ticks`` None means a market order (no price limit). Self-trade prevention
        applies when ``owner`` is not None, ``stp`` is not NONE and a maker has the same owner:
        EXPIRE_TAKER stops matching, EXPIRE_MAKER removes that maker and goes on, EXPIRE_BOTH
        does both. Filled makers are updated in place (``lots``) and removed when exhausted.
        """
        result = MatchResult()
        side = self._asks if taker_is_buy else self._bids
        check_stp = owner is not None and stp != STP_NONE
        while lots > 0 and side:
            key, level = side.peekitem(0)
            if not self._acceptable(taker_is_buy, level.ticks, limit_ticks):
                break
            entries = level.entries
            while lots > 0 and entries:
                maker: Resting = next(iter(entries.values()))
                if check_stp and maker.owner is owner:
                    if stp != STP_EXPIRE_TAKER:
                        entries.popitem(last=False)
                        del self._entries[maker.entry_id]
                        level.lots -= maker.lots
                        result.stp_expired_makers.append(maker)
                    if stp != STP_EXPIRE_MAKER:
                        result.taker_stp_expired = True
                        break
                    continue
                take = maker.lots if maker.lots < lots else lots
                maker.lots -= take
                level.lots -= take
                lots -= take
                result.fills.append((maker, take, level.ticks))
                if maker.lots == 0:
                    entries.popitem(last=False)
                    del self._entries[maker.entry_id]
            self._touch(not taker_is_buy, level.ticks)
            if not entries:
                del side[key]
            if result.taker_stp_expired:
                break
        result.remaining = lots
        return result
