"""Conditional-order endpoints (the Algo Service, binance-usdm.md §3.1 and §4).

``POST /fapi/v1/algoOrder`` (ORDERS 1/1, IP 0), ``GET``/``DELETE /fapi/v1/algoOrder`` by
``algoId`` or ``clientAlgoId`` (no ``symbol`` needed, as in the official SDK), ``GET
/fapi/v1/openAlgoOrders`` (1 with a symbol, 40 without), ``GET /fapi/v1/allAlgoOrders`` (5;
``symbol`` required, ``algoId`` = from this id on, ``startTime``/``endTime``/``limit``) and
``DELETE /fapi/v1/algoOpenOrders`` (one symbol). Unknown ids answer ``-2013`` to queries and
``-2011`` to cancels; a cancel of an order that already triggered is ``-2011`` too (it lives
in the matching engine then).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import errors
from .account import Account
from .algo_model import AlgoOrder
from .algo_request import parse_algo_order
from .api import Endpoint, Params, Security
from .params import optional, optional_int
from .validation import symbol_spec

if TYPE_CHECKING:
    from .exchange import SimExchange

__all__ = ["algo_endpoints"]

DEFAULT_LIMIT, MAX_LIMIT = 500, 1000
CANCEL_ALL_REPLY = {"code": 200, "msg": "The operation of cancel all open order is done."}


def algo_endpoints(ex: SimExchange) -> list[Endpoint]:
    service = ex.algo

    def lookup(account: Account, params: Params) -> AlgoOrder | None:
        algo_id = optional_int(params, "algoId")
        client_id = optional(params, "clientAlgoId")
        if algo_id is None and client_id is None:
            raise errors.one_of_mandatory("algoId", "clientAlgoId")
        return service.find(account, algo_id, client_id)

    def place(account: Account, params: Params) -> Any:
        now = ex.now()
        return service.place(account, parse_algo_order(params, ex.specs, now), now)

    def query(account: Account, params: Params) -> Any:
        algo = lookup(account, params)
        if algo is None:
            raise errors.no_such_order()
        return algo.rest_dict(query=True)

    def cancel(account: Account, params: Params) -> Any:
        algo = lookup(account, params)
        if algo is None:
            raise errors.cancel_rejected()
        return service.cancel(algo, ex.now())

    def open_orders(account: Account, params: Params) -> Any:
        symbol = symbol_spec(params, ex.specs).symbol if params.get("symbol") else None
        algo_id = optional_int(params, "algoId")
        return [
            a.rest_dict(query=True)
            for a in service.open_orders(account, symbol)
            if algo_id is None or a.algo_id == algo_id
        ]

    def all_orders(account: Account, params: Params) -> Any:
        symbol = symbol_spec(params, ex.specs).symbol
        from_id = optional_int(params, "algoId")
        start, end = optional_int(params, "startTime"), optional_int(params, "endTime")
        limit = optional_int(params, "limit") or DEFAULT_LIMIT
        if not 1 <= limit <= MAX_LIMIT:
            raise errors.invalid_param("limit")
        selected = [
            a
            for a in service.book(account).history.values()
            if a.symbol == symbol
            and (from_id is None or a.algo_id >= from_id)
            and (start is None or a.create_time >= start)
            and (end is None or a.create_time <= end)
        ]
        chosen = selected[:limit] if from_id is not None else selected[-limit:]
        return [a.rest_dict(query=True) for a in chosen]

    def cancel_all(account: Account, params: Params) -> Any:
        service.cancel_all(account, symbol_spec(params, ex.specs).symbol, ex.now())
        return dict(CANCEL_ALL_REPLY)

    signed = Security.SIGNED
    return [
        Endpoint("POST", "/fapi/v1/algoOrder", signed, place, lambda _p: 0, 1),
        Endpoint("GET", "/fapi/v1/algoOrder", signed, query),
        Endpoint("DELETE", "/fapi/v1/algoOrder", signed, cancel),
        Endpoint(
            "GET",
            "/fapi/v1/openAlgoOrders",
            signed,
            open_orders,
            lambda p: 1 if p.get("symbol") else 40,
        ),
        Endpoint("GET", "/fapi/v1/allAlgoOrders", signed, all_orders, lambda _p: 5),
        Endpoint("DELETE", "/fapi/v1/algoOpenOrders", signed, cancel_all),
    ]
