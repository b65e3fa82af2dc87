"""Quotes within the order-rate budget, shared fairly, on virtual time.

The demo's problem: two symbols, three levels a side, prices moving every 100 ms, a budget of
20 orders/s. Whoever was diffed first ate the budget, the other symbol's refused amends pulled
its quotes, and every refused level was a journaled "rejection". Here the same session runs for
30 s of test time (a virtual-time loop: no wall clock) and every 100 ms after the first second
each (strategy, symbol) must have a quote live or in flight on each side, with no ``order_rate``
rejection, deferrals counted, and never more than the budget in any second.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal as D

import pytest

from mmoms.core.clock import NANOS_PER_SECOND, TestClock
from mmoms.core.commands import AmendOrder, SubmitOrder
from mmoms.core.enums import OrderStatus, Side
from mmoms.core.ids import StrategyId, Symbol
from mmoms.core.intents import QuoteLevel
from mmoms.engine.diff import Tolerance
from mmoms.engine.risk import RiskConfig, SymbolLimits
from mmoms.journal.memory import MemoryJournal
from mmoms.journal.records import BookCreate, CommandSent, RiskRejected, decode_entry
from tests.core.test_instrument import BTCUSDC
from tests.engine.fake_gateway import FakeGateway
from tests.engine.test_oms import Harness, S, shutdown, start
from tests.engine.virtual_time import run_virtual

BTC, ETH = Symbol("BTCUSDC"), Symbol("ETHUSDC")
ETHUSDC = {
    **BTCUSDC,
    "symbol": "ETHUSDC",
    "baseAsset": "ETH",
    "filters": [
        {
            "filterType": "PRICE_FILTER",
            "tickSize": "0.01",
            "minPrice": "39.86",
            "maxPrice": "306177",
        },
        *(f for f in BTCUSDC["filters"] if f["filterType"] != "PRICE_FILTER"),
    ],
}
BUDGET = 20
WIDE = SymbolLimits(D(10), D(10**7), 100, D(1000), D(5))  # nothing but the rate may refuse
QUOTING = frozenset(
    {
        OrderStatus.PENDING_NEW,
        OrderStatus.NEW,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.PENDING_REPLACE,
        OrderStatus.UNKNOWN,
    }
)  # live or in flight; PENDING_CANCEL is on its way out


@dataclass(frozen=True)
class Market:
    symbol: Symbol
    base: D
    move: D  # per 100 ms step: well beyond the 3-tick tolerance, so every level must move
    gap: D  # between levels
    qty: D

    def mid(self, step: int) -> D:
        phase = step % 40  # a zig-zag: up for 2 s, down for 2 s
        return self.base + self.move * (phase if phase < 20 else 40 - phase)

    def ladder(self, step: int, levels: int = 3) -> list[QuoteLevel]:
        mid = self.mid(step)
        out = []
        for i in range(levels):
            for side, sign in ((Side.BUY, -1), (Side.SELL, 1)):
                price = mid + sign * (self.gap / 2 + i * self.gap)
                out.append(QuoteLevel(side=side, price=price, quantity=self.qty, tag=f"{side}{i}"))
        return out


MARKETS = (
    Market(BTC, D(95_000), D(2), D(5), D("0.01")),
    Market(ETH, D(3_000), D("0.2"), D("0.5"), D("0.1")),
)


@dataclass
class Session:
    gaps: list[tuple[float, str, str, str]] = field(default_factory=list)  # (t, who, sym, side)
    entries: list[object] = field(default_factory=list)
    sent_ns: list[int] = field(default_factory=list)  # new orders and amends, as decided
    sent_by: dict[tuple[str, str], int] = field(default_factory=dict)  # per (strategy, symbol)
    deferred: int = 0


def _uncovered(
    h: Harness, strategies: Sequence[StrategyId], t: float
) -> list[tuple[float, str, str, str]]:
    out = []
    for m in MARKETS:
        for s in strategies:
            for side in Side:
                if not any(
                    o.strategy_id == s and o.side is side and o.status in QUOTING
                    for o in h.oms.book.orders(m.symbol)
                ):
                    out.append((t, str(s), str(m.symbol), side.value))
    return out


async def _quote(strategies: Sequence[StrategyId], seconds: float, venue: FakeGateway) -> Session:
    journal = MemoryJournal()
    h = await start(
        venue,
        journal,
        risk=RiskConfig(limits={BTC: WIDE, ETH: WIDE}, max_orders_per_second=BUDGET),
        symbols=(BTC, ETH),
        tolerance={m.symbol: Tolerance(price_ticks=3, qty_pct=D(10)) for m in MARKETS},
        batch_window_s=0.010,
    )
    session = Session()
    try:
        for step in range(round(seconds * 10)):
            if step >= 10:  # every 100 ms after the first second
                session.gaps += _uncovered(h, strategies, step / 10)
            for m in MARKETS:
                h.oms.set_reference_price(m.symbol, m.mid(step))
                for s in strategies:
                    h.oms.set_quotes(s, m.symbol, m.ladder(step))
            await asyncio.sleep(0.1)  # virtual: 100 ms of test time pass, the engine works
        session.deferred = h.oms.metrics.quotes_deferred
    finally:
        await shutdown(h)
    owner: dict[str, tuple[str, str]] = {}
    for record in journal.records.values():
        entry = decode_entry(record.payload)
        session.entries.append(entry)
        if isinstance(entry, BookCreate):
            owner[entry.command.client_order_id] = (entry.strategy_id or "", entry.command.symbol)
        if isinstance(entry, CommandSent) and isinstance(entry.command, SubmitOrder | AmendOrder):
            session.sent_ns.append(record.ts_ns)
            who = owner[entry.command.client_order_id]
            session.sent_by[who] = session.sent_by.get(who, 0) + 1
    return session


def most_in_one_second(times_ns: list[int]) -> int:
    times, most, first = sorted(times_ns), 0, 0
    for last, t in enumerate(times):
        while t - times[first] >= NANOS_PER_SECOND:
            first += 1
        most = max(most, last - first + 1)
    return most


@pytest.mark.amend_venue
@pytest.mark.parametrize(
    "strategies",
    [(StrategyId("mm"),), (StrategyId("mm1"), StrategyId("mm2"))],
    ids=["one strategy", "two strategies"],
)
def test_every_key_keeps_quoting_within_the_budget(strategies: tuple[StrategyId, ...]) -> None:
    clock, seconds = TestClock(), 30.0
    venue = FakeGateway(clock, listed=[BTCUSDC, ETHUSDC], latency_s=0.005)
    session = run_virtual(clock, _quote(strategies, seconds, venue))

    assert session.gaps == [], f"{len(session.gaps)} uncovered sides, first {session.gaps[:5]}"
    rejected = [e for e in session.entries if isinstance(e, RiskRejected)]
    assert [e for e in rejected if e.check == "order_rate"] == []
    assert rejected == []  # the limits are wide: nothing else refuses either
    assert session.deferred > 0
    assert most_in_one_second(session.sent_ns) <= BUDGET
    # The budget is spent, not hoarded: close to 20/s after the first second...
    assert len(session.sent_ns) >= 0.8 * BUDGET * seconds
    # ...and shared: every (strategy, symbol) gets a fair part of it.
    keys = len(strategies) * len(MARKETS)
    assert len(session.sent_by) == keys
    assert min(session.sent_by.values()) >= 0.9 * len(session.sent_ns) / keys, session.sent_by


def _journaled(journal: MemoryJournal) -> list[object]:
    return [decode_entry(r.payload) for r in journal.records.values()]


def test_deferred_quotes_go_when_the_budget_returns_without_another_intent() -> None:
    """Budget 5, six levels wanted: five go, one waits; the budget timer sends it a second
    later, with no new intent and no busy loop."""

    async def main() -> tuple[list[int], int, list[object]]:
        venue, journal = FakeGateway(clock, listed=[BTCUSDC], latency_s=0.005), MemoryJournal()
        h = await start(
            venue, journal, risk=RiskConfig(limits={BTC: WIDE}, max_orders_per_second=5)
        )
        try:
            h.oms.set_quotes(S, BTC, MARKETS[0].ladder(0))
            live = [len(venue.live())]
            for _ in range(12):  # 1.2 s of test time, 100 ms at a time; nothing else is asked
                await asyncio.sleep(0.1)
                live.append(len(venue.live()))
            return live, h.oms.metrics.quotes_deferred, _journaled(journal)
        finally:
            await shutdown(h)

    clock = TestClock()
    live, deferred, entries = run_virtual(clock, main())
    assert live[1:10] == [5] * 9  # within the first second: what the budget paid for
    assert live[-1] == 6  # the sixth, once the first sends left the one-second window
    # Counted per window that could not pay: the first, and the re-diff when the five were
    # acknowledged. Nothing in between: a loop retrying until the budget returned would count
    # once per turn.
    assert deferred == 2
    assert not [e for e in entries if isinstance(e, RiskRejected)]


def test_an_explicit_order_over_the_budget_is_rejected_and_names_its_strategy() -> None:
    async def main() -> tuple[list[object], list[object], int]:
        venue, journal = FakeGateway(clock), MemoryJournal()
        h = await start(
            venue, journal, risk=RiskConfig(limits={BTC: WIDE}, max_orders_per_second=3)
        )
        notes: list[object] = []
        h.oms.add_listener(notes.append)
        try:
            for i in range(4):  # one window: the fourth finds the budget spent
                h.oms.place(S, BTC, Side.BUY, D("0.01"), D(94_000 - i))
            await h.until(lambda: any(isinstance(n, RiskRejected) for n in notes))
            await h.until(lambda: len(venue.live()) == 3)
            return notes, _journaled(journal), h.oms.metrics.quotes_deferred
        finally:
            await shutdown(h)

    clock = TestClock()
    notes, entries, deferred = run_virtual(clock, main())
    told = [n for n in notes if isinstance(n, RiskRejected)]
    journaled = [e for e in entries if isinstance(e, RiskRejected)]
    assert told == journaled
    assert [(r.check, r.strategy_id, r.symbol) for r in told] == [("order_rate", S, BTC)]
    assert told[0].intent is not None
    assert told[0].command is not None
    assert deferred == 0  # a one-off order is not a quote: it is not deferred


@pytest.mark.amend_venue
def test_a_refused_quote_is_told_once_per_streak() -> None:
    """max_position lets two of three levels a side rest: the third is refused in every
    window. Told once per side when it starts, then counted; a spell without the third level
    ends the streak, and asking for it again is told again."""
    tight = SymbolLimits(D(10), D(10**7), 100, D("0.025"), D(5))
    market = MARKETS[0]

    async def main() -> tuple[list[object], list[object], dict[str, int], dict[str, int]]:
        venue, journal = FakeGateway(clock, listed=[BTCUSDC], latency_s=0.005), MemoryJournal()
        risk = RiskConfig(limits={BTC: tight}, max_orders_per_second=1000)
        h = await start(venue, journal, risk=risk)
        notes: list[object] = []
        h.oms.add_listener(notes.append)
        try:
            for step in range(30):  # 3 s: levels 3, then 2 (from 1 s), then 3 again (from 2 s)
                levels = 2 if 10 <= step < 20 else 3
                h.oms.set_reference_price(BTC, market.mid(step))
                h.oms.set_quotes(S, BTC, market.ladder(step, levels))
                await asyncio.sleep(0.1)
            m = h.oms.metrics
            return notes, _journaled(journal), dict(m.risk_rejections), dict(m.rejections_repeated)
        finally:
            await shutdown(h)

    clock = TestClock()
    notes, entries, counted, repeated = run_virtual(clock, main())
    told = [n for n in notes if isinstance(n, RiskRejected)]
    assert told == [e for e in entries if isinstance(e, RiskRejected)]
    # One per side when the streak starts (first second), one per side when it starts again.
    assert (
        sorted((r.check, r.strategy_id, r.symbol) for r in told) == [("max_position", S, BTC)] * 4
    )
    assert {("-" in r.reason) for r in told} == {True, False}  # the sell side's and the buy's
    assert counted == {"max_position": 4}
    assert repeated["max_position"] >= 2 * 15  # every other window of the two 1 s spells
