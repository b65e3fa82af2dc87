"""The gateway against the simulator with injected faults (issue 5), over real sockets.

Each test injects one fault through the simulator's admin API, then checks what the gateway's
public API shows (errors raised, ``rate_state()``, the stream's gap signals, resolved reports)
against what the venue really holds (read in-process, past every fault) and against the
simulator's fault log (so a fault that did not fire cannot pass for one that was handled).

Nothing sleeps to synchronise: the tests wait for stream messages, and the gateway's rate
control runs on a clock whose monotonic time a test can jump past a cool-down or a ban.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
import pytest_asyncio

from mmoms.core.clock import NANOS_PER_SECOND, LiveClock
from mmoms.core.commands import AmendOrder, CancelOrder, QueryOrder, SubmitOrder
from mmoms.core.enums import OrderType, Side, TimeInForce, VenueOrderStatus
from mmoms.core.ids import ClientOrderId, Symbol
from mmoms.core.instrument import PriceRounding
from mmoms.core.reports import OrderNotFoundReport, OrderStatusReport
from mmoms.sim.clock import LiveSimClock
from mmoms.sim.config_model import AccountConfig, SimConfig
from mmoms.sim.exchange import SimExchange
from mmoms.sim.faults import FaultInjector
from mmoms.sim.server import SimServer, start_server
from mmoms.venues.binance import BinanceConfig, BinanceGateway, Credentials, OrderTransport
from mmoms.venues.binance.endpoints import Endpoint, OpKind, Security
from mmoms.venues.errors import (
    IpBanned,
    OutcomeUnknown,
    RateBudgetExceededError,
    RateLimited,
    SendingHaltedError,
)
from mmoms.venues.gateway import StreamGap, StreamItem, StreamMessage
from tests.venues.simfaults import SimAdmin, Venue

API_KEY = "faultkey0123456789"
API_SECRET = "faultsecret0123456789"
SYM = Symbol("BTCUSDC")
PREMIUM_INDEX = Endpoint("GET", "/fapi/v1/premiumIndex", Security.NONE, OpKind.QUERY, 1)
TIMEOUT_S = 10
# Short, so a definite "not found" (after the request's recvWindow has passed) comes quickly.
RECV_WINDOW_MS = 1000

pytestmark = pytest.mark.asyncio


class JumpClock(LiveClock):
    """The live clock whose *monotonic* time a test can move forward (cool-downs and bans are
    measured on it); wall time stays true, so signed timestamps stay valid."""

    def __init__(self) -> None:
        self.jumped_ns = 0

    def monotonic_ns(self) -> int:
        return time.monotonic_ns() + self.jumped_ns

    def jump(self, ns: int) -> None:
        self.jumped_ns += ns


@dataclass
class Sim:
    server: SimServer
    admin: SimAdmin
    venue: Venue


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[Sim]:
    clock = LiveSimClock()
    account = AccountConfig(api_key=API_KEY, api_secret=API_SECRET)
    exchange = SimExchange(clock, SimConfig(accounts=(account,), seed=5))
    server = await start_server("127.0.0.1", 0, exchange, clock, faults=FaultInjector(seed=11))
    try:
        yield Sim(server, SimAdmin(server), Venue(exchange, API_KEY))
    finally:
        await server.close()


MakeGateway = Callable[..., Awaitable[BinanceGateway]]


@pytest_asyncio.fixture
async def make_gateway(sim: Sim) -> AsyncIterator[MakeGateway]:
    started: list[BinanceGateway] = []

    async def make(clock: LiveClock | None = None, **overrides: Any) -> BinanceGateway:
        config = BinanceConfig.local(
            sim.server.rest_url,
            sim.server.ws_url,
            **{"recv_window_ms": RECV_WINDOW_MS, "connect_timeout_s": 2.0, **overrides},
        )
        gw = BinanceGateway(config, Credentials.hmac(API_KEY, API_SECRET), clock=clock)
        started.append(gw)
        await gw.start()
        return gw

    try:
        yield make
    finally:
        for gw in started:
            await gw.close()


class Stream:
    """Reads the gateway's stream until what a test waits for arrives."""

    def __init__(self, gw: BinanceGateway) -> None:
        self._it = gw.stream()
        self.seen: list[StreamMessage] = []

    async def _next(self) -> StreamMessage:
        msg = await asyncio.wait_for(anext(self._it), TIMEOUT_S)
        self.seen.append(msg)
        return msg

    async def next_gap(self) -> StreamGap:
        while not isinstance(msg := await self._next(), StreamGap):
            pass
        return msg

    async def order_update(self, cid: str, status: VenueOrderStatus) -> StreamItem:
        while True:
            msg = await self._next()
            if isinstance(msg, StreamItem) and _is_update(msg, cid, status):
                return msg


def _is_update(item: StreamItem, cid: str, status: VenueOrderStatus) -> bool:
    report = item.report
    return (
        isinstance(report, OrderStatusReport)
        and report.client_order_id == cid
        and report.status is status
    )


async def passive_price(gw: BinanceGateway, fraction: str = "0.97") -> Decimal:
    """A BUY price ``fraction`` of the mark: rests, and stays inside PERCENT_PRICE."""
    index = await gw.rest.call(PREMIUM_INDEX, [("symbol", SYM)], dict[str, Any])
    [inst] = [i for i in await gw.instruments() if i.symbol == SYM]
    return inst.round_price(Decimal(index["markPrice"]) * Decimal(fraction), PriceRounding.DOWN)


def limit(cid: str, price: Decimal, qty: str = "0.010") -> SubmitOrder:
    return SubmitOrder(
        ts_ns=0,
        client_order_id=ClientOrderId(cid),
        symbol=SYM,
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        quantity=Decimal(qty),
        price=price,
        time_in_force=TimeInForce.GTC,
    )


def query(cid: str) -> QueryOrder:
    return QueryOrder(ts_ns=0, client_order_id=ClientOrderId(cid), symbol=SYM)


# -- 1. clock skew ---------------------------------------------------------------------------------


async def test_clock_skew_resyncs_and_the_re_signed_retry_places_once(
    sim: Sim, make_gateway: MakeGateway
) -> None:
    gw = await make_gateway()
    price = await passive_price(gw)
    assert abs(gw.timesync.offset_ms) < 500
    # The venue's clock falls 3 s behind: our timestamps are now > 1 s ahead of it (-1021).
    await sim.admin.add({"kind": "clock_skew", "skew_ms": -3000})

    ack = await gw.submit(limit("skew-1", price))

    assert isinstance(ack, OrderStatusReport)
    assert ack.status is VenueOrderStatus.NEW
    assert -3500 < gw.timesync.offset_ms < -2500  # re-synced from /fapi/v1/time
    assert gw.errors.calls("POST /fapi/v1/order") == 2  # refused with -1021, then re-signed
    assert gw.error_rate("POST /fapi/v1/order") == 0.5
    assert len(sim.venue.orders_with_id(SYM, "skew-1")) == 1  # one order, not two
    # Later requests are signed with the new offset and pass at once.
    assert isinstance(await gw.query(query("skew-1")), OrderStatusReport)
    assert gw.errors.calls("GET /fapi/v1/order") == 1


async def test_clock_skew_over_the_ws_api_resyncs_too(sim: Sim, make_gateway: MakeGateway) -> None:
    gw = await make_gateway(order_transport=OrderTransport.WS_API)
    price = await passive_price(gw)
    await sim.admin.add({"kind": "clock_skew", "skew_ms": -3000})

    ack = await gw.submit(limit("ws-skew-1", price))

    assert isinstance(ack, OrderStatusReport)
    assert len(sim.venue.orders_with_id(SYM, "ws-skew-1")) == 1


# -- 2. 429 and 418 --------------------------------------------------------------------------------


async def test_a_429_burst_cools_down_and_lowers_the_throttle(
    sim: Sim, make_gateway: MakeGateway
) -> None:
    clock = JumpClock()
    gw = await make_gateway(clock)
    price = await passive_price(gw)
    before = gw.rate_state()
    assert (before.throttle_factor, before.cooldown_until_ns) == (1.0, 0)
    await sim.admin.add(
        {"kind": "rate_limit", "match": "POST /fapi/v1/order", "count": 3, "retry_after_s": 2}
    )

    # Three orders sent at once, three 429s with Retry-After: 2.
    results = await asyncio.gather(
        *(gw.submit(limit(f"rl-{n}", price)) for n in range(3)), return_exceptions=True
    )
    assert all(isinstance(r, RateLimited) and r.retry_after_ms == 2000 for r in results), results
    assert len(await sim.admin.log(kind="rate_limit")) == 3
    state = gw.rate_state()
    assert state.cooldown_until_ns >= clock.monotonic_ns() + NANOS_PER_SECOND
    assert state.throttle_factor == 0.125  # halved per 429, down to the floor
    assert not state.halted

    # While cooling down nothing is sent: a new order fails locally.
    with pytest.raises(RateBudgetExceededError):
        await gw.submit(limit("rl-cool", price))
    assert gw.errors.calls("POST /fapi/v1/order") == 3

    # After the Retry-After the gateway sends again, still at the lowered share of the pools.
    clock.jump(2 * NANOS_PER_SECOND)
    ack = await gw.submit(limit("rl-after", price))
    assert isinstance(ack, OrderStatusReport)
    assert gw.rate_state().throttle_factor == 0.125
    assert len(await sim.admin.log(kind="rate_limit")) == 3
    held = {o["clientOrderId"] for o in sim.venue.all_orders(SYM)}
    assert held == {"rl-after"}


async def test_a_418_ban_halts_sending_until_it_expires(
    sim: Sim, make_gateway: MakeGateway
) -> None:
    clock = JumpClock()
    gw = await make_gateway(clock)
    price = await passive_price(gw)
    [rule] = await sim.admin.add({"kind": "ban", "match": "* /fapi/v1/order", "for_ms": 60_000})

    with pytest.raises(IpBanned):
        await gw.submit(limit("ban-1", price))
    state = gw.rate_state()
    assert state.halted
    assert state.halted_until_ns is not None
    assert state.halted_until_ns >= clock.monotonic_ns() + 59 * NANOS_PER_SECOND

    # Halted: every request fails locally, nothing reaches the venue (the rule would log it).
    with pytest.raises(SendingHaltedError):
        await gw.submit(limit("ban-2", price))
    with pytest.raises(SendingHaltedError):
        await gw.query(query("ban-1"))
    assert len(await sim.admin.log(kind="ban")) == 1
    assert sim.venue.all_orders(SYM) == []

    # The ban runs out (our clock passes Retry-After; the venue lifts it): sending resumes.
    await sim.admin.remove(rule)
    clock.jump(60 * NANOS_PER_SECOND)
    ack = await gw.submit(limit("ban-3", price))
    assert isinstance(ack, OrderStatusReport)
    assert not gw.rate_state().halted
    assert [o["clientOrderId"] for o in sim.venue.all_orders(SYM)] == ["ban-3"]


# -- 3. unknown outcomes ---------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["unknown", "unknown_nocode"])
@pytest.mark.parametrize("placed", [True, False], ids=["placed", "not-placed"])
async def test_unknown_503_is_resolved_without_a_duplicate(
    sim: Sim, make_gateway: MakeGateway, variant: str, placed: bool
) -> None:
    gw = await make_gateway()
    price = await passive_price(gw)
    cid = f"unk-{variant}-{placed}"
    await sim.admin.add(
        {"kind": "http_error", "match": "POST /fapi/v1/order", "variant": variant, "count": 1,
         "placed_probability": 1.0 if placed else 0.0}
    )  # fmt: skip

    with pytest.raises(OutcomeUnknown) as info:
        await gw.submit(limit(cid, price))
    assert info.value.sent_timestamp_ms is not None
    assert gw.errors.calls("POST /fapi/v1/order") == 1  # an unknown outcome is never re-sent
    [fault] = await sim.admin.log(kind="http_error")
    assert fault["executed"] is placed
    assert fault.get("outcome") == (200 if placed else None)

    found = await gw.resolve_unknown(SYM, ClientOrderId(cid))

    on_venue = sim.venue.orders_with_id(SYM, cid)
    if placed:
        assert isinstance(found, OrderStatusReport)
        assert found.status is VenueOrderStatus.NEW
        assert found.client_order_id == cid
        [order] = on_venue
        assert int(found.venue_order_id) == order["orderId"]
    else:
        assert isinstance(found, OrderNotFoundReport)
        assert on_venue == []


async def test_service_unavailable_is_retried_and_places_exactly_once(
    sim: Sim, make_gateway: MakeGateway
) -> None:
    gw = await make_gateway()
    price = await passive_price(gw)
    await sim.admin.add(
        {"kind": "http_error", "match": "POST /fapi/v1/order", "variant": "unavailable", "count": 2}
    )

    ack = await gw.submit(limit("unavail-1", price))

    assert isinstance(ack, OrderStatusReport)
    assert ack.status is VenueOrderStatus.NEW
    faults = await sim.admin.log(kind="http_error")
    assert [(f["status"], f["code"], f["executed"]) for f in faults] == [(503, -1001, False)] * 2
    assert gw.errors.calls("POST /fapi/v1/order") == 3  # two refusals, then the schedule's retry
    assert len(sim.venue.orders_with_id(SYM, "unavail-1")) == 1


async def test_stale_reads_do_not_make_an_existing_order_not_found(
    sim: Sim, make_gateway: MakeGateway
) -> None:
    gw = await make_gateway()
    price = await passive_price(gw)
    await sim.admin.add(
        {"kind": "http_error", "match": "POST /fapi/v1/order", "variant": "unknown", "count": 1,
         "placed_probability": 1.0},
        {"kind": "stale_reads", "window_ms": 300},
    )  # fmt: skip
    with pytest.raises(OutcomeUnknown):
        await gw.submit(limit("stale-1", price))

    found = await gw.resolve_unknown(SYM, ClientOrderId("stale-1"))

    assert isinstance(found, OrderStatusReport)
    assert found.status is VenueOrderStatus.NEW
    # The first query did see the order hidden (-2013) ...
    [hidden] = await sim.admin.log(kind="stale_reads")
    assert hidden["order"] == int(found.venue_order_id)
    # ... and there is exactly the one order.
    assert len(sim.venue.orders_with_id(SYM, "stale-1")) == 1


# -- 4. and 5. the user stream ---------------------------------------------------------------------


async def test_user_stream_disconnect_reconnects_with_a_gap(
    sim: Sim, make_gateway: MakeGateway
) -> None:
    gw = await make_gateway()
    stream = Stream(gw)
    first = await stream.next_gap()
    assert first.epoch == 1
    price = await passive_price(gw)

    assert await sim.admin.disconnect("user") == 1

    gap = await stream.next_gap()
    assert gap.epoch == 2
    assert gap.down_since_ns is not None
    assert gap.ts_ns >= gap.down_since_ns
    await gw.submit(limit("gap-1", price))
    item = await stream.order_update("gap-1", VenueOrderStatus.NEW)
    assert item.epoch == 2


async def test_listen_key_expiry_gets_a_new_key_and_a_gap(
    sim: Sim, make_gateway: MakeGateway
) -> None:
    gw = await make_gateway()
    assert gw.userstream is not None
    stream = Stream(gw)
    await stream.next_gap()
    old_key = gw.userstream.lifecycle.key
    price = await passive_price(gw)

    assert await sim.admin.expire_listen_keys(API_KEY) == [old_key]

    gap = await stream.next_gap()
    assert gap.epoch == 2
    assert gap.reason == "listenKeyExpired"
    new_key = gw.userstream.lifecycle.key
    assert new_key is not None
    assert new_key != old_key
    assert sim.server.exchange.listen_key_owner(new_key) == API_KEY
    await gw.submit(limit("lk-1", price))
    item = await stream.order_update("lk-1", VenueOrderStatus.NEW)
    assert item.epoch == 2


# -- 6. the WebSocket API --------------------------------------------------------------------------


async def test_ws_api_place_amend_cancel(sim: Sim, make_gateway: MakeGateway) -> None:
    gw = await make_gateway(order_transport=OrderTransport.WS_API)
    assert gw.wsapi is not None
    assert gw.wsapi.connected
    price = await passive_price(gw)

    ack = await gw.submit(limit("ws-1", price))
    assert isinstance(ack, OrderStatusReport)
    assert ack.status is VenueOrderStatus.NEW
    new_price = await passive_price(gw, "0.96")
    amended = await gw.amend(
        AmendOrder(ts_ns=0, client_order_id=ClientOrderId("ws-1"), symbol=SYM, side=Side.BUY,
                   quantity=Decimal("0.010"), price=new_price)
    )  # fmt: skip
    assert amended.price == new_price
    cancelled = await gw.cancel(CancelOrder(ts_ns=0, client_order_id=ClientOrderId("ws-1"),
                                            symbol=SYM))  # fmt: skip
    assert isinstance(cancelled, OrderStatusReport)
    assert cancelled.status is VenueOrderStatus.CANCELED

    for method in ("order.place", "order.modify", "order.cancel"):
        assert gw.errors.calls(method) == 1, method
    for endpoint in ("POST", "PUT", "DELETE"):
        assert gw.errors.calls(f"{endpoint} /fapi/v1/order") == 0  # no REST fallback
    [order] = sim.venue.orders_with_id(SYM, "ws-1")
    assert (order["status"], Decimal(order["price"])) == ("CANCELED", new_price)


async def test_ws_api_drop_with_a_request_in_flight_is_an_unknown_outcome(
    sim: Sim, make_gateway: MakeGateway
) -> None:
    gw = await make_gateway(order_transport=OrderTransport.WS_API)
    assert gw.wsapi is not None
    assert gw.wsapi.connected
    price = await passive_price(gw)
    # The next frame the WS API sends (the reply to our order) cuts the connection instead.
    await sim.admin.add({"kind": "ws_disconnect", "target": "wsapi", "count": 1})

    with pytest.raises(OutcomeUnknown) as info:
        await gw.submit(limit("ws-cut", price))
    assert info.value.sent_timestamp_ms is not None
    [cut] = await sim.admin.log(kind="ws_disconnect")
    assert cut["target"] == "wsapi"

    found = await gw.resolve_unknown(SYM, ClientOrderId("ws-cut"))

    assert isinstance(found, OrderStatusReport)  # it had executed before the reply was lost
    assert found.status is VenueOrderStatus.NEW
    assert len(sim.venue.orders_with_id(SYM, "ws-cut")) == 1
    # The WS API is back for the next order.
    await asyncio.wait_for(gw.wsapi.wait_connected(), TIMEOUT_S)
    assert gw.wsapi.connections == 2
    assert isinstance(await gw.submit(limit("ws-next", price)), OrderStatusReport)
    assert gw.errors.calls("order.place") == 2
