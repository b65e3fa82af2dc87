"""What leaves for the venue: this batch's flights, journaled in the batch that decided them and
put on the wire only once that batch is durable (write-ahead: a request never leaves before its
intent, client order id and command are committed).

* :meth:`Outgoing.add` applies a :class:`~mmoms.engine.messages.Send`: the commands are recorded
  as sent (cancels, and a group's follow-up orders, also go to the outbox) and the flight joins
  the batch being built.
* :meth:`Outgoing.release` runs after the commit: each flight is handed to its own task (the
  request), whose reply comes back to the loop as a :class:`~mmoms.engine.messages.ReplyMsg`.
* :func:`send_flight` is the engine's only boundary with the gateway's request methods. Whatever
  happens, every action comes back with a report or an exception; nothing is swallowed. An
  exception the gateway did not classify (a bug, a library error that leaked) is wrapped as
  :class:`~mmoms.venues.errors.OutcomeUnknown`: the request may have left, so the engine
  resolves the order by client order id rather than guessing that it failed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from mmoms.core.clock import Clock
from mmoms.core.commands import AmendOrder, CancelOrder, SubmitOrder
from mmoms.core.errors import MmomsError
from mmoms.core.ids import Symbol
from mmoms.engine import failpoints
from mmoms.engine.batcher import Flight
from mmoms.engine.journal_writer import JournalWriter
from mmoms.engine.messages import ReplyMsg, Send
from mmoms.engine.metrics import ActionTimings, OmsMetrics
from mmoms.engine.tasks import Background
from mmoms.venues.errors import OutcomeUnknown
from mmoms.venues.gateway import ExchangeGateway

log = logging.getLogger(__name__)

__all__ = ["Outgoing", "send_flight"]


class Outgoing:
    def __init__(
        self,
        journal: JournalWriter,
        gateway: ExchangeGateway,
        background: Background,
        timings: ActionTimings,
        metrics: OmsMetrics,
        clock: Clock,
    ) -> None:
        self._journal = journal
        self._gw = gateway
        self._background = background
        self._metrics = metrics
        self._clock = clock
        self.timings = timings
        self.flights: list[Flight] = []  # decided in this batch: sent after its commit
        # flights added and not answered yet, per symbol (leading-edge batching)
        self.in_flight: dict[Symbol, int] = {}
        self.followups: set[int] = set()  # id() of this batch's flights that are group follow-ups

    def add(self, send: Send) -> None:
        """Journal the flight's commands in this batch; they leave right after its commit."""
        flight, journal = send.flight, self._journal
        for cmd in flight.actions:
            journal.command_sent(cmd, outbox=send.followup)
        self.flights.append(flight)
        self.in_flight[flight.symbol] = self.in_flight.get(flight.symbol, 0) + 1
        if send.followup:
            self.followups.add(id(flight))

    def landed(self, flight: Flight) -> None:
        """A flight's answer is back in the loop (the reply handler takes it next)."""
        left = self.in_flight[flight.symbol] - 1
        if left:
            self.in_flight[flight.symbol] = left
        else:
            del self.in_flight[flight.symbol]

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


async def send_flight(gateway: ExchangeGateway, flight: Flight) -> Sequence[object]:
    actions = flight.actions
    try:
        if len(actions) == 1:
            return [await _send_one(gateway, actions[0])]
        kind = flight.kind
        if kind is SubmitOrder:
            return list(
                await gateway.submit_batch([a for a in actions if isinstance(a, SubmitOrder)])
            )
        if kind is AmendOrder:
            return list(
                await gateway.amend_batch([a for a in actions if isinstance(a, AmendOrder)])
            )
        return list(await gateway.cancel_batch([a for a in actions if isinstance(a, CancelOrder)]))
    except MmomsError as exc:
        return [exc] * len(actions)
    except Exception as exc:  # the boundary: classify, never drop
        log.exception("gateway raised an unclassified error for %s", flight.kind.__name__)
        unknown = OutcomeUnknown(f"unclassified gateway error: {type(exc).__name__}")
        return [unknown] * len(actions)


async def _send_one(
    gateway: ExchangeGateway, action: SubmitOrder | AmendOrder | CancelOrder
) -> object:
    if isinstance(action, SubmitOrder):
        return await gateway.submit(action)
    if isinstance(action, AmendOrder):
        return await gateway.amend(action)
    return await gateway.cancel(action)
