"""Risk limits per strategy, inside the account's: a strategy's own position and open orders.

The account's limits (:mod:`mmoms.engine.risk`, ``[risk.SYMBOL]``) guard the venue account as a
whole. A node running several strategies on one account also wants each held to its share: the
quoter may hold ±0.02 BTC, the taker ±0.05, whatever the other does. ``[strategy.limits.SYMBOL]``
(or ``[strategies.ID.limits.SYMBOL]``) sets, for one strategy on one symbol:

* ``max_position`` — worst case of the *strategy's* position: its own fills (the ledger) plus
  every open order of the strategy on that side filling, plus what the current window already
  accepted for it, plus this order. Reduce-only orders cannot grow it and are not charged.
* ``max_open_orders`` — the strategy's open and in-flight orders on the symbol, plus the window's.

Both are checked before the account's checks (so a refused order does not spend the account's
order-rate budget). A contingent group charges its own worst case (its exposure, each group
once), and the strategy's other resting orders — group legs included — count leg by leg: that is
conservative for a strategy holding several groups at once (their legs may never all fill), never
loose. Refusals are ordinary risk rejections (``strategy_position``, ``strategy_open_orders``),
told to the strategy through ``on_risk_rejected``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from mmoms.core.book import LocalOrderBook
from mmoms.core.enums import Side
from mmoms.core.ids import StrategyId, Symbol
from mmoms.core.order import Order
from mmoms.engine.risk import RiskRejection

__all__ = ["StrategyLimits", "StrategyRisk", "no_position"]

_ZERO = Decimal(0)


def no_position(_strategy_id: StrategyId, _symbol: Symbol) -> Decimal:
    return _ZERO


@dataclass(frozen=True, slots=True)
class StrategyLimits:
    max_position: Decimal | None = None  # absolute, base units; None: only the account's limit
    max_open_orders: int | None = None


@dataclass(slots=True)
class StrategyRisk:
    """The per-strategy checks, with what the current window accepted for each strategy."""

    limits: Mapping[tuple[StrategyId, Symbol], StrategyLimits]
    position: Callable[[StrategyId, Symbol], Decimal]  # the strategy's own, from its fills
    _queued_orders: dict[tuple[StrategyId, Symbol], int] = field(default_factory=dict)
    _queued_qty: dict[tuple[StrategyId, Symbol, Side], Decimal] = field(default_factory=dict)

    def applies(self, strategy_id: StrategyId, symbol: Symbol) -> bool:
        return (strategy_id, symbol) in self.limits

    def check(
        self,
        book: LocalOrderBook,
        strategy_id: StrategyId,
        symbol: Symbol,
        side: Side,
        quantity: Decimal,
        *,
        reduce_only: bool = False,
        new_orders: int = 1,
        exclude: Order | None = None,
    ) -> RiskRejection | None:
        """Check ``new_orders`` orders adding up to ``quantity`` on ``side`` (``exclude``: the
        order an amend replaces, whose remaining quantity ``quantity`` is)."""
        limits = self.limits.get((strategy_id, symbol))
        if limits is None:
            return None
        mine = [
            o for o in book.open_orders(symbol) if o.strategy_id == strategy_id and not o.external
        ]
        if limits.max_open_orders is not None and new_orders:
            count = len(mine) + self._queued_orders.get((strategy_id, symbol), 0)
            if count + new_orders > limits.max_open_orders:
                return RiskRejection(
                    "strategy_open_orders",
                    f"strategy {strategy_id}: {count} open or queued on {symbol}, "
                    f"limit {limits.max_open_orders}",
                )
        if limits.max_position is None or reduce_only:
            return None
        resting = sum(
            (
                o.leaves_qty
                for o in mine
                if o.side is side and o is not exclude and not o.reduce_only
            ),
            _ZERO,
        )
        queued = self._queued_qty.get((strategy_id, symbol, side), _ZERO)
        worst = self.position(strategy_id, symbol) + side.sign * (resting + queued + quantity)
        if abs(worst) > limits.max_position:
            return RiskRejection(
                "strategy_position",
                f"strategy {strategy_id}: worst case {worst} on {symbol} beyond "
                f"±{limits.max_position}",
            )
        return None

    def queued(
        self, strategy_id: StrategyId, symbol: Symbol, side: Side, quantity: Decimal, *,
        reduce_only: bool = False, orders: int = 1,
    ) -> None:  # fmt: skip
        """Orders accepted into the current window (not in the book until it is flushed)."""
        if (strategy_id, symbol) not in self.limits:
            return
        key = (strategy_id, symbol)
        self._queued_orders[key] = self._queued_orders.get(key, 0) + orders
        if not reduce_only:
            qkey = (strategy_id, symbol, side)
            self._queued_qty[qkey] = self._queued_qty.get(qkey, _ZERO) + quantity

    def window_closed(self) -> None:
        """The window's orders are booked now: the book counts them from here."""
        self._queued_orders.clear()
        self._queued_qty.clear()
