"""Binance ``exchangeInfo`` symbol entries → the neutral :class:`~mmoms.core.instrument.Instrument`.

Filter names and fields as sourced in binance-usdm.md §3.8: ``PRICE_FILTER`` (tick, price
range), ``LOT_SIZE`` and ``MARKET_LOT_SIZE`` (step, quantity range), ``MIN_NOTIONAL``,
``PERCENT_PRICE`` (band around the mark price) and ``MAX_NUM_ORDERS``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from mmoms.core.errors import InstrumentError
from mmoms.core.ids import Symbol
from mmoms.core.instrument import Instrument

__all__ = ["instrument_from_exchange_info"]


def instrument_from_exchange_info(entry: Mapping[str, Any]) -> Instrument:
    """Build from one element of ``exchangeInfo["symbols"]``.

    Raises:
        InstrumentError: a required field or filter is missing or malformed, or a tick or step
            size is not positive.
    """
    try:
        filters = {f["filterType"]: f for f in entry["filters"]}
        price_f = filters["PRICE_FILTER"]
        lot_f = filters["LOT_SIZE"]
        market_f = filters.get("MARKET_LOT_SIZE", lot_f)
        notional_f = filters.get("MIN_NOTIONAL", {"notional": "0"})
        percent_f = filters.get("PERCENT_PRICE", {"multiplierUp": "0", "multiplierDown": "0"})
        max_orders_f = filters.get("MAX_NUM_ORDERS", {"limit": 200})
        inst = Instrument(
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


def _dec(value: object) -> Decimal:
    d = Decimal(str(value))
    if not d.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return d
