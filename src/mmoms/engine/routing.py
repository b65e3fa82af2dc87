"""The engine's routing table: every message type → the one handler that takes it.

Read this file to follow any message to the wire. The loop hands each input from the queue to
:meth:`Router.dispatch`, which routes it, then routes what came of it, in order, until nothing
is left — all inside the same batch, so one commit covers the whole cascade:

1. the handler named by the message's type changes the state (the book writer journals every
   change as it makes it) and returns the rest as decisions (:mod:`.messages`);
2. the book's own reactions to those changes come first (an order settled, a group order's
   event, a fill), then the handler's decisions, each routed the same way;
3. an *effect* is applied by the router itself, never a handler: a flight joins this batch's
   sends, a timer is armed, a task asks the venue.

A handler never calls another handler and nothing calls back into one: what one decides
reaches the next only through this table, after it has returned.

=====================  ===========================  =============================================
message                handler                      what it does
=====================  ===========================  =============================================
IntentMsg              Quoting.on_intent            quotes / orders / cancels into the window
GroupIntentMsg         GroupRunner.on_intent        a contingent group: risk once, first plan
StreamMsg              StreamHandler.on_stream      user-data stream; a gap starts reconciling
ReplyMsg               ReplyHandler.on_reply        the venue's answers (Outgoing counts it landed)
QueryMsg               Reconciler.on_query          the answer about one order
ReconcileMsg           Reconciler.on_reconcile      open orders + positions merged
FillsMsg               Reconciler.on_fills          backfilled trades
PriceMsg               LocalStops.on_price          stops held here: sent at their trigger
TimerMsg               the timers table, by kind    batch end, window, reconciliation, retries...
OrderSettled           Quoting.on_settled           what waited for the order may go
GroupOrderEvent        GroupRunner.on_order_event   the contingency plan for the event
FillBooked             RiskEngine.after_fill        the automatic kill switch
CancelWanted           Quoting.on_cancel_wanted     keep wanting an order gone
SendingHeld            Quoting.on_sending_held      the gateway refuses to send until...
QueryWanted            Reconciler.on_query_wanted   one query per order at a time
ReconcileWanted        Reconciler.on_reconcile_...  one reconciliation at a time
BackfillWanted         Reconciler.on_backfill_...   one trades fetch per symbol at a time
StreamReleased         StreamHandler.on_released    buffered stream items, in order
Send (effect)          Outgoing.add                 journaled now, on the wire after the commit
ArmTimer (effect)      Background.arm_timer         a TimerMsg later
Fetch* (effect)        VenueTasks                   a task; the answer comes back as an input
Heartbeat (effect)     VenueTasks.heartbeat         the venue's dead-man switch
=====================  ===========================  =============================================
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from mmoms.engine.messages import TimerMsg

Route = Callable[[Any], list[Any]]
"""A handler: takes its message, returns what should happen next (possibly nothing)."""

Effect = Callable[[Any], None]
"""Applied by the router: no decisions come back."""

MAX_CASCADE = 1_000_000
"""Messages one input may set off. A real cascade is a few per order touched (a snapshot of
every open order, a reply to a batch); a million is a loop."""


class CascadeError(RuntimeError):
    """One input set off messages without end: handlers feeding each other (a bug)."""


__all__ = ["MAX_CASCADE", "CascadeError", "Effect", "Route", "Router"]


class Router:
    def __init__(
        self,
        routes: Mapping[type, Route],
        effects: Mapping[type, Effect],
        timers: Mapping[str, Callable[[], list[Any]]],
        reactions: list[Any],
    ) -> None:
        """``reactions``: the book writer's list of follow-ons, emptied after every handler."""
        self._routes = dict(routes)
        self._routes[TimerMsg] = self._on_timer
        self._effects = dict(effects)
        self._timers = dict(timers)
        self._reactions = reactions

    def dispatch(self, msg: object) -> None:
        """Route ``msg`` and everything that comes of it, in order (breadth first).

        Raises:
            CascadeError: the cascade did not end within :data:`MAX_CASCADE` messages — a bug
                (two handlers feeding each other); the engine stops loudly instead of spinning
                with the event loop blocked.
        """
        pending: deque[Any] = deque((msg,))
        routes, effects, reactions = self._routes, self._effects, self._reactions
        routed = 0
        while pending:
            routed += 1
            if routed > MAX_CASCADE:
                kinds = [type(m).__name__ for m in list(pending)[:8]]
                raise CascadeError(
                    f"{type(msg).__name__} set off more than {MAX_CASCADE} messages; "
                    f"still pending: {len(pending)}, first {kinds}"
                )
            item = pending.popleft()
            kind = type(item)
            effect = effects.get(kind)
            if effect is not None:
                effect(item)
                continue
            decided = routes[kind](item)
            if reactions:
                pending.extend(reactions)
                reactions.clear()
            if decided:
                pending.extend(decided)

    def _on_timer(self, msg: TimerMsg) -> list[Any]:
        timer = self._timers.get(msg.kind)
        return timer() if timer is not None else []  # stop / journal: only wake the loop
