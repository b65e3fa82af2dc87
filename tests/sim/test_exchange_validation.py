"""New-order validation: every filter and parameter error with Binance's code and text."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from _exchange_kit import Kit, quiet_config

ORDER = "POST /fapi/v1/order"
MANDATORY = "Mandatory parameter '{}' was not sent, was empty/null, or malformed."
USE_ALGO = (
    "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead."
)
ILLEGAL = (
    "Illegal characters found in parameter '{}'; "
    "legal range is '^([0-9]{{1,20}})(\\.[0-9]{{1,20}})?$'."
)


def base(**overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "symbol": "BTCUSDC",
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.010",
        "price": "94000.00",
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


@pytest.mark.parametrize(
    ("overrides", "code", "msg"),
    [
        (
            {"symbol": None},
            -1102,
            MANDATORY.format("symbol"),
        ),
        (
            {"side": ""},
            -1102,
            MANDATORY.format("side"),
        ),
        (
            {"quantity": None},
            -1102,
            MANDATORY.format("quantity"),
        ),
        (
            {"price": None},
            -1102,
            MANDATORY.format("price"),
        ),
        (
            {"timeInForce": None},
            -1102,
            MANDATORY.format("timeInForce"),
        ),
        ({"symbol": "DOGEUSDC"}, -1121, "Invalid symbol."),
        ({"side": "HOLD"}, -1117, "Invalid side."),
        ({"type": "ICEBERG"}, -1116, "Invalid orderType."),
        (
            {"type": "STOP_MARKET"},
            -4120,
            USE_ALGO,
        ),
        (
            {"type": "TRAILING_STOP_MARKET"},
            -4120,
            USE_ALGO,
        ),
        (
            {"quantity": "1e-3"},
            -1100,
            ILLEGAL.format("quantity"),
        ),
        (
            {"price": "-5"},
            -1100,
            ILLEGAL.format("price"),
        ),
        ({"quantity": "0.0015"}, -1111, "Precision is over the maximum defined for this asset."),
        ({"price": "94000.123"}, -1111, "Precision is over the maximum defined for this asset."),
        ({"price": "94000.15"}, -4014, "Price not increased by tick size."),
        ({"quantity": "0"}, -4003, "Quantity less than zero."),
        ({"price": "500.00"}, -4013, "Price less than min price."),
        ({"price": "0"}, -4013, "Price less than min price."),
        ({"price": "5000000"}, -4002, "Price greater than max price."),
        ({"quantity": "1000.001"}, -4005, "Quantity greater than max quantity."),
        ({"price": "99750.10"}, -4016, "Price is higher than mark price multiplier cap."),
        (
            {"side": "SELL", "price": "90249.90"},
            -4024,
            "Price is lower than mark price multiplier floor.",
        ),
        (
            {"quantity": "0.001", "price": "3400.00", "symbol": "ETHUSDC"},
            -4164,
            "Order's notional must be no smaller than 5 (unless you choose reduce only).",
        ),
        ({"timeInForce": "DAY"}, -1130, "Data sent for parameter 'timeInForce' is not valid."),
        ({"timeInForce": "RPI"}, -1130, "Data sent for parameter 'timeInForce' is not valid."),
        ({"newClientOrderId": "has space"}, -4015, "Client order id is not valid."),
        ({"newClientOrderId": "x" * 37}, -4015, "Client order id is not valid."),
        (
            {"newOrderRespType": "FULL"},
            -1130,
            "Data sent for parameter 'newOrderRespType' is not valid.",
        ),
        ({"selfTradePreventionMode": "EXPIRE_ALL"}, -5039, "Invalid self trade prevention mode"),
        ({"positionSide": "LONG"}, -4061, "Order's position side does not match user's setting."),
        ({"reduceOnly": "maybe"}, -1130, "Data sent for parameter 'reduceOnly' is not valid."),
        ({"priceMatch": "BEST"}, -5037, "Invalid price match"),
        ({"priceMatch": "OPPONENT"}, -1106, "Parameter 'price' sent when not required."),
        (
            {"timeInForce": "GTD"},
            -1102,
            MANDATORY.format("goodTillDate"),
        ),
    ],
)
def test_limit_order_errors(overrides: dict[str, Any], code: int, msg: str) -> None:
    kit = Kit()
    err = kit.error(ORDER, **base(**overrides))
    assert (err.http_status, err.code, err.msg) == (400, code, msg)
    assert kit.events == []
    assert kit.account.history == {}


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"price": "95000.00"}, -1106),
        ({"timeInForce": "GTC"}, -1106),
        ({"quantity": "120.001"}, -4005),
        ({"priceMatch": "OPPONENT"}, -5038),
    ],
)
def test_market_order_errors(overrides: dict[str, Any], code: int) -> None:
    kit = Kit()
    params = base(type="MARKET", price=None, timeInForce=None)
    params.update(overrides)
    assert kit.error(ORDER, **params).code == code


def test_min_notional_uses_the_symbols_filter_and_exempts_reduce_only() -> None:
    config = quiet_config()
    strict = tuple(replace(s, min_notional="100") for s in config.symbols)
    err = Kit(replace(config, symbols=strict)).error(ORDER, **base(quantity="0.001"))
    assert err.code == -4164
    assert "no smaller than 100 " in err.msg
    kit = Kit()
    kit.market("BUY", "0.002", symbol="ETHUSDC")  # opens a 0.002 ETH long (7 USDC notional)
    small = kit.limit("SELL", "3400.00", "0.001", symbol="ETHUSDC", reduceOnly=True)
    assert small["status"] == "NEW"  # 3.4 USDC < 5, but reduce-only is exempt


@pytest.mark.parametrize(
    ("gtd_offset_ms", "ok"),
    [(600_000, False), (600_001, True), (-1, False)],
)
def test_good_till_date_must_be_ten_minutes_ahead(gtd_offset_ms: int, ok: bool) -> None:
    kit = Kit()
    gtd = kit.clock.now_ms + gtd_offset_ms + 1500 if ok else kit.clock.now_ms + gtd_offset_ms
    params = base(timeInForce="GTD", goodTillDate=gtd)
    if ok:
        reply = kit.call(ORDER, **params)
        assert reply["goodTillDate"] == gtd - gtd % 1000  # second precision
    else:
        assert kit.error(ORDER, **params).code == -5040


def test_duplicate_client_id_only_among_open_orders() -> None:
    kit = Kit()
    kit.limit("BUY", "94000.00", "0.010", newClientOrderId="mine-1")
    err = kit.error(ORDER, **base(newClientOrderId="mine-1"))
    assert (err.code, err.msg) == (-4116, "clientOrderId is duplicated")
    kit.call("DELETE /fapi/v1/order", symbol="BTCUSDC", origClientOrderId="mine-1")
    again = kit.limit("BUY", "94000.00", "0.010", newClientOrderId="mine-1")
    assert again["status"] == "NEW"


def test_client_id_is_generated_when_absent_and_accepts_binance_alphabet() -> None:
    kit = Kit()
    auto = kit.limit("BUY", "94000.00", "0.010")
    assert len(auto["clientOrderId"]) == 22
    explicit = kit.limit("BUY", "94000.00", "0.010", newClientOrderId="x-Cb7ytekJ.a:b/c_d-e")
    assert explicit["clientOrderId"] == "x-Cb7ytekJ.a:b/c_d-e"


def test_max_open_orders_per_symbol() -> None:
    kit = Kit()
    for _ in range(200):
        kit.limit("BUY", "94000.00", "0.001")
    err = kit.error(ORDER, **base(quantity="0.001"))
    assert (err.code, err.msg) == (-2025, "Reach max open order limit.")
    other_symbol = kit.limit("BUY", "3400.00", "0.010", symbol="ETHUSDC")
    assert other_symbol["status"] == "NEW"


def test_margin_insufficient() -> None:
    kit = Kit()
    # 100000 USDC at 20x covers 2,000,000 notional: 21 BTC at 94000 is 1,974,000
    kit.limit("BUY", "94000.00", "21.000")
    err = kit.error(ORDER, **base(quantity="0.300"))
    assert (err.code, err.msg) == (-2019, "Margin is insufficient.")
    # a sell does not add margin in one-way mode while buys dominate... up to the buy side
    assert kit.limit("SELL", "96000.00", "0.300")["status"] == "NEW"


def test_order_ids_are_large_and_increase_per_symbol() -> None:
    kit = Kit()
    first = kit.limit("BUY", "94000.00", "0.010")["orderId"]
    second = kit.limit("BUY", "94000.00", "0.010")["orderId"]
    eth = kit.limit("BUY", "3400.00", "0.010", symbol="ETHUSDC")["orderId"]
    assert first > 2**32
    assert second == first + 1
    assert eth == first  # ids are per symbol, like Binance's


def test_numbers_are_strings_and_ids_ints() -> None:
    kit = Kit()
    reply = kit.limit("BUY", "94000", "0.01")
    assert reply["price"] == "94000.00"
    assert reply["origQty"] == "0.010"
    assert reply["executedQty"] == "0.000"
    assert isinstance(reply["orderId"], int)
    assert isinstance(reply["updateTime"], int)
    assert reply["reduceOnly"] is False
    assert reply["selfTradePreventionMode"] == "NONE"
