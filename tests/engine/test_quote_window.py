"""The quoting half of a planner window, alone (pure): the sliding order-rate budget, the
spending order (best rank first, round robin within a rank), deferral once the budget is spent,
and the rule that tells a repeated refusal once per streak."""

from __future__ import annotations

from decimal import Decimal as D

from mmoms.core.clock import NANOS_PER_SECOND
from mmoms.core.enums import Side
from mmoms.core.ids import StrategyId, Symbol
from mmoms.core.intents import QuoteLevel
from mmoms.engine.metrics import OmsMetrics
from mmoms.engine.quote_budget import (
    OrderRate,
    QuoteAction,
    QuoteWindow,
    RepeatFilter,
    Who,
    ranks,
    reason_shape,
)
from mmoms.engine.risk import RiskRejection

A, B = StrategyId("a"), StrategyId("b")
BTC, ETH = Symbol("BTCUSDC"), Symbol("ETHUSDC")


def action(strategy: StrategyId, symbol: Symbol, side: Side, rank: int) -> QuoteAction:
    level = QuoteLevel(
        side=side, price=D(100 - rank if side is Side.BUY else 101 + rank), quantity=D(1)
    )
    return QuoteAction((strategy, symbol, side), level, rank)


def ladder() -> list[QuoteAction]:
    """Two keys, both sides, three ranks each: 12 wanted quotes, listed worst first."""
    return [
        action(s, sym, side, rank)
        for rank in (2, 1, 0)
        for s, sym in ((A, BTC), (B, ETH))
        for side in Side
    ]


def test_the_budget_slides_and_says_when_it_grows() -> None:
    rate = OrderRate()
    assert rate.free_at() is None
    assert rate.take(0, 2)
    assert rate.take(NANOS_PER_SECOND // 2, 2)
    assert not rate.take(NANOS_PER_SECOND // 2, 2)  # refused: nothing charged
    assert rate.used == 2
    assert rate.free_at() == NANOS_PER_SECOND
    assert rate.room(NANOS_PER_SECOND - 1, 2) == 0
    assert rate.room(NANOS_PER_SECOND, 2) == 1  # the first send left the window


def test_ranks_count_from_the_touch() -> None:
    levels = [QuoteLevel(side=Side.BUY, price=D(p), quantity=D(1)) for p in ("98", "100", "99")] + [
        QuoteLevel(side=Side.SELL, price=D(p), quantity=D(1)) for p in ("103", "101")
    ]
    rank = ranks(levels)
    assert [rank[id(lv)] for lv in levels] == [2, 0, 1, 1, 0]


def test_spending_stops_trying_once_the_budget_is_spent() -> None:
    metrics = OmsMetrics()
    window = QuoteWindow(metrics)
    tried: list[QuoteAction] = []
    told = window.spend(ladder(), 4, lambda a: tried.append(a))
    assert told == []
    assert len(tried) == 4  # the other eight were never risk-checked
    assert metrics.quotes_deferred == 8
    assert window.waiting == {(A, BTC), (B, ETH)}


def test_every_sides_best_level_goes_before_anyones_second_and_turns_rotate() -> None:
    window = QuoteWindow(OmsMetrics())

    def spend(room: int) -> list[tuple[str, str, int]]:
        sent: list[QuoteAction] = []
        window.spend(ladder(), room, lambda a: sent.append(a))
        return [(a.strategy_id, a.level.side.value, a.rank) for a in sent]

    best = [("a", "BUY", 0), ("a", "SELL", 0), ("b", "BUY", 0), ("b", "SELL", 0)]
    assert spend(6) == [*best, ("a", "BUY", 1), ("a", "SELL", 1)]
    # Second levels: b's sides were not served at that rank, so they go first now...
    assert spend(6) == [*best, ("b", "BUY", 1), ("b", "SELL", 1)]
    # ...then a's sides (last served in the first window) before b's (the second): one a time.
    assert spend(5) == [*best, ("a", "BUY", 1)]
    assert spend(5) == [*best, ("a", "SELL", 1)]


def test_a_refusal_other_than_the_budget_is_told_or_counted_not_deferred() -> None:
    metrics = OmsMetrics()
    window = QuoteWindow(metrics)
    refuse = RiskRejection("max_position", "worst case 3 beyond ±2")
    wanted = [action(A, BTC, Side.BUY, r) for r in (0, 1, 2)]
    told = window.spend(wanted, 10, lambda a: refuse if a.rank else None)
    assert [(a.rank, r.check) for a, r in told] == [(1, "max_position")]  # rank 2: a repeat
    assert metrics.rejections_repeated == {"max_position": 1}
    assert metrics.quotes_deferred == 0
    assert window.waiting == set()


def test_a_budget_refusal_despite_room_is_a_deferral() -> None:
    """Should the budget be spent after all (room was stale), the quote waits like the rest."""
    metrics = OmsMetrics()
    window = QuoteWindow(metrics)
    tried: list[QuoteAction] = []

    def spent(a: QuoteAction) -> RiskRejection:
        tried.append(a)
        return RiskRejection("order_rate", "20 orders in the last second")

    assert window.spend([action(A, BTC, Side.BUY, r) for r in (0, 1, 2)], 10, spent) == []
    assert len(tried) == 1
    assert metrics.quotes_deferred == 3
    assert metrics.rejections_repeated == {}
    assert window.waiting == {(A, BTC)}


def test_a_refusal_is_told_when_its_streak_starts() -> None:
    f, who = RepeatFilter(), (A, BTC, Side.BUY)
    other: Who = (A, BTC, Side.SELL)

    def window(*reasons: str, tried: bool = False) -> list[bool]:
        out = [f.refused(who, "max_position", r) for r in reasons]
        if tried:
            f.tried(who)
        f.tried(other)  # the other side's windows change nothing here
        f.end_window()
        return out

    assert window("worst case 0.03 beyond ±0.025", "worst case 0.04 beyond ±0.025") == [True, False]
    assert window("worst case 0.031 beyond ±0.025") == [False]  # other numbers: the same reason
    f.end_window()  # a window that deferred everything there: tried nothing, the streak lives
    assert window("worst case 0.03 beyond ±0.025") == [False]
    assert window(tried=True) == []  # tried, nothing refused: the streak ends
    assert window("worst case 0.03 beyond ±0.025") == [True]
    # Another check, or the same check for a different reason, is told.
    assert f.refused(who, "price_band", "no reference price for BTCUSDC yet")
    assert f.refused(who, "price_band", "95000.0 is more than 5% from 90000")
    f.end_window()
    assert not f.refused(who, "price_band", "96000.5 is more than 5% from 91000.25")


def test_a_reason_without_its_numbers() -> None:
    assert reason_shape("worst case -0.030 beyond ±0.025") == "worst case -# beyond ±#"
    assert reason_shape("1E+1 orders") == "# orders"


def test_a_side_left_with_no_quote_is_served_before_any_amend() -> None:
    """Fills took every bid of ETHUSDC; BTCUSDC's quotes only need amending. With room for
    one action, the empty side gets its best level back first, whatever the rotation says."""
    from mmoms.core.book import LocalOrderBook
    from mmoms.core.clock import TestClock
    from mmoms.core.enums import VenueOrderStatus
    from mmoms.engine.diff import Tolerance
    from tests.core.factories import status, submit

    book = LocalOrderBook(TestClock())
    book.create(submit("btc-bid", price="100"), strategy_id=A, tag=None)  # BTCUSDC, resting
    book.apply(status("btc-bid", 1, VenueOrderStatus.NEW))
    window = QuoteWindow(OmsMetrics())
    wanted: list[QuoteAction] = []
    moved = (QuoteLevel(side=Side.BUY, price=D(90), quantity=D(1), post_only=False),)  # amend
    wanted += window.diff((A, BTC), moved, book.orders(BTC), set(), D(1), Tolerance(), True)[1]
    refill = (QuoteLevel(side=Side.BUY, price=D(3000), quantity=D(1)),)
    wanted += window.diff((A, ETH), refill, book.orders(ETH), set(), D(1), Tolerance(), True)[1]
    assert [(a.symbol, a.order is None) for a in wanted] == [(BTC, False), (ETH, True)]
    sent: list[QuoteAction] = []

    def quote(a: QuoteAction) -> RiskRejection | None:
        sent.append(a)
        return None

    window.spend(wanted, 1, quote)
    assert [a.symbol for a in sent] == [ETH]  # the empty side first
    assert window.waiting == {(A, BTC)}
