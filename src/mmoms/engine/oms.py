"""The OrderManager: one asyncio task owns every order; everything else sends it messages.

The loop (single writer, LMAX style):

1. take every message waiting in the bounded inbound queue (intents, stream reports, replies,
   query answers, reconciliation snapshots, timers);
2. handle each one: the local book changes, and every book input, command, event, risk
   rejection, API error and reconciliation becomes a journal record;
3. seal the batch and hand it to the journal — one transaction per drained batch, so
   durability costs one fsync per batch, not per event — and go on with the next messages while
   it is written (pipelined group commit, :mod:`.commits`: batches sealed during an fsync are
   merged into the next transaction). A batch's requests go on the wire, and the strategies hear
   of its events, only once *that* batch is durable (write-ahead: nothing leaves before it is
   journaled; nobody hears of a change before it is durable).

Quotes are declarative. The latest :class:`SetQuotes` per (strategy, symbol) is kept; a window
(10 ms by default) after the first change the engine diffs it against the live orders once,
checks risk, nets, and sends cancels first in venue-sized batches. An order with a request in
flight is never acted on: its level is re-diffed when it settles.

Truth comes from three sources merged by the book: REST replies, the user-data stream and
reconciliation (at startup, every ``reconcile_interval_s``, on every stream gap, and per order
for unknown outcomes and orders missing from a snapshot).

Each input is routed by one table (:mod:`.routing`: message type → handler); a handler changes
the state and returns what should happen next, which the router routes in turn. The rooms:

========================  =====================================================================
:mod:`.routing`           the routing table and the cascade of one input
:mod:`.messages`          every message: inputs, follow-ons, effects
:mod:`.book_writer`       every book change, journaled as it is made; its reactions collected
:mod:`.quoting`           intents, the quoting window, the budget (with :mod:`.quote_planner`)
:mod:`.group_runner`      contingent groups: intents, plans, protection
:mod:`.local_stops`       stops held by the engine for a venue that holds none
:mod:`.replies`           the venue's answers and failures
:mod:`.followups`         group follow-ups of unknown fate: resolved by query, re-sent (bounded)
:mod:`.reconciler`        queries, reconciliation, fills backfill
:mod:`.stream_handler`    the user-data stream and its gaps
:mod:`.outgoing`          this batch's flights; on the wire after the commit
:mod:`.tasks`             timers, and the tasks that ask the venue (answers come back as inputs)
:mod:`.journal_writer`    the batch being built: records, outbox, order rows
:mod:`.commits`           the pipelined group commit; who hears of a durable batch, and when
========================  =====================================================================
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from decimal import Decimal

import msgspec

from mmoms.contingent import CancelGroup, Group, GroupState, PlaceGroup
from mmoms.core.book import LocalOrderBook
from mmoms.core.clock import NANOS_PER_MILLI, Clock, LiveClock, ManualClock
from mmoms.core.commands import CancelAllOrders
from mmoms.core.enums import OrderStatus, OrderType, Side, TimeInForce
from mmoms.core.errors import InvalidOrderError, MmomsError
from mmoms.core.ids import ClientOrderId, GroupId, StrategyId, Symbol
from mmoms.core.instrument import Instrument
from mmoms.core.intents import (
    AnyIntent,
    CancelAllIntent,
    CancelOrderIntent,
    QuoteLevel,
    SetQuotes,
)
from mmoms.core.ledger import Ledger
from mmoms.core.validation import check_client_order_id, check_symbol
from mmoms.engine import intake
from mmoms.engine.book_writer import BookWriter, Notification
from mmoms.engine.client_ids import ClientOrderIdFactory
from mmoms.engine.commits import CommitPipeline, Listener, Listeners, Sealed
from mmoms.engine.config import OmsConfig
from mmoms.engine.followups import Followups
from mmoms.engine.group_runner import GroupRunner
from mmoms.engine.group_watch import GroupStats, GroupWatch
from mmoms.engine.groups import GroupBook
from mmoms.engine.journal_writer import JournalWriter
from mmoms.engine.local_stops import LocalStops, order_command
from mmoms.engine.messages import (
    ArmTimer,
    BackfillWanted,
    CancelWanted,
    Decision,
    EngineMsg,
    FetchFills,
    FetchOrder,
    FetchTruth,
    FillBooked,
    FillsMsg,
    GroupIntentMsg,
    GroupOrderEvent,
    Heartbeat,
    IntentMsg,
    OrderSettled,
    PriceMsg,
    QueryMsg,
    QueryWanted,
    ReconcileMsg,
    ReconcileWanted,
    ReplyMsg,
    Send,
    SendingHeld,
    StreamMsg,
    StreamReleased,
    TimerMsg,
)
from mmoms.engine.metrics import ActionTimings, OmsMetrics
from mmoms.engine.outgoing import Outgoing
from mmoms.engine.quote_planner import EVERY_STRATEGY, QuotePlanner
from mmoms.engine.quoting import Quoting
from mmoms.engine.reconciler import Reconciler
from mmoms.engine.replies import ReplyHandler
from mmoms.engine.risk import ErrorRate, RiskEngine
from mmoms.engine.routing import Router
from mmoms.engine.stream_handler import StreamHandler
from mmoms.engine.tasks import Background, VenueTasks
from mmoms.journal.store import JournalIdentity, JournalStore
from mmoms.venues.gateway import ExchangeGateway

log = logging.getLogger(__name__)

_DRAIN_MAX = 1_000
_BATCH_END = TimerMsg("batch_end")


class OmsOverloadedError(MmomsError):
    """The engine's inbound queue is full: the intent was not accepted. Try again shortly."""


class OmsNotRunningError(MmomsError):
    """The engine is not running (not started, or stopped)."""


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
        self._clock = clock = clock or LiveClock()
        self.metrics = metrics = OmsMetrics()
        caps = gateway.capabilities
        self._ids = ClientOrderIdFactory(
            config.client_id_prefix,
            clock.time_ns() // NANOS_PER_MILLI,
            gateway.capabilities.client_id_rule,
        )
        self._queue: asyncio.Queue[EngineMsg] = asyncio.Queue(maxsize=config.queue_size)
        self._instruments: dict[Symbol, Instrument] = {}
        self._journal = journal = JournalWriter()
        self._writer = writer = BookWriter(ManualClock(clock.time_ns()), journal, metrics)
        group_book = GroupBook()
        self.risk = risk = RiskEngine(
            config.risk,
            clock,
            error_rate=self._gateway_error_rate,
            group_resting=group_book.resting,  # a group counts once, not leg by leg
            book_version=lambda: writer.version,
        )
        self._background = background = Background(self._queue)
        timings = ActionTimings(metrics.latency)
        self._planner = planner = QuotePlanner(
            writer.book, risk, self._instruments, config, self._ids, metrics,
            venue=gateway.capabilities, strategy_position=self._strategy_position,
        )  # fmt: skip
        # The handlers: each takes its messages and returns decisions (see .routing).
        self._stops = stops = LocalStops(writer, venue_holds_stops=caps.holds_stops)
        # The effects: applied by the router itself.
        self._outgoing = outgoing = Outgoing(journal, gateway, background, timings, metrics, clock)
        self._quoting = quoting = Quoting(
            writer, planner, stops, outgoing.in_flight, timings, config, metrics, clock
        )
        watch = GroupWatch(metrics.latency["protect"])
        self._groups = groups = GroupRunner(
            writer, group_book, stops, risk, watch, timings, config, clock, planner.limits,
            venue_amends=caps.supports_amend,
        )  # fmt: skip
        self._followups = followups = Followups(writer, config, metrics)
        reconciler = Reconciler(
            writer, followups, config, metrics, conditional_apart=caps.stops_kept_apart,
            made_before=self._ids.made_before,
        )  # fmt: skip
        stream = StreamHandler(writer, timings, metrics, clock)
        self._replies = ReplyHandler(writer, followups, timings, config, metrics, clock)
        self._tasks = tasks = VenueTasks(gateway, background, config, clock)
        self._router = Router(
            routes={
                IntentMsg: quoting.on_intent,
                GroupIntentMsg: groups.on_intent,
                StreamMsg: stream.on_stream,
                ReplyMsg: self._on_reply,
                QueryMsg: reconciler.on_query,
                ReconcileMsg: reconciler.on_reconcile,
                FillsMsg: reconciler.on_fills,
                PriceMsg: stops.on_price,
                OrderSettled: quoting.on_settled,
                GroupOrderEvent: groups.on_order_event,
                FillBooked: self._after_fill,
                CancelWanted: quoting.on_cancel_wanted,
                SendingHeld: quoting.on_sending_held,
                QueryWanted: reconciler.on_query_wanted,
                ReconcileWanted: reconciler.on_reconcile_wanted,
                BackfillWanted: reconciler.on_backfill_wanted,
                StreamReleased: stream.on_released,
            },
            effects={
                Send: outgoing.add,
                ArmTimer: lambda t: background.arm_timer(t.delay_s, t.kind),
                FetchOrder: tasks.fetch_order,
                FetchTruth: tasks.fetch_truth,
                FetchFills: tasks.fetch_fills,
                Heartbeat: tasks.heartbeat,
            },
            timers={
                "flush": quoting.on_flush,
                "batch_end": quoting.on_batch_end,
                "budget": quoting.on_budget,
                "retry": lambda: quoting.on_retry() + reconciler.on_retry(),
                "reconcile": self._periodic_reconcile,
                "heartbeat": self._heartbeat,
            },
            reactions=writer.reactions,
        )
        self._listeners = listeners = Listeners(outgoing)
        self._commits = CommitPipeline(
            store,
            listeners.durable,
            listeners.caught_up,
            clock.monotonic_ns,
            wake=lambda: background.post_timer("journal"),
        )
        self._error_rate: ErrorRate | None = None  # the gateway's, as of this drained batch
        self._running = False
        self.failure: BaseException | None = None  # why run() ended, if it did not end by stop()

    @property
    def book(self) -> LocalOrderBook:
        """The local order book (read it; only the engine loop changes it)."""
        return self._writer.book

    # -- strategy API -------------------------------------------------------------------------

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener`` with every event (after it is journaled) and every risk rejection."""
        self._listeners.events.append(listener)

    def add_batch_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` once everything the engine decided is committed: the book then
        equals the journal (dashboards, tests, checkpoints). See :mod:`.commits`."""
        self._listeners.batches.append(listener)

    def set_quotes(
        self, strategy_id: StrategyId, symbol: Symbol, levels: Iterable[QuoteLevel]
    ) -> None:
        """The full set of quotes wanted on ``symbol`` (empty: pull them all).

        Raises:
            InvalidOrderError: a bad argument (nothing is queued).
            OmsOverloadedError, OmsNotRunningError.
        """
        intent = SetQuotes(
            strategy_id=intake.strategy_id(strategy_id),
            symbol=check_symbol(symbol, self._cfg.symbols),
            levels=intake.quote_levels(levels),
        )
        self._post_intent(intent)

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
            InvalidOrderError: a bad argument (nothing is queued, no id is used up).
            OmsOverloadedError, OmsNotRunningError.
        """
        self._check_running()
        intent = intake.place_intent(
            self._cfg.symbols, strategy=intake.strategy_id(strategy_id), symbol=symbol,
            side=side, quantity=quantity, price=price, order_type=order_type,
            time_in_force=time_in_force, reduce_only=reduce_only, tag=tag,
            client_order_id=ClientOrderId(""),
        )  # fmt: skip
        cid = self._ids.next()
        self._post_intent(msgspec.structs.replace(intent, client_order_id=cid))
        return cid

    def cancel(
        self, strategy_id: StrategyId, symbol: Symbol, client_order_id: ClientOrderId
    ) -> None:
        """Raises: InvalidOrderError, OmsOverloadedError, OmsNotRunningError."""
        intent = CancelOrderIntent(
            strategy_id=intake.strategy_id(strategy_id),
            symbol=check_symbol(symbol, self._cfg.symbols),
            client_order_id=check_client_order_id(client_order_id),
        )
        self._post_intent(intent)

    def amend(
        self,
        strategy_id: StrategyId,
        symbol: Symbol,
        client_order_id: ClientOrderId,
        price: Decimal,
        quantity: Decimal,
    ) -> None:
        """``quantity`` is the new total (filled included).

        Raises:
            InvalidOrderError: a bad argument, or the venue does not amend in place (cancel and
                place instead: a new order has a new id, which only the caller can choose to
                follow).
            OmsOverloadedError, OmsNotRunningError.
        """
        if not self._gw.capabilities.supports_amend:
            raise InvalidOrderError(
                f"{self._gw.capabilities.venue} does not amend orders in place: cancel and place"
            )
        intent = intake.amend_intent(
            self._cfg.symbols, strategy=intake.strategy_id(strategy_id), symbol=symbol,
            client_order_id=check_client_order_id(client_order_id), price=price,
            quantity=quantity,
        )  # fmt: skip
        self._post_intent(intent)

    def place_group(self, strategy_id: StrategyId, group: Group) -> GroupId:
        """Submit a contingent group (OCO, OTO, bracket...; see :mod:`mmoms.contingent`).

        Raises:
            InvalidOrderError: not a Group, a symbol not traded, a leg with bad money.
            OmsOverloadedError, OmsNotRunningError.
        """
        checked = intake.group(self._cfg.symbols, group, self._gw.capabilities.client_id_rule)
        intent = PlaceGroup(strategy_id=intake.strategy_id(strategy_id), group=checked)
        self._post(GroupIntentMsg(intent, self._clock.monotonic_ns()))
        return checked.group_id

    def cancel_group(self, strategy_id: StrategyId, group_id: GroupId) -> None:
        """Raises: InvalidOrderError, OmsOverloadedError, OmsNotRunningError."""
        if not isinstance(group_id, str):
            raise InvalidOrderError(f"group id must be a string: {group_id!r:.40}")
        intent = CancelGroup(strategy_id=intake.strategy_id(strategy_id), group_id=group_id)
        self._post(GroupIntentMsg(intent, self._clock.monotonic_ns()))

    def group(self, group_id: GroupId) -> GroupState | None:
        return self._groups.groups.get(group_id)

    def now_ns(self) -> int:
        """The engine clock's wall time."""
        return self._clock.time_ns()

    def group_strategy(self, group_id: GroupId) -> StrategyId | None:
        """Whose group it is."""
        return self._groups.groups.strategy(group_id)

    def groups(self) -> list[GroupState]:
        return self._groups.groups.states()

    def group_stats(self) -> GroupStats:
        """Unprotected time (entry fill → protective stop acknowledged: worst, and the groups
        unprotected right now), overfills, flattens and refused protective stops; see
        :mod:`mmoms.engine.group_watch`."""
        return self._groups.watch.stats(self._clock.monotonic_ns())

    def cancel_all(self, strategy_id: StrategyId, symbol: Symbol | None = None) -> None:
        """Raises: InvalidOrderError, OmsOverloadedError, OmsNotRunningError."""
        checked = None if symbol is None else check_symbol(symbol, self._cfg.symbols)
        sid = strategy_id if strategy_id == EVERY_STRATEGY else intake.strategy_id(strategy_id)
        self._post_intent(CancelAllIntent(strategy_id=sid, symbol=checked))

    def position(self, symbol: Symbol) -> Decimal:
        """The account's net position on ``symbol`` (every strategy's, and external fills)."""
        return self.book.position(symbol)

    @property
    def ledger(self) -> Ledger:
        """Positions, realized PnL and fees per strategy and symbol (read it; the loop writes)."""
        return self._writer.ledger

    @property
    def symbols(self) -> tuple[Symbol, ...]:
        return self._cfg.symbols

    def set_reference_price(self, symbol: Symbol, price: Decimal) -> None:
        """The mark or mid price the fat-finger band is checked against, and stops held
        locally (a venue that holds none) are triggered by."""
        self.risk.set_reference_price(symbol, price)
        if symbol in self._stops.symbols and self._running:
            try:
                self._queue.put_nowait(PriceMsg(symbol, price))
            except asyncio.QueueFull:  # the next price comes soon; a stop is not lost
                log.warning("inbound queue full: price for %s not passed to local stops", symbol)

    def rate_pools(self) -> list[tuple[str, int, int]]:
        """(pool, used, limit) of every rate-limit pool the gateway tracks."""
        return [(p.name, p.used, p.limit) for p in self._gw.rate_state().pools]

    def instrument(self, symbol: Symbol) -> Instrument:
        return self._instruments[symbol]

    @property
    def running(self) -> bool:
        """True while intents are accepted (started, not stopped, the loop alive)."""
        return self._running

    def _post_intent(self, intent: AnyIntent) -> None:
        self._post(IntentMsg(intent, self._clock.monotonic_ns()))

    def _post(self, msg: IntentMsg | GroupIntentMsg) -> None:
        self._check_running()
        try:
            self._queue.put_nowait(msg)
        except asyncio.QueueFull:
            raise OmsOverloadedError(f"inbound queue full ({self._queue.maxsize})") from None

    def _check_running(self) -> None:
        if not self._running:
            if self.failure is not None:
                raise OmsNotRunningError(
                    f"the order manager stopped on an error: {self.failure!r}"
                ) from self.failure
            raise OmsNotRunningError("the order manager is not running")

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self, *, identity: tuple[str, str] | None = None) -> None:
        """Recover from the journal, connect, resolve what was in flight, reconcile. Trading
        (intents) is accepted only after this returns.

        ``identity`` — (venue kind, endpoint): the journal must belong to that venue and to the
        account the gateway is logged into (its fingerprint); checked before anything from the
        journal reaches the venue (a resumed cancel would hit the wrong account).

        Raises:
            JournalLockedError: another process holds the journal (refused at once).
            JournalIdentityError: the journal belongs to another venue or account.
            JournalError: the journal cannot be opened or read.
            VenueError / MmomsError: the venue cannot be reached.
        """
        from mmoms.journal.recovery import recover  # the journal's own recovery

        await self._store.open()
        state = await recover(self._store)
        self._writer.book = self._planner.book = LocalOrderBook.restore(
            state.book.snapshot(), self._writer.clock
        )
        self._writer.ledger = Ledger.rebuild(self._writer.book.orders())
        self._journal.seq = state.last_seq
        await self._groups.restore(self._store, state.snapshot_seq)
        self._rearm_local_stops()
        await self._gw.start()
        if identity is not None:
            account = await self._gw.account_fingerprint()
            await self._store.claim_identity(JournalIdentity(*identity, account))
        self._instruments.update({i.symbol: i for i in await self._gw.instruments()})
        missing = [s for s in self._cfg.symbols if s not in self._instruments]
        if missing:
            raise MmomsError(f"the venue does not list {missing}")
        self._writer.tick(self._clock.time_ns())
        for decision in self._followups.resume(state.in_flight, state.pending_outbox):
            self._router.dispatch(decision)
        self._end_batch()
        await self._commits.drain()
        self._running = True
        self._tasks.pump_stream()
        # The stream's first gap may come later, or never: reconcile now.
        self._router.dispatch(ReconcileWanted("startup"))
        for order in state.in_flight:
            self._router.dispatch(QueryWanted(order.symbol, order.client_order_id, True))
        self._background.arm_timer(self._cfg.reconcile_interval_s, "reconcile")
        if self._cfg.dead_man_switch_ms:
            self._background.arm_timer(self._cfg.dead_man_switch_ms / 3000, "heartbeat")

    async def run(self) -> None:
        """The engine loop; returns after :meth:`stop`.

        Raises:
            whatever a handler raises: a bug stops the engine loudly instead of corrupting state.
        """
        try:
            await self._loop()
        except BaseException as exc:
            # Loud, never silent: every later call raises OmsNotRunningError naming the cause.
            self._running = False
            if self.failure is None:
                self.failure = exc
            raise

    async def _loop(self) -> None:
        queue, handle, commits, quoting = self._queue, self._handle, self._commits, self._quoting
        while self._running or not queue.empty():
            msg = await queue.get()
            self._error_rate = None  # replies change it between batches, not within one
            handle(msg)
            drained = 1
            while drained < _DRAIN_MAX and not queue.empty():
                handle(queue.get_nowait())
                drained += 1
            if quoting.planner.needs_flush:
                handle(_BATCH_END)  # decide now (leading edge) or collect: one commit either way
            self._end_batch()  # handed to the store; the loop goes on while it is written
            if commits.backlogged:
                await commits.drain()
            if self._journal.records_since_snapshot >= self._cfg.snapshot_every:
                await commits.drain()  # a snapshot claims every record up to its seq
                await self._save_snapshot()
        await commits.drain()  # every decided request released before run() returns

    async def stop(self, *, cancel_orders: bool = True) -> None:
        """Pull every quote and order of ours (optionally), journal, snapshot, disconnect.

        With a dead engine loop (:attr:`failure`) nothing can be journaled any more: the venue
        is swept with cancel-all on every symbol at once, so our orders do not outlive us.
        """
        if cancel_orders and self._running:
            self._quoting.pull_all()
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
                await self._sweep()
        elif cancel_orders and self.failure is not None:
            log.error("the engine loop is dead: sweeping the venue with cancel-all")
            await self._sweep()
        self._running = False
        self._queue.put_nowait(TimerMsg("stop"))
        self._background.cancel_timers()

    async def _sweep(self) -> None:
        """Cancel-all on every traded symbol, straight through the gateway (no journal)."""
        for symbol in self._cfg.symbols:
            try:
                now = self._clock.time_ns()
                await self._gw.cancel_all(CancelAllOrders(ts_ns=now, symbol=symbol))
            except MmomsError as exc:
                log.error("cancel-all sweep on %s failed: %s", symbol, exc)

    async def close(self) -> None:
        """After :meth:`run` returned: final snapshot, stop tasks, close gateway and store."""
        if self._commits.failed is None and self.failure is None:  # else: a suspect state
            await self._commits.drain()
            await self._save_snapshot()
        await self._background.cancel_tasks()
        await self._gw.close()
        await self._store.close()

    async def _wait_flat(self) -> None:
        idle = self._listeners.idle
        while any(o.status.is_open for o in self.book.orders() if not o.external):
            idle.clear()
            await idle.wait()

    # -- the loop's batch -------------------------------------------------------------------------

    def _handle(self, msg: EngineMsg) -> None:
        self._writer.tick(self._clock.time_ns())
        self._router.dispatch(msg)

    def _end_batch(self) -> None:
        flights, followups = self._outgoing.take()
        notifications, self._writer.notifications = self._writer.notifications, []
        self._commits.submit(Sealed(self._journal.seal(), flights, followups, notifications))

    async def _save_snapshot(self) -> None:
        """The book and the active groups as of the last record (everything is durable)."""
        extensions = {"groups": self._groups.groups.to_raw()}
        await self._store.save_snapshot(self._journal.snapshot(self.book, extensions))

    def _rearm_local_stops(self) -> None:
        """After a restart: every stop held here before is held again (see .local_stops): an
        INACTIVE conditional order of no group, or of a group whose plan has sent it."""
        if not self._stops.active:
            return
        for order in self.book.orders():
            if order.status is not OrderStatus.INACTIVE or not order.order_type.is_conditional:
                continue
            if order.group_id is None or self._groups.groups.was_sent(order.client_order_id):
                self._stops.arm(order_command(order, self._clock.time_ns()))

    # -- the few routes that are the engine's own ------------------------------------------------

    def _on_reply(self, msg: ReplyMsg) -> list[Decision]:
        self._outgoing.landed(msg.flight)  # one fewer in flight (leading-edge batching)
        return self._replies.on_reply(msg)

    def _after_fill(self, msg: FillBooked) -> list[object]:
        self.risk.after_fill(self._writer.book, msg.symbol)  # the automatic kill switch
        return []

    def _periodic_reconcile(self) -> list[object]:
        out: list[object] = [ReconcileWanted("periodic")]
        if self._running:
            out.append(ArmTimer("reconcile", self._cfg.reconcile_interval_s))
        return out

    def _heartbeat(self) -> list[object]:
        if not self._running:
            return []
        timeout_ms = self._cfg.dead_man_switch_ms
        out: list[object] = [Heartbeat(symbol, timeout_ms) for symbol in self._cfg.symbols]
        out.append(ArmTimer("heartbeat", timeout_ms / 3000))
        return out

    def _strategy_position(self, strategy_id: StrategyId, symbol: Symbol) -> Decimal:
        found = self._writer.ledger.get(strategy_id, symbol)  # the ledger is rebuilt at start
        return found.position if found is not None else Decimal(0)

    def _gateway_error_rate(self) -> ErrorRate:
        """The gateway's failure share, as counts for the circuit breaker. The gateway reports a
        share over its own window; our request count stands in for the sample size, so a few
        early failures cannot trip the breaker before ``circuit_min_requests`` requests.
        Computed once per drained batch: a burst of intents asks once, not once per order."""
        rate = self._error_rate
        if rate is None:
            share, requests = self._gw.error_rate(), self.metrics.requests
            rate = self._error_rate = ErrorRate(errors=round(share * requests), requests=requests)
        return rate


__all__ = ["Listener", "Notification", "OmsNotRunningError", "OmsOverloadedError", "OrderManager"]
