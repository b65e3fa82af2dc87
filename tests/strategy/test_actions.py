"""A strategy's actions are checked at the call: a bad argument raises there, nothing reaches
the engine, and the engine keeps running for everyone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal as D

import msgspec
import pytest
import pytest_asyncio

import mmoms
from mmoms.core.enums import OrderStatus
from mmoms.journal.recovery import recover

from .harness import Node, start


class Recorder(mmoms.Strategy):
    symbols = ("BTCUSDC",)

    def __init__(self) -> None:
        self.events: list[mmoms.OrderEvent] = []
        self.fills: list[mmoms.Fill] = []
        self.rejections: list[mmoms.RiskRejection] = []

    def on_order(self, event: mmoms.OrderEvent) -> None:
        self.events.append(event)

    def on_fill(self, fill: mmoms.Fill) -> None:
        self.fills.append(fill)

    def on_risk_rejected(self, rejection: mmoms.RiskRejection) -> None:
        self.rejections.append(rejection)


@pytest_asyncio.fixture
async def node() -> AsyncIterator[Node]:
    n = await start(("a", Recorder()))
    n.tick("95000", "95001")
    yield n
    if not n.run_task.done():
        await n.stop()


def strategy(node: Node) -> Recorder:
    s = node.host("a").strategy
    assert isinstance(s, Recorder)
    return s


BUY, SELL = mmoms.Side.BUY, mmoms.Side.SELL
BAD_PLACES = [
    ({"price": 95000.5}, "price must be a Decimal (or int), not the float 95000.5"),
    ({"quantity": 0.01}, "quantity must be a Decimal (or int), not the float 0.01"),
    ({"quantity": "0.01"}, "not the string '0.01'"),
    ({"quantity": D(0)}, "quantity must be above zero"),
    ({"quantity": D("-1")}, "quantity must be above zero"),
    ({"quantity": D("NaN")}, "quantity must be a finite number"),
    ({"price": D("Infinity")}, "price must be a finite number"),
    ({"price": True}, "price must be a Decimal (or int), not bool"),
    ({"symbol": "ETHUSDC"}, "symbol 'ETHUSDC' is not traded here (traded: BTCUSDC)"),
    ({"symbol": 7}, "symbol must be a string, not int"),
    ({"side": "buy"}, "side must be one of BUY, SELL"),
    ({"order_type": "STOP_MARKET"}, "conditional orders (stops, take-profits) go in a contingent"),
    ({"price": None}, "a LIMIT order needs a price"),
    ({"order_type": "MARKET"}, "a MARKET order takes no price"),
    ({"time_in_force": "GTD"}, "GTD needs an expiry time"),
    ({"reduce_only": 1}, "reduce_only must be True or False"),
    ({"tag": 5}, "tag must be a string"),
    ({"quantity": D("0.0001")}, "below"),  # the instrument's minimum (0.001)
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("change", "message"), BAD_PLACES, ids=[m for _, m in BAD_PLACES])
async def test_a_bad_place_raises_at_the_call_and_nothing_reaches_the_engine(
    node: Node, change: dict[str, object], message: str
) -> None:
    s = strategy(node)
    args: dict[str, object] = {"symbol": "BTCUSDC", "side": BUY, "quantity": D("0.01")}
    args["price"] = D(95000)
    args.update(change)
    queued = node.oms._queue.qsize()
    with pytest.raises(mmoms.InvalidOrderError) as info:
        s.place(**args)  # type: ignore[arg-type]
    assert message in str(info.value)
    assert node.oms._queue.qsize() == queued  # nothing was posted
    # ... and the engine is alive for the next, good order
    cid = s.place(symbol="BTCUSDC", side=BUY, quantity=D("0.01"), price=D(95000))
    await node.until(lambda: (o := s.order(cid)) is not None and o.status is OrderStatus.NEW)
    assert not node.run_task.done()


@pytest.mark.asyncio
async def test_floats_anywhere_in_quotes_amend_and_groups_raise_at_the_call(node: Node) -> None:
    s = strategy(node)
    with pytest.raises(mmoms.InvalidOrderError, match=r"levels\[1\].price must be a Decimal"):
        s.set_quotes(
            "BTCUSDC",
            [
                mmoms.QuoteLevel(side=BUY, price=D(94990), quantity=D("0.01")),
                mmoms.QuoteLevel(side=SELL, price=95010.0, quantity=D("0.01")),  # type: ignore[arg-type]
            ],
        )
    with pytest.raises(mmoms.InvalidOrderError, match=r"must be a mmoms\.QuoteLevel, not dict"):
        s.set_quotes("BTCUSDC", [{"side": "BUY"}])  # type: ignore[list-item]
    with pytest.raises(mmoms.InvalidOrderError, match="levels must be a list"):
        s.set_quotes("BTCUSDC", "BUY 1 @ 2")  # type: ignore[arg-type]
    cid = s.place(symbol="BTCUSDC", side=BUY, quantity=D("0.01"), price=D(94000))
    await node.until(lambda: (o := s.order(cid)) is not None and o.status is OrderStatus.NEW)
    with pytest.raises(mmoms.InvalidOrderError, match="price must be a Decimal"):
        s.amend(cid, price=94001.5)  # type: ignore[arg-type]
    with pytest.raises(mmoms.InvalidOrderError, match="take_profit_price must be a Decimal"):
        mmoms.bracket(
            s.new_group_id(), mmoms.Symbol("BTCUSDC"), BUY, D("0.01"),
            entry_price=D(94000), take_profit_price=96000.0, stop_price=D(93000),  # type: ignore[arg-type]
        )  # fmt: skip
    with pytest.raises(mmoms.InvalidOrderError, match="quantity must be a Decimal"):
        mmoms.limit(SELL, 0.01, D(96000))  # type: ignore[arg-type]
    # a group built by hand around the builders' checks is still checked at place_group()
    good = mmoms.oco(
        s.new_group_id(), mmoms.Symbol("BTCUSDC"),
        [mmoms.limit(SELL, D("0.01"), D(96000)), mmoms.limit(SELL, D("0.01"), D(97000))],
    )  # fmt: skip
    leg = good.legs[0]
    forged_leg = msgspec.structs.replace(
        leg, order=msgspec.structs.replace(leg.order, price=96000.0)
    )
    forged = msgspec.structs.replace(good, legs=(forged_leg, good.legs[1]))
    with pytest.raises(mmoms.InvalidOrderError, match="leg a price must be a Decimal"):
        s.place_group(forged)
    with pytest.raises(mmoms.InvalidOrderError, match="place_group\\(\\) takes a group built by"):
        s.place_group({"legs": []})  # type: ignore[arg-type]
    with pytest.raises(mmoms.InvalidOrderError, match="interval_s must be a number"):
        s.set_timer("t", "1")  # type: ignore[arg-type]
    # the engine took none of it and still works
    s.amend(cid, price=D(94001))
    await node.until(lambda: (o := s.order(cid)) is not None and o.price == D(94001))
    assert not node.run_task.done()


@pytest.mark.asyncio
async def test_a_float_through_the_engine_api_no_longer_kills_the_engine(node: Node) -> None:
    """The original report: OrderManager.place with a float price returned an id and killed the
    engine task; every later call returned as if nothing happened."""
    oms = node.oms
    with pytest.raises(mmoms.InvalidOrderError, match="price must be a Decimal"):
        oms.place(mmoms.StrategyId("a"), mmoms.Symbol("BTCUSDC"), BUY, D("0.01"), 95000.5)  # type: ignore[arg-type]
    cid = oms.place(mmoms.StrategyId("a"), mmoms.Symbol("BTCUSDC"), BUY, D("0.01"), D(94500))
    await node.until(lambda: oms.book.get(mmoms.Symbol("BTCUSDC"), cid) is not None)
    assert not node.run_task.done()


@pytest.mark.asyncio
async def test_cancel_and_amend_only_reach_the_strategy_s_own_orders() -> None:
    n = await start(("a", Recorder()), ("b", Recorder()))
    try:
        n.tick("95000", "95001")
        a, b = n.host("a").strategy, n.host("b").strategy
        theirs = b.place(symbol="BTCUSDC", side=BUY, quantity=D("0.01"), price=D(94000))
        await n.until(lambda: (o := b.order(theirs)) is not None and o.status is OrderStatus.NEW)
        assert a.order(theirs) is None  # not a's to see
        with pytest.raises(mmoms.InvalidOrderError, match=f"no order {theirs} of strategy a"):
            a.cancel(theirs)
        with pytest.raises(mmoms.InvalidOrderError, match="no order"):
            a.amend(theirs, price=D(94001))
        with pytest.raises(mmoms.InvalidOrderError, match="not a client order id"):
            a.cancel("has spaces in it")
        a.cancel_all()  # a's cancel-all leaves b's order alone
        mine = a.place(symbol="BTCUSDC", side=SELL, quantity=D("0.01"), price=D(96000))
        await n.until(lambda: (o := a.order(mine)) is not None and o.status is OrderStatus.NEW)
        a.cancel_all()
        await n.until(lambda: (o := a.order(mine)) is not None and o.status.is_terminal)
        view = b.order(theirs)
        assert view is not None
        assert view.status is OrderStatus.NEW
        assert [o.client_order_id for o in b.open_orders()] == [theirs]
        assert a.open_orders() == []
    finally:
        await n.stop()


@pytest.mark.asyncio
async def test_a_cancel_right_after_place_needs_no_round_trip(node: Node) -> None:
    """The order is not in the book yet when cancel() is called: the host knows where it is,
    the engine never sends it, and the strategy still hears how it ended."""
    s = strategy(node)
    cid = s.place(symbol="BTCUSDC", side=BUY, quantity=D("0.01"), price=D(94000))
    s.cancel(cid)
    await node.until(lambda: (o := s.order(cid)) is not None and o.status.is_terminal)
    assert node.venue.submitted == []  # never left
    view = s.order(cid)
    assert view is not None
    assert view.status is OrderStatus.CANCELED
    assert [type(e).__name__ for e in s.events if e.client_order_id == cid] == [
        "OrderCreated",
        "OrderCanceled",
    ]
    # a replay of the journal tells the same story
    state = await recover(node.oms._store)
    replayed = state.book.get(mmoms.Symbol("BTCUSDC"), cid)
    assert replayed is not None
    assert replayed.status is OrderStatus.CANCELED


@pytest.mark.asyncio
async def test_views_are_copies(node: Node) -> None:
    s = strategy(node)
    cid = s.place(symbol="BTCUSDC", side=BUY, quantity=D("0.01"), price=D(94000))
    await node.until(lambda: (o := s.order(cid)) is not None and o.status is OrderStatus.NEW)
    view = s.order(cid)
    assert view is not None
    with pytest.raises(AttributeError):
        view.price = D(1)  # type: ignore[misc]
    orders = s.open_orders()
    orders.clear()
    assert [o.client_order_id for o in s.open_orders()] == [cid]
    engine_order = node.oms.book.get(mmoms.Symbol("BTCUSDC"), cid)
    assert engine_order is not None
    assert view is not engine_order
    assert s.instrument("BTCUSDC").tick_size == D("0.1")
    with pytest.raises(AttributeError):
        s.instrument("BTCUSDC").tick_size = D(1)  # type: ignore[misc]


@pytest.mark.asyncio
async def test_an_unbound_strategy_says_so() -> None:
    with pytest.raises(mmoms.StrategyNotRunningError, match="Recorder is not running in a node"):
        Recorder().place(symbol="BTCUSDC", side=BUY, quantity=D(1), price=D(1))
