"""Fuzz the gateway's WebSocket API client (``/ws-fapi/v1``) with hostile frames.

Properties:

* garbage frames (damaged real envelopes, random JSON, bytes) never stop the reader: a valid
  reply sent after them still completes the request, and the connection task is alive;
* the envelope's result / error / ``rateLimits`` parsing (the request pipeline's
  :meth:`~mmoms.venues.binance.pipeline.RequestPipeline.on_ws_reply`) and the
  conversion to a report return a sane report or raise one of the project's errors, never
  anything else;
* no log line or error text carries the API key, the secret or the request's signature.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmoms.core.clock import TestClock
from mmoms.core.errors import MmomsError
from mmoms.venues.binance import codec, endpoints, schemas
from mmoms.venues.binance.ratecontrol import RateController
from mmoms.venues.binance.signing import Credentials
from mmoms.venues.binance.timesync import TimeSync
from mmoms.venues.binance.wsapi import WsApiClient
from mmoms.venues.errorrate import ErrorRateTracker
from mmoms.venues.testing import FakeWsConnector
from tests.fuzz.logs import captured, lines
from tests.fuzz.mutate import fuzz_settings, hostile_json
from tests.fuzz.sanity import assert_sane
from tests.venues import payloads as p
from tests.venues.conftest import API_KEY, SECRET, START_NS

SEEDS = [p.WS_API_ORDER_PLACE, p.WS_API_LISTEN_KEY, p.WS_API_ALGO_CANCEL, p.WS_API_ERROR]
PARAMS = [("symbol", "BTCUSDT"), ("side", "BUY"), ("type", "LIMIT"), ("quantity", "0.1")]


def _client(clock: TestClock, connector: FakeWsConnector) -> WsApiClient:
    return WsApiClient(
        url="wss://ws-fapi.test/ws-fapi/v1",
        connector=connector,
        credentials=Credentials.hmac(API_KEY, SECRET),
        clock=clock,
        timesync=TimeSync(clock),
        rate=RateController(clock),
        errors=ErrorRateTracker(clock),
        reconnect_backoff_ns=(0,),
    )


async def _session(frames: list[bytes]) -> tuple[object, list[str]]:
    clock = TestClock(start_ns=START_NS)
    connector = FakeWsConnector()
    client = _client(clock, connector)
    task = asyncio.create_task(client.run())
    try:
        peer = await connector.next_peer()
        call = asyncio.create_task(
            client.request(endpoints.WS_ORDER_PLACE, PARAMS, schemas.OrderReply)
        )
        request = msgspec.json.decode(await peer.recv())
        for frame in frames:
            await peer.send(frame)
        reply = msgspec.json.decode(p.WS_API_ORDER_PLACE)
        reply["id"] = request["id"]
        await peer.send(msgspec.json.encode(reply))
        try:
            result: object = await call
        except MmomsError as exc:
            result = exc
        assert not task.done(), "garbage frames stopped the WS API reader"
        return result, [request["params"]["signature"]]
    finally:
        await client.close()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


@fuzz_settings(150)
@given(frames=st.lists(hostile_json(SEEDS), min_size=1, max_size=4))
def test_garbage_frames_do_not_stop_the_reader(frames: list[bytes]) -> None:
    with captured("mmoms") as records:
        result, signatures = asyncio.run(_session(frames))
    if isinstance(result, MmomsError):
        texts = [str(result), repr(result)]
    else:
        assert isinstance(result, schemas.OrderReply)
        texts = []
    for text in texts + lines(records):
        for secret in (API_KEY, SECRET, *signatures):
            assert secret not in text


def check_envelope(frame: bytes) -> None:
    client = _client(TestClock(start_ns=START_NS), FakeWsConnector())
    try:
        reply = msgspec.json.decode(frame, type=schemas.WsApiReply)
    except (msgspec.DecodeError, RecursionError, UnicodeError):
        return  # the reader logs and drops it: covered above
    try:
        pipeline = client.pipeline
        request = pipeline.prepare(endpoints.WS_ORDER_PLACE, PARAMS, client_order_id="c1")
        attempt = pipeline.sign(request, request_id="1")
        result = pipeline.on_ws_reply(attempt, reply, schemas.OrderReply).result()
        report = codec.order_report(result, START_NS)  # what the gateway does with it
    except MmomsError as exc:
        error = str(exc)
    else:
        assert_sane(report)
        return
    assert API_KEY not in error


@fuzz_settings(300)
@given(frame=hostile_json(SEEDS))
def test_envelopes_give_a_reply_or_a_project_error(frame: bytes) -> None:
    check_envelope(frame)


@pytest.mark.parametrize(
    "frame",
    [
        b'{"id":"1","status":400,"error":{"code":"\xc2\xb2","msg":"x"}}',  # int("²")
        b'{"id":"1","status":400,"error":{"code":"--1021","msg":"x"}}',
        b'{"id":"1","status":200,"result":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"id":"1","status":200,"result":{"orderId":1,"symbol":"\xf0x"}}',  # not UTF-8
        p.WS_API_ORDER_PLACE.replace(b'"price": "43187.00"', b'"price": "NaN"'),
    ],
)
def test_crashers(frame: bytes) -> None:
    check_envelope(frame)


def test_a_clean_session_returns_the_order() -> None:
    result, _ = asyncio.run(_session([]))
    assert isinstance(result, schemas.OrderReply)
    assert result.price == Decimal("43187.00")
