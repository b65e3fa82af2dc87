"""New-order and modify parameters → a checked :class:`OrderRequest` (stateless checks only).

The order of checks follows what a client sees from Binance: presence and syntax first
(``-1102``, ``-1100``, ``-1116``/``-1117``), then the symbol's static filters (precision, tick,
step, min/max). Checks that depend on live state (mark price bands, open orders, position,
margin, the book) are the matching engine's, in :mod:`mmoms.sim.matching`.

``priceMatch`` is supported for LIMIT orders: OPPONENT[_n] takes the n-th best opposite level,
QUEUE[_n] the n-th best level on the order's own side; the engine resolves it when placing.
``timeInForce=RPI`` is refused (``-1130``): the simulator has no retail-price-improvement book.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from . import errors
from .api import Params
from .params import optional, optional_bool, parse_int, required
from .specs import SymbolSpec

__all__ = ["OrderRequest", "good_till_date", "parse_modify", "parse_new_order", "symbol_spec"]

CLIENT_ID = re.compile(r"[.A-Z:/a-z0-9_-]{1,36}")
_CONDITIONAL = frozenset(
    {"STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"}
)
TIFS = frozenset({"GTC", "IOC", "FOK", "GTX", "GTD"})
STP_MODES = frozenset({"NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"})
PRICE_MATCH_DEPTH = {
    "OPPONENT": 1,
    "OPPONENT_5": 5,
    "OPPONENT_10": 10,
    "OPPONENT_20": 20,
    "QUEUE": 1,
    "QUEUE_5": 5,
    "QUEUE_10": 10,
    "QUEUE_20": 20,
}
GTD_MIN_AHEAD_MS = 600_000
GTD_MAX_MS = 253_402_300_799_000
DEFAULT_STP = "NONE"  # docs disagree (EXPIRE_MAKER vs NONE); live replies show NONE


@dataclass(slots=True)
class OrderRequest:
    spec: SymbolSpec
    is_buy: bool
    order_type: str  # LIMIT / MARKET
    tif: str  # GTC for MARKET (Binance reports GTC)
    ticks: int  # 0 for MARKET and for a not-yet-resolved priceMatch
    lots: int
    reduce_only: bool
    position_side: str  # as sent, "" when absent (the engine applies the account's mode)
    client_id: str | None
    stp: str
    price_match: str
    gtd: int
    ack: bool  # newOrderRespType ACK (default) vs RESULT


def symbol_spec(params: Params, specs: Mapping[str, SymbolSpec]) -> SymbolSpec:
    """The ``symbol`` parameter's spec; raises -1102 when absent, -1121 when unknown."""
    spec = specs.get(required(params, "symbol"))
    if spec is None:
        raise errors.bad_symbol()
    return spec


def _side(params: Params) -> bool:
    side = required(params, "side")
    if side not in ("BUY", "SELL"):
        raise errors.invalid_side()
    return side == "BUY"


def check_price_filter(spec: SymbolSpec, ticks: int) -> None:
    """PRICE_FILTER bounds; raises -4013, -4002."""
    if ticks < spec.min_price_ticks:
        raise errors.price_below_min()
    if ticks > spec.max_price_ticks:
        raise errors.price_above_max()


def check_lot_size(spec: SymbolSpec, lots: int, max_lots: int) -> None:
    """LOT_SIZE / MARKET_LOT_SIZE bounds; raises -4004, -4005."""
    if lots < spec.min_lots:
        raise errors.qty_below_min()
    if lots > max_lots:
        raise errors.qty_above_max()


def parse_new_order(params: Params, specs: Mapping[str, SymbolSpec], now_ms: int) -> OrderRequest:
    """Raises ``SimApiError`` for every stateless problem with a new order."""
    spec = symbol_spec(params, specs)
    is_buy = _side(params)
    order_type = required(params, "type")
    if order_type in _CONDITIONAL:
        raise errors.stop_order_use_algo()
    if order_type not in ("LIMIT", "MARKET"):
        raise errors.invalid_order_type()
    lots = spec.parse_qty(required(params, "quantity"))
    price_text = optional(params, "price")
    tif_text = optional(params, "timeInForce")
    price_match = optional(params, "priceMatch") or "NONE"
    if price_match != "NONE" and price_match not in PRICE_MATCH_DEPTH:
        raise errors.invalid_price_match()
    ticks = 0
    gtd = 0
    if order_type == "MARKET":
        if price_text is not None:
            raise errors.not_required("price")
        if tif_text is not None:
            raise errors.not_required("timeInForce")
        if price_match != "NONE":
            raise errors.price_match_type()
        check_lot_size(spec, lots, spec.market_max_lots)
        tif = "GTC"
    else:
        if tif_text is None:
            raise errors.mandatory("timeInForce")
        if tif_text not in TIFS:
            raise errors.invalid_param("timeInForce")
        tif = tif_text
        if price_match != "NONE":
            if price_text is not None:
                raise errors.not_required("price")
        else:
            ticks = spec.parse_price(required(params, "price"))
            check_price_filter(spec, ticks)
        check_lot_size(spec, lots, spec.max_lots)
        if tif == "GTD":
            gtd = good_till_date(params, now_ms)
    client_id = optional(params, "newClientOrderId")
    if client_id is not None and CLIENT_ID.fullmatch(client_id) is None:
        raise errors.client_id_invalid()
    resp_type = optional(params, "newOrderRespType") or "ACK"
    if resp_type not in ("ACK", "RESULT"):
        raise errors.invalid_param("newOrderRespType")
    stp = optional(params, "selfTradePreventionMode") or DEFAULT_STP
    if stp not in STP_MODES:
        raise errors.invalid_stp_mode()
    position_side = optional(params, "positionSide") or ""
    if position_side not in ("", "BOTH", "LONG", "SHORT"):
        raise errors.invalid_param("positionSide")
    return OrderRequest(
        spec=spec,
        is_buy=is_buy,
        order_type=order_type,
        tif=tif,
        ticks=ticks,
        lots=lots,
        reduce_only=optional_bool(params, "reduceOnly"),
        position_side=position_side,
        client_id=client_id,
        stp=stp,
        price_match=price_match,
        gtd=gtd,
        ack=resp_type == "ACK",
    )


def good_till_date(params: Params, now_ms: int) -> int:
    """``goodTillDate`` of a GTD order; raises ``SimApiError`` -1102, -1100 or -5040."""
    gtd = parse_int("goodTillDate", required(params, "goodTillDate"))
    if gtd <= now_ms + GTD_MIN_AHEAD_MS or gtd >= GTD_MAX_MS:
        raise errors.gtd_invalid()
    return gtd - gtd % 1000  # Binance keeps second precision


@dataclass(slots=True)
class ModifyRequest:
    spec: SymbolSpec
    order_id: int | None
    client_id: str | None
    is_buy: bool
    ticks: int  # 0 when priceMatch resolves it
    lots: int
    price_match: str
    modify_id: int | None


def parse_modify(params: Params, specs: Mapping[str, SymbolSpec]) -> ModifyRequest:
    """``PUT /fapi/v1/order`` parameters; raises ``SimApiError`` for stateless problems."""
    spec = symbol_spec(params, specs)
    order_id_text = optional(params, "orderId")
    client_id = optional(params, "origClientOrderId")
    if order_id_text is None and client_id is None:
        raise errors.one_of_mandatory("orderId", "origClientOrderId")
    order_id = parse_int("orderId", order_id_text) if order_id_text is not None else None
    is_buy = _side(params)
    lots = spec.parse_qty(required(params, "quantity"))
    price_match = optional(params, "priceMatch") or "NONE"
    if price_match != "NONE" and price_match not in PRICE_MATCH_DEPTH:
        raise errors.invalid_price_match()
    ticks = 0
    if price_match == "NONE":
        ticks = spec.parse_price(required(params, "price"))
        check_price_filter(spec, ticks)
    elif optional(params, "price") is not None:
        raise errors.not_required("price")
    check_lot_size(spec, lots, spec.max_lots)
    modify_id_text = optional(params, "modifyId")
    modify_id = parse_int("modifyId", modify_id_text) if modify_id_text is not None else None
    return ModifyRequest(spec, order_id, client_id, is_buy, ticks, lots, price_match, modify_id)
