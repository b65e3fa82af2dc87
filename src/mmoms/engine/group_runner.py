"""Contingent groups inside the engine loop: intents, plans, and the protection guard.

* A ``PlaceGroup`` is journaled, risk-checked whole (a group counts once: its worst case), and
  its first plan applied; a ``CancelGroup`` applies the group planner's cancel plan.
* Every order event of a group's order goes to the pure planner (:mod:`mmoms.contingent`). A
  plan that changes something is journaled in the same batch as the report that caused it —
  new state, group events, commands — and its commands leave right after that commit, without
  waiting for the quoting window. Follow-ups (stops, sibling cancels, flattens) go to the
  outbox with the fill that caused them, so a restart completes them.
* A protective stop the venue refuses, while the group holds a position, raises an alert and
  (by default) cancels the group and flattens (:mod:`mmoms.engine.protection`).
"""

from __future__ import annotations

import msgspec

from mmoms.contingent import (
    AnyGroupEvent,
    CancelGroup,
    PlaceGroup,
    Plan,
    cancel_group,
    decode_state,
    encode_state,
    group_exposure,
    waiting_orders,
)
from mmoms.contingent import plan as plan_group
from mmoms.contingent import start as start_group
from mmoms.contingent.exposure import GroupExposure
from mmoms.core.clock import Clock
from mmoms.core.commands import AmendOrder, CancelOrder, SubmitOrder
from mmoms.core.enums import OrderStatus, Side
from mmoms.core.events import OrderEvent, OrderRejected
from mmoms.core.fsm import Trigger
from mmoms.core.ids import StrategyId
from mmoms.core.snapshot import decode_snapshot
from mmoms.engine.batcher import Flight
from mmoms.engine.book_writer import BookWriter
from mmoms.engine.config import OmsConfig
from mmoms.engine.group_watch import GroupWatch
from mmoms.engine.groups import GroupBook
from mmoms.engine.local_stops import LocalStops
from mmoms.engine.messages import Decisions, GroupIntentMsg, GroupOrderEvent, Send
from mmoms.engine.metrics import ActionTimings
from mmoms.engine.protection import (
    ProtectionFailed,
    flatten_failed,
    is_protection_flatten,
    on_rejected,
)
from mmoms.engine.quote_planner import Rejection
from mmoms.engine.risk import RiskEngine, RiskRejection
from mmoms.engine.strategy_limits import StrategyRisk
from mmoms.journal.records import GroupRecorded, decode_entry
from mmoms.journal.store import JournalStore

__all__ = ["GroupRunner"]


class GroupRunner:
    def __init__(
        self,
        book_writer: BookWriter,
        groups: GroupBook,
        local_stops: LocalStops,
        risk: RiskEngine,
        watch: GroupWatch,
        timings: ActionTimings,
        config: OmsConfig,
        clock: Clock,
        limits: StrategyRisk,
        *,
        venue_amends: bool,
    ) -> None:
        self._writer = book_writer
        self._risk = risk
        self._stops = local_stops
        self._timings = timings
        self._cfg = config
        self._clock = clock
        self.groups = groups
        self.watch = watch
        self.limits = limits  # the quote planner's per-strategy limits (shares its window)
        self._venue_amends = venue_amends  # else a leg is resized by a new order and a cancel

    # -- intents ----------------------------------------------------------------------------------

    def on_intent(self, msg: GroupIntentMsg) -> Decisions:
        intent = msg.intent
        if isinstance(intent, PlaceGroup):
            options = intent.group.options  # what the engine's config and the venue allow
            if not self._cfg.flatten_overfill or not self._venue_amends:
                options = msgspec.structs.replace(
                    options,
                    flatten_overfill=options.flatten_overfill and self._cfg.flatten_overfill,
                    amend_in_place=options.amend_in_place and self._venue_amends,
                )
                group = msgspec.structs.replace(intent.group, options=options)
                intent = msgspec.structs.replace(intent, group=group)
        group_id = intent.group.group_id if isinstance(intent, PlaceGroup) else intent.group_id
        self._writer.journal.record(
            GroupRecorded(
                kind="intent",
                group_id=group_id,
                strategy_id=intent.strategy_id,
                payload=msgspec.Raw(msgspec.json.encode(intent)),
            ),
            group_id,
        )
        if isinstance(intent, CancelGroup):
            state = self.groups.get(group_id)
            return [] if state is None else self.apply_plan(cancel_group(state, self._writer.now))
        whose = (intent.strategy_id, intent.group.symbol)
        if group_id in self.groups:
            refusal = RiskRejection("group", f"group {group_id} already exists")
            self._writer.reject(Rejection(refusal, None, None, *whose))
            return []
        plan = start_group(intent.group, self._writer.now)
        # The group passes risk as one position: its worst case, not the sum of its legs.
        reference = self._risk.reference_prices.get(intent.group.symbol)
        exposure = group_exposure(plan.state, reference)
        sent_now = [c for c in plan.commands if isinstance(c, SubmitOrder)]
        rejection = self._strategy_check(intent, exposure, len(sent_now)) or self._risk.check_group(
            self._writer.book, intent.group, exposure, sent_now
        )
        if rejection is not None:
            self._writer.reject(Rejection(rejection, None, None, *whose))
            return []
        out = self.apply_plan(plan, intent.strategy_id)
        # The legs waiting for their trigger are in the book too, INACTIVE: the strategy sees
        # the whole group from the start, and each leg's story begins when the group does.
        for cmd in waiting_orders(plan.state, self._writer.now):
            if self._writer.book.get(cmd.symbol, cmd.client_order_id) is None:
                self._writer.create(
                    cmd, strategy_id=intent.strategy_id, tag=None, group_id=group_id, inactive=True
                )
        return out

    def _strategy_check(
        self, intent: PlaceGroup, exposure: GroupExposure, sent_now: int
    ) -> RiskRejection | None:
        """The strategy's own limits (see :mod:`.strategy_limits`): the group's worst case."""
        limits, symbol = self.limits, intent.group.symbol
        if not limits.applies(intent.strategy_id, symbol):
            return None
        sides = [(Side.BUY, exposure.buy_qty), (Side.SELL, exposure.sell_qty)]
        for i, (side, qty) in enumerate(sides):
            count = sent_now if i == 0 else 0  # the orders are counted once, with the first side
            refusal = limits.check(
                self._writer.book, intent.strategy_id, symbol, side, qty, new_orders=count
            )
            if refusal is not None:
                return refusal
        return None

    # -- plans ------------------------------------------------------------------------------------

    def apply_plan(
        self, plan: Plan, strategy_id: StrategyId | None = None, *, followup: bool = False
    ) -> Decisions:
        """Journal a group's new state, events and commands in this batch; the commands go on
        the wire right after the commit, in the plan's order, without waiting for a window.
        Follow-ups (protective stops, sibling cancels, flattens) are not risk-checked: they only
        ever reduce exposure, and blocking them would leave a position unprotected. They go to
        the outbox with the fill that caused them (one commit), so a restart completes them."""
        writer, journal = self._writer, self._writer.journal
        out: Decisions = []
        state = plan.state
        group_id = state.spec.group_id
        self.groups.put(state, strategy_id)
        strategy_id = self.groups.strategy(group_id)
        journal.record(
            GroupRecorded(
                kind="state",
                group_id=group_id,
                strategy_id=strategy_id,
                payload=msgspec.Raw(encode_state(state)),
            ),
            group_id,
        )
        for event in plan.events:
            journal.record(
                GroupRecorded(
                    kind="event", group_id=group_id, payload=msgspec.Raw(msgspec.json.encode(event))
                ),
                group_id,
            )
            writer.notifications.append(event)
        decided = self._clock.monotonic_ns()
        for event in plan.events:
            self.watch.group_event(event, decided)
        for cid in plan.discarded:  # legs that will never be sent: their INACTIVE orders end
            order = writer.book.get(state.spec.symbol, cid)
            if order is not None and order.status is OrderStatus.INACTIVE:
                writer.mark(order, Trigger.CANCELED, "group leg discarded: never sent")
        for cmd in plan.commands:
            order = writer.book.get(cmd.symbol, cmd.client_order_id)
            if isinstance(cmd, SubmitOrder):
                held = self._stops.holds(cmd)  # the venue holds no stops: held here
                if order is None:
                    writer.create(
                        cmd, strategy_id=strategy_id or StrategyId(""), tag=None,
                        group_id=group_id, inactive=held,
                    )  # fmt: skip
                elif order.status is not OrderStatus.INACTIVE or self._stops.is_armed(
                    cmd.symbol, cmd.client_order_id
                ):
                    continue  # already sent (or armed): a plan is never executed twice
                elif not held:
                    writer.mark(order, Trigger.SUBMIT, "group leg triggered")
                if held:
                    self._stops.arm(cmd)
                    continue
                self._timings.start(cmd.client_order_id, decided, decided)
            else:
                if isinstance(cmd, CancelOrder) and order is not None and self._stops.disarm(order):
                    continue  # held here, never sent: cancelled here
                trigger = Trigger.AMEND_SENT if isinstance(cmd, AmendOrder) else Trigger.CANCEL_SENT
                if order is None or not writer.mark(order, trigger):
                    continue
                if isinstance(cmd, CancelOrder) and order.order_type.is_conditional:
                    # The group planner does not know where orders live; the gateway's routing hint.
                    cmd = msgspec.structs.replace(cmd, conditional=True)
            out.append(Send(Flight(cmd.symbol, (cmd,)), followup))
        return out

    def on_order_event(self, msg: GroupOrderEvent) -> Decisions:
        """An event of an order that carries a group id."""
        event = msg.event
        state = self.groups.for_order(event.client_order_id)
        if state is None:
            self._watch_protection_flatten(event)
            return []
        self.watch.order_event(state, event, self._clock.monotonic_ns())
        plan = plan_group(event, state)
        out = self.apply_plan(plan, followup=True) if plan.state is not state else []
        if isinstance(event, OrderRejected):
            out += self._protect(event)
        return out

    # -- protection -------------------------------------------------------------------------------

    def _protect(self, event: OrderRejected) -> Decisions:
        """A group order was rejected: if it was the protective stop of a position, alert and
        (by default) cancel the group and flatten (see :mod:`mmoms.engine.protection`)."""
        writer = self._writer
        state = self.groups.for_order(event.client_order_id)
        order = writer.book.get(event.symbol, event.client_order_id)
        if state is None or order is None:
            return []
        reaction = on_rejected(state, event, order, flatten=self._cfg.flatten_unprotected)
        if reaction is None:
            return []
        group_id = state.spec.group_id
        self._alert(reaction.alert)
        flatten = reaction.flatten
        if flatten is None or writer.book.get(flatten.symbol, flatten.client_order_id) is not None:
            return []
        out = self.apply_plan(cancel_group(state, writer.now), followup=True)
        strategy_id = self.groups.strategy(group_id) or StrategyId("")
        writer.create(flatten, strategy_id=strategy_id, tag=None, group_id=group_id)
        out.append(Send(Flight(flatten.symbol, (flatten,)), followup=True))
        return out

    def _watch_protection_flatten(self, event: OrderEvent) -> None:
        order = self._writer.book.get(event.symbol, event.client_order_id)
        if order is None or order.group_id is None:
            return
        if is_protection_flatten(order.group_id, order.client_order_id):
            alert = flatten_failed(event, order)
            if alert is not None:
                self._alert(alert)

    def _alert(self, alert: ProtectionFailed | AnyGroupEvent) -> None:
        self._writer.journal.record(
            GroupRecorded(
                kind="event",
                group_id=alert.group_id,
                payload=msgspec.Raw(msgspec.json.encode(alert)),
            ),
            alert.group_id,
        )
        self._writer.notifications.append(alert)
        self.watch.group_event(alert, self._clock.monotonic_ns())

    # -- restart ----------------------------------------------------------------------------------

    async def restore(self, store: JournalStore, snapshot_seq: int) -> None:
        """Groups from the snapshot the book was restored from, then their later states; the
        unprotected-time clocks of groups filled but not protected resume."""
        if snapshot_seq:
            snapshot = await store.latest_snapshot()
            if snapshot is not None and snapshot.seq == snapshot_seq:
                raw = decode_snapshot(snapshot.payload).extensions.get("groups")
                if raw is not None:
                    self.groups.load_raw(bytes(raw))
        async for record in store.read(after_seq=snapshot_seq):
            if record.kind != "GroupRecorded":
                continue
            entry = decode_entry(record.payload)
            if isinstance(entry, GroupRecorded) and entry.kind == "state":
                self.groups.put(decode_state(bytes(entry.payload)), entry.strategy_id)
        clock = self._clock
        self.watch.restore(
            self.groups.states(), self._writer.book, clock.time_ns(), clock.monotonic_ns()
        )
