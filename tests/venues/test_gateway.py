"""The composed Binance gateway over fake transports: routing, retries, unknown outcomes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from mmoms.core.clock import NANOS_PER_SECOND, TestClock
from mmoms.core.commands import AmendOrder, CancelAllOrders, CancelOrder, QueryOrder, SubmitOrder
from mmoms.core.enums import OrderType, Side, TimeInForce, VenueOrderStatus
from mmoms.core.errors import InvalidOrderError
from mmoms.core.ids import ClientOrderId, Symbol, VenueOrderId
from mmoms.core.reports import OrderNotFoundReport, OrderStatusReport
from mmoms.venues.binance import BinanceConfig, BinanceGateway, OrderTransport
from mmoms.venues.binance.signing import Credentials
from mmoms.venues.errors import (
    DuplicateClientOrderId,
    OutcomeUnknown,
    Rejected,
)
from mmoms.venues.gateway import ExchangeGateway, StreamGap, StreamItem
from mmoms.venues.testing import FakeHttpTransport, FakeWsConnector, json_reply
from tests.venues import payloads as p
from tests.venues.conftest import API_KEY, SECRET, START_NS
from tests.venues.fakevenue import FakeBinance, order_json

SYM = Symbol("BTCUSDT")


def limit(cid: str = "c1", **kw: Any) -> SubmitOrder:
    base: dict[str, Any] = {
        "ts_ns": 0,
        "client_order_id": ClientOrderId(cid),
        "symbol": SYM,
        "side": Side.BUY,
        "order_type": OrderType.LIMIT,
        "quantity": Decimal("0.010"),
        "price": Decimal("65000.1"),
        "time_in_force": TimeInForce.GTX,
    }
    base.update(kw)
    return SubmitOrder(**base)


def cancel(cid: str = "c1", venue_id: int | None = None) -> CancelOrder:
    return CancelOrder(
        ts_ns=0,
        client_order_id=ClientOrderId(cid),
        symbol=SYM,
        venue_order_id=VenueOrderId(venue_id) if venue_id is not None else None,
    )


class Env:
    def __init__(self, clock: TestClock, **config: Any) -> None:
        self.venue = FakeBinance()
        self.http = FakeHttpTransport(self.venue)
        self.ws = FakeWsConnector()
        cfg = BinanceConfig(
            rest_url="https://fapi.test",
            stream_url="wss://fstream.test",
            ws_api_url="wss://ws.test/ws-fapi/v1",
        )
        fields = {
            **{f: getattr(cfg, f) for f in cfg.__dataclass_fields__},
            "user_stream": False,
            **config,
        }
        self.gw = BinanceGateway(
            BinanceConfig(**fields),
            Credentials.hmac(API_KEY, SECRET),
            clock=clock,
            http=self.http,
            ws=self.ws,
        )


@asynccontextmanager
async def started(clock: TestClock, **config: Any) -> AsyncIterator[Env]:
    env = Env(clock, **config)
    await env.gw.start()
    try:
        yield env
    finally:
        await env.gw.close()


@pytest.fixture
def clock() -> TestClock:
    return TestClock(start_ns=START_NS)


def test_satisfies_the_venue_neutral_protocol(clock: TestClock) -> None:
    gw: ExchangeGateway = Env(clock).gw  # mypy checks the structural match
    assert gw.capabilities.max_batch_submit == 5
    assert gw.capabilities.max_batch_cancel == 10


@pytest.mark.asyncio
async def test_start_syncs_time_and_loads_instruments(clock: TestClock) -> None:
    async with started(clock) as env:
        assert [r.path for r in env.venue.requests] == ["/fapi/v1/exchangeInfo", "/fapi/v1/time"]
        assert env.gw.timesync.synced
        instruments = await env.gw.instruments()
        assert [i.symbol for i in instruments] == ["BLZUSDT"]


@pytest.mark.asyncio
async def test_start_adopts_the_venues_limits_before_counting_its_used_weight(
    clock: TestClock,
) -> None:
    # A venue with four times Binance's default weight limit, half of it used already (another
    # process on this IP): above the default 2,400, within the venue's own 9,600.
    info: dict[str, Any] = msgspec.json.decode(p.EXCHANGE_INFO)
    info["rateLimits"][0]["limit"] = 9_600
    env = Env(clock)
    busy = {"X-MBX-USED-WEIGHT-1M": "4800"}
    env.venue.script("GET", "/fapi/v1/exchangeInfo", json_reply(200, info, busy))
    env.venue.script("GET", "/fapi/v1/time", json_reply(200, p.SERVER_TIME, busy))
    await env.gw.start()
    try:
        assert env.gw.timesync.synced
        report = await env.gw.submit(limit())
        assert isinstance(report, OrderStatusReport)
    finally:
        await env.gw.close()


@pytest.mark.asyncio
async def test_submit_limit(clock: TestClock) -> None:
    async with started(clock) as env:
        report = await env.gw.submit(limit())
        assert isinstance(report, OrderStatusReport)
        assert report.venue_order_id == 22542179
        [req] = env.venue.calls("POST", "/fapi/v1/order")
        assert req.params["newClientOrderId"] == "c1"
        assert req.params["timeInForce"] == "GTX"


@pytest.mark.asyncio
async def test_conditional_orders_go_to_the_algo_service(clock: TestClock) -> None:
    async with started(clock) as env:
        stop = limit("stop1", order_type=OrderType.STOP_MARKET, price=None, time_in_force=None,
                     trigger_price=Decimal("60000"), reduce_only=True)  # fmt: skip
        report = await env.gw.submit(stop)
        assert isinstance(report, OrderStatusReport)  # handed out as an order
        assert env.venue.calls("POST", "/fapi/v1/order") == []
        [req] = env.venue.calls("POST", "/fapi/v1/algoOrder")
        assert req.params["algoType"] == "CONDITIONAL"
        assert req.params["triggerPrice"] == "60000"
        assert req.params["clientAlgoId"] == "stop1"
        cancelled = await env.gw.cancel(cancel("stop1"))
        assert isinstance(cancelled, OrderStatusReport)
        assert cancelled.status is VenueOrderStatus.CANCELED
        [del_req] = env.venue.calls("DELETE", "/fapi/v1/algoOrder")
        assert del_req.params == {**del_req.params, "algoId": "2146760"}
        assert env.venue.calls("DELETE", "/fapi/v1/order") == []


@pytest.mark.asyncio
async def test_trailing_stop_needs_a_callback_rate(clock: TestClock) -> None:
    async with started(clock) as env:
        trailing = limit(
            "t1", order_type=OrderType.TRAILING_STOP_MARKET, price=None, time_in_force=None
        )
        with pytest.raises(InvalidOrderError):
            await env.gw.submit(trailing)
        await env.gw.submit_algo(trailing, callback_rate=Decimal("1.5"))
        [req] = env.venue.calls("POST", "/fapi/v1/algoOrder")
        assert req.params["callbackRate"] == "1.5"


@pytest.mark.asyncio
async def test_not_executed_submit_is_retried_with_the_same_client_id(clock: TestClock) -> None:
    async with started(clock) as env:
        env.venue.script(
            "POST", "/fapi/v1/order", env.venue.error(503, None, "Service Unavailable.")
        )
        report = await env.gw.submit(limit())
        assert isinstance(report, OrderStatusReport)
        posts = env.venue.calls("POST", "/fapi/v1/order")
        assert [r.params["newClientOrderId"] for r in posts] == ["c1", "c1"]


@pytest.mark.asyncio
async def test_duplicate_id_on_a_retry_means_the_first_attempt_got_through(
    clock: TestClock,
) -> None:
    async with started(clock) as env:
        env.venue.script(
            "POST",
            "/fapi/v1/order",
            env.venue.error(
                503, -1001, "Internal error; unable to process your request. Please try again."
            ),
            env.venue.error(400, -4116, "clientOrderId is duplicated"),
        )
        env.venue.script(
            "GET", "/fapi/v1/order", json_reply(200, order_json(clientOrderId="c1", orderId=77))
        )
        report = await env.gw.submit(limit())
        assert isinstance(report, OrderStatusReport)
        assert report.venue_order_id == 77


@pytest.mark.asyncio
async def test_duplicate_id_on_the_first_attempt_is_a_rejection(clock: TestClock) -> None:
    async with started(clock) as env:
        env.venue.script(
            "POST", "/fapi/v1/order", env.venue.error(400, -4116, "clientOrderId is duplicated")
        )
        with pytest.raises(DuplicateClientOrderId):
            await env.gw.submit(limit())
        assert env.venue.calls("GET", "/fapi/v1/order") == []


@pytest.mark.asyncio
async def test_unknown_outcome_is_never_resent_and_resolves_by_query(clock: TestClock) -> None:
    async with started(clock) as env:
        env.venue.script(
            "POST", "/fapi/v1/order", OutcomeUnknown("POST /fapi/v1/order: no complete reply")
        )
        with pytest.raises(OutcomeUnknown) as info:
            await env.gw.submit(limit())
        assert info.value.may_have_executed
        assert len(env.venue.calls("POST", "/fapi/v1/order")) == 1

        def late_arrival(_: Any) -> Any:
            clock.advance(6 * NANOS_PER_SECOND)  # the recvWindow has passed meanwhile
            return env.venue.error(400, -2013, "Order does not exist.")

        env.venue.script(
            "GET",
            "/fapi/v1/order",
            late_arrival,
            json_reply(200, order_json(clientOrderId="c1", status="FILLED", executedQty="10")),
        )
        found = await env.gw.resolve_unknown(SYM, ClientOrderId("c1"))
        assert isinstance(found, OrderStatusReport)
        assert found.status is VenueOrderStatus.FILLED
        queries = env.venue.calls("GET", "/fapi/v1/order")
        assert [q.params["origClientOrderId"] for q in queries] == ["c1", "c1"]
        assert len(env.venue.calls("POST", "/fapi/v1/order")) == 1


@pytest.mark.asyncio
async def test_resolve_not_found_after_the_recv_window_is_definite(clock: TestClock) -> None:
    async with started(clock) as env:
        env.venue.script(
            "POST",
            "/fapi/v1/order",
            env.venue.error(
                503, None, "Unknown error, please check your request or try again later."
            ),
        )
        with pytest.raises(OutcomeUnknown):
            await env.gw.submit(limit())

        def not_found(_: Any) -> Any:
            clock.advance(6 * NANOS_PER_SECOND)
            return env.venue.error(400, -2013, "Order does not exist.")

        env.venue.script("GET", "/fapi/v1/order", not_found, not_found)
        found = await env.gw.resolve_unknown(SYM, ClientOrderId("c1"))
        assert isinstance(found, OrderNotFoundReport)
        assert found.client_order_id == "c1"
        assert len(env.venue.calls("GET", "/fapi/v1/order")) == 2


@pytest.mark.asyncio
async def test_resolve_without_a_record_retries_on_the_schedule(clock: TestClock) -> None:
    async with started(clock, retry_schedule_ms=(0, 0, 0)) as env:
        missing = env.venue.error(400, -2013, "Order does not exist.")
        env.venue.script("GET", "/fapi/v1/order", missing, missing, missing, missing)
        found = await env.gw.resolve_unknown(SYM, ClientOrderId("zz"))
        assert isinstance(found, OrderNotFoundReport)
        assert len(env.venue.calls("GET", "/fapi/v1/order")) == 4


@pytest.mark.asyncio
async def test_query_retries_unknown_answers_and_maps_not_found(clock: TestClock) -> None:
    async with started(clock, retry_schedule_ms=(0, 0)) as env:
        env.venue.script(
            "GET",
            "/fapi/v1/order",
            env.venue.error(503, -1007, "Timeout waiting for response from backend server."),
        )
        report = await env.gw.query(
            QueryOrder(ts_ns=0, client_order_id=ClientOrderId("abc"), symbol=SYM)
        )
        assert isinstance(report, OrderStatusReport)
        env.venue.script(
            "GET", "/fapi/v1/order", env.venue.error(400, -2013, "Order does not exist.")
        )
        missing = await env.gw.query(
            QueryOrder(ts_ns=0, client_order_id=ClientOrderId("x"), symbol=SYM)
        )
        assert isinstance(missing, OrderNotFoundReport)


@pytest.mark.asyncio
async def test_cancel_of_a_final_order_answers_with_its_state(clock: TestClock) -> None:
    async with started(clock) as env:
        env.venue.script(
            "DELETE", "/fapi/v1/order", env.venue.error(400, -2011, "Unknown order sent.")
        )
        env.venue.script(
            "GET",
            "/fapi/v1/order",
            json_reply(200, order_json(clientOrderId="c1", status="FILLED")),
        )
        report = await env.gw.cancel(cancel("c1", venue_id=22542179))
        assert isinstance(report, OrderStatusReport)
        assert report.status is VenueOrderStatus.FILLED
        [query] = env.venue.calls("GET", "/fapi/v1/order")
        assert query.params["orderId"] == "22542179"


@pytest.mark.asyncio
async def test_cancel_of_an_unknown_order_is_not_found(clock: TestClock) -> None:
    async with started(clock) as env:
        env.venue.script(
            "DELETE", "/fapi/v1/order", env.venue.error(400, -2011, "Unknown order sent.")
        )
        env.venue.script(
            "GET", "/fapi/v1/order", env.venue.error(400, -2013, "Order does not exist.")
        )
        report = await env.gw.cancel(cancel("ghost"))
        assert isinstance(report, OrderNotFoundReport)


@pytest.mark.asyncio
async def test_cancel_is_retried_after_an_unknown_outcome(clock: TestClock) -> None:
    async with started(clock, retry_schedule_ms=(0,)) as env:
        env.venue.script(
            "DELETE", "/fapi/v1/order", OutcomeUnknown("DELETE /fapi/v1/order: timeout")
        )
        report = await env.gw.cancel(cancel())
        assert isinstance(report, OrderStatusReport)
        assert report.status is VenueOrderStatus.CANCELED
        assert len(env.venue.calls("DELETE", "/fapi/v1/order")) == 2


@pytest.mark.asyncio
async def test_amend(clock: TestClock) -> None:
    async with started(clock) as env:
        cmd = AmendOrder(
            ts_ns=0,
            client_order_id=ClientOrderId("c1"),
            symbol=SYM,
            side=Side.BUY,
            quantity=Decimal(1),
            price=Decimal(30005),
            venue_order_id=VenueOrderId(20072994037),
        )
        report = await env.gw.amend(cmd)
        assert report.amended
        [req] = env.venue.calls("PUT", "/fapi/v1/order")
        assert req.params["orderId"] == "20072994037"
        assert req.params["price"] == "30005"


@pytest.mark.asyncio
async def test_amend_with_unknown_outcome_is_not_repeated(clock: TestClock) -> None:
    async with started(clock) as env:
        env.venue.script(
            "PUT",
            "/fapi/v1/order",
            env.venue.error(
                503, -1006, "An unexpected response was received from the message bus."
            ),
        )
        cmd = AmendOrder(ts_ns=0, client_order_id=ClientOrderId("c1"), symbol=SYM, side=Side.BUY,
                         quantity=Decimal(1), price=Decimal(30005))  # fmt: skip
        with pytest.raises(OutcomeUnknown):
            await env.gw.amend(cmd)
        assert len(env.venue.calls("PUT", "/fapi/v1/order")) == 1


@pytest.mark.asyncio
async def test_cancel_all_clears_regular_and_conditional_orders(clock: TestClock) -> None:
    async with started(clock) as env:
        await env.gw.cancel_all(CancelAllOrders(ts_ns=0, symbol=SYM))
        assert env.venue.calls("DELETE", "/fapi/v1/allOpenOrders")[0].params["symbol"] == "BTCUSDT"
        assert env.venue.calls("DELETE", "/fapi/v1/algoOpenOrders")[0].params["symbol"] == "BTCUSDT"


@pytest.mark.asyncio
async def test_countdown_cancel_all(clock: TestClock) -> None:
    async with started(clock) as env:
        await env.gw.countdown_cancel_all(SYM, 120_000)
        [req] = env.venue.calls("POST", "/fapi/v1/countdownCancelAll")
        assert req.params["countdownTime"] == "120000"


@pytest.mark.asyncio
async def test_batch_submit_mixed_results(clock: TestClock) -> None:
    async with started(clock) as env:
        results = await env.gw.submit_batch([limit("a"), limit("b")])
        assert isinstance(results[0], Rejected)
        assert results[0].code == -5022
        assert isinstance(results[1], OrderStatusReport)
        [req] = env.venue.calls("POST", "/fapi/v1/batchOrders")
        batch = msgspec.json.decode(req.params["batchOrders"])
        assert [o["newClientOrderId"] for o in batch] == ["a", "b"]
        with pytest.raises(InvalidOrderError):
            await env.gw.submit_batch([limit(str(i)) for i in range(6)])


@pytest.mark.asyncio
async def test_batch_cancel_is_chunked_by_ten_and_keeps_order(clock: TestClock) -> None:
    def reply(req: Any) -> Any:
        ids = msgspec.json.decode(req.params["orderIdList"])
        unknown = {"code": -2011, "msg": "Unknown order sent."}
        items: list[Any] = [
            unknown if i == 3 else msgspec.json.decode(order_json(orderId=i, clientOrderId=f"c{i}"))
            for i in ids
        ]
        return json_reply(200, items)

    async with started(clock) as env:
        env.venue.script("DELETE", "/fapi/v1/batchOrders", reply, reply)
        cmds = [cancel(f"c{i}", venue_id=i) for i in range(12)]
        results = await env.gw.cancel_batch(cmds)
        assert len(env.venue.calls("DELETE", "/fapi/v1/batchOrders")) == 2
        assert isinstance(results[3], OrderNotFoundReport)
        assert results[3].client_order_id == "c3"
        others = [r for i, r in enumerate(results) if i != 3]
        assert [r.venue_order_id for r in others if isinstance(r, OrderStatusReport)] == [
            i for i in range(12) if i != 3
        ]


@pytest.mark.asyncio
async def test_reconciliation_queries(clock: TestClock) -> None:
    async with started(clock) as env:
        snapshot = await env.gw.open_orders([SYM, Symbol("ETHUSDT")])
        assert snapshot.symbols == ("BTCUSDT", "ETHUSDT")
        assert len(snapshot.orders) == 2
        assert {r.params["symbol"] for r in env.venue.calls("GET", "/fapi/v1/openOrders")} == {
            "BTCUSDT",
            "ETHUSDT",
        }
        everything = await env.gw.open_orders()
        assert everything.symbols == ("BLZUSDT",)  # the loaded instruments
        [position] = await env.gw.positions()
        assert position.quantity == 30
        [balance] = await env.gw.balances()
        assert balance.asset == "USDT"
        [algo] = await env.gw.open_algo_orders()
        assert algo.algo_id == 2146760


@pytest.mark.asyncio
async def test_admin_endpoints(clock: TestClock) -> None:
    async with started(clock) as env:
        admin = env.gw.admin
        assert (await admin.commission_rate(SYM)).maker == Decimal("0.0002")
        assert (await admin.set_leverage(SYM, 21)).leverage == 21
        env.venue.script(
            "POST",
            "/fapi/v1/marginType",
            env.venue.error(400, -4046, "No need to change margin type."),
        )
        assert await admin.set_margin_type(SYM, "CROSSED") is False
        assert await admin.set_position_mode(hedge=False) is True
        assert await admin.position_mode_is_hedge() is True
        assert (await admin.account()).available_balance == Decimal("126.72469206")
        [fill] = await admin.user_trades(SYM, from_id=1)
        assert fill.trade_id == 698759
        [order] = await admin.all_orders(SYM)
        assert order.client_order_id == "abc"


@pytest.mark.asyncio
async def test_health_is_exposed(clock: TestClock) -> None:
    async with started(clock) as env:
        env.venue.script(
            "POST",
            "/fapi/v1/order",
            env.venue.error(503, -1007, "Timeout waiting for response from backend server."),
        )
        with pytest.raises(OutcomeUnknown):
            await env.gw.submit(limit())
        await env.gw.submit(limit("c2"))
        assert env.gw.error_rate("POST /fapi/v1/order") == 0.5
        assert 0 < env.gw.error_rate() < 0.5
        assert not env.gw.rate_state().halted


@pytest.mark.asyncio
async def test_stream_gap_and_algo_tracking(clock: TestClock) -> None:
    async with started(clock, user_stream=True) as env:
        peer = await env.ws.next_peer()
        assert (
            peer.url
            == "wss://fstream.test/private/ws?listenKey="
            + msgspec.json.decode(p.LISTEN_KEY)["listenKey"]
        )
        stream = env.gw.stream()
        gap = await anext(stream)
        assert isinstance(gap, StreamGap)
        assert gap.epoch == 1
        # An ALGO_UPDATE seen on the stream makes later cancels for that id go to the algo API.
        await peer.send(p.ALGO_UPDATE.replace(b'"X":"CANCELED"', b'"X":"NEW"').decode())
        item = await anext(stream)
        assert isinstance(item, StreamItem)
        assert isinstance(item.report, OrderStatusReport)  # the algo update, seen as an order
        await env.gw.cancel(cancel("Q5xaq5EGKgXXa0fD7fs0Ip"))
        assert len(env.venue.calls("DELETE", "/fapi/v1/algoOrder")) == 1


@pytest.mark.asyncio
async def test_close_ends_the_stream(clock: TestClock) -> None:
    env = Env(clock, user_stream=True)
    await env.gw.start()
    await env.ws.next_peer()
    stream = env.gw.stream()
    assert isinstance(await anext(stream), StreamGap)
    await env.gw.close()
    assert [m async for m in stream] == []


@pytest.mark.asyncio
async def test_ws_api_transport_for_orders(clock: TestClock) -> None:
    env = Env(clock, order_transport=OrderTransport.WS_API)
    start = asyncio.create_task(env.gw.start())
    peer = await env.ws.next_peer()
    await start
    try:
        assert peer.url == "wss://ws.test/ws-fapi/v1"
        submit = asyncio.create_task(env.gw.submit(limit()))
        request = await peer.recv_json()
        assert request["method"] == "order.place"
        assert request["params"]["newClientOrderId"] == "c1"
        reply = msgspec.json.decode(p.WS_API_ORDER_PLACE)
        await peer.send_json(reply | {"id": request["id"]})
        report = await submit
        assert isinstance(report, OrderStatusReport)
        assert report.venue_order_id == 325078477
        assert env.venue.calls("POST", "/fapi/v1/order") == []
        # While the WS API is down, orders fall back to REST.
        assert env.gw.wsapi is not None
        await env.gw.wsapi.close()
        report = await env.gw.submit(limit("c2"))
        assert isinstance(report, OrderStatusReport)
        assert len(env.venue.calls("POST", "/fapi/v1/order")) == 1
    finally:
        await env.gw.close()
