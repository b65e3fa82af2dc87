"""Stops the venue does not hold, held by the engine (``GatewayCapabilities.holds_stops`` off).

A conditional order (stop, take-profit; a strategy's, or a contingent group's leg) that such a
venue would refuse is booked INACTIVE and *armed* here instead of being sent. When the
reference price (the mark; the node feeds it, :meth:`OrderManager.set_reference_price`) crosses
its trigger, it is sent under its own client id as the order it becomes at trigger — a
STOP_MARKET / TAKE_PROFIT_MARKET as a MARKET order, a STOP / TAKE_PROFIT as a LIMIT at its
price — journaled like any send (INACTIVE → PENDING_NEW). A cancel of an armed stop ends it
here (INACTIVE → CANCELED): nothing goes to the venue.

Trigger direction, as venues define it: a stop buys when the price rises to its trigger and
sells when it falls to it; a take-profit the other way round.

What this does not do, by design, and why a venue that holds stops is better: a local stop
works only while the engine runs and sees prices. After a restart every armed stop is armed
again from the book (an INACTIVE conditional order of no group, or of a group leg already
live); a move across its trigger while we were down is acted on at the first price after.
Trailing stops are not emulated (no group or order can carry one today: groups refuse them,
``place`` sends only LIMIT and MARKET orders).
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from mmoms.core.commands import SubmitOrder
from mmoms.core.enums import OrderStatus, OrderType, Side
from mmoms.core.fsm import Trigger
from mmoms.core.ids import ClientOrderId, Symbol
from mmoms.core.order import Order
from mmoms.engine.batcher import Flight
from mmoms.engine.book_writer import BookWriter
from mmoms.engine.messages import Decisions, PriceMsg, Send

__all__ = ["LocalStops", "order_command", "triggers"]

_AT_TRIGGER = {
    OrderType.STOP_MARKET: OrderType.MARKET,
    OrderType.TAKE_PROFIT_MARKET: OrderType.MARKET,
    OrderType.STOP: OrderType.LIMIT,
    OrderType.TAKE_PROFIT: OrderType.LIMIT,
}
_STOPS = (OrderType.STOP, OrderType.STOP_MARKET)


def order_command(order: Order, ts_ns: int) -> SubmitOrder:
    """The command a booked order was created from (what a held stop sends at trigger)."""
    return SubmitOrder(
        ts_ns=ts_ns,
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        side=order.side,
        order_type=order.order_type,
        quantity=order.quantity,
        price=order.price,
        time_in_force=order.time_in_force,
        reduce_only=order.reduce_only,
        position_side=order.position_side,
        trigger_price=order.trigger_price,
    )


def triggers(order_type: OrderType, side: Side, trigger: Decimal, price: Decimal) -> bool:
    """Whether ``price`` reaches the trigger of a conditional order of this type and side."""
    rising = (side is Side.BUY) == (order_type in _STOPS)
    return price >= trigger if rising else price <= trigger


class LocalStops:
    def __init__(self, book_writer: BookWriter, *, venue_holds_stops: bool) -> None:
        self._writer = book_writer
        self.active = not venue_holds_stops
        self._armed: dict[Symbol, dict[ClientOrderId, SubmitOrder]] = {}
        self.symbols: frozenset[Symbol] = frozenset()  # with a stop armed: they want prices

    def holds(self, cmd: SubmitOrder) -> bool:
        """This order is held here, not sent: the venue holds no stops."""
        return self.active and cmd.order_type.is_conditional

    def arm(self, cmd: SubmitOrder) -> None:
        """Watch ``cmd`` (its order INACTIVE in the book) for its trigger."""
        if cmd.order_type not in _AT_TRIGGER or cmd.trigger_price is None:
            raise ValueError(f"{cmd.order_type} cannot be held locally")  # a bug: see above
        self._armed.setdefault(cmd.symbol, {})[cmd.client_order_id] = cmd
        self._refresh_symbols()

    def disarm(self, order: Order) -> bool:
        """Cancel an armed stop here: True if it was armed (the book then says CANCELED)."""
        stops = self._armed.get(order.symbol, {})
        if stops.pop(order.client_order_id, None) is None:
            return False
        self._refresh_symbols()
        self._writer.mark(order, Trigger.CANCELED, "held locally: cancelled before its trigger")
        return True

    def held(self, symbol: Symbol | None = None) -> list[Order]:
        """The orders of the stops held here (on ``symbol``, or all)."""
        book = self._writer.book
        return [
            order
            for sym, stops in self._armed.items()
            if symbol in (None, sym)
            for cid in stops
            if (order := book.get(sym, cid)) is not None
        ]

    def _refresh_symbols(self) -> None:
        self.symbols = frozenset(s for s, armed in self._armed.items() if armed)

    def is_armed(self, symbol: Symbol, cid: ClientOrderId) -> bool:
        return cid in self._armed.get(symbol, {})

    def on_price(self, msg: PriceMsg) -> Decisions:
        """Send every armed stop of ``msg.symbol`` whose trigger the price reaches."""
        stops = self._armed.get(msg.symbol)
        if not stops:
            return []
        out: Decisions = []
        for cid, cmd in list(stops.items()):
            assert cmd.trigger_price is not None  # checked when armed
            if not triggers(cmd.order_type, cmd.side, cmd.trigger_price, msg.price):
                continue
            del stops[cid]
            order = self._writer.book.get(cmd.symbol, cid)
            if order is None or order.status is not OrderStatus.INACTIVE:
                continue  # settled meanwhile
            self._writer.mark(order, Trigger.SUBMIT, f"triggered locally at {msg.price}")
            sent = msgspec.structs.replace(
                cmd,
                order_type=_AT_TRIGGER[cmd.order_type],
                trigger_price=None,
                working_type=None,
                close_position=False,
            )
            if sent.order_type is OrderType.MARKET:
                sent = msgspec.structs.replace(sent, price=None, time_in_force=None)
            out.append(Send(Flight(cmd.symbol, (sent,)), followup=order.group_id is not None))
        self._refresh_symbols()
        return out
