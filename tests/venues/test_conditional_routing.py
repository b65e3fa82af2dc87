"""Cancels and queries of conditional orders reach Binance's algo service by the caller's hint,
even from a gateway that never saw the order placed (a restarted process), against the
simulator over loopback.

Without the hint such a gateway asks the regular order endpoints, where a stop does not live:
"not found" — which the OMS would read as a stop that never existed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
import pytest_asyncio

from mmoms.core.commands import CancelOrder, QueryOrder, SubmitOrder
from mmoms.core.enums import OrderType, Side, TimeInForce, VenueOrderStatus
from mmoms.core.ids import ClientOrderId
from mmoms.core.reports import OrderNotFoundReport, OrderStatusReport
from mmoms.venues.binance import BinanceConfig, BinanceGateway, Credentials
from mmoms.venues.venue_reports import AlgoOrderReport, AlgoStatus
from tests.venues.test_sim_integration import (
    API_KEY,
    API_SECRET,
    SYM,
    Sim,
    limit,
    passive_price,
    sim,  # noqa: F401 -- the simulator fixture
)


def _gateway(s: Sim) -> BinanceGateway:
    return BinanceGateway(
        BinanceConfig.local(s.rest_url, s.ws_url, user_stream=False),
        Credentials.hmac(API_KEY, API_SECRET),
    )


@pytest_asyncio.fixture
async def placed(sim: Sim) -> AsyncIterator[tuple[BinanceGateway, Decimal]]:  # noqa: F811
    """Two stops and a limit order placed by one gateway, which is then closed (the process
    that placed them is gone); yields a fresh gateway and the limit's price."""
    if "POST /fapi/v1/algoOrder" not in sim.exchange.endpoints:
        pytest.skip("the simulator does not serve /fapi/v1/algoOrder")
    first = _gateway(sim)
    await first.start()
    try:
        trigger = await passive_price(first, "0.90")
        for cid in ("rt-stop1", "rt-stop2"):
            await first.submit(_stop(cid, trigger))
        await first.submit(limit("rt-limit", await passive_price(first, "0.97")))
    finally:
        await first.close()
    fresh = _gateway(sim)
    await fresh.start()
    try:
        yield fresh, trigger
    finally:
        await fresh.close()


def _stop(cid: str, trigger: Decimal) -> SubmitOrder:
    return SubmitOrder(
        ts_ns=0,
        client_order_id=ClientOrderId(cid),
        symbol=SYM,
        side=Side.SELL,
        order_type=OrderType.STOP_MARKET,
        quantity=Decimal("0.010"),
        trigger_price=trigger,
    )


def _query(cid: str) -> QueryOrder:
    return QueryOrder(ts_ns=0, client_order_id=ClientOrderId(cid), symbol=SYM)


def _cancel(cid: str, *, conditional: bool) -> CancelOrder:
    return CancelOrder(
        ts_ns=0, client_order_id=ClientOrderId(cid), symbol=SYM, conditional=conditional
    )


@pytest.mark.asyncio
async def test_a_fresh_gateway_queries_a_stop_it_never_saw_by_the_hint(
    placed: tuple[BinanceGateway, Decimal],
) -> None:
    gw, _ = placed
    assert not gw.algo.is_algo("rt-stop1")
    unhinted = await gw.query(_query("rt-stop1"))
    assert isinstance(unhinted, OrderNotFoundReport)  # why the hint exists
    found = await gw.query(_query("rt-stop1"), conditional=True)  # seen as an order
    assert isinstance(found, OrderStatusReport)
    assert (found.client_order_id, found.status) == ("rt-stop1", VenueOrderStatus.NEW)
    resolved = await gw.resolve_unknown(SYM, ClientOrderId("rt-stop2"), conditional=True)
    assert isinstance(resolved, OrderStatusReport)
    assert resolved.status is VenueOrderStatus.NEW


@pytest.mark.asyncio
async def test_a_fresh_gateway_cancels_a_stop_it_never_saw_by_the_hint(
    placed: tuple[BinanceGateway, Decimal],
) -> None:
    gw, _ = placed
    cancelled = await gw.cancel(_cancel("rt-stop1", conditional=True))
    assert isinstance(cancelled, OrderStatusReport)
    assert cancelled.status is VenueOrderStatus.CANCELED
    after = await gw.algo.query(SYM, ClientOrderId("rt-stop1"))  # the algo service's own view
    assert isinstance(after, AlgoOrderReport)
    assert after.status is AlgoStatus.CANCELED


@pytest.mark.asyncio
async def test_a_batch_cancel_splits_hinted_stops_from_regular_orders(
    placed: tuple[BinanceGateway, Decimal],
) -> None:
    gw, _ = placed
    results = await gw.cancel_batch(
        [_cancel("rt-stop2", conditional=True), _cancel("rt-limit", conditional=False)]
    )
    stop, regular = results
    assert isinstance(stop, OrderStatusReport)
    assert (stop.client_order_id, stop.status) == ("rt-stop2", VenueOrderStatus.CANCELED)
    assert isinstance(regular, OrderStatusReport)
    assert (regular.client_order_id, regular.status.value) == ("rt-limit", "CANCELED")


async def _triggered(gw: BinanceGateway, cid: str) -> AlgoOrderReport:
    """Poll the algo service (the market steps every 100 ms) until the stop has triggered."""
    for _ in range(200):
        report = await gw.algo.query(SYM, ClientOrderId(cid))
        assert isinstance(report, AlgoOrderReport)
        if report.status in (AlgoStatus.TRIGGERED, AlgoStatus.FINISHED):
            return report
        await asyncio.sleep(0.05)  # polling the venue's own 100 ms market step
    raise AssertionError(f"{cid} never triggered")


@pytest.mark.parametrize("batch", [False, True], ids=["cancel", "batch-cancel"])
@pytest.mark.asyncio
async def test_a_triggered_stop_limit_is_cancelled_as_the_order_it_placed(
    sim: Sim,  # noqa: F811
    batch: bool,
) -> None:
    # A BUY STOP whose trigger is just above the market and whose limit price is far below it:
    # once the market rises through the trigger, the order it places rests in the book. The
    # algo service no longer holds it; cancelling there would leave it open.
    gw = _gateway(sim)
    await gw.start()
    try:
        mark = await passive_price(gw, "1.0")
        rest_at = await passive_price(gw, "0.97")
        stop = SubmitOrder(ts_ns=0, client_order_id=ClientOrderId("rt-sl"), symbol=SYM,
                           side=Side.BUY, order_type=OrderType.STOP, quantity=Decimal("0.010"),
                           price=rest_at, trigger_price=mark + 5,
                           time_in_force=TimeInForce.GTC)  # fmt: skip
        assert isinstance(await gw.submit(stop), OrderStatusReport)
        sim.exchange.set_mid(SYM, str(mark + 100))
        triggered = await _triggered(gw, "rt-sl")
        assert triggered.actual_order_id
        cmd = CancelOrder(ts_ns=0, client_order_id=ClientOrderId("rt-sl"), symbol=SYM,
                          venue_order_id=triggered.actual_order_id, conditional=True)  # fmt: skip
        [result] = await gw.cancel_batch([cmd]) if batch else [await gw.cancel(cmd)]
        assert isinstance(result, OrderStatusReport)
        assert result.venue_order_id == triggered.actual_order_id
        assert result.status.value == "CANCELED"
        assert (await gw.open_orders([SYM])).orders == ()
    finally:
        await gw.close()
