"""Event builders and a tiny driver, so the semantics tests read as scenarios."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal as D
from itertools import count

from mmoms.contingent import AnyGroupEvent, GroupState, Plan, plan, start
from mmoms.contingent.spec import Group
from mmoms.contingent.step import PlanCommand
from mmoms.core.commands import AmendOrder, CancelOrder, SubmitOrder
from mmoms.core.enums import OrderStatus, Side
from mmoms.core.events import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderUpdated,
)
from mmoms.core.ids import ClientOrderId, Symbol, TradeId, VenueOrderId

SYM = Symbol("BTCUSDC")
_trade_ids = count(1)


def cid(value: str) -> ClientOrderId:
    return ClientOrderId(value)


def filled(
    order: str, cum: str, *, of: str | None = None, last: str | None = None, ts: int = 10
) -> OrderFilled:
    """A fill of ``order`` bringing it to ``cum``; FILLED when ``cum == of`` (default: PARTIAL)."""
    status = (
        OrderStatus.FILLED if of is not None and D(cum) >= D(of) else OrderStatus.PARTIALLY_FILLED
    )
    return OrderFilled(
        ts_ns=ts,
        client_order_id=cid(order),
        symbol=SYM,
        status=status,
        trade_id=TradeId(next(_trade_ids)),
        side=Side.BUY,
        last_qty=D(last if last is not None else cum),
        last_price=D(100),
        filled_qty=D(cum),
    )


def full(order: str, qty: str, ts: int = 10) -> OrderFilled:
    return filled(order, qty, of=qty, ts=ts)


def updated(order: str, cum: str, status: OrderStatus, ts: int = 10) -> OrderUpdated:
    return OrderUpdated(
        ts_ns=ts, client_order_id=cid(order), symbol=SYM, status=status, filled_qty=D(cum)
    )


def accepted(order: str, ts: int = 5) -> OrderAccepted:
    return OrderAccepted(
        ts_ns=ts,
        client_order_id=cid(order),
        symbol=SYM,
        status=OrderStatus.NEW,
        venue_order_id=VenueOrderId(hash(order) & 0xFFFFFFFF),
    )


def canceled(order: str, ts: int = 20) -> OrderCanceled:
    return OrderCanceled(
        ts_ns=ts, client_order_id=cid(order), symbol=SYM, status=OrderStatus.CANCELED
    )


def expired(order: str, ts: int = 20) -> OrderExpired:
    return OrderExpired(
        ts_ns=ts, client_order_id=cid(order), symbol=SYM, status=OrderStatus.EXPIRED
    )


def rejected(order: str, ts: int = 20) -> OrderRejected:
    return OrderRejected(
        ts_ns=ts, client_order_id=cid(order), symbol=SYM, status=OrderStatus.REJECTED
    )


def cancel_rejected(order: str, status: OrderStatus, ts: int = 20) -> OrderCancelRejected:
    """What the engine makes of a -2011 answer to a cancel."""
    return OrderCancelRejected(
        ts_ns=ts, client_order_id=cid(order), symbol=SYM, status=status, reason="-2011"
    )


@dataclass
class Run:
    """A group fed event by event; keeps the last plan and everything issued."""

    state: GroupState
    last: Plan
    commands: list[PlanCommand] = field(default_factory=list)
    events: list[AnyGroupEvent] = field(default_factory=list)

    @classmethod
    def of(cls, group: Group) -> Run:
        first = start(group, 1)
        return cls(first.state, first, list(first.commands), list(first.events))

    def feed(self, *events: OrderEvent) -> Plan:
        for event in events:
            self.last = plan(event, self.state)
            self.state = self.last.state
            self.commands += self.last.commands
            self.events += self.last.events
        return self.last


def submits(commands: Iterable[PlanCommand]) -> list[tuple[str, D]]:
    return [(c.client_order_id, c.quantity) for c in commands if isinstance(c, SubmitOrder)]


def cancels(commands: Iterable[PlanCommand]) -> list[str]:
    return [c.client_order_id for c in commands if isinstance(c, CancelOrder)]


def amends(commands: Iterable[PlanCommand]) -> list[tuple[str, D]]:
    return [(c.client_order_id, c.quantity) for c in commands if isinstance(c, AmendOrder)]
