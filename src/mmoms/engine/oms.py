"""The OrderManager: one asyncio task owns every order; everything else sends it messages.

The loop (single writer, LMAX style):

1. take every message waiting in the bounded inbound queue (intents, stream reports, replies,
   query answers, reconciliation snapshots, timers);
2. handle each one: the local book changes, and every book input, command, event, risk
   rejection, API error and reconciliation becomes a journal record;
3. commit the batch to the journal — once per drained batch, so durability costs one fsync per
   batch, not per event — *then* put the requests on the wire and tell the strategies
   (write-ahead: nothing leaves before it is journaled; nobody hears of a change before it is
   durable).

Quotes are declarative. The latest :class:`SetQuotes` per (strategy, symbol) is kept; a window
(10 ms by default) after the first change the engine diffs it against the live orders once,
checks risk, nets, and sends cancels first in venue-sized batches. An order with a request in
flight is never acted on: its level is re-diffed when it settles.

Truth comes from three sources merged by the book: REST replies, the user-data stream and
reconciliation (at startup, every ``reconcile_interval_s``, on every stream gap, and per order
for unknown outcomes and orders missing from a snapshot). Stream items that arrive while a
reconciliation is under way are buffered and applied after the snapshot, in order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgspec

from mmoms.contingent import (
    AnyGroupEvent,
    CancelGroup,
    Group,
    GroupState,
    PlaceGroup,
    Plan,
    cancel_group,
    decode_state,
    encode_state,
    group_exposure,
)
from mmoms.contingent import plan as plan_group
from mmoms.contingent import start as start_group
from mmoms.core.book import LocalOrderBook
from mmoms.core.clock import NANOS_PER_MILLI, NANOS_PER_SECOND, Clock, LiveClock, ManualClock
from mmoms.core.commands import AmendOrder, CancelOrder, QueryOrder, SubmitOrder
from mmoms.core.enums import OrderStatus, OrderType, Side, TimeInForce, VenueOrderStatus
from mmoms.core.errors import MmomsError
from mmoms.core.events import Event, OrderEvent, OrderRejected
from mmoms.core.fsm import Trigger, is_allowed
from mmoms.core.ids import ClientOrderId, GroupId, StrategyId, Symbol
from mmoms.core.instrument import Instrument
from mmoms.core.intents import (
    AmendOrderIntent,
    AnyIntent,
    CancelAllIntent,
    CancelOrderIntent,
    PlaceOrder,
    QuoteLevel,
    SetQuotes,
)
from mmoms.core.order import Order
from mmoms.core.reports import (
    BalanceReport,
    FillReport,
    OrderNotFoundReport,
    OrderStatusReport,
    PositionReport,
    Report,
)
from mmoms.core.snapshot import decode_snapshot, encode_snapshot
from mmoms.engine import failpoints
from mmoms.engine.batcher import Flight
from mmoms.engine.client_ids import ClientOrderIdFactory
from mmoms.engine.config import OmsConfig
from mmoms.engine.group_watch import GroupStats, GroupWatch
from mmoms.engine.groups import GroupBook, algo_status_report
from mmoms.engine.messages import (
    EngineMsg,
    FillsMsg,
    IntentMsg,
    QueryMsg,
    ReconcileMsg,
    ReplyMsg,
    StreamMsg,
    TimerMsg,
)
from mmoms.engine.metrics import OmsMetrics
from mmoms.engine.planner import EVERY_STRATEGY, ActionPlanner, Rejection
from mmoms.engine.protection import (
    ProtectionFailed,
    flatten_failed,
    is_protection_flatten,
    on_rejected,
)
from mmoms.engine.reconcile import compare_positions, describe_changes, order_fingerprints
from mmoms.engine.risk import ErrorRate, RiskEngine, RiskRejection
from mmoms.engine.sender import send_flight
from mmoms.journal.projection import order_row
from mmoms.journal.records import (
    ApiErrorRecorded,
    BookCreate,
    BookMark,
    BookReport,
    CommandSent,
    Entry,
    EventRecorded,
    GroupRecorded,
    IntentReceived,
    Reconciled,
    RiskRejected,
    decode_entry,
    encode_entry,
    kind_of,
)
from mmoms.journal.store import Batch, JournalStore, OutboxEntry, Record, Snapshot
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
from mmoms.venues.gateway import ExchangeGateway, StreamGap, StreamItem
from mmoms.venues.reports import AlgoOrderReport

log = logging.getLogger(__name__)

Notification = Event | RiskRejected | AnyGroupEvent | ProtectionFailed
Listener = Callable[[Notification], None]
_DRAIN_MAX = 1_000
_BACKFILL_MARGIN_NS = 60 * NANOS_PER_SECOND  # the venue's clock may run behind ours
_FILLED = VenueOrderStatus.FILLED
_RESENDABLE = (OrderStatus.PENDING_NEW, OrderStatus.UNKNOWN)  # a follow-up not settled yet


class OmsOverloadedError(MmomsError):
    """The engine's inbound queue is full: the intent was not accepted. Try again shortly."""


class OmsNotRunningError(MmomsError):
    """The engine is not running (not started, or stopped)."""


@dataclass(slots=True)
class _Timing:
    intent_ns: int
    decided_ns: int = 0
    journaled_ns: int = 0
    sent_ns: int = 0
    acked_ns: int = 0


class OrderManager:
    """Single-writer order manager. Create, ``await start()``, then ``await run()`` in a task."""

    def __init__(
        self,
        gateway: ExchangeGateway,
        store: JournalStore,
        config: OmsConfig,
        *,
        clock: Clock | None = None,
    ) -> None:
        self._gw = gateway
        self._store = store
        self._cfg = config
        self._clock = clock or LiveClock()
        self._book_clock = ManualClock(self._clock.time_ns())
        self.book = LocalOrderBook(self._book_clock)
        self.metrics = OmsMetrics()
        self.risk = RiskEngine(config.risk, self._clock, error_rate=self._gateway_error_rate)
        self._ids = ClientOrderIdFactory(
            config.client_id_prefix, self._clock.time_ns() // NANOS_PER_MILLI
        )
        self._queue: asyncio.Queue[EngineMsg] = asyncio.Queue(maxsize=config.queue_size)
        self._instruments: dict[Symbol, Instrument] = {}
        self._listeners: list[Listener] = []
        self._batch_listeners: list[Callable[[], None]] = []
        self._now = 0
        self._seq = 0
        self._records_since_snapshot = 0
        self._batch = Batch()
        self._touched: dict[tuple[Symbol, ClientOrderId], Order] = {}
        self._notifications: list[Notification] = []
        self._outgoing: list[Flight] = []
        self._groups = GroupBook()
        self.risk.group_resting = self._groups.resting  # a group counts once, not leg by leg
        self._watch = GroupWatch(self.metrics.latency["protect"])
        self._followups: set[int] = set()  # id() of this batch's flights that are group follow-ups
        # Group follow-up orders whose fate is unknown: queried, re-sent if the venue never saw
        # them (see _resume, _defer_followup); and how often each was re-sent.
        self._resend_if_missing: dict[ClientOrderId, SubmitOrder] = {}
        self._resends: dict[ClientOrderId, int] = {}
        self._planner = ActionPlanner(
            self.book, self.risk, self._instruments, config, self._ids, self.metrics
        )
        self._timing: dict[ClientOrderId, _Timing] = {}
        self._outbox_ids: dict[ClientOrderId, str] = {}
        self._backfilling: set[Symbol] = set()
        self._backfill_again: dict[Symbol, int] = {}
        self._querying: set[tuple[Symbol, ClientOrderId]] = set()
        self._stream_buffer: list[StreamItem] | None = []  # buffer until the first reconciliation
        self._reconciling = False
        self._reconcile_again: str | None = None
        self._flush_handle: asyncio.TimerHandle | None = None
        self._hold_until_ns = 0  # no flush before (monotonic): the gateway cannot send yet
        self._timers: list[asyncio.TimerHandle] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._running = False
        self._idle = asyncio.Event()

    # -- strategy API -------------------------------------------------------------------------

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener`` with every event (after it is journaled) and every risk rejection."""
        self._listeners.append(listener)

    def add_batch_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every engine batch is committed (dashboards, tests)."""
        self._batch_listeners.append(listener)

    def set_quotes(
        self, strategy_id: StrategyId, symbol: Symbol, levels: Iterable[QuoteLevel]
    ) -> None:
        """The full set of quotes wanted on ``symbol`` (empty: pull them all).

        Raises:
            OmsOverloadedError, OmsNotRunningError.
        """
        self._post_intent(SetQuotes(strategy_id=strategy_id, symbol=symbol, levels=tuple(levels)))

    def place(
        self,
        strategy_id: StrategyId,
        symbol: Symbol,
        side: Side,
        quantity: Decimal,
        price: Decimal | None = None,
        *,
        order_type: OrderType = OrderType.LIMIT,
        time_in_force: TimeInForce | None = None,
        reduce_only: bool = False,
        tag: str | None = None,
    ) -> ClientOrderId:
        """Place one order; returns its client order id at once (the order follows the window).

        Raises:
            OmsOverloadedError, OmsNotRunningError.
        """
        cid = self._ids.next()
        self._post_intent(
            PlaceOrder(
                strategy_id=strategy_id,
                symbol=symbol,
                side=side,
                order_type=order_type,
                quantity=quantity,
                price=price,
                time_in_force=time_in_force,
                reduce_only=reduce_only,
                client_order_id=cid,
                tag=tag,
            )
        )
        return cid

    def cancel(
        self, strategy_id: StrategyId, symbol: Symbol, client_order_id: ClientOrderId
    ) -> None:
        self._post_intent(
            CancelOrderIntent(
                strategy_id=strategy_id, symbol=symbol, client_order_id=client_order_id
            )
        )

    def amend(
        self,
        strategy_id: StrategyId,
        symbol: Symbol,
        client_order_id: ClientOrderId,
        price: Decimal,
        quantity: Decimal,
    ) -> None:
        self._post_intent(
            AmendOrderIntent(
                strategy_id=strategy_id,
                symbol=symbol,
                client_order_id=client_order_id,
                price=price,
                quantity=quantity,
            )
        )

    def place_group(self, strategy_id: StrategyId, group: Group) -> None:
        """Submit a contingent group (OCO, OTO, bracket...; see :mod:`mmoms.contingent`).

        Raises:
            OmsOverloadedError, OmsNotRunningError.
        """
        self._post_intent(PlaceGroup(strategy_id=strategy_id, group=group))

    def cancel_group(self, strategy_id: StrategyId, group_id: GroupId) -> None:
        self._post_intent(CancelGroup(strategy_id=strategy_id, group_id=group_id))

    def group(self, group_id: GroupId) -> GroupState | None:
        return self._groups.get(group_id)

    def groups(self) -> list[GroupState]:
        return self._groups.states()

    def group_stats(self) -> GroupStats:
        """Unprotected time (entry fill → protective stop acknowledged: worst, and the groups
        unprotected right now), overfills and flattens; see :mod:`mmoms.engine.group_watch`."""
        return self._watch.stats(self._clock.monotonic_ns())

    def cancel_all(self, strategy_id: StrategyId, symbol: Symbol | None = None) -> None:
        self._post_intent(CancelAllIntent(strategy_id=strategy_id, symbol=symbol))

    def position(self, symbol: Symbol) -> Decimal:
        return self.book.position(symbol)

    def set_reference_price(self, symbol: Symbol, price: Decimal) -> None:
        """The mark or mid price the fat-finger band is checked against."""
        self.risk.set_reference_price(symbol, price)

    def rate_pools(self) -> list[tuple[str, int, int]]:
        """(pool, used, limit) of every rate-limit pool the gateway tracks."""
        return [(p.name, p.used, p.limit) for p in self._gw.rate_state().pools]

    def instrument(self, symbol: Symbol) -> Instrument:
        return self._instruments[symbol]

    def _post_intent(self, intent: AnyIntent | PlaceGroup | CancelGroup) -> None:
        if not self._running:
            raise OmsNotRunningError("the order manager is not running")
        try:
            self._queue.put_nowait(IntentMsg(intent, self._clock.monotonic_ns()))
        except asyncio.QueueFull:
            raise OmsOverloadedError(f"inbound queue full ({self._queue.maxsize})") from None

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Recover from the journal, connect, resolve what was in flight, reconcile. Trading
        (intents) is accepted only after this returns.

        Raises:
            JournalError: the journal cannot be opened or read.
            VenueError / MmomsError: the venue cannot be reached.
        """
        from mmoms.journal.recovery import recover  # the journal's own recovery

        await self._store.open()
        state = await recover(self._store)
        self.book = LocalOrderBook.restore(state.book.snapshot(), self._book_clock)
        self._planner.book = self.book
        self._seq = state.last_seq
        await self._restore_groups(state.snapshot_seq)
        self._watch.restore(
            self._groups.states(), self.book, self._clock.time_ns(), self._clock.monotonic_ns()
        )
        await self._gw.start()
        self._instruments.update({i.symbol: i for i in await self._gw.instruments()})
        missing = [s for s in self._cfg.symbols if s not in self._instruments]
        if missing:
            raise MmomsError(f"the venue does not list {missing}")
        self._resume(state.in_flight, state.pending_outbox)
        await self._end_batch()
        self._running = True
        self._spawn(self._pump_stream())
        self._start_reconcile("startup")  # the stream's first gap may come later, or never
        for order in state.in_flight:
            self._start_query(order.symbol, order.client_order_id, unknown=True)
        self._arm_timer(self._cfg.reconcile_interval_s, "reconcile")
        if self._cfg.dead_man_switch_ms:
            self._arm_timer(self._cfg.dead_man_switch_ms / 3000, "heartbeat")

    async def _restore_groups(self, snapshot_seq: int) -> None:
        """Groups from the snapshot the book was restored from, then their later states."""
        if snapshot_seq:
            snapshot = await self._store.latest_snapshot()
            if snapshot is not None and snapshot.seq == snapshot_seq:
                raw = decode_snapshot(snapshot.payload).extensions.get("groups")
                if raw is not None:
                    self._groups.load_raw(bytes(raw))
        async for record in self._store.read(after_seq=snapshot_seq):
            if record.kind != "GroupRecorded":
                continue
            entry = decode_entry(record.payload)
            if isinstance(entry, GroupRecorded) and entry.kind == "state":
                self._groups.put(decode_state(bytes(entry.payload)), entry.strategy_id)

    def _resume(self, in_flight: list[Order], outbox: list[OutboxEntry]) -> None:
        """After a restart: whatever was in flight has an unknown outcome now (the request may
        or may not have landed), and cancels committed but not confirmed are wanted again.

        New orders and amends are never re-sent blindly: a new order re-sent after its first
        copy filled would be a second order. They are resolved by query instead. A group's
        follow-up order (protective stop, take-profit, flatten) is in the outbox until settled:
        it is queried too, and re-sent under the same client id only if the venue has never
        seen it — the group's plan needs it, and the same id cannot make a second live order.
        The running engine does the same after an unknown outcome (:meth:`_defer_followup`).
        """
        self._now = max(self._clock.time_ns(), self._now)
        self._book_clock.now_ns = self._now
        cancels: list[tuple[OutboxEntry, CancelOrder]] = []
        for entry in outbox:
            sent = decode_entry(entry.payload)
            command = sent.command if isinstance(sent, CommandSent) else None
            if isinstance(command, SubmitOrder):
                order = self.book.get(command.symbol, command.client_order_id)
                if order is not None and order.status in _RESENDABLE:
                    self._resend_if_missing[command.client_order_id] = command
                    self._outbox_ids[command.client_order_id] = entry.id  # done once settled
                    continue
            elif isinstance(command, CancelOrder):
                cancels.append((entry, command))
                continue
            self._batch.outbox_done.append(entry.id)
        for order in in_flight:
            if order.client_order_id not in self._resend_if_missing:
                self._mark(order, Trigger.OUTCOME_UNKNOWN, "in flight when the engine stopped")
        for entry, cancel in cancels:
            target = self.book.get(cancel.symbol, cancel.client_order_id)
            if target is not None and not target.status.is_terminal:
                self._planner.want_cancel(target)
            self._batch.outbox_done.append(entry.id)

    async def run(self) -> None:
        """The engine loop; returns after :meth:`stop`.

        Raises:
            whatever a handler raises: a bug stops the engine loudly instead of corrupting state.
        """
        while self._running or not self._queue.empty():
            msg = await self._queue.get()
            self._handle(msg)
            drained = 1
            while drained < _DRAIN_MAX and not self._queue.empty():
                self._handle(self._queue.get_nowait())
                drained += 1
            no_window = self._cfg.batch_window_s <= 0 and self._flush_handle is None
            if self._planner.needs_flush and no_window:
                self._flush()  # no window: decide in this batch, one commit, no timer hop
            await self._end_batch()

    async def stop(self, *, cancel_orders: bool = True) -> None:
        """Pull every quote and order of ours (optionally), journal, snapshot, disconnect."""
        if cancel_orders and self._running:
            self._planner.pull_all()
            self._queue.put_nowait(IntentMsg(CancelAllIntent(strategy_id=EVERY_STRATEGY), 0))
            try:
                await asyncio.wait_for(self._wait_flat(), self._cfg.stop_timeout_s)
            except TimeoutError:
                still = [
                    f"{o.client_order_id} {o.status.value}"
                    for o in self.book.open_orders()
                    if not o.external
                ]
                log.warning("orders still open at stop (%s): sweeping with cancel-all", still)
                for symbol in self._cfg.symbols:
                    await self._sweep(symbol)
        self._running = False
        self._queue.put_nowait(TimerMsg("stop"))
        for timer in self._timers:
            timer.cancel()
        if self._flush_handle is not None:
            self._flush_handle.cancel()

    async def close(self) -> None:
        """After :meth:`run` returned: final snapshot, stop tasks, close gateway and store."""
        await self._save_snapshot()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._gw.close()
        await self._store.close()

    async def _wait_flat(self) -> None:
        while any(o.status.is_open for o in self.book.orders() if not o.external):
            self._idle.clear()
            await self._idle.wait()

    async def _sweep(self, symbol: Symbol) -> None:
        from mmoms.core.commands import CancelAllOrders

        try:
            await self._gw.cancel_all(CancelAllOrders(ts_ns=self._clock.time_ns(), symbol=symbol))
        except MmomsError as exc:
            log.error("cancel-all sweep on %s failed: %s", symbol, exc)

    # -- the loop's batch -------------------------------------------------------------------------

    def _handle(self, msg: EngineMsg) -> None:
        self._now = max(self._clock.time_ns(), self._now)
        self._book_clock.now_ns = self._now
        if isinstance(msg, IntentMsg):
            self._on_intent(msg)
        elif isinstance(msg, StreamMsg):
            self._on_stream(msg)
        elif isinstance(msg, ReplyMsg):
            self._on_reply(msg)
        elif isinstance(msg, QueryMsg):
            self._on_query(msg)
        elif isinstance(msg, ReconcileMsg):
            self._on_reconcile(msg)
        elif isinstance(msg, FillsMsg):
            self._on_fills(msg)
        else:
            self._on_timer(msg)

    async def _end_batch(self) -> None:
        if self._touched:
            self._batch.orders.extend(order_row(o) for o in self._touched.values())
            self._touched.clear()
        if self._batch:
            batch, self._batch = self._batch, Batch()
            await self._store.commit(batch)
            self._records_since_snapshot += len(batch.records)
        committed = self._clock.monotonic_ns()
        followups, self._followups = self._followups, set()
        if followups:
            failpoints.hit(failpoints.GROUP_FOLLOWUP_COMMITTED)
        for flight in self._outgoing:
            for action in flight.actions:
                timing = self._timing.get(action.client_order_id)
                if timing is not None:
                    timing.journaled_ns = committed
            self._spawn(self._send(flight, followup=id(flight) in followups))
        self._outgoing.clear()
        notifications, self._notifications = self._notifications, []
        for note in notifications:
            for listener in self._listeners:
                listener(note)
        if self._records_since_snapshot >= self._cfg.snapshot_every:
            await self._save_snapshot()
        self._idle.set()
        for batch_listener in self._batch_listeners:
            batch_listener()

    async def _save_snapshot(self) -> None:
        snapshot = msgspec.structs.replace(
            self.book.snapshot(), extensions={"groups": self._groups.to_raw()}
        )
        await self._store.save_snapshot(
            Snapshot(seq=self._seq, ts_ns=self._now, payload=encode_snapshot(snapshot))
        )
        self._records_since_snapshot = 0

    # -- journal helpers ------------------------------------------------------------------------

    def _record(self, entry: Entry, key: str = "") -> None:
        self._seq += 1
        self._batch.records.append(
            Record(self._seq, self._now, kind_of(entry), key, encode_entry(entry))
        )

    def _create(
        self,
        cmd: SubmitOrder,
        *,
        strategy_id: StrategyId,
        tag: str | None,
        group_id: GroupId | None = None,
    ) -> None:
        self._record(
            BookCreate(command=cmd, strategy_id=strategy_id, tag=tag, group_id=group_id),
            cmd.client_order_id,
        )
        self._take(self.book.create(cmd, strategy_id=strategy_id, tag=tag, group_id=group_id))

    def _mark(self, order: Order, trigger: Trigger, reason: str = "") -> bool:
        """Apply a local trigger if the table allows it; False (nothing recorded) if not."""
        if not is_allowed(order.status, trigger):
            return False
        self._record(
            BookMark(
                symbol=order.symbol,
                client_order_id=order.client_order_id,
                trigger=trigger,
                reason=reason,
            ),
            order.client_order_id,
        )
        self._take(self.book.mark(order.symbol, order.client_order_id, trigger, reason))
        return True

    def _apply(self, report: Report) -> None:
        key = getattr(report, "client_order_id", "")
        self._record(BookReport(report=report), key)  # type: ignore[arg-type]
        self._take(self.book.apply(report))  # type: ignore[arg-type]

    def _take(self, events: list[Event]) -> None:
        for event in events:
            self._record(EventRecorded(event=event), getattr(event, "client_order_id", ""))  # type: ignore[arg-type]
            self._notifications.append(event)
            if not isinstance(event, OrderEvent):
                continue
            order = self.book.get(event.symbol, event.client_order_id)
            if order is None:
                continue
            self._touched[(order.symbol, order.client_order_id)] = order
            if order.filled_qty and type(event).__name__ == "OrderFilled":
                self.risk.after_fill(self.book, order.symbol)
            if not order.status.is_in_flight:
                self._planner.settled(order)
                self._after_planning()
            if order.group_id is not None:
                self._feed_groups(event)

    def _reject(self, rejection: Rejection) -> None:
        check = rejection.check
        entry = RiskRejected(
            intent=rejection.intent,
            command=rejection.command,
            check=check.check,
            reason=check.reason,
        )
        self._record(entry, getattr(rejection.command, "client_order_id", ""))
        self._notifications.append(entry)
        self.metrics.count(self.metrics.risk_rejections, check.check)

    # -- intents and the window flush -------------------------------------------------------------

    def _on_intent(self, msg: IntentMsg) -> None:
        intent = msg.intent
        if isinstance(intent, (PlaceGroup, CancelGroup)):
            self._on_group_intent(intent)
            return
        self._record(IntentReceived(intent=intent))
        self._planner.intent(intent, msg.received_ns, self._now)
        self._after_planning()

    # -- contingent groups ---------------------------------------------------------------------

    def _on_group_intent(self, intent: PlaceGroup | CancelGroup) -> None:
        if isinstance(intent, PlaceGroup) and not self._cfg.flatten_overfill:
            options = msgspec.structs.replace(intent.group.options, flatten_overfill=False)
            group = msgspec.structs.replace(intent.group, options=options)
            intent = msgspec.structs.replace(intent, group=group)
        group_id = intent.group.group_id if isinstance(intent, PlaceGroup) else intent.group_id
        self._record(
            GroupRecorded(
                kind="intent",
                group_id=group_id,
                strategy_id=intent.strategy_id,
                payload=msgspec.Raw(msgspec.json.encode(intent)),
            ),
            group_id,
        )
        if isinstance(intent, CancelGroup):
            state = self._groups.get(group_id)
            if state is not None:
                self._apply_plan(cancel_group(state, self._now))
            return
        if group_id in self._groups:
            self._reject(Rejection(RiskRejection("group", f"group {group_id} already exists")))
            return
        plan = start_group(intent.group, self._now)
        # The group passes risk as one position: its worst case, not the sum of its legs.
        reference = self.risk.reference_prices.get(intent.group.symbol)
        rejection = self.risk.check_group(
            self.book,
            intent.group,
            group_exposure(plan.state, reference),
            [c for c in plan.commands if isinstance(c, SubmitOrder)],
        )
        if rejection is not None:
            self._reject(Rejection(rejection))
            return
        self._apply_plan(plan, intent.strategy_id)

    def _apply_plan(
        self, plan: Plan, strategy_id: StrategyId | None = None, *, followup: bool = False
    ) -> None:
        """Journal a group's new state, events and commands in this batch; the commands go on
        the wire right after the commit, in the plan's order, without waiting for a window.
        Follow-ups (protective stops, sibling cancels, flattens) are not risk-checked: they only
        ever reduce exposure, and blocking them would leave a position unprotected. They go to
        the outbox with the fill that caused them (one commit), so a restart completes them."""
        state = plan.state
        group_id = state.spec.group_id
        self._groups.put(state, strategy_id)
        strategy_id = self._groups.strategy(group_id)
        self._record(
            GroupRecorded(
                kind="state",
                group_id=group_id,
                strategy_id=strategy_id,
                payload=msgspec.Raw(encode_state(state)),
            ),
            group_id,
        )
        for event in plan.events:
            self._record(
                GroupRecorded(
                    kind="event", group_id=group_id, payload=msgspec.Raw(msgspec.json.encode(event))
                ),
                group_id,
            )
            self._notifications.append(event)
        decided = self._clock.monotonic_ns()
        for event in plan.events:
            self._watch.group_event(event, decided)
        for cmd in plan.commands:
            order = self.book.get(cmd.symbol, cmd.client_order_id)
            if isinstance(cmd, SubmitOrder):
                if order is not None:
                    continue  # already created: a plan is never executed twice
                self._create(
                    cmd, strategy_id=strategy_id or StrategyId(""), tag=None, group_id=group_id
                )
                self._timing[cmd.client_order_id] = _Timing(
                    decided,
                    decided,
                )
            else:
                trigger = Trigger.AMEND_SENT if isinstance(cmd, AmendOrder) else Trigger.CANCEL_SENT
                if order is None or not self._mark(order, trigger):
                    continue
                if isinstance(cmd, CancelOrder) and order.order_type.is_conditional:
                    # The planner does not know where orders live; the gateway's routing hint.
                    cmd = msgspec.structs.replace(cmd, conditional=True)
            self._send_now(cmd, followup=followup)

    def _send_now(
        self, cmd: SubmitOrder | AmendOrder | CancelOrder, *, followup: bool = False
    ) -> None:
        self._journal_command(cmd, outbox=followup)
        flight = Flight(cmd.symbol, (cmd,))
        self._outgoing.append(flight)
        if followup:
            self._followups.add(id(flight))

    def _journal_command(
        self, cmd: SubmitOrder | AmendOrder | CancelOrder, *, outbox: bool = False
    ) -> None:
        """Record the command as sent; a cancel (and a group's follow-up order, ``outbox``) also
        goes to the outbox, so that it happens even if we die right after this batch commits."""
        sent = CommandSent(command=cmd)
        self._record(sent, cmd.client_order_id)
        if isinstance(cmd, CancelOrder) or (outbox and isinstance(cmd, SubmitOrder)):
            kind = "cancel" if isinstance(cmd, CancelOrder) else "submit"
            outbox_id = f"{self._seq}:{cmd.client_order_id}:{kind}"
            self._batch.outbox_add.append(OutboxEntry(outbox_id, self._now, encode_entry(sent)))
            self._outbox_ids[cmd.client_order_id] = outbox_id

    def _feed_groups(self, event: OrderEvent) -> None:
        state = self._groups.for_order(event.client_order_id)
        if state is None:
            self._watch_protection_flatten(event)
            return
        self._watch.order_event(state, event, self._clock.monotonic_ns())
        plan = plan_group(event, state)
        if plan.state is not state:
            self._apply_plan(plan, followup=True)
        if isinstance(event, OrderRejected):
            self._protect(event)

    def _protect(self, event: OrderRejected) -> None:
        """A group order was rejected: if it was the protective stop of a position, alert and
        (by default) cancel the group and flatten (see :mod:`mmoms.engine.protection`)."""
        state = self._groups.for_order(event.client_order_id)
        order = self.book.get(event.symbol, event.client_order_id)
        if state is None or order is None:
            return
        reaction = on_rejected(state, event, order, flatten=self._cfg.flatten_unprotected)
        if reaction is None:
            return
        group_id = state.spec.group_id
        self._group_alert(reaction.alert)
        flatten = reaction.flatten
        if flatten is None or self.book.get(flatten.symbol, flatten.client_order_id) is not None:
            return
        self._apply_plan(cancel_group(state, self._now), followup=True)
        strategy_id = self._groups.strategy(group_id) or StrategyId("")
        self._create(flatten, strategy_id=strategy_id, tag=None, group_id=group_id)
        self._send_now(flatten, followup=True)

    def _watch_protection_flatten(self, event: OrderEvent) -> None:
        order = self.book.get(event.symbol, event.client_order_id)
        if order is None or order.group_id is None:
            return
        if is_protection_flatten(order.group_id, order.client_order_id):
            alert = flatten_failed(event, order)
            if alert is not None:
                self._group_alert(alert)

    def _group_alert(self, alert: ProtectionFailed | AnyGroupEvent) -> None:
        self._record(
            GroupRecorded(
                kind="event",
                group_id=alert.group_id,
                payload=msgspec.Raw(msgspec.json.encode(alert)),
            ),
            alert.group_id,
        )
        self._notifications.append(alert)
        self._watch.group_event(alert, self._clock.monotonic_ns())

    def _apply_algo(self, report: AlgoOrderReport) -> None:
        self._apply(
            algo_status_report(report, self.book.get(report.symbol, report.client_order_id))
        )

    def _after_planning(self) -> None:
        for rejection in self._planner.rejections:
            self._reject(rejection)
        self._planner.rejections.clear()
        if self._planner.needs_flush and self._flush_handle is None:
            hold_s = (self._hold_until_ns - self._clock.monotonic_ns()) / NANOS_PER_SECOND
            if self._cfg.batch_window_s > 0 or hold_s > 0:
                self._flush_handle = asyncio.get_running_loop().call_later(
                    max(self._cfg.batch_window_s, hold_s), self._post_timer, "flush"
                )

    def _flush(self) -> None:
        self._flush_handle = None
        decided = self._clock.monotonic_ns()
        flights = self._planner.flush(self._now, decided)
        self._after_planning()
        for flight in flights:
            self._launch(flight, decided)

    def _launch(self, flight: Flight, decided: int) -> None:
        """Book and journal the flight's actions now; they go on the wire after the commit."""
        kept: list[SubmitOrder | AmendOrder | CancelOrder] = []
        for action in flight.actions:
            cid = action.client_order_id
            if isinstance(action, SubmitOrder):
                meta = self._planner.meta(cid, decided)
                self._create(action, strategy_id=meta.strategy_id, tag=meta.tag)
                self._timing[cid] = _Timing(meta.intent_ns, decided)
                self.metrics.count(self.metrics.actions, "new")
            else:
                order = self.book.get(action.symbol, cid)
                trigger = (
                    Trigger.AMEND_SENT if isinstance(action, AmendOrder) else Trigger.CANCEL_SENT
                )
                if order is None or not self._mark(order, trigger):
                    continue  # settled meanwhile (filled, canceled): nothing to send
                intent_ns = self._planner.intent_ns(cid)
                if intent_ns is not None:
                    self._timing[cid] = _Timing(intent_ns, decided)
                self.metrics.count(
                    self.metrics.actions, "amend" if trigger is Trigger.AMEND_SENT else "cancel"
                )
            self._journal_command(action)
            kept.append(action)
        if kept:
            self._outgoing.append(Flight(flight.symbol, tuple(kept)))

    async def _send(self, flight: Flight, *, followup: bool = False) -> None:
        sent = self._clock.monotonic_ns()
        for action in flight.actions:
            timing = self._timing.get(action.client_order_id)
            if timing is not None:
                timing.sent_ns = sent
        self.metrics.requests += 1
        results = await send_flight(self._gw, flight)
        if followup:
            failpoints.hit(failpoints.GROUP_FOLLOWUP_REPLIED)
        await self._queue.put(ReplyMsg(flight, results, sent, self._clock.monotonic_ns()))

    # -- replies --------------------------------------------------------------------------------

    def _on_reply(self, msg: ReplyMsg) -> None:
        for action, result in zip(msg.flight.actions, msg.results, strict=True):
            cid = action.client_order_id
            order = self.book.get(action.symbol, cid)
            if (
                isinstance(result, BaseException)
                and isinstance(action, SubmitOrder)
                and cid in self._outbox_ids  # a group follow-up order
                and order is not None
                and not _venue_refused(result)
            ):
                self._defer_followup(action, order, result)
                continue
            outbox_id = self._outbox_ids.pop(cid, None)
            if outbox_id is not None:  # answered, whatever the answer: the order's state says more
                self._batch.outbox_done.append(outbox_id)
            self._resends.pop(cid, None)
            self._observe_ack(cid, msg.replied_ns)
            if isinstance(result, (OrderStatusReport, FillReport)):
                if isinstance(action, CancelOrder) and getattr(result, "status", None) is _FILLED:
                    self.metrics.cancel_races += 1  # -2011: the gateway answered with the fill
                self._apply(result)
            elif isinstance(result, OrderNotFoundReport):
                if order is not None:
                    self._mark(order, Trigger.CANCEL_FAILED, "venue: unknown order")
                    self._start_query(order.symbol, order.client_order_id, unknown=False)
            elif isinstance(result, BaseException) and order is not None:
                self._on_failure(action, order, result)
            elif isinstance(result, AlgoOrderReport):
                self._apply_algo(result)

    def _defer_followup(self, action: SubmitOrder, order: Order, exc: BaseException) -> None:
        """A group follow-up order (a protective stop...) that the venue did not refuse, yet did
        not accept: it may have landed, or was not sent at all. It stays in the outbox and is
        resolved by query — re-sent under the same client id if the venue never saw it (see
        _settle_followup), as after a restart. A position must not stay unprotected."""
        reason = self._record_api_error(action, exc)
        if isinstance(exc, VenueError) and exc.may_have_executed:
            self.metrics.unknown_outcomes += 1
            self._mark(order, Trigger.OUTCOME_UNKNOWN, reason)
        self._resend_if_missing[action.client_order_id] = action
        self._start_query(order.symbol, order.client_order_id, unknown=True)

    def _on_failure(
        self, action: SubmitOrder | AmendOrder | CancelOrder, order: Order, exc: BaseException
    ) -> None:
        if isinstance(action, CancelOrder) and isinstance(exc, OrderNotFound):
            # -2011: the order ended (filled, most often) before our cancel landed. Routine, not
            # an API error: the fill settles it, or a query does if we have not read it yet.
            self.metrics.cancel_races += 1
            self._mark(order, Trigger.CANCEL_FAILED, "venue: unknown order (ended before cancel)")
            if not order.status.is_terminal:
                self._start_query(order.symbol, order.client_order_id, unknown=False)
            return
        reason = self._record_api_error(action, exc)
        may_have_executed = isinstance(exc, VenueError) and exc.may_have_executed
        if not isinstance(exc, MmomsError):
            may_have_executed = True  # not classified: assume the worst, resolve by query
        if isinstance(exc, DuplicateClientOrderId) and isinstance(action, SubmitOrder):
            may_have_executed = True  # after a timeout: the first attempt was accepted
        if may_have_executed:
            self.metrics.unknown_outcomes += 1
            self._mark(order, Trigger.OUTCOME_UNKNOWN, reason)
            self._start_query(order.symbol, order.client_order_id, unknown=True)
            return
        if isinstance(action, SubmitOrder):
            self._mark(order, Trigger.REJECTED, reason)
        elif isinstance(action, AmendOrder):
            if isinstance(exc, OrderNotFound):  # not open on the venue (its fill was missed?):
                self._planner.want_cancel(order)  # pull it; the cancel answers with its state
            self._mark(order, Trigger.AMEND_FAILED, reason)
        else:  # not sent (budget, halt): keep wanting it gone
            self._mark(order, Trigger.CANCEL_FAILED, reason)
            self._planner.want_cancel(order)
            self._arm_timer(self._cfg.retry_unknown_s, "retry")

    def _record_api_error(
        self, action: SubmitOrder | AmendOrder | CancelOrder, exc: BaseException
    ) -> str:
        """Journal and count a failed request; hold sending if the gateway refuses for rate.
        Returns the reason to put on the order."""
        code = getattr(exc, "code", None)
        kind = getattr(exc, "kind", "LOCAL")
        reason = f"{kind} {code or ''} {getattr(exc, 'venue_message', '') or exc}".strip()
        self.metrics.count(self.metrics.api_errors, str(code) if code is not None else kind)
        self._record(
            ApiErrorRecorded(
                command=action,
                kind=kind,
                code=code,
                message=str(exc)[:500],
                http_status=getattr(exc, "http_status", None),
            ),
            action.client_order_id,
        )
        # Refused for rate (429 cool-down, 418 halt): re-deciding at once would only be refused
        # again, each time as a new order. Decide again when the gateway can send.
        now_mono = self._clock.monotonic_ns()
        hold_ns = _refused_for_ns(exc, now_mono, self._cfg.retry_unknown_s)
        self._hold_until_ns = max(self._hold_until_ns, now_mono + hold_ns)
        return reason

    def _observe_ack(self, cid: ClientOrderId, replied_ns: int) -> None:
        t = self._timing.get(cid)
        if t is None or t.acked_ns:
            return
        t.acked_ns = replied_ns
        lat = self.metrics.latency
        lat["decide"].record(t.decided_ns - t.intent_ns)
        lat["journal"].record(t.journaled_ns - t.decided_ns)
        lat["wire"].record(t.sent_ns - t.journaled_ns)
        lat["ack"].record(replied_ns - t.sent_ns)
        lat["total"].record(replied_ns - t.intent_ns)

    # -- queries --------------------------------------------------------------------------------

    def _start_query(self, symbol: Symbol, cid: ClientOrderId, *, unknown: bool) -> None:
        if (symbol, cid) in self._querying:
            return
        self._querying.add((symbol, cid))
        self._spawn(self._query(symbol, cid, unknown))

    async def _query(self, symbol: Symbol, cid: ClientOrderId, unknown: bool) -> None:
        # The book knows the order's type: a conditional order is asked for where the venue
        # keeps those, even by a gateway restarted since it was placed.
        order = self.book.get(symbol, cid)
        conditional = order is not None and order.order_type.is_conditional
        try:
            if unknown:
                result = await self._gw.resolve_unknown(symbol, cid, conditional=conditional)
            else:
                query = QueryOrder(ts_ns=self._clock.time_ns(), client_order_id=cid, symbol=symbol)
                result = await self._gw.query(query, conditional=conditional)
            msg = QueryMsg(result, symbol, cid, unknown=unknown)
        except Exception as exc:  # the answer is "not yet": the engine retries
            msg = QueryMsg(None, symbol, cid, error=exc)
        await self._queue.put(msg)

    def _on_query(self, msg: QueryMsg) -> None:
        key = (Symbol(msg.symbol), ClientOrderId(msg.client_order_id))
        self._querying.discard(key)
        if msg.result is None:
            log.warning("query of %s failed (%s): retrying", msg.client_order_id, msg.error)
            self._arm_timer(self._cfg.retry_unknown_s, "retry")
            return
        if key[1] in self._resend_if_missing:
            if isinstance(msg.result, OrderNotFoundReport) and not msg.unknown:
                # A plain query may miss a request still on its way: only the resolution of an
                # unknown outcome (which waits until it can no longer land) proves it absent.
                self._start_query(key[0], key[1], unknown=True)
                return
            if self._settle_followup(key, msg.result):
                return
        if isinstance(msg.result, AlgoOrderReport):
            self._apply_algo(msg.result)
        else:
            self._apply(msg.result)
        order = self.book.get(key[0], key[1])
        if order is not None and order.venue_order_id and order.filled_qty > order.fills_qty:
            self._start_backfill(order.symbol, order.created_ns)  # its fills were lost

    def _settle_followup(self, key: tuple[Symbol, ClientOrderId], result: object) -> bool:
        """A group follow-up whose fate was unknown (committed before a restart, or an unknown
        outcome while running), now resolved by query. Never seen by the venue: sent again under
        the same client id, at most ``followup_resends`` times; after that it is rejected (the
        not-found is applied). True when the answer was consumed here."""
        cid = key[1]
        cmd = self._resend_if_missing.pop(cid)
        outbox_id = self._outbox_ids.pop(cid, None)
        if outbox_id is not None:  # a re-send adds its own entry in this same batch
            self._batch.outbox_done.append(outbox_id)
        order = self.book.get(*key)
        if not isinstance(result, OrderNotFoundReport) or order is None:
            self._resends.pop(cid, None)
            return False  # the venue has it: its report is applied as usual
        if order.status not in _RESENDABLE:
            self._resends.pop(cid, None)
            return True  # settled meanwhile (a snapshot listed it): nothing to send
        sent = self._resends.get(cid, 0)
        if sent >= self._cfg.followup_resends:
            self._resends.pop(cid, None)
            log.error("ALERT group follow-up %s: never reached the venue in %d re-sends", cid, sent)
            self._mark(order, Trigger.OUTCOME_UNKNOWN, "re-sends spent")  # not-found → REJECTED
            return False
        self._resends[cid] = sent + 1
        log.warning("group follow-up %s never reached the venue: sending it again", cid)
        if order.status is OrderStatus.PENDING_NEW:
            self._mark(order, Trigger.SUBMIT, "never reached the venue: sent again")
        self._send_now(cmd, followup=True)
        return True

    # -- stream and reconciliation ----------------------------------------------------------------

    async def _pump_stream(self) -> None:
        async for message in self._gw.stream():
            await self._queue.put(StreamMsg(message))

    def _on_stream(self, msg: StreamMsg) -> None:
        message = msg.message
        if isinstance(message, StreamGap):
            self.metrics.stream_gaps += 1
            if self._stream_buffer is None:
                self._stream_buffer = []
            self._start_reconcile("stream_gap" if message.down_since_ns else "startup")
            return
        if self._stream_buffer is not None:
            self._stream_buffer.append(message)
            return
        self._on_stream_item(message)

    def _on_stream_item(self, item: StreamItem) -> None:
        report = item.report
        if isinstance(report, (OrderStatusReport, FillReport, PositionReport, BalanceReport)):
            cid = getattr(report, "client_order_id", None)
            t = self._timing.pop(cid, None) if cid is not None else None
            if t is not None and t.acked_ns:
                self.metrics.latency["stream"].record(self._clock.monotonic_ns() - t.acked_ns)
            self._apply(report)
        elif isinstance(report, AlgoOrderReport):
            self._apply_algo(report)

    def _start_reconcile(self, reason: str) -> None:
        if self._reconciling:
            self._reconcile_again = reason
            return
        self._reconciling = True
        self._spawn(self._fetch_truth(reason))

    async def _fetch_truth(self, reason: str) -> None:
        try:
            snapshot = await self._gw.open_orders(list(self._cfg.symbols))
            positions = await self._gw.positions()
            msg = ReconcileMsg(reason, snapshot, positions)
        except Exception as exc:  # reported and retried by the loop
            msg = ReconcileMsg(reason, None, (), error=exc)
        await self._queue.put(msg)

    def _on_reconcile(self, msg: ReconcileMsg) -> None:
        self._reconciling = False
        if msg.snapshot is None:
            log.warning("reconciliation (%s) failed: %s; retrying", msg.reason, msg.error)
            self._arm_timer(self._cfg.retry_unknown_s, "reconcile")
            return
        before = order_fingerprints(self.book)
        self._apply(msg.snapshot)
        differences = describe_changes(before, order_fingerprints(self.book))
        for order in self.book.missing_from(msg.snapshot):
            differences.append(
                f"{order.client_order_id}: {order.status.value} here, not open on venue"
            )
            self._start_query(order.symbol, order.client_order_id, unknown=False)
        for position in msg.positions:
            self._apply(position)
        differences += compare_positions(self.book, msg.positions, self._cfg.symbols)
        self._backfill_missing_fills()
        self._record(
            Reconciled(reason=msg.reason, symbols=self._cfg.symbols, differences=tuple(differences))
        )
        self.metrics.reconciliations += 1
        self.metrics.reconciliation_differences += len(differences)
        buffered, self._stream_buffer = self._stream_buffer or [], None
        for item in buffered:
            self._on_stream_item(item)
        for order in self.book.orders():
            if order.status is OrderStatus.UNKNOWN:
                self._start_query(order.symbol, order.client_order_id, unknown=True)
        if self._reconcile_again is not None:
            again, self._reconcile_again = self._reconcile_again, None
            self._start_reconcile(again)

    def _backfill_missing_fills(self) -> None:
        """Orders whose filled quantity is ahead of the fills we hold lost a fill on the
        stream: fetch the symbol's trades since the oldest such order (the book counts each
        trade id once, so fills we already have change nothing)."""
        since: dict[Symbol, int] = {}
        for order in self.book.orders():
            if order.venue_order_id is not None and order.filled_qty > order.fills_qty:
                oldest = since.get(order.symbol, order.created_ns)
                since[order.symbol] = min(oldest, order.created_ns)
        for symbol, since_ns in since.items():
            self._start_backfill(symbol, since_ns)

    def _start_backfill(self, symbol: Symbol, since_ns: int) -> None:
        if symbol in self._backfilling:  # one fetch at a time; ask again when it is back
            self._backfill_again[symbol] = min(self._backfill_again.get(symbol, since_ns), since_ns)
            return
        self._backfilling.add(symbol)
        self._spawn(self._fetch_fills(symbol, since_ns - _BACKFILL_MARGIN_NS))

    async def _fetch_fills(self, symbol: Symbol, since_ns: int) -> None:
        try:
            msg = FillsMsg(symbol, await self._gw.fills(symbol, since_ns))
        except Exception as exc:  # reported; the next reconciliation tries again
            msg = FillsMsg(symbol, (), error=exc)
        await self._queue.put(msg)

    def _on_fills(self, msg: FillsMsg) -> None:
        symbol = Symbol(msg.symbol)
        self._backfilling.discard(symbol)
        again = self._backfill_again.pop(symbol, None)
        if again is not None:
            self._start_backfill(symbol, again)
        if msg.error is not None:
            log.warning("fetching %s trades failed: %s", msg.symbol, msg.error)
            return
        for fill in msg.fills:
            order = self.book.by_venue_id(fill.symbol, fill.venue_order_id)
            if order is not None and fill.trade_id not in {f.trade_id for f in order.fills}:
                self.metrics.fills_backfilled += 1
                self._apply(fill)

    # -- timers and tasks -------------------------------------------------------------------------

    def _post_timer(self, kind: str) -> None:
        try:
            self._queue.put_nowait(TimerMsg(kind))
        except asyncio.QueueFull:  # never lose a timer: try again in a moment
            asyncio.get_running_loop().call_later(0.001, self._post_timer, kind)

    def _arm_timer(self, delay_s: float, kind: str) -> None:
        self._timers = [t for t in self._timers if not t.cancelled()]
        self._timers.append(asyncio.get_running_loop().call_later(delay_s, self._post_timer, kind))

    def _on_timer(self, msg: TimerMsg) -> None:
        if msg.kind == "flush":
            self._flush()
        elif msg.kind == "reconcile":
            self._start_reconcile("periodic")
            if self._running:
                self._arm_timer(self._cfg.reconcile_interval_s, "reconcile")
        elif msg.kind == "retry":
            self._planner.retry_deferred(self._now)
            self._after_planning()
            for order in self.book.orders():
                if order.status is OrderStatus.UNKNOWN:
                    self._start_query(order.symbol, order.client_order_id, unknown=True)
            for cid, cmd in self._resend_if_missing.items():
                self._start_query(cmd.symbol, cid, unknown=True)
        elif msg.kind == "heartbeat" and self._running:
            heartbeat = getattr(self._gw, "countdown_cancel_all", None)
            if heartbeat is not None:
                for symbol in self._cfg.symbols:
                    self._spawn(heartbeat(symbol, self._cfg.dead_man_switch_ms))
            self._arm_timer(self._cfg.dead_man_switch_ms / 3000, "heartbeat")

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("engine task failed", exc_info=task.exception())

    def _gateway_error_rate(self) -> ErrorRate:
        """The gateway's failure share, as counts for the circuit breaker. The gateway reports a
        share over its own window; our request count stands in for the sample size, so a few
        early failures cannot trip the breaker before ``circuit_min_requests`` requests."""
        rate = self._gw.error_rate()
        requests = self.metrics.requests
        return ErrorRate(errors=round(rate * requests), requests=requests)


def _venue_refused(exc: BaseException) -> bool:
    """The venue said a definite "no" to the request itself (not: not sent, rate-limited, a
    retryable "try again", a duplicate id that proves an earlier attempt landed)."""
    if not isinstance(exc, Rejected) or exc.retryable:
        return False
    return not isinstance(exc, (NotSent, RateLimited, DuplicateClientOrderId))


def _refused_for_ns(exc: BaseException, now_mono_ns: int, default_s: float) -> int:
    """How long the gateway will refuse to send after ``exc``; 0 for other errors."""
    if isinstance(exc, RateBudgetExceededError):
        return exc.wait_ns
    if isinstance(exc, SendingHaltedError):
        until = exc.until_ns
        return max(0, until - now_mono_ns) if until is not None else int(default_s * 1e9)
    if isinstance(exc, RateLimited) and exc.retry_after_ms:
        return exc.retry_after_ms * NANOS_PER_MILLI
    return 0


__all__ = ["Listener", "Notification", "OmsNotRunningError", "OmsOverloadedError", "OrderManager"]
