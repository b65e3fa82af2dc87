"""REST client over a fake transport: request shape, signing, -1021, rate limits, error kinds."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import logging
from urllib.parse import unquote

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from mmoms.core.clock import NANOS_PER_MILLI, TestClock
from mmoms.venues.binance import endpoints, schemas
from mmoms.venues.binance.ratecontrol import RateController
from mmoms.venues.binance.rest import RestClient
from mmoms.venues.binance.signing import Credentials
from mmoms.venues.binance.timesync import TimeSync
from mmoms.venues.errorrate import ErrorRateTracker
from mmoms.venues.errors import (
    IpBanned,
    MissingCredentialsError,
    OutcomeUnknown,
    ProtocolError,
    RateBudgetExceededError,
    RateLimited,
    Rejected,
    SendingHaltedError,
)
from mmoms.venues.testing import FakeHttpTransport, FakeRequest, json_reply
from mmoms.venues.transport import HttpReply
from tests.venues import payloads as p
from tests.venues.conftest import API_KEY, SECRET, START_NS, MakeRest

ORDER_PARAMS = [("symbol", "BTCUSDC"), ("side", "BUY"), ("type", "LIMIT"), ("quantity", "0.010")]


def split_signature(query: str) -> tuple[str, str]:
    payload, _, signature = query.rpartition("&signature=")
    return payload, signature


def ok_order(_: FakeRequest) -> HttpReply:
    return json_reply(200, p.NEW_ORDER, {"X-MBX-USED-WEIGHT-1M": "7", "X-MBX-ORDER-COUNT-10S": "3"})


@pytest.mark.asyncio
async def test_signed_request_shape(make_rest: MakeRest) -> None:
    rest, transport = make_rest(ok_order)
    reply = await rest.call(endpoints.NEW_ORDER, ORDER_PARAMS, schemas.OrderReply)
    assert reply.order_id == 22542179
    [req] = transport.requests
    assert (req.method, req.path) == ("POST", "/fapi/v1/order")
    assert req.headers == {"X-MBX-APIKEY": API_KEY}
    payload, signature = split_signature(req.query)
    assert payload == (
        "symbol=BTCUSDC&side=BUY&type=LIMIT&quantity=0.010"
        f"&recvWindow=5000&timestamp={START_NS // NANOS_PER_MILLI}"
    )
    assert signature == hmac.new(SECRET.encode(), payload.encode(), hashlib.sha256).hexdigest()
    assert list(req.params)[-1] == "signature"


@pytest.mark.asyncio
async def test_usage_headers_correct_rate_control(make_rest: MakeRest) -> None:
    rest, _ = make_rest(ok_order)
    await rest.call(endpoints.NEW_ORDER, ORDER_PARAMS, schemas.OrderReply)
    used = {pool.name: pool.used for pool in rest.rate.state().pools}
    assert used == {"REQUEST_WEIGHT_1M": 7, "ORDERS_10S": 3, "ORDERS_1M": 1}


@pytest.mark.asyncio
async def test_public_and_user_stream_security(make_rest: MakeRest) -> None:
    rest, transport = make_rest(
        lambda r: json_reply(200, p.LISTEN_KEY if "listenKey" in r.path else p.EXCHANGE_INFO)
    )
    await rest.call(endpoints.EXCHANGE_INFO, [], schemas.ExchangeInfo)
    await rest.call(endpoints.LISTEN_KEY_CREATE, [], schemas.ListenKeyReply)
    public, user_stream = transport.requests
    assert public.url == "https://fapi.test/fapi/v1/exchangeInfo"
    assert public.headers == {}
    assert user_stream.headers == {"X-MBX-APIKEY": API_KEY}
    assert user_stream.query == ""


@pytest.mark.asyncio
async def test_ed25519_signature_is_url_encoded(clock: TestClock) -> None:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    transport = FakeHttpTransport(ok_order)
    rest = RestClient(
        base_url="https://fapi.test",
        transport=transport,
        credentials=Credentials.ed25519("k", pem),
        clock=clock,
        timesync=TimeSync(clock),
        rate=RateController(clock),
        errors=ErrorRateTracker(clock),
    )
    await rest.call(endpoints.NEW_ORDER, ORDER_PARAMS, schemas.OrderReply)
    payload, signature = split_signature(transport.requests[0].query)
    assert "+" not in signature
    assert "/" not in signature
    key.public_key().verify(base64.b64decode(unquote(signature)), payload.encode())


@pytest.mark.asyncio
async def test_minus_1021_resyncs_the_clock_and_retries_once(
    make_rest: MakeRest, clock: TestClock
) -> None:
    server_ms = START_NS // NANOS_PER_MILLI + 3000  # the venue is 3 s ahead of us

    def handler(req: FakeRequest) -> HttpReply:
        if req.path == "/fapi/v1/time":
            return json_reply(200, {"serverTime": server_ms})
        if int(req.params["timestamp"]) < server_ms - 1000:
            return json_reply(
                400,
                {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."},
            )
        return ok_order(req)

    rest, transport = make_rest(handler)
    reply = await rest.call(endpoints.NEW_ORDER, ORDER_PARAMS, schemas.OrderReply)
    assert reply.order_id == 22542179
    assert [r.path for r in transport.requests] == [
        "/fapi/v1/order",
        "/fapi/v1/time",
        "/fapi/v1/order",
    ]
    first, _, second = transport.requests
    assert int(second.params["timestamp"]) == server_ms
    assert second.params["signature"] != first.params["signature"]
    assert rest.timesync.offset_ms == 3000


@pytest.mark.asyncio
async def test_a_second_minus_1021_is_raised(make_rest: MakeRest) -> None:
    def handler(req: FakeRequest) -> HttpReply:
        if req.path == "/fapi/v1/time":
            return json_reply(200, p.SERVER_TIME)
        return json_reply(
            400,
            {
                "code": -1021,
                "msg": "Timestamp for this request was 1000ms ahead of the server's time.",
            },
        )

    rest, transport = make_rest(handler)
    with pytest.raises(Rejected) as info:
        await rest.call(endpoints.NEW_ORDER, ORDER_PARAMS, schemas.OrderReply)
    assert info.value.code == -1021
    assert len(transport.find("POST", "/fapi/v1/order")) == 2


@pytest.mark.asyncio
async def test_429_cools_down_and_new_orders_fail_fast_without_sending(make_rest: MakeRest) -> None:
    rest, transport = make_rest(
        lambda _: json_reply(
            429, {"code": -1003, "msg": "Too many requests."}, {"Retry-After": "2"}
        )
    )
    with pytest.raises(RateLimited) as info:
        await rest.call(endpoints.NEW_ORDER, ORDER_PARAMS, schemas.OrderReply)
    assert info.value.retry_after_ms == 2000
    assert rest.rate.state().cooldown_until_ns > 0
    with pytest.raises(RateBudgetExceededError):
        await rest.call(endpoints.NEW_ORDER, ORDER_PARAMS, schemas.OrderReply)
    assert len(transport.requests) == 1


@pytest.mark.asyncio
async def test_after_a_429_reads_of_the_truth_still_go_while_new_orders_are_throttled(
    make_rest: MakeRest, clock: TestClock
) -> None:
    # Other processes on this IP and account have spent half the minute's weight and half the
    # order count (the headers count them too): after two 429s new exposure may use a quarter
    # of each pool; reconciliation may not be starved by that (found by the chaos soak).
    busy = {"X-MBX-USED-WEIGHT-1M": "1200", "X-MBX-ORDER-COUNT-10S": "150"}
    rest, transport = make_rest(lambda _: json_reply(200, [], busy))
    await rest.call(endpoints.OPEN_ORDERS, [], list[schemas.OrderReply])
    rest.rate.on_rate_limited(retry_after_ms=1)
    rest.rate.on_rate_limited(retry_after_ms=1)
    clock.advance(10 * NANOS_PER_MILLI)  # the cool-down is over
    with pytest.raises(RateBudgetExceededError):
        await rest.call(endpoints.NEW_ORDER, ORDER_PARAMS, schemas.OrderReply)
    assert await rest.call(endpoints.OPEN_ORDERS, [], list[schemas.OrderReply]) == []
    assert len(transport.find("GET", "/fapi/v1/openOrders")) == 2
    assert transport.find("POST", "/fapi/v1/order") == []


@pytest.mark.asyncio
async def test_418_halts_sending(make_rest: MakeRest) -> None:
    rest, transport = make_rest(
        lambda _: json_reply(
            418, {"code": -1003, "msg": "Way too many requests; IP banned until 1."}
        )
    )
    with pytest.raises(IpBanned):
        await rest.call(endpoints.CANCEL_ORDER, [("symbol", "X")], schemas.OrderReply)
    assert rest.rate.state().halted
    with pytest.raises(SendingHaltedError):
        await rest.call(endpoints.CANCEL_ORDER, [("symbol", "X")], schemas.OrderReply)
    assert len(transport.requests) == 1


@pytest.mark.asyncio
async def test_503_unknown_without_code_carries_the_signed_timestamp(make_rest: MakeRest) -> None:
    body = {
        "timestamp": 1638827401078,
        "path": "/fapi/v1/order",
        "msg": "Unknown error, please check your request or try again later.",
    }
    rest, transport = make_rest(lambda _: json_reply(503, body))
    with pytest.raises(OutcomeUnknown) as info:
        await rest.call(endpoints.NEW_ORDER, ORDER_PARAMS, schemas.OrderReply, client_order_id="c1")
    assert info.value.sent_timestamp_ms == int(transport.requests[0].params["timestamp"])
    assert info.value.client_order_id == "c1"
    assert info.value.may_have_executed


@pytest.mark.asyncio
async def test_plain_text_503_service_unavailable_is_not_executed(make_rest: MakeRest) -> None:
    rest, _ = make_rest(lambda _: HttpReply(503, {}, b"Service Unavailable."))
    with pytest.raises(Rejected) as info:
        await rest.call(endpoints.NEW_ORDER, ORDER_PARAMS, schemas.OrderReply)
    assert info.value.retryable


@pytest.mark.asyncio
async def test_transport_timeout_becomes_unknown_with_timestamp(make_rest: MakeRest) -> None:
    def timeout(_: FakeRequest) -> HttpReply:
        raise OutcomeUnknown("POST /fapi/v1/order: no complete reply (TimeoutError)")

    rest, transport = make_rest(timeout)
    with pytest.raises(OutcomeUnknown) as info:
        await rest.call(endpoints.NEW_ORDER, ORDER_PARAMS, schemas.OrderReply, client_order_id="c7")
    assert info.value.sent_timestamp_ms == int(transport.requests[0].params["timestamp"])
    assert info.value.client_order_id == "c7"


@pytest.mark.asyncio
async def test_unreadable_success_is_a_protocol_error(make_rest: MakeRest) -> None:
    rest, _ = make_rest(lambda _: HttpReply(200, {}, b"<html>oops</html>"))
    with pytest.raises(ProtocolError) as info:
        await rest.call(endpoints.NEW_ORDER, ORDER_PARAMS, schemas.OrderReply)
    assert info.value.may_have_executed


@pytest.mark.asyncio
async def test_error_object_in_a_2xx_is_still_an_error(make_rest: MakeRest) -> None:
    rest, _ = make_rest(
        lambda _: json_reply(200, {"code": -2019, "msg": "Margin is insufficient."})
    )
    with pytest.raises(Rejected) as info:
        await rest.call(endpoints.NEW_ORDER, ORDER_PARAMS, schemas.OrderReply)
    assert info.value.code == -2019


@pytest.mark.asyncio
async def test_missing_credentials_is_local(clock: TestClock) -> None:
    transport = FakeHttpTransport(ok_order)
    rest = RestClient(
        base_url="https://fapi.test",
        transport=transport,
        credentials=None,
        clock=clock,
        timesync=TimeSync(clock),
        rate=RateController(clock),
        errors=ErrorRateTracker(clock),
    )
    with pytest.raises(MissingCredentialsError):
        await rest.call(endpoints.NEW_ORDER, ORDER_PARAMS, schemas.OrderReply)
    assert transport.requests == []


@pytest.mark.asyncio
async def test_error_rate_tracking(make_rest: MakeRest) -> None:
    replies = iter(
        [
            json_reply(200, p.NEW_ORDER),
            json_reply(400, {"code": -5022, "msg": "post only"}),
            json_reply(
                503, {"code": -1007, "msg": "Timeout waiting for response from backend server."}
            ),
            json_reply(200, p.NEW_ORDER),
        ]
    )
    rest, _ = make_rest(lambda _: next(replies))
    for _ in range(4):
        with contextlib.suppress(Rejected, OutcomeUnknown):
            await rest.call(endpoints.NEW_ORDER, ORDER_PARAMS, schemas.OrderReply)
    name = endpoints.NEW_ORDER.name
    assert rest.errors.calls(name) == 4
    assert rest.errors.error_rate(name) == 0.25  # the -1007 only
    assert rest.errors.reject_rate(name) == 0.25  # the post-only rejection is business
    assert rest.errors.overall_error_rate() == 0.25


@pytest.mark.asyncio
async def test_no_secret_in_logs_or_errors(
    make_rest: MakeRest, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    replies = iter(
        [
            json_reply(
                400,
                {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."},
            ),
            json_reply(200, p.SERVER_TIME),
            json_reply(400, {"code": -1022, "msg": "Signature for this request is not valid."}),
            json_reply(429, {"code": -1003, "msg": "Too many requests."}),
        ]
    )
    rest, transport = make_rest(lambda _: next(replies))
    errors: list[BaseException] = []
    for _ in range(2):
        try:
            await rest.call(endpoints.NEW_ORDER, ORDER_PARAMS, schemas.OrderReply)
        except (Rejected, OutcomeUnknown) as exc:
            errors.append(exc)
    signatures = [r.params["signature"] for r in transport.requests if "signature" in r.params]
    assert signatures
    texts = [caplog.text, repr(rest), *(str(e) + repr(e) for e in errors)]
    for text in texts:
        for secret in (API_KEY, SECRET, *signatures):
            assert secret not in text
