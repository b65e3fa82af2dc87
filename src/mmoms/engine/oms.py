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

from mmoms.core.book import LocalOrderBook
from mmoms.core.clock import NANOS_PER_MILLI, Clock, LiveClock, ManualClock
from mmoms.core.commands import AmendOrder, CancelOrder, QueryOrder, SubmitOrder
from mmoms.core.enums import OrderStatus, OrderType, Side, TimeInForce
from mmoms.core.errors import MmomsError, UnrepresentableValueError
from mmoms.core.events import Event, OrderEvent
from mmoms.core.fsm import Trigger, is_allowed
from mmoms.core.ids import ClientOrderId, GroupId, StrategyId, Symbol
from mmoms.core.instrument import Instrument, PriceRounding
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
from mmoms.core.snapshot import encode_snapshot
from mmoms.engine.batcher import ActionBatcher, Flight
from mmoms.engine.client_ids import ClientOrderIdFactory
from mmoms.engine.config import OmsConfig
from mmoms.engine.diff import diff_side
from mmoms.engine.messages import (
    EngineMsg,
    IntentMsg,
    QueryMsg,
    ReconcileMsg,
    ReplyMsg,
    StreamMsg,
    TimerMsg,
)
from mmoms.engine.metrics import OmsMetrics
from mmoms.engine.reconcile import compare_positions, describe_changes, order_fingerprints
from mmoms.engine.risk import ErrorRate, RiskEngine, RiskRejection
from mmoms.engine.sender import send_flight
from mmoms.journal.records import (
    ApiErrorRecorded,
    BookCreate,
    BookMark,
    BookReport,
    CommandSent,
    Entry,
    EventRecorded,
    IntentReceived,
    Reconciled,
    RiskRejected,
    encode_entry,
    kind_of,
)
from mmoms.journal.store import Batch, JournalStore, OrderRow, Record, Snapshot
from mmoms.venues.errors import DuplicateClientOrderId, OrderNotFound, VenueError
from mmoms.venues.gateway import ExchangeGateway, StreamGap, StreamItem

log = logging.getLogger(__name__)

Notification = Event | RiskRejected
Listener = Callable[[Notification], None]
_DRAIN_MAX = 1_000


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
        self._batcher = ActionBatcher()
        self._desired: dict[tuple[StrategyId, Symbol], tuple[QuoteLevel, ...]] = {}
        self._intent_ns: dict[tuple[StrategyId, Symbol], int] = {}
        self._dirty: set[tuple[StrategyId, Symbol]] = set()
        self._pending_meta: dict[ClientOrderId, tuple[StrategyId, str | None, int]] = {}
        self._deferred_cancels: set[tuple[Symbol, ClientOrderId]] = set()
        self._deferred_amends: dict[tuple[Symbol, ClientOrderId], AmendOrderIntent] = {}
        self._timing: dict[ClientOrderId, _Timing] = {}
        self._querying: set[tuple[Symbol, ClientOrderId]] = set()
        self._stream_buffer: list[StreamItem] | None = []  # buffer until the first reconciliation
        self._reconciling = False
        self._reconcile_again: str | None = None
        self._flush_handle: asyncio.TimerHandle | None = None
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

    def cancel_all(self, strategy_id: StrategyId, symbol: Symbol | None = None) -> None:
        self._post_intent(CancelAllIntent(strategy_id=strategy_id, symbol=symbol))

    def position(self, symbol: Symbol) -> Decimal:
        return self.book.position(symbol)

    def instrument(self, symbol: Symbol) -> Instrument:
        return self._instruments[symbol]

    def _post_intent(self, intent: AnyIntent) -> None:
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
        self._seq = state.last_seq
        await self._gw.start()
        self._instruments = {i.symbol: i for i in await self._gw.instruments()}
        missing = [s for s in self._cfg.symbols if s not in self._instruments]
        if missing:
            raise MmomsError(f"the venue does not list {missing}")
        self._running = True
        self._spawn(self._pump_stream())
        # Orders that were in flight when we stopped: ask the venue about each one.
        for order in state.in_flight:
            self._start_query(order.symbol, order.client_order_id, unknown=True)
        self._arm_timer(self._cfg.reconcile_interval_s, "reconcile")
        if self._cfg.dead_man_switch_ms:
            self._arm_timer(self._cfg.dead_man_switch_ms / 3000, "heartbeat")

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
            await self._end_batch()

    async def stop(self, *, cancel_orders: bool = True) -> None:
        """Pull every quote and order of ours (optionally), journal, snapshot, disconnect."""
        if cancel_orders and self._running:
            for key in list(self._desired):
                self._desired[key] = ()
            self._queue.put_nowait(IntentMsg(CancelAllIntent(strategy_id=StrategyId("*")), 0))
            try:
                await asyncio.wait_for(self._wait_flat(), self._cfg.stop_timeout_s)
            except TimeoutError:
                log.warning("orders still open at stop: sweeping with cancel-all")
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
        else:
            self._on_timer(msg)

    async def _end_batch(self) -> None:
        if self._touched:
            self._batch.orders.extend(_row(o) for o in self._touched.values())
            self._touched.clear()
        if self._batch:
            batch, self._batch = self._batch, Batch()
            await self._store.commit(batch)
            self._records_since_snapshot += len(batch.records)
        committed = self._clock.monotonic_ns()
        for flight in self._outgoing:
            for action in flight.actions:
                timing = self._timing.get(action.client_order_id)
                if timing is not None:
                    timing.journaled_ns = committed
            self._spawn(self._send(flight))
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
        await self._store.save_snapshot(
            Snapshot(seq=self._seq, ts_ns=self._now, payload=encode_snapshot(self.book.snapshot()))
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
                self._settled(order)

    def _reject(
        self,
        check: RiskRejection,
        *,
        intent: AnyIntent | None = None,
        command: SubmitOrder | AmendOrder | None = None,
    ) -> None:
        entry = RiskRejected(intent=intent, command=command, check=check.check, reason=check.reason)
        self._record(entry, getattr(command, "client_order_id", ""))
        self._notifications.append(entry)
        self.metrics.count(self.metrics.risk_rejections, check.check)

    # -- intents --------------------------------------------------------------------------------

    def _on_intent(self, msg: IntentMsg) -> None:
        intent = msg.intent
        self._record(IntentReceived(intent=intent))
        if isinstance(intent, SetQuotes):
            key = (intent.strategy_id, intent.symbol)
            if intent.symbol not in self._instruments:
                self._reject(
                    RiskRejection("symbol", f"{intent.symbol} is not traded"), intent=intent
                )
                return
            levels = self._snap_levels(intent)
            if levels is None:
                return
            self._desired[key] = levels
            self._intent_ns.setdefault(key, msg.received_ns)
            self._dirty.add(key)
            self._schedule_flush()
        elif isinstance(intent, PlaceOrder):
            self._on_place(intent, msg.received_ns)
        elif isinstance(intent, CancelOrderIntent):
            self._cancel_by_id(intent.symbol, intent.client_order_id)
        elif isinstance(intent, AmendOrderIntent):
            self._deferred_amends[(intent.symbol, intent.client_order_id)] = intent
            self._try_deferred(intent.symbol, intent.client_order_id)
        else:
            self._on_cancel_all(intent)

    def _snap_levels(self, intent: SetQuotes) -> tuple[QuoteLevel, ...] | None:
        inst = self._instruments[intent.symbol]
        try:
            return tuple(
                QuoteLevel(
                    side=lv.side,
                    price=inst.round_price(lv.price, PriceRounding.PASSIVE, lv.side),
                    quantity=inst.round_qty(lv.quantity),
                    tag=lv.tag,
                    post_only=lv.post_only,
                )
                for lv in intent.levels
            )
        except UnrepresentableValueError as exc:
            self._reject(RiskRejection("instrument", str(exc)), intent=intent)
            return None

    def _on_place(self, intent: PlaceOrder, received_ns: int) -> None:
        inst = self._instruments.get(intent.symbol)
        if inst is None:
            self._reject(RiskRejection("symbol", f"{intent.symbol} is not traded"), intent=intent)
            return
        market = intent.order_type is OrderType.MARKET
        try:
            qty = inst.round_qty(intent.quantity, market=market)
            price = (
                None
                if intent.price is None
                else inst.round_price(intent.price, PriceRounding.PASSIVE, intent.side)
            )
        except UnrepresentableValueError as exc:
            self._reject(RiskRejection("instrument", str(exc)), intent=intent)
            return
        cid = intent.client_order_id or self._ids.next()
        cmd = SubmitOrder(
            ts_ns=self._now,
            client_order_id=cid,
            symbol=intent.symbol,
            side=intent.side,
            order_type=intent.order_type,
            quantity=qty,
            price=price,
            time_in_force=intent.time_in_force or (None if market else TimeInForce.GTC),
            reduce_only=intent.reduce_only,
            position_side=intent.position_side,
        )
        rejection = self.risk.check_new(
            self.book,
            symbol=cmd.symbol,
            side=cmd.side,
            order_type=cmd.order_type,
            quantity=qty,
            price=price,
            reduce_only=cmd.reduce_only,
        )
        if rejection is not None:
            self._reject(rejection, intent=intent, command=cmd)
            return
        self._pending_meta[cid] = (intent.strategy_id, intent.tag, received_ns)
        self._batcher.add(cmd)
        self._schedule_flush()

    def _cancel_by_id(self, symbol: Symbol, cid: ClientOrderId) -> None:
        if self._batcher.pending_new(cid):  # still in this window: it never leaves
            self._batcher.add(CancelOrder(ts_ns=self._now, client_order_id=cid, symbol=symbol))
            self._pending_meta.pop(cid, None)
            return
        self._deferred_cancels.add((symbol, cid))
        self._try_deferred(symbol, cid)

    def _on_cancel_all(self, intent: CancelAllIntent) -> None:
        everyone = intent.strategy_id == "*"
        for key in list(self._desired):
            if (everyone or key[0] == intent.strategy_id) and intent.symbol in (None, key[1]):
                self._desired[key] = ()
        for order in self.book.open_orders(intent.symbol):
            if order.external:
                continue
            if everyone or order.strategy_id == intent.strategy_id:
                self._cancel_by_id(order.symbol, order.client_order_id)

    def _try_deferred(self, symbol: Symbol, cid: ClientOrderId) -> None:
        """Act on a wanted cancel or amend once the order has no request in flight."""
        order = self.book.get(symbol, cid)
        if order is None or order.status.is_terminal:
            self._deferred_cancels.discard((symbol, cid))
            self._deferred_amends.pop((symbol, cid), None)
            return
        if order.status.is_in_flight or order.status is OrderStatus.INACTIVE:
            return  # wait until it settles: _settled() calls back
        if (symbol, cid) in self._deferred_cancels:
            self._deferred_cancels.discard((symbol, cid))
            self._deferred_amends.pop((symbol, cid), None)
            self._batcher.add(
                CancelOrder(
                    ts_ns=self._now,
                    client_order_id=cid,
                    symbol=symbol,
                    venue_order_id=order.venue_order_id,
                )
            )
            self._schedule_flush()
            return
        amend = self._deferred_amends.pop((symbol, cid), None)
        if amend is not None:
            self._queue_amend(order, amend.price, amend.quantity)

    def _queue_amend(self, order: Order, price: Decimal, total_qty: Decimal) -> None:
        inst = self._instruments[order.symbol]
        try:
            price = inst.round_price(price, PriceRounding.PASSIVE, order.side)
            total_qty = inst.round_qty(total_qty)
        except UnrepresentableValueError as exc:
            self._reject(RiskRejection("instrument", str(exc)))
            return
        rejection = self.risk.check_amend(self.book, order, price, total_qty)
        if rejection is not None:
            self._reject(rejection)
            return
        self._batcher.add(
            AmendOrder(
                ts_ns=self._now,
                client_order_id=order.client_order_id,
                symbol=order.symbol,
                side=order.side,
                quantity=total_qty,
                price=price,
                venue_order_id=order.venue_order_id,
            )
        )
        self._schedule_flush()

    # -- the window flush: diff, risk, batch, journal ----------------------------------------------

    def _schedule_flush(self) -> None:
        if self._flush_handle is None:
            loop = asyncio.get_running_loop()
            self._flush_handle = loop.call_later(
                self._cfg.batch_window_s, self._post_timer, "flush"
            )

    def _flush(self) -> None:
        self._flush_handle = None
        decided = self._clock.monotonic_ns()
        for key in list(self._dirty):
            self._diff(key, decided)
        self._dirty.clear()
        self.metrics.netted = self._batcher.netted
        for flight in self._batcher.drain():
            self._launch(flight, decided)

    def _diff(self, key: tuple[StrategyId, Symbol], decided: int) -> None:
        strategy_id, symbol = key
        levels = list(self._desired.get(key, ()))
        inst = self._instruments[symbol]
        mine = [
            o
            for o in self.book.orders(symbol)
            if o.strategy_id == strategy_id
            and o.group_id is None
            and o.status.is_open
            and o.order_type is OrderType.LIMIT
            and (symbol, o.client_order_id) not in self._deferred_cancels
        ]
        intent_ns = self._intent_ns.pop(key, decided)
        for side in Side:
            result = diff_side(
                side,
                levels,
                [o for o in mine if o.side is side],
                inst.tick_size,
                self._cfg.tolerance_for(symbol),
                allow_amend=self._cfg.allow_amend,
            )
            self.metrics.actions_saved += result.saved
            for cancel in result.cancels:
                o = cancel.order
                self._batcher.add(
                    CancelOrder(
                        ts_ns=self._now,
                        client_order_id=o.client_order_id,
                        symbol=symbol,
                        venue_order_id=o.venue_order_id,
                    )
                )
            for amend in result.amends:
                o = amend.order
                rejection = self.risk.check_amend(
                    self.book, o, amend.level.price, amend.new_quantity
                )
                if rejection is not None:  # do not leave the old quote standing: pull it
                    self._reject(rejection)
                    self._batcher.add(
                        CancelOrder(
                            ts_ns=self._now,
                            client_order_id=o.client_order_id,
                            symbol=symbol,
                            venue_order_id=o.venue_order_id,
                        )
                    )
                    continue
                self._timing[o.client_order_id] = _Timing(intent_ns, decided)
                self._batcher.add(
                    AmendOrder(
                        ts_ns=self._now,
                        client_order_id=o.client_order_id,
                        symbol=symbol,
                        side=o.side,
                        quantity=amend.new_quantity,
                        price=amend.level.price,
                        venue_order_id=o.venue_order_id,
                    )
                )
            for place in result.places:
                lv = place.level
                rejection = self.risk.check_new(
                    self.book,
                    symbol=symbol,
                    side=lv.side,
                    order_type=OrderType.LIMIT,
                    quantity=lv.quantity,
                    price=lv.price,
                )
                if rejection is not None:
                    self._reject(rejection)
                    continue
                cid = self._ids.next()
                self._pending_meta[cid] = (strategy_id, lv.tag, intent_ns)
                self._batcher.add(
                    SubmitOrder(
                        ts_ns=self._now,
                        client_order_id=cid,
                        symbol=symbol,
                        side=lv.side,
                        order_type=OrderType.LIMIT,
                        quantity=lv.quantity,
                        price=lv.price,
                        time_in_force=TimeInForce.GTX if lv.post_only else TimeInForce.GTC,
                    )
                )

    def _launch(self, flight: Flight, decided: int) -> None:
        """Book and journal the flight's actions now; they go on the wire after the commit."""
        kept: list[SubmitOrder | AmendOrder | CancelOrder] = []
        for action in flight.actions:
            cid = action.client_order_id
            if isinstance(action, SubmitOrder):
                strategy_id, tag, intent_ns = self._pending_meta.pop(
                    cid, (StrategyId(""), None, decided)
                )
                self._create(action, strategy_id=strategy_id, tag=tag)
                self._timing.setdefault(cid, _Timing(intent_ns, decided))
                self.metrics.count(self.metrics.actions, "new")
            else:
                order = self.book.get(action.symbol, cid)
                trigger = (
                    Trigger.AMEND_SENT if isinstance(action, AmendOrder) else Trigger.CANCEL_SENT
                )
                if order is None or not self._mark(order, trigger):
                    continue  # settled meanwhile (filled, canceled): nothing to send
                self.metrics.count(
                    self.metrics.actions, "amend" if trigger is Trigger.AMEND_SENT else "cancel"
                )
            self._record(CommandSent(command=action), cid)
            kept.append(action)
        if kept:
            self._outgoing.append(Flight(flight.symbol, tuple(kept)))

    async def _send(self, flight: Flight) -> None:
        sent = self._clock.monotonic_ns()
        for action in flight.actions:
            timing = self._timing.get(action.client_order_id)
            if timing is not None:
                timing.sent_ns = sent
        self.metrics.requests += 1
        results = await send_flight(self._gw, flight)
        await self._queue.put(ReplyMsg(flight, results, sent, self._clock.monotonic_ns()))

    # -- replies --------------------------------------------------------------------------------

    def _on_reply(self, msg: ReplyMsg) -> None:
        for action, result in zip(msg.flight.actions, msg.results, strict=True):
            self._observe_ack(action.client_order_id, msg.replied_ns)
            order = self.book.get(action.symbol, action.client_order_id)
            if isinstance(result, (OrderStatusReport, FillReport)):
                self._apply(result)
            elif isinstance(result, OrderNotFoundReport):
                if order is not None:
                    self._mark(order, Trigger.CANCEL_FAILED, "venue: unknown order")
                    self._start_query(order.symbol, order.client_order_id, unknown=False)
            elif isinstance(result, BaseException) and order is not None:
                self._on_failure(action, order, result)
            # AlgoOrderReport and anything else: contingent orders handle them (not yet here)

    def _on_failure(
        self, action: SubmitOrder | AmendOrder | CancelOrder, order: Order, exc: BaseException
    ) -> None:
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
            self._mark(order, Trigger.AMEND_FAILED, reason)
        else:
            self._mark(order, Trigger.CANCEL_FAILED, reason)
            if isinstance(exc, OrderNotFound):
                self._start_query(order.symbol, order.client_order_id, unknown=False)
            else:  # not sent (budget, halt): keep wanting it gone
                self._deferred_cancels.add((order.symbol, order.client_order_id))
                self._arm_timer(self._cfg.retry_unknown_s, "retry")

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

    def _settled(self, order: Order) -> None:
        key = (order.symbol, order.client_order_id)
        if key in self._deferred_cancels or key in self._deferred_amends:
            self._try_deferred(*key)
        if order.strategy_id is not None and (order.strategy_id, order.symbol) in self._desired:
            self._dirty.add((order.strategy_id, order.symbol))
            self._schedule_flush()

    # -- queries --------------------------------------------------------------------------------

    def _start_query(self, symbol: Symbol, cid: ClientOrderId, *, unknown: bool) -> None:
        if (symbol, cid) in self._querying:
            return
        self._querying.add((symbol, cid))
        self._spawn(self._query(symbol, cid, unknown))

    async def _query(self, symbol: Symbol, cid: ClientOrderId, unknown: bool) -> None:
        try:
            if unknown:
                result = await self._gw.resolve_unknown(symbol, cid)
            else:
                result = await self._gw.query(
                    QueryOrder(ts_ns=self._clock.time_ns(), client_order_id=cid, symbol=symbol)
                )
            msg = QueryMsg(result, symbol, cid)
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
        self._apply(msg.result)

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
            for symbol, cid in list(self._deferred_cancels):
                self._try_deferred(symbol, cid)
            for order in self.book.orders():
                if order.status is OrderStatus.UNKNOWN:
                    self._start_query(order.symbol, order.client_order_id, unknown=True)
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
        rate = self._gw.error_rate()
        return (
            ErrorRate(errors=int(rate * 100), requests=100)
            if self.metrics.requests >= 20
            else ErrorRate()
        )


def _row(order: Order) -> OrderRow:
    return OrderRow(
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        side=order.side.value,
        order_type=order.order_type.value,
        status=order.status.value,
        price=order.price,
        quantity=order.quantity,
        filled_qty=order.filled_qty,
        venue_order_id=order.venue_order_id,
        updated_ns=order.updated_ns,
    )


__all__ = ["Listener", "Notification", "OmsNotRunningError", "OmsOverloadedError", "OrderManager"]
