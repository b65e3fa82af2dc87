"""The synthetic market: queue position, trading through user prices, determinism, streams."""

from __future__ import annotations

import itertools
from typing import Any

from _exchange_kit import KEY, Kit, quiet_config

from mmoms.sim.config_model import AccountConfig, SimConfig

BEST_BID = "94999.90"


def test_user_order_fills_only_after_the_volume_ahead_of_it() -> None:
    kit = Kit()
    order = kit.limit("BUY", BEST_BID, "0.020")  # behind 0.5 synthetic at the same price
    kit.take()
    assert kit.ex.inject_trade("BTCUSDC", "SELL", "0.400") == "0.400"
    assert kit.events == []
    kit.ex.inject_trade("BTCUSDC", "SELL", "0.100")  # exactly the synthetic volume ahead
    assert kit.events == []
    kit.ex.inject_trade("BTCUSDC", "SELL", "0.005")
    assert kit.kinds() == ["TRADE_LITE", "OTU:TRADE:PARTIALLY_FILLED", "ACCOUNT_UPDATE"]
    lite = kit.events[0][1]
    assert {k: lite[k] for k in ("s", "S", "L", "l", "m", "i", "q", "p")} == {
        "s": "BTCUSDC",
        "S": "BUY",
        "L": BEST_BID,
        "l": "0.005",
        "m": True,
        "i": order["orderId"],
        "q": "0.020",
        "p": BEST_BID,
    }
    update = kit.order_updates()[0]
    assert (update["z"], update["l"], update["L"], update["m"], update["n"], update["N"]) == (
        "0.005",
        "0.005",
        BEST_BID,
        True,
        "0.00000000",
        "USDC",
    )
    assert update["t"] == lite["t"] > 0
    assert update["b"] == "1424.99850"  # the 0.015 still resting, in bid notional
    position = kit.events[2][1]["a"]["P"][0]
    assert (position["pa"], position["ep"]) == ("0.005", "94999.90000000")


def test_every_user_order_event_carries_the_full_field_set() -> None:
    kit = Kit()
    kit.limit("BUY", BEST_BID, "0.020")
    kit.ex.inject_trade("BTCUSDC", "SELL", "0.600")
    keys = {
        "s",
        "c",
        "S",
        "o",
        "f",
        "q",
        "p",
        "ap",
        "sp",
        "x",
        "X",
        "i",
        "l",
        "z",
        "L",
        "N",
        "n",
        "T",
        "t",
        "b",
        "a",
        "m",
        "R",
        "wt",
        "ot",
        "ps",
        "cp",
        "rp",
        "pP",
        "si",
        "ss",
        "V",
        "pm",
        "gtd",
        "er",
    }
    for _, event in kit.events:
        if event["e"] == "ORDER_TRADE_UPDATE":
            assert set(event["o"]) == keys
            assert isinstance(event["E"], int)
            assert isinstance(event["T"], int)
        elif event["e"] == "TRADE_LITE":
            assert set(event) == {"e", "E", "T", "s", "q", "p", "m", "c", "S", "L", "l", "t", "i"}


def test_refill_joins_the_back_of_the_queue() -> None:
    kit = Kit()
    kit.ex.inject_trade("BTCUSDC", "SELL", "0.400")  # synthetic at the best bid: 0.1 left
    order = kit.limit("BUY", BEST_BID, "0.020")
    kit.advance(100)  # one market step: the level is topped up, behind the user
    assert kit.depth()["bids"][0] == [BEST_BID, "0.520"]
    kit.take()
    kit.ex.inject_trade("BTCUSDC", "SELL", "0.120")
    fills = [o for o in kit.order_updates() if o["x"] == "TRADE"]
    assert [(o["i"], o["X"]) for o in fills] == [(order["orderId"], "FILLED")]


def test_the_market_trades_through_resting_user_orders_when_the_mid_moves() -> None:
    kit = Kit()
    bid = kit.limit("BUY", BEST_BID, "0.020")
    far = kit.limit("BUY", "94990.00", "0.020")
    market = kit.ex.markets["BTCUSDC"]
    market.mid -= 10  # the mid jumps down 1.00: new best ask 94999.10 crosses the bids
    kit.take()
    kit.advance(100)
    filled = {o["i"]: o["X"] for o in kit.order_updates() if o["x"] == "TRADE"}
    assert filled == {bid["orderId"]: "FILLED"}
    assert far["orderId"] not in filled
    depth = kit.depth()
    assert depth["asks"][0] == ["94999.10", "0.500"]
    assert depth["bids"][0] == ["94998.90", "0.500"]


def test_synthetic_market_moves_and_fills_on_its_own() -> None:
    kit = Kit(SimConfig(accounts=(AccountConfig(KEY, "s"),), seed=7))
    kit.limit("BUY", "94999.90", "0.010")
    kit.limit("SELL", "95000.10", "0.010")
    for _ in range(600):  # one minute of market
        kit.advance(100)
        if len([o for o in kit.order_updates() if o["X"] == "FILLED"]) == 2:
            break
    assert [o["X"] for o in kit.order_updates() if o["x"] == "TRADE"].count("FILLED") >= 1
    stats = kit.call("GET /fapi/v1/ticker/24hr", symbol="BTCUSDC")
    assert stats["count"] > 0
    premium = kit.call("GET /fapi/v1/premiumIndex", symbol="BTCUSDC")
    mark, index = float(premium["markPrice"]), float(premium["indexPrice"])
    assert abs(mark - index) < 50  # the mark trails the mid closely


def run_scenario(seed: int) -> tuple[list[Any], Any]:
    kit = Kit(SimConfig(accounts=(AccountConfig(KEY, "s"),), seed=seed))
    for i in range(40):
        kit.limit("BUY", "94999.00", "0.010")
        kit.limit("SELL", "95001.00", "0.010")
        if i % 5 == 0:
            kit.market("BUY", "0.003")
        kit.advance(250)
    return kit.events, kit.depth(limit=20)


def test_same_seed_same_events_and_book() -> None:
    first, second = run_scenario(3), run_scenario(3)
    assert first == second
    assert len(first[0]) > 100
    assert run_scenario(4) != first


def test_market_streams_chain_depth_updates_and_rebuild_the_book() -> None:
    kit = Kit(SimConfig(accounts=(AccountConfig(KEY, "s"),), seed=11))
    streams: list[tuple[str, dict[str, Any]]] = []
    kit.ex.on_market_event = lambda name, payload: streams.append((name, payload))
    snapshot = kit.call("GET /fapi/v1/depth", symbol="BTCUSDC", limit=1000)
    book = {
        "bids": {p: q for p, q in snapshot["bids"]},
        "asks": {p: q for p, q in snapshot["asks"]},
    }
    for i in range(50):
        if i % 10 == 0:
            kit.limit("BUY", "94999.00", "0.010")
        kit.advance(100)
    diffs = [p for name, p in streams if name == "btcusdc@depth@100ms"]
    assert diffs, "no depth updates"
    assert diffs[0]["U"] <= snapshot["lastUpdateId"] + 1 <= diffs[0]["u"] + 1
    for previous, current in itertools.pairwise(diffs):
        assert current["pu"] == previous["u"]
    for diff in diffs:
        if diff["u"] <= snapshot["lastUpdateId"]:
            continue
        for side, key in (("bids", "b"), ("asks", "a")):
            for price, qty in diff[key]:
                if float(qty) == 0:
                    book[side].pop(price, None)
                else:
                    book[side][price] = qty
    final = kit.call("GET /fapi/v1/depth", symbol="BTCUSDC", limit=1000)
    rebuilt_bids = sorted(book["bids"].items(), key=lambda kv: -float(kv[0]))
    rebuilt_asks = sorted(book["asks"].items(), key=lambda kv: float(kv[0]))
    assert [list(x) for x in rebuilt_bids] == final["bids"]
    assert [list(x) for x in rebuilt_asks] == final["asks"]
    names = {name for name, _ in streams}
    assert {"btcusdc@depth@100ms", "btcusdc@bookTicker", "btcusdc@markPrice@1s"} <= names
    trades = [p for name, p in streams if name.endswith("@aggTrade")]
    assert trades
    assert all(t["e"] == "aggTrade" and t["f"] == t["l"] for t in trades)
    marks = [p for name, p in streams if name == "btcusdc@markPrice@1s"]
    assert all(m["E"] % 1000 == 0 for m in marks)


def test_a_long_gap_only_replays_the_catch_up_window() -> None:
    kit = Kit(quiet_config(max_catchup_steps=20))
    marks: list[int] = []
    kit.ex.on_market_event = lambda name, p: (
        marks.append(p["E"]) if name == "btcusdc@markPrice@1s" else None
    )
    kit.advance(3_600_000)
    assert len(marks) == 2  # 20 steps of 100 ms = 2 s simulated, the rest skipped
    assert marks[-1] == kit.clock.now_ms
