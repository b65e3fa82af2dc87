"""The contingency planner: ``plan(event, state) → Plan(new state, commands, events)``. Pure.

The engine (the single writer) feeds it every core order event about a group's orders and acts
on the plan: it journals the new state, the commands (transactional outbox) and the group events
in one write, then sends. The planner does no I/O, reads no clock (commands carry the event's
``ts_ns``) and never mutates its input, so a plan re-run on the same input is the same plan.

How it decides — *facts in, differences out*:

1. **Ingest.** An event can only raise what is known about one venue order: its cumulative
   filled quantity (a maximum: duplicates and stale reports change nothing, ``last_qty`` is never
   added) and its final status (a fill is a fact: FILLED overrides an earlier CANCELED). New
   filled quantity is split at once into *allowed* (up to what the leg's target leaves) and
   *excess*; excess is an overfill: an :class:`OverfillDetected` alert and, by default, a
   reduce-only MARKET order ``<group>-flat-<n>`` on the other side.
2. **Settle.** Each leg's wanted state is derived from the facts (see :mod:`.rules`) and compared
   with what was already asked for: a waiting leg whose triggers all fire is submitted at its
   target; a live leg whose target moved is amended (LIMIT: Binance modify, new total quantity)
   or re-placed (others: the stop is in Binance's algo service and cannot be modified — the new
   order ``<leg>.<n>`` is sent *before* the old one is canceled, so a position is never
   unprotected, and a double fill is caught as an overfill); a leg whose target fell to its
   filled quantity, or whose CANCEL edge fired, is canceled. Repeated until nothing changes.
3. **Record.** Every command issued is recorded in the state (slot created, quantity asked,
   cancel sent), so the same facts never issue it twice: re-feeding events to a state restored
   from the journal issues nothing.

Semantics of the named groups (the table is also in ``docs/contingent-orders.md``):

=============  ==============================================================================
event          effect
=============  ==============================================================================
OCO leg fill   default: siblings amended down by the fill (OUO); canceled when the leg is FILLED.
               ``cancel_on_first_fill``: siblings canceled at the first fill
OUO leg fill   siblings amended down by the fill; a sibling reduced to its own fill is canceled
OTO parent     full trigger: children sent when the parent is FILLED (or ends after a partial
fill           fill, sized to it); partial trigger: children sent at the first fill, sized to
               the parent's filled quantity, amended up as it fills more
OTOCO entry    stop-loss and take-profit sent *in the plan of the fill* (partial trigger default);
fill           they are linked OUO: a fill of one reduces the other, FILLED cancels it
OTOCO exit     the entry's remainder is canceled (no more entry once closing started)
parent ends    canceled, expired or rejected with nothing filled: children discarded (never sent)
unfilled
both legs      the later fill is excess: OverfillDetected + flatten ``<group>-flat-<n>``
filled (race)
-2011 / late   a fill for an order we asked to cancel is applied like any fill (no error)
fill
=============  ==============================================================================

A group is COMPLETED when nothing of it works any more and something was filled, CANCELED when
nothing was. Status never moves back, except CANCELED → COMPLETED when a late fill proves the
group did trade.
"""

from __future__ import annotations

import msgspec

from mmoms.contingent.events import AnyGroupEvent
from mmoms.contingent.spec import Group
from mmoms.contingent.state import GroupState, LegPhase, new_state
from mmoms.contingent.step import PlanCommand, Step, submit_command
from mmoms.core.commands import SubmitOrder
from mmoms.core.events import OrderEvent
from mmoms.core.ids import ClientOrderId

__all__ = ["Plan", "PlanCommand", "cancel_group", "plan", "start", "waiting_orders"]


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    """What to do after one input. ``state is`` the input state when nothing changed.

    ``commands`` are in the order they should leave. ``discarded``: legs that will never be
    sent; the engine marks their INACTIVE book orders CANCELED (no request goes out).
    """

    state: GroupState
    commands: tuple[PlanCommand, ...] = ()
    events: tuple[AnyGroupEvent, ...] = ()
    discarded: tuple[ClientOrderId, ...] = ()


def start(group: Group, ts_ns: int) -> Plan:
    """The first plan of a new group: its root legs (no TRIGGER edge) are submitted."""
    return _plan(Step(new_state(group), ts_ns))


def plan(event: OrderEvent, state: GroupState) -> Plan:
    """Apply one core order event about one of the group's orders.

    Events about other orders, and events that teach nothing new (duplicates, stale reports),
    return ``Plan(state=state)``: same state object, no commands.
    """
    step = Step(state, event.ts_ns)
    if not step.ingest(event):
        return Plan(state=state)
    return _plan(step)


def cancel_group(state: GroupState, ts_ns: int) -> Plan:
    """Cancel the whole group: working orders canceled, waiting legs discarded. Fills that race
    these cancels are within the design (not an overfill). Idempotent."""
    if state.canceling:
        return Plan(state=state)
    step = Step(state, ts_ns)
    step.canceling = True
    return _plan(step)


def waiting_orders(state: GroupState, ts_ns: int) -> list[SubmitOrder]:
    """Each WAITING leg as the order it would be (at its full quantity): for the engine to track
    in its book as INACTIVE until the plan submits it."""
    return [
        submit_command(state.spec, spec, spec.client_order_id, spec.order.quantity, ts_ns)
        for spec, leg in zip(state.spec.legs, state.legs, strict=True)
        if leg.phase is LegPhase.WAITING
    ]


def _plan(step: Step) -> Plan:
    state, commands, events, discarded = step.finish()
    return Plan(state=state, commands=commands, events=events, discarded=discarded)
