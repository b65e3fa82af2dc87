"""``POST /fapi/v1/algoOrder`` parameters → a checked :class:`AlgoRequest` (stateless checks).

Rules (binance-usdm.md §4; where Binance is silent the choice is written down):

* ``algoType`` must be ``CONDITIONAL``; ``type`` one of the five conditional types (``LIMIT`` /
  ``MARKET`` belong to ``/fapi/v1/order``: ``-1116``).
* ``triggerPrice`` is required except for TRAILING_STOP_MARKET, which takes ``callbackRate``
  (0.1–20, percent, one decimal) and an optional ``activatePrice`` instead (a ``triggerPrice`` sent
  with it is ``-1106``). ``stopPrice`` is not a parameter of this endpoint.
* STOP / TAKE_PROFIT need ``price`` (or ``priceMatch``) and take ``timeInForce`` (default GTC;
  GTD needs ``goodTillDate``); the *_MARKET types refuse ``price`` (``-1106``) and report GTC.
* ``closePosition=true`` only on STOP_MARKET / TAKE_PROFIT_MARKET, never with ``quantity``
  (``-4137``) or ``reduceOnly`` (``-1106``).
* Quantities follow LOT_SIZE (limit types) or MARKET_LOT_SIZE (market types); prices follow
  PRICE_FILTER. Live-state checks (position side, limits, -2021) are the service's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from . import errors
from .algo_model import ALGO_TYPES, MARKET_TYPES
from .api import Params
from .params import optional, optional_bool, required
from .specs import SymbolSpec
from .validation import (
    CLIENT_ID,
    PRICE_MATCH_DEPTH,
    STP_MODES,
    TIFS,
    check_lot_size,
    check_price_filter,
    good_till_date,
    symbol_spec,
)

__all__ = ["AlgoRequest", "parse_algo_order"]

_CALLBACK_RATE = re.compile(r"[0-9]{1,2}(?:\.[0-9])?")
_MIN_CALLBACK, _MAX_CALLBACK = Decimal("0.1"), Decimal("20")
_WORKING_TYPES = ("CONTRACT_PRICE", "MARK_PRICE")


@dataclass(slots=True)
class AlgoRequest:
    spec: SymbolSpec
    is_buy: bool
    order_type: str
    position_side: str  # as sent; "" when absent
    tif: str
    lots: int  # 0 with closePosition
    ticks: int  # limit price (0: market types or priceMatch)
    trigger_ticks: int
    working_type: str
    price_match: str
    close_position: bool
    price_protect: bool
    reduce_only: bool
    activate_ticks: int
    callback_rate: str
    client_id: str | None
    stp: str
    gtd: int


def _price(spec: SymbolSpec, params: Params, name: str) -> int:
    ticks = spec.parse_price(required(params, name), name)
    check_price_filter(spec, ticks)
    return ticks


def parse_algo_order(params: Params, specs: Mapping[str, SymbolSpec], now_ms: int) -> AlgoRequest:
    """Raises ``SimApiError`` for every stateless problem with a new conditional order."""
    if required(params, "algoType") != "CONDITIONAL":
        raise errors.invalid_param("algoType")
    spec = symbol_spec(params, specs)
    side = required(params, "side")
    if side not in ("BUY", "SELL"):
        raise errors.invalid_side()
    order_type = required(params, "type")
    if order_type not in ALGO_TYPES:
        raise errors.invalid_order_type()
    is_market = order_type in MARKET_TYPES
    trailing = order_type == "TRAILING_STOP_MARKET"

    close_position = optional_bool(params, "closePosition")
    reduce_only = optional_bool(params, "reduceOnly")
    if close_position:
        if order_type not in ("STOP_MARKET", "TAKE_PROFIT_MARKET"):
            raise errors.not_required("closePosition")
        if optional(params, "quantity") is not None:
            raise errors.close_position_quantity()
        if reduce_only:
            raise errors.not_required("reduceOnly")
        lots = 0
    else:
        lots = spec.parse_qty(required(params, "quantity"))
        check_lot_size(spec, lots, spec.market_max_lots if is_market else spec.max_lots)

    price_match = optional(params, "priceMatch") or "NONE"
    if price_match != "NONE" and price_match not in PRICE_MATCH_DEPTH:
        raise errors.invalid_price_match()
    ticks, tif, gtd = 0, "GTC", 0
    if is_market:
        if optional(params, "price") is not None:
            raise errors.not_required("price")
        if price_match != "NONE":
            raise errors.price_match_type()
    else:
        if price_match == "NONE":
            ticks = _price(spec, params, "price")
        elif optional(params, "price") is not None:
            raise errors.not_required("price")
        tif = optional(params, "timeInForce") or "GTC"
        if tif not in TIFS:
            raise errors.invalid_param("timeInForce")
        if tif == "GTD":
            gtd = good_till_date(params, now_ms)

    trigger_ticks = activate_ticks = 0
    callback_rate = ""
    if trailing:
        if optional(params, "triggerPrice") is not None:
            raise errors.not_required("triggerPrice")
        callback_rate = _callback_rate(required(params, "callbackRate"))
        if optional(params, "activatePrice") is not None:
            activate_ticks = _price(spec, params, "activatePrice")
    else:
        trigger_ticks = _price(spec, params, "triggerPrice")
        if optional(params, "callbackRate") is not None:
            raise errors.not_required("callbackRate")

    working_type = optional(params, "workingType") or "CONTRACT_PRICE"
    if working_type not in _WORKING_TYPES:
        raise errors.invalid_param("workingType")
    position_side = optional(params, "positionSide") or ""
    if position_side not in ("", "BOTH", "LONG", "SHORT"):
        raise errors.invalid_param("positionSide")
    client_id = optional(params, "clientAlgoId")
    if client_id is not None and CLIENT_ID.fullmatch(client_id) is None:
        raise errors.client_id_invalid()
    if (optional(params, "newOrderRespType") or "ACK") not in ("ACK", "RESULT"):
        raise errors.invalid_param("newOrderRespType")
    stp = optional(params, "selfTradePreventionMode") or "NONE"
    if stp not in STP_MODES:
        raise errors.invalid_stp_mode()
    return AlgoRequest(
        spec=spec,
        is_buy=side == "BUY",
        order_type=order_type,
        position_side=position_side,
        tif=tif,
        lots=lots,
        ticks=ticks,
        trigger_ticks=trigger_ticks,
        working_type=working_type,
        price_match=price_match,
        close_position=close_position,
        price_protect=optional_bool(params, "priceProtect"),
        reduce_only=reduce_only,
        activate_ticks=activate_ticks,
        callback_rate=callback_rate,
        client_id=client_id,
        stp=stp,
        gtd=gtd,
    )


def _callback_rate(text: str) -> str:
    if _CALLBACK_RATE.fullmatch(text) is None:
        raise errors.invalid_param("callbackRate")
    rate = Decimal(text)
    if not _MIN_CALLBACK <= rate <= _MAX_CALLBACK:
        raise errors.invalid_param("callbackRate")
    return str(rate)
