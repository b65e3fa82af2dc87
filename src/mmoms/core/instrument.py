"""Instrument specifications built from Binance ``exchangeInfo`` symbol entries.

Money is :class:`~decimal.Decimal`. Outgoing prices snap to the tick grid and quantities to the
step grid. Quantities are only ever rounded *down* (towards less risk); a quantity that rounds to
below the minimum, or a price outside the filter range, is an error before anything is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from mmoms.core.enums import Side
from mmoms.core.errors import InstrumentError, UnrepresentableValueError
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
    """One tradable contract, with the filters Binance enforces on it."""

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
    multiplier_up: Decimal  # PERCENT_PRICE band vs mark price
    multiplier_down: Decimal
    max_num_orders: int
    trading: bool = True

    @classmethod
    def from_exchange_info(cls, entry: Mapping[str, Any]) -> Instrument:
        """Build from one element of ``exchangeInfo["symbols"]``.

        Raises:
            InstrumentError: a required field or filter is missing or malformed.
        """
        try:
            filters = {f["filterType"]: f for f in entry["filters"]}
            price_f = filters["PRICE_FILTER"]
            lot_f = filters["LOT_SIZE"]
            market_f = filters.get("MARKET_LOT_SIZE", lot_f)
            notional_f = filters.get("MIN_NOTIONAL", {"notional": "0"})
            percent_f = filters.get("PERCENT_PRICE", {"multiplierUp": "0", "multiplierDown": "0"})
            max_orders_f = filters.get("MAX_NUM_ORDERS", {"limit": 200})
            inst = cls(
                symbol=Symbol(str(entry["symbol"])),
                base_asset=str(entry["baseAsset"]),
                quote_asset=str(entry["quoteAsset"]),
                margin_asset=str(entry.get("marginAsset", entry["quoteAsset"])),
                tick_size=_dec(price_f["tickSize"]),
                min_price=_dec(price_f["minPrice"]),
                max_price=_dec(price_f["maxPrice"]),
                step_size=_dec(lot_f["stepSize"]),
                min_qty=_dec(lot_f["minQty"]),
                max_qty=_dec(lot_f["maxQty"]),
                market_step_size=_dec(market_f["stepSize"]),
                market_min_qty=_dec(market_f["minQty"]),
                market_max_qty=_dec(market_f["maxQty"]),
                min_notional=_dec(notional_f.get("notional", "0")),
                multiplier_up=_dec(percent_f["multiplierUp"]),
                multiplier_down=_dec(percent_f["multiplierDown"]),
                max_num_orders=int(max_orders_f["limit"]),
                trading=entry.get("status", "TRADING") == "TRADING",
            )
        except (KeyError, TypeError, InvalidOperation, ValueError) as exc:
            name = entry.get("symbol", "?") if isinstance(entry, Mapping) else "?"
            raise InstrumentError(f"bad exchangeInfo entry for {name!r}: {exc!r}") from exc
        if inst.tick_size <= 0 or inst.step_size <= 0 or inst.market_step_size <= 0:
            raise InstrumentError(f"{inst.symbol}: tick and step sizes must be positive")
        return inst

    # -- prices ---------------------------------------------------------------------------

    def round_price(
        self,
        price: Decimal,
        rounding: PriceRounding = PriceRounding.EXACT,
        side: Side | None = None,
    ) -> Decimal:
        """Snap ``price`` to the tick grid and check it against PRICE_FILTER.

        ``PASSIVE``/``AGGRESSIVE`` need ``side``.

        Raises:
            UnrepresentableValueError: off-grid with ``EXACT``, outside [minPrice, maxPrice],
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
        """The PERCENT_PRICE band [low, high] a LIMIT price must lie in, given the mark price."""
        return mark_price * self.multiplier_down, mark_price * self.multiplier_up

    # -- quantities -------------------------------------------------------------------------

    def round_qty(self, qty: Decimal, *, market: bool = False) -> Decimal:
        """Round ``qty`` *down* to the step grid and check it against LOT_SIZE (or MARKET_LOT_SIZE).

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
        """Check that ``qty`` is exactly on the step grid and within LOT_SIZE; return it quantized.

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
        """Check MIN_NOTIONAL (reduce-only orders are exempt, as on Binance).

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


def _dec(value: object) -> Decimal:
    d = Decimal(str(value))
    if not d.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return d
