"""Conditional orders (the Algo Service), sans-I/O: lifecycle events, triggers, limits, errors.

The market is the kit's static ladder around 95000 (BTCUSDC). ``set_mid`` moves it: the next step
sweeps the synthetic bids in the way (so the *last* price barely moves) and the mark follows the
mid 20 % of the way per step — which separates MARK_PRICE from CONTRACT_PRICE triggers.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from _exchange_kit import Kit, quiet_config

from mmoms.sim.algo import ALGO_ID_BASE
from mmoms.sim.config_model import AccountConfig

STEP = 100
# ALGO_UPDATE of an order not yet in the matching engine, as a live capture shows it
ALGO_KEYS = {
    "caid", "aid", "at", "o", "s", "S", "ps", "f", "q", "X", "ai", "tp", "p", "V", "wt", "pm",
    "cp", "pP", "R", "tt", "gtd", "ia",
}  # fmt: skip


def place(k: Kit, **params: Any) -> Any:
    base = {"algoType": "CONDITIONAL", "symbol": "BTCUSDC", "quantity": "0.010"}
    return k.call("POST /fapi/v1/algoOrder", **{**base, **params})


def algo_events(k: Kit) -> list[dict[str, Any]]:
    return [e["o"] for _, e in k.events if e["e"] == "ALGO_UPDATE"]


def status_of(k: Kit, algo_id: int) -> str:
    return str(k.call("GET /fapi/v1/algoOrder", algoId=algo_id)["algoStatus"])


def step_until(k: Kit, done: Any, limit: int = 50) -> int:
    for n in range(1, limit + 1):
        k.advance(STEP)
        if done():
            return n
    raise AssertionError("condition not reached")


def test_stop_market_by_mark_price_full_lifecycle() -> None:
    k = Kit()
    mark_stop = place(k, side="SELL", type="STOP_MARKET", triggerPrice="94000.0",
                      workingType="MARK_PRICE")  # fmt: skip
    last_stop = place(k, side="SELL", type="STOP_MARKET", triggerPrice="94000.0")
    assert mark_stop["algoStatus"] == "NEW"
    assert mark_stop["algoId"] > ALGO_ID_BASE
    assert (mark_stop["triggerPrice"], mark_stop["workingType"]) == ("94000.00", "MARK_PRICE")
    assert last_stop["workingType"] == "CONTRACT_PRICE"
    new = algo_events(k)
    assert [e["X"] for e in new] == ["NEW", "NEW"]
    assert set(new[0]) == ALGO_KEYS
    assert (new[0]["ai"], new[0]["ia"]) == ("", False)
    k.take()

    k.ex.set_mid("BTCUSDC", "93000.0")
    state = k.ex.engine.states["BTCUSDC"]
    last_price = state.spec.price(state.stats.last_ticks)
    step_until(k, lambda: status_of(k, mark_stop["algoId"]) == "FINISHED")
    assert state.mark <= 94000 < last_price  # the mark crossed the trigger, the last price not
    assert status_of(k, last_stop["algoId"]) == "NEW"

    kinds = [
        (e["e"], e["o"].get("X") if e["e"] != "TRADE_LITE" else None)
        for _, e in k.events
        if e["e"] != "ACCOUNT_UPDATE"
    ]
    assert kinds == [
        ("ALGO_UPDATE", "TRIGGERING"),
        ("ALGO_UPDATE", "TRIGGERED"),
        ("ORDER_TRADE_UPDATE", "NEW"),
        ("TRADE_LITE", None),
        ("ORDER_TRADE_UPDATE", "FILLED"),
        ("ALGO_UPDATE", "FINISHED"),
    ]
    triggering, triggered, finished = algo_events(k)
    otu = k.order_updates()[0]
    assert triggering["ai"] == ""
    assert (triggered["ai"], triggered["act"], triggered["aq"]) == (
        str(otu["i"]),
        "MARKET",
        "0.000",
    )
    assert otu["c"] == mark_stop["clientAlgoId"]  # the engine order carries the clientAlgoId
    assert (finished["aq"], finished["tt"]) == ("0.010", triggering["tt"])
    query = k.call("GET /fapi/v1/algoOrder", clientAlgoId=mark_stop["clientAlgoId"])
    filled = k.order_updates()[-1]
    assert (query["actualOrderId"], query["actualPrice"]) == (str(otu["i"]), filled["ap"])
    assert "actualQty" not in query  # the real exchange has none: the fill is the order's
    assert k.position().lots == -10
    k.advance(STEP)  # the stop's own sale printed below 94000: the last-price stop fires now
    assert status_of(k, last_stop["algoId"]) == "FINISHED"


def test_take_profit_limit_rests_in_the_book_and_finishes_when_canceled() -> None:
    k = Kit()
    tp = place(k, side="BUY", type="TAKE_PROFIT", triggerPrice="94900.0", price="94500.0",
               timeInForce="GTC")  # fmt: skip
    k.ex.set_mid("BTCUSDC", "94800.0")
    k.advance(STEP)
    assert status_of(k, tp["algoId"]) == "NEW"  # the sweep traded above the trigger
    k.ex.inject_trade("BTCUSDC", "SELL", "0.100")  # a trade at ~94799.9: last <= trigger
    k.take()
    k.advance(STEP)
    assert status_of(k, tp["algoId"]) == "TRIGGERED"
    child = k.order_updates()[0]
    assert (child["o"], child["p"], child["X"]) == ("LIMIT", "94500.00", "NEW")
    assert k.error("DELETE /fapi/v1/algoOrder", algoId=tp["algoId"]).code == -2011
    k.call("DELETE /fapi/v1/order", symbol="BTCUSDC", orderId=child["i"])
    assert [e["X"] for e in algo_events(k)] == ["TRIGGERING", "TRIGGERED", "FINISHED"]


def test_trailing_stop_activates_tracks_the_high_and_fires_on_the_pullback() -> None:
    k = Kit()
    trail = place(k, side="SELL", type="TRAILING_STOP_MARKET", callbackRate="1",
                  activatePrice="95500.0", workingType="MARK_PRICE")  # fmt: skip
    assert (trail["callbackRate"], trail["activatePrice"]) == ("1", "95500.00")
    assert algo_events(k)[0]["ia"] is False
    k.take()
    k.ex.set_mid("BTCUSDC", "96000.0")
    step_until(k, lambda: len(algo_events(k)) == 1)
    activated = algo_events(k)[0]
    assert (activated["X"], activated["ia"]) == ("NEW", True)
    step_until(k, lambda: k.ex.engine.states["BTCUSDC"].mark >= 95_990, limit=100)
    k.take()
    k.ex.set_mid("BTCUSDC", "94000.0")
    step_until(k, lambda: status_of(k, trail["algoId"]) == "FINISHED")
    mark = k.ex.engine.states["BTCUSDC"].mark
    assert 94000 < mark <= 96000 * 0.99  # fired on the 1 % pullback, before the bottom


def test_price_protect_holds_the_trigger_while_mark_and_last_diverge() -> None:
    config = quiet_config()
    symbols = tuple(replace(s, trigger_protect="0.0100") for s in config.symbols)
    k = Kit(replace(config, symbols=symbols))
    guarded = place(k, side="SELL", type="STOP_MARKET", triggerPrice="93500.0",
                    workingType="MARK_PRICE", priceProtect="true")  # fmt: skip
    plain = place(k, side="SELL", type="STOP_MARKET", triggerPrice="93500.0",
                  workingType="MARK_PRICE")  # fmt: skip
    k.ex.set_mid("BTCUSDC", "92000.0")
    step_until(k, lambda: status_of(k, plain["algoId"]) == "FINISHED")
    state = k.ex.engine.states["BTCUSDC"]
    assert status_of(k, guarded["algoId"]) == "NEW"  # mark and last more than 1 % apart
    assert abs(state.mark - state.spec.price(state.stats.last_ticks)) / state.mark > Decimal("0.01")
    step_until(k, lambda: status_of(k, guarded["algoId"]) == "FINISHED")
    assert abs(state.mark - state.spec.price(state.stats.last_ticks)) / state.mark <= Decimal(
        "0.01"
    )


def test_a_stop_that_would_trigger_at_once_is_refused() -> None:
    k = Kit()
    assert k.error("POST /fapi/v1/algoOrder", **_params(side="BUY", type="STOP_MARKET",
                   triggerPrice="94000.0")).code == -2021  # fmt: skip
    error = k.error(
        "POST /fapi/v1/algoOrder",
        **_params(side="SELL", type="TAKE_PROFIT_MARKET", triggerPrice="94000.0"),
    )
    assert (error.code, error.msg) == (-2021, "Order would immediately trigger.")
    assert k.events == []
    assert place(k, side="BUY", type="STOP_MARKET", triggerPrice="96000.0")["algoId"] == (
        ALGO_ID_BASE + 1
    )


def test_close_position_sells_what_is_held_and_is_rejected_without_a_position() -> None:
    k = Kit()
    k.market("BUY", "0.020")
    close = place(k, side="SELL", type="STOP_MARKET", triggerPrice="94000.0",
                  workingType="MARK_PRICE", closePosition="true", quantity="")  # fmt: skip
    assert (close["closePosition"], close["quantity"]) == (True, "0.000")
    k.ex.set_mid("BTCUSDC", "93000.0")
    step_until(k, lambda: status_of(k, close["algoId"]) == "FINISHED")
    assert k.position().lots == 0
    k.take()
    again = place(k, side="SELL", type="STOP_MARKET", triggerPrice="92000.0",
                  workingType="MARK_PRICE", closePosition="true", quantity="")  # fmt: skip
    k.ex.set_mid("BTCUSDC", "91000.0")
    step_until(k, lambda: status_of(k, again["algoId"]) == "REJECTED")
    rejected = algo_events(k)[-1]
    assert (rejected["X"], rejected["rm"]) == ("REJECTED", "ReduceOnly Order is rejected.")
    assert k.order_updates() == []  # nothing reached the matching engine


def test_open_conditional_orders_are_limited_to_200_across_symbols() -> None:
    k = Kit()
    for n in range(200):
        symbol, trigger = ("BTCUSDC", "99000.0") if n % 2 else ("ETHUSDC", "3900.00")
        place(k, symbol=symbol, side="BUY", type="STOP_MARKET", triggerPrice=trigger)
    error = k.error("POST /fapi/v1/algoOrder", **_params(side="BUY", type="STOP_MARKET",
                    triggerPrice="99000.0"))  # fmt: skip
    assert (error.code, error.msg) == (-4045, "Reach max stop order limit.")
    other = k.call("POST /fapi/v1/algoOrder", k.other, **_params(side="BUY", type="STOP_MARKET",
                   triggerPrice="99000.0"))  # fmt: skip
    assert other["algoStatus"] == "NEW"  # the limit is per account
    k.call("DELETE /fapi/v1/algoOpenOrders", symbol="ETHUSDC")
    assert len(k.call("GET /fapi/v1/openAlgoOrders")) == 100
    place(k, side="BUY", type="STOP_MARKET", triggerPrice="99000.0")


def test_cancel_query_and_lists() -> None:
    k = Kit()
    first = place(k, side="BUY", type="STOP_MARKET", triggerPrice="96000.0", clientAlgoId="mine-1")
    second = place(k, side="BUY", type="STOP", triggerPrice="96000.0", price="96100.0")
    assert k.error("POST /fapi/v1/algoOrder", **_params(side="BUY", type="STOP_MARKET",
                   triggerPrice="97000.0", clientAlgoId="mine-1")).code == -4116  # fmt: skip
    reply = k.call("DELETE /fapi/v1/algoOrder", clientAlgoId="mine-1")
    assert reply == {"algoId": first["algoId"], "clientAlgoId": "mine-1", "code": "200",
                     "msg": "success"}  # fmt: skip
    assert algo_events(k)[-1]["X"] == "CANCELED"
    assert k.error("DELETE /fapi/v1/algoOrder", algoId=first["algoId"]).code == -2011
    assert k.error("GET /fapi/v1/algoOrder", algoId=12345).code == -2013
    assert k.error("GET /fapi/v1/algoOrder").code == -1102
    listed = k.call("GET /fapi/v1/openAlgoOrders", symbol="BTCUSDC")
    assert [o["algoId"] for o in listed] == [second["algoId"]]
    assert "actualOrderId" in listed[0]
    assert not {"tpTriggerPrice", "slPrice", "activatePrice"} & set(listed[0])  # live: none
    assert k.call("DELETE /fapi/v1/algoOpenOrders", symbol="BTCUSDC") == {
        "code": 200,
        "msg": "The operation of cancel all open order is done.",
    }
    history = k.call("GET /fapi/v1/allAlgoOrders", symbol="BTCUSDC")
    assert [(o["algoId"], o["algoStatus"]) for o in history] == [
        (first["algoId"], "CANCELED"),
        (second["algoId"], "CANCELED"),
    ]
    assert (
        k.call("GET /fapi/v1/allAlgoOrders", symbol="BTCUSDC", algoId=second["algoId"])
        == (history[1:])
    )


def test_gtd_conditional_order_expires_at_its_deadline() -> None:
    k = Kit()
    deadline = k.clock.now_ms + 700_000
    order = place(k, side="BUY", type="TAKE_PROFIT", triggerPrice="90000.0", price="90000.0",
                  timeInForce="GTD", goodTillDate=deadline)  # fmt: skip
    assert k.ex.next_deadline() == deadline
    k.advance(699_000)
    assert status_of(k, order["algoId"]) == "NEW"
    k.advance(1_000)
    assert algo_events(k)[-1]["X"] == "EXPIRED"
    assert status_of(k, order["algoId"]) == "EXPIRED"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"algoType": ""}, -1102),
        ({"algoType": "VP"}, -1130),
        ({"type": "LIMIT"}, -1116),
        ({"triggerPrice": ""}, -1102),
        ({"triggerPrice": "96000.05"}, -4014),
        ({"closePosition": "true"}, -4137),
        ({"closePosition": "true", "quantity": "", "type": "STOP", "price": "1"}, -1106),
        ({"closePosition": "true", "quantity": "", "reduceOnly": "true"}, -1106),
        ({"price": "96000.0"}, -1106),
        ({"type": "STOP"}, -1102),
        ({"type": "TRAILING_STOP_MARKET", "triggerPrice": "", "callbackRate": "25"}, -1130),
        ({"type": "TRAILING_STOP_MARKET", "callbackRate": "1"}, -1106),
        ({"workingType": "INDEX_PRICE"}, -1130),
        ({"positionSide": "LONG"}, -4061),
        ({"quantity": "0.0001"}, -1111),
    ],
)
def test_parameter_errors(params: dict[str, str], code: int) -> None:
    k = Kit()
    base = _params(side="BUY", type="STOP_MARKET", triggerPrice="96000.0")
    assert k.error("POST /fapi/v1/algoOrder", **{**base, **params}).code == code


def test_min_notional_and_hedge_mode_rules() -> None:
    k = Kit()
    tiny = _params(symbol="ETHUSDC", side="BUY", type="STOP_MARKET", triggerPrice="3900.00",
                   quantity="0.001")  # fmt: skip
    assert k.error("POST /fapi/v1/algoOrder", **tiny).code == -4164  # 3.9 USDC < 5
    assert k.call("POST /fapi/v1/algoOrder", **tiny, reduceOnly="true")["reduceOnly"] is True

    hedged = Kit(quiet_config(accounts=(AccountConfig("test-key", "s", dual_side_position=True),)))
    base = _params(side="BUY", type="STOP_MARKET", triggerPrice="96000.0")
    assert hedged.error("POST /fapi/v1/algoOrder", **base).code == -4061  # a side is required
    assert hedged.call("POST /fapi/v1/algoOrder", **base, positionSide="LONG")["positionSide"] == (
        "LONG"
    )
    error = hedged.error("POST /fapi/v1/algoOrder", **base, positionSide="SHORT",
                         reduceOnly="true")  # fmt: skip
    assert error.code == -1106


def test_regular_order_endpoint_still_refuses_conditional_types() -> None:
    k = Kit()
    error = k.error("POST /fapi/v1/order", symbol="BTCUSDC", side="BUY", type="STOP_MARKET",
                    quantity="0.010", stopPrice="96000.0")  # fmt: skip
    assert error.code == -4120


def _params(**params: Any) -> dict[str, Any]:
    return {"algoType": "CONDITIONAL", "symbol": "BTCUSDC", "quantity": "0.010", **params}
