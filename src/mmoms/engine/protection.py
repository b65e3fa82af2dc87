"""What the engine does when a group's protective stop is refused by the venue. Pure.

The contingency planner (:mod:`mmoms.contingent`) decides from order events alone; it sees a
rejected stop as a leg that ended. But a bracket whose entry filled and whose stop the venue
refused holds a position nobody protects — the one state mmoms must never leave as it is.
This module is the part of group planning that needs the venue's final answer:

* A *protective stop* is a reduce-only STOP / STOP_MARKET leg that a position-opening leg
  TRIGGERs (bracket, OTOCO; the same notion as :mod:`mmoms.engine.group_watch`).
* It is *lost* when one of its orders ends REJECTED with nothing filled — a definite "no" from
  the venue, or a follow-up the venue never saw after every re-send was spent (the engine
  re-sends a follow-up whose outcome was unknown and that a query proves absent) — while the
  group is not being canceled, the leg was not closed by its own rules (the take-profit filled
  first) and the group's opening legs hold a position its exits have not taken back out.
* Then: a :class:`ProtectionFailed` alert, and — by default — the group is canceled (the
  take-profit and the entry's remainder: no more entry, no exit left behind) and the position
  is flattened with a reduce-only MARKET order ``<group>-flat-p<n>``, which is what the stop
  would have done had it triggered (the commonest refusal, Binance -2021, means the price is
  already through the stop). Reduce-only: it can close the position, never flip it. With
  ``OmsConfig.flatten_unprotected = False`` it is an alert only and a person decides.

The flatten is tracked by the engine, not by the group's state (its id is apart from the
group planner's ``<group>-flat-<n>``): it carries the group id in the book, so after a restart it is
recognised by its id alone, and it ending unfilled raises :class:`~mmoms.contingent.FlattenFailed`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from mmoms.contingent.events import FlattenFailed, GroupEvent
from mmoms.contingent.spec import EdgeKind, Group
from mmoms.contingent.state import GroupState
from mmoms.core.commands import SubmitOrder
from mmoms.core.enums import OrderStatus, OrderType
from mmoms.core.events import OrderEvent, OrderRejected
from mmoms.core.ids import ClientOrderId, GroupId
from mmoms.core.order import Order

_ZERO = Decimal(0)
_STOPS = frozenset({OrderType.STOP, OrderType.STOP_MARKET})
_MARK = "-flat-p"  # <group>-flat-p<n>: never a group planner id (those are <group>-flat-<digits>)


class ProtectionFailed(GroupEvent, frozen=True, tag=True, kw_only=True):
    """An alert: the venue refused the group's protective stop ``client_order_id`` while the
    group held ``exposed``. ``flatten_client_order_id`` takes it out (None: flattening is off)."""

    client_order_id: ClientOrderId
    reason: str
    exposed: Decimal
    flatten_client_order_id: ClientOrderId | None = None


@dataclass(frozen=True, slots=True)
class Reaction:
    alert: ProtectionFailed
    flatten: SubmitOrder | None  # reduce-only MARKET for the exposed quantity


def protective_stops(group: Group) -> frozenset[str]:
    """Names of the legs that protect a position: reduce-only stops an opening leg triggers."""
    orders = {leg.name: leg.order for leg in group.legs}
    return frozenset(
        e.target
        for e in group.edges
        if e.kind is EdgeKind.TRIGGER
        and not orders[e.source].reduce_only
        and orders[e.target].reduce_only
        and orders[e.target].order_type in _STOPS
    )


def exposed(state: GroupState) -> Decimal:
    """The position the group's design holds now: opening legs' allowed fills minus its exits'
    (excess fills are the overfill flattens' business)."""
    net = _ZERO
    for spec, leg in zip(state.spec.legs, state.legs, strict=True):
        net += -leg.allowed if spec.order.reduce_only else leg.allowed
    return net


def on_rejected(
    state: GroupState, event: OrderRejected, order: Order, *, flatten: bool
) -> Reaction | None:
    """The reaction to ``event`` (an order of the group ended REJECTED), or None if it does not
    leave a position unprotected. ``state`` is the group's state after the group planner saw it."""
    group = state.spec
    if state.canceling or state.status.is_terminal or order.filled_qty > 0:
        return None
    leg_name = _leg_of(group.group_id, event.client_order_id)
    if leg_name not in protective_stops(group):
        return None
    if state.leg(leg_name).closed:
        return None  # its own rules ended it (the take-profit filled): nothing to protect
    at_risk = exposed(state)
    if at_risk <= 0:
        return None
    flatten_cmd = None
    if flatten:
        flatten_cmd = SubmitOrder(
            ts_ns=event.ts_ns,
            client_order_id=flatten_id(group.group_id, order.client_order_id),
            symbol=group.symbol,
            side=order.side,  # the stop's side: the position's other side
            order_type=OrderType.MARKET,
            quantity=at_risk,
            reduce_only=True,
            position_side=order.position_side,
        )
    alert = ProtectionFailed(
        ts_ns=event.ts_ns,
        group_id=group.group_id,
        client_order_id=event.client_order_id,
        reason=event.reason,
        exposed=at_risk,
        flatten_client_order_id=None if flatten_cmd is None else flatten_cmd.client_order_id,
    )
    return Reaction(alert, flatten_cmd)


def flatten_id(group_id: GroupId, stop_cid: ClientOrderId) -> ClientOrderId:
    """One flatten per refused stop order: ``<group>-flat-p<n>``, n the stop's re-placement
    number (1 for the leg's own order), so the id is stable across restarts and replays."""
    _, dot, number = stop_cid.rpartition(".")
    return ClientOrderId(f"{group_id}{_MARK}{number if dot and number.isdigit() else 1}")


def is_protection_flatten(group_id: str, cid: str) -> bool:
    return cid.startswith(f"{group_id}{_MARK}")


def flatten_failed(event: OrderEvent, order: Order) -> FlattenFailed | None:
    """A protection flatten that ended with quantity left: the position is still on."""
    if not event.status.is_terminal or event.status is OrderStatus.FILLED:
        return None
    if order.group_id is None:
        return None
    return FlattenFailed(
        ts_ns=event.ts_ns,
        group_id=order.group_id,
        client_order_id=order.client_order_id,
        unfilled=order.quantity - order.filled_qty,
    )


def _leg_of(group_id: str, cid: str) -> str:
    """``<group>-<leg>`` or ``<group>-<leg>.<n>`` → ``<leg>``."""
    return cid[len(group_id) + 1 :].split(".", 1)[0]


__all__ = [
    "ProtectionFailed",
    "Reaction",
    "exposed",
    "flatten_failed",
    "flatten_id",
    "is_protection_flatten",
    "on_rejected",
    "protective_stops",
]
