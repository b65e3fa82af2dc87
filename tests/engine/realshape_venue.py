"""A Binance double that answers in the real exchange's shapes: every reply is a real payload
(``tests/data/binance-real-payloads``, see :mod:`tests.venues.real_payloads`) with the values of
this venue's state written into it, keys and JSON types left as captured. Plugged into a
:class:`~mmoms.venues.testing.FakeHttpTransport` under the real
:class:`~mmoms.venues.binance.BinanceGateway`, so what reaches the engine went through the
gateway's schemas and codec exactly as a reply from Binance would.

What it plays: regular orders (place, batch place, cancel, batch cancel, query, open orders),
conditional orders in the algo service (place, query, open list, cancel), trades, positions,
and :meth:`RealShapeBinance.trigger`: a stop fires and the order it placed fills, with no user
stream to tell (the gateway runs without one). The algo service's replies are the captured
``openAlgoOrders`` item's shape — ``actualOrderId`` and ``actualPrice``, no ``actualQty`` — and
the order placed at trigger carries a client order id of the venue's own: what Binance puts
there is not documented, so the engine must find the order by its id.
"""

from __future__ import annotations

import itertools
import json
import time
from decimal import Decimal
from typing import Any

from mmoms.core.ids import Symbol
from mmoms.venues.testing import FakeRequest, json_reply
from mmoms.venues.transport import HttpReply
from tests.venues.real_payloads import payload

SYM = Symbol("BTCUSDT")  # the symbol of the live exchangeInfo capture


def _ms() -> int:
    return time.time_ns() // 1_000_000


def _error(status: int, code: int, msg: str) -> HttpReply:
    return json_reply(status, {"code": code, "msg": msg})


class RealShapeBinance:
    """The venue's state, and ``__call__`` answering one request (a FakeHttpTransport handler)."""

    def __init__(self, *, actual_id_as_text: bool = True) -> None:
        self.requests: list[FakeRequest] = []
        self.orders: dict[str, dict[str, Any]] = {}  # regular orders by client order id
        self.algos: dict[str, dict[str, Any]] = {}  # conditional orders by clientAlgoId
        self.trades: list[dict[str, Any]] = []
        self.position = Decimal(0)
        self._actual_id_as_text = actual_id_as_text  # the captures show "" before trigger
        # A stale read, as Binance gives for a while after a change (the soak's stale_reads
        # fault): a query of a conditional order answers "does not exist".
        self.stale_algo_queries = False
        self.stale_order_queries = 0  # this many queries of a regular order read "not found"
        self._order_ids = itertools.count(237740210409)  # from the captured order's id
        self._algo_ids = itertools.count(4000000055631905)  # from the captured algo id
        self._trade_ids = itertools.count(272536245)  # from the captured trade's id

    # -- test controls ------------------------------------------------------------------------

    def trigger(
        self, client_algo_id: str, *, status: str, price: str, commission: str
    ) -> dict[str, Any]:
        """The stop fires and the MARKET order it places fills at ``price`` in one trade. The
        algo service then reports ``status`` (FINISHED, or still TRIGGERED: it lags). Returns
        the trade as ``userTrades`` will list it."""
        algo = self.algos[client_algo_id]
        now = _ms()
        order_id = next(self._order_ids) * 1_000  # a big one: int64, not int32
        placed = self._order(
            order_id=order_id,
            client_order_id=f"x-{order_id}",  # the venue's own: not the clientAlgoId
            side=algo["side"],
            order_type="MARKET",
            quantity=algo["quantity"],
            price="0",
            tif="GTC",
        )
        placed.update(status="FILLED", executedQty=algo["quantity"], avgPrice=price)
        self.orders[placed["clientOrderId"]] = placed
        actual: str | int = str(order_id) if self._actual_id_as_text else order_id
        algo.update(algoStatus=status, actualOrderId=actual, actualPrice=price)
        algo.update(triggerTime=now, updateTime=now)
        trade = payload("rest.userTrades.BTCUSDT.2023")[0]
        qty = Decimal(algo["quantity"])
        trade.update(id=next(self._trade_ids), orderId=order_id, side=algo["side"], price=price)
        trade.update(qty=algo["quantity"], quoteQty=str(qty * Decimal(price)), time=now)
        trade.update(commission=commission, buyer=algo["side"] == "BUY", realizedPnl="0")
        self.trades.append(trade)
        self.position += qty if algo["side"] == "BUY" else -qty
        return trade

    def calls(self, method: str, path: str) -> list[FakeRequest]:
        return [r for r in self.requests if (r.method, r.path) == (method, path)]

    # -- the wire -----------------------------------------------------------------------------

    def __call__(self, request: FakeRequest) -> HttpReply:
        self.requests.append(request)
        route = getattr(self, _ROUTES.get((request.method, request.path), "_no_route"))
        answer: HttpReply = route(request.params)
        return answer

    def _no_route(self, _: dict[str, str]) -> HttpReply:
        return json_reply(404, payload("rest.error.-5000.bad_path.testnet"))

    def _exchange_info(self, _: dict[str, str]) -> HttpReply:
        return json_reply(200, payload("rest.exchangeInfo.BTCUSDT.live2026"))

    def _time(self, _: dict[str, str]) -> HttpReply:
        return json_reply(200, payload("rest.time.live2026") | {"serverTime": _ms()})

    def _balance(self, _: dict[str, str]) -> HttpReply:
        return json_reply(200, payload("rest.balance.v2.USDT.2026"))

    def _positions(self, _: dict[str, str]) -> HttpReply:
        [item] = payload("rest.positionRisk.v3.BTCUSDT.2024")
        item.update(positionAmt=f"{self.position:.3f}", updateTime=_ms())
        return json_reply(200, [item])

    def _order(self, *, order_id: int, client_order_id: str, side: str, order_type: str,
               quantity: str, price: str, tif: str) -> dict[str, Any]:  # fmt: skip
        order: dict[str, Any] = payload("rest.openOrder.LTCUSDT.GTX")
        now = _ms()
        order.update(orderId=order_id, symbol=SYM, clientOrderId=client_order_id, side=side)
        order.update(type=order_type, origType=order_type, origQty=quantity, price=price)
        order.update(timeInForce=tif, time=now, updateTime=now)
        return order

    def _place_one(self, p: dict[str, str]) -> dict[str, Any]:
        order = self._order(order_id=next(self._order_ids), client_order_id=p["newClientOrderId"],
                            side=p["side"], order_type=p["type"], quantity=p["quantity"],
                            price=p.get("price", "0"), tif=p.get("timeInForce", "GTC"))  # fmt: skip
        self.orders[order["clientOrderId"]] = order
        reply: dict[str, Any] = payload("rest.order.new.limit.BTCUSDT.2024")  # the ack's shape
        return reply | {k: order[k] for k in reply if k in order}

    def _place(self, p: dict[str, str]) -> HttpReply:
        return json_reply(200, self._place_one(p))

    def _place_batch(self, p: dict[str, str]) -> HttpReply:
        return json_reply(200, [self._place_one(item) for item in json.loads(p["batchOrders"])])

    def _find(self, p: dict[str, str]) -> dict[str, Any] | None:
        if "orderId" in p:
            found = [o for o in self.orders.values() if str(o["orderId"]) == p["orderId"]]
            return found[0] if found else None
        return self.orders.get(p.get("origClientOrderId", ""))

    def _cancel_one(self, p: dict[str, str]) -> dict[str, Any]:
        order = self._find(p)
        if order is None or order["status"] not in ("NEW", "PARTIALLY_FILLED"):
            return {"code": -2011, "msg": "Unknown order sent."}
        order.update(status="CANCELED", updateTime=_ms())
        reply: dict[str, Any] = payload("rest.order.cancel.BTCUSDT.2024")
        return reply | {k: order[k] for k in reply if k in order}

    def _cancel(self, p: dict[str, str]) -> HttpReply:
        body = self._cancel_one(p)
        return json_reply(400 if "code" in body else 200, body)

    def _cancel_batch(self, p: dict[str, str]) -> HttpReply:
        if "orderIdList" in p:
            refs = [{"orderId": str(i)} for i in json.loads(p["orderIdList"])]
        else:
            refs = [{"origClientOrderId": c} for c in json.loads(p["origClientOrderIdList"])]
        return json_reply(200, [self._cancel_one(ref) for ref in refs])

    def _query(self, p: dict[str, str]) -> HttpReply:
        order = self._find(p)
        if order is None or self.stale_order_queries > 0:
            self.stale_order_queries -= 1
            return _error(400, -2013, "Order does not exist.")
        return json_reply(200, order)

    def _open_orders(self, _: dict[str, str]) -> HttpReply:
        return json_reply(200, [o for o in self.orders.values() if o["status"] == "NEW"])

    def _user_trades(self, _: dict[str, str]) -> HttpReply:
        return json_reply(200, self.trades)

    # -- the algo service ---------------------------------------------------------------------

    def _algo_place(self, p: dict[str, str]) -> HttpReply:
        now = _ms()
        query_shape: dict[str, Any] = payload("rest.algoOrder.open.ETHUSDC.2025")
        query_shape.update(algoId=next(self._algo_ids), clientAlgoId=p["clientAlgoId"])
        query_shape.update(orderType=p["type"], symbol=SYM, side=p["side"], timeInForce="GTC")
        query_shape.update(quantity=p["quantity"], triggerPrice=p["triggerPrice"], price="0.00")
        query_shape.update(closePosition=False, reduceOnly=p.get("reduceOnly") == "true")
        query_shape.update(createTime=now, updateTime=now)
        self.algos[p["clientAlgoId"]] = query_shape
        ack: dict[str, Any] = payload("rest.algoOrder.new.rest.docs")  # the place reply's shape
        return json_reply(200, ack | {k: query_shape[k] for k in ack if k in query_shape})

    def _algo(self, p: dict[str, str]) -> dict[str, Any] | None:
        if "algoId" in p:
            return next((a for a in self.algos.values() if str(a["algoId"]) == p["algoId"]), None)
        return self.algos.get(p.get("clientAlgoId", ""))

    def _algo_query(self, p: dict[str, str]) -> HttpReply:
        algo = self._algo(p)
        if algo is None or self.stale_algo_queries:
            return _error(400, -2013, "Order does not exist.")
        return json_reply(200, algo)

    def _algo_open(self, _: dict[str, str]) -> HttpReply:
        return json_reply(200, [a for a in self.algos.values() if a["algoStatus"] == "NEW"])

    def _algo_cancel(self, p: dict[str, str]) -> HttpReply:
        algo = self._algo(p)
        if algo is None or algo["algoStatus"] != "NEW":  # triggered: not the service's any more
            return _error(400, -2011, "Unknown order sent.")
        algo.update(algoStatus="CANCELED", updateTime=_ms())
        reply: dict[str, Any] = payload("rest.algoOrder.cancel.docs")
        return json_reply(200, reply | {k: algo[k] for k in ("algoId", "clientAlgoId")})


_ROUTES = {
    ("GET", "/fapi/v1/exchangeInfo"): "_exchange_info",
    ("GET", "/fapi/v1/time"): "_time",
    ("GET", "/fapi/v3/balance"): "_balance",
    ("GET", "/fapi/v3/positionRisk"): "_positions",
    ("POST", "/fapi/v1/order"): "_place",
    ("POST", "/fapi/v1/batchOrders"): "_place_batch",
    ("DELETE", "/fapi/v1/order"): "_cancel",
    ("DELETE", "/fapi/v1/batchOrders"): "_cancel_batch",
    ("GET", "/fapi/v1/order"): "_query",
    ("GET", "/fapi/v1/openOrders"): "_open_orders",
    ("GET", "/fapi/v1/userTrades"): "_user_trades",
    ("POST", "/fapi/v1/algoOrder"): "_algo_place",
    ("GET", "/fapi/v1/algoOrder"): "_algo_query",
    ("GET", "/fapi/v1/openAlgoOrders"): "_algo_open",
    ("DELETE", "/fapi/v1/algoOrder"): "_algo_cancel",
}
