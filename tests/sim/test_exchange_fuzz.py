"""Bad input gets a Binance error, never a crash: every endpoint, arbitrary parameter values."""

from __future__ import annotations

import pytest
from _exchange_kit import Kit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmoms.sim.api import SimApiError

NAMES = [
    "symbol",
    "side",
    "type",
    "timeInForce",
    "quantity",
    "price",
    "newClientOrderId",
    "newOrderRespType",
    "reduceOnly",
    "positionSide",
    "priceMatch",
    "selfTradePreventionMode",
    "goodTillDate",
    "orderId",
    "origClientOrderId",
    "limit",
    "startTime",
    "endTime",
    "fromId",
    "leverage",
    "marginType",
    "dualSidePosition",
    "multiAssetsMargin",
    "countdownTime",
    "batchOrders",
    "orderIdList",
    "origClientOrderIdList",
    "orderidlist",
    "listenKey",
    "modifyId",
]
PLAUSIBLE = [
    "BTCUSDC",
    "ETHUSDC",
    "BUY",
    "SELL",
    "LIMIT",
    "MARKET",
    "GTC",
    "IOC",
    "FOK",
    "GTX",
    "GTD",
    "0.010",
    "95000.10",
    "94000.00",
    "1",
    "0",
    "-1",
    "true",
    "false",
    "LONG",
    "SHORT",
    "BOTH",
    "OPPONENT",
    "QUEUE_5",
    "EXPIRE_MAKER",
    "RESULT",
    "ISOLATED",
    "CROSSED",
    "8000000001",
    '[{"symbol":"BTCUSDC","side":"BUY","type":"LIMIT","timeInForce":"GTC","quantity":"0.01",'
    '"price":"94000"}]',
    "[8000000001, 1]",
    '["a", 2, null]',
    "[[[]]]",
    "1e9",
    "NaN",
    "²",
    "9" * 30,
    "0.0000000001",
    "",
    " 1",
    "1\n",
]
values = st.one_of(st.sampled_from(PLAUSIBLE), st.text(max_size=40))
params = st.dictionaries(st.sampled_from(NAMES), values, max_size=8)


ROUTES = sorted(Kit().ex.endpoints)


@pytest.mark.parametrize("route", ROUTES)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=params)
def test_no_input_crashes_a_handler(route: str, raw: dict[str, str]) -> None:
    kit = Kit()
    kit.limit("BUY", "94000.00", "0.010", newClientOrderId="a")  # something to find / cancel
    endpoint = kit.ex.endpoints[route]
    weight = endpoint.weight(raw)
    assert isinstance(weight, int)
    assert weight >= 0
    error: SimApiError | None = None
    try:
        kit.call(endpoint.key, **raw)
    except SimApiError as exc:
        error = exc
    if error is not None:
        assert error.http_status == 400
        assert error.code < 0
        assert isinstance(error.msg, str)
        assert error.msg
