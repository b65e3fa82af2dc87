from decimal import Decimal as D

import pytest

from mmoms.core.book import LocalOrderBook
from mmoms.core.clock import TestClock
from mmoms.core.enums import OrderType, Side
from mmoms.core.enums import VenueOrderStatus as V
from mmoms.core.ids import ClientOrderId
from mmoms.engine.risk import ErrorRate, RiskConfig, RiskEngine, SymbolLimits
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
