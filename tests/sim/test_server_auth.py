"""Request security: signatures (HMAC, Ed25519), timestamp windows, API keys."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from mmoms.sim.api import SimApiError
from mmoms.sim.auth import RequestAuthenticator, parse_params, split_signature
from mmoms.sim.clock import VirtualSimClock

if TYPE_CHECKING:
    from conftest import FakeSim

# The official test vector (binance-usdm.md §2, General Info).
VECTOR_KEY = "dbefbc809e3e83c283a984c3a1459732ea7db1360ca80c5c2c8867408d28cc83"
VECTOR_SECRET = "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9"
VECTOR_PAYLOAD = (
    "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC"
    "&recvWindow=5000&timestamp=1591702613943"
)
VECTOR_SIGNATURE = "3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9"


def sign(payload: str, secret: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def _vector_auth(now_ms: int = 1591702613943) -> RequestAuthenticator:
    return RequestAuthenticator(
        VirtualSimClock(now_ms),
        key_exists=lambda key: key == VECTOR_KEY,
        secret_for_key=lambda key: VECTOR_SECRET if key == VECTOR_KEY else None,
    )


def _check(auth: RequestAuthenticator, query: str, body: str = "") -> None:
    params = parse_params(query, body.encode())
    auth.check_signed(VECTOR_KEY, query.encode(), body.encode(), params)


def test_official_vector_verifies_in_query_string() -> None:
    _check(_vector_auth(), f"{VECTOR_PAYLOAD}&signature={VECTOR_SIGNATURE}")


def test_official_vector_verifies_in_body_and_uppercase_hex() -> None:
    _check(_vector_auth(), "", f"{VECTOR_PAYLOAD}&signature={VECTOR_SIGNATURE.upper()}")


def test_mixed_query_and_body_are_concatenated_without_ampersand() -> None:
    query = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC"
    body = "quantity=1&price=9000&recvWindow=5000&timestamp=1591702613943"
    signature = sign(query + body, VECTOR_SECRET)
    _check(_vector_auth(), query, f"{body}&signature={signature}")
    # Signing with an '&' inserted (a common client mistake) must fail.
    wrong = sign(f"{query}&{body}", VECTOR_SECRET)
    with pytest.raises(SimApiError) as info:
        _check(_vector_auth(), query, f"{body}&signature={wrong}")
    assert (info.value.http_status, info.value.code) == (400, -1022)


def test_tampered_payload_is_rejected() -> None:
    tampered = VECTOR_PAYLOAD.replace("quantity=1", "quantity=2")
    with pytest.raises(SimApiError) as info:
        _check(_vector_auth(), f"{tampered}&signature={VECTOR_SIGNATURE}")
    assert info.value.code == -1022
    assert info.value.msg == "Signature for this request is not valid."
    assert VECTOR_SIGNATURE not in str(info.value)


def test_raw_json_is_signed_as_sent() -> None:
    # ccxt sends batchOrders JSON without percent-encoding and signs it that way.
    body = 'timestamp=1591702613943&batchOrders=[{"symbol":"BTCUSDT","side":"BUY"}]'
    params = parse_params("", body.encode())
    assert params["batchOrders"] == '[{"symbol":"BTCUSDT","side":"BUY"}]'
    _check(_vector_auth(), "", f"{body}&signature={sign(body, VECTOR_SECRET)}")


def test_split_signature_cuts_the_parameter_wherever_it_is() -> None:
    assert split_signature(b"a=1&signature=ab", b"") == (b"a=1", b"ab")
    assert split_signature(b"a=1", b"b=2&signature=cd") == (b"a=1b=2", b"cd")
    assert split_signature(b"signature=ef&a=1", b"") == (b"a=1", b"ef")
    assert split_signature(b"a=1&signature=ef&b=2", b"") == (b"a=1&b=2", b"ef")
    assert split_signature(b"a=1", b"") == (b"a=1", None)


def test_query_string_wins_over_body() -> None:
    assert parse_params("side=SELL", b"side=BUY&qty=1") == {"side": "SELL", "qty": "1"}


def test_timestamp_window_messages() -> None:
    now = 1591702613943
    # 1000 ms ahead of the server: rejected with the "ahead" message.
    with pytest.raises(SimApiError) as ahead:
        _check(_vector_auth(now - 1000), f"{VECTOR_PAYLOAD}&signature={VECTOR_SIGNATURE}")
    assert ahead.value.code == -1021
    assert ahead.value.msg == "Timestamp for this request was 1000ms ahead of the server's time."
    # 999 ms ahead is accepted; exactly recvWindow old is accepted; one ms more is not.
    _check(_vector_auth(now - 999), f"{VECTOR_PAYLOAD}&signature={VECTOR_SIGNATURE}")
    _check(_vector_auth(now + 5000), f"{VECTOR_PAYLOAD}&signature={VECTOR_SIGNATURE}")
    with pytest.raises(SimApiError) as old:
        _check(_vector_auth(now + 5001), f"{VECTOR_PAYLOAD}&signature={VECTOR_SIGNATURE}")
    assert old.value.code == -1021
    assert old.value.msg == "Timestamp for this request is outside of the recvWindow."


def test_missing_timestamp_signature_and_bad_recv_window() -> None:
    auth = _vector_auth()
    query = "symbol=BTCUSDT"
    with pytest.raises(SimApiError) as no_sig:
        _check(auth, query)
    assert (no_sig.value.code, "'signature'" in no_sig.value.msg) == (-1102, True)
    with pytest.raises(SimApiError) as no_ts:
        _check(auth, f"{query}&signature={sign(query, VECTOR_SECRET)}")
    assert (no_ts.value.code, "'timestamp'" in no_ts.value.msg) == (-1102, True)
    too_wide = f"{query}&timestamp=1591702613943&recvWindow=60001"
    with pytest.raises(SimApiError) as wide:
        _check(auth, f"{too_wide}&signature={sign(too_wide, VECTOR_SECRET)}")
    assert wide.value.code == -1130


def test_api_key_checks() -> None:
    auth = _vector_auth()
    assert auth.check_api_key(VECTOR_KEY) == VECTOR_KEY
    for header, code in ((None, -2014), ("", -2014), ("unknownkey", -2015), ("bad key!", -2014)):
        with pytest.raises(SimApiError) as info:
            auth.check_api_key(header)
        assert (info.value.http_status, info.value.code) == (401, code)


def test_ed25519_signature_url_encoded_base64() -> None:
    private = Ed25519PrivateKey.generate()
    public_pem = private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    now = 1591702613943
    auth = RequestAuthenticator(
        VirtualSimClock(now),
        key_exists=lambda key: key == "edkey",
        secret_for_key=lambda key: None,
        public_key_for_key=lambda key: public_pem if key == "edkey" else None,
    )
    payload = f"symbol=BTCUSDT&timestamp={now}"
    signature = base64.b64encode(private.sign(payload.encode())).decode()
    query = f"{payload}&signature={quote(signature, safe='')}"
    auth.check_signed("edkey", query.encode(), b"", parse_params(query, b""))
    forged = base64.b64encode(private.sign(b"something else")).decode()
    query = f"{payload}&signature={quote(forged, safe='')}"
    with pytest.raises(SimApiError) as info:
        auth.check_signed("edkey", query.encode(), b"", parse_params(query, b""))
    assert info.value.code == -1022


# -- through the HTTP server ---------------------------------------------------------------------


@pytest.mark.asyncio
async def test_official_sdk_style_all_in_query_post(fake_sim: FakeSim) -> None:
    order = await fake_sim.place_order()
    assert order["status"] == "NEW"


@pytest.mark.asyncio
async def test_form_body_post_with_query_part(fake_sim: FakeSim) -> None:
    query = "symbol=BTCUSDT"
    body = urlencode({"timestamp": fake_sim.clock.time_ms(), "recvWindow": 10000})
    body += f"&signature={fake_sim.sign(query + body)}"
    async with fake_sim.http.post(
        f"{fake_sim.url}/fapi/v1/order?{query}",
        data=body,
        headers={**fake_sim.headers(), "Content-Type": "application/x-www-form-urlencoded"},
    ) as response:
        assert response.status == 200, await response.text()
        assert (await response.json())["symbol"] == "BTCUSDT"


@pytest.mark.asyncio
async def test_http_errors_are_json(fake_sim: FakeSim) -> None:
    now = fake_sim.clock.time_ms()
    sq = fake_sim.signed_query
    ok = fake_sim.headers()
    cases = [
        ({}, sq({"symbol": "X", "timestamp": now}), 401, -2014),  # no key: "format invalid"
        (fake_sim.headers("nobody"), sq({"symbol": "X", "timestamp": now}), 401, -2015),
        (fake_sim.headers("bad key"), sq({"symbol": "X", "timestamp": now}), 401, -2014),
        (ok, sq({"symbol": "X", "timestamp": now}, "wrong"), 400, -1022),
        (ok, sq({"symbol": "X", "timestamp": now - 6000}), 400, -1021),
        (ok, sq({"symbol": "X", "timestamp": now + 1000}), 400, -1021),
        (ok, sq({"symbol": "X"}), 400, -1102),
        (ok, sq({"timestamp": now}), 400, -1102),  # the handler's own error
    ]
    for headers, query, status, code in cases:
        url = f"{fake_sim.url}/fapi/v1/order?{query}"
        async with fake_sim.http.post(url, headers=headers) as response:
            assert response.status == status, query
            assert response.headers["Content-Type"] == "application/json"
            body = await response.json()
            assert body["code"] == code
            assert fake_sim.api_secret not in body["msg"]
            assert fake_sim.api_key not in body["msg"]


@pytest.mark.asyncio
async def test_ed25519_account_over_http(fake_sim: FakeSim) -> None:
    private = Ed25519PrivateKey.generate()
    public_pem = private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    exchange = fake_sim.exchange
    exchange.accounts["edkey"] = type(exchange.accounts[fake_sim.api_key])("edkey")
    exchange.public_keys["edkey"] = public_pem
    payload = urlencode({"symbol": "BTCUSDT", "timestamp": fake_sim.clock.time_ms()})
    signature = quote(base64.b64encode(private.sign(payload.encode())).decode(), safe="")
    forged = quote(base64.b64encode(private.sign(b"another payload")).decode(), safe="")
    for sig, status in ((signature, 200), (forged, 400)):
        url = f"{fake_sim.url}/fapi/v1/order?{payload}&signature={sig}"
        async with fake_sim.http.post(url, headers=fake_sim.headers("edkey")) as response:
            assert response.status == status, await response.text()
