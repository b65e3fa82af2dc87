"""A group's worst-case exposure, for the risk layer: a group counts once. Pure.

The risk layer's position check adds up what resting orders could still buy or sell. Summing a
group's legs would overcharge it: the legs of an OCO can never all fill (by design; a race is
flattened), so an OCO charges its largest leg, not the sum.

Rules:

* reduce-only orders are left out: they can only shrink a position (the risk layer treats them
  apart already);
* a leg still waiting counts its full quantity (a child triggered later could be sized up to
  it); a live leg counts what its open orders could still fill (old and new order both, while a
  re-placement is in flight); a settled leg counts nothing;
* legs that mutually exclude each other — each has a ``PARTIAL_FILL`` REDUCE or CANCEL edge to
  the other — charge the largest of them per side. A set counts as exclusive only when *every*
  pair in it is; otherwise its legs are summed (over-charging is safe, under-charging is not).
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from mmoms.contingent.spec import EdgeKind, EdgeOn, Group
from mmoms.contingent.state import ZERO, GroupState, LegPhase, LegState
from mmoms.core.enums import Side
from mmoms.core.ids import Symbol


class GroupExposure(msgspec.Struct, frozen=True, kw_only=True):
    """What the group could still add to the position, per side, at worst.

    Notionals are valued at each leg's limit price, else its trigger price, else the reference
    price; ``None`` when a leg has none of them and no reference price was given.
    """

    symbol: Symbol
    buy_qty: Decimal
    sell_qty: Decimal
    buy_notional: Decimal | None
    sell_notional: Decimal | None


def group_exposure(state: GroupState, reference_price: Decimal | None = None) -> GroupExposure:
    group = state.spec
    remaining = [_remaining(state, i, leg) for i, leg in enumerate(state.legs)]
    prices = [leg.order.price or leg.order.trigger_price or reference_price for leg in group.legs]
    totals = {Side.BUY: [ZERO, ZERO], Side.SELL: [ZERO, ZERO]}  # [qty, notional]
    unpriced = {Side.BUY: False, Side.SELL: False}
    for members in _exclusive_sets(group):
        for side in Side:
            legs = [i for i in members if group.legs[i].order.side is side and remaining[i] > 0]
            if not legs:
                continue
            if len(members) > 1:  # an exclusive set: only one of them can fill
                qty = max(remaining[i] for i in legs)
                priced = [remaining[i] * p for i in legs if (p := prices[i]) is not None]
                notional = max(priced) if priced else ZERO
            else:
                qty = remaining[legs[0]]
                p = prices[legs[0]]
                notional = qty * p if p is not None else ZERO
            unpriced[side] |= any(prices[i] is None for i in legs)
            totals[side][0] += qty
            totals[side][1] += notional
    for flat in state.flattens:
        if flat.final is None and not group.options.flatten_reduce_only:
            unpriced[flat.side] |= reference_price is None
            totals[flat.side][0] += flat.quantity - flat.filled
            totals[flat.side][1] += (flat.quantity - flat.filled) * (reference_price or ZERO)
    return GroupExposure(
        symbol=group.symbol,
        buy_qty=totals[Side.BUY][0],
        sell_qty=totals[Side.SELL][0],
        buy_notional=None if unpriced[Side.BUY] else totals[Side.BUY][1],
        sell_notional=None if unpriced[Side.SELL] else totals[Side.SELL][1],
    )


def _remaining(state: GroupState, i: int, leg: LegState) -> Decimal:
    order = state.spec.legs[i].order
    if order.reduce_only:
        return ZERO
    if leg.phase is LegPhase.WAITING:
        return ZERO if state.canceling else order.quantity
    if leg.phase is LegPhase.LIVE:
        return sum((max(s.quantity - s.filled, ZERO) for s in leg.slots if s.final is None), ZERO)
    return ZERO


def _exclusive_sets(group: Group) -> list[list[int]]:
    """Legs partitioned into mutually exclusive sets (cliques); every other leg alone."""
    pos = {leg.name: i for i, leg in enumerate(group.legs)}
    one_way = {
        (pos[e.source], pos[e.target])
        for e in group.edges
        if e.on is EdgeOn.PARTIAL_FILL and e.kind in (EdgeKind.REDUCE, EdgeKind.CANCEL)
    }
    mutual = {(a, b) for a, b in one_way if (b, a) in one_way}
    seen: set[int] = set()
    sets: list[list[int]] = []
    for start in range(len(group.legs)):
        if start in seen:
            continue
        component, todo = [start], [start]
        seen.add(start)
        while todo:
            a = todo.pop()
            for b in range(len(group.legs)):
                if b not in seen and (a, b) in mutual:
                    seen.add(b)
                    component.append(b)
                    todo.append(b)
        if all((a, b) in mutual for a in component for b in component if a != b):
            sets.append(sorted(component))
        else:
            sets.extend([i] for i in sorted(component))  # not a clique: each leg counts
    return sets
