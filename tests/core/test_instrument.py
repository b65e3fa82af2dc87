from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmoms.core.enums import Side
from mmoms.core.errors import UnrepresentableValueError
from mmoms.core.ids import Symbol
from mmoms.core.instrument import Instrument, PriceRounding

# Re-exported: engine tests list this exchangeInfo entry in their fake venue. Parsing it is the
# Binance gateway's job (tests/venues/test_instruments.py checks it parses to BTC below).
from tests.venues.test_instruments import BTCUSDC  # noqa: F401

# The live BTCUSDT filters from the research notes (binance-usdm.md §3.8), as BTCUSDC.
BTC = Instrument(
    symbol=Symbol("BTCUSDC"),
    base_asset="BTC",
    quote_asset="USDC",
    margin_asset="USDC",
    tick_size=D("0.10"),
    min_price=D("556.80"),
    max_price=D("4529764"),
    step_size=D("0.001"),
    min_qty=D("0.001"),
    max_qty=D("1000"),
    market_step_size=D("0.001"),
    market_min_qty=D("0.001"),
    market_max_qty=D("120"),
    min_notional=D("50"),
    multiplier_up=D("1.0500"),
    multiplier_down=D("0.9500"),
    max_num_orders=200,
)


@pytest.fixture
def btc() -> Instrument:
    return BTC


def test_price_band_is_relative_to_the_mark(btc: Instrument) -> None:
    assert btc.price_band(D("100000")) == (D("95000.0000"), D("105000.0000"))


def test_exact_price_must_be_on_tick(btc: Instrument) -> None:
    assert btc.round_price(D("95000.1")) == D("95000.1")
    with pytest.raises(UnrepresentableValueError, match="tick size"):
        btc.round_price(D("95000.15"))


@pytest.mark.parametrize(
    ("rounding", "side", "expected"),
    [
        (PriceRounding.DOWN, None, "95000.1"),
        (PriceRounding.UP, None, "95000.2"),
        (PriceRounding.PASSIVE, Side.BUY, "95000.1"),  # a bid moves away from the spread: down
        (PriceRounding.PASSIVE, Side.SELL, "95000.2"),  # an ask moves away: up
        (PriceRounding.AGGRESSIVE, Side.BUY, "95000.2"),
        (PriceRounding.AGGRESSIVE, Side.SELL, "95000.1"),
    ],
)
def test_price_rounding_modes(
    btc: Instrument, rounding: PriceRounding, side: Side | None, expected: str
) -> None:
    assert btc.round_price(D("95000.15"), rounding, side) == D(expected)


def test_side_dependent_rounding_needs_a_side(btc: Instrument) -> None:
    with pytest.raises(UnrepresentableValueError, match="needs a side"):
        btc.round_price(D("95000.15"), PriceRounding.PASSIVE)


@pytest.mark.parametrize("price", ["0", "-1", "556.7", "4529764.1", "NaN", "Infinity"])
def test_prices_outside_the_filter_are_errors(btc: Instrument, price: str) -> None:
    with pytest.raises(UnrepresentableValueError):
        btc.round_price(D(price), PriceRounding.DOWN)


def test_quantity_rounds_down_never_up(btc: Instrument) -> None:
    assert btc.round_qty(D("0.0019")) == D("0.001")
    assert btc.round_qty(D("1.2345")) == D("1.234")


def test_quantity_below_minimum_after_rounding_is_an_error(btc: Instrument) -> None:
    with pytest.raises(UnrepresentableValueError, match="below min"):
        btc.round_qty(D("0.0009"))


def test_quantity_above_maximum_is_an_error(btc: Instrument) -> None:
    assert btc.round_qty(D("1000")) == D("1000.000")
    with pytest.raises(UnrepresentableValueError, match="above max"):
        btc.round_qty(D("1000.001"))
    with pytest.raises(UnrepresentableValueError, match="above max"):
        btc.round_qty(D("121"), market=True)


def test_check_qty_refuses_off_grid(btc: Instrument) -> None:
    assert btc.check_qty(D("0.002")) == D("0.002")
    with pytest.raises(UnrepresentableValueError, match="step size"):
        btc.check_qty(D("0.0025"))


def test_min_notional_exempts_reduce_only(btc: Instrument) -> None:
    btc.check_notional(D("95000"), D("0.001"), reduce_only=True)
    with pytest.raises(UnrepresentableValueError, match="notional"):
        btc.check_notional(D("95000"), D("0.0005"))
    btc.check_notional(D("50000"), D("0.001"))


@given(st.decimals(min_value=D("0.0005"), max_value=D("999"), places=6))
def test_rounded_quantity_is_on_grid_and_never_larger(qty: D) -> None:
    btc = BTC
    try:
        snapped = btc.round_qty(qty)
    except UnrepresentableValueError:
        assert qty < btc.min_qty
        return
    assert snapped <= qty
    assert qty - snapped < btc.step_size
    assert snapped % btc.step_size == 0


@given(st.decimals(min_value=D("600"), max_value=D("4000000"), places=4), st.sampled_from(Side))
def test_passive_price_never_crosses_towards_the_spread(price: D, side: Side) -> None:
    btc = BTC
    snapped = btc.round_price(price, PriceRounding.PASSIVE, side)
    assert snapped % btc.tick_size == 0
    assert abs(snapped - price) < btc.tick_size
    if side is Side.BUY:
        assert snapped <= price
    else:
        assert snapped >= price
