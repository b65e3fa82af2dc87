"""A contingent group's follow-up orders (protective stop, take-profit, flatten) whose fate is
not known: committed before a restart and never acknowledged, or answered with an unknown
outcome (or not sent at all) while running. A position must never stay unprotected, so:

* the follow-up's outbox entry stays pending until it is settled — a crash meanwhile is
  completed by the next start;
* it is resolved by query, by the gateway's ``resolve_unknown`` (which waits until the request
  can no longer land) — a plain query's "not found" is not proof;
* if the venue has it, its report is applied; if the venue never saw it, it is re-sent under the
  same client id (the venue cannot hold two orders under one id), at most
  ``OmsConfig.followup_resends`` times; then it counts as rejected and the group reacts
  (:mod:`mmoms.engine.protection`).

New orders and amends that are *not* group follow-ups are never re-sent: a new order re-sent
after its first copy filled would be a second order. They are resolved by query and stay as the
venue says.
"""

from __future__ import annotations

import logging

from mmoms.core.commands import CancelOrder, SubmitOrder
from mmoms.core.enums import OrderStatus
from mmoms.core.fsm import Trigger
from mmoms.core.ids import ClientOrderId, Symbol
from mmoms.core.order import Order
from mmoms.core.reports import OrderNotFoundReport
from mmoms.engine.batcher import Flight
from mmoms.engine.book_writer import BookWriter
from mmoms.engine.config import OmsConfig
from mmoms.engine.messages import CancelWanted, Decisions, QueryWanted, Send
from mmoms.engine.metrics import OmsMetrics
from mmoms.journal.records import CommandSent, decode_entry
from mmoms.journal.store import OutboxEntry
from mmoms.venues.errors import VenueError

log = logging.getLogger(__name__)

__all__ = ["Followups"]

_RESENDABLE = (OrderStatus.PENDING_NEW, OrderStatus.UNKNOWN)  # a follow-up not settled yet


class Followups:
    """The follow-ups of unknown fate, and what to do about each answer. Its methods return the
    loop's next steps (queries, re-sends); they are called by the reply and query handlers."""

    def __init__(self, book_writer: BookWriter, config: OmsConfig, metrics: OmsMetrics) -> None:
        self._writer = book_writer
        self._cfg = config
        self._metrics = metrics
        self.pending: dict[ClientOrderId, SubmitOrder] = {}  # queried; re-sent if missing
        self._resends: dict[ClientOrderId, int] = {}

    def resume(self, in_flight: list[Order], outbox: list[OutboxEntry]) -> Decisions:
        """After a restart: whatever was in flight has an unknown outcome now (the request may
        or may not have landed), and cancels committed but not confirmed are wanted again.
        Group follow-up orders in the outbox and not settled are queried (then re-sent if the
        venue never saw them); the engine queries every in-flight order after this."""
        writer = self._writer
        out: Decisions = []
        cancels: list[tuple[OutboxEntry, CancelOrder]] = []
        for entry in outbox:
            sent = decode_entry(entry.payload)
            command = sent.command if isinstance(sent, CommandSent) else None
            if isinstance(command, SubmitOrder):
                order = writer.book.get(command.symbol, command.client_order_id)
                if order is not None and order.status in _RESENDABLE:
                    self.pending[command.client_order_id] = command
                    key = (command.client_order_id, "submit")
                    writer.journal.outbox_ids[key] = entry.id  # done once settled
                    continue
            elif isinstance(command, CancelOrder):
                cancels.append((entry, command))
                continue
            writer.journal.outbox_done(entry.id)
        for order in in_flight:
            if order.client_order_id not in self.pending:
                writer.mark(order, Trigger.OUTCOME_UNKNOWN, "in flight when the engine stopped")
        for entry, cancel in cancels:
            target = writer.book.get(cancel.symbol, cancel.client_order_id)
            if target is not None and not target.status.is_terminal:
                out.append(CancelWanted(target))
            writer.journal.outbox_done(entry.id)
        return out

    def defer(
        self, action: SubmitOrder, order: Order, exc: BaseException, reason: str
    ) -> Decisions:
        """A follow-up the venue did not refuse, yet did not accept: it may have landed, or was
        not sent at all. Kept in the outbox and resolved by query (see the module docstring)."""
        if isinstance(exc, VenueError) and exc.may_have_executed:
            self._metrics.unknown_outcomes += 1
            self._writer.mark(order, Trigger.OUTCOME_UNKNOWN, reason)
        self.pending[action.client_order_id] = action
        return [QueryWanted(order.symbol, order.client_order_id, True)]

    def withdraw(self, cid: ClientOrderId) -> None:
        """We cancelled ``cid`` and the venue does not hold it open: it is no longer wanted, so
        it is never sent again. Its fate is settled by query like any order's."""
        self.pending.pop(cid, None)
        self._resends.pop(cid, None)

    def answered(self, cid: ClientOrderId) -> None:
        """The venue answered a request for ``cid`` for good: forget its re-sends."""
        self._resends.pop(cid, None)

    def on_query(
        self, key: tuple[Symbol, ClientOrderId], result: object, unknown: bool
    ) -> Decisions | None:
        """A query answer for a pending follow-up: what to do when it was consumed here
        (re-sent, or nothing to do), None when the caller applies the report as usual."""
        if isinstance(result, OrderNotFoundReport) and not unknown:
            # A plain query may miss a request still on its way: only the resolution of an
            # unknown outcome (which waits until it can no longer land) proves it absent.
            return [QueryWanted(key[0], key[1], True)]
        return self._settle(key, result)

    def _settle(self, key: tuple[Symbol, ClientOrderId], result: object) -> Decisions | None:
        writer, cid = self._writer, key[1]
        cmd = self.pending.pop(cid)
        writer.journal.settle_outbox(cid, "submit")  # a re-send adds its own entry in this batch
        order = writer.book.get(*key)
        if not isinstance(result, OrderNotFoundReport) or order is None:
            self._resends.pop(cid, None)
            return None  # the venue has it: its report is applied as usual
        if order.status not in _RESENDABLE:
            self._resends.pop(cid, None)
            return []  # settled meanwhile (a snapshot listed it): nothing to send
        sent = self._resends.get(cid, 0)
        if sent >= self._cfg.followup_resends:
            self._resends.pop(cid, None)
            log.error("ALERT group follow-up %s: never reached the venue in %d re-sends", cid, sent)
            writer.mark(order, Trigger.OUTCOME_UNKNOWN, "re-sends spent")  # not-found → REJECTED
            return None
        self._resends[cid] = sent + 1
        log.warning("group follow-up %s never reached the venue: sending it again", cid)
        if order.status is OrderStatus.PENDING_NEW:
            writer.mark(order, Trigger.SUBMIT, "never reached the venue: sent again")
        return [Send(Flight(cmd.symbol, (cmd,)), followup=True)]
