"""Truth from the venue, asked for and merged in the engine loop: per-order queries, whole
reconciliations and fills backfill.

The venue is asked by tasks (:mod:`mmoms.engine.tasks`): this handler decides what to
ask (a ``Fetch*`` effect) and merges the answers; it never awaits.

* **Queries** by client order id: for unknown outcomes (through the gateway's
  ``resolve_unknown``, which waits until the request can no longer land), for orders a
  snapshot no longer lists and for orders stuck in flight. A conditional order is asked for with
  the routing hint, so a gateway restarted since it was placed still finds it. One query per
  order at a time; a failed query is retried on the ``retry`` timer. "Not found" is proof only
  for an order of unknown outcome the venue never acknowledged, from its resolution; for any
  other order in flight it may be a stale read (Binance answers -2013 for a while after a
  change), so the order is asked about again, with backoff, up to ``_NOT_FOUND_RETRIES`` times,
  before the answer is applied (an anomaly: the book keeps the order as it is). So is the order
  a triggered stop placed: the algo service named it, it exists.
* **Reconciliation** (at startup, every ``reconcile_interval_s``, on every stream gap): the open
  orders and positions are fetched by a task and merged here; orders we believe live that the
  venue does not list are queried, and so are orders whose request has been in flight for a
  whole interval without an answer; differences journaled. A venue that keeps conditional
  orders apart until they trigger (Binance's algo service: its order book never lists a
  waiting stop) is also asked for its list of those, on the symbols where we hold one; a
  waiting stop is looked for there, and queried only when it is missing from it. (Looking for
  stops in the order book made every reconciliation query every stop, and a stale read of one
  — "not found" for a young order — an anomaly, every second.) Stream items that arrive while a
  reconciliation is under way are buffered (:mod:`mmoms.engine.stream_handler`) and applied
  after the snapshot, in order. One at a time; a request during one runs after it. A failed
  one is fetched again after ``retry_unknown_s`` as the same reconciliation (no timer of its
  own: the periodic chain stays one chain).
* **A triggered stop** is asked about as the order it placed (by that order's venue order
  id), not through the algo service, whose replies do not say how that order ended (see
  :mod:`mmoms.engine.groups`); the book asks for it (a :class:`QueryWanted`) when the algo
  service says the stop is done without proving how.
* **Orphans**: an open order the venue lists under a client id this engine made in an earlier
  run, which the journal does not know — its record was lost with the journal's unsynced tail
  (an operating-system crash under durability ``process``, :mod:`mmoms.journal.checkpointer`)
  — is cancelled at once and the difference journaled: nobody would manage it otherwise. The
  client id prefix names this engine on the account: two engines sharing one prefix on one
  account would cancel each other's orders (the configuration says so).
* **Backfill**: an order whose filled quantity is ahead of the fills we hold lost a fill on the
  stream; the symbol's trades since that order are fetched and matched to our orders by venue
  order id, and the book counts each trade once. An order whose venue order id we do not know
  yet (a triggered stop whose order reports were lost) is queried first: the algo service's
  answer names the order placed at trigger.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from mmoms.core.clock import NANOS_PER_SECOND
from mmoms.core.commands import CancelOrder
from mmoms.core.enums import OrderStatus
from mmoms.core.fsm import Trigger
from mmoms.core.ids import ClientOrderId, Symbol
from mmoms.core.order import Order
from mmoms.core.reports import OrderNotFoundReport
from mmoms.engine.batcher import Flight
from mmoms.engine.book_writer import BookWriter
from mmoms.engine.config import OmsConfig
from mmoms.engine.followups import Followups
from mmoms.engine.messages import (
    ArmTimer,
    BackfillWanted,
    Decisions,
    FetchFills,
    FetchOrder,
    FetchTruth,
    FillsMsg,
    QueryMsg,
    QueryWanted,
    ReconcileMsg,
    ReconcileWanted,
    Send,
    StreamReleased,
)
from mmoms.engine.metrics import OmsMetrics
from mmoms.engine.snapshot_compare import (
    compare_positions,
    describe_changes,
    missing_waiting,
    order_fingerprints,
    waiting_symbols,
)
from mmoms.journal.records import Reconciled

log = logging.getLogger(__name__)

__all__ = ["Reconciler"]

_BACKFILL_MARGIN_NS = 60 * NANOS_PER_SECOND  # the venue's clock may run behind ours
_NOT_FOUND_RETRIES = 5  # "not found" for an order in flight: asked again this many times
_STUCK = (OrderStatus.PENDING_NEW, OrderStatus.PENDING_CANCEL, OrderStatus.PENDING_REPLACE)


def _placed_at_trigger(order: Order) -> bool:
    """A live stop that has triggered: the algo service named the order it placed, so that
    order exists, and "not found" for it (young, as it is) can only be a stale read."""
    conditional = order.order_type.is_conditional and order.venue_order_id is not None
    return conditional and not order.status.is_terminal


class Reconciler:
    def __init__(
        self,
        book_writer: BookWriter,
        followups: Followups,
        config: OmsConfig,
        metrics: OmsMetrics,
        *,
        conditional_apart: bool,
        made_before: Callable[[str], bool],
    ) -> None:
        self._writer = book_writer
        self._followups = followups
        self._cfg = config
        self._metrics = metrics
        self._querying: set[tuple[Symbol, ClientOrderId]] = set()
        self._not_found: dict[tuple[Symbol, ClientOrderId], int] = {}  # re-asks after "not found"
        self._reconciling = False
        self._reconcile_again: str | None = None
        self._backfilling: set[Symbol] = set()
        self._backfill_again: dict[Symbol, int] = {}
        # The venue keeps conditional orders apart from its order book until they trigger.
        self._apart = conditional_apart
        self._made_before = made_before  # an id of ours from an earlier run (orphans)

    # -- queries ----------------------------------------------------------------------------------

    def on_query_wanted(self, msg: QueryWanted) -> Decisions:
        return self._query(msg.symbol, msg.client_order_id, msg.unknown, msg.delay_s)

    def _query(
        self, symbol: Symbol, cid: ClientOrderId, unknown: bool, delay_s: float = 0.0
    ) -> Decisions:
        """One query per order at a time."""
        if (symbol, cid) in self._querying:
            return []
        self._querying.add((symbol, cid))
        # The book knows the order's type: a conditional order is asked for where the venue
        # keeps those, even by a gateway restarted since it was placed.
        order = self._writer.book.get(symbol, cid)
        conditional = order is not None and order.order_type.is_conditional
        # A triggered one is the order it placed now: asked for by that order's venue id.
        placed = order.venue_order_id if conditional and order is not None else None
        return [FetchOrder(symbol, cid, unknown, conditional, placed, delay_s)]

    def on_query(self, msg: QueryMsg) -> Decisions:
        writer = self._writer
        key = (Symbol(msg.symbol), ClientOrderId(msg.client_order_id))
        self._querying.discard(key)
        if msg.result is None:
            log.warning("query of %s failed (%s): retrying", msg.client_order_id, msg.error)
            return [ArmTimer("retry", self._cfg.retry_unknown_s)]
        if key[1] in self._followups.pending:
            consumed = self._followups.on_query(key, msg.result, msg.unknown)
            if consumed is not None:
                return consumed
        if isinstance(msg.result, OrderNotFoundReport):
            again = self._ask_again(key, msg.unknown)
            if again is not None:
                return again
        else:
            self._not_found.pop(key, None)
        writer.apply(msg.result)
        order = writer.book.get(key[0], key[1])
        if order is not None and order.venue_order_id and order.filled_qty > order.fills_qty:
            return self._backfill(order.symbol, order.created_ns)  # its fills were lost
        return []

    def _ask_again(self, key: tuple[Symbol, ClientOrderId], unknown: bool) -> Decisions | None:
        """A "not found" that may be stale: the query to ask again instead of applying the
        answer (see the module docstring); None to apply it."""
        order = self._writer.book.get(*key)
        if order is None or not (order.status.is_in_flight or _placed_at_trigger(order)):
            return None  # a live order missing: the book records the anomaly
        if order.status is OrderStatus.UNKNOWN and order.venue_order_id is None:
            if unknown:
                return None  # resolved: it never reached the venue (REJECTED)
            return self._query(key[0], key[1], True)  # only the resolution is proof
        tries = self._not_found.get(key, 0)
        if tries >= _NOT_FOUND_RETRIES:
            return None  # the venue keeps saying so: record it; reconciliation asks again
        self._not_found[key] = tries + 1
        delay_s = min(self._cfg.retry_unknown_s, self._cfg.reconcile_interval_s) * 2**tries
        return self._query(key[0], key[1], unknown, delay_s)

    def on_retry(self) -> Decisions:
        """Query every order whose outcome is still unknown, and every pending follow-up."""
        out = self._query_unknown()
        for cid, cmd in self._followups.pending.items():
            out += self._query(cmd.symbol, cid, True)
        return out

    def _query_unknown(self) -> Decisions:
        out: Decisions = []
        for order in self._writer.book.orders():
            if order.status is OrderStatus.UNKNOWN:
                out += self._query(order.symbol, order.client_order_id, True)
        return out

    # -- reconciliation ---------------------------------------------------------------------------

    def on_reconcile_wanted(self, msg: ReconcileWanted) -> Decisions:
        """One at a time; a request during one runs after it."""
        if self._reconciling:
            self._reconcile_again = msg.reason
            return []
        self._reconciling = True
        return [FetchTruth(msg.reason, self._waiting_symbols())]

    def _waiting_symbols(self) -> tuple[Symbol, ...]:
        if not self._apart:
            return ()
        return waiting_symbols(self._writer.book, self._cfg.symbols)

    def on_reconcile(self, msg: ReconcileMsg) -> Decisions:
        writer, book = self._writer, self._writer.book
        if msg.snapshot is None:
            log.warning("reconciliation (%s) failed: %s; retrying", msg.reason, msg.error)
            # The same reconciliation again, after a pause: still one at a time, and no timer
            # of the periodic kind (each failure would start another periodic chain).
            return [FetchTruth(msg.reason, self._waiting_symbols(), self._cfg.retry_unknown_s)]
        self._reconciling = False
        out: Decisions = []
        before = order_fingerprints(book)
        writer.apply(msg.snapshot)
        for report in msg.waiting:
            writer.apply(report)
        differences = describe_changes(before, order_fingerprints(book))
        out += self._cancel_orphans(differences)
        listed = [r.client_order_id for r in msg.waiting]
        missing = book.missing_from(msg.snapshot, apart=self._apart)
        missing += missing_waiting(book, msg.waiting_symbols, listed)
        for order in missing:
            differences.append(
                f"{order.client_order_id}: {order.status.value} here, not open on venue"
            )
            out += self._query(order.symbol, order.client_order_id, False)
        for order in self._stuck_in_flight():
            out += self._query(order.symbol, order.client_order_id, False)
        for position in msg.positions:
            writer.apply(position)
        differences += compare_positions(book, msg.positions, self._cfg.symbols)
        out += self._backfill_missing_fills()
        writer.journal.record(
            Reconciled(reason=msg.reason, symbols=self._cfg.symbols, differences=tuple(differences))
        )
        self._metrics.reconciliations += 1
        self._metrics.reconciliation_differences += len(differences)
        out.append(StreamReleased())
        out += self._query_unknown()
        if self._reconcile_again is not None:
            again, self._reconcile_again = self._reconcile_again, None
            out += self.on_reconcile_wanted(ReconcileWanted(again))
        return out

    def _cancel_orphans(self, differences: list[str]) -> Decisions:
        """Cancel every open order of ours from an earlier run the journal does not know."""
        writer = self._writer
        out: Decisions = []
        for order in writer.book.open_orders():
            cid = order.client_order_id
            if not order.external or not self._made_before(cid) or order.status.is_in_flight:
                continue
            log.warning("orphan %s: ours, unknown to the journal: cancelling it", cid)
            differences.append(f"{cid}: ours (an earlier run) but not in the journal: cancelled")
            writer.mark(order, Trigger.CANCEL_SENT, "orphan: unknown to the journal")
            cancel = CancelOrder(ts_ns=writer.now, client_order_id=cid, symbol=order.symbol)
            out.append(Send(Flight(order.symbol, (cancel,))))
        return out

    def _stuck_in_flight(self) -> list[Order]:
        """Orders whose request has had no answer for a whole reconciliation interval: a reply
        the book could not use, or a report lost. The venue is asked instead of waiting on."""
        patience_ns = int(self._cfg.reconcile_interval_s * NANOS_PER_SECOND)
        now = self._writer.now
        in_flight = {
            (o.symbol, o.client_order_id): o
            for o in self._writer.book.open_orders()
            if o.status.is_in_flight
        }
        for key in [k for k in self._not_found if k not in in_flight]:
            del self._not_found[key]  # settled meanwhile
        return [
            o
            for o in in_flight.values()
            if o.status in _STUCK and now - o.updated_ns >= patience_ns
        ]

    # -- fills backfill ---------------------------------------------------------------------------

    def _backfill_missing_fills(self) -> Decisions:
        """Orders whose filled quantity is ahead of the fills we hold lost a fill on the
        stream: fetch the symbol's trades since the oldest such order (the book counts each
        trade id once, so fills we already have change nothing)."""
        since: dict[Symbol, int] = {}
        out: Decisions = []
        for order in self._writer.book.orders():
            if order.filled_qty <= order.fills_qty:
                continue
            if order.venue_order_id is None:
                # Its trades could not be told apart: ask which order the venue filled (the
                # algo service names the order a stop placed); the answer starts the backfill.
                out += self._query(order.symbol, order.client_order_id, False)
                continue
            oldest = since.get(order.symbol, order.created_ns)
            since[order.symbol] = min(oldest, order.created_ns)
        for symbol, since_ns in since.items():
            out += self._backfill(symbol, since_ns)
        return out

    def on_backfill_wanted(self, msg: BackfillWanted) -> Decisions:
        return self._backfill(msg.symbol, msg.since_ns)

    def _backfill(self, symbol: Symbol, since_ns: int) -> Decisions:
        if symbol in self._backfilling:  # one fetch at a time; ask again when it is back
            self._backfill_again[symbol] = min(self._backfill_again.get(symbol, since_ns), since_ns)
            return []
        self._backfilling.add(symbol)
        return [FetchFills(symbol, since_ns - _BACKFILL_MARGIN_NS)]

    def on_fills(self, msg: FillsMsg) -> Decisions:
        symbol = Symbol(msg.symbol)
        self._backfilling.discard(symbol)
        again = self._backfill_again.pop(symbol, None)
        out = self._backfill(symbol, again) if again is not None else []
        if msg.error is not None:
            log.warning("fetching %s trades failed: %s", msg.symbol, msg.error)
            return out
        for fill in msg.fills:
            order = self._writer.book.by_venue_id(fill.symbol, fill.venue_order_id)
            if order is not None and fill.trade_id not in {f.trade_id for f in order.fills}:
                self._metrics.fills_backfilled += 1
                self._writer.apply(fill)
        return out
