"""Fuzz the simulator's REST request parsing (query strings, form bodies, API-key header,
signatures, timestamps, every endpoint's parameters, batch JSON) and its admin JSON bodies,
over real HTTP against the real :class:`SimExchange`.

Properties, per request:

* the simulator answers; never with a 500 (an unhandled exception), and never logs one;
* the answer is JSON; a Binance-style error is ``{"code": <negative int>, "msg": <text>}``
  (admin errors: ``{"error": <text>}``) and never echoes the secret or the signature;
* a request that was refused leaves the exchange as it was (:meth:`Sim.state_digest`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import msgspec
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from yarl import URL

from tests.fuzz.logs import captured
from tests.fuzz.mutate import HOSTILE_TOKENS, fuzz_settings, hostile_json
from tests.fuzz.simharness import API_KEY, API_SECRET, Sim, running_sim, sign

NAMES = [
    "symbol", "side", "type", "timeInForce", "quantity", "price", "newClientOrderId",
    "newOrderRespType", "reduceOnly", "positionSide", "priceMatch", "selfTradePreventionMode",
    "goodTillDate", "orderId", "origClientOrderId", "limit", "startTime", "endTime", "fromId",
    "leverage", "marginType", "dualSidePosition", "multiAssetsMargin", "countdownTime",
    "batchOrders", "orderIdList", "origClientOrderIdList", "listenKey", "modifyId", "algoType",
    "triggerPrice", "clientAlgoId", "algoId", "callbackRate", "activatePrice", "workingType",
    "closePosition", "priceProtect", "recvWindow", "interval", "pair", "incomeType",
]  # fmt: skip
PLAUSIBLE = [
    "BTCUSDC", "ETHUSDC", "BUY", "SELL", "LIMIT", "MARKET", "STOP_MARKET", "GTC", "IOC", "GTD",
    "0.010", "94000.00", "96000.00", "1", "0", "-1", "true", "false", "BOTH", "LONG", "CONDITIONAL",
    "OPPONENT", "ISOLATED", "CROSSED", "1m", "8000000001",
    '[{"symbol":"BTCUSDC","side":"BUY","type":"LIMIT","timeInForce":"GTC","quantity":"0.01",'
    '"price":"94000"}]',
    "[1, 2]", '["a", 2, null]', "[" * 5000 + "]" * 5000, "1e9", "NaN", "Infinity", "²", "9" * 30,
    "9" * 5000, "", " 1", "1\n", "-0", "1e-9999",
]  # fmt: skip
VALUES = (
    st.sampled_from(PLAUSIBLE)
    | st.text(max_size=30)
    | st.sampled_from([t.decode("utf-8", "replace") for t in HOSTILE_TOKENS if len(t) < 6000])
)
_QUERY_ALPHABET = st.sampled_from(
    [*"abcdefghijklmnopqrstuvwxyzABCXYZ0123456789=&-_.~+!*'();:@,/?[]$", "%", "%25", "%FF",
     "%00", "%C2%B2", "%ZZ", "%E2%82", "signature=", "timestamp=", "recvWindow="]
)  # fmt: skip
QUERIES = st.lists(_QUERY_ALPHABET, max_size=40).map("".join)
SIM_LOGGERS = ("mmoms.sim",)


@pytest.fixture(scope="module")
def sim() -> Iterator[Sim]:
    yield from running_sim()


async def _send(
    sim: Sim, method: str, path: str, query: str, body: bytes, headers: dict[str, str]
) -> tuple[int, bytes]:
    url = URL(f"{sim.server.rest_url}{path}" + (f"?{query}" if query else ""), encoded=True)
    async with sim.http.request(method, url, data=body or None, headers=headers) as response:
        return response.status, await response.read()


def exchange_request(
    sim: Sim, method: str, path: str, query: str, body: bytes, headers: dict[str, str]
) -> tuple[int, Any]:
    before = sim.state_digest()
    with captured(*SIM_LOGGERS) as records:
        status, raw = sim.run(_send(sim, method, path, query, body, headers))
    assert status != 500, raw[:200]
    assert not [r for r in records if r.levelno >= logging.ERROR], "the simulator logged a crash"
    reply = msgspec.json.decode(raw)
    assert API_SECRET.encode() not in raw
    if status != 200:
        assert isinstance(reply, dict)
        assert isinstance(reply.get("code"), int)
        assert reply["code"] < 0
        assert isinstance(reply.get("msg"), str)
        assert reply["msg"]
        assert sim.state_digest() == before, f"a refused {method} {path} changed the exchange"
    return status, reply


ROUTES = [
    "POST /fapi/v1/order", "PUT /fapi/v1/order", "DELETE /fapi/v1/order", "GET /fapi/v1/order",
    "POST /fapi/v1/batchOrders", "PUT /fapi/v1/batchOrders", "DELETE /fapi/v1/batchOrders",
    "POST /fapi/v1/algoOrder", "DELETE /fapi/v1/algoOrder", "DELETE /fapi/v1/allOpenOrders",
    "POST /fapi/v1/countdownCancelAll", "POST /fapi/v1/leverage", "POST /fapi/v1/marginType",
    "POST /fapi/v1/positionSide/dual", "POST /fapi/v1/multiAssetsMargin", "GET /fapi/v1/openOrders",
    "GET /fapi/v1/userTrades", "GET /fapi/v1/allOrders", "GET /fapi/v3/account",
    "POST /fapi/v1/listenKey", "PUT /fapi/v1/listenKey", "DELETE /fapi/v1/listenKey",
    "GET /fapi/v1/depth", "GET /fapi/v1/klines", "GET /fapi/v1/time", "GET /fapi/v1/income",
]  # fmt: skip


@fuzz_settings(250)
@given(
    route=st.sampled_from(ROUTES),
    query=QUERIES,
    body=st.sampled_from([b""]) | hostile_json([b'{"a": 1}']) | st.binary(max_size=40),
    key=st.sampled_from([None, API_KEY, "", "x" * 200, "bad key", "k\u00e9y"]),
)
@example(route="GET /fapi/v1/order", query="timestamp=" + "9" * 5000 + "&signature=ab", body=b"",
         key=API_KEY)  # fmt: skip
def test_unsigned_garbage_is_refused(
    sim: Sim, route: str, query: str, body: bytes, key: str | None
) -> None:
    method, path = route.split(" ")
    headers = {} if key is None else {"X-MBX-APIKEY": key.encode().decode("latin-1")}
    exchange_request(sim, method, path, query, body, headers)


@fuzz_settings(300)
@given(
    route=st.sampled_from(ROUTES),
    params=st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=8),
    in_body=st.booleans(),
)
def test_signed_garbage_params(sim: Sim, route: str, params: dict[str, str], in_body: bool) -> None:
    """Correctly signed, any parameter values: 200 or a Binance error, never a crash."""
    method, path = route.split(" ")
    params = {k: v for k, v in params.items() if k not in ("recvWindow",)}
    query = urlencode({**params, "timestamp": sim.clock.time_ms()})
    signed = f"{query}&signature={sign(query)}"
    headers = {"X-MBX-APIKEY": API_KEY}
    if in_body or len(signed) > 8000:  # aiohttp refuses request lines over 8190 bytes itself
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        exchange_request(sim, method, path, "", signed.encode(), headers)
    else:
        exchange_request(sim, method, path, signed, b"", headers)


ADMIN_ROUTES = [
    ("POST", "/admin/faults"),
    ("DELETE", "/admin/faults"),
    ("GET", "/admin/faults/log"),
    ("POST", "/admin/listen-keys/expire"),
    ("POST", "/admin/market"),
    ("GET", "/admin/time"),
    ("POST", "/admin/nowhere"),
]
ADMIN_SEEDS = [
    b'{"kind": "http_error", "status": 503, "probability": 0.5, "paths": ["/fapi/v1/order"]}',
    b'{"symbol": "BTCUSDC", "mid": "96000.0"}',
    b'{"symbol": "BTCUSDC", "side": "BUY", "quantity": "0.010"}',
    b'{"listenKey": "x", "announce": true}',
    b'[{"kind": "latency", "ms": 5}]',
]


def admin_request(sim: Sim, method: str, path: str, query: str, body: bytes) -> None:
    with captured(*SIM_LOGGERS) as records:
        status, raw = sim.run(_send(sim, method, path, query, body, {}))
    assert status != 500, raw[:300]
    assert not [r for r in records if r.levelno >= logging.ERROR], "the simulator logged a crash"
    reply = msgspec.json.decode(raw)
    if status != 200:
        assert isinstance(reply, dict)
        assert isinstance(reply.get("error"), str)
    sim.server.faults.clear()  # rules a fuzzed body managed to add must not hit later examples


@fuzz_settings(200)
@given(
    route=st.sampled_from(ADMIN_ROUTES),
    query=st.sampled_from(["", "id=1", "since=0", "id=%C2%B2", "since=" + "9" * 5000]) | QUERIES,
    body=hostile_json(ADMIN_SEEDS),
)
@example(route=("GET", "/admin/faults/log"), query="since=%C2%B2", body=b"")  # int("²")
@example(route=("POST", "/admin/faults"), query="", body=b"[" * 100_000 + b"]" * 100_000)
@example(route=("POST", "/admin/market"), query="", body=b'{"symbol": "\xff"}')
def test_admin_bodies(sim: Sim, route: tuple[str, str], query: str, body: bytes) -> None:
    admin_request(sim, *route, query, body)


@pytest.fixture
def fresh_sim() -> Iterator[Sim]:
    yield from running_sim()


def test_a_valid_order_is_accepted_and_changes_state(fresh_sim: Sim) -> None:
    """The harness can see a change: a real order moves the digest."""
    sim = fresh_sim
    before = sim.state_digest()
    query = urlencode(
        {
            "symbol": "BTCUSDC",
            "side": "BUY",
            "type": "LIMIT",
            "timeInForce": "GTC",
            "quantity": "0.010",
            "price": "94000.00",
            "timestamp": sim.clock.time_ms(),
        }
    )
    status, reply = exchange_request(
        sim,
        "POST",
        "/fapi/v1/order",
        f"{query}&signature={sign(query)}",
        b"",
        {"X-MBX-APIKEY": API_KEY},
    )
    assert status == 200, reply
    assert sim.state_digest() != before
