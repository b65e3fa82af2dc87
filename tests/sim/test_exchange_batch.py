"""Batch endpoints: request-ordered replies with per-item errors, size limits, ccxt spellings."""

from __future__ import annotations

import json
from typing import Any

from _exchange_kit import Kit

from mmoms.sim.api import SimApiError

BATCH = "/fapi/v1/batchOrders"


def limit_item(price: str, **extra: Any) -> dict[str, Any]:
    item = {
        "symbol": "BTCUSDC",
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.010",
        "price": price,
    }
    item.update(extra)
    return item


def test_batch_place_mixes_successes_and_errors_in_request_order() -> None:
    kit = Kit()
    items = [
        limit_item("95000.10", timeInForce="GTX"),  # would take: -5022
        limit_item("94000.00", newClientOrderId="b-1"),
        limit_item("94000.05"),  # off the tick grid
        {
            "symbol": "BTCUSDC",
            "side": "SELL",
            "type": "MARKET",
            "quantity": 0.01,
            "reduceOnly": False,
        },  # JSON numbers and booleans are accepted too
        limit_item("94000.00", type="STOP"),
    ]
    reply = kit.call("POST " + BATCH, batchOrders=json.dumps(items))
    assert [r.get("code") for r in reply] == [-5022, None, -4014, None, -4120]
    assert reply[1]["clientOrderId"] == "b-1"
    assert reply[1]["status"] == "NEW"
    assert reply[3]["type"] == "MARKET"
    assert set(reply[0]) == {"code", "msg"}


def test_batch_place_size_and_format_errors() -> None:
    kit = Kit()
    too_many = kit.error("POST " + BATCH, batchOrders=json.dumps([limit_item("94000.00")] * 6))
    assert (too_many.code, too_many.msg) == (-4082, "Invalid number of batch place orders.")
    assert kit.error("POST " + BATCH, batchOrders="[]").code == -4082
    assert kit.error("POST " + BATCH, batchOrders="{not json").code == -1130
    assert kit.error("POST " + BATCH).code == -1102
    [item] = kit.call("POST " + BATCH, batchOrders=json.dumps(["not an object"]))
    assert item["code"] == -1130


def test_batch_modify() -> None:
    kit = Kit()
    a = kit.limit("BUY", "94000.00", "0.010")
    b = kit.limit("BUY", "94000.00", "0.010")
    items = [
        {
            "symbol": "BTCUSDC",
            "orderId": a["orderId"],
            "side": "BUY",
            "quantity": "0.020",
            "price": "94100.00",
        },
        {
            "symbol": "BTCUSDC",
            "orderId": b["orderId"],
            "side": "BUY",
            "quantity": "0.010",
            "price": "94000.00",
        },
        {
            "symbol": "BTCUSDC",
            "orderId": 42,
            "side": "BUY",
            "quantity": "0.010",
            "price": "94000.00",
        },
    ]
    reply = kit.call("PUT " + BATCH, batchOrders=json.dumps(items))
    assert (reply[0]["price"], reply[0]["origQty"]) == ("94100.00", "0.020")
    assert [r.get("code") for r in reply] == [None, -5027, -2013]


def test_batch_cancel_by_ids_and_client_ids_with_ccxt_spelling() -> None:
    kit = Kit()
    a = kit.limit("BUY", "94000.00", "0.010", newClientOrderId="c-a")
    b = kit.limit("BUY", "94000.00", "0.010", newClientOrderId="c-b")
    reply = kit.call(
        "DELETE " + BATCH, symbol="BTCUSDC", orderidlist=f"[{a['orderId']},{a['orderId']},7]"
    )
    assert reply[0]["status"] == "CANCELED"
    assert reply[1] == {"code": -2011, "msg": "Unknown order sent."}
    assert reply[2] == {"code": -2011, "msg": "Unknown order sent."}
    by_client = kit.call(
        "DELETE " + BATCH, symbol="BTCUSDC", origClientOrderIdList=json.dumps(["c-b", "c-zz"])
    )
    assert by_client[0]["orderId"] == b["orderId"]
    assert by_client[1]["code"] == -2011
    assert kit.call("DELETE " + BATCH, symbol="BTCUSDC", origclientorderidlist='["c-a"]') == [
        {"code": -2011, "msg": "Unknown order sent."}
    ]


def test_batch_cancel_limits() -> None:
    kit = Kit()
    eleven = json.dumps(list(range(1, 12)))
    err: SimApiError = kit.error("DELETE " + BATCH, symbol="BTCUSDC", orderIdList=eleven)
    assert err.code == -1130
    none = kit.error("DELETE " + BATCH, symbol="BTCUSDC")
    assert none.code == -1102
    assert kit.error("DELETE " + BATCH, symbol="BTCUSDC", orderIdList='["x"]').code == -1100


def test_batch_endpoint_costs() -> None:
    kit = Kit()
    place = kit.ex.endpoints["POST " + BATCH]
    assert (place.weight({}), place.order_count, place.order_count_1m) == (5, 5, 1)
    single = kit.ex.endpoints["POST /fapi/v1/order"]
    assert (single.weight({}), single.order_count, single.order_count_1m) == (0, 1, 1)
