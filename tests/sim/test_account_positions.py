"""Positions, PnL, fees, margin, reduce-only, hedge mode and the account settings endpoints.

Quiet BTCUSDC ladder: bids 94999.90 / .80 / …, asks 95000.10 / .20 / …, 0.5 BTC per level,
mark 95000. BTCUSDC fees: maker 0, taker 0.0004.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from _exchange_kit import Kit, quiet_config

from mmoms.sim.config_model import AccountConfig

ORDER = "POST /fapi/v1/order"


def wallet(kit: Kit, asset: str = "USDC") -> Decimal:
    return kit.account.wallets[asset]


def test_open_reduce_and_flip_a_position() -> None:
    kit = Kit()
    kit.market("BUY", "0.500")  # 0.5 @ 95000.10, fee 19.00002
    pos = kit.position()
    assert (pos.lots, pos.entry) == (500, Decimal("95000.10"))
    assert wallet(kit) == Decimal("99980.99998")
    kit.take()
    kit.market("SELL", "0.800")  # closes 0.5 @ 94999.90, opens 0.3 short @ 94999.80
    assert (pos.lots, pos.entry, pos.realized) == (-300, Decimal("94999.80"), Decimal("-0.1"))
    fee = Decimal("0.0004") * (
        Decimal("0.5") * Decimal("94999.90") + Decimal("0.3") * Decimal("94999.80")
    )
    assert wallet(kit) == Decimal("99980.99998") - Decimal("0.1") - fee
    trades = [o for o in kit.order_updates() if o["x"] == "TRADE"]
    assert [(t["l"], t["L"], t["rp"], t["n"]) for t in trades] == [
        ("0.500", "94999.90", "-0.10000000", "18.99998000"),
        ("0.300", "94999.80", "0.00000000", "11.39997600"),
    ]
    update = [e for _, e in kit.events if e["e"] == "ACCOUNT_UPDATE"][-1]["a"]
    assert update["m"] == "ORDER"
    assert update["B"] == [
        {"a": "USDC", "wb": f"{wallet(kit):.8f}", "cw": f"{wallet(kit):.8f}", "bc": "0"}
    ]
    [p] = update["P"]
    assert (p["s"], p["pa"], p["ep"], p["cr"], p["mt"], p["ps"]) == (
        "BTCUSDC",
        "-0.300",
        "94999.80000000",
        "-0.10000000",
        "cross",
        "BOTH",
    )
    assert p["up"] == "-0.06000000"  # short 0.3 from 94999.80, mark 95000


def test_entry_price_is_the_weighted_average_on_increase() -> None:
    kit = Kit()
    kit.market("BUY", "0.700")
    assert kit.position().entry == Decimal("95000.1285714286")
    risk = kit.call("GET /fapi/v3/positionRisk", symbol="BTCUSDC")
    assert [(r["positionAmt"], r["entryPrice"]) for r in risk] == [("0.700", "95000.12857143")]


def test_maker_rebate_is_credited() -> None:
    config = quiet_config()
    rebate = tuple(replace(s, maker_fee="-0.0001") for s in config.symbols)
    kit = Kit(replace(config, symbols=rebate))
    kit.limit("BUY", "95000.00", "0.100")  # improves the best bid: first in line
    kit.ex.inject_trade("BTCUSDC", "SELL", "0.100")
    trade = kit.order_updates()[-1]
    assert (trade["x"], trade["m"], trade["n"]) == ("TRADE", True, "-0.95000000")
    assert wallet(kit) == Decimal("100000.95")


def test_unrealized_pnl_against_the_mark_and_account_totals() -> None:
    kit = Kit()
    kit.market("BUY", "0.500")
    [risk] = kit.call("GET /fapi/v3/positionRisk")
    assert (risk["unRealizedProfit"], risk["markPrice"], risk["notional"]) == (
        "-0.05000000",
        "95000.00000000",
        "47500.00000000",
    )
    assert risk["initialMargin"] == "2375.00000000"  # 47500 / 20
    account = kit.call("GET /fapi/v3/account")
    [usdc] = [a for a in account["assets"] if a["asset"] == "USDC"]
    assert usdc["unrealizedProfit"] == "-0.05000000"
    assert usdc["positionInitialMargin"] == "2375.00000000"
    assert usdc["availableBalance"] == f"{Decimal('99980.99998') - Decimal('0.05') - 2375:.8f}"
    assert [p["symbol"] for p in account["positions"]] == ["BTCUSDC"]  # v3: active only
    v2 = kit.call("GET /fapi/v2/account")
    assert {p["symbol"] for p in v2["positions"]} == {"BTCUSDC", "ETHUSDC", "BTCUSDT"}
    assert v2["multiAssetsMargin"] is False
    assert v2["canTrade"] is True


def test_reduce_only_rules() -> None:
    kit = Kit()
    flat = kit.error(
        ORDER, symbol="BTCUSDC", side="SELL", type="MARKET", quantity="0.010", reduceOnly="true"
    )
    assert (flat.code, flat.msg) == (-2022, "ReduceOnly Order is rejected.")
    kit.market("BUY", "0.500")
    assert (
        kit.error(
            ORDER, symbol="BTCUSDC", side="BUY", type="MARKET", quantity="0.010", reduceOnly="true"
        ).code
        == -2022
    )
    first = kit.limit("SELL", "96000.00", "0.300", reduceOnly=True)
    second = kit.limit("SELL", "96100.00", "0.300", reduceOnly=True)  # only 0.2 can show
    assert kit.depth(limit=10)["asks"][-2:] == [["96000.00", "0.300"], ["96100.00", "0.200"]]
    covered = kit.error(
        ORDER,
        symbol="BTCUSDC",
        side="SELL",
        type="LIMIT",
        timeInForce="GTC",
        quantity="0.100",
        price="96200.00",
        reduceOnly="true",
    )
    assert covered.code == -4118
    kit.take()
    kit.market("SELL", "0.500")  # closes the position: resting reduce-only orders are void
    expired = [(o["i"], o["X"], o["er"]) for o in kit.order_updates() if o["x"] == "EXPIRED"]
    assert expired == [(first["orderId"], "EXPIRED", "4"), (second["orderId"], "EXPIRED", "4")]


def test_reduce_only_taker_outranks_resting_reduce_only_orders() -> None:
    kit = Kit()
    kit.market("BUY", "0.500")
    resting = kit.limit("SELL", "96000.00", "0.500", reduceOnly=True)  # covers the position
    closed = kit.market("SELL", "0.500", reduceOnly="true")  # still accepted: takers first
    assert (closed["status"], kit.position().lots) == ("FILLED", 0)
    last = kit.order_updates()[-1]
    assert (last["i"], last["X"], last["er"]) == (resting["orderId"], "EXPIRED", "4")


def test_reduce_only_taker_never_flips_the_position() -> None:
    kit = Kit()
    kit.market("BUY", "0.200")
    reply = kit.market("SELL", "0.500", reduceOnly="true")
    assert (reply["status"], reply["executedQty"]) == ("EXPIRED", "0.200")
    assert kit.position().lots == 0


def test_hedge_mode_positions_and_rules() -> None:
    kit = Kit()
    dual = "POST /fapi/v1/positionSide/dual"
    assert kit.call(dual, dualSidePosition="true") == {"code": 200, "msg": "success"}
    assert kit.error(dual, dualSidePosition="true").code == -4059
    assert kit.call("GET /fapi/v1/positionSide/dual") == {"dualSidePosition": True}
    assert (
        kit.error(ORDER, symbol="BTCUSDC", side="BUY", type="MARKET", quantity="0.100").code
        == -4061
    )
    assert (
        kit.error(
            ORDER,
            symbol="BTCUSDC",
            side="BUY",
            type="MARKET",
            quantity="0.100",
            positionSide="LONG",
            reduceOnly="true",
        ).code
        == -1106
    )
    assert (
        kit.error(
            ORDER,
            symbol="BTCUSDC",
            side="SELL",
            type="MARKET",
            quantity="0.100",
            positionSide="LONG",
        ).code
        == -2022
    )  # nothing to close
    kit.market("BUY", "0.300", positionSide="LONG")
    kit.market("SELL", "0.100", positionSide="SHORT")
    assert (kit.position(side="LONG").lots, kit.position(side="SHORT").lots) == (300, -100)
    risk = kit.call("GET /fapi/v3/positionRisk", symbol="BTCUSDC")
    assert [(r["positionSide"], r["positionAmt"]) for r in risk] == [
        ("LONG", "0.300"),
        ("SHORT", "-0.100"),
    ]
    kit.market("SELL", "0.300", positionSide="LONG")
    assert kit.position(side="LONG").lots == 0
    assert kit.position(side="LONG").realized == Decimal("-0.06")  # 0.3 x (94999.90 - 95000.10)
    assert kit.error(dual, dualSidePosition="false").code == -4068
    kit.market("BUY", "0.100", positionSide="SHORT")
    kit.limit("BUY", "94000.00", "0.010", positionSide="LONG")
    assert kit.error(dual, dualSidePosition="false").code == -4067


def test_leverage_changes_margin_and_emits_config_update() -> None:
    kit = Kit()
    reply = kit.call("POST /fapi/v1/leverage", symbol="BTCUSDC", leverage=1)
    assert reply == {"leverage": 1, "maxNotionalValue": "1000000000", "symbol": "BTCUSDC"}
    assert kit.events[-1][1]["ac"] == {"s": "BTCUSDC", "l": 1}
    assert kit.events[-1][1]["e"] == "ACCOUNT_CONFIG_UPDATE"
    assert kit.error("POST /fapi/v1/leverage", symbol="BTCUSDC", leverage=126).code == -1130
    kit.limit("BUY", "94000.00", "1.000")
    assert (
        kit.error(
            ORDER,
            symbol="BTCUSDC",
            side="BUY",
            type="LIMIT",
            timeInForce="GTC",
            quantity="0.100",
            price="94000.00",
        ).code
        == -2019
    )
    config = kit.call("GET /fapi/v1/symbolConfig", symbol="BTCUSDC")
    assert config == [
        {
            "symbol": "BTCUSDC",
            "marginType": "CROSSED",
            "isAutoAddMargin": False,
            "leverage": 1,
            "maxNotionalValue": "1000000000",
        }
    ]


def test_margin_type_changes() -> None:
    kit = Kit()
    route = "POST /fapi/v1/marginType"
    assert kit.error(route, symbol="BTCUSDC", marginType="CROSSED").code == -4046
    assert kit.call(route, symbol="BTCUSDC", marginType="ISOLATED") == {
        "code": 200,
        "msg": "success",
    }
    order = kit.limit("BUY", "94000.00", "0.010")
    assert kit.error(route, symbol="BTCUSDC", marginType="CROSSED").code == -4047
    kit.call("DELETE /fapi/v1/order", symbol="BTCUSDC", orderId=order["orderId"])
    kit.market("BUY", "0.100")
    assert kit.error(route, symbol="BTCUSDC", marginType="CROSSED").code == -4048
    update = [e for _, e in kit.events if e["e"] == "ACCOUNT_UPDATE"][-1]["a"]["P"][0]
    assert (update["mt"], update["iw"]) == ("isolated", "475.00000000")  # 9500 / 20
    v2 = kit.call("GET /fapi/v2/positionRisk", symbol="BTCUSDC")
    assert (v2[0]["marginType"], v2[0]["leverage"]) == ("isolated", "20")


def test_multi_assets_mode_pools_margin() -> None:
    config = quiet_config(
        accounts=(AccountConfig("test-key", "s", balances={"USDC": "0", "USDT": "10000"}),)
    )
    kit = Kit(config)
    assert (
        kit.error(
            ORDER,
            symbol="BTCUSDC",
            side="BUY",
            type="LIMIT",
            timeInForce="GTC",
            quantity="0.010",
            price="94000.00",
        ).code
        == -2019
    )
    route = "POST /fapi/v1/multiAssetsMargin"
    assert kit.call(route, multiAssetsMargin="true") == {"code": 200, "msg": "success"}
    assert kit.events[-1][1]["ai"] == {"j": True}
    assert kit.error(route, multiAssetsMargin="true").code == -4171
    assert kit.limit("BUY", "94000.00", "0.010")["status"] == "NEW"
    assert (
        kit.error("POST /fapi/v1/marginType", symbol="BTCUSDC", marginType="ISOLATED").code == -4168
    )
    assert kit.call("GET /fapi/v1/accountConfig")["multiAssetsMargin"] is True


def test_settings_and_fee_endpoints() -> None:
    kit = Kit()
    assert kit.call("GET /fapi/v1/commissionRate", symbol="BTCUSDT") == {
        "symbol": "BTCUSDT",
        "makerCommissionRate": "0.0002",
        "takerCommissionRate": "0.0005",
        "rpiCommissionRate": "0.0002",
    }
    assert kit.call("GET /fapi/v1/accountConfig") == {
        "feeTier": 0,
        "canTrade": True,
        "canDeposit": True,
        "canWithdraw": True,
        "dualSidePosition": False,
        "updateTime": 0,
        "multiAssetsMargin": False,
        "tradeGroupId": -1,
    }
    balances = kit.call("GET /fapi/v3/balance")
    assert all(b["updateTime"] > 0 for b in balances)  # ccxt skips assets stamped 0
    assert [(b["asset"], b["balance"], b["availableBalance"]) for b in balances] == [
        ("USDC", "100000.00000000", "100000.00000000"),
        ("USDT", "100000.00000000", "100000.00000000"),
    ]
    [bracket] = kit.call("GET /fapi/v1/leverageBracket", symbol="BTCUSDC")
    assert bracket["brackets"][0]["initialLeverage"] == 125
    assert kit.call("GET /fapi/v1/multiAssetsMargin") == {"multiAssetsMargin": False}


def test_secrets_stay_out_of_reprs() -> None:
    config = AccountConfig("visible-key", "top-secret-value")
    kit = Kit(quiet_config(accounts=(config,)))
    account = kit.ex.account_for_key("visible-key")
    assert account is not None
    for text in (repr(config), repr(account)):
        assert "top-secret-value" not in text
        assert "visible-key" not in text
    assert kit.ex.secret_for_key("visible-key") == "top-secret-value"
    assert kit.ex.secret_for_key("nobody") is None
