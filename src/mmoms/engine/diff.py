"""The quote diff: desired levels vs live orders → the fewest exchange actions.

Per symbol and side:

1. Orders with a request in flight (PENDING_NEW, PENDING_REPLACE, UNKNOWN) are never touched;
   they still *occupy* the level they are at, so a level they match is not placed twice.
   PENDING_CANCEL orders are on their way out and occupy nothing. The engine re-diffs the
   symbol when they settle.
2. Keep: a live order within tolerance of a desired level (price within ``price_ticks`` ticks,
   remaining quantity within ``qty_pct`` percent) stays — keeping preserves queue position.
   Levels with a tag prefer the order carrying the same tag; otherwise the closest price wins.
3. Amend: the remaining live orders and levels are paired best-price first; a pair becomes one
   modify when the order can be modified (LIMIT, same side, same time in force) and amending is
   allowed (``allow_amend``: the engine's setting and the venue's declared ``supports_amend``;
   without it the pair is a cancel + new). The quantity sent is filled + wanted, so it always
   stays above what is filled (a venue may cancel an order modified to a quantity at or below
   its executed quantity; Binance does).
   A modify re-queues the order just as cancel+new would, but costs one request instead of two
   and never leaves the level empty or doubled in between.
4. Cancel what is left of the orders, place what is left of the levels.

Pure: no I/O, no clock. ``naive_actions`` (cancel everything + place everything) is returned too
so the engine can count what diffing saved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from mmoms.core.enums import OrderStatus, OrderType, Side, TimeInForce
from mmoms.core.intents import QuoteLevel
from mmoms.core.order import Order

_OCCUPYING = frozenset({OrderStatus.PENDING_NEW, OrderStatus.PENDING_REPLACE, OrderStatus.UNKNOWN})
_LIVE = frozenset({OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED})


@dataclass(frozen=True, slots=True)
class Tolerance:
    price_ticks: int = 0
    qty_pct: Decimal = Decimal(0)  # e.g. Decimal("10") keeps an order whose size is within 10 %


@dataclass(frozen=True, slots=True)
class Keep:
    order: Order
    level: QuoteLevel


@dataclass(frozen=True, slots=True)
class Amend:
    order: Order
    level: QuoteLevel
    new_quantity: Decimal  # total order quantity to send (filled + wanted remaining)


@dataclass(frozen=True, slots=True)
class Cancel:
    order: Order


@dataclass(frozen=True, slots=True)
class Place:
    level: QuoteLevel


@dataclass(slots=True)
class DiffResult:
    keeps: list[Keep] = field(default_factory=list)
    amends: list[Amend] = field(default_factory=list)
    cancels: list[Cancel] = field(default_factory=list)
    places: list[Place] = field(default_factory=list)
    blocked: int = 0  # desired levels matched by an in-flight order (re-diff when it settles)
    naive_actions: int = 0  # cancel all + place all

    @property
    def actions(self) -> int:
        return len(self.amends) + len(self.cancels) + len(self.places)

    @property
    def saved(self) -> int:
        return max(self.naive_actions - self.actions, 0)


def diff_side(
    side: Side,
    desired: list[QuoteLevel],
    orders: list[Order],
    tick_size: Decimal,
    tolerance: Tolerance,
    *,
    allow_amend: bool = True,
) -> DiffResult:
    """Diff one side of one symbol. ``orders`` are this strategy's orders on that side."""
    result = DiffResult()
    levels = [lv for lv in desired if lv.side is side]
    live = [o for o in orders if o.status in _LIVE]
    result.naive_actions = len(live) + len(levels)

    # 1. In-flight orders occupy their level.
    for order in (o for o in orders if o.status in _OCCUPYING):
        match = _closest(order, levels, tick_size, tolerance)
        if match is not None:
            levels.remove(match)
            result.blocked += 1

    # 2. Keeps: tag matches first, then closest within tolerance.
    for order in sorted(live, key=lambda o: o.tag is None):
        match = _closest(order, levels, tick_size, tolerance)
        if match is not None:
            levels.remove(match)
            live.remove(order)
            result.keeps.append(Keep(order, match))

    # 3. Amends: pair what is left, best price first on both lists.
    sign = 1 if side is Side.BUY else -1
    live.sort(key=lambda o: -sign * (o.price or 0))
    levels.sort(key=lambda lv: -sign * lv.price)
    if allow_amend:
        pending_levels: list[QuoteLevel] = []
        for level in levels:
            candidate = next((o for o in live if _amendable(o, level)), None)
            if candidate is None:
                pending_levels.append(level)
                continue
            live.remove(candidate)
            result.amends.append(Amend(candidate, level, candidate.filled_qty + level.quantity))
        levels = pending_levels

    # 4. The rest.
    result.cancels.extend(Cancel(o) for o in live)
    result.places.extend(Place(lv) for lv in levels)
    return result


def _within(order: Order, level: QuoteLevel, tick_size: Decimal, tol: Tolerance) -> bool:
    if order.price is None:
        return False
    if abs(order.price - level.price) > tick_size * tol.price_ticks:
        return False
    remaining = order.leaves_qty
    return abs(remaining - level.quantity) * 100 <= level.quantity * tol.qty_pct


def _closest(
    order: Order, levels: list[QuoteLevel], tick_size: Decimal, tol: Tolerance
) -> QuoteLevel | None:
    candidates = [lv for lv in levels if _within(order, lv, tick_size, tol)]
    if not candidates:
        return None
    tagged = [lv for lv in candidates if order.tag is not None and lv.tag == order.tag]
    pool = tagged or candidates
    return min(pool, key=lambda lv: abs((order.price or Decimal(0)) - lv.price))


def _amendable(order: Order, level: QuoteLevel) -> bool:
    # Only a LIMIT order is modified, never its side or time in force (the common ground; all
    # Binance allows). The total sent is filled + wanted, always above filled, so the modify
    # never turns into a cancel.
    return (
        order.order_type is OrderType.LIMIT
        and order.side is level.side
        and (order.time_in_force is TimeInForce.GTX) == level.post_only
    )
