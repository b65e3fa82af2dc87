"""Every change to the local order book, journaled in the same step as it is made.

Only the engine loop calls this (single writer). Each book input — an order created, a local
trigger (we sent a cancel, the outcome is unknown...), a venue report — is journaled as a book
input record, then applied; each event the book answers with is journaled too and queued for
the strategies, who hear of it only once the batch is durable. Replaying the book inputs in seq
order rebuilds the same book (see :mod:`mmoms.journal.recovery`).

What the change means to the rest of the engine is not acted on here: it is collected as
follow-ons (:attr:`BookWriter.reactions`) that the loop routes once the handler that made the
change has returned — an order no longer in flight (:class:`OrderSettled`, for the quoting), an
order of a contingent group (:class:`GroupOrderEvent`), a fill (:class:`FillBooked`, for the
automatic kill switch), a triggered stop whose outcome only the order it placed can tell
(:class:`QueryWanted`).
"""

from __future__ import annotations

from mmoms.contingent import AnyGroupEvent
from mmoms.core.book import LocalOrderBook
from mmoms.core.clock import ManualClock
from mmoms.core.commands import SubmitOrder
from mmoms.core.events import Event, OrderEvent, OrderFilled
from mmoms.core.fsm import Trigger, is_allowed
from mmoms.core.ids import GroupId, StrategyId
from mmoms.core.ledger import Fill, Ledger
from mmoms.core.order import Order
from mmoms.core.reports import OrderStatusReport, Report
from mmoms.engine.journal_writer import JournalWriter
from mmoms.engine.messages import (
    Decision,
    FillBooked,
    GroupOrderEvent,
    OrderSettled,
    QueryWanted,
)
from mmoms.engine.metrics import OmsMetrics
from mmoms.engine.protection import ProtectionFailed
from mmoms.engine.quote_planner import Rejection
from mmoms.journal.records import BookCreate, BookMark, BookReport, EventRecorded, RiskRejected

Notification = Event | RiskRejected | AnyGroupEvent | ProtectionFailed | Fill

__all__ = ["BookWriter", "Notification"]


class BookWriter:
    def __init__(self, clock: ManualClock, journal: JournalWriter, metrics: OmsMetrics) -> None:
        self.clock = clock  # the book's clock: set to the input's time before each input
        self.book = LocalOrderBook(clock)
        self.journal = journal
        self.metrics = metrics
        self.notifications: list[Notification] = []  # told once the batch is durable
        self.version = 0  # counts book inputs: whatever was derived from the book is stale
        self.ledger = Ledger()  # positions and PnL per strategy, from the fills booked here
        self.reactions: list[Decision] = []  # follow-ons of the changes: the loop routes them

    @property
    def now(self) -> int:
        return self.journal.now

    def tick(self, wall_ns: int) -> None:
        """A new input: its time (never behind the last one) for the book and its records."""
        now = max(wall_ns, self.journal.now)
        self.journal.now = now
        self.clock.now_ns = now

    def create(
        self,
        cmd: SubmitOrder,
        *,
        strategy_id: StrategyId,
        tag: str | None,
        group_id: GroupId | None = None,
        inactive: bool = False,
    ) -> None:
        """Book a new order of ours: about to be sent (PENDING_NEW), or ``inactive``: held back
        (a group leg waiting for its trigger, a stop held locally)."""
        self.journal.record(
            BookCreate(
                command=cmd, strategy_id=strategy_id, tag=tag, group_id=group_id, inactive=inactive
            ),
            cmd.client_order_id,
        )
        self.version += 1
        self.take(
            self.book.create(
                cmd, strategy_id=strategy_id, tag=tag, group_id=group_id, inactive=inactive
            )
        )

    def withdraw(self, cmd: SubmitOrder, *, strategy_id: StrategyId, tag: str | None) -> None:
        """A new order canceled before it was sent: booked as created (never live) and
        canceled, so it has a story in the journal and its strategy hears the end of it."""
        self.journal.record(
            BookCreate(command=cmd, inactive=True, strategy_id=strategy_id, tag=tag),
            cmd.client_order_id,
        )
        self.version += 1
        self.take(self.book.create(cmd, strategy_id=strategy_id, tag=tag, inactive=True))
        order = self.book.get(cmd.symbol, cmd.client_order_id)
        if order is not None:
            self.mark(order, Trigger.CANCELED, "canceled before it was sent")

    def mark(self, order: Order, trigger: Trigger, reason: str = "") -> bool:
        """Apply a local trigger if the table allows it; False (nothing recorded) if not."""
        if not is_allowed(order.status, trigger):
            return False
        self.journal.record(
            BookMark(
                symbol=order.symbol,
                client_order_id=order.client_order_id,
                trigger=trigger,
                reason=reason,
            ),
            order.client_order_id,
        )
        self.version += 1
        self.take(self.book.mark(order.symbol, order.client_order_id, trigger, reason))
        return True

    def apply(self, report: Report) -> None:
        key = getattr(report, "client_order_id", "")
        self.journal.record(BookReport(report=report), key)  # type: ignore[arg-type]
        self.version += 1
        self.take(self.book.apply(report))  # type: ignore[arg-type]
        if type(report) is OrderStatusReport and report.ask_placed_order:
            # The venue says a conditional order is done (or may be) without proving how: the
            # order it placed at trigger, by that order's venue id, tells.
            order = self.book.by_venue_id(report.symbol, report.venue_order_id)
            if order is not None and not order.status.is_terminal:
                self.reactions.append(QueryWanted(order.symbol, order.client_order_id, False))

    def take(self, events: list[Event]) -> None:
        journal, book, reactions = self.journal, self.book, self.reactions
        for event in events:
            journal.record(EventRecorded(event=event), getattr(event, "client_order_id", ""))  # type: ignore[arg-type]
            self.notifications.append(event)
            if not isinstance(event, OrderEvent):
                continue
            order = book.get(event.symbol, event.client_order_id)
            if order is None:
                continue
            journal.touched[(order.symbol, order.client_order_id)] = order
            if type(event) is OrderFilled:
                self._fill(order, event)
            if not order.status.is_in_flight:
                reactions.append(OrderSettled(order))
            if order.group_id is not None:
                reactions.append(GroupOrderEvent(event))

    def _fill(self, order: Order, event: OrderFilled) -> None:
        """Book the fill per strategy; its strategy hears of it with the position after it
        (computed now, not when the batch is released: the book may be ahead by then)."""
        self.notifications.append(
            self.ledger.fill(
                order,
                trade_id=event.trade_id,
                qty=event.last_qty,
                price=event.last_price,
                fee=event.commission,
                fee_asset=event.commission_asset,
                liquidity=event.liquidity,
                ts_ns=event.ts_ns,
            )
        )
        self.reactions.append(FillBooked(order.symbol))

    def reject(self, rejection: Rejection) -> None:
        """A risk check said no: journaled and told to the strategies."""
        check = rejection.check
        entry = RiskRejected(
            intent=rejection.intent,
            command=rejection.command,
            check=check.check,
            reason=check.reason,
            strategy_id=rejection.strategy_id,
            symbol=rejection.symbol,
        )
        self.journal.record(entry, getattr(rejection.command, "client_order_id", ""))
        self.notifications.append(entry)
        self.metrics.count(self.metrics.risk_rejections, check.check)
