"""The live view, rendered from a real engine (the in-memory venue of tests/strategy): whole
client ids, each order's age and distance from the touch, a stop's trigger against the mark, the
tape of fills with their strategy, PnL per strategy and symbol, and the latency stage that
includes the batching window labelled as such. Plus the pure pieces (distance, age) exactly."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal as D

import pytest
import pytest_asyncio
from rich.console import Console

import mmoms
from mmoms.app.tape import FillTape
from mmoms.app.view import render, stage_label, summary_lines
from mmoms.app.view_tables import fmt_age, orders_table, touch_distance
from mmoms.contingent import bracket
from mmoms.core.enums import LiquiditySide, OrderStatus, OrderType, Side
from mmoms.core.events import OrderAccepted
from mmoms.core.ids import ClientOrderId, StrategyId, Symbol, TradeId, VenueOrderId
from mmoms.core.ledger import Fill
from mmoms.core.market import MarketState, MarketUpdate
from mmoms.core.order import Order
from mmoms.engine.oms import OrderManager
from mmoms.strategy.host import StrategyHost
from tests.engine.fake_gateway import SYM
from tests.strategy.harness import Node, start

WINDOW_S = 0.002  # the harness engine's batch window


class Idle(mmoms.Strategy):
    symbols = ("BTCUSDC",)


@dataclass
class Watching:
    """The node-like object the view reads, around the test harness's engine."""

    oms: OrderManager | None
    market: MarketState
    hosts: Sequence[StrategyHost]
    tape: FillTape
    symbols: tuple[Symbol, ...] = (SYM,)
    batch_window_s: float = WINDOW_S
    failures: list[str] = field(default_factory=list)


@pytest_asyncio.fixture
async def node() -> AsyncIterator[Node]:
    n = await start(("mm", Idle()))
    yield n
    if not n.run_task.done():
        await n.stop()


def frame(watching: Watching) -> str:
    console = Console(record=True, width=200)
    console.print(render(watching, 12.5, title="mmoms test"))
    return console.export_text()


def row(text: str, needle: str) -> str:
    """The rendered line holding ``needle`` (exactly one)."""
    lines = [line for line in text.splitlines() if needle in line]
    assert len(lines) == 1, (needle, text)
    return lines[0]


def status(node: Node, cid: str) -> OrderStatus | None:
    order = node.oms.book.get(SYM, ClientOrderId(cid))
    return None if order is None else order.status


AGE = r"\d+ ms|\d+\.\d s"


@pytest.mark.asyncio
async def test_the_view_shows_orders_stops_the_tape_pnl_and_the_window(node: Node) -> None:
    tape = FillTape()
    node.oms.add_listener(tape.hear)
    watching = Watching(node.oms, node.market, list(node.router.hosts.values()), tape)
    node.tick("95000.0", "95001.0")
    node.mark("95000.5")
    host = node.host("mm")
    quote = host.place(symbol=SYM, side=Side.BUY, quantity=D("0.01"), price=D("94990.0"))
    host.place_group(
        bracket(
            "b1",
            SYM,
            Side.BUY,
            D("0.01"),
            entry_price=D("94995.0"),
            take_profit_price=D("96000.0"),
            stop_price=D("94000.0"),
        )
    )
    await node.until(lambda: status(node, quote) is status(node, "b1-entry") is OrderStatus.NEW)
    node.venue.fill(ClientOrderId("b1-entry"), D("0.01"))
    await node.until(lambda: status(node, "b1-sl") is OrderStatus.NEW and len(tape) == 1)
    view = host.order(ClientOrderId("b1-sl"))
    assert view is not None
    assert view.trigger_price == D("94000.0")  # the strategy's view has it too
    assert view in host.open_orders()

    text = frame(watching)
    bid = row(text, quote)  # the whole id, as `mmoms replay --order` takes it
    assert re.search(r"\bmm\s+BUY\s+LIMIT\s+94990\.0+\s+0\.010?\s+NEW\b", bid), bid
    assert re.search(AGE, bid), bid
    assert "100 t  1.05 bps" in bid  # 95000.0 - 94990.0 = 100 ticks of 0.1
    take_profit = row(text, "b1-tp ")
    assert "9990 t  105.16 bps" in take_profit  # an ask: above the best ask 95001.0
    sl = row(text, "b1-sl ")
    assert re.search(r"SELL\s+STOP_MARKET\s+trigger 94000\.0\s+0\.01\s+NEW", sl), sl
    assert "10005 t  105.32 bps (mark)" in sl  # the mark 95000.5 must fall 1000.5
    assert "position 0.01  open orders 3" in text

    fill_line = row(text, "b1-entry")  # on the tape, with whose fill it was
    assert re.search(r"\bmm\s+BTCUSDC\s+BUY\s+0\.01\s+94995\.0\b", fill_line), fill_line
    assert "tape: last 1 of 1 fills" in text
    pnl = re.search(r"\bmm\s+BTCUSDC\s+0\.01\s+94995\.00\s+95000\.50\s+0\.0000\s+0\.0550", text)
    assert pnl is not None, text  # position, entry, mark, realized, unrealized (0.01 x 5.5)

    assert "decide (incl. 2 ms batching window)" in text
    assert "b1 (mm) TRIGGERED: entry DONE, sl LIVE, tp LIVE" in text
    assert "alerts" in text

    narrow = Console(record=True, width=100)
    narrow.print(render(watching, 1.0))
    stacked = narrow.export_text()
    for cid in (quote, "b1-sl", "b1-tp", "b1-entry"):
        assert re.search(rf"(^|\s){re.escape(cid)}(\s|$)", stacked, re.M), (cid, stacked)
    assert "batching window" in stacked

    lines = summary_lines(
        node.oms, node.market.pairs(), (SYM,), watching.hosts, batch_window_s=0.002
    )
    assert "BTCUSDC: fills 1" in lines[1]
    assert any("includes the 2 ms batching window" in line for line in lines)


def order(
    cid: str, side: Side, price: str | None, *, kind: OrderType = OrderType.LIMIT,
    trigger: str | None = None, created_ns: int = 0,
) -> Order:  # fmt: skip
    return Order(
        client_order_id=ClientOrderId(cid),
        symbol=SYM,
        side=side,
        order_type=kind,
        quantity=D(1),
        price=None if price is None else D(price),
        status=OrderStatus.NEW,
        strategy_id=StrategyId("mm"),
        created_ns=created_ns,
        trigger_price=None if trigger is None else D(trigger),
    )


TOP = MarketUpdate(symbol=SYM, bid=D("100.0"), ask=D("100.2"), bid_qty=D(1), ask_qty=D(1))
TICK = D("0.1")


@pytest.mark.parametrize(
    ("o", "ticks", "bps"),
    [
        (order("b", Side.BUY, "99.5"), D(5), D(50)),  # 0.5 below the best bid 100.0
        (order("b", Side.BUY, "100.0"), D(0), D(0)),  # at the touch
        (order("a", Side.SELL, "100.4"), D(2), D("19.96")),  # 0.2 above the best ask 100.2
        # stops against the mark 101: a sell stop waits for a fall, a buy stop for a rise
        (order("s", Side.SELL, None, kind=OrderType.STOP_MARKET, trigger="99.0"), D(20), D(198)),
        (order("s", Side.BUY, None, kind=OrderType.STOP_MARKET, trigger="101.5"), D(5), D(50)),
        (order("t", Side.SELL, None, kind=OrderType.TAKE_PROFIT_MARKET, trigger="102"), 10, 99),
    ],
)
def test_distance_from_the_touch_and_to_the_trigger(o: Order, ticks: D, bps: D) -> None:
    d = touch_distance(o, TOP, D(101), TICK)
    assert d is not None
    assert d.ticks == ticks
    assert round(d.bps) == round(bps)
    assert d.reference == ("mark" if o.order_type.is_conditional else "touch")


def test_no_distance_without_something_to_measure_from() -> None:
    assert touch_distance(order("b", Side.BUY, "99"), None, D(101), TICK) is None
    assert (
        touch_distance(order("m", Side.BUY, None, kind=OrderType.MARKET), TOP, None, TICK) is None
    )
    stop = order("s", Side.SELL, None, kind=OrderType.STOP_MARKET, trigger="99")
    assert touch_distance(stop, TOP, None, TICK) is None  # no mark yet
    trailing = order("t", Side.SELL, None, kind=OrderType.TRAILING_STOP_MARKET, trigger="99")
    assert touch_distance(trailing, TOP, D(101), TICK) is None  # its trigger moves


@pytest.mark.parametrize(
    ("ns", "shown"),
    [(0, "0 ms"), (250_000_000, "250 ms"), (2_500_000_000, "2.5 s"), (125 * 10**9, "2m05s"),
     (3 * 3600 * 10**9 + 61 * 10**9, "3h01m"), (-5, "0 ms")],
)  # fmt: skip
def test_age_reads_in_the_unit_that_fits(ns: int, shown: str) -> None:
    assert fmt_age(ns) == shown


def test_the_orders_table_shows_age_from_creation_and_a_ladder() -> None:
    orders = [
        order("mm-bid", Side.BUY, "99.5", created_ns=1_000_000_000),
        order("mm-ask", Side.SELL, "100.4", created_ns=3_000_000_000),
        order("mm-stop", Side.SELL, None, kind=OrderType.STOP_MARKET, trigger="99.0"),
    ]
    table = orders_table(SYM, orders, top=TOP, mark=D(101), tick=TICK, now_ns=3_500_000_000,
                         position=D(0))  # fmt: skip
    console = Console(record=True, width=200)
    console.print(table)
    text = console.export_text()
    assert "2.5 s" in row(text, "mm-bid")
    assert "500 ms" in row(text, "mm-ask")
    assert "trigger 99.0" in row(text, "mm-stop")
    names = [n for n in re.findall(r"mm-\w+", text)]
    assert names == ["mm-ask", "mm-bid", "mm-stop"]  # asks above bids, conditionals last


def note(cid: str, ts_ns: int) -> Fill:
    return Fill(
        ts_ns=ts_ns, strategy_id=StrategyId("mm"), symbol=SYM, client_order_id=ClientOrderId(cid),
        trade_id=TradeId(ts_ns), side=Side.BUY, quantity=D(1), price=D(100), fee=D(0),
        fee_asset="USDC", liquidity=LiquiditySide.MAKER, realized_pnl=D(0), position=D(1),
    )  # fmt: skip


def test_the_tape_keeps_the_last_fills_newest_first() -> None:
    tape = FillTape(size=3)
    for i in range(5):
        tape.hear(note(f"c{i}", i))
        tape.hear(order_event(f"c{i}"))  # not a fill: ignored
    assert [f.client_order_id for f in tape.recent()] == ["c4", "c3", "c2"]
    assert (len(tape), tape.total) == (3, 5)


def order_event(cid: str) -> OrderAccepted:
    return OrderAccepted(
        ts_ns=0, client_order_id=ClientOrderId(cid), symbol=SYM, status=OrderStatus.NEW,
        venue_order_id=VenueOrderId(1),
    )  # fmt: skip


def test_the_decide_stage_says_it_holds_the_batching_window() -> None:
    assert stage_label("decide", 0.010) == "decide (incl. 10 ms batching window)"
    assert stage_label("decide", 0.0005) == "decide (incl. 0.5 ms batching window)"
    assert "window" not in stage_label("journal", 0.010)
