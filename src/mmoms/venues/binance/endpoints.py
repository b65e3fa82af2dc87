"""The endpoints the gateway uses, as data: method, path, security, weights, operation kind.

One table drives signing (``security``), rate control (``weight`` against the per-IP
REQUEST_WEIGHT pool; ``orders_10s`` / ``orders_1m`` against the per-account ORDERS pools) and the
retry policy (``op``). Weights are Binance's documented ones (research notes §3.1); where a call
without ``symbol`` costs more, ``weight_no_symbol`` says how much.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Security(StrEnum):
    NONE = "NONE"  # public
    USER_STREAM = "USER_STREAM"  # API key header, no signature (listenKey)
    SIGNED = "SIGNED"  # API key header + timestamp + recvWindow + signature


class OpKind(StrEnum):
    """What kind of operation a request is: decides retries and which rate budget it may use."""

    QUERY = "QUERY"  # read-only: always safe to repeat
    IDEMPOTENT = "IDEMPOTENT"  # a write that is harmless to repeat (settings, listenKey)
    CANCEL = "CANCEL"  # repeat is harmless; may use the budget reserved for getting out
    PLACE = "PLACE"  # new order: repeated only after a definite "not executed"
    AMEND = "AMEND"  # modify: treated like PLACE (an unknown outcome is resolved, not repeated)


@dataclass(frozen=True, slots=True)
class Endpoint:
    method: str
    path: str
    security: Security
    op: OpKind
    weight: int  # REQUEST_WEIGHT per call
    orders_10s: int = 0  # ORDERS pool, 10-second window
    orders_1m: int = 0  # ORDERS pool, 1-minute window
    weight_no_symbol: int | None = None  # weight when called without ``symbol``

    @property
    def name(self) -> str:
        """``"METHOD /path"``: the endpoint's name in logs, errors and error-rate tracking."""
        return f"{self.method} {self.path}"

    def weight_for(self, has_symbol: bool) -> int:
        if not has_symbol and self.weight_no_symbol is not None:
            return self.weight_no_symbol
        return self.weight


_S, _U, _N = Security.SIGNED, Security.USER_STREAM, Security.NONE

# -- orders --------------------------------------------------------------------------------
NEW_ORDER = Endpoint("POST", "/fapi/v1/order", _S, OpKind.PLACE, 0, orders_10s=1, orders_1m=1)
MODIFY_ORDER = Endpoint("PUT", "/fapi/v1/order", _S, OpKind.AMEND, 0, orders_10s=1, orders_1m=1)
CANCEL_ORDER = Endpoint("DELETE", "/fapi/v1/order", _S, OpKind.CANCEL, 1)
BATCH_PLACE = Endpoint("POST", "/fapi/v1/batchOrders", _S, OpKind.PLACE, 5, 5, 1)
BATCH_MODIFY = Endpoint("PUT", "/fapi/v1/batchOrders", _S, OpKind.AMEND, 5, 5, 1)
BATCH_CANCEL = Endpoint("DELETE", "/fapi/v1/batchOrders", _S, OpKind.CANCEL, 1)
CANCEL_ALL = Endpoint("DELETE", "/fapi/v1/allOpenOrders", _S, OpKind.CANCEL, 1)
COUNTDOWN_CANCEL_ALL = Endpoint("POST", "/fapi/v1/countdownCancelAll", _S, OpKind.CANCEL, 10)
QUERY_ORDER = Endpoint("GET", "/fapi/v1/order", _S, OpKind.QUERY, 1)
OPEN_ORDERS = Endpoint("GET", "/fapi/v1/openOrders", _S, OpKind.QUERY, 1, weight_no_symbol=40)
ALL_ORDERS = Endpoint("GET", "/fapi/v1/allOrders", _S, OpKind.QUERY, 5)
USER_TRADES = Endpoint("GET", "/fapi/v1/userTrades", _S, OpKind.QUERY, 5)

# -- conditional (algo) orders ----------------------------------------------------------------
ALGO_PLACE = Endpoint("POST", "/fapi/v1/algoOrder", _S, OpKind.PLACE, 0, orders_10s=1, orders_1m=1)
ALGO_CANCEL = Endpoint("DELETE", "/fapi/v1/algoOrder", _S, OpKind.CANCEL, 1)
ALGO_QUERY = Endpoint("GET", "/fapi/v1/algoOrder", _S, OpKind.QUERY, 1)
ALGO_OPEN = Endpoint("GET", "/fapi/v1/openAlgoOrders", _S, OpKind.QUERY, 1, weight_no_symbol=40)
ALGO_CANCEL_ALL = Endpoint("DELETE", "/fapi/v1/algoOpenOrders", _S, OpKind.CANCEL, 1)

# -- account, positions, settings ---------------------------------------------------------
POSITION_RISK = Endpoint("GET", "/fapi/v3/positionRisk", _S, OpKind.QUERY, 5)
ACCOUNT = Endpoint("GET", "/fapi/v3/account", _S, OpKind.QUERY, 5)
BALANCE = Endpoint("GET", "/fapi/v3/balance", _S, OpKind.QUERY, 5)
COMMISSION_RATE = Endpoint("GET", "/fapi/v1/commissionRate", _S, OpKind.QUERY, 20)
LEVERAGE = Endpoint("POST", "/fapi/v1/leverage", _S, OpKind.IDEMPOTENT, 1)
MARGIN_TYPE = Endpoint("POST", "/fapi/v1/marginType", _S, OpKind.IDEMPOTENT, 1)
POSITION_MODE_SET = Endpoint("POST", "/fapi/v1/positionSide/dual", _S, OpKind.IDEMPOTENT, 1)
POSITION_MODE_GET = Endpoint("GET", "/fapi/v1/positionSide/dual", _S, OpKind.QUERY, 30)

# -- public and user stream ---------------------------------------------------------------
EXCHANGE_INFO = Endpoint("GET", "/fapi/v1/exchangeInfo", _N, OpKind.QUERY, 1)
SERVER_TIME = Endpoint("GET", "/fapi/v1/time", _N, OpKind.QUERY, 1)
LISTEN_KEY_CREATE = Endpoint("POST", "/fapi/v1/listenKey", _U, OpKind.IDEMPOTENT, 1)
LISTEN_KEY_KEEPALIVE = Endpoint("PUT", "/fapi/v1/listenKey", _U, OpKind.IDEMPOTENT, 1)
LISTEN_KEY_CLOSE = Endpoint("DELETE", "/fapi/v1/listenKey", _U, OpKind.IDEMPOTENT, 1)

# -- WebSocket API methods (same pools as REST; the "path" is the method name) -------------
WS_ORDER_PLACE = Endpoint("WS", "order.place", _S, OpKind.PLACE, 0, orders_10s=1, orders_1m=1)
WS_ORDER_MODIFY = Endpoint("WS", "order.modify", _S, OpKind.AMEND, 0, orders_10s=1, orders_1m=1)
WS_ORDER_CANCEL = Endpoint("WS", "order.cancel", _S, OpKind.CANCEL, 1)
WS_ORDER_STATUS = Endpoint("WS", "order.status", _S, OpKind.QUERY, 1)

MAX_BATCH_PLACE = 5
MAX_BATCH_MODIFY = 5
MAX_BATCH_CANCEL = 10
