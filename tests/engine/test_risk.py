from decimal import Decimal as D

import pytest

from mmoms.contingent import (
    Group,
    bracket,
    cancel_group,
    group_exposure,
    limit,
    oco,
    oto,
    plan,
    start,
)
from mmoms.core.book import LocalOrderBook
from mmoms.core.clock import TestClock
from mmoms.core.commands import SubmitOrder
from mmoms.core.enums import OrderType, Side
from mmoms.core.enums import VenueOrderStatus as V
from mmoms.core.ids import ClientOrderId, GroupId
from mmoms.engine.groups import GroupBook
from mmoms.engine.risk import ErrorRate, RiskConfig, RiskEngine, RiskRejection, SymbolLimits
from tests.contingent.helpers import canceled
from tests.core.factories import SYM, fill, status, submit

LIMITS = SymbolLimits(
    max_order_qty=D(2),
    max_order_notional=D(250),
    max_open_orders=3,
    max_position=D(3),
    price_band_pct=D(5),
)


@pytest.fixture
def clock() -> TestClock:
    return TestClock()


@pytest.fixture
def book(clock: TestClock) -> LocalOrderBook:
    return LocalOrderBook(clock)


def engine(clock: TestClock, **kw: object) -> RiskEngine:
    risk = RiskEngine(RiskConfig(limits={SYM: LIMITS}, **kw), clock)  # type: ignore[arg-type]
    risk.set_reference_price(SYM, D(100))
    return risk


def new(
    risk: RiskEngine,
    book: LocalOrderBook,
    qty: str = "1",
    price: str | None = "100",
    side: Side = Side.BUY,
    reduce_only: bool = False,
) -> str | None:
    r = risk.check_new(
        book,
        symbol=SYM,
        side=side,
        order_type=OrderType.LIMIT,
        quantity=D(qty),
        price=None if price is None else D(price),
        reduce_only=reduce_only,
    )
    return None if r is None else r.check


def test_a_sane_order_passes(clock: TestClock, book: LocalOrderBook) -> None:
    assert new(engine(clock), book) is None


@pytest.mark.parametrize(
    ("qty", "price", "check"),
    [
        ("3", "100", "max_order_qty"),
        ("2", "130", "max_order_notional"),
        ("1", "106", "price_band"),
        ("1", "94", "price_band"),
    ],
)
def test_size_and_band(
    clock: TestClock, book: LocalOrderBook, qty: str, price: str, check: str
) -> None:
    assert new(engine(clock), book, qty, price) == check


def test_unknown_symbol_is_rejected(clock: TestClock, book: LocalOrderBook) -> None:
    risk = RiskEngine(RiskConfig(limits={}), clock)
    assert (
        risk.check_new(
            book, symbol=SYM, side=Side.BUY, order_type=OrderType.LIMIT, quantity=D(1), price=D(100)
        )
        is not None
    )


def test_worst_case_position_counts_resting_orders(clock: TestClock, book: LocalOrderBook) -> None:
    risk = engine(clock)
    book.create(submit("a", qty="2"))
    book.apply(status("a", 1, V.NEW, qty="2"))
    book.apply(fill("x", 9, 1, "1"))  # an external fill: position +1
    # +1 position, +2 resting, +1 new = 4 > 3
    assert new(risk, book, "1") == "max_position"
    assert new(risk, book, "1", side=Side.SELL) is None


def test_resting_is_cached_until_the_book_version_moves(
    clock: TestClock, book: LocalOrderBook
) -> None:
    risk = engine(clock, max_orders_per_second=100)
    version = [0]
    risk.book_version = lambda: version[0]
    book.create(submit("a", qty="2"))
    book.apply(status("a", 1, V.NEW, qty="2"))
    version[0] += 1
    assert new(risk, book, "1") is None  # 2 resting + 1 = 3: at the limit
    book.apply(status("a", 1, V.CANCELED, qty="2"))
    assert new(risk, book, "2") == "max_position"  # the same version: the cached 2 resting
    version[0] += 1  # what the engine's book writer does at every book input
    assert new(risk, book, "2") is None  # scanned again: nothing rests
    order = book.get(SYM, ClientOrderId("a"))
    assert order is not None
    assert risk.check_amend(book, order, D(100), D(2)) is None  # a final order excludes nothing


def test_open_order_limit_counts_in_flight(clock: TestClock, book: LocalOrderBook) -> None:
    risk = engine(clock, max_orders_per_second=100)
    for cid in "abc":
        book.create(submit(cid, qty="0.1", side=Side.SELL))
    assert new(risk, book, "0.1") == "max_open_orders"


def test_reduce_only_must_reduce(clock: TestClock, book: LocalOrderBook) -> None:
    risk = engine(clock)
    assert new(risk, book, reduce_only=True) == "reduce_only"  # flat: nothing to reduce
    book.apply(fill("x", 9, 1, "1"))
    assert new(risk, book, side=Side.BUY, reduce_only=True) == "reduce_only"
    assert new(risk, book, qty="2", side=Side.SELL, reduce_only=True) == "reduce_only"
    assert new(risk, book, side=Side.SELL, reduce_only=True) is None


def test_kill_switch_blocks_until_released(clock: TestClock, book: LocalOrderBook) -> None:
    risk = engine(clock)
    risk.engage_kill_switch("operator")
    assert new(risk, book) == "kill_switch"
    risk.release_kill_switch()
    assert new(risk, book) is None


def test_hard_position_breach_engages_kill_switch(clock: TestClock, book: LocalOrderBook) -> None:
    risk = engine(clock)
    book.apply(fill("x", 9, 1, "5"))
    risk.after_fill(book, SYM)
    assert risk.kill_reason is not None
    assert new(risk, book, side=Side.SELL) == "kill_switch"


def test_order_rate_budget_slides(clock: TestClock, book: LocalOrderBook) -> None:
    risk = engine(clock, max_orders_per_second=2)
    assert new(risk, book) is None
    assert new(risk, book) is None
    assert new(risk, book) == "order_rate"
    clock.advance(1_000_000_001)
    assert new(risk, book) is None


def test_circuit_breaker_trips_and_cools_down(clock: TestClock, book: LocalOrderBook) -> None:
    rate = ErrorRate(errors=15, requests=20)
    risk = RiskEngine(RiskConfig(limits={SYM: LIMITS}, circuit_cooldown_s=5), clock, lambda: rate)
    risk.set_reference_price(SYM, D(100))
    assert new(risk, book) == "circuit_breaker"
    rate.errors = 0
    assert new(risk, book) == "circuit_breaker"  # still cooling down
    clock.advance(5_000_000_001)
    assert new(risk, book) is None


def test_amend_is_checked_against_its_own_order(clock: TestClock, book: LocalOrderBook) -> None:
    risk = engine(clock)
    book.create(submit("a", qty="2"))
    book.apply(status("a", 1, V.NEW, qty="2"))
    order = book.get(SYM, ClientOrderId("a"))
    assert order is not None
    assert risk.check_amend(book, order, D(100), D(2)) is None  # replaces itself, not added
    rejection = risk.check_amend(book, order, D(120), D(2))
    assert rejection is not None
    assert rejection.check == "price_band"


# -- contingent groups: a group is charged once ---------------------------------------------


def group_book(risk: RiskEngine) -> GroupBook:
    groups = GroupBook()
    risk.group_resting = groups.resting
    return groups


def check(risk: RiskEngine, book: LocalOrderBook, group: Group) -> RiskRejection | None:
    plan = start(group, 1)
    return risk.check_group(
        book,
        group,
        group_exposure(plan.state, D(100)),
        [c for c in plan.commands if isinstance(c, SubmitOrder)],
    )


def two_buys(gid: str, qty: str) -> Group:
    return oco(gid, SYM, [limit(Side.BUY, D(qty), D(99)), limit(Side.BUY, D(qty), D(98))])


def test_an_oco_whose_legs_each_fit_is_accepted_though_their_sum_would_not(
    clock: TestClock, book: LocalOrderBook
) -> None:
    risk = engine(clock)
    book.apply(fill("x", 9, 1, "1"))  # position +1; max_position 3
    # Each leg: 1 + 2 = 3 fits. The sum of the legs, 1 + 4 = 5, would not: only one can fill.
    assert check(risk, book, two_buys("g", "2")) is None


def test_a_group_whose_largest_leg_breaches_is_rejected_with_the_group_named(
    clock: TestClock, book: LocalOrderBook
) -> None:
    risk = engine(clock)
    book.apply(fill("x", 9, 1, "2"))  # position +2
    group = oco("g", SYM, [limit(Side.BUY, D("0.5"), D(99)), limit(Side.BUY, D("1.5"), D(98))])
    rejection = check(risk, book, group)
    assert rejection is not None
    assert rejection.check == "max_position"
    assert "group g" in rejection.reason
    assert "3.5" in rejection.reason


def test_per_order_limits_apply_to_every_leg_even_one_not_sent_yet(
    clock: TestClock, book: LocalOrderBook
) -> None:
    risk = engine(clock)
    book.apply(fill("x", 9, 1, "1"))
    child = oto("g", SYM, limit(Side.BUY, D(1), D(99)), [limit(Side.SELL, D(3), D(101))])
    rejection = check(risk, book, child)
    assert rejection is not None
    assert (rejection.check, "group g leg c1" in rejection.reason) == ("max_order_qty", True)


def test_a_group_counts_all_the_orders_it_opens_against_the_open_order_limit(
    clock: TestClock, book: LocalOrderBook
) -> None:
    risk = engine(clock)  # max_open_orders 3
    book.create(submit("q1", qty="0.1", side=Side.SELL))
    book.create(submit("q2", qty="0.1", side=Side.SELL))
    rejection = check(risk, book, two_buys("g", "1"))
    assert rejection is not None
    assert rejection.check == "max_open_orders"


def test_a_bracket_charges_its_entry_the_exits_are_reduce_only(
    clock: TestClock, book: LocalOrderBook
) -> None:
    risk = engine(clock)
    group = bracket(
        "b", SYM, Side.BUY, D(2), entry_price=D(100), take_profit_price=D(103), stop_price=D(97)
    )
    book.apply(fill("x", 9, 1, "1"))
    # +1 position, +2 entry = 3 fits max_position 3: the take-profit and the stop add nothing.
    assert check(risk, book, group) is None
    book.apply(fill("y", 9, 2, "1"))
    rejection = check(risk, book, group)
    assert rejection is not None
    assert rejection.check == "max_position"


def test_resting_group_orders_are_charged_once_by_later_orders(
    clock: TestClock, book: LocalOrderBook
) -> None:
    risk = engine(clock)
    groups = group_book(risk)
    plan = start(two_buys("g", "2"), 1)
    groups.put(plan.state)
    for cmd in plan.commands:
        assert isinstance(cmd, SubmitOrder)
        book.create(cmd, group_id=GroupId("g"))
    # Worst case: the OCO's 2, plus this 1 = 3 fits. Summing the legs (4 + 1) would not.
    assert new(risk, book, "1", "99") is None
    assert new(risk, book, "2", "99") == "max_position"
    assert new(risk, book, "2", "99", side=Side.SELL) is None


def test_a_finished_group_charges_nothing(clock: TestClock, book: LocalOrderBook) -> None:
    risk = engine(clock)
    groups = group_book(risk)
    state = start(two_buys("g", "2"), 1).state
    groups.put(state)
    assert groups.resting(SYM, Side.BUY) == D(2)
    state = cancel_group(state, 2).state
    groups.put(state)
    assert groups.resting(SYM, Side.BUY) == D(2)  # cancels sent, not landed: a leg may fill yet
    for leg in ("g-a", "g-b"):
        state = plan(canceled(leg), state).state
    groups.put(state)
    assert groups.resting(SYM, Side.BUY) == D(0)
