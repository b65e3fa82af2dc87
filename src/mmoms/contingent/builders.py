"""Building groups: the generic :func:`graph` and the named constructors over it.

Every constructor returns a validated, frozen :class:`~mmoms.contingent.spec.Group`. The named
ones only choose legs and edges; the planner knows nothing of "OCO" or "bracket". The edges each
one adds are listed in its docstring and in ``docs/contingent-orders.md``.

Money is checked at the call (:func:`mmoms.core.validation.check_money`): a float price raises
:class:`~mmoms.core.errors.InvalidOrderError` here, not in the engine minutes later.

Leg names (and so client order ids ``<group>-<name>``): OCO / OUO legs ``a``, ``b``, ``c``...;
OTO ``parent`` and ``c1``, ``c2``...; OTOCO / bracket ``entry``, ``sl``, ``tp``. The bracket lists
the stop before the take-profit so a plan that activates both sends the stop first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from itertools import permutations

from mmoms.contingent.spec import (
    Edge,
    EdgeKind,
    EdgeOn,
    Group,
    GroupOptions,
    GroupSpecError,
    LegSpec,
    OrderSpec,
    check_group,
    leg_client_order_id,
)
from mmoms.core.enums import OrderType, PositionSide, Side, TimeInForce, WorkingType
from mmoms.core.ids import GroupId, Symbol
from mmoms.core.validation import check_enum, check_money

K, On = EdgeKind, EdgeOn

# -- order specs ----------------------------------------------------------------------------


def limit(
    side: Side,
    quantity: Decimal,
    price: Decimal,
    *,
    time_in_force: TimeInForce = TimeInForce.GTC,
    reduce_only: bool = False,
    position_side: PositionSide = PositionSide.BOTH,
    good_till_ms: int | None = None,
) -> OrderSpec:
    return OrderSpec(
        side=check_enum("side", side, Side),
        order_type=OrderType.LIMIT,
        quantity=check_money("quantity", quantity),
        price=check_money("price", price),
        time_in_force=time_in_force,
        reduce_only=reduce_only,
        position_side=position_side,
        good_till_ms=good_till_ms,
    )


def market(
    side: Side,
    quantity: Decimal,
    *,
    reduce_only: bool = False,
    position_side: PositionSide = PositionSide.BOTH,
) -> OrderSpec:
    return OrderSpec(
        side=check_enum("side", side, Side),
        order_type=OrderType.MARKET,
        quantity=check_money("quantity", quantity),
        reduce_only=reduce_only,
        position_side=position_side,
    )


def stop_market(
    side: Side,
    quantity: Decimal,
    trigger_price: Decimal,
    *,
    reduce_only: bool = False,
    working_type: WorkingType | None = None,
    position_side: PositionSide = PositionSide.BOTH,
) -> OrderSpec:
    """A STOP_MARKET order: Binance holds it in its algo service until the trigger price."""
    return OrderSpec(
        side=check_enum("side", side, Side),
        order_type=OrderType.STOP_MARKET,
        quantity=check_money("quantity", quantity),
        trigger_price=check_money("trigger_price", trigger_price),
        reduce_only=reduce_only,
        working_type=working_type,
        position_side=position_side,
    )


# -- groups ---------------------------------------------------------------------------------


def graph(
    group_id: str,
    symbol: Symbol,
    legs: Mapping[str, OrderSpec],
    edges: Iterable[Edge],
    *,
    kind: str = "graph",
    options: GroupOptions | None = None,
) -> Group:
    """Any group: named legs (in the order given) and edges between them.

    Raises:
        GroupSpecError: invalid ids, legs or edges (see :func:`check_group`).
    """
    group = Group(
        group_id=GroupId(group_id),
        symbol=symbol,
        kind=kind,
        legs=tuple(
            LegSpec(name=name, client_order_id=leg_client_order_id(group_id, name), order=spec)
            for name, spec in legs.items()
        ),
        edges=tuple(edges),
        options=options or GroupOptions(),
    )
    check_group(group)
    return group


def oco(
    group_id: str,
    symbol: Symbol,
    legs: Sequence[OrderSpec],
    *,
    cancel_on_first_fill: bool = False,
    options: GroupOptions | None = None,
) -> Group:
    """One cancels the others. For every ordered pair of legs (x, y):

    * default: ``x PARTIAL_FILL → REDUCE y`` and ``x FILL → CANCEL y`` (OUO, then cancel);
    * ``cancel_on_first_fill``: ``x PARTIAL_FILL → CANCEL y``.

    Raises:
        GroupSpecError: fewer than two legs, or an invalid spec.
    """
    names = _names(legs, "oco")
    if cancel_on_first_fill:
        edges = [Edge(x, y, K.CANCEL, On.PARTIAL_FILL) for x, y in permutations(names, 2)]
    else:
        edges = [
            e
            for x, y in permutations(names, 2)
            for e in (Edge(x, y, K.REDUCE, On.PARTIAL_FILL), Edge(x, y, K.CANCEL, On.FILL))
        ]
    return graph(
        group_id, symbol, dict(zip(names, legs, strict=True)), edges, kind="oco", options=options
    )


def ouo(
    group_id: str, symbol: Symbol, legs: Sequence[OrderSpec], *, options: GroupOptions | None = None
) -> Group:
    """One updates the others: ``x PARTIAL_FILL → REDUCE y`` for every ordered pair. A sibling
    reduced to its own filled quantity is canceled.

    Raises:
        GroupSpecError: fewer than two legs, or an invalid spec.
    """
    names = _names(legs, "ouo")
    edges = [Edge(x, y, K.REDUCE, On.PARTIAL_FILL) for x, y in permutations(names, 2)]
    return graph(
        group_id, symbol, dict(zip(names, legs, strict=True)), edges, kind="ouo", options=options
    )


def oto(
    group_id: str,
    symbol: Symbol,
    parent: OrderSpec,
    children: Sequence[OrderSpec],
    *,
    partial_trigger: bool = False,
    options: GroupOptions | None = None,
) -> Group:
    """One triggers the others. For each child ``c``:

    * ``parent FILL → TRIGGER c`` (or ``PARTIAL_FILL`` with ``partial_trigger``: the child goes
      live at the first fill, sized to the parent's filled quantity, and follows it);
    * ``parent CANCEL → CANCEL c`` and ``parent REJECT → CANCEL c``.

    Raises:
        GroupSpecError: no children, or an invalid spec.
    """
    if not children:
        raise GroupSpecError("an OTO needs at least one child")
    names = [f"c{i}" for i in range(1, len(children) + 1)]
    legs = {"parent": parent} | dict(zip(names, children, strict=True))
    return graph(
        group_id,
        symbol,
        legs,
        _children_edges("parent", names, partial_trigger),
        kind="oto",
        options=options,
    )


def otoco(
    group_id: str,
    symbol: Symbol,
    entry: OrderSpec,
    take_profit: OrderSpec,
    stop_loss: OrderSpec,
    *,
    partial_trigger: bool = True,
    options: GroupOptions | None = None,
) -> Group:
    """Entry, then take-profit and stop-loss linked OUO. Edges:

    * ``entry PARTIAL_FILL → TRIGGER sl, tp`` (``FILL`` without ``partial_trigger``), and
      ``entry CANCEL / REJECT → CANCEL sl, tp``;
    * ``sl ↔ tp``: ``PARTIAL_FILL → REDUCE`` and ``FILL → CANCEL`` (OUO, then cancel);
    * ``sl, tp PARTIAL_FILL → CANCEL entry``: once the position is being closed, no more entry
      (fills that race that cancel are an overfill, flattened).

    Partial trigger is the default: with it every entry fill is protected in the same plan.

    Raises:
        GroupSpecError: an exit on the entry's side, or an invalid spec.
    """
    if take_profit.side is entry.side or stop_loss.side is entry.side:
        raise GroupSpecError("take-profit and stop-loss must be on the other side of the entry")
    edges = _children_edges("entry", ["sl", "tp"], partial_trigger)
    for x, y in (("sl", "tp"), ("tp", "sl")):
        edges += [Edge(x, y, K.REDUCE, On.PARTIAL_FILL), Edge(x, y, K.CANCEL, On.FILL)]
    edges += [Edge(x, "entry", K.CANCEL, On.PARTIAL_FILL) for x in ("sl", "tp")]
    legs = {"entry": entry, "sl": stop_loss, "tp": take_profit}
    return graph(group_id, symbol, legs, edges, kind="otoco", options=options)


def bracket(
    group_id: str,
    symbol: Symbol,
    side: Side,
    quantity: Decimal,
    *,
    take_profit_price: Decimal,
    stop_price: Decimal,
    entry_price: Decimal | None = None,
    time_in_force: TimeInForce = TimeInForce.GTC,
    working_type: WorkingType = WorkingType.MARK_PRICE,
    partial_trigger: bool = True,
    options: GroupOptions | None = None,
) -> Group:
    """An OTOCO with the usual orders: entry (LIMIT at ``entry_price``, MARKET without one),
    take-profit LIMIT reduce-only, stop-loss STOP_MARKET reduce-only (Binance algo order),
    triggered by the mark price by default (a stop should not fire on one print of a thin book).

    Raises:
        GroupSpecError: prices on the wrong side (a long needs stop < entry < take-profit), or
            an invalid spec.
    """
    side = check_enum("side", side, Side)
    take_profit_price = check_money("take_profit_price", take_profit_price)
    stop_price = check_money("stop_price", stop_price)
    if entry_price is not None:
        entry_price = check_money("entry_price", entry_price)
    sign = side.sign
    if (take_profit_price - stop_price) * sign <= 0:
        raise GroupSpecError("the take-profit must be beyond the stop on the profit side")
    if entry_price is not None and not (
        (entry_price - stop_price) * sign > 0 and (take_profit_price - entry_price) * sign > 0
    ):
        raise GroupSpecError("the entry must lie between the stop and the take-profit")
    entry = (
        market(side, quantity)
        if entry_price is None
        else limit(side, quantity, entry_price, time_in_force=time_in_force)
    )
    exit_side = side.opposite
    take_profit = limit(exit_side, quantity, take_profit_price, reduce_only=True)
    stop_loss = stop_market(
        exit_side, quantity, stop_price, reduce_only=True, working_type=working_type
    )
    return otoco(
        group_id,
        symbol,
        entry,
        take_profit,
        stop_loss,
        partial_trigger=partial_trigger,
        options=options,
    )


def _names(legs: Sequence[OrderSpec], what: str) -> list[str]:
    if len(legs) < 2:
        raise GroupSpecError(f"an {what.upper()} needs at least two legs")
    if len(legs) > 26:
        raise GroupSpecError(f"an {what.upper()} takes at most 26 legs")
    return [chr(ord("a") + i) for i in range(len(legs))]


def _children_edges(parent: str, children: Sequence[str], partial: bool) -> list[Edge]:
    on = On.PARTIAL_FILL if partial else On.FILL
    return [
        e
        for c in children
        for e in (
            Edge(parent, c, K.TRIGGER, on),
            Edge(parent, c, K.CANCEL, On.CANCEL),
            Edge(parent, c, K.CANCEL, On.REJECT),
        )
    ]
