"""One planning step, the machinery behind :func:`mmoms.contingent.planner.plan`.

A :class:`Step` holds a working copy of a group's state (frozen structs replaced one by one,
never mutated) and what it decided. ``ingest`` merges one event's facts and splits new fill into
allowed and excess; ``settle`` brings every leg to what the facts want, recording each command in
the state as it is issued; ``status`` moves the group's status. The rules it applies are in
:mod:`mmoms.contingent.rules`; the semantics, in the planner's docstring.

Hot path: a fill → sibling cancel costs a few microseconds here, so the code avoids generator
expressions and enum attribute lookups where it runs per event (see the comments).
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from mmoms.contingent.events import (
    AnyGroupEvent,
    FlattenFailed,
    GroupCanceled,
    GroupCompleted,
    GroupTriggered,
    OverfillDetected,
)
from mmoms.contingent.rules import (
    Index,
    cancel_fires,
    index_of,
    target,
    trigger_dead,
    trigger_fires,
)
from mmoms.contingent.spec import (
    MAX_SLOTS,
    Group,
    LegSpec,
    flatten_client_order_id,
    slot_client_order_id,
)
from mmoms.contingent.state import (
    ZERO,
    FlattenState,
    GroupState,
    GroupStatus,
    LegPhase,
    LegState,
    SlotState,
)
from mmoms.core.commands import AmendOrder, CancelOrder, SubmitOrder
from mmoms.core.enums import OrderStatus, OrderType, PositionSide, Side
from mmoms.core.events import OrderEvent, OrderFilled, OrderUpdated
from mmoms.core.ids import ClientOrderId

_replace = msgspec.structs.replace
# Enum members as globals: in Python 3.11 an enum attribute is a slow descriptor lookup.
_WAITING, _LIVE = LegPhase.WAITING, LegPhase.LIVE
_DONE, _DISCARDED = LegPhase.DONE, LegPhase.DISCARDED
_FILLED, _CANCELED = OrderStatus.FILLED, OrderStatus.CANCELED
_EXPIRED, _REJECTED = OrderStatus.EXPIRED, OrderStatus.REJECTED
_COMPLETED, _CANCELED_GROUP = GroupStatus.COMPLETED, GroupStatus.CANCELED
_CARRY_FILLED = (OrderFilled, OrderUpdated)  # the events that say the cumulative filled quantity
PlanCommand = SubmitOrder | CancelOrder | AmendOrder
Outcome = tuple[
    GroupState, tuple[PlanCommand, ...], tuple[AnyGroupEvent, ...], tuple[ClientOrderId, ...]
]


class Step:
    """One planning step: a working copy of the state, and what it decided."""

    __slots__ = (
        "canceling",
        "commands",
        "discarded",
        "events",
        "flatten_commands",
        "flattens",
        "ix",
        "legs",
        "state",
        "triggered",
        "ts",
    )

    def __init__(self, state: GroupState, ts_ns: int) -> None:
        self.state = state
        self.ix: Index = index_of(state.spec)
        self.ts = ts_ns
        self.legs = list(state.legs)
        self.flattens = list(state.flattens)
        self.canceling = state.canceling
        self.commands: list[PlanCommand] = []
        self.flatten_commands: list[SubmitOrder] = []
        self.events: list[AnyGroupEvent] = []
        self.discarded: list[ClientOrderId] = []
        self.triggered: list[int] = []

    # -- 1. ingest --------------------------------------------------------------------------

    def ingest(self, event: OrderEvent) -> bool:
        """Merge the event's facts; False if it taught nothing new."""
        cid = event.client_order_id
        i = self.ix.by_cid.get(cid)
        if i is None:
            i = self.ix.by_cid.get(ClientOrderId(cid.rpartition(".")[0]))  # a re-placement
        if i is None:
            return self._ingest_flatten(event)
        leg = self.legs[i]
        for j, slot in enumerate(leg.slots):  # noqa: B007 (j is used below)
            if slot.client_order_id == cid:
                break
        else:
            return False  # a leg never sent (its INACTIVE book order being discarded)
        filled = slot.filled
        if isinstance(event, _CARRY_FILLED) and event.filled_qty > filled:
            filled = event.filled_qty
        final = _merge_final(slot.final, event)
        if filled == slot.filled and final is slot.final:
            return False
        delta = filled - slot.filled
        allowed, excess = leg.allowed, leg.excess
        overfill = ZERO
        if delta > 0:
            # A leg is closed by a latch (set while it was live) or by a CANCEL edge that fires
            # now: a late fill of a leg that ended before its sibling filled is still excess.
            closed = leg.closed
            for a, on in self.ix.cancels[i]:
                closed = closed or cancel_fires(self.legs[a], on)
            room = ZERO if closed else target(self.ix, self.legs, i) - allowed
            if delta <= room:
                allowed += delta
            else:
                if room > 0:
                    allowed += room
                    delta -= room
                excess += delta
                overfill = delta
        slots = (*leg.slots[:j], _replace(slot, filled=filled, final=final), *leg.slots[j + 1 :])
        self.legs[i] = _replace(leg, slots=slots, allowed=allowed, excess=excess)
        if filled > slot.filled and (overfill or any(g.excess for g in self.legs)):
            # After an excess fill, and after any fill once there is excess (an allowed fill
            # can move the design away from where the excess left the position).
            flat_cid = self._flatten_beyond_design()
            if overfill:
                self._alert_overfill(i, cid, overfill, flat_cid)
        return True

    def _ingest_flatten(self, event: OrderEvent) -> bool:
        cid = event.client_order_id
        k = next((k for k, f in enumerate(self.flattens) if f.client_order_id == cid), None)
        if k is None:
            return False  # not an order of this group
        flat = self.flattens[k]
        filled = flat.filled
        if isinstance(event, _CARRY_FILLED) and event.filled_qty > filled:
            filled = event.filled_qty
        final = _merge_final(flat.final, event)
        if filled == flat.filled and final is flat.final:
            return False
        if flat.final is None and final is not None and filled < flat.quantity:
            self.events.append(
                FlattenFailed(
                    ts_ns=self.ts,
                    group_id=self.state.spec.group_id,
                    client_order_id=flat.client_order_id,
                    unfilled=flat.quantity - filled,
                )
            )
        self.flattens[k] = _replace(flat, filled=filled, final=final)
        return True

    def _flatten_beyond_design(self) -> ClientOrderId | None:
        """A flatten of what takes the group's net position beyond the design's size, if
        anything does and flattening is on; its client order id."""
        group = self.state.spec
        beyond = self._beyond_design()
        if not (group.options.flatten_overfill and beyond):
            return None
        # Charged to the leg with the most excess not flattened yet (the one that overfilled).
        flattened = {leg.name: ZERO for leg in self.legs}
        for flat in self.flattens:
            flattened[flat.leg] += flat.quantity
        k = max(
            range(len(self.legs)), key=lambda n: self.legs[n].excess - flattened[self.legs[n].name]
        )
        order = group.legs[k].order
        flat_cid = flatten_client_order_id(group.group_id, len(self.flattens) + 1)
        hedge = order.position_side is not PositionSide.BOTH  # reduceOnly not allowed there
        side = Side.SELL if beyond > 0 else Side.BUY
        self.flatten_commands.append(
            SubmitOrder(
                ts_ns=self.ts,
                client_order_id=flat_cid,
                symbol=group.symbol,
                side=side,
                order_type=OrderType.MARKET,
                quantity=abs(beyond),
                reduce_only=group.options.flatten_reduce_only and not hedge,
                position_side=order.position_side,
            )
        )
        self.flattens.append(
            FlattenState(
                client_order_id=flat_cid, leg=group.legs[k].name, side=side, quantity=abs(beyond)
            )
        )
        return flat_cid

    def _alert_overfill(
        self, i: int, cid: ClientOrderId, excess: Decimal, flat_cid: ClientOrderId | None
    ) -> None:
        group = self.state.spec
        self.events.append(
            OverfillDetected(
                ts_ns=self.ts,
                group_id=group.group_id,
                leg=group.legs[i].name,
                client_order_id=cid,
                excess=excess,
                flatten_client_order_id=flat_cid,
            )
        )

    def _beyond_design(self) -> Decimal:
        """How far the group's net position is beyond the largest the design allows now,
        signed by the side it is on (flattens already sent count as done); 0 when excess fills
        left it within — a straddle whose both sides filled is flat, and a "flatten" would
        open a position (and, reduce-only, be refused)."""
        spec = self.state.spec
        design = actual = ZERO
        for k, leg in enumerate(self.legs):
            sign = spec.legs[k].order.side.sign
            design += sign * leg.allowed
            actual += sign * (leg.allowed + leg.excess)
        for flat in self.flattens:
            actual += flat.side.sign * flat.quantity
        beyond = abs(actual) - abs(design)
        if beyond <= 0:
            return ZERO
        return beyond if actual > 0 else -beyond

    # -- 2. settle --------------------------------------------------------------------------

    def finish(self) -> Outcome:
        # Edges read a source's allowed fill (changed only by ingest) and whether it has
        # settled (DONE / DISCARDED). So only a leg settling can change another leg's decision;
        # legs after the last one that settled in a pass have seen every change, and the next
        # pass stops there. A leg settles once, so this ends.
        legs = self.legs
        upto = len(legs)
        while upto:
            last = -1
            for i in range(upto):
                leg = legs[i]
                if leg.phase is _WAITING:
                    if self._settle_waiting(i, leg):
                        last = i
                elif leg.phase is _LIVE and self._settle_live(i, leg):
                    last = i
            upto = last + 1
        status = self._status()
        state = _replace(
            self.state,
            status=status,
            legs=tuple(legs),
            flattens=tuple(self.flattens),
            canceling=self.canceling,
        )
        commands = (*self.commands, *self.flatten_commands)
        return state, commands, tuple(self.events), tuple(self.discarded)

    def _settle_waiting(self, i: int, leg: LegState) -> bool:
        """Send, discard or keep waiting; True if discarded (going live is invisible to edges)."""
        legs, ix = self.legs, self.ix
        if self.canceling:
            return self._discard(i, leg)
        for a, on in ix.cancels[i]:
            if cancel_fires(legs[a], on):
                return self._discard(i, leg)
        triggers = ix.triggers[i]
        for a, on in triggers:  # any dead trigger discards, even if another has not fired yet
            if trigger_dead(legs[a], on):
                return self._discard(i, leg)
        for a, on in triggers:
            if not trigger_fires(legs[a], on):
                return False
        quantity = target(ix, legs, i)
        if quantity <= 0:
            return self._discard(i, leg)  # reduced to nothing before it went live
        spec = ix.group.legs[i]
        self.commands.append(
            submit_command(ix.group, spec, spec.client_order_id, quantity, self.ts)
        )
        slot = SlotState(client_order_id=spec.client_order_id, quantity=quantity)
        legs[i] = _replace(leg, phase=_LIVE, slots=(slot,))
        if ix.triggers[i]:
            self.triggered.append(i)
        return False

    def _discard(self, i: int, leg: LegState) -> bool:
        self.legs[i] = _replace(leg, phase=_DISCARDED)
        self.discarded.append(self.ix.group.legs[i].client_order_id)
        return True

    def _settle_live(self, i: int, leg: LegState) -> bool:
        """Amend, re-place or cancel the leg's orders as its target says; True if it is DONE."""
        slots = leg.slots
        working = -1  # the newest open order we have not asked to cancel
        open_count = 0
        for j, s in enumerate(slots):
            if s.final is None:
                open_count += 1
                if not s.cancel_sent:
                    working = j
        if not open_count:
            self.legs[i] = _replace(leg, phase=_DONE)
            return True
        if not leg.closed:
            for a, on in self.ix.cancels[i]:
                if cancel_fires(self.legs[a], on):
                    leg = self.legs[i] = _replace(leg, closed=True)
                    break
        if leg.closed or self.canceling:
            self._cancel_open(i, leg)
            return False
        if working < 0:
            return False  # only orders being canceled: wait for their end
        slot = slots[working]
        want = target(self.ix, self.legs, i) - (leg.filled - slot.filled)
        if want <= slot.filled:  # nothing left for it: cancel (Binance would, on such an amend)
            self._cancel_open(i, _replace(leg, closed=True))
        elif want != slot.quantity:
            self._resize(i, leg, working, want)
        return False

    def _resize(self, i: int, leg: LegState, j: int, want: Decimal) -> None:
        """Bring order ``j`` of leg ``i`` to the total quantity ``want``."""
        slot = leg.slots[j]
        spec = self.ix.group.legs[i]
        if self.ix.amendable[i]:
            assert spec.order.price is not None  # a LIMIT leg has one (checked by check_group)
            self.commands.append(
                AmendOrder(
                    ts_ns=self.ts,
                    client_order_id=slot.client_order_id,
                    symbol=self.ix.group.symbol,
                    side=spec.order.side,
                    quantity=want,
                    price=spec.order.price,
                )
            )
            slots = (*leg.slots[:j], _replace(slot, quantity=want), *leg.slots[j + 1 :])
        elif len(leg.slots) < MAX_SLOTS:
            # Re-place: the new order first, then cancel the old one (make before break).
            cid = slot_client_order_id(spec.client_order_id, len(leg.slots) + 1)
            new_qty = want - slot.filled
            self.commands.append(submit_command(self.ix.group, spec, cid, new_qty, self.ts))
            self.commands.append(self._cancel(slot))
            old = _replace(slot, cancel_sent=True)
            new = SlotState(client_order_id=cid, quantity=new_qty)
            slots = (*leg.slots[:j], old, *leg.slots[j + 1 :], new)
        else:
            return  # out of ids (999 re-placements): leave the order as it is
        self.legs[i] = _replace(leg, slots=slots)

    def _cancel_open(self, i: int, leg: LegState) -> None:
        """Cancel every open order of the leg not already being canceled."""
        slots = leg.slots
        for j, s in enumerate(slots):
            if s.final is None and not s.cancel_sent:
                self.commands.append(self._cancel(s))
                slots = (*slots[:j], _replace(s, cancel_sent=True), *slots[j + 1 :])
        self.legs[i] = leg if slots is leg.slots else _replace(leg, slots=slots)

    def _cancel(self, slot: SlotState) -> CancelOrder:
        return CancelOrder(
            ts_ns=self.ts, client_order_id=slot.client_order_id, symbol=self.ix.group.symbol
        )

    # -- 3. the group's status ----------------------------------------------------------------

    def _status(self) -> GroupStatus:
        group = self.ix.group
        status = self.state.status
        if self.triggered:
            specs = [group.legs[i] for i in self.triggered]
            self.events.append(
                GroupTriggered(
                    ts_ns=self.ts,
                    group_id=group.group_id,
                    legs=tuple(s.name for s in specs),
                    client_order_ids=tuple(s.client_order_id for s in specs),
                )
            )
            if status is GroupStatus.ACTIVE:
                status = GroupStatus.TRIGGERED
        traded = False
        settled = True
        for leg in self.legs:
            traded = traded or leg.allowed > 0
            settled = settled and (leg.phase is _DONE or leg.phase is _DISCARDED)
        for flat in self.flattens:
            settled = settled and flat.final is not None
        if status is _COMPLETED:
            return status
        if status is _CANCELED_GROUP:
            if traded:  # a late fill is a fact
                self.events.append(GroupCompleted(ts_ns=self.ts, group_id=group.group_id))
                return _COMPLETED
            return status
        if settled:
            if traded:
                self.events.append(GroupCompleted(ts_ns=self.ts, group_id=group.group_id))
                return _COMPLETED
            self.events.append(GroupCanceled(ts_ns=self.ts, group_id=group.group_id))
            return _CANCELED_GROUP
        return status


def _merge_final(current: OrderStatus | None, event: OrderEvent) -> OrderStatus | None:
    status = event.status
    if status is _FILLED:
        # Only from an event that carries the filled quantity: FILLED must come with its fill.
        return _FILLED if isinstance(event, _CARRY_FILLED) else current
    if current is None and (status is _CANCELED or status is _EXPIRED or status is _REJECTED):
        return status
    return current


def submit_command(
    group: Group, spec: LegSpec, cid: ClientOrderId, quantity: Decimal, ts_ns: int
) -> SubmitOrder:
    o = spec.order
    return SubmitOrder(
        ts_ns=ts_ns,
        client_order_id=cid,
        symbol=group.symbol,
        side=o.side,
        order_type=o.order_type,
        quantity=quantity,
        price=o.price,
        time_in_force=o.time_in_force,
        reduce_only=o.reduce_only,
        position_side=o.position_side,
        good_till_ms=o.good_till_ms,
        trigger_price=o.trigger_price,
        working_type=o.working_type,
    )
