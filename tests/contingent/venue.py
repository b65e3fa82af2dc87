"""A toy venue that applies a group's commands late, and the run that wires it to the planner.

The venue is Binance-like where it matters here: an amend to a quantity at or below the filled
quantity cancels the order; a cancel of a filled order is refused (-2011); a MARKET order fills
at once; nothing enforces reduce-only (so an exit overfill can happen and must be caught).

Randomness comes from a :class:`Chooser`, so the same run is driven by Hypothesis (shrinkable)
or by a seeded ``random.Random`` (many runs, to show the races do happen).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal as D

from mmoms.contingent import (
    AnyGroupEvent,
    GroupState,
    OverfillDetected,
    decode_state,
    encode_state,
    plan,
    start,
)
from mmoms.contingent.spec import Group
from mmoms.contingent.step import PlanCommand
from mmoms.core.commands import AmendOrder, CancelOrder, SubmitOrder
from mmoms.core.enums import OrderStatus, OrderType
from mmoms.core.events import (
    OrderAccepted,
    OrderAmended,
    OrderAmendRejected,
    OrderCanceled,
    OrderCancelRejected,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderRejected,
)
from mmoms.core.ids import ClientOrderId, TradeId, VenueOrderId

S = OrderStatus
Chooser = Callable[[int, int], int]  # (lo, hi) -> an int in [lo, hi]


def seeded(seed: int) -> Chooser:
    rng = random.Random(seed)
    return rng.randint


@dataclass
class VenueOrder:
    cmd: SubmitOrder
    quantity: D
    filled: D = D(0)
    status: OrderStatus = S.NEW

    @property
    def live(self) -> bool:
        return not self.status.is_terminal


@dataclass
class Venue:
    orders: dict[ClientOrderId, VenueOrder] = field(default_factory=dict)
    inbox: list[PlanCommand] = field(default_factory=list)  # sent, not yet applied
    outbox: list[OrderEvent] = field(default_factory=list)  # happened, not yet reported
    ts: int = 100
    trade_id: int = 0

    def deliverable(self) -> list[int]:
        """Inbox positions that may be applied next: per order id, requests keep their order."""
        first: dict[str, int] = {}
        for k, cmd in enumerate(self.inbox):
            first.setdefault(cmd.client_order_id, k)
        return sorted(first.values())

    def apply(self, k: int, *, reject: bool = False) -> None:
        cmd = self.inbox.pop(k)
        self.ts += 1
        order = self.orders.get(cmd.client_order_id)
        if isinstance(cmd, SubmitOrder):
            assert order is None, f"{cmd.client_order_id} submitted twice"
            order = self.orders[cmd.client_order_id] = VenueOrder(cmd, cmd.quantity)
            if reject:
                order.status = S.REJECTED
                self._report(OrderRejected, order)
                return
            self.outbox.append(
                OrderAccepted(
                    ts_ns=self.ts,
                    client_order_id=cmd.client_order_id,
                    symbol=cmd.symbol,
                    status=S.NEW,
                    venue_order_id=VenueOrderId(len(self.orders)),
                )
            )
            if cmd.order_type is OrderType.MARKET:
                self.fill(cmd.client_order_id, order.quantity)
            return
        assert order is not None, f"{type(cmd).__name__} for an unknown order"
        if isinstance(cmd, CancelOrder):
            if not order.live:
                self._report(OrderCancelRejected, order)  # -2011
                return
            order.status = S.CANCELED
            self._report(OrderCanceled, order)
            return
        assert isinstance(cmd, AmendOrder)
        if not order.live:
            self._report(OrderAmendRejected, order)
        elif cmd.quantity <= order.filled:
            order.status = S.CANCELED  # Binance: an amend to <= filled cancels
            self._report(OrderCanceled, order)
        else:
            order.quantity = cmd.quantity
            self.outbox.append(
                OrderAmended(
                    ts_ns=self.ts,
                    client_order_id=cmd.client_order_id,
                    symbol=cmd.symbol,
                    status=order.status,
                    price=cmd.price,
                    quantity=cmd.quantity,
                )
            )

    def fill(self, cid: ClientOrderId, qty: D) -> None:
        order = self.orders[cid]
        assert order.live
        assert 0 < qty <= order.quantity - order.filled
        self.ts += 1
        self.trade_id += 1
        order.filled += qty
        order.status = S.FILLED if order.filled == order.quantity else S.PARTIALLY_FILLED
        self.outbox.append(
            OrderFilled(
                ts_ns=self.ts,
                client_order_id=cid,
                symbol=order.cmd.symbol,
                status=order.status,
                trade_id=TradeId(self.trade_id),
                side=order.cmd.side,
                last_qty=qty,
                last_price=D(100),
                filled_qty=order.filled,
            )
        )

    def expire(self, cid: ClientOrderId) -> None:
        order = self.orders[cid]
        self.ts += 1
        order.status = S.EXPIRED
        self._report(OrderExpired, order)

    def resting(self) -> list[ClientOrderId]:
        return [cid for cid, o in self.orders.items() if o.live]

    def _report(
        self,
        kind: type[OrderRejected | OrderCanceled | OrderExpired]
        | type[OrderCancelRejected | OrderAmendRejected],
        order: VenueOrder,
    ) -> None:
        self.outbox.append(
            kind(
                ts_ns=self.ts,
                client_order_id=order.cmd.client_order_id,
                symbol=order.cmd.symbol,
                status=order.status,
            )
        )


@dataclass(frozen=True)
class Knowledge:
    filled: dict[str, D]  # highest cumulative fill reported, per order id
    final: set[str]  # order ids reported in a terminal status


@dataclass
class Trace:
    """Everything a run did, for the invariants to judge."""

    state: GroupState
    venue: Venue
    issued: list[PlanCommand] = field(default_factory=list)
    events: list[AnyGroupEvent] = field(default_factory=list)
    delivered: list[OrderEvent] = field(default_factory=list)
    # each SubmitOrder, with what the planner had been told then and what the venue held then
    submits_seen: list[tuple[SubmitOrder, Knowledge, dict[str, D]]] = field(default_factory=list)
    crashes: int = 0

    @property
    def overfills(self) -> list[OverfillDetected]:
        return [e for e in self.events if isinstance(e, OverfillDetected)]


def run(group: Group, steps: int, choose: Chooser) -> Trace:
    """Drive one group through ``steps`` random venue/delivery actions, then drain."""
    first = start(group, 1)
    trace = Trace(first.state, Venue())
    _take(trace, first.commands, first.events)
    for _ in range(steps):
        _random_step(trace, choose)
    _drain(trace)
    return trace


def _random_step(t: Trace, choose: Chooser) -> None:
    v = t.venue
    action = choose(0, 11)
    if action <= 2 and v.inbox:  # a request reaches the venue (any order id's next one)
        ready = v.deliverable()
        v.apply(ready[choose(0, len(ready) - 1)], reject=choose(0, 9) == 0)
    elif action <= 5 and (live := v.resting()):  # a trade
        cid = live[choose(0, len(live) - 1)]
        order = v.orders[cid]
        left = int(order.quantity - order.filled)
        v.fill(cid, D(choose(1, left)))
    elif action == 6 and (live := v.resting()):  # the venue ends an order on its own
        v.expire(live[choose(0, len(live) - 1)])
    elif action <= 9 and v.outbox:  # a report reaches us, usually in order
        k = 0 if choose(0, 2) else choose(0, len(v.outbox) - 1)
        _deliver(t, v.outbox.pop(k))
    elif action == 10 and t.delivered:  # a duplicate
        _deliver(t, t.delivered[choose(0, len(t.delivered) - 1)], duplicate=True)
    elif action == 11:
        _crash(t)


def _drain(t: Trace) -> None:
    """Let everything land in order, then end whatever still rests, until nothing moves."""
    v = t.venue
    for _ in range(50):
        while v.inbox or v.outbox:
            while v.inbox:
                v.apply(v.deliverable()[0])
            while v.outbox:
                _deliver(t, v.outbox.pop(0))
        if not v.resting():
            return
        for cid in v.resting():
            v.expire(cid)
    raise AssertionError("the run does not settle")


def _deliver(t: Trace, event: OrderEvent, *, duplicate: bool = False) -> None:
    p = plan(event, t.state)
    if duplicate:
        assert p.state is t.state, "a duplicate changed the state"
        assert p.commands == ()
    if not duplicate:
        t.delivered.append(event)
    t.state = p.state
    _take(t, p.commands, p.events)


def _take(t: Trace, commands: tuple[PlanCommand, ...], events: tuple[AnyGroupEvent, ...]) -> None:
    known = Knowledge({}, set())
    for e in t.delivered:
        if isinstance(e, OrderFilled):
            known.filled[e.client_order_id] = max(
                known.filled.get(e.client_order_id, D(0)), e.filled_qty
            )
        if e.status.is_terminal:
            known.final.add(e.client_order_id)
    venue: dict[str, D] = {cid: o.filled for cid, o in t.venue.orders.items()}
    for cmd in commands:
        if isinstance(cmd, SubmitOrder):
            t.submits_seen.append((cmd, known, venue))
    t.issued += commands
    t.events += events
    t.venue.inbox += commands


def _crash(t: Trace) -> None:
    """Restart from the journaled state and re-feed every event seen: nothing new may come."""
    t.crashes += 1
    restored = decode_state(encode_state(t.state))
    for event in t.delivered:
        p = plan(event, restored)
        assert p.commands == (), f"re-plan after a crash issued {p.commands}"
        assert p.events == ()
        restored = p.state
    assert restored == t.state
    t.state = restored
