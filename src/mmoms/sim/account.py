"""Accounts: balances, per-symbol settings, positions, open orders and margin.

Design decisions (simpler than Binance on purpose, and written down):

* **Positions** are kept per (symbol, positionSide): ``BOTH`` in one-way mode, ``LONG``/``SHORT``
  in hedge mode. Entry price is the quantity-weighted average on increase; a reduction realizes
  ``(price - entry) x qty`` (sign by direction); a fill larger than the position flips it and the
  remainder opens at the fill price. Fees (negative = rebate) and realized PnL settle into the
  symbol's margin-asset wallet at once. Break-even price = entry adjusted by the taker fee.
* **Margin**: initial margin = notional / leverage. Position margin uses the mark price. Open-
  order margin per symbol, one-way mode: ``max(buys - short position, sells - long position, 0)``
  in notional, so orders that would reduce the position need none; hedge mode: the opening
  orders' notional. Reduce-only and hedge closing orders need no margin. An order is refused
  (-2019) when total required margin would exceed wallet + unrealized PnL of its margin asset
  (all assets pooled 1:1 in multi-assets mode). ``ISOLATED`` is recorded and reported (``mt``,
  ``iw`` = position margin) but margin is pooled like cross; there is no liquidation and no
  funding.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .config_model import AccountConfig

if TYPE_CHECKING:
    from .orders import SimOrder
    from .specs import SymbolSpec

__all__ = ["Account", "AssetMargin", "Exposure", "Position", "SymbolSettings"]

ZERO = Decimal(0)
_ENTRY_DP = Decimal("1E-10")


@dataclass(slots=True)
class SymbolSettings:
    leverage: int
    isolated: bool = False

    @property
    def margin_type(self) -> str:
        return "ISOLATED" if self.isolated else "CROSSED"


class Position:
    __slots__ = ("entry", "lots", "realized", "side", "symbol", "update_time")

    def __init__(self, symbol: str, side: str) -> None:
        self.symbol = symbol
        self.side = side  # BOTH / LONG / SHORT
        self.lots = 0  # signed: > 0 long, < 0 short
        self.entry = ZERO
        self.realized = ZERO  # accumulated realized PnL before fees ("cr")
        self.update_time = 0


@dataclass(slots=True)
class Exposure:
    """Open orders of one account on one symbol (resting remainders only)."""

    count: int = 0
    closing_count: int = 0  # reduce-only / hedge-closing orders (no margin, position-capped)
    buy_tl: int = 0  # Σ ticks x lots of margin-bearing buy orders
    sell_tl: int = 0


@dataclass(slots=True)
class AssetMargin:
    """One margin asset's numbers, as the account endpoints report them."""

    wallet: Decimal = ZERO
    unrealized: Decimal = ZERO
    position_im: Decimal = ZERO
    order_im: Decimal = ZERO
    maint: Decimal = ZERO

    @property
    def margin_balance(self) -> Decimal:
        return self.wallet + self.unrealized

    @property
    def initial(self) -> Decimal:
        return self.position_im + self.order_im

    @property
    def available(self) -> Decimal:
        return self.margin_balance - self.initial


@dataclass(slots=True)
class _Pending:
    """A not-yet-placed order for the margin check."""

    symbol: str
    is_buy: bool
    tick_lots: int


class Account:
    """Everything the exchange knows about one API key. Mutated only by the exchange."""

    def __init__(
        self,
        config: AccountConfig,
        order_history_limit: int,
        trade_history_limit: int,
        created_ms: int = 0,
    ) -> None:
        self.api_key = config.api_key
        self.alias = config.account_alias  # accountAlias: stable per account, not a secret
        self.api_secret = config.api_secret
        self.ed25519_public_key_pem = config.ed25519_public_key_pem
        self.wallets: dict[str, Decimal] = {a: Decimal(v) for a, v in config.balances.items()}
        self.dual_side = config.dual_side_position
        self.multi_assets = config.multi_assets_margin
        self.default_leverage = config.default_leverage
        self.settings: dict[str, SymbolSettings] = {}
        self.positions: dict[tuple[str, str], Position] = {}
        self.exposure: dict[str, Exposure] = {}
        self.open_orders: dict[tuple[str, int], SimOrder] = {}
        self.open_by_client: dict[tuple[str, str], SimOrder] = {}
        self.history: dict[str, OrderedDict[int, SimOrder]] = {}
        self.by_client: dict[tuple[str, str], SimOrder] = {}
        self.trades: dict[str, deque[dict[str, Any]]] = {}
        self._order_limit = order_history_limit
        self._trade_limit = trade_history_limit
        # ccxt ignores balances whose updateTime is 0 ("uninitialized"): start at creation
        self.update_time = created_ms

    def __repr__(self) -> str:  # never print the secret
        return f"Account(<{len(self.api_key)}-char key>)"

    # -- settings and positions ---------------------------------------------------------------

    def settings_for(self, symbol: str) -> SymbolSettings:
        settings = self.settings.get(symbol)
        if settings is None:
            settings = self.settings[symbol] = SymbolSettings(self.default_leverage)
        return settings

    def position(self, symbol: str, side: str) -> Position:
        pos = self.positions.get((symbol, side))
        if pos is None:
            pos = self.positions[(symbol, side)] = Position(symbol, side)
            self.settings_for(symbol)
        return pos

    def position_sides(self) -> tuple[str, ...]:
        return ("LONG", "SHORT") if self.dual_side else ("BOTH",)

    def has_positions(self) -> bool:
        return any(p.lots for p in self.positions.values())

    def exposure_for(self, symbol: str) -> Exposure:
        exp = self.exposure.get(symbol)
        if exp is None:
            exp = self.exposure[symbol] = Exposure()
            self.settings_for(symbol)
        return exp

    # -- orders -----------------------------------------------------------------------------

    def register(self, order: SimOrder) -> None:
        """Index a new order (it may be open or already final)."""
        symbol = order.symbol
        history = self.history.get(symbol)
        if history is None:
            history = self.history[symbol] = OrderedDict()
        history[order.order_id] = order
        self.by_client[(symbol, order.client_id)] = order
        if len(history) > self._order_limit + self._order_limit // 10:
            self._evict(symbol, history)

    def open(self, order: SimOrder) -> None:
        """Count an order as open: indexes, open-order count and margin exposure."""
        symbol = order.symbol
        self.open_orders[(symbol, order.order_id)] = order
        self.open_by_client[(symbol, order.client_id)] = order
        exp = self.exposure_for(symbol)
        exp.count += 1
        if order.closing:
            exp.closing_count += 1
        elif order.is_buy:
            exp.buy_tl += order.ticks * order.remaining
        else:
            exp.sell_tl += order.ticks * order.remaining

    def close(self, order: SimOrder) -> None:
        """Stop counting an order as open (filled, canceled, expired, or about to be amended)."""
        symbol = order.symbol
        if self.open_orders.pop((symbol, order.order_id), None) is None:
            return
        key = (symbol, order.client_id)
        if self.open_by_client.get(key) is order:
            del self.open_by_client[key]
        exp = self.exposure_for(symbol)
        exp.count -= 1
        if order.closing:
            exp.closing_count -= 1
        elif order.is_buy:
            exp.buy_tl -= order.ticks * order.remaining
        else:
            exp.sell_tl -= order.ticks * order.remaining

    def on_maker_fill(self, order: SimOrder, lots: int) -> None:
        """A resting order traded ``lots``: call before the order records the fill."""
        if order.closing or (order.symbol, order.order_id) not in self.open_orders:
            return
        exp = self.exposure_for(order.symbol)
        if order.is_buy:
            exp.buy_tl -= order.ticks * lots
        else:
            exp.sell_tl -= order.ticks * lots

    def _evict(self, symbol: str, history: OrderedDict[int, SimOrder]) -> None:
        victims: list[int] = []
        excess = len(history) - self._order_limit
        for order_id, order in history.items():
            if len(victims) >= excess:
                break
            if not order.is_open:
                victims.append(order_id)
        for order_id in victims:
            order = history.pop(order_id)
            if self.by_client.get((symbol, order.client_id)) is order:
                del self.by_client[(symbol, order.client_id)]

    def find(self, symbol: str, order_id: int | None, client_id: str | None) -> SimOrder | None:
        """An order in history, by id (preferred) or client id."""
        if order_id is not None:
            history = self.history.get(symbol)
            return history.get(order_id) if history is not None else None
        if client_id is not None:
            return self.by_client.get((symbol, client_id))
        return None

    def open_orders_of(self, symbol: str | None) -> Iterator[SimOrder]:
        for (sym, _), order in self.open_orders.items():
            if symbol is None or sym == symbol:
                yield order

    def add_trade(self, symbol: str, trade: dict[str, Any]) -> None:
        trades = self.trades.get(symbol)
        if trades is None:
            trades = self.trades[symbol] = deque(maxlen=self._trade_limit)
        trades.append(trade)

    # -- fills ------------------------------------------------------------------------------

    def apply_fill(
        self, spec: SymbolSpec, side: str, is_buy: bool, lots: int, ticks: int, rate: Decimal
    ) -> tuple[Decimal, Decimal]:
        """Settle one fill; returns ``(realized_pnl, fee)`` in the margin asset."""
        pos = self.position(spec.symbol, side)
        price = ticks * spec.tick
        signed = lots if is_buy else -lots
        realized = ZERO
        if pos.lots == 0 or (pos.lots > 0) == is_buy:
            held = abs(pos.lots)
            pos.entry = ((pos.entry * held + price * lots) / (held + lots)).quantize(_ENTRY_DP)
            pos.lots += signed
        else:
            closing = min(lots, abs(pos.lots))
            direction = 1 if pos.lots > 0 else -1
            realized = (price - pos.entry) * closing * spec.step * direction
            pos.lots += closing if is_buy else -closing
            opening = lots - closing
            if opening:
                pos.lots = opening if is_buy else -opening
                pos.entry = price
            elif pos.lots == 0:
                pos.entry = ZERO
        fee = price * lots * spec.step * rate
        asset = spec.margin_asset
        self.wallets[asset] = self.wallets.get(asset, ZERO) + realized - fee
        pos.realized += realized
        return realized, fee

    # -- margin -----------------------------------------------------------------------------

    def margin(
        self,
        asset: str | None,
        specs: Mapping[str, SymbolSpec],
        marks: Mapping[str, Decimal],
        pending: _Pending | None = None,
    ) -> AssetMargin:
        """Margin numbers of one asset (``None``: all assets pooled, for multi-assets mode)."""
        out = AssetMargin()
        if asset is None:
            out.wallet = sum(self.wallets.values(), ZERO)
        else:
            out.wallet = self.wallets.get(asset, ZERO)
        for symbol, settings in self.settings.items():
            spec = specs[symbol]
            if asset is not None and spec.margin_asset != asset:
                continue
            self._add_symbol_margin(out, spec, settings, marks[symbol], pending)
        return out

    def _add_symbol_margin(
        self,
        out: AssetMargin,
        spec: SymbolSpec,
        settings: SymbolSettings,
        mark: Decimal,
        pending: _Pending | None,
    ) -> None:
        leverage = settings.leverage
        long_qty = short_qty = ZERO
        maint_rate = Decimal(spec.config.maint_margin_percent) / 100
        for side in self.position_sides():
            pos = self.positions.get((spec.symbol, side))
            if pos is None or pos.lots == 0:
                continue
            qty = pos.lots * spec.step
            out.unrealized += qty * (mark - pos.entry)
            notional = abs(qty) * mark
            out.position_im += notional / leverage
            out.maint += notional * maint_rate
            if pos.lots > 0:
                long_qty += qty
            else:
                short_qty -= qty
        exp = self.exposure.get(spec.symbol)
        buy_tl = exp.buy_tl if exp is not None else 0
        sell_tl = exp.sell_tl if exp is not None else 0
        if pending is not None and pending.symbol == spec.symbol:
            if pending.is_buy:
                buy_tl += pending.tick_lots
            else:
                sell_tl += pending.tick_lots
        if not buy_tl and not sell_tl:
            return
        buys, sells = spec.notional(buy_tl), spec.notional(sell_tl)
        if self.dual_side:
            order_notional = buys + sells
        else:
            order_notional = max(buys - short_qty * mark, sells - long_qty * mark, ZERO)
        out.order_im += order_notional / leverage

    def margin_ok(
        self,
        spec: SymbolSpec,
        is_buy: bool,
        tick_lots: int,
        specs: Mapping[str, SymbolSpec],
        marks: Mapping[str, Decimal],
    ) -> bool:
        """Would an extra margin-bearing order of ``tick_lots`` still be covered?"""
        asset = None if self.multi_assets else spec.margin_asset
        self.settings_for(spec.symbol)
        margin = self.margin(asset, specs, marks, _Pending(spec.symbol, is_buy, tick_lots))
        return margin.initial <= margin.margin_balance
