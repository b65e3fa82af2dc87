"""Positions, realized PnL and fees per strategy and symbol, from our own fills.

The venue knows one position per symbol (one-way mode); a node running several strategies on one
account must still say whose fill moved it. Every fill of an order carries its strategy (orders
remember who placed them), so the ledger keeps one :class:`PositionBook` per (strategy, symbol).
External orders (adopted, not ours) are booked under the strategy id ``""``.

Realized PnL uses the average-cost rule Binance applies in one-way mode: a fill that adds to the
position moves the average entry price; a fill that reduces it realizes
``closed × (price − entry) × sign(position)``; a fill that flips it closes the old position and
opens the rest at the fill price. Fees are kept apart (realized PnL is before fees, as Binance's
``rp``) and summed in the fee's own asset units (for USDⓈ-M with a USDC/USDT fee that is the
quote asset; a BNB fee discount would be summed in BNB — shown as is, not converted).

The engine applies fills in the order it learns them. After a restart the ledger is rebuilt from
the recovered book's fills in (time, trade id) order; where the stream delivered fills out of
order, the two can split realized PnL differently between fills, never in total once the
position is flat.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

import msgspec

from mmoms.core.enums import LiquiditySide, Side
from mmoms.core.ids import ClientOrderId, StrategyId, Symbol, TradeId
from mmoms.core.order import Order

__all__ = ["Fill", "Ledger", "PnL", "PositionBook", "owner"]

_ZERO = Decimal(0)


class Fill(msgspec.Struct, frozen=True, kw_only=True):
    """One fill of a strategy's order, as the strategy hears of it (``on_fill``).

    ``position`` is the strategy's position on ``symbol`` after this fill, ``realized_pnl`` what
    this fill realized (before fees), ``fee`` its commission in ``fee_asset``.
    """

    ts_ns: int
    strategy_id: StrategyId
    symbol: Symbol
    client_order_id: ClientOrderId
    trade_id: TradeId
    side: Side
    quantity: Decimal
    price: Decimal
    fee: Decimal
    fee_asset: str
    liquidity: LiquiditySide
    realized_pnl: Decimal
    position: Decimal
    tag: str | None = None


class PnL(msgspec.Struct, frozen=True, kw_only=True):
    """A strategy's standing on one symbol. ``unrealized`` is valued at ``mark`` (None: no price
    yet, unrealized counted as zero); ``net`` = realized + unrealized − fees."""

    symbol: Symbol
    position: Decimal
    entry_price: Decimal
    realized: Decimal
    unrealized: Decimal
    fees: Decimal
    mark: Decimal | None
    fills: int
    volume: Decimal  # quote notional traded

    @property
    def net(self) -> Decimal:
        return self.realized + self.unrealized - self.fees


@dataclass(slots=True)
class PositionBook:
    """One strategy's position on one symbol, by average cost."""

    position: Decimal = _ZERO
    entry_price: Decimal = _ZERO
    realized: Decimal = _ZERO
    fees: Decimal = _ZERO
    fills: int = 0
    volume: Decimal = _ZERO

    def apply(self, side: Side, qty: Decimal, price: Decimal, fee: Decimal) -> Decimal:
        """Book one fill; returns the PnL it realized."""
        signed = side.sign * qty
        old = self.position
        realized = _ZERO
        if old == 0 or (old > 0) == (signed > 0):  # opening or adding: move the average
            total = abs(old) + qty
            self.entry_price = (abs(old) * self.entry_price + qty * price) / total
        else:  # reducing, closing or flipping
            closed = min(qty, abs(old))
            realized = closed * (price - self.entry_price) * (1 if old > 0 else -1)
            if qty > abs(old):
                self.entry_price = price  # the rest opens at the fill price
            elif qty == abs(old):
                self.entry_price = _ZERO
        self.position = old + signed
        self.realized += realized
        self.fees += fee
        self.fills += 1
        self.volume += qty * price
        return realized

    def view(self, symbol: Symbol, mark: Decimal | None) -> PnL:
        unrealized = _ZERO if mark is None else self.position * (mark - self.entry_price)
        return PnL(
            symbol=symbol,
            position=self.position,
            entry_price=self.entry_price,
            realized=self.realized,
            unrealized=unrealized,
            fees=self.fees,
            mark=mark,
            fills=self.fills,
            volume=self.volume,
        )


class Ledger:
    """Every (strategy, symbol)'s :class:`PositionBook`. Only the engine loop writes it."""

    def __init__(self) -> None:
        self._books: dict[tuple[StrategyId, Symbol], PositionBook] = {}

    def book(self, strategy_id: StrategyId, symbol: Symbol) -> PositionBook:
        key = (strategy_id, symbol)
        found = self._books.get(key)
        if found is None:
            found = self._books[key] = PositionBook()
        return found

    def get(self, strategy_id: StrategyId, symbol: Symbol) -> PositionBook | None:
        return self._books.get((strategy_id, symbol))

    def items(self) -> Iterator[tuple[tuple[StrategyId, Symbol], PositionBook]]:
        return iter(list(self._books.items()))

    def fill(
        self,
        order: Order,
        *,
        trade_id: TradeId,
        qty: Decimal,
        price: Decimal,
        fee: Decimal,
        fee_asset: str,
        liquidity: LiquiditySide,
        ts_ns: int,
    ) -> Fill:
        """Book a fill of ``order``; returns what its strategy is told."""
        strategy_id = owner(order)
        book = self.book(strategy_id, order.symbol)
        realized = book.apply(order.side, qty, price, fee)
        return Fill(
            ts_ns=ts_ns,
            strategy_id=strategy_id,
            symbol=order.symbol,
            client_order_id=order.client_order_id,
            trade_id=trade_id,
            side=order.side,
            quantity=qty,
            price=price,
            fee=fee,
            fee_asset=fee_asset,
            liquidity=liquidity,
            realized_pnl=realized,
            position=book.position,
            tag=order.tag,
        )

    @classmethod
    def rebuild(cls, orders: Iterable[Order]) -> Ledger:
        """The ledger of a recovered book: every held fill, in (time, trade id) order."""
        ledger = cls()
        fills = sorted(
            ((f.ts_ns, f.trade_id, order, f) for order in orders for f in order.fills),
            key=lambda item: (item[0], item[1]),
        )
        for _, _, order, f in fills:
            ledger.book(owner(order), order.symbol).apply(order.side, f.qty, f.price, f.commission)
        return ledger


def owner(order: Order) -> StrategyId:
    """Whose fills an order's are: its strategy's; an external order's belong to ``""``."""
    return StrategyId("") if order.external else order.strategy_id or StrategyId("")
