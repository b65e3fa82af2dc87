"""The quoting handler: strategies' order intents through the window to the flights.

* An intent is journaled and given to the quote planner (:mod:`.quote_planner`), which keeps
  what is wanted.
* **Leading-edge batching.** At the end of each loop batch (:meth:`Quoting.on_batch_end`) what
  the planner has to decide leaves at once — in this batch, one commit — when nothing of ours is
  in flight to the venue on the symbols it concerns. While a flight on one of them is out (or
  the order-rate budget is tight), what arrives is collected instead, and decided the moment
  that flight lands, or when the window (``batch_window_s``) runs out, whichever comes first:
  a burst is netted into batch requests without making a lone action wait, and one symbol's
  flight never holds another's quotes. An explicit cancel never waits.
* When it is decided (:meth:`Quoting.on_flush`) the planner diffs, checks risk, nets and
  batches; each flight is booked and journaled now and returned as a :class:`Send`, which leaves
  once the batch is durable.
* While the gateway refuses to send (a 429 cool-down, a 418 halt: :class:`SendingHeld`) the
  window is held until it can.
* Quotes the order-rate budget could not pay for wait for it: a ``budget`` timer is armed for the
  moment the planner says the budget grows, one at a time.
* An order that settles (:class:`OrderSettled`) may release what waited for it; a cancel that
  could not be sent is wanted again (:class:`CancelWanted`).
"""

from __future__ import annotations

from collections.abc import Mapping

from mmoms.core.clock import NANOS_PER_SECOND, Clock
from mmoms.core.commands import AmendOrder, CancelOrder, SubmitOrder
from mmoms.core.fsm import Trigger
from mmoms.core.ids import Symbol
from mmoms.core.intents import CancelAllIntent, CancelOrderIntent
from mmoms.engine.batcher import Flight
from mmoms.engine.book_writer import BookWriter
from mmoms.engine.config import OmsConfig
from mmoms.engine.local_stops import LocalStops
from mmoms.engine.messages import (
    ArmTimer,
    CancelWanted,
    Decisions,
    IntentMsg,
    OrderSettled,
    Send,
    SendingHeld,
)
from mmoms.engine.metrics import ActionTimings, OmsMetrics
from mmoms.engine.quote_planner import EVERY_STRATEGY, QuotePlanner
from mmoms.journal.records import IntentReceived

Command = SubmitOrder | AmendOrder | CancelOrder
_TIGHT = 10  # the order-rate budget is tight below a tenth of it left: collect, then decide

__all__ = ["Quoting"]


class Quoting:
    def __init__(
        self,
        book_writer: BookWriter,
        planner: QuotePlanner,
        local_stops: LocalStops,
        in_flight: Mapping[Symbol, int],
        timings: ActionTimings,
        config: OmsConfig,
        metrics: OmsMetrics,
        clock: Clock,
    ) -> None:
        self._writer = book_writer
        self.planner = planner
        self._stops = local_stops
        self._in_flight = in_flight  # per symbol: flights sent (or about to be), not answered
        self._timings = timings
        self._cfg = config
        self._metrics = metrics
        self._clock = clock
        self.window_armed = False  # a flush timer is on its way
        self.hold_until_ns = 0  # no flush before (monotonic): the gateway cannot send yet
        self._budget_timer_ns = 0  # monotonic time the armed budget timer fires at; 0: none

    def on_batch_end(self) -> Decisions:
        """The loop drained its queue: decide now (leading edge), or collect behind the window."""
        if not self.planner.needs_flush:
            return []
        if self._leading_edge():
            return self.on_flush()
        if self.window_armed:
            return []
        self.window_armed = True
        hold_s = (self.hold_until_ns - self._clock.monotonic_ns()) / NANOS_PER_SECOND
        return [ArmTimer("flush", max(self._cfg.batch_window_s, hold_s))]

    def _leading_edge(self) -> bool:
        """Nothing to wait for: decide in this batch."""
        if self.hold_until_ns > self._clock.monotonic_ns():
            return False  # the gateway refuses to send until then
        if self._cfg.batch_window_s <= 0 or self.planner.has_cancels:
            return True
        in_flight = self._in_flight
        if in_flight and not in_flight.keys().isdisjoint(self.planner.waiting_symbols()):
            return False  # collect: decided when it lands (or the window runs out)
        risk = self.planner.risk
        return risk.rate_room() * _TIGHT >= risk.config.max_orders_per_second

    # -- inputs -----------------------------------------------------------------------------------

    def on_intent(self, msg: IntentMsg) -> Decisions:
        intent = msg.intent
        self._writer.journal.record(IntentReceived(intent=intent))
        if self._stops.active and isinstance(intent, (CancelOrderIntent, CancelAllIntent)):
            self._cancel_held_stops(intent)  # never sent: nothing for the planner to send
        self.planner.intent(intent, msg.received_ns, self._writer.now)
        return self._after_planning()

    def _cancel_held_stops(self, intent: CancelOrderIntent | CancelAllIntent) -> None:
        book = self._writer.book
        if isinstance(intent, CancelOrderIntent):
            order = book.get(intent.symbol, intent.client_order_id)
            if order is not None:
                self._stops.disarm(order)
            return
        everyone = intent.strategy_id == EVERY_STRATEGY
        for order in self._stops.held(intent.symbol):
            if everyone or order.strategy_id == intent.strategy_id:
                self._stops.disarm(order)

    def on_settled(self, msg: OrderSettled) -> Decisions:
        self.planner.settled(msg.order)
        return self._after_planning()

    def on_cancel_wanted(self, msg: CancelWanted) -> Decisions:
        order = msg.order
        self.planner.want_cancel(order)
        if not msg.now or order.status.is_in_flight:
            return []  # sent when it settles (OrderSettled), or on the retry timer
        self.planner.settled(order)  # not in flight: it may go in this window
        return self._after_planning()

    def on_sending_held(self, msg: SendingHeld) -> Decisions:
        self.hold_until_ns = max(self.hold_until_ns, msg.until_ns)
        return []

    def on_budget(self) -> Decisions:
        self._budget_timer_ns = 0
        self.planner.budget_returned()
        return self._after_planning()

    def on_retry(self) -> Decisions:
        self.planner.retry_deferred(self._writer.now)
        return self._after_planning()

    def pull_all(self) -> None:
        """Stop quoting everywhere (the engine is stopping)."""
        self.planner.pull_all()

    # -- the window -------------------------------------------------------------------------------

    def on_flush(self) -> Decisions:
        """The window closed: decide, book and journal its flights."""
        self.window_armed = False
        decided = self._clock.monotonic_ns()
        flights = self.planner.flush(self._writer.now, decided)
        out = self._after_planning()
        for flight in flights:
            kept = self._book(flight, decided)
            if kept is not None:
                out.append(Send(kept))
        return out

    def _after_planning(self) -> Decisions:
        """Journal the planner's risk rejections and withdrawn orders; arm the timers it needs."""
        planner, writer, out = self.planner, self._writer, []
        for rejection in planner.rejections:
            writer.reject(rejection)
        planner.rejections.clear()
        withdrawn, planner.withdrawn = planner.withdrawn, []
        for cmd, meta in withdrawn:
            writer.withdraw(cmd, strategy_id=meta.strategy_id, tag=meta.tag)
        if planner.budget_at_ns is not None:
            out += self._budget_timer(planner.budget_at_ns)
            planner.budget_at_ns = None
        return out  # what waits is decided at the end of the loop's batch (on_batch_end)

    def _budget_timer(self, at_ns: int) -> Decisions:
        """Wake the planner when the budget grows, unless a timer already fires by then."""
        if self._budget_timer_ns and self._budget_timer_ns <= at_ns:
            return []
        self._budget_timer_ns = at_ns
        delay_ns = max(at_ns - self._clock.monotonic_ns(), 0)
        # 1 ms late: a timer fired a hair early would find no budget and re-arm at once
        return [ArmTimer("budget", delay_ns / NANOS_PER_SECOND + 0.001)]

    def _book(self, flight: Flight, decided: int) -> Flight | None:
        """Book the flight's actions now; they go on the wire after the commit."""
        writer, planner, metrics, timings = self._writer, self.planner, self._metrics, self._timings
        kept: list[Command] = []
        for action in flight.actions:
            cid = action.client_order_id
            if isinstance(action, SubmitOrder):
                meta = planner.meta(cid, decided)
                if self._stops.holds(action):  # the venue holds no stops: held here
                    writer.create(action, strategy_id=meta.strategy_id, tag=meta.tag, inactive=True)
                    self._stops.arm(action)
                    continue
                writer.create(action, strategy_id=meta.strategy_id, tag=meta.tag)
                timings.start(cid, meta.intent_ns, decided)
                metrics.count(metrics.actions, "new")
            else:
                order = writer.book.get(action.symbol, cid)
                amend = isinstance(action, AmendOrder)
                trigger = Trigger.AMEND_SENT if amend else Trigger.CANCEL_SENT
                if order is None or not writer.mark(order, trigger):
                    continue  # settled meanwhile (filled, canceled): nothing to send
                intent_ns = planner.intent_ns(cid)
                if intent_ns is not None:
                    timings.start(cid, intent_ns, decided)
                metrics.count(metrics.actions, "amend" if amend else "cancel")
            kept.append(action)
        return Flight(flight.symbol, tuple(kept)) if kept else None
