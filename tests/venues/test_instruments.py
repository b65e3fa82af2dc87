"""Binance ``exchangeInfo`` entries → neutral instruments (the gateway's side of the split)."""

from decimal import Decimal as D
from typing import Any

import pytest

from mmoms.core.errors import InstrumentError
from mmoms.venues.binance.instruments import instrument_from_exchange_info

# The live BTCUSDT filters from the research notes (binance-usdm.md §3.8), as a BTCUSDC entry.
BTCUSDC: dict[str, Any] = {
    "symbol": "BTCUSDC",
    "baseAsset": "BTC",
    "quoteAsset": "USDC",
    "marginAsset": "USDC",
    "status": "TRADING",
    "filters": [
        {
            "filterType": "PRICE_FILTER",
            "tickSize": "0.10",
            "minPrice": "556.80",
            "maxPrice": "4529764",
        },
        {"filterType": "LOT_SIZE", "stepSize": "0.001", "maxQty": "1000", "minQty": "0.001"},
        {"filterType": "MARKET_LOT_SIZE", "minQty": "0.001", "stepSize": "0.001", "maxQty": "120"},
        {"filterType": "MAX_NUM_ORDERS", "limit": 200},
        {"filterType": "MIN_NOTIONAL", "notional": "50"},
        {
            "filterType": "PERCENT_PRICE",
            "multiplierUp": "1.0500",
            "multiplierDown": "0.9500",
            "multiplierDecimal": "4",
        },
    ],
}


def test_filters_are_read() -> None:
    btc = instrument_from_exchange_info(BTCUSDC)
    assert btc.tick_size == D("0.10")
    assert (btc.min_price, btc.max_price) == (D("556.80"), D("4529764"))
    assert btc.step_size == D("0.001")
    assert btc.min_qty == D("0.001")
    assert btc.market_max_qty == D("120")
    assert btc.min_notional == D("50")
    assert btc.max_num_orders == 200
    assert btc.margin_asset == "USDC"
    assert (btc.multiplier_down, btc.multiplier_up) == (D("0.9500"), D("1.0500"))
    assert btc.trading


def test_the_entry_parses_to_the_core_tests_instrument() -> None:
    from tests.core.test_instrument import BTC

    assert instrument_from_exchange_info(BTCUSDC) == BTC


def test_optional_filters_have_defaults() -> None:
    required = {"PRICE_FILTER", "LOT_SIZE"}
    entry = {
        **BTCUSDC,
        "status": "SETTLING",
        "filters": [f for f in BTCUSDC["filters"] if f["filterType"] in required],
    }
    inst = instrument_from_exchange_info(entry)
    assert inst.market_max_qty == D("1000")  # MARKET_LOT_SIZE falls back to LOT_SIZE
    assert inst.min_notional == 0
    assert inst.max_num_orders == 200
    assert not inst.trading


@pytest.mark.parametrize(
    "broken",
    [
        {"symbol": "X"},
        {**BTCUSDC, "filters": [f for f in BTCUSDC["filters"] if f["filterType"] != "LOT_SIZE"]},
        {
            **BTCUSDC,
            "filters": [
                {"filterType": "PRICE_FILTER", "tickSize": "abc", "minPrice": "1", "maxPrice": "2"}
            ],
        },
        {
            **BTCUSDC,
            "filters": [
                {"filterType": "PRICE_FILTER", "tickSize": "0", "minPrice": "1", "maxPrice": "2"},
                {"filterType": "LOT_SIZE", "stepSize": "1", "maxQty": "1", "minQty": "1"},
            ],
        },
        {
            **BTCUSDC,
            "filters": [
                {"filterType": "PRICE_FILTER", "tickSize": "1", "minPrice": "1", "maxPrice": "NaN"},
                {"filterType": "LOT_SIZE", "stepSize": "1", "maxQty": "1", "minQty": "1"},
            ],
        },
    ],
)
def test_bad_exchange_info_is_a_clear_error(broken: dict[str, Any]) -> None:
    with pytest.raises(InstrumentError, match=r"exchangeInfo|positive"):
        instrument_from_exchange_info(broken)
