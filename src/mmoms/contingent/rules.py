"""The edge semantics: when an edge fires, and what a leg's quantity should be. Pure.

Every rule reads the *allowed* fills of a source (see :mod:`mmoms.contingent.state`), never its
raw fills: an overfill is flattened, so it must not trigger, cancel or shrink anything either
(an OCO leg that lost the race does not cancel the winner).

=====================  ============================================================================
source condition       meaning
=====================  ============================================================================
``PARTIAL_FILL``       the source has an allowed fill (> 0); for REDUCE, every further fill counts
``FILL``               the source is *complete*: all its orders final and one of them FILLED
``CANCEL``             the source ended (all final, or discarded) CANCELED / EXPIRED, nothing filled
``REJECT``             the source ended REJECTED, nothing filled
=====================  ============================================================================

* A leg goes live when **all** its TRIGGER edges fire, and is discarded (never sent) as soon as
  one of them can no longer fire, or one of its CANCEL edges fires.
* One exception, for safety: a ``FILL`` trigger also fires when the parent ends canceled or
  expired *after a partial fill*; the child is then sized to that fill. A filled position is
  never left without the orders meant to protect it.
* A leg's **target** (its total quantity across its venue orders) is its own quantity, capped by
  each partial-trigger parent's allowed fill (child sized to the parent, tracking it), minus
  each REDUCE source's allowed fill (for ``FILL`` REDUCE edges, once the source is complete).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from mmoms.contingent.spec import EdgeKind, EdgeOn, Group
from mmoms.contingent.state import ZERO, LegPhase, LegState
from mmoms.core.enums import OrderStatus, OrderType
from mmoms.core.ids import ClientOrderId

Incoming = tuple[tuple[int, EdgeOn], ...]  # (source leg index, on) per edge into a leg


@dataclass(frozen=True, slots=True)
class Index:
    """A group's edges arranged for the planner: per target leg, by kind."""

    group: Group
    by_cid: dict[ClientOrderId, int]  # a leg's own id → leg index
    triggers: tuple[Incoming, ...]
    cancels: tuple[Incoming, ...]
    reduces: tuple[Incoming, ...]
    amendable: tuple[bool, ...]  # modify in place: LIMIT orders only (as on Binance), if at all


_CACHE: dict[int, Index] = {}
_CACHE_MAX = 4096


def index_of(group: Group) -> Index:
    """The :class:`Index` of ``group``, memoised on the (immutable) group object.

    The cache holds the group itself, so its id cannot be reused by another object meanwhile.
    """
    found = _CACHE.get(id(group))
    if found is not None and found.group is group:
        return found
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.clear()
    index = _CACHE[id(group)] = _build(group)
    return index


def _build(group: Group) -> Index:
    pos = {leg.name: i for i, leg in enumerate(group.legs)}
    per_kind: dict[EdgeKind, list[list[tuple[int, EdgeOn]]]] = {
        kind: [[] for _ in group.legs] for kind in EdgeKind
    }
    for e in group.edges:
        per_kind[e.kind][pos[e.target]].append((pos[e.source], e.on))
    return Index(
        group=group,
        by_cid={leg.client_order_id: i for i, leg in enumerate(group.legs)},
        triggers=tuple(tuple(x) for x in per_kind[EdgeKind.TRIGGER]),
        cancels=tuple(tuple(x) for x in per_kind[EdgeKind.CANCEL]),
        reduces=tuple(tuple(x) for x in per_kind[EdgeKind.REDUCE]),
        amendable=tuple(
            group.options.amend_in_place and leg.order.order_type is OrderType.LIMIT
            for leg in group.legs
        ),
    )


# Enum members as module globals: in Python 3.11 ``LegPhase.DONE`` is a descriptor lookup,
# several times slower than a global, and these tests run many times per plan.
_DONE, _DISCARDED = LegPhase.DONE, LegPhase.DISCARDED
_FILLED, _CANCELED = OrderStatus.FILLED, OrderStatus.CANCELED
_EXPIRED, _REJECTED = OrderStatus.EXPIRED, OrderStatus.REJECTED
_PARTIAL, _FILL, _ON_CANCEL = EdgeOn.PARTIAL_FILL, EdgeOn.FILL, EdgeOn.CANCEL


# -- facts about a source leg ----------------------------------------------------------------


def settled(leg: LegState) -> bool:
    """Nothing of the leg can change any more (except late facts about fills)."""
    return leg.phase is _DONE or leg.phase is _DISCARDED


def complete(leg: LegState) -> bool:
    if leg.phase is _DONE:
        for s in leg.slots:  # a loop: any() over a generator costs twice as much here
            if s.final is _FILLED:
                return True
    return False


def ending(leg: LegState) -> OrderStatus | None:
    """How a settled leg ended: its last order's final status (a discarded leg: CANCELED)."""
    if leg.phase is _DISCARDED:
        return _CANCELED
    if leg.phase is _DONE and leg.slots:
        return leg.slots[-1].final
    return None


def _ended_empty(src: LegState, on: EdgeOn) -> bool:
    if src.allowed > 0 or not settled(src):
        return False
    end = ending(src)
    if on is _ON_CANCEL:
        return end is _CANCELED or end is _EXPIRED
    return end is _REJECTED


# -- edges -------------------------------------------------------------------------------------


def trigger_fires(src: LegState, on: EdgeOn) -> bool:
    if on is _PARTIAL:
        return src.allowed > 0
    if on is _FILL:
        return src.allowed > 0 and settled(src)  # complete, or ended short after a fill
    return _ended_empty(src, on)


def trigger_dead(src: LegState, on: EdgeOn) -> bool:
    """The trigger can never fire: the source is settled and did not satisfy it."""
    return settled(src) and not trigger_fires(src, on)


def cancel_fires(src: LegState, on: EdgeOn) -> bool:
    if on is _PARTIAL:
        return src.allowed > 0
    if on is _FILL:
        return complete(src)
    return _ended_empty(src, on)


def target(index: Index, legs: Sequence[LegState], i: int) -> Decimal:
    """Leg ``i``'s total quantity as the design wants it now (never negative)."""
    cap = index.group.legs[i].order.quantity
    for a, on in index.triggers[i]:
        src = legs[a]
        if on is _PARTIAL or (on is _FILL and not complete(src)):
            cap = min(cap, src.allowed)  # sized to the parent's (allowed) fill
    for a, on in index.reduces[i]:
        src = legs[a]
        if on is _PARTIAL or complete(src):
            cap -= src.allowed
    return cap if cap > 0 else ZERO
