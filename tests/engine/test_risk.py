import dataclasses
from decimal import Decimal as D

import msgspec
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
    stop_market,
)
from mmoms.core.book import LocalOrderBook
from mmoms.core.clock import TestClock
from mmoms.core.commands import SubmitOrder
from mmoms.core.enums import OrderType, Side
from mmoms.core.enums import VenueOrderStatus as V
from mmoms.core.ids import ClientOrderId, GroupId, Symbol
from mmoms.core.order import Order
from mmoms.engine.groups import GroupBook
from mmoms.engine.risk import (
    ErrorRate,
    Queued,
    RiskConfig,
    RiskEngine,
    RiskRejection,
    SymbolLimits,
)
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


# -- every limit at its boundary, every path through the gates, exact reasons ----------------


def why(rejection: RiskRejection | None) -> tuple[str, str] | None:
    return None if rejection is None else (rejection.check, rejection.reason)


def engine_with(clock: TestClock, **limits: object) -> RiskEngine:
    fields = dict(
        max_order_qty=D(2),
        max_order_notional=D(250),
        max_open_orders=3,
        max_position=D(3),
        price_band_pct=D(5),
    )
    fields.update(limits)
    risk = RiskEngine(
        RiskConfig(limits={SYM: SymbolLimits(**fields)}, max_orders_per_second=1000),  # type: ignore[arg-type]
        clock,
    )
    risk.set_reference_price(SYM, D(100))
    return risk


def new_why(
    risk: RiskEngine, book: LocalOrderBook, qty: str, price: str | None = "100", **kw: object
) -> tuple[str, str] | None:
    return why(
        risk.check_new(
            book,
            symbol=SYM,
            side=kw.pop("side", Side.BUY),  # type: ignore[arg-type]
            order_type=kw.pop("order_type", OrderType.LIMIT),  # type: ignore[arg-type]
            quantity=D(qty),
            price=None if price is None else D(price),
            **kw,  # type: ignore[arg-type]
        )
    )


def test_order_quantity_at_the_limit_passes_and_above_it_is_refused(
    clock: TestClock, book: LocalOrderBook
) -> None:
    risk = engine_with(clock)
    assert new_why(risk, book, "2") is None
    assert new_why(risk, book, "2.001") == ("max_order_qty", "2.001 > 2")


def test_notional_at_the_limit_passes_and_above_it_is_refused(
    clock: TestClock, book: LocalOrderBook
) -> None:
    risk = engine_with(clock, max_order_notional=D(200))
    assert new_why(risk, book, "2", "100") is None
    assert new_why(risk, book, "2", "100.01") == ("max_order_notional", "200.02 > 200")


def test_a_market_order_is_valued_at_the_reference_price(
    clock: TestClock, book: LocalOrderBook
) -> None:
    risk = engine_with(clock, max_order_notional=D(200))
    market = {"order_type": OrderType.MARKET}
    assert new_why(risk, book, "2", None, **market) is None  # 2 x 100, no band for a market
    risk.set_reference_price(SYM, D("100.5"))
    assert new_why(risk, book, "2", None, **market) == ("max_order_notional", "201.0 > 200")
    blind = engine_with(clock)
    blind.reference_prices.clear()
    assert new_why(blind, book, "1", None, **market) == (
        "max_order_notional",
        "no price to value the order at",
    )


@pytest.mark.parametrize(("price", "inside"), [("105", True), ("95", True), ("105.01", False)])
def test_price_band_edges(clock: TestClock, book: LocalOrderBook, price: str, inside: bool) -> None:
    got = new_why(engine_with(clock), book, "1", price)
    assert got == (None if inside else ("price_band", f"{price} is more than 5% from 100"))


def test_no_reference_price_refuses_a_limit_order(clock: TestClock, book: LocalOrderBook) -> None:
    risk = engine_with(clock)
    risk.reference_prices.clear()
    assert new_why(risk, book, "1", "100") == ("price_band", "no reference price for BTCUSDC yet")


def test_open_orders_below_the_limit_pass_and_at_it_are_refused(
    clock: TestClock, book: LocalOrderBook
) -> None:
    risk = engine_with(clock)
    book.create(submit("a", qty="0.1", side=Side.SELL))
    book.create(submit("b", qty="0.1", side=Side.SELL))
    assert new_why(risk, book, "0.1") is None  # 2 open: the third may go
    assert new_why(risk, book, "0.1", queued=Queued(orders=1)) == (
        "max_open_orders",
        "3 open or queued on BTCUSDC",
    )
    book.create(submit("c", qty="0.1", side=Side.SELL))
    assert new_why(risk, book, "0.1") == ("max_open_orders", "3 open or queued on BTCUSDC")


def test_position_at_the_limit_passes_and_beyond_it_is_refused_on_either_side(
    clock: TestClock, book: LocalOrderBook
) -> None:
    risk = engine_with(clock)
    book.apply(fill("x", 9, 1, "1.5", side=Side.SELL))  # position -1.5
    assert new_why(risk, book, "1.5", side=Side.SELL) is None  # -3: at the limit
    assert new_why(risk, book, "1.6", side=Side.SELL) == (
        "max_position",
        "worst case -3.1 beyond ±3",
    )
    assert new_why(risk, book, "0.1", side=Side.SELL, queued=Queued(sell_qty=D("1.5"))) == (
        "max_position",
        "worst case -3.1 beyond ±3",
    )
    assert new_why(risk, book, "0.1", side=Side.SELL, queued=Queued(buy_qty=D("1.5"))) is None


def test_reduce_only_reasons(clock: TestClock, book: LocalOrderBook) -> None:
    risk = engine_with(clock)
    book.apply(fill("x", 9, 1, "1"))
    assert new_why(risk, book, "1", side=Side.BUY, reduce_only=True) == (
        "reduce_only",
        "BUY would not reduce 1",
    )
    assert new_why(risk, book, "1.5", side=Side.SELL, reduce_only=True) == (
        "reduce_only",
        "1.5 would flip position 1",
    )
    # A reduce-only order is not charged against max_position: it can only shrink exposure.
    book.apply(fill("y", 9, 2, "2"))  # +3: at the limit
    assert new_why(risk, book, "1", side=Side.SELL, reduce_only=True) is None


def test_unknown_symbol_is_refused_on_every_path(clock: TestClock, book: LocalOrderBook) -> None:
    risk = engine_with(clock)
    other = Symbol("ETHUSDC")
    reason = ("limits", "no risk limits configured for ETHUSDC")
    got = risk.check_new(
        book, symbol=other, side=Side.BUY, order_type=OrderType.LIMIT, quantity=D(1), price=D(1)
    )
    assert why(got) == reason
    book.apply(status("e", 5, V.NEW))
    order = book.get(SYM, ClientOrderId("e"))
    assert order is not None
    foreign = dataclasses.replace(order, symbol=other)
    assert why(risk.check_amend(book, foreign, D(1), D(1))) == reason
    group = oco("g", other, [limit(Side.BUY, D(1), D(99)), limit(Side.BUY, D(1), D(98))])
    assert why(check(risk, book, group)) == reason


# -- the gates hold on every path: new, amend, group ------------------------------------------


def resting_buy(book: LocalOrderBook, cid: str = "a", qty: str = "1") -> Order:
    book.create(submit(cid, qty=qty))
    book.apply(status(cid, 1 + ord(cid[0]), V.NEW, qty=qty))
    order = book.get(SYM, ClientOrderId(cid))
    assert order is not None
    return order


def test_the_kill_switch_stops_amends_and_groups_too(
    clock: TestClock, book: LocalOrderBook
) -> None:
    risk = engine_with(clock)
    order = resting_buy(book)
    risk.engage_kill_switch("operator")
    risk.engage_kill_switch("second reason")  # the first reason stays
    expected = ("kill_switch", "operator")
    assert new_why(risk, book, "1") == expected
    assert why(risk.check_amend(book, order, D(100), D(1))) == expected
    assert why(check(risk, book, two_buys("g", "1"))) == expected
    risk.release_kill_switch()
    assert why(risk.check_amend(book, order, D(100), D(1))) is None
    assert why(check(risk, book, two_buys("g", "1"))) is None


def test_the_circuit_breaker_stops_amends_and_groups_too(
    clock: TestClock, book: LocalOrderBook
) -> None:
    rate = ErrorRate(errors=10, requests=20)  # exactly half: trips
    risk = engine_with(clock)
    risk.error_rate = lambda: rate
    order = resting_buy(book)
    assert why(risk.check_amend(book, order, D(100), D(1))) == (
        "circuit_breaker",
        "API errors 10/20 over threshold",
    )
    cooling = ("circuit_breaker", "API error rate too high; cooling down")
    assert why(check(risk, book, two_buys("g", "1"))) == cooling
    assert new_why(risk, book, "1") == cooling


def test_circuit_breaker_thresholds_and_cool_down_edges(
    clock: TestClock, book: LocalOrderBook
) -> None:
    rate = ErrorRate(errors=9, requests=20)
    risk = engine_with(clock)  # error rate 0.5 over >= 20 requests, 5 s cool-down
    risk.error_rate = lambda: rate
    assert new_why(risk, book, "0.1") is None  # 9/20: under half
    rate.errors, rate.requests = 19, 19
    assert new_why(risk, book, "0.1") is None  # too few requests to judge
    rate.errors, rate.requests = 10, 20
    assert new_why(risk, book, "0.1") == ("circuit_breaker", "API errors 10/20 over threshold")
    rate.errors = 0
    clock.advance(5_000_000_000 - 1)
    assert new_why(risk, book, "0.1") == (
        "circuit_breaker",
        "API error rate too high; cooling down",
    )
    clock.advance(1)
    assert new_why(risk, book, "0.1") is None


# -- the automatic kill switch ------------------------------------------------------------------


@pytest.mark.parametrize(("qty", "side"), [("4.5", Side.BUY), ("4.5", Side.SELL)])
def test_a_position_at_the_hard_limit_does_not_kill(
    clock: TestClock, book: LocalOrderBook, qty: str, side: Side
) -> None:
    risk = engine_with(clock)  # hard limit: 1.5 x 3 = 4.5
    book.apply(fill("x", 9, 1, qty, side=side))
    risk.after_fill(book, SYM)
    assert risk.kill_reason is None


@pytest.mark.parametrize(("side", "shown"), [(Side.BUY, "4.6"), (Side.SELL, "-4.6")])
def test_a_position_beyond_the_hard_limit_kills_on_either_side(
    clock: TestClock, book: LocalOrderBook, side: Side, shown: str
) -> None:
    risk = engine_with(clock)
    book.apply(fill("x", 9, 1, "4.6", side=side))
    risk.after_fill(book, SYM)
    assert risk.kill_reason == f"BTCUSDC position {shown} beyond 4.5"


def test_too_many_anomalies_kill_one_more_than_allowed(
    clock: TestClock, book: LocalOrderBook
) -> None:
    risk = engine_with(clock)
    book.anomaly_count = risk.config.max_anomalies
    risk.after_fill(book, Symbol("ETHUSDC"))  # a symbol without limits: only the anomalies
    assert risk.kill_reason is None
    book.anomaly_count += 1
    risk.after_fill(book, Symbol("ETHUSDC"))
    assert risk.kill_reason == "101 book anomalies"


# -- amends --------------------------------------------------------------------------------------


def test_an_amend_that_would_breach_max_position_is_refused(
    clock: TestClock, book: LocalOrderBook
) -> None:
    risk = engine_with(clock)
    order = resting_buy(book, qty="1")
    book.apply(fill("x", 9, 1, "2"))  # position +2, the order rests 1: worst 3
    assert why(risk.check_amend(book, order, D(100), D(1))) is None
    assert why(risk.check_amend(book, order, D(100), D(2))) == (
        "max_position",
        "worst case 4 beyond ±3",
    )


def test_an_amend_charges_what_remains_after_the_fills(
    clock: TestClock, book: LocalOrderBook
) -> None:
    risk = engine_with(clock)
    order = resting_buy(book, qty="2")
    book.apply(fill("a", 1 + ord("a"), 1, "1", cum="1"))  # the order: 1 filled, 1 left
    book.apply(fill("x", 9, 2, "1"))  # position +2
    # To 2 in all: 1 more can fill, worst +3. Charging the whole 2 would say +4.
    assert why(risk.check_amend(book, order, D(100), D(2))) is None


def test_an_amend_is_checked_for_size_notional_and_band_at_its_new_terms(
    clock: TestClock, book: LocalOrderBook
) -> None:
    risk = engine_with(clock, max_order_notional=D(200))
    order = resting_buy(book)
    assert why(risk.check_amend(book, order, D(100), D("2.5"))) == ("max_order_qty", "2.5 > 2")
    assert why(risk.check_amend(book, order, D("104"), D(2))) == ("max_order_notional", "208 > 200")
    assert why(risk.check_amend(book, order, D("94"), D(1))) == (
        "price_band",
        "94 is more than 5% from 100",
    )


def reduce_only_order(book: LocalOrderBook, cid: str, side: Side, qty: str = "1") -> Order:
    book.create(msgspec.structs.replace(submit(cid, qty=qty, side=side), reduce_only=True))
    order = book.get(SYM, ClientOrderId(cid))
    assert order is not None
    assert order.reduce_only
    return order


def test_a_reduce_only_amend_is_not_charged_against_max_position(
    clock: TestClock, book: LocalOrderBook
) -> None:
    risk = engine_with(clock)
    # A reduce-only BUY placed while short, the position long since: it cannot fill (the venue
    # would make it flip), so amending it adds nothing to the worst case.
    order = reduce_only_order(book, "r", Side.BUY)
    book.apply(fill("x", 9, 1, "3"))  # +3: at the limit
    assert why(risk.check_amend(book, order, D(100), D(1))) is None


def test_a_reduce_only_order_is_not_charged_against_max_position(
    clock: TestClock, book: LocalOrderBook
) -> None:
    risk = engine_with(clock, max_open_orders=9)
    book.apply(fill("x", 9, 1, "3"))  # +3
    for cid in ("s1", "s2", "s3"):
        book.create(submit(cid, qty="2", side=Side.SELL))  # worst case: 3 - 6 = -3
    assert new_why(risk, book, "0.1", side=Side.SELL) == (
        "max_position",
        "worst case -3.1 beyond ±3",
    )
    assert new_why(risk, book, "1", side=Side.SELL, reduce_only=True) is None


def test_a_market_order_is_never_banded(clock: TestClock, book: LocalOrderBook) -> None:
    risk = engine_with(clock, max_order_notional=D(1000))
    assert new_why(risk, book, "1", "200", order_type=OrderType.MARKET) is None


def test_no_reference_price_refuses_an_amend_and_a_group_naming_the_symbol(
    clock: TestClock, book: LocalOrderBook
) -> None:
    risk = engine_with(clock)
    order = resting_buy(book)
    risk.reference_prices.clear()
    expected = ("price_band", "no reference price for BTCUSDC yet")
    assert why(risk.check_amend(book, order, D(100), D(1))) == expected
    rejection = why(check(risk, book, two_buys("g", "1")))
    assert rejection == (expected[0], f"group g order g-a: {expected[1]}")


def test_a_group_that_adds_nothing_on_a_side_is_not_checked_on_it(
    clock: TestClock, book: LocalOrderBook
) -> None:
    risk = engine_with(clock)
    book.apply(fill("x", 9, 1, "4", side=Side.SELL))  # short 4: beyond max_position already
    buys = oco("b", SYM, [limit(Side.BUY, D(1), D(99)), limit(Side.BUY, D(1), D(98))])
    assert why(check(risk, book, buys)) is None  # it can only bring the position back


def test_a_group_charging_less_than_one_is_still_checked(
    clock: TestClock, book: LocalOrderBook
) -> None:
    risk = engine_with(clock)
    book.apply(fill("x", 9, 1, "2.6", side=Side.SELL))
    sells = oco("s", SYM, [limit(Side.SELL, D("0.5"), D(101)), limit(Side.SELL, D("0.5"), D(102))])
    assert why(check(risk, book, sells)) == (
        "max_position",
        "group s worst case -3.1 beyond ±3"
        " (the group charges 0.5 SELL once, not the sum of its legs)",
    )


# -- the cached resting sum --------------------------------------------------------------------


def test_the_resting_cache_is_kept_per_side_symbol_and_book(
    clock: TestClock, book: LocalOrderBook
) -> None:
    eth = Symbol("ETHUSDC")
    limits = SymbolLimits(
        max_order_qty=D(5), max_order_notional=D(10_000), max_open_orders=9, max_position=D(3)
    )
    risk = RiskEngine(
        RiskConfig(limits={SYM: limits, eth: limits}, max_orders_per_second=1000), clock
    )
    risk.set_reference_price(SYM, D(100))
    risk.set_reference_price(eth, D(100))
    risk.book_version = lambda: 7  # never moves during this test
    resting_buy(book, qty="2")  # 2 BUY resting on BTCUSDC

    def go(symbol: Symbol, side: Side, qty: str, on: LocalOrderBook = book) -> str | None:
        r = risk.check_new(
            on, symbol=symbol, side=side, order_type=OrderType.LIMIT, quantity=D(qty), price=D(100)
        )
        return None if r is None else r.check

    assert go(SYM, Side.BUY, "1.5") == "max_position"  # 2 + 1.5: caches BUY = 2
    assert go(SYM, Side.SELL, "3") is None  # nothing rests on the SELL side
    assert go(eth, Side.BUY, "3") is None  # nor on ETHUSDC
    assert go(SYM, Side.BUY, "3", on=LocalOrderBook(clock)) is None  # nor in another book
    assert go(SYM, Side.BUY, "1") is None  # and BTCUSDC BUY is still 2


# -- groups: every order the first plan sends is checked, each side of the exposure too --------


def test_a_group_at_the_open_order_limit_passes_one_more_is_refused(
    clock: TestClock, book: LocalOrderBook
) -> None:
    risk = engine_with(clock)  # max_open_orders 3
    book.create(submit("q1", qty="0.1", side=Side.SELL))
    assert why(check(risk, book, two_buys("g", "1"))) is None  # 1 open + 2 new = 3
    book.create(submit("q2", qty="0.1", side=Side.SELL))
    assert why(check(risk, book, two_buys("h", "1"))) == (
        "max_open_orders",
        "group h: 2 open + 2 new > 3",
    )


def test_a_reduce_only_group_order_must_reduce(clock: TestClock, book: LocalOrderBook) -> None:
    risk = engine_with(clock)
    exits = oco(
        "x",
        SYM,
        [
            limit(Side.SELL, D(1), D(103), reduce_only=True),
            stop_market(Side.SELL, D(1), D(97), reduce_only=True),
        ],
    )
    assert why(check(risk, book, exits)) == (
        "reduce_only",
        "group x order x-a: SELL would not reduce 0",
    )
    book.apply(fill("p", 9, 1, "1"))  # long 1: now they reduce it
    assert why(check(risk, book, exits)) is None


def test_a_stop_group_order_is_banded_by_its_trigger_price(
    clock: TestClock, book: LocalOrderBook
) -> None:
    risk = engine_with(clock)
    stops = oco("s", SYM, [stop_market(Side.BUY, D(1), D(106)), limit(Side.BUY, D(1), D(99))])
    assert why(check(risk, book, stops)) == (
        "price_band",
        "group s order s-a: 106 is more than 5% from 100",
    )
    far_limit = oco("l", SYM, [limit(Side.BUY, D(1), D(94)), limit(Side.BUY, D(1), D(99))])
    assert why(check(risk, book, far_limit)) == (
        "price_band",
        "group l order l-a: 94 is more than 5% from 100",
    )


def test_a_leg_is_valued_at_its_price_or_else_its_trigger(
    clock: TestClock, book: LocalOrderBook
) -> None:
    risk = engine_with(clock)  # notional 250
    child = oto("g", SYM, limit(Side.BUY, D(1), D(99)), [limit(Side.SELL, D(2), D(126))])
    assert why(check(risk, book, child)) == (
        "max_order_notional",
        "group g leg c1: 252 > 250",
    )
    stop_child = oto("h", SYM, limit(Side.BUY, D(1), D(99)), [stop_market(Side.SELL, D(2), D(126))])
    assert why(check(risk, book, stop_child)) == (
        "max_order_notional",
        "group h leg c1: 252 > 250",
    )


def test_each_side_of_a_groups_exposure_is_checked(clock: TestClock, book: LocalOrderBook) -> None:
    risk = engine_with(clock)
    book.apply(fill("x", 9, 1, "2", side=Side.SELL))  # short 2
    sells = oco("s", SYM, [limit(Side.SELL, D(2), D(101)), limit(Side.SELL, D(1), D(102))])
    # No BUY exposure: the SELL side is still checked (-2 - 2 = -4).
    assert why(check(risk, book, sells)) == (
        "max_position",
        "group s worst case -4 beyond ±3 (the group charges 2 SELL once, not the sum of its legs)",
    )
    small = oco("t", SYM, [limit(Side.SELL, D("1.5"), D(101)), limit(Side.SELL, D(1), D(102))])
    assert why(check(risk, book, small)) == (
        "max_position",
        "group t worst case -3.5 beyond ±3"
        " (the group charges 1.5 SELL once, not the sum of its legs)",
    )
    one = oco("u", SYM, [limit(Side.SELL, D("1"), D(101)), limit(Side.SELL, D("0.5"), D(102))])
    assert why(check(risk, book, one)) is None  # -3: at the limit


def test_a_group_takes_one_unit_of_the_rate_budget_per_order_it_sends(
    clock: TestClock, book: LocalOrderBook
) -> None:
    risk = engine(clock, max_orders_per_second=3)
    assert why(check(risk, book, two_buys("g", "1"))) is None  # 2 of 3
    assert new(risk, book, "0.1") is None  # 3 of 3
    assert new(risk, book, "0.1") == "order_rate"
