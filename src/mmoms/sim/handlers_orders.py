"""Signed order endpoints: place / amend / cancel (single and batch), queries, dead-man switch.

Batch endpoints answer in request order with a per-item error object where an item failed
(``binance-usdm.md`` §3.5); items are processed one after another (Binance says "concurrently,
order not guaranteed" — sequential is one valid outcome). DELETE batch accepts ``orderIdList`` /
``origClientOrderIdList`` and ccxt's lowercase ``orderidlist`` / ``origclientorderidlist``.

The batch endpoints charge 5 to the 10 s ORDERS pool and 1 to the 1 min pool, as Binance does
(``order_count`` / ``order_count_1m`` of :class:`~mmoms.sim.api.Endpoint`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import errors
from .account import Account
from .api import Endpoint, Params, Security, SimApiError
from .orders import SimOrder
from .params import (
    error_item,
    first,
    item_params,
    json_list,
    optional,
    optional_int,
    parse_int,
    required_int,
)
from .validation import parse_modify, parse_new_order, symbol_spec

if TYPE_CHECKING:
    from .exchange import SimExchange

__all__ = ["order_endpoints"]

MAX_BATCH_PLACE = 5
MAX_BATCH_CANCEL = 10
DEFAULT_LIMIT, MAX_LIMIT = 500, 1000
CANCEL_ALL_REPLY = {"code": 200, "msg": "The operation of cancel all open order is done."}


def _limit(params: Params) -> int:
    limit = optional_int(params, "limit")
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise errors.invalid_param("limit")
    return limit


def order_endpoints(ex: SimExchange) -> list[Endpoint]:
    engine = ex.engine

    def lookup(account: Account, params: Params) -> tuple[str, SimOrder | None]:
        symbol = symbol_spec(params, ex.specs).symbol
        order_id = optional_int(params, "orderId")
        client_id = optional(params, "origClientOrderId")
        if order_id is None and client_id is None:
            raise errors.one_of_mandatory("orderId", "origClientOrderId")
        return symbol, account.find(symbol, order_id, client_id)

    def new_order(account: Account, params: Params) -> Any:
        now = ex.now()
        return engine.place(account, parse_new_order(params, ex.specs, now), now)

    def modify_order(account: Account, params: Params) -> Any:
        return engine.modify(account, parse_modify(params, ex.specs), ex.now())

    def cancel_order(account: Account, params: Params) -> Any:
        _, order = lookup(account, params)
        if order is None:
            raise errors.cancel_rejected()
        return engine.cancel(order, ex.now())

    def query_order(account: Account, params: Params) -> Any:
        _, order = lookup(account, params)
        if order is None:
            raise errors.no_such_order()
        return order.rest_dict(with_time=True)

    def query_open_order(account: Account, params: Params) -> Any:
        _, order = lookup(account, params)
        if order is None or not order.is_open:
            raise errors.no_such_order()
        return order.rest_dict(with_time=True)

    def open_orders(account: Account, params: Params) -> Any:
        symbol = symbol_spec(params, ex.specs).symbol if params.get("symbol") else None
        return [o.rest_dict(with_time=True) for o in account.open_orders_of(symbol)]

    def cancel_all(account: Account, params: Params) -> Any:
        engine.cancel_all(account, symbol_spec(params, ex.specs).symbol, ex.now())
        return dict(CANCEL_ALL_REPLY)

    def batch(name: str, params: Params, limit: int, one: Any) -> list[Any]:
        items = json_list(name, first(params, name) or _missing(name))
        if not 1 <= len(items) <= limit:
            raise errors.batch_size()
        out: list[Any] = []
        for item in items:
            try:
                out.append(one(item_params(name, item)))
            except SimApiError as exc:
                out.append(error_item(exc))
        return out

    def batch_new(account: Account, params: Params) -> Any:
        return batch("batchOrders", params, MAX_BATCH_PLACE, lambda p: new_order(account, p))

    def batch_modify(account: Account, params: Params) -> Any:
        return batch("batchOrders", params, MAX_BATCH_PLACE, lambda p: modify_order(account, p))

    def batch_cancel(account: Account, params: Params) -> Any:
        symbol = symbol_spec(params, ex.specs).symbol
        ids_text = first(params, "orderIdList", "orderidlist")
        cids_text = first(params, "origClientOrderIdList", "origclientorderidlist")
        keys: list[tuple[int | None, str | None]]
        if ids_text is not None:
            ids = json_list("orderIdList", ids_text)
            if not all(isinstance(i, int | str) for i in ids):
                raise errors.invalid_param("orderIdList")
            keys = [(parse_int("orderIdList", str(i)), None) for i in ids]
        elif cids_text is not None:
            cids = json_list("origClientOrderIdList", cids_text)
            keys = [(None, str(c)) for c in cids]
        else:
            raise errors.one_of_mandatory("orderIdList", "origClientOrderIdList")
        if not 1 <= len(keys) <= MAX_BATCH_CANCEL:
            raise errors.invalid_param("orderIdList" if ids_text else "origClientOrderIdList")
        now = ex.now()
        out: list[Any] = []
        for order_id, client_id in keys:
            order = account.find(symbol, order_id, client_id)
            try:
                if order is None:
                    raise errors.cancel_rejected()
                out.append(engine.cancel(order, now))
            except SimApiError as exc:
                out.append(error_item(exc))
        return out

    def countdown(account: Account, params: Params) -> Any:
        symbol = symbol_spec(params, ex.specs).symbol
        countdown_ms = required_int(params, "countdownTime")
        ex.set_countdown(account, symbol, countdown_ms)
        return {"symbol": symbol, "countdownTime": str(countdown_ms)}

    def all_orders(account: Account, params: Params) -> Any:
        symbol = symbol_spec(params, ex.specs).symbol
        from_id = optional_int(params, "orderId")
        start = optional_int(params, "startTime")
        end = optional_int(params, "endTime")
        limit = _limit(params)
        selected = [
            o
            for o in account.history.get(symbol, {}).values()
            if (from_id is None or o.order_id >= from_id)
            and (start is None or o.time >= start)
            and (end is None or o.time <= end)
        ]
        chosen = selected[:limit] if from_id is not None else selected[-limit:]
        return [order.rest_dict(with_time=True) for order in chosen]

    def user_trades(account: Account, params: Params) -> Any:
        symbol = symbol_spec(params, ex.specs).symbol
        order_id = optional_int(params, "orderId")
        from_id = optional_int(params, "fromId")
        start = optional_int(params, "startTime")
        end = optional_int(params, "endTime")
        if from_id is not None and (start is not None or end is not None):
            raise errors.invalid_param("fromId")
        limit = _limit(params)
        selected = [
            t
            for t in account.trades.get(symbol, ())
            if (order_id is None or t["orderId"] == order_id)
            and (from_id is None or t["id"] >= from_id)
            and (start is None or t["time"] >= start)
            and (end is None or t["time"] <= end)
        ]
        chosen = selected[:limit] if from_id is not None else selected[-limit:]
        return [dict(t) for t in chosen]

    def rate_limit_order(_account: Account, _params: Params) -> Any:
        cfg = ex.config
        return [
            {
                "rateLimitType": "ORDERS",
                "interval": "SECOND",
                "intervalNum": 10,
                "limit": cfg.orders_per_10s,
            },
            {
                "rateLimitType": "ORDERS",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": cfg.orders_per_minute,
            },
        ]

    signed = Security.SIGNED
    return [
        Endpoint("POST", "/fapi/v1/order", signed, new_order, lambda _p: 0, 1),
        Endpoint("PUT", "/fapi/v1/order", signed, modify_order, lambda _p: 0, 1),
        Endpoint("DELETE", "/fapi/v1/order", signed, cancel_order),
        Endpoint("GET", "/fapi/v1/order", signed, query_order),
        Endpoint("GET", "/fapi/v1/openOrder", signed, query_open_order),
        Endpoint(
            "GET",
            "/fapi/v1/openOrders",
            signed,
            open_orders,
            lambda p: 1 if p.get("symbol") else 40,
        ),
        Endpoint("DELETE", "/fapi/v1/allOpenOrders", signed, cancel_all),
        Endpoint("POST", "/fapi/v1/batchOrders", signed, batch_new, lambda _p: 5, 5, 1),
        Endpoint("PUT", "/fapi/v1/batchOrders", signed, batch_modify, lambda _p: 5, 5, 1),
        Endpoint("DELETE", "/fapi/v1/batchOrders", signed, batch_cancel),
        Endpoint("POST", "/fapi/v1/countdownCancelAll", signed, countdown, lambda _p: 10),
        Endpoint("GET", "/fapi/v1/allOrders", signed, all_orders, lambda _p: 5),
        Endpoint("GET", "/fapi/v1/userTrades", signed, user_trades, lambda _p: 5),
        Endpoint("GET", "/fapi/v1/rateLimit/order", signed, rate_limit_order),
    ]


def _missing(name: str) -> str:
    raise errors.mandatory(name)
