"""What leaves for the venue: the quoting window's flights and the groups' commands, each booked
and journaled in the batch that decided it and put on the wire only once that batch is durable
(write-ahead: a request never leaves before its intent, client order id and command are
committed).

* The quoting window: the planner's actions are collected for ``batch_window_s`` after the first
  change (or decided in the same batch with no window), then :meth:`Outgoing.flush` turns them
  into flights — cancels first, in venue-sized batches. While the gateway refuses to send (a
  429 cool-down, a 418 halt) the window is held until it can.
* A contingent group's commands do not wait for a window (:meth:`Outgoing.send_now`).
* Quotes the order-rate budget could not pay for wait for it: a ``budget`` timer is armed for
  the moment the planner says the budget grows (``ActionPlanner.budget_at_ns``), one at a time.
* :meth:`Outgoing.release` runs after the commit: each flight is handed to its own task (the
  request), whose reply comes back to the loop as a :class:`~mmoms.engine.messages.ReplyMsg`.
"""

from __future__ import annotations

from collections.abc import Callable

from mmoms.core.clock import NANOS_PER_SECOND, Clock
from mmoms.core.commands import AmendOrder, CancelOrder, SubmitOrder
from mmoms.core.fsm import Trigger
from mmoms.engine import failpoints
from mmoms.engine.background import Background
from mmoms.engine.batcher import Flight
from mmoms.engine.book_writer import BookWriter
from mmoms.engine.config import OmsConfig
from mmoms.engine.messages import ReplyMsg
from mmoms.engine.metrics import ActionTimings, OmsMetrics
from mmoms.engine.planner import ActionPlanner
from mmoms.engine.sender import send_flight
from mmoms.venues.gateway import ExchangeGateway

Command = SubmitOrder | AmendOrder | CancelOrder

__all__ = ["Outgoing"]


class Outgoing:
    def __init__(
        self,
        bw: BookWriter,
        planner: ActionPlanner,
        gateway: ExchangeGateway,
        background: Background,
        config: OmsConfig,
        metrics: OmsMetrics,
        clock: Clock,
    ) -> None:
        self._bw = bw
        self._planner = planner
        self._gw = gateway
        self._background = background
        self._cfg = config
        self._metrics = metrics
        self._clock = clock
        self.timings = ActionTimings(metrics.latency)
        self.flights: list[Flight] = []  # decided in this batch: sent after its commit
        self.followups: set[int] = set()  # id() of this batch's flights that are group follow-ups
        self.hold_until_ns = 0  # no flush before (monotonic): the gateway cannot send yet
        self.flush_handle: Callable[[], None] | None = None  # cancels the armed window
        self._budget_timer_ns = 0  # monotonic time the armed budget timer fires at; 0: none

    # -- deciding ---------------------------------------------------------------------------------

    def after_planning(self) -> None:
        """Journal the planner's risk rejections and withdrawn orders; arm the window if it has
        actions waiting."""
        planner = self._planner
        for rejection in planner.rejections:
            self._bw.reject(rejection)
        planner.rejections.clear()
        withdrawn, planner.withdrawn = planner.withdrawn, []  # booking them re-enters here
        for cmd, meta in withdrawn:
            self._bw.withdraw(cmd, strategy_id=meta.strategy_id, tag=meta.tag)
        if planner.budget_at_ns is not None:
            self._arm_budget_timer(planner.budget_at_ns)
            planner.budget_at_ns = None
        if planner.needs_flush and self.flush_handle is None:
            hold_s = (self.hold_until_ns - self._clock.monotonic_ns()) / NANOS_PER_SECOND
            if self._cfg.batch_window_s > 0 or hold_s > 0:
                timer = self._background.call_later(max(self._cfg.batch_window_s, hold_s), "flush")
                self.flush_handle = timer.cancel

    def _arm_budget_timer(self, at_ns: int) -> None:
        """Wake the planner when the budget grows, unless a timer already fires by then."""
        if self._budget_timer_ns and self._budget_timer_ns <= at_ns:
            return
        self._budget_timer_ns = at_ns
        delay_ns = max(at_ns - self._clock.monotonic_ns(), 0)
        # 1 ms late: a timer fired a hair early would find no budget and re-arm at once
        self._background.arm_timer(delay_ns / NANOS_PER_SECOND + 0.001, "budget")

    def budget_timer_fired(self) -> None:
        self._budget_timer_ns = 0

    def flush(self) -> None:
        """The window closed: decide, book and journal its flights."""
        self.flush_handle = None
        decided = self._clock.monotonic_ns()
        flights = self._planner.flush(self._bw.now, decided)
        self.after_planning()
        for flight in flights:
            self._launch(flight, decided)

    def _launch(self, flight: Flight, decided: int) -> None:
        """Book and journal the flight's actions now; they go on the wire after the commit."""
        bw, planner, metrics, timings = self._bw, self._planner, self._metrics, self.timings
        kept: list[Command] = []
        for action in flight.actions:
            cid = action.client_order_id
            if isinstance(action, SubmitOrder):
                meta = planner.meta(cid, decided)
                bw.create(action, strategy_id=meta.strategy_id, tag=meta.tag)
                timings.start(cid, meta.intent_ns, decided)
                metrics.count(metrics.actions, "new")
            else:
                order = bw.book.get(action.symbol, cid)
                trigger = (
                    Trigger.AMEND_SENT if isinstance(action, AmendOrder) else Trigger.CANCEL_SENT
                )
                if order is None or not bw.mark(order, trigger):
                    continue  # settled meanwhile (filled, canceled): nothing to send
                intent_ns = planner.intent_ns(cid)
                if intent_ns is not None:
                    timings.start(cid, intent_ns, decided)
                metrics.count(
                    metrics.actions, "amend" if trigger is Trigger.AMEND_SENT else "cancel"
                )
            bw.journal.command_sent(action)
            kept.append(action)
        if kept:
            self.flights.append(Flight(flight.symbol, tuple(kept)))

    def send_now(self, cmd: Command, *, followup: bool = False) -> None:
        """Journal ``cmd`` (a follow-up also to the outbox); it leaves right after the commit."""
        self._bw.journal.command_sent(cmd, outbox=followup)
        flight = Flight(cmd.symbol, (cmd,))
        self.flights.append(flight)
        if followup:
            self.followups.add(id(flight))

    # -- after the commit -------------------------------------------------------------------------

    def take(self) -> tuple[list[Flight], set[int]]:
        """This batch's flights (and which are group follow-ups), for the batch being sealed."""
        flights, self.flights = self.flights, []
        followups, self.followups = self.followups, set()
        return flights, followups

    def release(self, flights: list[Flight], followups: set[int], committed_ns: int) -> None:
        """The batch that decided ``flights`` is durable: put them on the wire."""
        if followups:
            failpoints.hit(failpoints.GROUP_FOLLOWUP_COMMITTED)
        for flight in flights:
            for action in flight.actions:
                self.timings.journaled(action.client_order_id, committed_ns)
            self._background.spawn(self._send(flight, followup=id(flight) in followups))

    async def _send(self, flight: Flight, *, followup: bool = False) -> None:
        sent = self._clock.monotonic_ns()
        for action in flight.actions:
            self.timings.sent(action.client_order_id, sent)
        self._metrics.requests += 1
        results = await send_flight(self._gw, flight)
        if followup:
            failpoints.hit(failpoints.GROUP_FOLLOWUP_REPLIED)
        await self._background.queue.put(
            ReplyMsg(flight, results, sent, self._clock.monotonic_ns())
        )

    def cancel_window(self) -> None:
        if self.flush_handle is not None:
            self.flush_handle()
