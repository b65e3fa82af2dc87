"""A taker: when the mid runs away from its moving average, cross the spread with an IOC order.

Run it::

    mmoms run --config examples/sim.toml \\
        --strategy examples/strategies/ioc_taker.py:IocTaker

What it shows:
* ``place`` with ``time_in_force=IOC``: a limit order at the far touch that fills what it can at
  once and never rests (what is left expires: ``on_order`` sees OrderExpired);
* a position limit of its own (``self.position``) and a cool-down between orders;
* ``on_order`` / ``on_fill`` to follow each order to its end, ``on_risk_rejected`` to hear
  the engine's refusals (the engine's risk limits hold whatever the strategy does).
"""

from __future__ import annotations

from decimal import Decimal

import mmoms

BPS = Decimal("0.0001")


class IocTaker(mmoms.Strategy):
    symbols = ("ETHUSDC",)

    def __init__(
        self,
        *,
        quantity: Decimal = Decimal("0.05"),
        max_position: Decimal = Decimal("0.2"),
        threshold_bps: Decimal = Decimal("0.5"),
        alpha: Decimal = Decimal("0.1"),
        cooldown_ms: int = 500,
    ) -> None:
        self.quantity = quantity
        self.max_position = max_position
        self.threshold = threshold_bps * BPS
        self.alpha = alpha
        self.cooldown_ns = cooldown_ms * 1_000_000
        self.average: dict[str, Decimal] = {}
        self.last_order_ns = 0
        self.working: set[str] = set()  # IOCs not finished yet
        self.sent = 0
        self.finished: dict[str, mmoms.OrderStatus] = {}

    def on_market(self, update: mmoms.MarketUpdate) -> None:
        mid = update.mid
        average = self.average.get(update.symbol, mid)
        self.average[update.symbol] = average + self.alpha * (mid - average)
        if self.working or update.received_ns - self.last_order_ns < self.cooldown_ns:
            return
        position = self.position(update.symbol)
        if mid > average * (1 + self.threshold) and position + self.quantity <= self.max_position:
            self.take(update, mmoms.Side.BUY, update.ask)
        elif (
            mid < average * (1 - self.threshold) and position - self.quantity >= -self.max_position
        ):
            self.take(update, mmoms.Side.SELL, update.bid)

    def take(self, update: mmoms.MarketUpdate, side: mmoms.Side, price: Decimal) -> None:
        cid = self.place(
            symbol=update.symbol, side=side, quantity=self.quantity, price=price,
            time_in_force=mmoms.TimeInForce.IOC, tag="take",
        )  # fmt: skip
        self.working.add(cid)
        self.last_order_ns = update.received_ns
        self.sent += 1

    def on_order(self, event: mmoms.OrderEvent) -> None:
        if event.status.is_terminal:
            self.working.discard(event.client_order_id)
            self.finished[event.client_order_id] = event.status

    def on_fill(self, fill: mmoms.Fill) -> None:
        self.log.info(
            "took %s %s @ %s, position %s", fill.side, fill.quantity, fill.price, fill.position
        )

    def on_risk_rejected(self, rejection: mmoms.RiskRejection) -> None:
        if rejection.client_order_id is not None:
            self.working.discard(rejection.client_order_id)
        self.log.warning("refused: %s", rejection.reason)
