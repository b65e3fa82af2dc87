"""The WebSocket API (``/ws-fapi/v1``), sans-I/O: one JSON request in, one JSON reply out.

binance-usdm.md §9. A request ``{"id", "method", "params"}`` maps to the REST endpoint it mirrors
(:data:`METHODS`), so validation, matching, events, weights and faults are the REST ones; only
the envelope and the authentication differ:

* Reply ``{"id", "status", "result"}`` or ``{"id", "status", "error": {"code", "msg"}}``, plus
  ``rateLimits`` (REQUEST_WEIGHT, and ORDERS for order methods) unless the request said
  ``"returnRateLimits": false``. ``status`` is the HTTP status the REST call would have had.
* Signed methods carry ``apiKey``, ``timestamp`` and ``signature`` in ``params``; the signature
  covers every other parameter sorted by name, ``k=v`` joined by ``&`` (HMAC-SHA256 hex, or
  Ed25519 base64 for accounts with an Ed25519 key). Values are rendered as sent: strings as is,
  numbers in decimal, booleans ``true``/``false``. Both raw and percent-encoded renderings are
  accepted (ccxt signs the former, the official SDK the latter).
* ``userDataStream.*`` need only ``apiKey``. ``session.logon`` (Ed25519 only, as on Binance)
  authenticates the connection: later requests may omit ``apiKey`` and ``signature`` but still
  carry ``timestamp``. ``session.status`` / ``session.logout`` as on the spot API (the futures
  shapes are unconfirmed).
* An unknown method is ``400 -1020 "Unsupported operation."`` and unparsable JSON ``400 -1100``
  (the spot API's choices; futures' are undocumented).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn
from urllib.parse import urlencode

import msgspec

from mmoms.sim.api import Endpoint, Security, SimApiError
from mmoms.sim.auth import RequestAuthenticator
from mmoms.sim.faults import RequestPlan
from mmoms.sim.gate import Gate

__all__ = ["METHODS", "WsApi", "WsApiSession", "WsCall"]

METHODS: dict[str, str] = {
    "order.place": "POST /fapi/v1/order",
    "order.modify": "PUT /fapi/v1/order",
    "order.cancel": "DELETE /fapi/v1/order",
    "order.status": "GET /fapi/v1/order",
    "algoOrder.place": "POST /fapi/v1/algoOrder",
    "algoOrder.cancel": "DELETE /fapi/v1/algoOrder",
    "account.status": "GET /fapi/v2/account",
    "v2/account.status": "GET /fapi/v3/account",
    "account.balance": "GET /fapi/v2/balance",
    "v2/account.balance": "GET /fapi/v3/balance",
    "account.position": "GET /fapi/v2/positionRisk",
    "v2/account.position": "GET /fapi/v3/positionRisk",
    "userDataStream.start": "POST /fapi/v1/listenKey",
    "userDataStream.ping": "PUT /fapi/v1/listenKey",
    "userDataStream.stop": "DELETE /fapi/v1/listenKey",
    "depth": "GET /fapi/v1/depth",
    "ticker.price": "GET /fapi/v1/ticker/price",
    "ticker.book": "GET /fapi/v1/ticker/bookTicker",
}
_SESSION = frozenset({"session.logon", "session.status", "session.logout"})
_UNSUPPORTED = SimApiError(400, -1020, "Unsupported operation.")
_BAD_JSON = SimApiError(400, -1100, "Illegal characters found in a parameter.")
_BAD_REQUEST = SimApiError(
    400, -1102, "Mandatory parameter 'method' was not sent, was empty/null, or malformed."
)
_HMAC_SESSION = SimApiError(401, -1002, "You are not authorized to execute this request.")


@dataclass(slots=True)
class WsApiSession:
    """Per-connection state: who logged on, and when things happened."""

    connected_since: int
    api_key: str | None = None
    authorized_since: int = 0


@dataclass(slots=True)
class WsCall:
    request_id: Any
    method: str
    params: dict[str, Any]
    endpoint: Endpoint | None  # None for session.* methods


def _text(value: Any) -> str:
    """A JSON parameter value as the string a signature and a handler see."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _payloads(params: Mapping[str, Any]) -> list[bytes]:
    items = sorted((k, _text(v)) for k, v in params.items() if k != "signature")
    raw = "&".join(f"{k}={v}" for k, v in items).encode()
    encoded = urlencode(items).encode()
    return [raw] if raw == encoded else [raw, encoded]


class WsApi:
    def __init__(
        self,
        endpoints: Mapping[str, Endpoint],
        gate: Gate,
        auth: RequestAuthenticator,
        account_for_key: Any,
    ) -> None:
        self._endpoints = endpoints
        self._gate = gate
        self._auth = auth
        self._account_for_key = account_for_key
        self._encode = msgspec.json.Encoder().encode

    def encode(self, reply: dict[str, Any]) -> bytes:
        return self._encode(reply)

    def parse(self, text: str | bytes) -> WsCall | dict[str, Any]:
        """A request, or the error reply for one that cannot be read."""
        try:
            request = msgspec.json.decode(text)
        except (msgspec.DecodeError, RecursionError, UnicodeError):  # deep nesting, not UTF-8
            return _error_reply(None, _BAD_JSON)
        if not isinstance(request, dict):
            return _error_reply(None, _BAD_JSON)
        request_id = request.get("id")
        method, params = request.get("method"), request.get("params", {})
        if not isinstance(method, str) or not isinstance(params, dict):
            return _error_reply(request_id, _BAD_REQUEST)
        if method in _SESSION:
            return WsCall(request_id, method, params, None)
        key = METHODS.get(method)
        endpoint = self._endpoints.get(key) if key is not None else None
        if endpoint is None:
            return _error_reply(request_id, _UNSUPPORTED)
        return WsCall(request_id, method, params, endpoint)

    def execute(
        self,
        session: WsApiSession,
        call: WsCall,
        ip: str,
        now: int,
        plan: RequestPlan | None = None,
    ) -> dict[str, Any]:
        """Run one call and build its reply (the plan's refusal or late error included)."""
        params = call.params  # signed as sent: returnRateLimits is part of the payload
        return_limits = _text(params.get("returnRateLimits", True)) != "false"
        endpoint = call.endpoint
        api_key: str | None = None
        try:
            if plan is not None and plan.refuse is not None:
                raise plan.refuse
            if endpoint is None:
                reply = self._session(session, call, params, now)
            elif plan is not None and plan.fail_after is not None:
                self._run_unseen(session, endpoint, params, ip, now, plan)
            else:
                api_key, result = self._run(session, endpoint, params, ip, now)
                reply = {"id": call.request_id, "status": 200, "result": result}
        except SimApiError as exc:
            reply = _error_reply(call.request_id, exc)
        if return_limits:
            orders = endpoint is not None and endpoint.order_count > 0
            reply["rateLimits"] = self._gate.rate_limits(ip, api_key, now, orders)
        return reply

    def _run(
        self,
        session: WsApiSession,
        endpoint: Endpoint,
        params: dict[str, Any],
        ip: str,
        now: int,
    ) -> tuple[str | None, Any]:
        text = {k: _text(v) for k, v in params.items() if k != "signature"}
        gate = self._gate
        gate.charge_weight(endpoint, text, ip, now)
        if endpoint.security is Security.NONE:
            return None, gate.call(endpoint, None, text, now, "wsapi")
        api_key = self._auth.check_api_key(text.get("apiKey") or session.api_key, -2015)
        if endpoint.security is Security.SIGNED:
            if "signature" in params or session.api_key != api_key:
                signature = params.get("signature")
                self._auth.check_ws_signed(
                    api_key,
                    _payloads(params),
                    signature if isinstance(signature, str) else None,
                    text,
                )
            else:
                self._auth.check_timestamp(text)
        account = self._account_for_key(api_key)
        gate.charge_orders(endpoint, api_key, now)
        return api_key, gate.call(endpoint, account, text, now, "wsapi")

    def _run_unseen(
        self,
        session: WsApiSession,
        endpoint: Endpoint,
        params: dict[str, Any],
        ip: str,
        now: int,
        plan: RequestPlan,
    ) -> NoReturn:
        """The "unknown" error whose coin said executed: run, note the outcome, raise it."""
        assert plan.fail_after is not None
        try:
            self._run(session, endpoint, params, ip, now)
            outcome = 200
        except SimApiError as exc:
            outcome = exc.code
        self._gate.faults.note_outcome(plan.fail_seq, outcome)
        raise plan.fail_after

    def _session(
        self, session: WsApiSession, call: WsCall, params: dict[str, Any], now: int
    ) -> dict[str, Any]:
        if call.method == "session.logon":
            text = {k: _text(v) for k, v in params.items() if k != "signature"}
            api_key = self._auth.check_api_key(text.get("apiKey"), -2015)
            signature = params.get("signature")
            if not isinstance(signature, str) or not signature:
                raise SimApiError(
                    400,
                    -1102,
                    "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.",
                )
            if not _is_ed(self._account_for_key(api_key)):
                raise _HMAC_SESSION  # session.logon takes Ed25519 keys only
            if not any(self._auth.verify_ed25519(api_key, p, signature) for p in _payloads(params)):
                raise SimApiError(400, -1022, "Signature for this request is not valid.")
            self._auth.check_timestamp(text)
            session.api_key, session.authorized_since = api_key, now
        elif call.method == "session.logout":
            session.api_key, session.authorized_since = None, 0
        result = {
            "apiKey": session.api_key,
            "authorizedSince": session.authorized_since or None,
            "connectedSince": session.connected_since,
            "returnRateLimits": False,
            "serverTime": now,
            "userDataStream": False,
        }
        return {"id": call.request_id, "status": 200, "result": result}


def _is_ed(account: Any) -> bool:
    return getattr(account, "ed25519_public_key_pem", None) is not None


def _error_reply(request_id: Any, exc: SimApiError) -> dict[str, Any]:
    return {"id": request_id, "status": exc.http_status, "error": exc.body()}
