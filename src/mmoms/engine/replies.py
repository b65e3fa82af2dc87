"""The venue's answers to our requests, applied in the engine loop.

Per action of a flight the gateway returns a report or the exception it ended with (see
:mod:`mmoms.engine.outgoing`):

* a report is merged into the book (a cancel answered with a fill counts as a cancel race);
* "unknown order" on a cancel (-2011) means the order is not open on the venue: it ended
  before the cancel landed (filled, most often), or it never existed. Routine, never an API
  error: the order is marked UNKNOWN, never live again on our word, and settled by the fill or
  by resolving its client id (:mod:`mmoms.core.fsm`);
* "unknown order" on an amend (-2013) is the same fact: the amend failed and the order is
  cancelled, whose answer (or the resolution after it) says how it ended. Both arrive either as
  an error or, inside a batch, as an :class:`~mmoms.core.reports.OrderNotFoundReport` item, and
  are handled alike;
* a failure that may have executed marks the order UNKNOWN and resolves it by query; a definite
  refusal rejects a new order, returns an amended or canceled order to where it was (a cancel
  that could not be sent is wanted again);
* a group's follow-up order that the venue did not refuse is kept and resolved by query
  (:mod:`mmoms.engine.followups`);
* a refusal for rate (429 cool-down, 418 halt) holds the quoting window until the gateway can
  send again: re-deciding at once would only be refused again, each time as a new order.
"""

from __future__ import annotations

from mmoms.core.clock import NANOS_PER_MILLI, Clock
from mmoms.core.commands import AmendOrder, CancelOrder, SubmitOrder
from mmoms.core.enums import OrderStatus, VenueOrderStatus
from mmoms.core.errors import MmomsError
from mmoms.core.fsm import Trigger
from mmoms.core.order import Order
from mmoms.core.reports import FillReport, OrderNotFoundReport, OrderStatusReport
from mmoms.engine.book_writer import BookWriter
from mmoms.engine.config import OmsConfig
from mmoms.engine.followups import Followups
from mmoms.engine.messages import (
    ArmTimer,
    CancelWanted,
    Decisions,
    QueryWanted,
    ReplyMsg,
    SendingHeld,
)
from mmoms.engine.metrics import ActionTimings, OmsMetrics
from mmoms.journal.records import ApiErrorRecorded
from mmoms.venues.errors import (
    DuplicateClientOrderId,
    NotSent,
    OrderNotFound,
    RateBudgetExceededError,
    RateLimited,
    Rejected,
    SendingHaltedError,
    VenueError,
)

__all__ = ["ReplyHandler", "refused_for_ns", "venue_refused"]

_FILLED = VenueOrderStatus.FILLED
Action = SubmitOrder | AmendOrder | CancelOrder
_OUTBOX_KIND: dict[type, str] = {SubmitOrder: "submit", CancelOrder: "cancel"}


class ReplyHandler:
    def __init__(
        self,
        book_writer: BookWriter,
        followups: Followups,
        timings: ActionTimings,
        config: OmsConfig,
        metrics: OmsMetrics,
        clock: Clock,
    ) -> None:
        self._writer = book_writer
        self._followups = followups
        self._timings = timings
        self._cfg = config
        self._metrics = metrics
        self._clock = clock

    def on_reply(self, msg: ReplyMsg) -> Decisions:
        writer, journal = self._writer, self._writer.journal
        out: Decisions = []
        for action, result in zip(msg.flight.actions, msg.results, strict=True):
            cid = action.client_order_id
            order = writer.book.get(action.symbol, cid)
            if (
                isinstance(result, BaseException)
                and isinstance(action, SubmitOrder)
                and journal.in_outbox(cid, "submit")  # a group follow-up order
                and order is not None
                and not venue_refused(result)
            ):
                reason, held = self._record_api_error(action, result)
                out += held
                out += self._followups.defer(action, order, result, reason)
                continue
            # Answered, whatever the answer: the order's state says more. Only this command's
            # entry: a cancel of the same order has its own, settled by its own answer.
            if isinstance(action, (SubmitOrder, CancelOrder)):
                journal.settle_outbox(cid, _OUTBOX_KIND[type(action)])
            self._followups.answered(cid)
            self._timings.acked(cid, msg.replied_ns)
            if isinstance(result, (OrderStatusReport, FillReport)):
                if isinstance(action, CancelOrder) and getattr(result, "status", None) is _FILLED:
                    self._metrics.cancel_races += 1  # -2011: the gateway answered with the fill
                writer.apply(result)
            elif isinstance(result, OrderNotFoundReport):
                if order is not None:
                    out += self._not_found(action, order, "venue: unknown order")
            elif isinstance(result, BaseException) and order is not None:
                out += self._on_failure(action, order, result)
        return out

    def _on_failure(self, action: Action, order: Order, exc: BaseException) -> Decisions:
        writer = self._writer
        if isinstance(action, CancelOrder) and isinstance(exc, OrderNotFound):
            return self._not_found(action, order, "venue: unknown order (ended before cancel)")
        reason, out = self._record_api_error(action, exc)
        may_have_executed = isinstance(exc, VenueError) and exc.may_have_executed
        if not isinstance(exc, MmomsError):
            may_have_executed = True  # not classified: assume the worst, resolve by query
        if isinstance(exc, DuplicateClientOrderId) and isinstance(action, SubmitOrder):
            may_have_executed = True  # after a timeout: the first attempt was accepted
        if may_have_executed:
            self._metrics.unknown_outcomes += 1
            writer.mark(order, Trigger.OUTCOME_UNKNOWN, reason)
            out.append(QueryWanted(order.symbol, order.client_order_id, True))
            return out
        if isinstance(action, SubmitOrder):
            writer.mark(order, Trigger.REJECTED, reason)
        elif isinstance(action, AmendOrder):
            if isinstance(exc, OrderNotFound):
                out += self._not_found(action, order, reason)
            else:
                writer.mark(order, Trigger.AMEND_FAILED, reason)
        else:  # not sent (budget, halt): keep wanting it gone
            if order.venue_order_id is None:
                # Never acknowledged: whether the venue holds it is not known. Not NEW on our
                # word: unknown, resolved by query, and cancelled once it is settled.
                writer.mark(order, Trigger.OUTCOME_UNKNOWN, f"{reason}; never acknowledged")
                out.append(QueryWanted(order.symbol, order.client_order_id, True))
            else:
                writer.mark(order, Trigger.CANCEL_FAILED, reason)
            out.append(CancelWanted(order))
            out.append(ArmTimer("retry", self._cfg.retry_unknown_s))
        return out

    def _not_found(self, action: Action, order: Order, reason: str) -> Decisions:
        """The venue does not hold ``order`` open: it ended (its fill was missed, or not read
        yet), or it never existed."""
        writer = self._writer
        out: Decisions = []
        if isinstance(action, CancelOrder):
            # -2011: routine, not an API error. Not open on the venue, so not live here either:
            # UNKNOWN, settled by the fill or the final report, or by resolving its client id.
            self._metrics.cancel_races += 1
            self._followups.withdraw(order.client_order_id)  # a group follow-up: not re-sent
            writer.mark(order, Trigger.CANCEL_NOT_FOUND, reason)
            if not order.status.is_terminal:
                unknown = order.status is OrderStatus.UNKNOWN
                out.append(QueryWanted(order.symbol, order.client_order_id, unknown))
        elif isinstance(action, AmendOrder):
            # -2013: the amend failed; pull the order: the cancel answers with its state.
            out.append(CancelWanted(order, now=True))
            writer.mark(order, Trigger.AMEND_FAILED, reason)
        elif not order.status.is_terminal:  # not an answer a new order gets: ask
            out.append(QueryWanted(order.symbol, order.client_order_id, False))
        return out

    def _record_api_error(self, action: Action, exc: BaseException) -> tuple[str, Decisions]:
        """Journal and count a failed request; hold the window if the gateway refuses for
        rate. Returns the reason to put on the order, and the hold."""
        code = getattr(exc, "code", None)
        kind = getattr(exc, "kind", "LOCAL")
        reason = f"{kind} {code or ''} {getattr(exc, 'venue_message', '') or exc}".strip()
        self._metrics.count(self._metrics.api_errors, str(code) if code is not None else kind)
        self._writer.journal.record(
            ApiErrorRecorded(
                command=action,
                kind=kind,
                code=code,
                message=str(exc)[:500],
                http_status=getattr(exc, "http_status", None),
            ),
            action.client_order_id,
        )
        now_mono = self._clock.monotonic_ns()
        hold_ns = refused_for_ns(exc, now_mono, self._cfg.retry_unknown_s)
        return reason, [SendingHeld(now_mono + hold_ns)] if hold_ns else []


def venue_refused(exc: BaseException) -> bool:
    """The venue said a definite "no" to the request itself (not: not sent, rate-limited, a
    retryable "try again", a duplicate id that proves an earlier attempt landed)."""
    if not isinstance(exc, Rejected) or exc.retryable:
        return False
    return not isinstance(exc, (NotSent, RateLimited, DuplicateClientOrderId))


def refused_for_ns(exc: BaseException, now_mono_ns: int, default_s: float) -> int:
    """How long the gateway will refuse to send after ``exc``; 0 for other errors."""
    if isinstance(exc, RateBudgetExceededError):
        return exc.wait_ns
    if isinstance(exc, SendingHaltedError):
        until = exc.until_ns
        return max(0, until - now_mono_ns) if until is not None else int(default_s * 1e9)
    if isinstance(exc, RateLimited) and exc.retry_after_ms:
        return exc.retry_after_ms * NANOS_PER_MILLI
    return 0
