"""The gateway against the simulator (``mmoms.sim``), over real sockets on loopback.

Happy paths only: place / modify / query / cancel, fills, user-stream events, reconnect with a
gap signal. Fault injection (clock skew, 429, unknown outcomes) waits for the simulator's fault
hooks; the gateway's handling of those is unit-tested with fake transports.

Parts the simulator does not serve yet (conditional orders via ``/fapi/v1/algoOrder``, the WS
API ``/ws-fapi/v1``) are skipped with a reason, and run as soon as it does.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
import pytest_asyncio

from mmoms.core.commands import AmendOrder, CancelOrder, QueryOrder, SubmitOrder
from mmoms.core.enums import OrderType, Side, TimeInForce, VenueOrderStatus
from mmoms.core.ids import ClientOrderId, Symbol
from mmoms.core.instrument import PriceRounding
from mmoms.core.reports import FillReport, OrderNotFoundReport, OrderStatusReport
from mmoms.venues.binance import BinanceConfig, BinanceGateway, Credentials, OrderTransport
from mmoms.venues.binance.endpoints import Endpoint, OpKind, Security
from mmoms.venues.errors import Rejected
from mmoms.venues.gateway import StreamGap, StreamItem, StreamMessage

API_KEY = "gwtestkey0123456789"
API_SECRET = "gwtestsecret0123456789"
SYM = Symbol("BTCUSDC")
PREMIUM_INDEX = Endpoint("GET", "/fapi/v1/premiumIndex", Security.NONE, OpKind.QUERY, 1)
TIMEOUT_S = 30


@dataclass
class Sim:
    exchange: Any
    rest_url: str
    ws_url: str


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[Sim]:
    from mmoms.sim.clock import LiveSimClock
    from mmoms.sim.config_model import AccountConfig, SimConfig
    from mmoms.sim.exchange import SimExchange
    from mmoms.sim.server import start_server

    clock = LiveSimClock()
    account = AccountConfig(
        api_key=API_KEY, api_secret=API_SECRET, balances={"USDC": "100000", "USDT": "100000"}
    )
    exchange = SimExchange(clock, SimConfig(accounts=(account,), seed=7))
    server = await start_server("127.0.0.1", 0, exchange, clock)
    try:
        yield Sim(exchange, server.rest_url, server.ws_url)
    finally:
        await server.close()


@pytest_asyncio.fixture
async def gateway(sim: Sim) -> AsyncIterator[BinanceGateway]:
    gw = BinanceGateway(
        BinanceConfig.local(sim.rest_url, sim.ws_url), Credentials.hmac(API_KEY, API_SECRET)
    )
    await gw.start()
    try:
        yield gw
    finally:
        await gw.close()


class Stream:
    """Reads the gateway's stream until what a test waits for arrives."""

    def __init__(self, gw: BinanceGateway) -> None:
        self._it = gw.stream()
        self.seen: list[StreamMessage] = []

    async def next_gap(self) -> StreamGap:
        while True:
            msg = await asyncio.wait_for(anext(self._it), TIMEOUT_S)
            self.seen.append(msg)
            if isinstance(msg, StreamGap):
                return msg

    async def order_update(self, cid: str, status: VenueOrderStatus, **match: Any) -> StreamItem:
        while True:
            msg = await asyncio.wait_for(anext(self._it), TIMEOUT_S)
            self.seen.append(msg)
            if isinstance(msg, StreamItem) and isinstance(msg.report, OrderStatusReport):
                r = msg.report
                wanted = r.client_order_id == cid and r.status is status
                if wanted and all(getattr(r, k) == v for k, v in match.items()):
                    return msg

    def fills(self, cid: str) -> list[FillReport]:
        return [
            m.report
            for m in self.seen
            if isinstance(m, StreamItem)
            and isinstance(m.report, FillReport)
            and m.report.client_order_id == cid
        ]


async def passive_price(gw: BinanceGateway, fraction: str) -> Decimal:
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


pytestmark = pytest.mark.asyncio


async def test_start_emits_the_first_gap_and_loads_instruments(gateway: BinanceGateway) -> None:
    stream = Stream(gateway)
    gap = await stream.next_gap()
    assert gap.epoch == 1
    assert gap.down_since_ns is None
    symbols = {i.symbol for i in await gateway.instruments()}
    assert SYM in symbols
    assert gateway.timesync.synced


async def test_place_modify_query_cancel(gateway: BinanceGateway) -> None:
    stream = Stream(gateway)
    await stream.next_gap()
    price = await passive_price(gateway, "0.97")
    ack = await gateway.submit(limit("int-1", price))
    assert isinstance(ack, OrderStatusReport)
    assert ack.status is VenueOrderStatus.NEW
    assert ack.client_order_id == "int-1"
    new = await stream.order_update("int-1", VenueOrderStatus.NEW)
    assert new.epoch == 1

    new_price = await passive_price(gateway, "0.96")
    amended = await gateway.amend(
        AmendOrder(
            ts_ns=0,
            client_order_id=ClientOrderId("int-1"),
            symbol=SYM,
            side=Side.BUY,
            quantity=Decimal("0.010"),
            price=new_price,
            venue_order_id=ack.venue_order_id,
        )
    )
    assert amended.amended
    assert amended.price == new_price
    await stream.order_update("int-1", VenueOrderStatus.NEW, amended=True)

    queried = await gateway.query(
        QueryOrder(ts_ns=0, client_order_id=ClientOrderId("int-1"), symbol=SYM)
    )
    assert isinstance(queried, OrderStatusReport)
    assert queried.price == new_price
    snapshot = await gateway.open_orders([SYM])
    assert [o.client_order_id for o in snapshot.orders] == ["int-1"]

    cancelled = await gateway.cancel(
        CancelOrder(ts_ns=0, client_order_id=ClientOrderId("int-1"), symbol=SYM)
    )
    assert isinstance(cancelled, OrderStatusReport)
    assert cancelled.status is VenueOrderStatus.CANCELED
    await stream.order_update("int-1", VenueOrderStatus.CANCELED)
    # A second cancel finds the order final and answers with its state.
    again = await gateway.cancel(
        CancelOrder(ts_ns=0, client_order_id=ClientOrderId("int-1"), symbol=SYM)
    )
    assert isinstance(again, OrderStatusReport)
    assert again.status is VenueOrderStatus.CANCELED
    assert (await gateway.open_orders([SYM])).orders == ()


async def test_market_order_fills_on_the_stream_and_moves_the_position(
    gateway: BinanceGateway,
) -> None:
    stream = Stream(gateway)
    await stream.next_gap()
    cmd = SubmitOrder(ts_ns=0, client_order_id=ClientOrderId("int-mkt"), symbol=SYM, side=Side.BUY,
                      order_type=OrderType.MARKET, quantity=Decimal("0.010"))  # fmt: skip
    await gateway.submit(cmd)
    done = await stream.order_update("int-mkt", VenueOrderStatus.FILLED)
    assert done.report.filled_qty == Decimal("0.010")  # type: ignore[union-attr]
    fills = stream.fills("int-mkt")
    assert sum(f.last_qty for f in fills) == Decimal("0.010")
    assert len({f.trade_id for f in fills}) == len(fills)
    positions = {p.symbol: p for p in await gateway.positions()}
    assert positions[SYM].quantity == Decimal("0.010")
    balances = {b.asset: b for b in await gateway.balances()}
    assert "USDC" in balances


async def test_reconnect_emits_a_gap_with_a_new_epoch(gateway: BinanceGateway) -> None:
    stream = Stream(gateway)
    await stream.next_gap()
    assert gateway.userstream is not None
    await gateway.userstream.drop_connection()
    gap = await stream.next_gap()
    assert gap.epoch == 2
    assert gap.down_since_ns is not None
    price = await passive_price(gateway, "0.97")
    await gateway.submit(limit("int-2", price))
    item = await stream.order_update("int-2", VenueOrderStatus.NEW)
    assert item.epoch == 2


async def test_client_ids_with_every_allowed_character(gateway: BinanceGateway) -> None:
    cid = "A.b:c/d_e-f9"  # every character Binance allows; ":" and "/" go percent-encoded
    price = await passive_price(gateway, "0.97")
    ack = await gateway.submit(limit(cid, price))
    assert ack.client_order_id == cid
    by_id = await gateway.query_order(SYM, ClientOrderId(cid), getattr(ack, "venue_order_id", None))
    assert isinstance(by_id, OrderStatusReport)
    assert by_id.client_order_id == cid
    done = await gateway.cancel(
        CancelOrder(ts_ns=0, client_order_id=ClientOrderId(cid), symbol=SYM)
    )
    assert isinstance(done, OrderStatusReport)
    assert done.status is VenueOrderStatus.CANCELED


async def test_rejections_and_not_found(gateway: BinanceGateway) -> None:
    price = await passive_price(gateway, "0.97")
    with pytest.raises(Rejected):
        await gateway.submit(limit("int-tiny", price, qty="0.0001"))  # under the lot size
    missing = await gateway.resolve_unknown(SYM, ClientOrderId("never-sent"))
    assert isinstance(missing, OrderNotFoundReport)


async def test_conditional_order_via_algo_service(sim: Sim, gateway: BinanceGateway) -> None:
    if "POST /fapi/v1/algoOrder" not in sim.exchange.endpoints:
        pytest.skip("the simulator does not serve /fapi/v1/algoOrder yet")
    price = await passive_price(gateway, "0.90")
    stop = SubmitOrder(ts_ns=0, client_order_id=ClientOrderId("int-stop"), symbol=SYM,
                       side=Side.SELL, order_type=OrderType.STOP_MARKET,
                       quantity=Decimal("0.010"), trigger_price=price)  # fmt: skip
    report = await gateway.submit(stop)
    assert isinstance(report, OrderStatusReport)
    cancelled = await gateway.cancel(
        CancelOrder(ts_ns=0, client_order_id=ClientOrderId("int-stop"), symbol=SYM)
    )
    assert isinstance(cancelled, OrderStatusReport)


async def test_orders_over_the_ws_api(sim: Sim) -> None:
    config = BinanceConfig.local(
        sim.rest_url, sim.ws_url, order_transport=OrderTransport.WS_API, connect_timeout_s=1.0
    )
    gw = BinanceGateway(config, Credentials.hmac(API_KEY, API_SECRET))
    await gw.start()
    try:
        if gw.wsapi is None or not gw.wsapi.connected:
            pytest.skip("the simulator does not serve the WS API (/ws-fapi/v1) yet")
        price = await passive_price(gw, "0.97")
        ack = await gw.submit(limit("int-ws", price))
        assert isinstance(ack, OrderStatusReport)
        assert gw.errors.calls("order.place") == 1
        cancelled = await gw.cancel(
            CancelOrder(ts_ns=0, client_order_id=ClientOrderId("int-ws"), symbol=SYM)
        )
        assert isinstance(cancelled, OrderStatusReport)
        assert cancelled.status is VenueOrderStatus.CANCELED
    finally:
        await gw.close()
