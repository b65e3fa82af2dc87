"""Instrument specifications: the trading rules a venue enforces on one contract.

Each gateway builds them from its venue's own listing (e.g. Binance's ``exchangeInfo``, in
:mod:`mmoms.venues.binance.instruments`); nothing here knows a venue's wire format.

Money is :class:`~decimal.Decimal`. Outgoing prices snap to the tick grid and quantities to the
step grid. Quantities are only ever rounded *down* (towards less risk); a quantity that rounds to
below the minimum, or a price outside the allowed range, is an error before anything is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from enum import StrEnum

from mmoms.core.enums import Side
from mmoms.core.errors import UnrepresentableValueError
from mmoms.core.ids import Symbol


class PriceRounding(StrEnum):
    """How to snap a price that is off the tick grid."""

    EXACT = "EXACT"  # off-grid is an error
    DOWN = "DOWN"
    UP = "UP"
    PASSIVE = "PASSIVE"  # away from the spread: a bid rounds down, an ask rounds up
    AGGRESSIVE = "AGGRESSIVE"  # towards the spread


@dataclass(frozen=True, slots=True)
class Instrument:
    """One tradable contract, with the limits its venue enforces on orders."""

    symbol: Symbol
    base_asset: str
    quote_asset: str
    margin_asset: str
    tick_size: Decimal
    min_price: Decimal
    max_price: Decimal
    step_size: Decimal
    min_qty: Decimal
    max_qty: Decimal
    market_step_size: Decimal
    market_min_qty: Decimal
    market_max_qty: Decimal
    min_notional: Decimal
    multiplier_up: Decimal  # LIMIT prices within [mark * down, mark * up] (0: none declared)
    multiplier_down: Decimal
    max_num_orders: int
    trading: bool = True

    # -- prices ---------------------------------------------------------------------------

    def round_price(
        self,
        price: Decimal,
        rounding: PriceRounding = PriceRounding.EXACT,
        side: Side | None = None,
    ) -> Decimal:
        """Snap ``price`` to the tick grid and check it against the price range.

        ``PASSIVE``/``AGGRESSIVE`` need ``side``.

        Raises:
            UnrepresentableValueError: off-grid with ``EXACT``, outside [min_price, max_price],
                not positive, or a side-dependent rounding without a side.
        """
        if not price.is_finite() or price <= 0:
            raise UnrepresentableValueError(f"{self.symbol}: price must be positive, got {price}")
        mode = _resolve_rounding(rounding, side, self.symbol)
        steps = price / self.tick_size
        if mode is None:
            if steps != steps.to_integral_value():
                raise UnrepresentableValueError(
                    f"{self.symbol}: price {price} is not a multiple of tick size {self.tick_size}"
                )
            snapped = price
        else:
            snapped = steps.to_integral_value(rounding=mode) * self.tick_size
        snapped = snapped.quantize(self.tick_size)
        if snapped < self.min_price or snapped > self.max_price:
            raise UnrepresentableValueError(
                f"{self.symbol}: price {snapped} outside [{self.min_price}, {self.max_price}]"
            )
        return snapped

    def price_band(self, mark_price: Decimal) -> tuple[Decimal, Decimal]:
        """The band [low, high] a LIMIT price must lie in, given the mark price."""
        return mark_price * self.multiplier_down, mark_price * self.multiplier_up

    # -- quantities -------------------------------------------------------------------------

    def round_qty(self, qty: Decimal, *, market: bool = False) -> Decimal:
        """Round ``qty`` *down* to the step grid and check it against the quantity limits
        (the market ones with ``market``).

        Never rounds up: rounding up would trade more than asked.

        Raises:
            UnrepresentableValueError: not positive, below the minimum after rounding, or above
                the maximum.
        """
        step, lo, hi = self._lot(market)
        if not qty.is_finite() or qty <= 0:
            raise UnrepresentableValueError(f"{self.symbol}: quantity must be positive, got {qty}")
        snapped = ((qty / step).to_integral_value(rounding=ROUND_FLOOR) * step).quantize(step)
        if snapped < lo:
            raise UnrepresentableValueError(
                f"{self.symbol}: quantity {qty} rounds down to {snapped}, below min {lo}"
            )
        if snapped > hi:
            raise UnrepresentableValueError(f"{self.symbol}: quantity {qty} above max {hi}")
        return snapped

    def check_qty(self, qty: Decimal, *, market: bool = False) -> Decimal:
        """Check that ``qty`` is exactly on the step grid and within the limits; return it
        quantized.

        Raises:
            UnrepresentableValueError: off-grid or out of range.
        """
        step = self._lot(market)[0]
        if qty.is_finite() and qty > 0 and (qty / step) != (qty / step).to_integral_value():
            raise UnrepresentableValueError(
                f"{self.symbol}: quantity {qty} is not a multiple of step size {step}"
            )
        return self.round_qty(qty, market=market)

    def check_notional(self, price: Decimal, qty: Decimal, *, reduce_only: bool = False) -> None:
        """Check the minimum notional; reduce-only orders are exempt (as on Binance, for one).

        Raises:
            UnrepresentableValueError: notional below the minimum.
        """
        if not reduce_only and price * qty < self.min_notional:
            raise UnrepresentableValueError(
                f"{self.symbol}: notional {price * qty} below minimum {self.min_notional}"
            )

    def _lot(self, market: bool) -> tuple[Decimal, Decimal, Decimal]:
        if market:
            return self.market_step_size, self.market_min_qty, self.market_max_qty
        return self.step_size, self.min_qty, self.max_qty


def _resolve_rounding(rounding: PriceRounding, side: Side | None, symbol: str) -> str | None:
    if rounding is PriceRounding.EXACT:
        return None
    if rounding is PriceRounding.DOWN:
        return ROUND_FLOOR
    if rounding is PriceRounding.UP:
        return ROUND_CEILING
    if side is None:
        raise UnrepresentableValueError(f"{symbol}: {rounding.value} rounding needs a side")
    passive_down = side is Side.BUY
    if rounding is PriceRounding.AGGRESSIVE:
        passive_down = not passive_down
    return ROUND_FLOOR if passive_down else ROUND_CEILING
