"""The local order book: symbol → client order id → order, converging to the venue's truth.

REST replies, stream reports and reconciliation snapshots are merged by one set of rules:

* a status never moves backwards: a report whose venue status ranks below what we have seen
  (NEW < PARTIALLY_FILLED < terminal), or whose cumulative filled quantity is below ours, is
  stale and ignored;
* filled quantity only grows and never exceeds the order quantity (a report that would push it
  over is an anomaly, recorded and not applied);
* each trade id counts once per symbol and side, wherever it came from (stream, REST,
  ``userTrades``) — the side only matters for a self-trade, one trade with two fills of ours;
* a report about an order we do not know is adopted as an external order, never dropped;
  a fill for an unknown order is counted in the position at once and attached to the order
  when its status report arrives.

Timestamps are used only as a tie-break between equal-rank reports (amendments), never as the
primary order: Binance stamps in milliseconds and two updates can share one. Anything a
tie-break gets wrong, the next reconciliation snapshot corrects. Every status change goes
through :mod:`mmoms.core.fsm` (:meth:`LocalOrderBook._move`); a pair it does not allow becomes an
:class:`OrderAnomaly` event. Orders are frozen to everyone else: the book writes their fields
with ``object.__setattr__`` (:data:`_set`), nobody else can.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import msgspec

from mmoms.core.clock import Clock
from mmoms.core.commands import SubmitOrder
from mmoms.core.enums import OrderStatus, PositionSide, Side, VenueOrderStatus
from mmoms.core.events import (
    Event,
    OrderAccepted,
    OrderAdopted,
    OrderAmended,
    OrderAmendRejected,
    OrderAnomaly,
    OrderCanceled,
    OrderCancelRejected,
    OrderCreated,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderOutcomeUnknown,
    OrderPendingAmend,
    OrderPendingCancel,
    OrderRejected,
    OrderSubmitted,
    OrderUpdated,
    ReasonedOrderEvent,
)
from mmoms.core.fsm import InvalidTransitionError, Trigger, is_allowed, next_status
from mmoms.core.ids import ClientOrderId, GroupId, StrategyId, Symbol, TradeId, VenueOrderId
from mmoms.core.order import Fill, Order, new_order
from mmoms.core.reports import (
    AnyReport,
    BalanceReport,
    FillReport,
    OpenOrdersSnapshot,
    OrderNotFoundReport,
    OrderStatusReport,
    PositionReport,
)
from mmoms.core.snapshot import (
    SNAPSHOT_VERSION,
    BookSnapshot,
    FillState,
    OrderState,
    PositionState,
    state_hash,
)

_TRIGGER_FOR_STATUS = {
    VenueOrderStatus.NEW: Trigger.ACCEPTED,
    VenueOrderStatus.PARTIALLY_FILLED: Trigger.PARTIALLY_FILLED,
    VenueOrderStatus.FILLED: Trigger.FILLED,
    VenueOrderStatus.CANCELED: Trigger.CANCELED,
    VenueOrderStatus.EXPIRED: Trigger.EXPIRED,
    VenueOrderStatus.EXPIRED_IN_MATCH: Trigger.EXPIRED,  # lossy: STP expiry is an expiry to us
    VenueOrderStatus.REJECTED: Trigger.REJECTED,
}

_STATUS_FOR_VENUE = {
    VenueOrderStatus.NEW: OrderStatus.NEW,
    VenueOrderStatus.PARTIALLY_FILLED: OrderStatus.PARTIALLY_FILLED,
    VenueOrderStatus.FILLED: OrderStatus.FILLED,
    VenueOrderStatus.CANCELED: OrderStatus.CANCELED,
    VenueOrderStatus.EXPIRED: OrderStatus.EXPIRED,
    VenueOrderStatus.EXPIRED_IN_MATCH: OrderStatus.EXPIRED,
    VenueOrderStatus.REJECTED: OrderStatus.REJECTED,
}

_LOCAL_EVENT: dict[Trigger, type[OrderEvent]] = {
    Trigger.SUBMIT: OrderSubmitted,
    Trigger.CANCEL_SENT: OrderPendingCancel,
    Trigger.AMEND_SENT: OrderPendingAmend,
    Trigger.CANCELED: OrderCanceled,
}
_LOCAL_REASONED_EVENT: dict[Trigger, type[ReasonedOrderEvent]] = {
    Trigger.CANCEL_FAILED: OrderCancelRejected,
    Trigger.CANCEL_NOT_FOUND: OrderCancelRejected,  # -2011: the order's status says the rest
    Trigger.AMEND_FAILED: OrderAmendRejected,
    Trigger.OUTCOME_UNKNOWN: OrderOutcomeUnknown,
    Trigger.REJECTED: OrderRejected,
}

_VENUE_EVENT: dict[OrderStatus, type[OrderEvent]] = {
    OrderStatus.CANCELED: OrderCanceled,
    OrderStatus.EXPIRED: OrderExpired,
}

_ZERO = Decimal(0)
# The book's write access to its frozen orders (see mmoms.core.order): the one way to change one.
_set = object.__setattr__


def is_waiting(order: Order) -> bool:
    """A conditional order that has not triggered: the venue has given it no order id yet."""
    return order.order_type.is_conditional and order.venue_order_id is None


class UnknownOrderError(KeyError):
    """A local command names an order the book does not hold."""


class LocalOrderBook:
    """All orders of one OMS, keyed by symbol and client order id, plus positions from fills."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._orders: dict[Symbol, dict[ClientOrderId, Order]] = {}
        self._open: dict[Symbol, dict[ClientOrderId, Order]] = {}
        self._by_venue_id: dict[tuple[Symbol, VenueOrderId], Order] = {}
        # A trade id is unique per symbol, except that a self-trade (our bid meets our ask) is
        # one trade with two fills of ours: the side tells them apart.
        self._seen_trades: dict[Symbol, set[tuple[TradeId, Side]]] = {}
        self._orphan_fills: dict[tuple[Symbol, VenueOrderId], list[FillReport]] = {}
        self.positions: dict[tuple[Symbol, PositionSide], Decimal] = {}
        self.venue_positions: dict[tuple[Symbol, PositionSide], PositionReport] = {}
        self.balances: dict[str, BalanceReport] = {}
        self.anomaly_count = 0

    # -- queries ---------------------------------------------------------------------------

    def get(self, symbol: Symbol, client_order_id: ClientOrderId) -> Order | None:
        return self._orders.get(symbol, {}).get(client_order_id)

    def by_venue_id(self, symbol: Symbol, venue_order_id: VenueOrderId) -> Order | None:
        return self._by_venue_id.get((symbol, venue_order_id))

    def orders(self, symbol: Symbol | None = None) -> Iterator[Order]:
        if symbol is not None:
            yield from self._orders.get(symbol, {}).values()
            return
        for by_id in self._orders.values():
            yield from by_id.values()

    def open_orders(self, symbol: Symbol | None = None) -> list[Order]:
        """Orders possibly resting on the venue (in-flight included). O(open), not O(all)."""
        if symbol is not None:
            return list(self._open.get(symbol, {}).values())
        return [o for by_id in self._open.values() for o in by_id.values()]

    def open_count(self, symbol: Symbol) -> int:
        """How many orders of ``symbol`` are possibly resting (in-flight included); O(1)."""
        return len(self._open.get(symbol, ()))

    def _index(self, order: Order) -> None:
        """Keep the open-orders index in step with ``order.status``."""
        by_id = self._open.setdefault(order.symbol, {})
        if order.status.is_open:
            by_id[order.client_order_id] = order
        else:
            by_id.pop(order.client_order_id, None)

    def position(self, symbol: Symbol, side: PositionSide = PositionSide.BOTH) -> Decimal:
        return self.positions.get((symbol, side), _ZERO)

    def missing_from(self, snapshot: OpenOrdersSnapshot, *, apart: bool = False) -> list[Order]:
        """Orders we believe live (NEW / PARTIALLY_FILLED) that the snapshot lists neither by
        client order id nor by venue order id.

        ``apart``: the venue keeps conditional orders outside its order book until they
        trigger (Binance's algo service), so one still waiting (:func:`is_waiting`) is not
        expected in ``snapshot`` and not returned; once triggered it is the order it placed.
        They are not marked final here: the engine queries each one first.
        """
        listed = {r.client_order_id for r in snapshot.orders}
        listed_ids = {(r.symbol, r.venue_order_id) for r in snapshot.orders}
        live = (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)
        return [
            o
            for s in snapshot.symbols
            for o in self.orders(s)
            if o.status in live
            and o.client_order_id not in listed
            and (o.symbol, o.venue_order_id) not in listed_ids
            and not (apart and is_waiting(o))
        ]

    # -- snapshots -------------------------------------------------------------------------

    def snapshot(self) -> BookSnapshot:
        """Everything the merge rules depend on, as a plain struct (see :mod:`.snapshot`)."""
        orders = [
            OrderState(
                client_order_id=o.client_order_id,
                symbol=o.symbol,
                side=o.side,
                order_type=o.order_type,
                quantity=o.quantity,
                price=o.price,
                status=o.status,
                time_in_force=o.time_in_force,
                reduce_only=o.reduce_only,
                position_side=o.position_side,
                venue_order_id=o.venue_order_id,
                filled_qty=o.filled_qty,
                fills=[
                    FillState(f.trade_id, f.qty, f.price, f.commission, f.commission_asset, f.ts_ns)
                    for f in o.fills
                ],
                venue_rank=o.venue_rank,
                last_event_ns=o.last_event_ns,
                external=o.external,
                group_id=o.group_id,
                tag=o.tag,
                created_ns=o.created_ns,
                updated_ns=o.updated_ns,
                strategy_id=o.strategy_id,
                trigger_price=o.trigger_price,
            )
            for o in self.orders()
        ]
        return BookSnapshot(
            version=SNAPSHOT_VERSION,
            orders=orders,
            positions=[PositionState(s, ps, q) for (s, ps), q in self.positions.items()],
            seen_trades={s: sorted(t) for s, t in self._seen_trades.items()},
            orphan_fills=[f for fills in self._orphan_fills.values() for f in fills],
            anomaly_count=self.anomaly_count,
        )

    @classmethod
    def restore(cls, snapshot: BookSnapshot, clock: Clock) -> LocalOrderBook:
        """A book in exactly the state ``snapshot`` was taken in."""
        book = cls(clock)
        for s in snapshot.orders:
            order = new_order(
                client_order_id=s.client_order_id,
                symbol=s.symbol,
                side=s.side,
                order_type=s.order_type,
                quantity=s.quantity,
                price=s.price,
                status=s.status,
                time_in_force=s.time_in_force,
                reduce_only=s.reduce_only,
                position_side=s.position_side,
                venue_order_id=s.venue_order_id,
                filled_qty=s.filled_qty,
                fills=tuple(Fill(*msgspec.structs.astuple(f)) for f in s.fills),
                venue_rank=s.venue_rank,
                last_event_ns=s.last_event_ns,
                external=s.external,
                group_id=s.group_id,
                tag=s.tag,
                created_ns=s.created_ns,
                updated_ns=s.updated_ns,
                strategy_id=s.strategy_id,
                trigger_price=s.trigger_price,
            )
            book._orders.setdefault(s.symbol, {})[s.client_order_id] = order
            book._index(order)
            if s.venue_order_id is not None:
                book._by_venue_id[(s.symbol, s.venue_order_id)] = order
        book.positions = {(p.symbol, p.position_side): p.quantity for p in snapshot.positions}
        book._seen_trades = {
            s: {(t, side) for t, side in v} for s, v in snapshot.seen_trades.items()
        }
        for f in snapshot.orphan_fills:
            book._orphan_fills.setdefault((f.symbol, f.venue_order_id), []).append(f)
        book.anomaly_count = snapshot.anomaly_count
        return book

    def state_hash(self) -> str:
        return state_hash(self.snapshot())

    # -- our own actions -------------------------------------------------------------------

    def create(
        self,
        cmd: SubmitOrder,
        *,
        inactive: bool = False,
        group_id: GroupId | None = None,
        tag: str | None = None,
        strategy_id: StrategyId | None = None,
    ) -> list[Event]:
        """Track a new order of ours: PENDING_NEW (about to be sent) or INACTIVE.

        Raises:
            ValueError: the client order id is already in use on this symbol.
        """
        by_id = self._orders.setdefault(cmd.symbol, {})
        if cmd.client_order_id in by_id:
            raise ValueError(f"client order id {cmd.client_order_id!r} already used")
        status = OrderStatus.INACTIVE if inactive else OrderStatus.PENDING_NEW
        now = self._clock.time_ns()
        by_id[cmd.client_order_id] = new_order(
            client_order_id=cmd.client_order_id,
            symbol=cmd.symbol,
            side=cmd.side,
            order_type=cmd.order_type,
            quantity=cmd.quantity,
            price=cmd.price,
            status=status,
            time_in_force=cmd.time_in_force,
            reduce_only=cmd.reduce_only,
            position_side=cmd.position_side,
            group_id=group_id,
            tag=tag,
            strategy_id=strategy_id,
            created_ns=now,
            updated_ns=now,
            trigger_price=cmd.trigger_price,
        )
        self._index(by_id[cmd.client_order_id])
        return [
            OrderCreated(
                ts_ns=now,
                client_order_id=cmd.client_order_id,
                symbol=cmd.symbol,
                status=status,
                side=cmd.side,
                order_type=cmd.order_type,
                quantity=cmd.quantity,
                price=cmd.price,
                time_in_force=cmd.time_in_force,
                reduce_only=cmd.reduce_only,
                position_side=cmd.position_side,
                tag=tag,
            )
        ]

    def mark(
        self, symbol: Symbol, client_order_id: ClientOrderId, trigger: Trigger, reason: str = ""
    ) -> list[Event]:
        """Apply one of our own triggers (request sent, request failed, outcome unknown...).

        Raises:
            UnknownOrderError: no such order.
            InvalidTransitionError: the trigger is not allowed from the order's status.
        """
        order = self.get(symbol, client_order_id)
        if order is None:
            raise UnknownOrderError(f"{symbol}/{client_order_id}")
        self._move(order, next_status(order.status, trigger, partially_filled=order.filled_qty > 0))
        now = self._clock.time_ns()
        _set(order, "updated_ns", now)
        cid, status = client_order_id, order.status
        reasoned = _LOCAL_REASONED_EVENT.get(trigger)
        if reasoned is not None:
            return [
                reasoned(
                    ts_ns=now, client_order_id=cid, symbol=symbol, status=status, reason=reason
                )
            ]
        plain = _LOCAL_EVENT.get(trigger)
        if plain is not None:
            return [plain(ts_ns=now, client_order_id=cid, symbol=symbol, status=status)]
        return [
            OrderUpdated(
                ts_ns=now,
                client_order_id=cid,
                symbol=symbol,
                status=status,
                filled_qty=order.filled_qty,
            )
        ]

    # -- venue reports ---------------------------------------------------------------------

    def apply(self, report: AnyReport) -> list[Event]:
        """Merge one venue report; return the events it caused (empty if it changed nothing)."""
        if isinstance(report, OrderStatusReport):
            return self._apply_status(report)
        if isinstance(report, FillReport):
            return self._apply_fill(report)
        if isinstance(report, OpenOrdersSnapshot):
            events: list[Event] = []
            for r in report.orders:
                events.extend(self._apply_status(r))
            return events
        if isinstance(report, OrderNotFoundReport):
            return self._apply_not_found(report)
        if isinstance(report, PositionReport):
            self.venue_positions[(report.symbol, report.position_side)] = report
            return []
        self.balances[report.asset] = report
        return []

    def _find(
        self, symbol: Symbol, client_order_id: ClientOrderId, venue_order_id: VenueOrderId
    ) -> Order | None:
        if not venue_order_id:  # 0: the venue has no order id for it yet (untriggered stop)
            return self.get(symbol, client_order_id)
        order = self._by_venue_id.get((symbol, venue_order_id))
        if order is None:
            order = self.get(symbol, client_order_id)
            if order is not None and order.venue_order_id not in (None, venue_order_id):
                return None  # same client id reused by another order (not ours): adopt it apart
        return order

    def _apply_status(self, r: OrderStatusReport) -> list[Event]:
        order = self._find(r.symbol, r.client_order_id, r.venue_order_id)
        if order is None:
            return self._adopt(r)
        if r.quantity == 0:
            r = _with_quantity(r, order.quantity)
        if order.venue_order_id is None and r.venue_order_id:
            _set(order, "venue_order_id", r.venue_order_id)
            self._by_venue_id[(r.symbol, r.venue_order_id)] = order
        if r.status.rank < order.venue_rank or r.filled_qty < order.filled_qty:
            return []  # stale: we already know something newer
        if r.filled_qty > r.quantity:
            return [self._anomaly(order, f"report filled {r.filled_qty} > quantity {r.quantity}")]
        trigger = Trigger.AMENDED if r.amended else _TRIGGER_FOR_STATUS[r.status]
        try:
            status = next_status(order.status, trigger, partially_filled=r.filled_qty > 0)
        except InvalidTransitionError as exc:
            return [self._anomaly(order, str(exc))]
        old_status, old_filled = order.status, order.filled_qty
        old_price, old_qty = order.price, order.quantity
        _set(order, "venue_rank", max(order.venue_rank, r.status.rank))
        _set(order, "filled_qty", max(order.filled_qty, r.filled_qty))
        if r.ts_event_ns >= order.last_event_ns:
            _set(order, "last_event_ns", r.ts_event_ns)
            _set(order, "quantity", r.quantity)
            if r.price:
                _set(order, "price", r.price)
        self._move(order, status)
        _set(order, "updated_ns", r.ts_recv_ns)
        changed_terms = (order.price, order.quantity) != (old_price, old_qty)
        if status == old_status and order.filled_qty == old_filled and not changed_terms:
            return []
        return [self._status_event(order, old_status, trigger, changed_terms)]

    def _status_event(
        self, order: Order, old_status: OrderStatus, trigger: Trigger, changed_terms: bool
    ) -> Event:
        ts, cid, sym, status = order.updated_ns, order.client_order_id, order.symbol, order.status
        if trigger is Trigger.AMENDED and changed_terms:
            return OrderAmended(
                ts_ns=ts,
                client_order_id=cid,
                symbol=sym,
                status=status,
                price=order.price or _ZERO,
                quantity=order.quantity,
            )
        if status is not old_status:
            plain = _VENUE_EVENT.get(status)
            if plain is not None:
                return plain(ts_ns=ts, client_order_id=cid, symbol=sym, status=status)
            if status is OrderStatus.REJECTED:
                return OrderRejected(
                    ts_ns=ts, client_order_id=cid, symbol=sym, status=status, reason="by venue"
                )
            if status is OrderStatus.NEW and order.venue_order_id is not None:
                return OrderAccepted(
                    ts_ns=ts,
                    client_order_id=cid,
                    symbol=sym,
                    status=status,
                    venue_order_id=order.venue_order_id,
                )
        return OrderUpdated(
            ts_ns=ts, client_order_id=cid, symbol=sym, status=status, filled_qty=order.filled_qty
        )

    def _adopt(self, r: OrderStatusReport) -> list[Event]:
        by_id = self._orders.setdefault(r.symbol, {})
        cid = r.client_order_id
        if cid in by_id:  # an id clash with one of ours: keep both, key apart
            cid = ClientOrderId(f"{r.client_order_id}#{r.venue_order_id}")
        order = new_order(
            client_order_id=cid,
            symbol=r.symbol,
            side=r.side,
            order_type=r.order_type,
            quantity=r.quantity,
            price=r.price,
            status=_STATUS_FOR_VENUE[r.status],
            time_in_force=r.time_in_force,
            reduce_only=r.reduce_only,
            position_side=r.position_side,
            venue_order_id=r.venue_order_id or None,
            filled_qty=r.filled_qty,
            venue_rank=r.status.rank,
            last_event_ns=r.ts_event_ns,
            external=True,
            created_ns=r.ts_recv_ns,
            updated_ns=r.ts_recv_ns,
        )
        by_id[cid] = order
        self._index(order)
        if r.venue_order_id:
            self._by_venue_id[(r.symbol, r.venue_order_id)] = order
        events: list[Event] = [
            OrderAdopted(
                ts_ns=r.ts_recv_ns,
                client_order_id=order.client_order_id,
                symbol=r.symbol,
                status=order.status,
                venue_order_id=r.venue_order_id,
                side=r.side,
                order_type=r.order_type,
                quantity=r.quantity,
                price=r.price,
            )
        ]
        for fill in self._orphan_fills.pop((r.symbol, r.venue_order_id), []):
            events.extend(self._attach_fill(order, fill))
        return events

    def _apply_fill(self, f: FillReport) -> list[Event]:
        seen = self._seen_trades.setdefault(f.symbol, set())
        key = (f.trade_id, f.side)
        if key in seen:
            return []  # this trade already counted
        order = self._find(f.symbol, f.client_order_id, f.venue_order_id)
        if order is None:
            seen.add(key)
            self._count_position(f)
            self._orphan_fills.setdefault((f.symbol, f.venue_order_id), []).append(f)
            return []
        if order.fills_qty + f.last_qty > order.quantity:
            return [self._anomaly(order, f"trade {f.trade_id} would overfill the order")]
        seen.add(key)
        self._count_position(f)
        return self._attach_fill(order, f)

    def _attach_fill(self, order: Order, f: FillReport) -> list[Event]:
        """Record a fill that is already counted in the position."""
        if order.venue_order_id is None:
            _set(order, "venue_order_id", f.venue_order_id)
            self._by_venue_id[(f.symbol, f.venue_order_id)] = order
        fill = Fill(
            f.trade_id, f.last_qty, f.last_price, f.commission, f.commission_asset, f.ts_event_ns
        )
        _set(order, "fills", (*order.fills, fill))
        filled = max(order.filled_qty, order.fills_qty, f.cum_filled_qty or _ZERO)
        complete = filled >= order.quantity
        trigger = Trigger.FILLED if complete else Trigger.PARTIALLY_FILLED
        events: list[Event] = []
        try:
            self._move(order, next_status(order.status, trigger, partially_filled=True))
        except InvalidTransitionError as exc:
            events.append(self._anomaly(order, f"fill kept, status left as is: {exc}"))
        _set(order, "filled_qty", filled)
        _set(order, "venue_rank", max(order.venue_rank, 3 if complete else 2))
        _set(order, "updated_ns", f.ts_recv_ns)
        events.insert(
            0,
            OrderFilled(
                ts_ns=f.ts_recv_ns,
                client_order_id=order.client_order_id,
                symbol=order.symbol,
                status=order.status,
                trade_id=f.trade_id,
                side=f.side,
                last_qty=f.last_qty,
                last_price=f.last_price,
                filled_qty=filled,
                commission=f.commission,
                commission_asset=f.commission_asset,
                liquidity=f.liquidity,
            ),
        )
        return events

    def _count_position(self, f: FillReport) -> None:
        key = (f.symbol, f.position_side)
        self.positions[key] = self.positions.get(key, _ZERO) + f.side.sign * f.last_qty

    def _apply_not_found(self, r: OrderNotFoundReport) -> list[Event]:
        """A "not found" settles only an order of unknown outcome the venue never acknowledged:
        it never reached the venue's book (REJECTED, :data:`Trigger.NOT_FOUND`). An order the
        venue did acknowledge (its venue order id is known) existed: "not found" says nothing of
        how it ended, so it is an anomaly, and the order waits for the venue's next answer; so
        is a "not found" for an order whose status the FSM does not let it settle (not UNKNOWN).
        """
        order = self.get(r.symbol, r.client_order_id)
        if order is None:
            return []
        if order.venue_order_id is None and is_allowed(order.status, Trigger.NOT_FOUND):
            self._move(order, next_status(order.status, Trigger.NOT_FOUND, partially_filled=False))
            _set(order, "updated_ns", r.ts_recv_ns)
            return [
                OrderRejected(
                    ts_ns=r.ts_recv_ns,
                    client_order_id=order.client_order_id,
                    symbol=order.symbol,
                    status=order.status,
                    reason="not found on venue after unknown outcome",
                )
            ]
        return [self._anomaly(order, f"venue does not know an order in {order.status.value}")]

    def _move(self, order: Order, status: OrderStatus) -> None:
        """Set a status :func:`next_status` returned, and keep the open-orders index in step."""
        _set(order, "status", status)
        self._index(order)

    def _anomaly(self, order: Order, reason: str) -> OrderAnomaly:
        self.anomaly_count += 1
        return OrderAnomaly(
            ts_ns=self._clock.time_ns(),
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            reason=reason,
        )


def _with_quantity(r: OrderStatusReport, quantity: Decimal) -> OrderStatusReport:
    """A report that does not state the order's quantity (0: a venue's view of a conditional
    order read back after a restart) is read with the quantity the book knows: what it proves
    filled, capped there, and FILLED once that reaches it — never a quantity of 0."""
    filled = min(r.filled_qty, quantity)
    status = r.status
    if status is VenueOrderStatus.PARTIALLY_FILLED and filled >= quantity:
        status = VenueOrderStatus.FILLED
    return msgspec.structs.replace(r, quantity=quantity, filled_qty=filled, status=status)
