"""Public endpoints and the endpoint table: shapes, weights, security, exchangeInfo fields."""

from __future__ import annotations

import pytest
from _exchange_kit import Kit

from mmoms.sim.api import Security

CCXT_SYMBOL_FIELDS = {
    "symbol",
    "pair",
    "contractType",
    "deliveryDate",
    "onboardDate",
    "status",
    "baseAsset",
    "quoteAsset",
    "marginAsset",
    "pricePrecision",
    "quantityPrecision",
    "baseAssetPrecision",
    "quotePrecision",
    "underlyingType",
    "triggerProtect",
    "liquidationFee",
    "marketTakeBound",
    "maintMarginPercent",
    "requiredMarginPercent",
    "orderTypes",
    "timeInForce",
    "filters",
}


def test_every_route_is_registered_once_with_its_security() -> None:
    kit = Kit()
    endpoints = kit.ex.endpoints
    assert all(key == e.key for key, e in endpoints.items())
    public = {k for k, e in endpoints.items() if e.security == Security.NONE}
    assert "GET /fapi/v1/ping" in public
    assert "GET /fapi/v1/depth" in public
    assert endpoints["POST /fapi/v1/order"].security == Security.SIGNED
    assert endpoints["GET /fapi/v3/account"].security == Security.SIGNED
    for route in (
        "DELETE /fapi/v1/allOpenOrders",
        "POST /fapi/v1/countdownCancelAll",
        "GET /fapi/v1/openOrder",
        "GET /fapi/v2/balance",
        "GET /fapi/v3/positionRisk",
        "POST /fapi/v1/multiAssetsMargin",
        "GET /fapi/v1/symbolConfig",
        "GET /fapi/v1/rateLimit/order",
        "GET /fapi/v2/ticker/price",
        "GET /fapi/v1/ticker/24hr",
    ):
        assert route in endpoints


def test_exchange_info_has_what_clients_need() -> None:
    kit = Kit()
    info = kit.call("GET /fapi/v1/exchangeInfo")
    assert info["timezone"] == "UTC"
    assert info["futuresType"] == "U_MARGINED"
    assert info["serverTime"] == kit.clock.now_ms
    assert [
        (r["rateLimitType"], r["intervalNum"], r["interval"], r["limit"])
        for r in info["rateLimits"]
    ] == [
        ("REQUEST_WEIGHT", 1, "MINUTE", 2400),
        ("ORDERS", 1, "MINUTE", 1200),
        ("ORDERS", 10, "SECOND", 300),
    ]
    assert [a["asset"] for a in info["assets"]] == ["USDC", "USDT"]
    by_symbol = {s["symbol"]: s for s in info["symbols"]}
    assert set(by_symbol) == {"BTCUSDC", "ETHUSDC", "BTCUSDT"}
    btc = by_symbol["BTCUSDC"]
    assert set(btc) >= CCXT_SYMBOL_FIELDS
    filters = {f["filterType"]: f for f in btc["filters"]}
    assert filters["PRICE_FILTER"]["tickSize"] == "0.10"
    assert filters["LOT_SIZE"] == {
        "filterType": "LOT_SIZE",
        "minQty": "0.001",
        "maxQty": "1000",
        "stepSize": "0.001",
    }
    assert filters["MARKET_LOT_SIZE"]["maxQty"] == "120"
    assert filters["MIN_NOTIONAL"]["notional"] == "5"
    assert filters["MAX_NUM_ORDERS"]["limit"] == 200
    assert (
        filters["PERCENT_PRICE"]["multiplierUp"],
        filters["PERCENT_PRICE"]["multiplierDown"],
    ) == ("1.0500", "0.9500")
    assert by_symbol["BTCUSDT"]["marginAsset"] == "USDT"
    assert by_symbol["ETHUSDC"]["filters"][0]["tickSize"] == "0.01"


def test_depth_snapshot_and_weights() -> None:
    kit = Kit()
    depth = kit.call("GET /fapi/v1/depth", symbol="BTCUSDC", limit=5)
    assert depth["bids"][0] == ["94999.90", "0.500"]
    assert depth["asks"][0] == ["95000.10", "0.500"]
    assert len(depth["bids"]) == 5
    assert depth["lastUpdateId"] > 0
    assert depth["E"] == depth["T"] == kit.clock.now_ms
    weight = kit.ex.endpoints["GET /fapi/v1/depth"].weight
    assert [weight({"limit": str(n)}) for n in (5, 50, 100, 500, 1000)] == [2, 2, 5, 10, 20]
    assert weight({}) == 10
    assert kit.error("GET /fapi/v1/depth", symbol="BTCUSDC", limit=7).code == -1130
    assert kit.error("GET /fapi/v1/depth", symbol="XRPUSDC").code == -1121
    before = depth["lastUpdateId"]
    kit.limit("BUY", "94000.00", "0.010")
    assert kit.call("GET /fapi/v1/depth", symbol="BTCUSDC")["lastUpdateId"] > before


def test_tickers_with_and_without_symbol() -> None:
    kit = Kit()
    book = kit.call("GET /fapi/v1/ticker/bookTicker", symbol="BTCUSDC")
    assert (book["bidPrice"], book["bidQty"], book["askPrice"], book["askQty"]) == (
        "94999.90",
        "0.500",
        "95000.10",
        "0.500",
    )
    assert len(kit.call("GET /fapi/v1/ticker/bookTicker")) == 3
    premium = kit.call("GET /fapi/v1/premiumIndex", symbol="ETHUSDC")
    assert premium["markPrice"] == "3500.00000000"
    assert premium["nextFundingTime"] % (8 * 3_600_000) == 0
    assert set(premium) == {
        "symbol",
        "markPrice",
        "indexPrice",
        "estimatedSettlePrice",
        "lastFundingRate",
        "interestRate",
        "nextFundingTime",
        "time",
    }
    kit.market("BUY", "0.010")
    price = kit.call("GET /fapi/v2/ticker/price", symbol="BTCUSDC")
    assert price["price"] == "95000.10"
    stats = kit.call("GET /fapi/v1/ticker/24hr", symbol="BTCUSDC")
    assert (stats["lastPrice"], stats["volume"], stats["count"]) == ("95000.10", "0.010", 1)
    assert kit.ex.endpoints["GET /fapi/v1/ticker/24hr"].weight({}) == 40
    assert kit.ex.endpoints["GET /fapi/v1/openOrders"].weight({"symbol": "BTCUSDC"}) == 1


@pytest.mark.parametrize("route", ["GET /fapi/v1/ping", "GET /fapi/v1/time"])
def test_ping_and_time(route: str) -> None:
    kit = Kit()
    reply = kit.call(route)
    assert reply == ({} if route.endswith("ping") else {"serverTime": kit.clock.now_ms})


def test_klines_from_trades_with_flat_gaps_and_merged_intervals() -> None:
    kit = Kit()  # starts on a minute boundary
    kit.market("BUY", "0.600")  # 0.5 @ 95000.10, 0.1 @ 95000.20
    kit.advance(120_000)  # two minutes later
    kit.market("SELL", "0.100")  # @ 94999.90
    one_minute = kit.call("GET /fapi/v1/klines", symbol="BTCUSDC", interval="1m")
    assert [row[0] - kit.ex.started_ms for row in one_minute] == [0, 60_000, 120_000]
    first, gap, last = one_minute
    assert first[1:6] == ["95000.10", "95000.20", "95000.10", "95000.20", "0.600"]
    assert (first[6], first[8], first[9]) == (kit.ex.started_ms + 59_999, 2, "0.600")
    assert gap[1:6] == ["95000.20", "95000.20", "95000.20", "95000.20", "0.000"]
    assert last[1:6] == ["94999.90", "94999.90", "94999.90", "94999.90", "0.100"]
    assert last[9] == "0.000"  # the taker sold: no taker-buy volume
    [five] = kit.call("GET /fapi/v1/klines", symbol="BTCUSDC", interval="5m")
    assert five[1:6] == ["95000.10", "95000.20", "94999.90", "94999.90", "0.700"]
    assert five[8] == 3
    latest = kit.call("GET /fapi/v1/klines", symbol="BTCUSDC", interval="1m", limit=1)
    assert latest == [last]
    since = kit.call(
        "GET /fapi/v1/klines",
        symbol="BTCUSDC",
        interval="1m",
        startTime=kit.ex.started_ms + 60_000,
        limit=1,
    )
    assert since == [gap]
    assert kit.error("GET /fapi/v1/klines", symbol="BTCUSDC", interval="7m").code == -1120
    assert kit.error("GET /fapi/v1/klines", symbol="BTCUSDC").code == -1102
    weight = kit.ex.endpoints["GET /fapi/v1/klines"].weight
    assert [weight({"limit": str(n)}) for n in (99, 100, 500, 1000, 1500)] == [1, 2, 5, 5, 10]


def test_recent_trades_and_agg_trades() -> None:
    kit = Kit()
    kit.market("BUY", "0.600")
    kit.advance(1000)
    kit.ex.inject_trade("BTCUSDC", "SELL", "0.200")
    trades = kit.call("GET /fapi/v1/trades", symbol="BTCUSDC")
    assert [(t["price"], t["qty"], t["isBuyerMaker"]) for t in trades] == [
        ("95000.10", "0.500", False),
        ("95000.20", "0.100", False),
        ("94999.90", "0.200", True),
    ]
    assert trades[0]["quoteQty"] == "47500.05000"
    ids = [t["id"] for t in trades]
    assert ids == list(range(ids[0], ids[0] + 3))
    aggs = kit.call("GET /fapi/v1/aggTrades", symbol="BTCUSDC", startTime=kit.clock.now_ms)
    assert [(a["a"], a["f"], a["l"], a["p"], a["m"]) for a in aggs] == [
        (ids[2], ids[2], ids[2], "94999.90", True),
    ]
    assert kit.call("GET /fapi/v1/trades", symbol="BTCUSDC", limit=1) == trades[-1:]
    from_first = kit.call("GET /fapi/v1/aggTrades", symbol="BTCUSDC", fromId=ids[1], limit=1)
    assert [a["a"] for a in from_first] == [ids[1]]
