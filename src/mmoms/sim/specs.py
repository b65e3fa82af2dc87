"""Symbol specifications: the exchangeInfo filters, turned into fast integer arithmetic.

Inside the simulator a price is an ``int`` number of ticks and a quantity an ``int`` number of
lots (steps). Integer arithmetic is exact, hashable and an order of magnitude faster than
``Decimal`` on the hot path; conversion happens once at the wire:

* parsing a wire string checks it against Binance's decimal pattern (``-1100``), the symbol's
  precision (``-1111``) and then the tick or step grid (``-4014`` / ``-4023``);
* formatting pads to ``pricePrecision`` / ``quantityPrecision`` decimals like Binance does
  (``"95000.10"``, ``"0.100"``).

Money derived from prices (notional, fees, PnL) is ``Decimal``: ``ticks * lots * tick * step``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from . import errors
from .config_model import SimConfig, SymbolConfig

__all__ = ["EIGHT_DP", "SymbolSpec", "build_exchange_info", "fmt8"]

_DECIMAL = re.compile(r"([0-9]{1,20})(?:\.([0-9]{1,20}))?")
EIGHT_DP = Decimal("0.00000001")
_FAR_FUTURE_DELIVERY = 4_133_404_800_000  # Binance's deliveryDate for perpetuals (2100-12-25)


def fmt8(value: Decimal) -> str:
    """Money as Binance prints balances, fees and PnL: eight decimals."""
    return format(value.quantize(EIGHT_DP, rounding=ROUND_HALF_EVEN), "f")


def _fmt_units(units: int, decimals: int) -> str:
    """Render an integer count of 10**-decimals as a fixed-point string."""
    if decimals == 0:
        return str(units)
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units), 10**decimals)
    return f"{sign}{whole}.{frac:0{decimals}d}"


def _grid_units(size: Decimal, decimals: int) -> int:
    units = size.scaleb(decimals)
    if units != units.to_integral_value() or units <= 0:
        raise ValueError(f"size {size} is not a positive multiple of 10**-{decimals}")
    return int(units)


@dataclass(frozen=True, slots=True, eq=False)
class SymbolSpec:
    """One symbol's grid, filters and fees, precomputed for the order path."""

    config: SymbolConfig
    symbol: str
    margin_asset: str
    tick: Decimal
    step: Decimal
    tick_step: Decimal  # the notional of one tick x one lot
    price_decimals: int
    qty_decimals: int
    units_per_tick: int  # tick size in 10**-price_decimals
    units_per_lot: int  # step size in 10**-qty_decimals
    min_price_ticks: int
    max_price_ticks: int
    min_lots: int
    max_lots: int
    market_max_lots: int
    min_notional_tl: int  # ceil(MIN_NOTIONAL / tick_step): compare with ticks * lots
    min_notional: str
    multiplier_up: Decimal
    multiplier_down: Decimal
    max_num_orders: int
    maker_fee: Decimal
    taker_fee: Decimal
    start_ticks: int

    @classmethod
    def from_config(cls, cfg: SymbolConfig) -> SymbolSpec:
        """Raises ``ValueError`` if the configuration is inconsistent (grid, precision)."""
        tick, step = Decimal(cfg.tick_size), Decimal(cfg.step_size)
        upt = _grid_units(tick, cfg.price_precision)
        upl = _grid_units(step, cfg.quantity_precision)

        def ticks_of(text: str) -> int:
            return int((Decimal(text) / tick).to_integral_value())

        def lots_of(text: str) -> int:
            return int((Decimal(text) / step).to_integral_value())

        tick_step = tick * step
        notional = Decimal(cfg.min_notional)
        min_tl = int((notional / tick_step).to_integral_value(rounding="ROUND_CEILING"))
        spec = cls(
            config=cfg,
            symbol=cfg.symbol,
            margin_asset=cfg.quote_asset,
            tick=tick,
            step=step,
            tick_step=tick_step,
            price_decimals=cfg.price_precision,
            qty_decimals=cfg.quantity_precision,
            units_per_tick=upt,
            units_per_lot=upl,
            min_price_ticks=ticks_of(cfg.min_price),
            max_price_ticks=ticks_of(cfg.max_price),
            min_lots=max(1, lots_of(cfg.min_qty)),
            max_lots=lots_of(cfg.max_qty),
            market_max_lots=lots_of(cfg.market_max_qty),
            min_notional_tl=min_tl,
            min_notional=cfg.min_notional,
            multiplier_up=Decimal(cfg.multiplier_up),
            multiplier_down=Decimal(cfg.multiplier_down),
            max_num_orders=cfg.max_num_orders,
            maker_fee=Decimal(cfg.maker_fee),
            taker_fee=Decimal(cfg.taker_fee),
            start_ticks=ticks_of(cfg.start_price),
        )
        if spec.start_ticks <= 0 or spec.max_lots < spec.min_lots:
            raise ValueError(f"{cfg.symbol}: start price and quantity limits must be positive")
        return spec

    # -- parsing (raise SimApiError) ------------------------------------------------------

    def _parse_units(self, name: str, text: str, decimals: int) -> int:
        match = _DECIMAL.fullmatch(text)
        if match is None:
            raise errors.illegal_chars(name)
        whole, frac = match.group(1), (match.group(2) or "").rstrip("0")
        if len(frac) > decimals:
            raise errors.bad_precision()
        units: int = int(whole) * 10**decimals
        return units + int(frac.ljust(decimals, "0")) if frac else units

    def parse_price(self, text: str, name: str = "price") -> int:
        """Wire price → ticks. Raises ``SimApiError`` -1100, -1111, -4014 or -4013 (zero)."""
        units = self._parse_units(name, text, self.price_decimals)
        ticks, rest = divmod(units, self.units_per_tick)
        if rest:
            raise errors.price_not_tick()
        if ticks <= 0:
            raise errors.price_below_min()
        return ticks

    def parse_qty(self, text: str, name: str = "quantity") -> int:
        """Wire quantity → lots. Raises ``SimApiError`` -1100, -1111, -4023 or -4003 (zero)."""
        units = self._parse_units(name, text, self.qty_decimals)
        lots, rest = divmod(units, self.units_per_lot)
        if rest:
            raise errors.qty_not_step()
        if lots <= 0:
            raise errors.qty_not_positive()
        return lots

    # -- formatting -------------------------------------------------------------------------

    def fmt_price(self, ticks: int) -> str:
        return _fmt_units(ticks * self.units_per_tick, self.price_decimals)

    def fmt_qty(self, lots: int) -> str:
        return _fmt_units(lots * self.units_per_lot, self.qty_decimals)

    def fmt_quote(self, tick_lots: int) -> str:
        """A sum of ``ticks * lots`` (cumQuote, notional) at price+quantity precision."""
        units = tick_lots * self.units_per_tick * self.units_per_lot
        return _fmt_units(units, self.price_decimals + self.qty_decimals)

    def fmt_avg(self, tick_lots: int, lots: int) -> str:
        """Average fill price; exact on the tick grid when it can be, else eight decimals."""
        if lots == 0:
            return self.fmt_price(0)
        whole, rest = divmod(tick_lots, lots)
        if rest == 0:
            return self.fmt_price(whole)
        return fmt8(Decimal(tick_lots) / Decimal(lots) * self.tick)

    def price(self, ticks: int) -> Decimal:
        return ticks * self.tick

    def qty(self, lots: int) -> Decimal:
        return lots * self.step

    def notional(self, tick_lots: int) -> Decimal:
        return tick_lots * self.tick_step

    # -- exchangeInfo -----------------------------------------------------------------------

    def exchange_info_entry(self) -> dict[str, Any]:
        cfg = self.config
        return {
            "symbol": cfg.symbol,
            "pair": cfg.symbol,
            "contractType": "PERPETUAL",
            "deliveryDate": _FAR_FUTURE_DELIVERY,
            "onboardDate": cfg.onboard_date,
            "status": "TRADING",
            "maintMarginPercent": cfg.maint_margin_percent,
            "requiredMarginPercent": cfg.required_margin_percent,
            "baseAsset": cfg.base_asset,
            "quoteAsset": cfg.quote_asset,
            "marginAsset": cfg.quote_asset,
            "pricePrecision": cfg.price_precision,
            "quantityPrecision": cfg.quantity_precision,
            "baseAssetPrecision": 8,
            "quotePrecision": 8,
            "underlyingType": "COIN",
            "underlyingSubType": [],
            "triggerProtect": cfg.trigger_protect,
            "liquidationFee": cfg.liquidation_fee,
            "marketTakeBound": cfg.market_take_bound,
            "maxMoveOrderLimit": 10000,
            "filters": [
                {
                    "filterType": "PRICE_FILTER",
                    "minPrice": cfg.min_price,
                    "maxPrice": cfg.max_price,
                    "tickSize": cfg.tick_size,
                },
                {
                    "filterType": "LOT_SIZE",
                    "minQty": cfg.min_qty,
                    "maxQty": cfg.max_qty,
                    "stepSize": cfg.step_size,
                },
                {
                    "filterType": "MARKET_LOT_SIZE",
                    "minQty": cfg.min_qty,
                    "maxQty": cfg.market_max_qty,
                    "stepSize": cfg.step_size,
                },
                {"filterType": "MAX_NUM_ORDERS", "limit": cfg.max_num_orders},
                {"filterType": "MIN_NOTIONAL", "notional": cfg.min_notional},
                {
                    "filterType": "PERCENT_PRICE",
                    "multiplierUp": cfg.multiplier_up,
                    "multiplierDown": cfg.multiplier_down,
                    "multiplierDecimal": "4",
                },
                {"filterType": "POSITION_RISK_CONTROL", "positionControlSide": "NONE"},
            ],
            "orderTypes": [
                "LIMIT",
                "MARKET",
                "STOP",
                "STOP_MARKET",
                "TAKE_PROFIT",
                "TAKE_PROFIT_MARKET",
                "TRAILING_STOP_MARKET",
            ],
            "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
            "permissionSets": ["GRID", "COPY", "DCA", "PSB"],
        }


def build_exchange_info(config: SimConfig, specs: list[SymbolSpec]) -> dict[str, Any]:
    """The static part of ``GET /fapi/v1/exchangeInfo``; the caller adds ``serverTime``."""
    assets = sorted({spec.margin_asset for spec in specs})
    return {
        "timezone": "UTC",
        "serverTime": 0,
        "futuresType": "U_MARGINED",
        "rateLimits": [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": config.request_weight_per_minute,
            },
            {
                "rateLimitType": "ORDERS",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": config.orders_per_minute,
            },
            {
                "rateLimitType": "ORDERS",
                "interval": "SECOND",
                "intervalNum": 10,
                "limit": config.orders_per_10s,
            },
        ],
        "exchangeFilters": [],
        "assets": [
            {"asset": asset, "marginAvailable": True, "autoAssetExchange": "-10000"}
            for asset in assets
        ],
        "symbols": [spec.exchange_info_entry() for spec in specs],
    }
