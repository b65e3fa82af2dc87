"""Order lifecycle through the endpoints: time in force, amend, cancel, queries, STP, expiry.

The quiet ladder: BTCUSDC bids 94999.90 / .80 / .70 / .60 / .50 and asks 95000.10 … 95000.50,
0.5 BTC each, nothing moves unless a test makes it.
"""

from __future__ import annotations

from _exchange_kit import OTHER_KEY, Kit

ORDER = "POST /fapi/v1/order"
MODIFY = "PUT /fapi/v1/order"
CANCEL = "DELETE /fapi/v1/order"
QUERY = "GET /fapi/v1/order"


def test_post_only_that_would_take_is_rejected_and_leaves_no_trace() -> None:
    kit = Kit()
    before = kit.depth()
    err = kit.error(
        ORDER,
        symbol="BTCUSDC",
        side="BUY",
        type="LIMIT",
        timeInForce="GTX",
        quantity="0.010",
        price="95000.10",
    )
    assert (err.http_status, err.code) == (400, -5022)
    assert err.msg.endswith("The order will not be recorded in the order history")
    assert kit.events == []
    assert kit.account.history == {}
    assert kit.depth()["bids"] == before["bids"]
    maker = kit.limit("BUY", "95000.00", "0.010", tif="GTX")
    assert maker["status"] == "NEW"
    assert maker["orderId"] == 8_000_000_001  # the rejected one consumed no id


def test_fok_rejected_when_not_fully_fillable_and_nothing_trades() -> None:
    kit = Kit()
    before = kit.depth()
    err = kit.error(
        ORDER,
        symbol="BTCUSDC",
        side="BUY",
        type="LIMIT",
        timeInForce="FOK",
        quantity="2.600",
        price="95000.50",
    )
    assert err.code == -5021
    assert kit.depth() == before
    assert kit.events == []
    filled = kit.limit("BUY", "95000.50", "2.500", tif="FOK", newOrderRespType="RESULT")
    assert (filled["status"], filled["executedQty"]) == ("FILLED", "2.500")


def test_ioc_partial_fill_expires_the_rest() -> None:
    kit = Kit()
    reply = kit.limit("BUY", "95000.10", "0.700", tif="IOC", newOrderRespType="RESULT")
    assert (reply["status"], reply["executedQty"]) == ("EXPIRED", "0.500")
    assert "avgPrice" not in reply  # acknowledgements have none since 2026; queries do
    query = kit.call("GET /fapi/v1/order", symbol="BTCUSDC", orderId=reply["orderId"])
    assert (query["avgPrice"], "cumQty" in query) == ("95000.10", False)
    assert kit.kinds() == [
        "OTU:NEW:NEW",
        "TRADE_LITE",
        "OTU:TRADE:PARTIALLY_FILLED",
        "OTU:EXPIRED:EXPIRED",
        "ACCOUNT_UPDATE",
    ]
    assert kit.order_updates()[-1]["er"] == "2"
    assert kit.call("GET /fapi/v1/openOrders", symbol="BTCUSDC") == []


def test_market_order_walks_levels_and_expires_beyond_liquidity() -> None:
    kit = Kit()
    reply = kit.market("BUY", "0.700")
    assert (reply["status"], reply["executedQty"]) == ("FILLED", "0.700")
    query = kit.call("GET /fapi/v1/order", symbol="BTCUSDC", orderId=reply["orderId"])
    assert query["cumQuote"] == "66500.09000"  # 0.5 x 95000.10 + 0.2 x 95000.20
    assert query["avgPrice"] == "95000.12857143"
    rest = kit.market("BUY", "2.000")  # only 1.8 left on the ladder
    assert (rest["status"], rest["executedQty"]) == ("EXPIRED", "1.800")
    assert kit.order_updates()[-1]["er"] == "9"


def test_ack_reply_shows_the_order_as_accepted_before_matching() -> None:
    kit = Kit()
    ack = kit.market("SELL", "0.100", newOrderRespType="ACK")
    assert (ack["status"], ack["executedQty"]) == ("NEW", "0.000")
    final = kit.call(QUERY, symbol="BTCUSDC", orderId=ack["orderId"])
    assert (final["status"], final["executedQty"]) == ("FILLED", "0.100")
    statuses = [o["X"] for o in kit.order_updates() if o["i"] == ack["orderId"]]
    assert statuses == ["NEW", "FILLED"]  # REST and stream tell the same story


def test_amend_requeues_behind_orders_at_the_same_price() -> None:
    kit = Kit()
    first = kit.limit("BUY", "94999.90", "0.010")
    second = kit.limit("BUY", "94999.90", "0.010")
    amended = kit.call(
        MODIFY,
        symbol="BTCUSDC",
        orderId=first["orderId"],
        side="BUY",
        quantity="0.020",
        price="94999.90",
        modifyId=7,
    )
    assert (amended["origQty"], amended["status"], amended["modifyId"]) == ("0.020", "NEW", 7)
    amendment = kit.order_updates()[-1]
    assert (amendment["x"], amendment["M"], amendment["q"]) == ("AMENDMENT", 7, "0.020")
    kit.take()
    kit.ex.inject_trade("BTCUSDC", "SELL", "0.510")  # synthetic 0.5 ahead, then 0.01
    fills = [(o["i"], o["X"]) for o in kit.order_updates() if o["x"] == "TRADE"]
    assert fills == [(second["orderId"], "FILLED")]


def test_amend_without_modify_id_omits_it_and_price_change_moves_the_order() -> None:
    kit = Kit()
    order = kit.limit("BUY", "94000.00", "0.010")
    kit.call(
        MODIFY,
        symbol="BTCUSDC",
        orderId=order["orderId"],
        side="BUY",
        quantity="0.010",
        price="94100.00",
    )
    assert "M" not in kit.order_updates()[-1]
    assert kit.call(QUERY, symbol="BTCUSDC", orderId=order["orderId"])["price"] == "94100.00"


def test_amend_to_quantity_at_or_below_filled_cancels_the_order() -> None:
    kit = Kit()
    order = kit.limit("SELL", "95000.10", "0.030")  # behind 0.5 synthetic at the best ask
    kit.ex.inject_trade("BTCUSDC", "BUY", "0.510")
    assert kit.call(QUERY, symbol="BTCUSDC", orderId=order["orderId"])["executedQty"] == "0.010"
    reply = kit.call(
        MODIFY,
        symbol="BTCUSDC",
        orderId=order["orderId"],
        side="SELL",
        quantity="0.010",
        price="95000.10",
    )
    assert reply["status"] == "CANCELED"
    assert kit.order_updates()[-1]["x"] == "CANCELED"


def test_amend_errors() -> None:
    kit = Kit()
    order = kit.limit("BUY", "94000.00", "0.010")
    same = kit.error(
        MODIFY,
        symbol="BTCUSDC",
        orderId=order["orderId"],
        side="BUY",
        quantity="0.010",
        price="94000.00",
    )
    assert (same.code, same.msg) == (-5027, "No need to modify the order.")
    missing = kit.error(
        MODIFY, symbol="BTCUSDC", orderId=1, side="BUY", quantity="0.010", price="94000.00"
    )
    assert missing.code == -2013
    tick = kit.error(
        MODIFY,
        symbol="BTCUSDC",
        orderId=order["orderId"],
        side="BUY",
        quantity="0.010",
        price="94000.05",
    )
    assert tick.code == -4014
    assert kit.call(QUERY, symbol="BTCUSDC", orderId=order["orderId"])["price"] == "94000.00"


def test_amend_across_the_spread_trades_and_post_only_amend_cancels() -> None:
    kit = Kit()
    order = kit.limit("BUY", "94000.00", "0.010")
    traded = kit.call(
        MODIFY,
        symbol="BTCUSDC",
        orderId=order["orderId"],
        side="BUY",
        quantity="0.010",
        price="95000.10",
    )
    assert traded["status"] == "FILLED"
    maker = kit.limit("BUY", "94000.00", "0.010", tif="GTX")
    canceled = kit.call(
        MODIFY,
        symbol="BTCUSDC",
        orderId=maker["orderId"],
        side="BUY",
        quantity="0.010",
        price="95000.20",
    )
    assert canceled["status"] == "CANCELED"


def test_cancel_and_query_unknown_or_closed_orders() -> None:
    kit = Kit()
    unknown = kit.error(CANCEL, symbol="BTCUSDC", orderId=123)
    assert (unknown.code, unknown.msg) == (-2011, "Unknown order sent.")
    order = kit.limit("BUY", "94000.00", "0.010", newClientOrderId="c-1")
    canceled = kit.call(CANCEL, symbol="BTCUSDC", origClientOrderId="c-1")
    assert canceled["status"] == "CANCELED"
    assert kit.error(CANCEL, symbol="BTCUSDC", orderId=order["orderId"]).code == -2011
    queried = kit.call(QUERY, symbol="BTCUSDC", orderId=order["orderId"])
    assert queried["status"] == "CANCELED"
    assert queried["time"] == kit.clock.now_ms
    missing = kit.error(QUERY, symbol="BTCUSDC", orderId=99)
    assert (missing.code, missing.msg) == (-2013, "Order does not exist.")
    open_one = kit.error("GET /fapi/v1/openOrder", symbol="BTCUSDC", orderId=order["orderId"])
    assert open_one.code == -2013
    neither = kit.error(CANCEL, symbol="BTCUSDC")
    assert (
        neither.msg
        == "Param 'orderId' or 'origClientOrderId' must be sent, but both were empty/null!"
    )


def test_cancel_all_open_orders_on_a_symbol() -> None:
    kit = Kit()
    kit.limit("BUY", "94000.00", "0.010")
    kit.limit("SELL", "96000.00", "0.010")
    eth = kit.limit("BUY", "3400.00", "0.010", symbol="ETHUSDC")
    reply = kit.call("DELETE /fapi/v1/allOpenOrders", symbol="BTCUSDC")
    assert reply == {"code": 200, "msg": "The operation of cancel all open order is done."}
    assert kit.call("GET /fapi/v1/openOrders", symbol="BTCUSDC") == []
    assert [o["orderId"] for o in kit.call("GET /fapi/v1/openOrders")] == [eth["orderId"]]
    assert [o["X"] for o in kit.order_updates()].count("CANCELED") == 2


def test_good_till_date_orders_expire_in_advance() -> None:
    kit = Kit()
    gtd = kit.clock.now_ms + 700_000
    order = kit.limit("BUY", "94000.00", "0.010", tif="GTD", goodTillDate=gtd)
    kit.advance(699_000)
    assert kit.call(QUERY, symbol="BTCUSDC", orderId=order["orderId"])["status"] == "NEW"
    kit.advance(1_000)
    assert kit.call(QUERY, symbol="BTCUSDC", orderId=order["orderId"])["status"] == "EXPIRED"
    last = kit.order_updates()[-1]
    assert (last["x"], last["X"], last["gtd"]) == ("EXPIRED", "EXPIRED", gtd)


def test_countdown_cancel_all_fires_and_can_be_disarmed() -> None:
    kit = Kit()
    order = kit.limit("BUY", "94000.00", "0.010")
    reply = kit.call("POST /fapi/v1/countdownCancelAll", symbol="BTCUSDC", countdownTime=5000)
    assert reply == {"symbol": "BTCUSDC", "countdownTime": "5000"}
    kit.advance(4000)
    kit.call("POST /fapi/v1/countdownCancelAll", symbol="BTCUSDC", countdownTime=5000)
    kit.advance(4000)  # heartbeat moved the deadline
    assert kit.call(QUERY, symbol="BTCUSDC", orderId=order["orderId"])["status"] == "NEW"
    kit.advance(1000)
    assert kit.call(QUERY, symbol="BTCUSDC", orderId=order["orderId"])["status"] == "CANCELED"
    second = kit.limit("BUY", "94000.00", "0.010")
    kit.call("POST /fapi/v1/countdownCancelAll", symbol="BTCUSDC", countdownTime=1000)
    kit.call("POST /fapi/v1/countdownCancelAll", symbol="BTCUSDC", countdownTime=0)
    kit.advance(5000)
    assert kit.call(QUERY, symbol="BTCUSDC", orderId=second["orderId"])["status"] == "NEW"


def test_self_trade_prevention_expire_maker_and_taker() -> None:
    kit = Kit()
    own_ask = kit.limit("SELL", "95000.00", "0.010")  # improves the synthetic best ask
    taker = kit.limit(
        "BUY",
        "95000.10",
        "0.020",
        tif="IOC",
        newOrderRespType="RESULT",
        selfTradePreventionMode="EXPIRE_MAKER",
    )
    maker_state = kit.call(QUERY, symbol="BTCUSDC", orderId=own_ask["orderId"])
    assert maker_state["status"] == "EXPIRED_IN_MATCH"
    maker_event = next(
        o for o in kit.order_updates() if o["i"] == own_ask["orderId"] and o["x"] == "EXPIRED"
    )
    assert (maker_event["X"], maker_event["er"]) == ("EXPIRED_IN_MATCH", "1")
    # the own maker was skipped; the taker went on to the synthetic 95000.10
    assert taker["status"] == "FILLED"
    assert kit.order_updates()[-1]["ap"] == "95000.10"

    kit.limit("SELL", "95000.00", "0.010")
    blocked = kit.limit(
        "BUY",
        "95000.10",
        "0.020",
        tif="IOC",
        newOrderRespType="RESULT",
        selfTradePreventionMode="EXPIRE_TAKER",
    )
    assert (blocked["status"], blocked["executedQty"]) == ("EXPIRED_IN_MATCH", "0.000")
    assert kit.order_updates()[-1]["er"] == "3"


def test_other_accounts_trade_with_each_other_and_both_hear_about_it() -> None:
    kit = Kit()
    maker = kit.limit("SELL", "95000.00", "0.010", account=kit.other)
    taker = kit.limit("BUY", "95000.00", "0.010", newOrderRespType="RESULT")
    assert taker["status"] == "FILLED"
    maker_updates = kit.order_updates(OTHER_KEY)
    assert [(o["x"], o["X"], o["m"]) for o in maker_updates] == [
        ("NEW", "NEW", False),
        ("TRADE", "FILLED", True),
    ]
    assert maker_updates[-1]["t"] == kit.order_updates()[-1]["t"]  # one trade, one id
    assert maker_updates[-1]["i"] == maker["orderId"]


def test_price_match_opponent_and_queue() -> None:
    kit = Kit()
    queue = kit.call(
        ORDER,
        symbol="BTCUSDC",
        side="BUY",
        type="LIMIT",
        timeInForce="GTC",
        quantity="0.010",
        priceMatch="QUEUE",
    )
    assert (queue["price"], queue["priceMatch"], queue["status"]) == ("94999.90", "QUEUE", "NEW")
    opponent = kit.call(
        ORDER,
        symbol="BTCUSDC",
        side="BUY",
        type="LIMIT",
        timeInForce="IOC",
        quantity="0.010",
        priceMatch="OPPONENT_5",
        newOrderRespType="RESULT",
    )
    assert (opponent["price"], opponent["status"]) == ("95000.50", "FILLED")


def test_all_orders_and_user_trades() -> None:
    kit = Kit()
    a = kit.limit("BUY", "94000.00", "0.010")
    b = kit.market("BUY", "0.600")
    orders = kit.call("GET /fapi/v1/allOrders", symbol="BTCUSDC")
    assert [o["orderId"] for o in orders] == [a["orderId"], b["orderId"]]
    assert (orders[1]["executedQty"], orders[1]["cumQuote"]) == ("0.600", "57000.07000")
    assert not {"cumBase", "pair", "cumQty"} & set(orders[1])  # coin-margined / ack-only
    since = kit.call("GET /fapi/v1/allOrders", symbol="BTCUSDC", orderId=b["orderId"])
    assert [o["orderId"] for o in since] == [b["orderId"]]
    trades = kit.call("GET /fapi/v1/userTrades", symbol="BTCUSDC")
    assert [(t["price"], t["qty"], t["maker"], t["buyer"]) for t in trades] == [
        ("95000.10", "0.500", False, True),
        ("95000.20", "0.100", False, True),
    ]
    assert trades[0]["commission"] == "19.00002000"  # taker 0.0004 x 47500.05
    assert trades[0]["commissionAsset"] == "USDC"
    assert trades[1]["id"] == trades[0]["id"] + 1
    limited = kit.call("GET /fapi/v1/userTrades", symbol="BTCUSDC", limit=1)
    assert [t["id"] for t in limited] == [trades[1]["id"]]
    by_from = kit.call("GET /fapi/v1/userTrades", symbol="BTCUSDC", fromId=trades[0]["id"], limit=1)
    assert [t["id"] for t in by_from] == [trades[0]["id"]]
