"""The WebSocket API (``/ws-fapi/v1``) with a hand-written client: envelope, signatures (HMAC and
Ed25519, per request and per session), errors, rate limits, user-data stream control, and the
REST fault rules applying to the mirrored methods."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import aiohttp
import pytest
import pytest_asyncio
from conftest import API_KEY, API_SECRET, _virtual, quiet_market_config
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

if TYPE_CHECKING:
    from conftest import VirtualSim

pytestmark = pytest.mark.asyncio

ED_KEY = "edkey0123456789"
ORDER = {
    "symbol": "BTCUSDC",
    "side": "BUY",
    "type": "LIMIT",
    "timeInForce": "GTC",
    "quantity": "0.010",
    "price": "94000.00",
}


@dataclass
class Client:
    ws: aiohttp.ClientWebSocketResponse
    sim: VirtualSim
    api_key: str = API_KEY
    secret: str = API_SECRET
    ids: Any = field(default_factory=lambda: itertools.count(1))

    def signed(self, params: dict[str, Any], encoded: bool = False) -> dict[str, Any]:
        params = {"apiKey": self.api_key, "timestamp": self.sim.clock.time_ms(), **params}
        items = sorted(
            (k, str(v).lower() if isinstance(v, bool) else str(v)) for k, v in params.items()
        )
        payload = urlencode(items) if encoded else "&".join(f"{k}={v}" for k, v in items)
        signature = hmac.new(self.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        return {**params, "signature": signature}

    async def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        request_id = f"req-{next(self.ids)}"
        await self.ws.send_json({"id": request_id, "method": method, "params": params or {}})
        reply = await self.ws.receive_json(timeout=10)
        assert reply["id"] == request_id
        return reply


@pytest_asyncio.fixture
async def client(quiet_sim: VirtualSim) -> AsyncIterator[Client]:
    async with quiet_sim.http.ws_connect(quiet_sim.server.ws_url + "/ws-fapi/v1") as ws:
        yield Client(ws, quiet_sim)


async def test_order_lifecycle_and_envelope(client: Client) -> None:
    placed = await client.call("order.place", client.signed(ORDER))
    assert (placed["status"], placed["result"]["status"]) == (200, "NEW")
    order_id = placed["result"]["orderId"]
    limits = {(r["rateLimitType"], r["interval"]): r["count"] for r in placed["rateLimits"]}
    assert limits[("ORDERS", "SECOND")] == 1
    assert ("REQUEST_WEIGHT", "MINUTE") in limits

    modify = {**ORDER, "orderId": order_id, "price": "93900.00"}
    del modify["type"], modify["timeInForce"]
    modified = await client.call("order.modify", client.signed(modify, encoded=True))
    assert modified["result"]["price"] == "93900.00"
    status = await client.call(
        "order.status", client.signed({"symbol": "BTCUSDC", "orderId": order_id})
    )
    assert status["result"]["status"] == "NEW"
    quiet = client.signed({"symbol": "BTCUSDC", "orderId": order_id, "returnRateLimits": False})
    canceled = await client.call("order.cancel", quiet)
    assert canceled["result"]["status"] == "CANCELED"
    assert "rateLimits" not in canceled
    again = await client.call(
        "order.cancel", client.signed({"symbol": "BTCUSDC", "orderId": order_id})
    )
    assert (again["status"], again["error"]) == (
        400,
        {"code": -2011, "msg": "Unknown order sent."},
    )


async def test_account_methods_and_algo_orders(client: Client) -> None:
    account = await client.call("account.status", client.signed({}))
    assert "canTrade" in account["result"]  # v1 = the REST v2 shape
    v2 = await client.call("v2/account.status", client.signed({}))
    assert "canTrade" not in v2["result"]
    position = await client.call("account.position", client.signed({"symbol": "BTCUSDC"}))
    assert position["result"][0]["leverage"] == "20"
    balance = await client.call("account.balance", client.signed({}))
    assert {b["asset"] for b in balance["result"]} >= {"USDC"}

    algo = {"algoType": "CONDITIONAL", "symbol": "BTCUSDC", "side": "BUY",
            "type": "STOP_MARKET", "quantity": "0.010", "triggerPrice": "96000.00"}  # fmt: skip
    placed = await client.call("algoOrder.place", client.signed(algo))
    assert placed["result"]["algoStatus"] == "NEW"
    canceled = await client.call(
        "algoOrder.cancel", client.signed({"algoId": placed["result"]["algoId"]})
    )
    assert canceled["result"]["code"] == "200"


async def test_user_data_stream_control(client: Client) -> None:
    sim = client.sim
    started = await client.call("userDataStream.start", {"apiKey": API_KEY})
    key = started["result"]["listenKey"]
    async with sim.http.ws_connect(f"{sim.server.ws_url}/private/ws/{key}") as stream:
        assert (await client.call("userDataStream.ping", {"apiKey": API_KEY}))["result"] == {
            "listenKey": key
        }
        await client.call("order.place", client.signed(ORDER))
        assert (await stream.receive_json(timeout=10))["e"] == "ORDER_TRADE_UPDATE"
        stopped = await client.call("userDataStream.stop", {"apiKey": API_KEY})
        assert stopped["result"] == {}
        assert (await stream.receive(timeout=10)).type is aiohttp.WSMsgType.CLOSE
    missing = await client.call("userDataStream.ping", {"apiKey": API_KEY})
    assert missing["error"]["code"] == -1125


async def test_errors(client: Client) -> None:
    forged = {**client.signed(ORDER), "price": "1.00"}  # changed after signing
    reply = await client.call("order.place", forged)
    assert (reply["status"], reply["error"]["code"]) == (400, -1022)
    unsigned = await client.call("order.place", {**ORDER, "apiKey": API_KEY, "timestamp": 1})
    assert unsigned["error"]["code"] == -1102
    anonymous = await client.call("order.place", dict(ORDER))
    assert (anonymous["status"], anonymous["error"]["code"]) == (401, -2015)
    stale = client.signed({**ORDER, "timestamp": client.sim.clock.time_ms() - 60_000})
    assert (await client.call("order.place", stale))["error"]["code"] == -1021
    unknown = await client.call("order.frobnicate", {})
    assert unknown["error"] == {"code": -1020, "msg": "Unsupported operation."}
    bad_order = await client.call("order.place", client.signed({**ORDER, "quantity": "0"}))
    assert bad_order["error"]["code"] == -4003
    hmac_logon = await client.call("session.logon", client.signed({}))
    assert (hmac_logon["status"], hmac_logon["error"]["code"]) == (401, -1002)
    await client.ws.send_str("{not json")
    assert (await client.ws.receive_json(timeout=10))["error"]["code"] == -1100


async def test_rest_fault_rules_apply_to_the_mirrored_methods(client: Client) -> None:
    sim = client.sim
    await sim.admin("POST", "/admin/faults", [
        {"kind": "http_error", "match": "POST /fapi/v1/order", "variant": "unavailable",
         "count": 1},
        {"kind": "latency", "match": "GET /fapi/v1/order", "latency": 40, "count": 1},
    ])  # fmt: skip
    refused = await client.call("order.place", client.signed(ORDER))
    unavailable = {"code": -1001, "msg": "Service Unavailable."}
    assert (refused["status"], refused["error"]) == (503, unavailable)
    placed = await client.call("order.place", client.signed(ORDER))
    order_id = placed["result"]["orderId"]
    # A delayed order.status does not hold up the request sent after it.
    await client.ws.send_json({"id": "slow", "method": "order.status",
                               "params": client.signed({"symbol": "BTCUSDC",
                                                        "orderId": order_id})})  # fmt: skip
    fast = await client.call("account.balance", client.signed({}))
    assert fast["status"] == 200
    await sim.advance(40)
    slow = await client.ws.receive_json(timeout=10)
    assert (slow["id"], slow["result"]["orderId"]) == ("slow", order_id)
    kinds = [(e["kind"], e["via"]) for e in await sim.fault_log()]
    assert kinds == [("http_error", "wsapi"), ("latency", "wsapi")]


# -- Ed25519: per-request signatures and session.logon -------------------------------------------


@pytest_asyncio.fixture
async def ed_sim() -> AsyncIterator[tuple[VirtualSim, Ed25519PrivateKey]]:
    from dataclasses import replace

    from mmoms.sim.config_model import AccountConfig

    private = Ed25519PrivateKey.generate()
    pem = private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    config = quiet_market_config()
    account = AccountConfig(api_key=ED_KEY, ed25519_public_key_pem=pem.decode())
    async for sim in _virtual(replace(config, accounts=(*config.accounts, account))):
        yield sim, private


def _ed_sign(private: Ed25519PrivateKey, params: dict[str, Any]) -> dict[str, Any]:
    payload = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    return {**params, "signature": base64.b64encode(private.sign(payload.encode())).decode()}


async def test_ed25519_signatures_and_session_logon(
    ed_sim: tuple[VirtualSim, Ed25519PrivateKey],
) -> None:
    sim, private = ed_sim
    async with sim.http.ws_connect(sim.server.ws_url + "/ws-fapi/v1") as ws:
        client = Client(ws, sim, api_key=ED_KEY)
        now = sim.clock.time_ms
        per_request = _ed_sign(private, {**ORDER, "apiKey": ED_KEY, "timestamp": now()})
        assert (await client.call("order.place", per_request))["status"] == 200
        no_session = await client.call("order.place", {**ORDER, "timestamp": now()})
        assert no_session["error"]["code"] == -2015

        logon = await client.call(
            "session.logon", _ed_sign(private, {"apiKey": ED_KEY, "timestamp": now()})
        )
        assert (logon["result"]["apiKey"], logon["result"]["authorizedSince"]) == (ED_KEY, now())
        placed = await client.call("order.place", {**ORDER, "timestamp": now()})
        assert placed["result"]["status"] == "NEW"
        assert (await client.call("session.status"))["result"]["apiKey"] == ED_KEY
        await client.call("session.logout")
        after = await client.call("order.place", {**ORDER, "timestamp": now()})
        assert after["error"]["code"] == -2015
