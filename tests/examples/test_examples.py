"""Every example runs against the simulator and does what its docstring says it shows.

These are real nodes (embedded simulator, Binance gateway over HTTP/WS, SQLite journal) run for a
few seconds each; the strategies are the files in ``examples/strategies``, loaded as a config
names them, watched through subclasses that only record."""

from __future__ import annotations

import itertools
from decimal import Decimal as D
from pathlib import Path

import mmoms
from mmoms.strategy.loader import load_strategy_class

from .nodes import EXAMPLES, config, run

STRATEGIES = EXAMPLES / "strategies"


def example(entry: str) -> type[mmoms.Strategy]:
    return load_strategy_class(f"{STRATEGIES / entry}")


def test_the_skewed_quoter_keeps_quotes_on_both_symbols_and_skews_with_inventory(
    tmp_path: Path,
) -> None:
    base = example("skewed_quoter.py:SkewedQuoter")

    class Watched(base):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            super().__init__()
            self.samples: list[dict[str, int]] = []
            self.fills_seen = 0
            self.running_position: dict[str, D] = {}
            self.gaps: list[str] = []  # a fill whose position does not follow from the ones before
            self.delivered: set[tuple[str, int]] = set()

        def on_timer(self, name: str) -> None:
            super().on_timer(name)
            self.samples.append({s: len(self.open_orders(s)) for s in self.trading_symbols()})

        def on_fill(self, fill: mmoms.Fill) -> None:
            self.fills_seen += 1
            self.delivered.add((fill.client_order_id, fill.trade_id))
            before = self.running_position.get(fill.symbol, D(0))
            after = self.running_position[fill.symbol] = before + fill.side.sign * fill.quantity
            if fill.position != after:
                self.gaps.append(f"{fill.symbol} {fill.trade_id}: {fill.position} != {after}")
            super().on_fill(fill)

    cfg = config("sim.toml")
    watched = Watched()
    status, node = run(cfg, tmp_path, 8.0, [(cfg.strategies[0], watched)])
    assert status == 0, node.failures
    after_warmup = watched.samples[10:]  # the first second: first prices, first quotes
    assert len(after_warmup) > 40
    # Quotes throughout: no symbol is bare at two refreshes in a row. (One refresh can catch a
    # symbol between a venue's refusal — a post-only quote the market crossed, a batch the
    # gateway held for rate — and the refresh that replaces it; a budget starving a symbol
    # left it bare for seconds.)
    bare = [
        (i, symbol)
        for i, (now, then) in enumerate(itertools.pairwise(after_warmup))
        for symbol in now
        if now[symbol] == 0 and then[symbol] == 0
    ]
    assert bare == [], f"bare at two refreshes in a row: {bare}"
    assert watched.fills_seen > 0
    for symbol in ("BTCUSDC", "ETHUSDC"):
        pnl = watched.pnl(symbol)
        assert pnl.position == watched.position(symbol)
        assert abs(pnl.position) <= watched.max_inventory[symbol]  # the skew held it
    assert watched.gaps == []  # every fill told once, in order, with the position after it
    assert node.oms is not None
    booked = {
        (o.client_order_id, f.trade_id)
        for o in node.oms.book.orders()
        if o.strategy_id == "mm"
        for f in o.fills
    }
    assert watched.delivered <= booked  # nothing invented; fills racing the stop are not told
    assert node.oms.book.open_orders() == []  # the stop cancelled everything


def test_widen_and_protect_puts_a_bracket_around_every_entry(tmp_path: Path) -> None:
    base = example("widen_and_protect.py:WidenAndProtect")

    class Watched(base):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            super().__init__(widen_bps=D(3))
            self.triggered: list[mmoms.GroupTriggered] = []
            self.widened: list[D] = []

        def on_fill(self, fill: mmoms.Fill) -> None:
            super().on_fill(fill)
            if fill.client_order_id.endswith("-entry"):
                self.widened.append(self.extra_bps)

        def on_group(self, event: mmoms.GroupEvent) -> None:
            if isinstance(event, mmoms.GroupTriggered):
                self.triggered.append(event)
            super().on_group(event)

    cfg = config("demo.toml")
    spec = next(s for s in cfg.strategies if s.strategy_id == "bracket")
    watched = Watched()
    status, node = run(cfg, tmp_path, 12.0, [(spec, watched)])
    assert status == 0, node.failures
    assert watched.brackets >= 1
    assert watched.entries_filled >= 1, "no entry filled in 12 s of a lively market"
    # protection came with the fill: the stop and the take-profit legs went live
    assert {leg for e in watched.triggered for leg in e.legs} >= {"sl", "tp"}
    assert watched.widened[0] > 0  # the first fill widened the next entry
    assert node.oms is not None
    stops = [
        o for o in node.oms.book.orders(mmoms.Symbol("BTCUSDT"))
        if o.order_type is mmoms.OrderType.STOP_MARKET
    ]  # fmt: skip
    assert stops  # held by the venue (algo service) while the position was open
    assert node.oms.book.open_orders() == []


def test_the_ioc_taker_never_rests_an_order_and_keeps_its_position_limit(tmp_path: Path) -> None:
    base = example("ioc_taker.py:IocTaker")

    class Watched(base):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            super().__init__(threshold_bps=D("0.2"), cooldown_ms=200)
            self.positions: list[D] = []
            self.rested: list[str] = []

        def on_order(self, event: mmoms.OrderEvent) -> None:
            super().on_order(event)
            if isinstance(event, mmoms.OrderAccepted) and event.status is mmoms.OrderStatus.NEW:
                view = self.order(event.client_order_id)
                if view is not None and view.status is mmoms.OrderStatus.NEW:
                    self.rested.append(event.client_order_id)  # resolved below

        def on_fill(self, fill: mmoms.Fill) -> None:
            super().on_fill(fill)
            self.positions.append(fill.position)

    cfg = config("sim.toml", strategy={"entry": "strategies/ioc_taker.py:IocTaker", "id": "t"})
    watched = Watched()
    status, node = run(cfg, tmp_path, 10.0, [(cfg.strategies[0], watched)])
    assert status == 0, node.failures
    assert watched.sent >= 3
    assert watched.positions, "no IOC filled"
    assert all(abs(p) <= watched.max_position for p in watched.positions)
    ends = set(watched.finished.values())
    assert ends <= {mmoms.OrderStatus.FILLED, mmoms.OrderStatus.EXPIRED}, ends
    assert len(watched.finished) + len(watched.working) == watched.sent
    # an IOC may be acknowledged NEW an instant before it expires; none stays working
    assert watched.working == set()


def test_two_strategies_in_one_node_are_attributed_apart(tmp_path: Path) -> None:
    cfg = config("two-strategies.toml")
    status, node = run(cfg, tmp_path, 10.0)
    assert status == 0, node.failures
    quoter, taker = node.hosts
    assert (quoter.strategy_id, taker.strategy_id) == ("quoter", "taker")
    assert quoter.pnl("BTCUSDC").fills > 0
    assert taker.pnl("ETHUSDC").fills > 0
    assert node.oms is not None
    ledger = node.oms.ledger
    assert ledger.get(mmoms.StrategyId("quoter"), mmoms.Symbol("ETHUSDC")) is None
    assert ledger.get(mmoms.StrategyId("taker"), mmoms.Symbol("BTCUSDC")) is None
    for symbol, host in (("BTCUSDC", quoter), ("ETHUSDC", taker)):
        assert host.position(symbol) == node.oms.position(mmoms.Symbol(symbol))
    orders = list(node.oms.book.orders())
    assert {o.strategy_id for o in orders if o.symbol == "BTCUSDC"} == {"quoter"}
    assert {o.strategy_id for o in orders if o.symbol == "ETHUSDC"} == {"taker"}
