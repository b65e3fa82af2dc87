"""The request pipeline alone, without I/O: admission, signing, classification, the error rate
and the -1021 retry decision, fed with the real replies kept in ``tests/data``."""

from __future__ import annotations

import json
from decimal import Decimal

import msgspec
import pytest

from mmoms.core.clock import NANOS_PER_MILLI, NANOS_PER_SECOND, TestClock
from mmoms.venues.binance import endpoints, schemas
from mmoms.venues.binance.endpoints import Endpoint, OpKind, Security
from mmoms.venues.binance.pipeline import Attempt, RequestPipeline, Wire
from mmoms.venues.binance.ratecontrol import Priority, RateController
from mmoms.venues.binance.signing import Credentials
from mmoms.venues.binance.timesync import TimeSync
from mmoms.venues.errorrate import ErrorRateTracker
from mmoms.venues.errors import (
    MissingCredentialsError,
    NotSent,
    OrderNotFound,
    OutcomeUnknown,
    ProtocolError,
    RateBudgetExceededError,
    RateLimited,
    Rejected,
)
from mmoms.venues.testing import json_reply
from mmoms.venues.transport import HttpReply
from tests.venues.conftest import API_KEY, SECRET
from tests.venues.real_payloads import entries, of_kind, payload, raw

# Binance's documented HMAC example: this key, this query, this signature.
DOC_TIMESTAMP_MS = 1499827319559
DOC_PARAMS = [("symbol", "LTCBTC"), ("side", "BUY"), ("type", "LIMIT"), ("timeInForce", "GTC"),
              ("quantity", "1"), ("price", "0.1")]  # fmt: skip
DOC_SIGNATURE = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"


class Parts:
    def __init__(self, wire: Wire = Wire.REST, *, can_resync: bool = True) -> None:
        self.clock = TestClock(start_ns=DOC_TIMESTAMP_MS * NANOS_PER_MILLI)
        self.timesync = TimeSync(self.clock)
        self.rate = RateController(self.clock)
        self.errors = ErrorRateTracker(self.clock)
        self.pipe = RequestPipeline(
            wire=wire,
            credentials=Credentials.hmac(API_KEY, SECRET),
            timesync=self.timesync,
            rate=self.rate,
            errors=self.errors,
            can_resync=can_resync,
        )

    def attempt(self, endpoint: Endpoint = endpoints.NEW_ORDER, number: int = 0) -> Attempt:
        request = self.pipe.prepare(endpoint, DOC_PARAMS, client_order_id="cid-1")
        return self.pipe.sign(request, number, request_id="7")


def error_reply(payload_id: str) -> HttpReply:
    return HttpReply(entries()[payload_id]["http_status"], {}, raw(payload_id))


# -- signing ------------------------------------------------------------------------------------


def test_rest_query_is_signed_as_binance_documents() -> None:
    attempt = Parts().attempt()
    assert attempt.text == (
        "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
        f"&recvWindow=5000&timestamp={DOC_TIMESTAMP_MS}&signature={DOC_SIGNATURE}"
    )
    assert attempt.timestamp_ms == DOC_TIMESTAMP_MS


def test_ws_frame_signs_the_sorted_params_with_key_window_and_integer_timestamp() -> None:
    attempt = Parts(Wire.WS_API).attempt(endpoints.WS_ORDER_PLACE)
    frame = json.loads(attempt.text)
    assert (frame["id"], frame["method"]) == ("7", "order.place")
    params = frame["params"]
    assert (params["apiKey"], params["recvWindow"], params["timestamp"]) == (
        API_KEY, 5000, DOC_TIMESTAMP_MS)  # fmt: skip
    assert params["quantity"] == "1"  # decimals stay strings
    signed = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "signature")
    assert signed.startswith("apiKey=")
    assert params["signature"] == Credentials.hmac(API_KEY, SECRET).signer.sign(signed)


def test_public_endpoint_is_neither_signed_nor_keyed() -> None:
    parts = Parts()
    request = parts.pipe.prepare(endpoints.SERVER_TIME, [])
    assert parts.pipe.sign(request) == Attempt(request, 0, "", None)
    assert parts.pipe.headers(request) == {}
    signed = parts.pipe.prepare(endpoints.QUERY_ORDER, [("symbol", "BTCUSDT")])
    assert parts.pipe.headers(signed) == {"X-MBX-APIKEY": API_KEY}


def test_missing_credentials_refuse_before_anything_else() -> None:
    clock = TestClock()
    pipe = RequestPipeline(wire=Wire.REST, credentials=None, timesync=TimeSync(clock),
                           rate=RateController(clock), errors=ErrorRateTracker(clock))  # fmt: skip
    assert pipe.prepare(endpoints.SERVER_TIME, []).label == "GET /fapi/v1/time"
    with pytest.raises(MissingCredentialsError):
        pipe.prepare(endpoints.NEW_ORDER, DOC_PARAMS)
    with pytest.raises(MissingCredentialsError):  # the WS API speaks signed methods only
        Parts(Wire.WS_API).pipe.prepare(endpoints.SERVER_TIME, [])


# -- admission ----------------------------------------------------------------------------------


def test_admission_waits_up_to_the_operations_limit_then_refuses() -> None:
    parts = Parts()
    parts.rate.set_limits([("REQUEST_WEIGHT", "MINUTE", 1, 2)])
    query = parts.pipe.prepare(endpoints.QUERY_ORDER, [("symbol", "BTCUSDT")])
    assert parts.pipe.admit(query) == 0
    assert parts.pipe.admit(query) == 0
    # Full until the wall-clock minute ends: 559 ms after :59 leaves 441 ms.
    assert parts.pipe.admit(query) == 441 * NANOS_PER_MILLI
    assert parts.pipe.admit(query, waited_ns=NANOS_PER_SECOND) == 441 * NANOS_PER_MILLI
    with pytest.raises(RateBudgetExceededError):  # a query waits 2 s at most in all
        parts.pipe.admit(query, waited_ns=2 * NANOS_PER_SECOND - 440 * NANOS_PER_MILLI)


def test_a_place_never_waits_for_the_budget() -> None:
    parts = Parts()
    parts.rate.set_limits([("ORDERS", "SECOND", 10, 2)])  # 1 after the exit reserve
    place = parts.pipe.prepare(endpoints.NEW_ORDER, DOC_PARAMS)
    assert parts.pipe.admit(place) == 0
    with pytest.raises(RateBudgetExceededError) as caught:
        parts.pipe.admit(place)
    assert caught.value.wait_ns > 0
    assert str(caught.value).startswith("POST /fapi/v1/order: rate budget exhausted")


# -- outcomes -----------------------------------------------------------------------------------


@pytest.mark.parametrize("entry", of_kind("rest.error"), ids=lambda e: e["id"])
def test_every_captured_error_is_classified_and_counted(entry: dict[str, object]) -> None:
    parts = Parts()
    outcome = parts.pipe.on_http_reply(
        parts.attempt(), error_reply(str(entry["id"])), schemas.OrderReply
    )
    error, body = outcome.error, payload(str(entry["id"]))
    assert error is not None
    assert outcome.value is None
    assert (error.code, error.venue_message, error.client_order_id) == (
        body["code"], body["msg"], "cid-1")  # fmt: skip
    expect = entry["expect"]
    kind = {"OrderNotFound": OrderNotFound, "OutcomeUnknown": OutcomeUnknown}.get(str(expect))
    assert isinstance(error, kind or Rejected)
    if isinstance(error, OutcomeUnknown):
        assert error.sent_timestamp_ms == DOC_TIMESTAMP_MS
    assert outcome.resync_and_retry is (body["code"] == -1021)
    assert parts.errors.calls("POST /fapi/v1/order") == 1


def test_minus_1021_asks_for_one_resync_and_forgets_the_clock() -> None:
    parts = Parts()
    parts.timesync.complete(parts.timesync.begin(), DOC_TIMESTAMP_MS + 700)
    assert parts.timesync.synced
    reply = error_reply("rest.error.-1021.timestamp")
    first = parts.pipe.on_http_reply(parts.attempt(), reply, schemas.OrderReply)
    assert first.resync_and_retry
    assert not parts.timesync.synced  # every sample dropped: the next probe sets the offset
    second = parts.pipe.on_http_reply(parts.attempt(number=1), reply, schemas.OrderReply)
    assert not second.resync_and_retry  # once only
    with pytest.raises(Rejected):
        second.result()
    assert parts.errors.calls("POST /fapi/v1/order") == 2


def test_minus_1021_is_final_without_a_clock_to_resync_or_on_a_429() -> None:
    reply = error_reply("rest.error.-1021.timestamp")
    ws = Parts(Wire.WS_API, can_resync=False)
    assert not ws.pipe.on_http_reply(ws.attempt(), reply, schemas.OrderReply).resync_and_retry
    parts = Parts()
    limited = HttpReply(429, {"retry-after": "3"}, reply.body)
    outcome = parts.pipe.on_http_reply(parts.attempt(), limited, schemas.OrderReply)
    assert isinstance(outcome.error, RateLimited)
    assert outcome.error.retry_after_ms == 3000
    assert not outcome.resync_and_retry


@pytest.mark.parametrize(
    "failure", [OutcomeUnknown("timed out", endpoint="x"), NotSent("refused", endpoint="x")]
)
def test_a_transport_failure_is_never_retried_and_an_unknown_one_says_when_it_was_signed(
    failure: OutcomeUnknown | NotSent,
) -> None:
    parts = Parts()
    outcome = parts.pipe.on_failure(parts.attempt(), failure)
    assert outcome.error is failure
    assert not outcome.resync_and_retry
    assert failure.client_order_id == "cid-1"
    assert parts.errors.calls("POST /fapi/v1/order") == 1
    if isinstance(failure, OutcomeUnknown):
        assert failure.sent_timestamp_ms == DOC_TIMESTAMP_MS
        assert parts.errors.error_rate("POST /fapi/v1/order") == 1.0


def test_a_captured_success_is_decoded_and_the_usage_headers_adopted() -> None:
    parts = Parts()
    reply = HttpReply(200, {"x-mbx-used-weight-1m": "1234"}, raw("rest.time.live2026"))
    request = parts.pipe.prepare(endpoints.SERVER_TIME, [])
    outcome = parts.pipe.on_http_reply(parts.pipe.sign(request), reply, schemas.ServerTime)
    assert outcome.result().server_time == payload("rest.time.live2026")["serverTime"]
    weight = next(p for p in parts.rate.state().pools if p.name == "REQUEST_WEIGHT_1M")
    assert weight.used == 1234
    assert parts.errors.error_rate("GET /fapi/v1/time") == 0.0
    assert parts.errors.calls("GET /fapi/v1/time") == 1


def test_a_2xx_carrying_an_error_object_is_that_error_and_garbage_is_a_protocol_error() -> None:
    parts = Parts()
    disguised = HttpReply(200, {}, raw("rest.error.-2013.no_such_order"))
    outcome = parts.pipe.on_http_reply(parts.attempt(), disguised, schemas.OrderReply)
    assert isinstance(outcome.error, OrderNotFound)
    garbage = parts.pipe.on_http_reply(
        parts.attempt(), json_reply(200, b"<html>"), schemas.OrderReply
    )
    assert isinstance(garbage.error, ProtocolError)
    assert garbage.error.may_have_executed  # a 2xx: it may well have executed


def test_a_captured_ws_envelope_is_decoded_and_its_rate_limits_adopted() -> None:
    parts = Parts(Wire.WS_API)
    envelope = msgspec.json.decode(raw("wsapi.order.modify.docs"), type=schemas.WsApiReply)
    attempt = parts.attempt(endpoints.WS_ORDER_MODIFY)
    order = parts.pipe.on_ws_reply(attempt, envelope, schemas.OrderReply).result()
    result = payload("wsapi.order.modify.docs")["result"]
    assert (order.order_id, order.price) == (result["orderId"], Decimal(result["price"]))
    orders_10s = next(p for p in parts.rate.state().pools if p.name == "ORDERS_10S")
    assert orders_10s.used == 1
    assert parts.errors.calls("order.modify") == 1


def test_a_ws_error_envelope_goes_through_the_same_table() -> None:
    parts = Parts(Wire.WS_API)
    body = payload("rest.error.-2013.no_such_order")
    envelope = schemas.WsApiReply(id="7", status=400, error=schemas.ErrorBody(**body))
    outcome = parts.pipe.on_ws_reply(parts.attempt(endpoints.WS_ORDER_STATUS), envelope,
                                     schemas.OrderReply)  # fmt: skip
    assert isinstance(outcome.error, OrderNotFound)
    assert (outcome.error.endpoint, outcome.error.client_order_id) == ("order.status", "cid-1")
    unknown = schemas.WsApiReply(id="7", status=200, result=msgspec.Raw(b'{"orderId": "x"}'))
    bad = parts.pipe.on_ws_reply(parts.attempt(endpoints.WS_ORDER_STATUS), unknown,
                                 schemas.OrderReply)  # fmt: skip
    assert isinstance(bad.error, ProtocolError)


def test_unsigned_endpoints_never_ask_for_a_resync() -> None:
    parts = Parts()
    public = Endpoint("GET", "/fapi/v1/ping", Security.NONE, OpKind.QUERY, 1)
    request = parts.pipe.prepare(public, [], priority=Priority.EXIT)
    reply = error_reply("rest.error.-1021.timestamp")
    assert not parts.pipe.on_http_reply(
        parts.pipe.sign(request), reply, schemas.ServerTime
    ).resync_and_retry
