"""Codec: commands → parameters, and every REST payload example of the notes → reports."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
import pytest

from mmoms.core.commands import AmendOrder, CancelOrder, SubmitOrder
from mmoms.core.enums import (
    LiquiditySide,
    OrderType,
    PositionSide,
    Side,
    TimeInForce,
    VenueOrderStatus,
    WorkingType,
)
from mmoms.core.errors import InvalidOrderError
from mmoms.core.ids import ClientOrderId, Symbol, VenueOrderId
from mmoms.core.reports import ReportSource
from mmoms.venues.binance import codec, schemas
from mmoms.venues.binance.instruments import instrument_from_exchange_info
from mmoms.venues.errors import ProtocolError
from mmoms.venues.venue_reports import AlgoStatus
from tests.venues import payloads as p

NOW = 1_700_000_000_000_000_000


def submit(**kw: Any) -> SubmitOrder:
    base: dict[str, Any] = {
        "ts_ns": 0,
        "client_order_id": ClientOrderId("c1"),
        "symbol": Symbol("BTCUSDC"),
        "side": Side.BUY,
        "order_type": OrderType.LIMIT,
        "quantity": Decimal("0.010"),
        "price": Decimal("65000.10"),
    }
    base.update(kw)
    return SubmitOrder(**base)


# -- commands → parameters ------------------------------------------------------------------


def test_limit_order_params_in_order_with_plain_decimals() -> None:
    params = codec.new_order_params(submit(quantity=Decimal("1E-3"), price=Decimal("6.5E+4")))
    assert params == [
        ("symbol", "BTCUSDC"),
        ("side", "BUY"),
        ("type", "LIMIT"),
        ("quantity", "0.001"),
        ("price", "65000"),
        ("timeInForce", "GTC"),
        ("newClientOrderId", "c1"),
        ("newOrderRespType", "ACK"),
    ]


def test_post_only_reduce_only_gtd() -> None:
    cmd = submit(time_in_force=TimeInForce.GTD, good_till_ms=1_900_000_000_000, reduce_only=True)
    params = dict(codec.new_order_params(cmd, response_type="RESULT"))
    assert params["timeInForce"] == "GTD"
    assert params["goodTillDate"] == "1900000000000"
    assert params["reduceOnly"] == "true"
    assert params["newOrderRespType"] == "RESULT"
    assert "positionSide" not in params  # BOTH is the default: not sent


def test_market_order_has_no_price_or_tif() -> None:
    params = dict(codec.new_order_params(submit(order_type=OrderType.MARKET, price=None)))
    assert params["type"] == "MARKET"
    assert "price" not in params
    assert "timeInForce" not in params


def test_hedge_mode_sends_position_side() -> None:
    params = dict(codec.new_order_params(submit(position_side=PositionSide.SHORT)))
    assert params["positionSide"] == "SHORT"
    assert "reduceOnly" not in params


@pytest.mark.parametrize(
    "kw",
    [
        {"order_type": OrderType.STOP_MARKET, "trigger_price": Decimal(1)},  # -4120 otherwise
        {"price": None},
        {"price": Decimal(0)},
        {"quantity": Decimal(0)},
        {"order_type": OrderType.MARKET},  # with a price
        {"time_in_force": TimeInForce.GTD},  # without good_till_ms
        {"reduce_only": True, "position_side": PositionSide.LONG},
        {"client_order_id": ClientOrderId("has space")},
        {"client_order_id": ClientOrderId("x" * 37)},
    ],
)
def test_bad_new_orders_are_refused_before_sending(kw: dict[str, Any]) -> None:
    with pytest.raises(InvalidOrderError):
        codec.new_order_params(submit(**kw))


def test_every_conditional_type_is_refused_by_the_order_endpoint() -> None:
    for kind in OrderType:
        if kind.is_conditional:
            with pytest.raises(InvalidOrderError, match="algo"):
                codec.new_order_params(submit(order_type=kind, trigger_price=Decimal(1)))


def test_algo_stop_limit_params() -> None:
    cmd = submit(
        order_type=OrderType.STOP,
        trigger_price=Decimal("64000"),
        price=Decimal("63990.5"),
        working_type=WorkingType.MARK_PRICE,
        reduce_only=True,
    )
    params = codec.algo_order_params(cmd, price_protect=True)
    assert params == [
        ("algoType", "CONDITIONAL"),
        ("symbol", "BTCUSDC"),
        ("side", "BUY"),
        ("type", "STOP"),
        ("quantity", "0.010"),
        ("price", "63990.5"),
        ("timeInForce", "GTC"),
        ("triggerPrice", "64000"),
        ("workingType", "MARK_PRICE"),
        ("priceProtect", "true"),
        ("reduceOnly", "true"),
        ("clientAlgoId", "c1"),
    ]


def test_algo_close_position_and_trailing() -> None:
    close = dict(
        codec.algo_order_params(
            submit(
                order_type=OrderType.STOP_MARKET,
                price=None,
                trigger_price=Decimal(60000),
                close_position=True,
                reduce_only=True,
            )
        )
    )
    assert close["closePosition"] == "true"
    assert "quantity" not in close
    assert "reduceOnly" not in close  # not with closePosition
    trailing = dict(
        codec.algo_order_params(
            submit(order_type=OrderType.TRAILING_STOP_MARKET, price=None, trigger_price=None),
            callback_rate=Decimal("0.5"),
        )
    )
    assert trailing["callbackRate"] == "0.5"
    assert "triggerPrice" not in trailing


@pytest.mark.parametrize(
    ("kw", "callback"),
    [
        ({"order_type": OrderType.LIMIT}, None),
        ({"order_type": OrderType.STOP_MARKET, "trigger_price": None}, None),
        ({"order_type": OrderType.STOP, "trigger_price": Decimal(1), "price": None}, None),
        ({"order_type": OrderType.TRAILING_STOP_MARKET}, None),
        ({"order_type": OrderType.STOP, "trigger_price": Decimal(1), "close_position": True}, None),
    ],
)
def test_bad_algo_orders(kw: dict[str, Any], callback: Decimal | None) -> None:
    with pytest.raises(InvalidOrderError):
        codec.algo_order_params(submit(**kw), callback_rate=callback)


def test_cancel_and_modify_prefer_the_venue_order_id() -> None:
    cancel = CancelOrder(ts_ns=0, client_order_id=ClientOrderId("c1"), symbol=Symbol("BTCUSDC"))
    assert codec.cancel_params(cancel) == [("symbol", "BTCUSDC"), ("origClientOrderId", "c1")]
    amend = AmendOrder(
        ts_ns=0,
        client_order_id=ClientOrderId("c1"),
        symbol=Symbol("BTCUSDC"),
        side=Side.SELL,
        quantity=Decimal("2"),
        price=Decimal("1.5"),
        venue_order_id=VenueOrderId(2**62),
    )
    assert codec.modify_params(amend) == [
        ("symbol", "BTCUSDC"),
        ("orderId", str(2**62)),
        ("side", "SELL"),
        ("quantity", "2"),
        ("price", "1.5"),
    ]


def test_query_encoding_quotes_only_what_needs_it() -> None:
    assert codec.encode_query([("a", "BTC-1.5_x~")]) == "a=BTC-1.5_x~"
    assert codec.encode_query([("id", "a:b/c"), ("j", '["x"]')]) == "id=a%3Ab%2Fc&j=%5B%22x%22%5D"


def test_batch_json_and_batch_cancel() -> None:
    items = [codec.new_order_params(submit(client_order_id=ClientOrderId(f"c{i}"))) for i in (1, 2)]
    decoded = msgspec.json.decode(codec.batch_json(items))
    assert [d["newClientOrderId"] for d in decoded] == ["c1", "c2"]
    assert all(isinstance(v, str) for d in decoded for v in d.values())
    by_id = [
        CancelOrder(ts_ns=0, client_order_id=ClientOrderId(f"c{i}"), symbol=Symbol("S"),
                    venue_order_id=VenueOrderId(i))
        for i in (1, 2)
    ]  # fmt: skip
    assert codec.batch_cancel_params(Symbol("S"), by_id) == [
        ("symbol", "S"),
        ("orderIdList", "[1,2]"),
    ]
    by_coid = [CancelOrder(ts_ns=0, client_order_id=ClientOrderId("c1"), symbol=Symbol("S"))]
    assert codec.batch_cancel_params(Symbol("S"), by_coid)[1] == ("origClientOrderIdList", '["c1"]')
    with pytest.raises(InvalidOrderError):
        codec.batch_cancel_params(Symbol("OTHER"), by_coid)


# -- REST payloads → reports ---------------------------------------------------------------


def order(payload: bytes) -> schemas.OrderReply:
    return msgspec.json.decode(payload, type=schemas.OrderReply)


def test_new_order_response() -> None:
    r = codec.order_report(order(p.NEW_ORDER), NOW)
    assert r.venue_order_id == 22542179
    assert r.client_order_id == "testOrder"
    assert r.status is VenueOrderStatus.NEW
    assert r.side is Side.SELL
    assert r.position_side is PositionSide.SHORT
    assert r.time_in_force is TimeInForce.GTD
    assert r.quantity == Decimal("10")
    assert r.filled_qty == 0
    assert r.avg_price == 0  # no avgPrice in the new schema
    assert r.ts_event_ns == 1566818724722 * 1_000_000
    assert r.ts_recv_ns == NOW
    assert r.source is ReportSource.REST
    assert not r.amended


def test_real_2024_order_response_with_avg_price() -> None:
    r = codec.order_report(order(p.NEW_ORDER_2024), NOW)
    assert r.price == Decimal("1.1240000")
    assert r.reduce_only
    assert r.time_in_force is TimeInForce.GTX
    assert r.client_order_id == "shrtnclsa772eeb9868c4dc98a43aab8fa64"


def test_modify_response_is_marked_amended() -> None:
    r = codec.order_report(order(p.MODIFY_ORDER), NOW, amended=True)
    assert r.amended
    assert r.venue_order_id == 20072994037
    assert r.price == Decimal("30005")
    assert order(p.MODIFY_ORDER).modify_id == 1


def test_cancel_and_query_responses() -> None:
    cancel = codec.order_report(order(p.CANCEL_ORDER), NOW)
    assert cancel.status is VenueOrderStatus.CANCELED
    assert cancel.order_type is OrderType.TRAILING_STOP_MARKET
    query = codec.order_report(order(p.QUERY_ORDER), NOW, source=ReportSource.RECONCILIATION)
    assert query.quantity == Decimal("0.40")
    assert query.source is ReportSource.RECONCILIATION
    assert query.ts_event_ns == 1579276756075 * 1_000_000


def test_ws_api_result_is_the_same_order_shape() -> None:
    envelope = msgspec.json.decode(p.WS_API_ORDER_PLACE, type=schemas.WsApiReply)
    assert envelope.status == 200
    r = codec.order_report(msgspec.json.decode(envelope.result, type=schemas.OrderReply), NOW)
    assert r.venue_order_id == 325078477
    assert envelope.rate_limits is not None
    assert envelope.rate_limits[0].count == 1


def test_unknown_enum_value_is_a_protocol_error() -> None:
    bad = p.NEW_ORDER.replace(b'"status": "NEW"', b'"status": "PENDING_SOMETHING"')
    with pytest.raises(ProtocolError, match="order status"):
        codec.order_report(order(bad), NOW)


def test_user_trades() -> None:
    trades = msgspec.json.decode(p.USER_TRADES, type=list[schemas.UserTrade])
    fill = codec.user_trade_fill(trades[0], NOW)
    assert fill.trade_id == 698759
    assert fill.venue_order_id == 25851813
    assert fill.client_order_id == ""
    assert fill.last_qty == Decimal("0.002")
    assert fill.last_price == Decimal("7819.01")
    assert fill.commission == Decimal("0.07819010")
    assert fill.liquidity is LiquiditySide.TAKER
    assert fill.realized_pnl == Decimal("-0.91539999")
    assert fill.cum_filled_qty is None
    assert fill.position_side is PositionSide.SHORT


def test_position_risk_v3_and_v2() -> None:
    v3 = msgspec.json.decode(p.POSITION_RISK_V3, type=list[schemas.PositionRisk])
    pos = codec.position_report(v3[0], NOW)
    assert (pos.symbol, pos.quantity, pos.entry_price) == ("ADAUSDT", Decimal(30), Decimal("0.385"))
    assert pos.unrealized_pnl == Decimal("0.76427700")
    assert v3[0].adl == 2
    v2 = msgspec.json.decode(p.POSITION_RISK_V2, type=list[schemas.PositionRisk])
    assert v2[0].leverage == "10"
    assert codec.position_report(v2[0], NOW).quantity == 0


def test_account_and_balance() -> None:
    account = msgspec.json.decode(p.ACCOUNT_V3, type=schemas.Account)
    assert account.total_wallet_balance == Decimal("126.72469206")
    assert account.assets[0].available_balance == Decimal("23.72469206")
    assert account.positions[0].position_amt == Decimal("1.000")
    balances = msgspec.json.decode(p.BALANCE_V3, type=list[schemas.Balance])
    b = codec.balance_report(balances[0], NOW)
    assert (b.asset, b.wallet_balance, b.available_balance) == (
        "USDT",
        Decimal("122607.35137903"),
        Decimal("23.72469206"),
    )


def test_exchange_info_builds_instruments() -> None:
    info = msgspec.json.decode(p.EXCHANGE_INFO, type=schemas.ExchangeInfo)
    assert [(r.rate_limit_type, r.limit) for r in info.rate_limits] == [
        ("REQUEST_WEIGHT", 2400),
        ("ORDERS", 1200),
    ]
    inst = instrument_from_exchange_info(info.symbols[0])
    assert inst.symbol == "BLZUSDT"
    assert inst.tick_size == Decimal("0.0001")
    assert inst.step_size == 1
    assert inst.min_notional == Decimal("5.0")
    btc = dict(info.symbols[0], symbol="BTCUSDT", filters=msgspec.json.decode(p.BTCUSDT_FILTERS))
    assert instrument_from_exchange_info(btc).tick_size == Decimal("0.10")


def test_small_replies() -> None:
    rate = msgspec.json.decode(p.COMMISSION_RATE, type=schemas.CommissionRate)
    assert rate.rpi_commission_rate == Decimal("0.00005")
    assert msgspec.json.decode(p.LEVERAGE, type=schemas.LeverageReply).leverage == 21
    assert msgspec.json.decode(p.CODE_200, type=schemas.CodeMsg).code == 200
    assert msgspec.json.decode(p.CANCEL_ALL, type=schemas.CodeMsg).code == 200
    assert msgspec.json.decode(p.POSITION_MODE, type=schemas.PositionModeReply).dual_side_position
    assert msgspec.json.decode(p.COUNTDOWN, type=schemas.CountdownReply).countdown_time == "100000"
    assert msgspec.json.decode(p.SERVER_TIME, type=schemas.ServerTime).server_time == 1499827319559
    key = msgspec.json.decode(p.LISTEN_KEY, type=schemas.ListenKeyReply).listen_key
    assert key is not None
    assert key.startswith("pqia91")
    assert msgspec.json.decode(b"{}", type=schemas.ListenKeyReply).listen_key is None


def test_algo_order_reply_and_cancel() -> None:
    reply = msgspec.json.decode(p.ALGO_ORDER, type=schemas.AlgoOrderReply)
    r = codec.algo_report(reply, NOW)
    assert r.algo_id == 2146760
    assert r.client_order_id == "6B2I9XVcJpCjqPAJ4YoFX7"
    assert r.status is AlgoStatus.NEW
    assert r.order_type is OrderType.TAKE_PROFIT
    assert r.trigger_price == Decimal("750.000")
    assert r.price == Decimal("750.000")
    assert r.quantity == Decimal("0.01")
    assert r.actual_order_id is None
    cancel = msgspec.json.decode(p.ALGO_CANCEL, type=schemas.AlgoCancelReply)
    assert (cancel.algo_id, cancel.code) == (2146760, "200")
    ws = msgspec.json.decode(p.WS_API_ALGO_CANCEL, type=schemas.WsApiReply)
    assert msgspec.json.decode(ws.result, type=schemas.AlgoCancelReply).algo_id == 2000000002162519


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", None), ("None", None), ("abc", None), ("NaN", None), ("0.5", Decimal("0.5"))],
)
def test_loose_decimal(text: str, expected: Decimal | None) -> None:
    assert codec.loose_decimal(text) == expected


def test_ws_api_request_example_signature_payload_is_sorted() -> None:
    request = msgspec.json.decode(p.WS_API_REQUEST)
    params = request["params"]
    names = list(params)
    assert names == sorted(names)  # the documented request lists its params alphabetically
