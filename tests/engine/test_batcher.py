from decimal import Decimal as D

import msgspec
import pytest

from mmoms.core.commands import AmendOrder, CancelOrder, SubmitOrder
from mmoms.core.enums import OrderType, Side
from mmoms.core.ids import ClientOrderId, Symbol
from mmoms.engine.batcher import ActionBatcher, BatchLimits
from mmoms.venues.gateway import GatewayCapabilities

BTC, ETH = Symbol("BTCUSDC"), Symbol("ETHUSDC")


def new(cid: str, symbol: Symbol = BTC) -> SubmitOrder:
    return SubmitOrder(
        ts_ns=0,
        client_order_id=ClientOrderId(cid),
        symbol=symbol,
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        quantity=D(1),
        price=D(100),
    )


def cancel(cid: str, symbol: Symbol = BTC) -> CancelOrder:
    return CancelOrder(ts_ns=0, client_order_id=ClientOrderId(cid), symbol=symbol)


def amend(cid: str, price: str = "99") -> AmendOrder:
    return AmendOrder(
        ts_ns=0,
        client_order_id=ClientOrderId(cid),
        symbol=BTC,
        side=Side.BUY,
        quantity=D(1),
        price=D(price),
    )


def test_new_then_cancel_in_one_window_sends_nothing() -> None:
    b = ActionBatcher()
    b.add(new("a"))
    b.add(cancel("a"))
    assert b.drain() == []
    assert b.netted == 2


def test_last_amend_wins_and_cancel_supersedes_amend() -> None:
    b = ActionBatcher()
    b.add(amend("a", "99"))
    b.add(amend("a", "98"))
    b.add(amend("b"))
    b.add(cancel("b"))
    b.add(cancel("b"))
    flights = b.drain()
    kinds = [(f.kind.__name__, [a.client_order_id for a in f.actions]) for f in flights]
    assert kinds == [("CancelOrder", ["b"]), ("AmendOrder", ["a"])]
    amended = flights[1].actions[0]
    assert isinstance(amended, AmendOrder)
    assert amended.price == D(98)
    assert b.netted == 3


def test_cancels_go_first_and_batches_respect_limits() -> None:
    b = ActionBatcher(BatchLimits(cancels=2, amends=5, news=2))
    for i in range(5):
        b.add(new(f"n{i}"))
    for i in range(3):
        b.add(cancel(f"c{i}"))
    b.add(new("e0", ETH))
    flights = b.drain()
    assert [f.kind.__name__ for f in flights] == ["CancelOrder"] * 2 + ["SubmitOrder"] * 4
    assert [len(f.actions) for f in flights] == [2, 1, 2, 2, 1, 1]
    assert {f.symbol for f in flights if f.kind is SubmitOrder} == {BTC, ETH}
    assert len(b) == 0
    assert b.drain() == []


def test_queued_follows_the_new_orders_collected_per_symbol() -> None:
    b = ActionBatcher()
    b.add(new("n1"))
    b.add(msgspec.structs.replace(new("n2"), side=Side.SELL, quantity=D(3)))
    b.add(msgspec.structs.replace(new("n3"), reduce_only=True))  # an order, not exposure
    b.add(new("n4", ETH))
    q = b.queued(BTC)
    assert (q.orders, q.buy_qty, q.sell_qty) == (3, D(1), D(3))
    b.add(cancel("n1"))  # placed and canceled in the window: never sent, no longer counted
    q = b.queued(BTC)
    assert (q.orders, q.buy_qty, q.sell_qty) == (2, D(0), D(3))
    b.add(msgspec.structs.replace(new("n2"), side=Side.SELL, quantity=D(4)))  # replaced
    assert b.queued(BTC).sell_qty == D(4)
    b.drain()
    assert b.queued(BTC).orders == 0
    assert b.queued(ETH).orders == 0


def test_limits_are_the_venues_declared_batch_sizes() -> None:
    caps = GatewayCapabilities(
        venue="other",
        max_batch_submit=3,
        max_batch_amend=2,
        max_batch_cancel=4,
        supports_amend=True,
        stops_kept_apart=False,
        client_id_max_len=32,
        client_id_chars="abc0123456789-",
    )
    assert BatchLimits.of(caps) == BatchLimits(cancels=4, amends=2, news=3)
    b = ActionBatcher(BatchLimits.of(caps))
    for i in range(7):
        b.add(new(f"n{i}"))
        b.add(amend(f"a{i}"))
        b.add(cancel(f"c{i}"))
    sizes = [(f.kind.__name__, len(f.actions)) for f in b.drain()]
    assert sizes == [
        *[("CancelOrder", 4), ("CancelOrder", 3)],
        *[("AmendOrder", 2)] * 3 + [("AmendOrder", 1)],
        *[("SubmitOrder", 3)] * 2 + [("SubmitOrder", 1)],
    ]


def test_no_batch_limits_are_given_by_default() -> None:
    assert BatchLimits() == BatchLimits(cancels=1, amends=1, news=1)  # the venue declares more


@pytest.mark.parametrize("size", [0, 1])
def test_a_venue_without_batches_gets_one_action_per_request(size: int) -> None:
    b = ActionBatcher(BatchLimits(cancels=size, amends=size, news=size))
    for i in range(3):
        b.add(new(f"n{i}"))
        b.add(cancel(f"c{i}"))
    flights = b.drain()
    assert [len(f.actions) for f in flights] == [1] * 6
    assert [f.actions[0].client_order_id for f in flights] == [
        *(f"c{i}" for i in range(3)),
        *(f"n{i}" for i in range(3)),
    ]
