"""A contingent-order group as data: legs with fixed client order ids, edges, options.

A :class:`Group` is frozen and self-contained: everything the planner needs to decide, and
everything a reader needs to see what the group will do. It is built once (by the constructors
in :mod:`mmoms.contingent.builders`) and never changes; the group's progress lives apart, in
:class:`mmoms.contingent.state.GroupState`.

Decisions:

* **Client order ids are fixed at creation**: leg ``name`` of group ``g`` is ``g-name``. A leg
  that has to be re-placed (a stop cannot be modified on Binance) uses ``g-name.2``,
  ``g-name.3`` ...; a flatten order is ``g-flat-1``, ``g-flat-2`` ... So a plan re-run after a
  crash names exactly the same orders. The lengths are checked here, so every id the group can
  ever use fits Binance's 36 characters.
* **One symbol per group.** OCO, OTO and brackets are single-symbol on every venue we know;
  cross-symbol contingencies (pairs) are a strategy's business, not the OMS's.
* **Edges name legs, not ids**, and are validated: known legs, no self-edge, a REDUCE edge only
  on fills, TRIGGER edges form no cycle, at least one leg is live from the start.
"""

from __future__ import annotations

import re
from decimal import Decimal
from enum import StrEnum

import msgspec

from mmoms.core.enums import OrderType, PositionSide, Side, TimeInForce, WorkingType
from mmoms.core.errors import MmomsError
from mmoms.core.ids import ClientOrderId, GroupId, Symbol

MAX_SLOTS = 999
"""Most venue orders one leg may use (first order plus re-placements): ``.999`` fits the id."""

_GROUP_ID = re.compile(r"^[.A-Z:/a-z0-9_-]{1,24}$")
_LEG_NAME = re.compile(r"^[a-z][a-z0-9_]{0,6}$")
_CID_MAX = 64  # the widest any venue is expected to take; the venue's own rule is checked at the
# engine's door (mmoms.engine.intake.group, from GatewayCapabilities.client_id_rule)
_RESERVED = frozenset({"flat"})  # flatten orders are <group>-flat-<n>


class GroupSpecError(MmomsError, ValueError):
    """A group that cannot be built as asked (bad ids, edges, orders)."""


class EdgeKind(StrEnum):
    TRIGGER = "TRIGGER"  # the target goes live when the edge fires
    CANCEL = "CANCEL"  # the target is canceled (or, not live yet, discarded) when it fires
    REDUCE = "REDUCE"  # the target's quantity shrinks by the source's filled quantity


class EdgeOn(StrEnum):
    FILL = "FILL"  # the source is completely filled
    PARTIAL_FILL = "PARTIAL_FILL"  # the source has any fill (and every further fill)
    CANCEL = "CANCEL"  # the source ended canceled or expired with nothing filled
    REJECT = "REJECT"  # the source was rejected (nothing filled)


_VALID_ON: dict[EdgeKind, frozenset[EdgeOn]] = {
    EdgeKind.TRIGGER: frozenset(EdgeOn),
    EdgeKind.CANCEL: frozenset(EdgeOn),
    EdgeKind.REDUCE: frozenset({EdgeOn.FILL, EdgeOn.PARTIAL_FILL}),  # only fills have a size
}

_NEEDS_PRICE = frozenset({OrderType.LIMIT, OrderType.STOP, OrderType.TAKE_PROFIT})
_NEEDS_TRIGGER = frozenset(
    {OrderType.STOP, OrderType.STOP_MARKET, OrderType.TAKE_PROFIT, OrderType.TAKE_PROFIT_MARKET}
)


class OrderSpec(msgspec.Struct, frozen=True, kw_only=True):
    """What one leg sends: the fields of a :class:`~mmoms.core.commands.SubmitOrder` minus the
    id, the symbol and the time. Quantities and prices must already be on the symbol's grid."""

    side: Side
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None = None
    trigger_price: Decimal | None = None  # conditional types: Binance's algo service holds them
    time_in_force: TimeInForce | None = None
    reduce_only: bool = False
    position_side: PositionSide = PositionSide.BOTH
    working_type: WorkingType | None = None
    good_till_ms: int | None = None


class LegSpec(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    client_order_id: ClientOrderId  # of the leg's first venue order
    order: OrderSpec


class Edge(msgspec.Struct, frozen=True):
    """``source`` ``on`` → ``kind`` ``target``: e.g. ``Edge("a", "b", CANCEL, FILL)``."""

    source: str
    target: str
    kind: EdgeKind
    on: EdgeOn


class GroupOptions(msgspec.Struct, frozen=True, kw_only=True):
    flatten_overfill: bool = True  # send a MARKET order for fills beyond the design
    flatten_reduce_only: bool = True  # ...reduce-only (not in hedge mode, where Binance forbids it)
    # A LIMIT leg is resized by amending it in place; off (a venue without amend: the engine
    # sets it), by a new order and a cancel of the old one (make before break).
    amend_in_place: bool = True


class Group(msgspec.Struct, frozen=True, kw_only=True):
    """A frozen group spec. Build it with :mod:`mmoms.contingent.builders`, which validates."""

    group_id: GroupId
    symbol: Symbol
    kind: str  # "oco", "ouo", "oto", "otoco", "graph": for people; the edges are the truth
    legs: tuple[LegSpec, ...]
    edges: tuple[Edge, ...]
    options: GroupOptions = msgspec.field(default_factory=GroupOptions)

    def leg(self, name: str) -> LegSpec:
        """The leg called ``name``.

        Raises:
            KeyError: no such leg.
        """
        for leg in self.legs:
            if leg.name == name:
                return leg
        raise KeyError(name)


def leg_client_order_id(group_id: str, name: str) -> ClientOrderId:
    return ClientOrderId(f"{group_id}-{name}")


def slot_client_order_id(first: ClientOrderId, number: int) -> ClientOrderId:
    """The id of a leg's ``number``-th venue order (1 is the leg's own id)."""
    return first if number == 1 else ClientOrderId(f"{first}.{number}")


def flatten_client_order_id(group_id: str, number: int) -> ClientOrderId:
    return ClientOrderId(f"{group_id}-flat-{number}")


def check_group(group: Group) -> None:
    """Validate a group spec.

    Raises:
        GroupSpecError: the first problem found.
    """
    if not _GROUP_ID.match(group.group_id):
        raise GroupSpecError(f"group id {group.group_id!r} must match {_GROUP_ID.pattern}")
    if len(group.legs) < 1:
        raise GroupSpecError("a group needs at least one leg")
    names: set[str] = set()
    for leg in group.legs:
        if not _LEG_NAME.match(leg.name) or leg.name in _RESERVED:
            raise GroupSpecError(f"leg name {leg.name!r} must match {_LEG_NAME.pattern}")
        if leg.name in names:
            raise GroupSpecError(f"two legs called {leg.name!r}")
        names.add(leg.name)
        expected = leg_client_order_id(group.group_id, leg.name)
        if leg.client_order_id != expected:
            raise GroupSpecError(f"leg {leg.name!r} must use client order id {expected!r}")
        if len(slot_client_order_id(expected, MAX_SLOTS)) > _CID_MAX:
            raise GroupSpecError(f"ids of leg {leg.name!r} would exceed {_CID_MAX} characters")
        _check_order(leg.name, leg.order)
    for edge in group.edges:
        if edge.source not in names or edge.target not in names:
            raise GroupSpecError(f"edge {edge} names an unknown leg")
        if edge.source == edge.target:
            raise GroupSpecError(f"edge {edge} links a leg to itself")
        if edge.on not in _VALID_ON[edge.kind]:
            raise GroupSpecError(f"a {edge.kind.value} edge cannot fire on {edge.on.value}")
    if len(set(group.edges)) != len(group.edges):
        raise GroupSpecError("duplicate edge")
    _check_triggers(group, names)


def _check_order(name: str, o: OrderSpec) -> None:
    if not o.quantity.is_finite() or o.quantity <= 0:
        raise GroupSpecError(f"leg {name!r}: quantity must be positive, got {o.quantity}")
    if o.order_type is OrderType.TRAILING_STOP_MARKET:
        raise GroupSpecError(f"leg {name!r}: trailing stops are not supported in groups")
    if o.order_type in _NEEDS_PRICE and (o.price is None or o.price <= 0):
        raise GroupSpecError(f"leg {name!r}: a {o.order_type.value} order needs a price")
    if o.order_type not in _NEEDS_PRICE and o.price is not None:
        raise GroupSpecError(f"leg {name!r}: a {o.order_type.value} order takes no price")
    if o.order_type in _NEEDS_TRIGGER and (o.trigger_price is None or o.trigger_price <= 0):
        raise GroupSpecError(f"leg {name!r}: a {o.order_type.value} order needs a trigger price")
    if o.order_type not in _NEEDS_TRIGGER and o.trigger_price is not None:
        raise GroupSpecError(f"leg {name!r}: a {o.order_type.value} order takes no trigger price")
    if (o.good_till_ms is not None) != (o.time_in_force is TimeInForce.GTD):
        raise GroupSpecError(f"leg {name!r}: good_till_ms goes with GTD, and only with it")


def _check_triggers(group: Group, names: set[str]) -> None:
    parents: dict[str, set[str]] = {n: set() for n in names}
    for edge in group.edges:
        if edge.kind is EdgeKind.TRIGGER:
            parents[edge.target].add(edge.source)
    if all(parents[n] for n in names):
        raise GroupSpecError("every leg waits for a trigger: nothing would ever go live")
    state: dict[str, int] = {}  # 1 = on the path, 2 = done

    def visit(node: str) -> None:
        if state.get(node) == 2:
            return
        if state.get(node) == 1:
            raise GroupSpecError(f"TRIGGER edges form a cycle through {node!r}")
        state[node] = 1
        for parent in parents[node]:
            visit(parent)
        state[node] = 2

    for name in sorted(names):
        visit(name)
