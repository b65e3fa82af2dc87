"""A scriptable stand-in for Binance's REST API, for gateway tests (not a simulator: it answers
each endpoint with a canned payload unless a test scripts something else)."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any

import msgspec

from mmoms.venues.testing import FakeRequest, json_reply
from mmoms.venues.transport import HttpReply
from tests.venues import payloads as p

Answer = HttpReply | Callable[[FakeRequest], HttpReply] | Exception


def order_json(**overrides: Any) -> bytes:
    base: dict[str, Any] = msgspec.json.decode(p.NEW_ORDER)
    base.update(overrides)
    return msgspec.json.encode(base)


DEFAULTS: dict[tuple[str, str], bytes] = {
    ("GET", "/fapi/v1/time"): p.SERVER_TIME,
    ("GET", "/fapi/v1/exchangeInfo"): p.EXCHANGE_INFO,
    ("POST", "/fapi/v1/listenKey"): p.LISTEN_KEY,
    ("PUT", "/fapi/v1/listenKey"): p.LISTEN_KEY,
    ("DELETE", "/fapi/v1/listenKey"): b"{}",
    ("POST", "/fapi/v1/order"): p.NEW_ORDER,
    ("PUT", "/fapi/v1/order"): p.MODIFY_ORDER,
    ("DELETE", "/fapi/v1/order"): p.CANCEL_ORDER,
    ("GET", "/fapi/v1/order"): p.QUERY_ORDER,
    ("GET", "/fapi/v1/openOrders"): b"[" + p.QUERY_ORDER + b"]",
    ("DELETE", "/fapi/v1/allOpenOrders"): p.CANCEL_ALL,
    ("POST", "/fapi/v1/countdownCancelAll"): p.COUNTDOWN,
    ("POST", "/fapi/v1/batchOrders"): p.BATCH_MIXED,
    ("POST", "/fapi/v1/algoOrder"): p.ALGO_ORDER,
    ("DELETE", "/fapi/v1/algoOrder"): p.ALGO_CANCEL,
    ("GET", "/fapi/v1/algoOrder"): p.ALGO_ORDER,
    ("GET", "/fapi/v1/openAlgoOrders"): b"[" + p.ALGO_ORDER + b"]",
    ("DELETE", "/fapi/v1/algoOpenOrders"): p.CODE_200,
    ("GET", "/fapi/v3/positionRisk"): p.POSITION_RISK_V3,
    ("GET", "/fapi/v3/balance"): p.BALANCE_V3,
    ("GET", "/fapi/v3/account"): p.ACCOUNT_V3,
    ("GET", "/fapi/v1/commissionRate"): p.COMMISSION_RATE,
    ("POST", "/fapi/v1/leverage"): p.LEVERAGE,
    ("POST", "/fapi/v1/marginType"): p.CODE_200,
    ("POST", "/fapi/v1/positionSide/dual"): p.CODE_200,
    ("GET", "/fapi/v1/positionSide/dual"): p.POSITION_MODE,
    ("GET", "/fapi/v1/userTrades"): p.USER_TRADES,
    ("GET", "/fapi/v1/allOrders"): b"[" + p.QUERY_ORDER + b"]",
}


class FakeBinance:
    """``script(method, path, answer, ...)`` queues answers; afterwards the default answers."""

    def __init__(self) -> None:
        self.scripted: defaultdict[tuple[str, str], deque[Answer]] = defaultdict(deque)
        self.requests: list[FakeRequest] = []

    def script(self, method: str, path: str, *answers: Answer) -> None:
        self.scripted[(method, path)].extend(answers)

    def error(self, status: int, code: int | None, msg: str) -> HttpReply:
        body: dict[str, Any] = {"msg": msg} if code is None else {"code": code, "msg": msg}
        return json_reply(status, body)

    def calls(self, method: str, path: str) -> list[FakeRequest]:
        return [r for r in self.requests if (r.method, r.path) == (method, path)]

    def __call__(self, request: FakeRequest) -> HttpReply:
        self.requests.append(request)
        key = (request.method, request.path)
        queue = self.scripted.get(key)
        if queue:
            answer = queue.popleft()
            if isinstance(answer, Exception):
                raise answer
            if callable(answer):
                return answer(request)
            return answer
        if key not in DEFAULTS:
            return self.error(404, None, f"no such endpoint {key}")
        return json_reply(200, self._echo_ids(request, DEFAULTS[key]))

    @staticmethod
    def _echo_ids(request: FakeRequest, body: bytes) -> bytes:
        """Like the venue, answer a placement with the client id it was given."""
        params = request.params
        if request.method != "POST" or not body.startswith(b"{"):
            return body
        obj: dict[str, Any] = msgspec.json.decode(body)
        if "newClientOrderId" in params and "clientOrderId" in obj:
            obj["clientOrderId"] = params["newClientOrderId"]
        if "clientAlgoId" in params and "clientAlgoId" in obj:
            obj["clientAlgoId"] = params["clientAlgoId"]
        return msgspec.json.encode(obj)
