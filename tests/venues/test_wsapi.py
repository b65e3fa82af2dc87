"""WS API order entry over a fake connection: signing, replies, errors, unknown outcomes."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import msgspec
import pytest

from mmoms.core.clock import NANOS_PER_MILLI, TestClock
from mmoms.venues.binance import endpoints, schemas
from mmoms.venues.binance.ratecontrol import RateController
from mmoms.venues.binance.signing import Credentials
from mmoms.venues.binance.timesync import TimeSync
from mmoms.venues.binance.wsapi import WsApiClient
from mmoms.venues.errorrate import ErrorRateTracker
from mmoms.venues.errors import (
    NotSent,
    OutcomeUnknown,
    RateBudgetExceededError,
    RateLimited,
    Rejected,
)
from mmoms.venues.testing import FakeWsConnector, FakeWsPeer
from tests.venues import payloads as p
from tests.venues.conftest import API_KEY, SECRET, START_NS

PARAMS = [("symbol", "BTCUSDT"), ("side", "BUY"), ("type", "LIMIT"), ("quantity", "0.1"),
          ("price", "42088.0"), ("timeInForce", "GTC")]  # fmt: skip


def result_of(payload: bytes, request_id: str) -> dict[str, Any]:
    reply: dict[str, Any] = msgspec.json.decode(payload)
    reply["id"] = request_id
    return reply


class Harness:
    def __init__(
        self,
        clock: TestClock,
        timeout_s: float = 5.0,
        connect_s: float = 1.0,
        resync: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self.connector = FakeWsConnector()
        self.rate = RateController(clock)
        self.errors = ErrorRateTracker(clock)
        self.client = WsApiClient(
            url="wss://ws-fapi.test/ws-fapi/v1",
            connector=self.connector,
            credentials=Credentials.hmac(API_KEY, SECRET),
            clock=clock,
            timesync=TimeSync(clock),
            rate=self.rate,
            errors=self.errors,
            timeout_s=timeout_s,
            connect_timeout_s=connect_s,
            reconnect_backoff_ns=(0,),
            resync=resync,
        )


@asynccontextmanager
async def running(
    clock: TestClock, timeout_s: float = 5.0
) -> AsyncIterator[tuple[Harness, FakeWsPeer]]:
    h = Harness(clock, timeout_s)
    task = asyncio.create_task(h.client.run())
    try:
        peer = await h.connector.next_peer()
        await h.client.wait_connected()
        yield h, peer
    finally:
        await h.client.close()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


@pytest.fixture
def clock() -> TestClock:
    return TestClock(start_ns=START_NS)


@pytest.mark.asyncio
async def test_request_is_signed_over_sorted_params_and_reply_decoded(clock: TestClock) -> None:
    async with running(clock) as (h, peer):
        call = asyncio.create_task(
            h.client.request(endpoints.WS_ORDER_PLACE, PARAMS, schemas.OrderReply)
        )
        request = await peer.recv_json()
        assert request["method"] == "order.place"
        params = request["params"]
        assert params["apiKey"] == API_KEY
        assert params["recvWindow"] == 5000
        assert params["timestamp"] == START_NS // NANOS_PER_MILLI
        assert params["price"] == "42088.0"  # decimals as strings, ints as integers
        signature = params.pop("signature")
        payload = "&".join(f"{k}={params[k]}" for k in sorted(params))
        assert signature == hmac.new(SECRET.encode(), payload.encode(), hashlib.sha256).hexdigest()
        await peer.send_json(result_of(p.WS_API_ORDER_PLACE, request["id"]))
        reply = await call
        assert reply.order_id == 325078477
        used = {pool.name: pool.used for pool in h.rate.state().pools}
        assert used["ORDERS_10S"] == 1


@pytest.mark.asyncio
async def test_replies_are_matched_by_id_out_of_order(clock: TestClock) -> None:
    async with running(clock) as (h, peer):
        first = asyncio.create_task(
            h.client.request(endpoints.WS_ORDER_STATUS, [("symbol", "A")], schemas.OrderReply)
        )
        r1 = await peer.recv_json()
        second = asyncio.create_task(
            h.client.request(endpoints.WS_ORDER_STATUS, [("symbol", "B")], schemas.OrderReply)
        )
        r2 = await peer.recv_json()
        await peer.send_json(result_of(p.WS_API_ORDER_PLACE, r2["id"]))
        await peer.send_json({"id": "999", "status": 200, "result": {}})  # stray: ignored
        await peer.send_json(
            result_of(p.WS_API_ORDER_PLACE, r1["id"])
            | {"result": msgspec.json.decode(p.QUERY_ORDER)}
        )
        assert (await first).order_id == 1573346959
        assert (await second).order_id == 325078477


@pytest.mark.asyncio
async def test_error_envelope_uses_the_same_table(clock: TestClock) -> None:
    async with running(clock) as (h, peer):
        call = asyncio.create_task(
            h.client.request(
                endpoints.WS_ORDER_PLACE, PARAMS, schemas.OrderReply, client_order_id="c1"
            )
        )
        request = await peer.recv_json()
        await peer.send_json(result_of(p.WS_API_ERROR, request["id"]))
        with pytest.raises(Rejected) as info:
            await call
        assert info.value.code == -2010
        assert info.value.client_order_id == "c1"
        assert h.errors.reject_rate("order.place") == 1.0


@pytest.mark.asyncio
async def test_429_envelope_cools_down(clock: TestClock) -> None:
    async with running(clock) as (h, peer):
        call = asyncio.create_task(
            h.client.request(endpoints.WS_ORDER_CANCEL, [("symbol", "A")], schemas.OrderReply)
        )
        request = await peer.recv_json()
        await peer.send_json(
            {
                "id": request["id"],
                "status": 429,
                "error": {"code": -1003, "msg": "Too many requests."},
            }
        )
        with pytest.raises(RateLimited):
            await call
        assert h.rate.state().cooldown_until_ns > 0


@pytest.mark.asyncio
async def test_after_a_429_a_status_query_is_not_throttled_but_a_new_order_is(
    clock: TestClock,
) -> None:
    # As over REST (soak finding F5): the default priority follows the operation, so reads of
    # the truth keep the whole pool while new exposure is held to the lowered share.
    async with running(clock) as (h, peer):
        h.rate.on_headers({"x-mbx-used-weight-1m": "1200", "x-mbx-order-count-10s": "150"})
        h.rate.on_rate_limited(retry_after_ms=1)
        h.rate.on_rate_limited(retry_after_ms=1)
        clock.advance(10 * NANOS_PER_MILLI)  # the cool-down is over
        with pytest.raises(RateBudgetExceededError):
            await h.client.request(endpoints.WS_ORDER_PLACE, PARAMS, schemas.OrderReply)
        call = asyncio.create_task(
            h.client.request(endpoints.WS_ORDER_STATUS, [("symbol", "A")], schemas.OrderReply)
        )
        request = await peer.recv_json()
        assert request["method"] == "order.status"
        await peer.send_json(result_of(p.WS_API_ORDER_PLACE, request["id"]))
        assert (await call).order_id == 325078477


@pytest.mark.asyncio
async def test_drop_with_request_in_flight_is_outcome_unknown_then_reconnects(
    clock: TestClock,
) -> None:
    async with running(clock) as (h, peer):
        call = asyncio.create_task(
            h.client.request(
                endpoints.WS_ORDER_PLACE, PARAMS, schemas.OrderReply, client_order_id="c9"
            )
        )
        request = await peer.recv_json()
        await peer.close()
        with pytest.raises(OutcomeUnknown) as info:
            await call
        assert info.value.client_order_id == "c9"
        assert info.value.sent_timestamp_ms == request["params"]["timestamp"]
        await h.connector.next_peer()
        await h.client.wait_connected()
        assert h.client.connections == 2


@pytest.mark.asyncio
async def test_no_reply_in_time_is_outcome_unknown(clock: TestClock) -> None:
    async with running(clock, timeout_s=0.01) as (h, peer):
        with pytest.raises(OutcomeUnknown, match="no reply"):
            await h.client.request(endpoints.WS_ORDER_PLACE, PARAMS, schemas.OrderReply)
        assert await peer.recv_json()  # it was sent


@pytest.mark.asyncio
async def test_not_connected_is_not_sent(clock: TestClock) -> None:
    h = Harness(clock, connect_s=0.01)  # run() is not started: it never connects
    with pytest.raises(NotSent):
        await h.client.request(endpoints.WS_ORDER_PLACE, PARAMS, schemas.OrderReply)


@pytest.mark.asyncio
async def test_a_send_that_fails_is_outcome_unknown_not_not_sent(clock: TestClock) -> None:
    # The connection goes while the frame is being written: part of it may have reached the
    # venue, so the order may exist and must be resolved, never reported as not sent.
    async with running(clock) as (h, peer):
        peer.closed = True  # the client's next write fails; its reader has not noticed yet
        with pytest.raises(OutcomeUnknown) as info:
            await h.client.request(
                endpoints.WS_ORDER_PLACE, PARAMS, schemas.OrderReply, client_order_id="c7"
            )
        assert info.value.client_order_id == "c7"
        assert info.value.sent_timestamp_ms == clock.time_ns() // NANOS_PER_MILLI
        assert h.errors.error_rate("order.place") == 1.0


TIMESTAMP_REFUSED = {
    "code": -1021,
    "msg": "Timestamp for this request is outside of the recvWindow.",
}


@pytest.mark.asyncio
async def test_minus_1021_resyncs_then_retries_once_re_signed(clock: TestClock) -> None:
    resyncs: list[int] = []

    async def resync() -> None:
        resyncs.append(clock.time_ns())
        clock.advance(5 * NANOS_PER_MILLI)  # the retry is signed later, with a new timestamp

    h = Harness(clock, resync=resync)
    task = asyncio.create_task(h.client.run())
    try:
        peer = await h.connector.next_peer()
        call = asyncio.create_task(
            h.client.request(endpoints.WS_ORDER_PLACE, PARAMS, schemas.OrderReply)
        )
        stamps = []
        for _ in range(2):
            request = await peer.recv_json()
            stamps.append(request["params"]["timestamp"])
            await peer.send_json({"id": request["id"], "status": 400, "error": TIMESTAMP_REFUSED})
        with pytest.raises(Rejected) as info:
            await call
        assert info.value.code == -1021
        assert stamps[1] == stamps[0] + 5  # re-signed after the resync
        assert len(resyncs) == 1  # the second -1021 is final
        assert h.errors.calls("order.place") == 2
    finally:
        await h.client.close()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
