"""Every real REST reply and WS API envelope of a kind the gateway reads, through the gateway.

Each payload (``tests/data/binance-real-payloads``) is served, as captured, by a fake transport
to the real :class:`BinanceGateway` (or :class:`WsApiClient`), and what comes out — reports,
instruments, errors — is compared field by field with the raw JSON values: ids, statuses,
quantities, prices, fees, realized PnL, positions, timestamps. Never with the parser's own
output. The kinds read and not read are listed, with reasons, in :mod:`.real_payloads`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal as D
from typing import Any, TypeVar

import msgspec
import pytest

from mmoms.core.clock import NANOS_PER_MILLI, TestClock
from mmoms.core.commands import AmendOrder, CancelAllOrders, CancelOrder, SubmitOrder
from mmoms.core.enums import OrderType, Side, TimeInForce
from mmoms.core.ids import ClientOrderId, Symbol, VenueOrderId
from mmoms.core.reports import OrderNotFoundReport, OrderStatusReport
from mmoms.venues.binance import BinanceGateway, codec, endpoints, schemas
from mmoms.venues.errors import OrderNotFound, OutcomeUnknown, Rejected
from mmoms.venues.testing import json_reply
from tests.venues.conftest import START_NS
from tests.venues.real_payloads import entries, of_kind, payload
from tests.venues.test_gateway import started
from tests.venues.test_wsapi import running

T = TypeVar("T")
MS = NANOS_PER_MILLI


def ids(*kinds: str) -> list[str]:
    return [e["id"] for e in of_kind(*kinds)]


def served(
    method: str, path: str, body: Any, call: Callable[[BinanceGateway], Awaitable[T]], *,
    status: int = 200, times: int = 1,
) -> T:  # fmt: skip
    """``call`` on a started gateway whose next ``times`` answers at ``path`` are ``body``."""

    async def run() -> T:
        async with started(TestClock(start_ns=START_NS)) as env:
            for _ in range(times):
                env.venue.script(method, path, json_reply(status, body))
            return await call(env.gw)

    return asyncio.run(run())


def assert_order(report: OrderStatusReport, raw: dict[str, Any]) -> None:
    """An order report says what the raw order says."""
    assert report.venue_order_id == raw["orderId"]
    assert report.client_order_id == raw["clientOrderId"]
    assert report.symbol == raw["symbol"]
    assert report.status.value == raw["status"]
    assert (report.side.value, report.order_type.value) == (raw["side"], raw["type"])
    assert report.quantity == D(raw["origQty"])
    assert report.filled_qty == D(raw["executedQty"])
    assert report.price == D(raw["price"])
    assert report.avg_price == D(raw.get("avgPrice", "0"))
    tif = raw.get("timeInForce")
    assert (report.time_in_force.value if report.time_in_force else None) == tif
    assert report.reduce_only is raw["reduceOnly"]
    assert report.position_side.value == raw["positionSide"]
    assert report.ts_event_ns == (raw.get("updateTime") or raw["time"]) * MS


# -- orders ------------------------------------------------------------------------------------


@pytest.mark.parametrize("payload_id", ids("rest.order"))
def test_an_order_reply(payload_id: str) -> None:
    raw = payload(payload_id)
    sym, cid = Symbol(raw["symbol"]), ClientOrderId(raw["clientOrderId"])
    report = served("GET", "/fapi/v1/order", raw, lambda gw: gw.query_order(sym, cid))
    assert isinstance(report, OrderStatusReport)
    assert_order(report, raw)


@pytest.mark.parametrize("payload_id", ids("rest.orders"))
def test_an_order_list(payload_id: str) -> None:
    raws = payload(payload_id)
    sym = Symbol(raws[0]["symbol"])
    snapshot = served("GET", "/fapi/v1/openOrders", raws, lambda gw: gw.open_orders([sym]))
    history = served("GET", "/fapi/v1/allOrders", raws, lambda gw: gw.admin.all_orders(sym))
    for reports in (list(snapshot.orders), history):
        assert len(reports) == len(raws)
        for report, raw in zip(reports, raws, strict=True):
            assert_order(report, raw)


def test_a_batch_place_and_a_batch_modify() -> None:
    [placed] = payload("rest.batch.place.BTCUSDT.2025")
    sym, cid = Symbol(placed["symbol"]), ClientOrderId(placed["clientOrderId"])
    cmd = SubmitOrder(ts_ns=0, client_order_id=cid, symbol=sym, side=Side.SELL,
                      order_type=OrderType.LIMIT, quantity=D(placed["origQty"]),
                      price=D(placed["price"]), time_in_force=TimeInForce.GTC)  # fmt: skip
    [report] = served("POST", "/fapi/v1/batchOrders", [placed],
                      lambda gw: gw.submit_batch([cmd]))  # fmt: skip
    assert isinstance(report, OrderStatusReport)
    assert_order(report, placed)
    [modified] = payload("rest.batch.modify.BTCUSDT.2025")
    amend = AmendOrder(ts_ns=0, client_order_id=cid, symbol=sym, side=Side.SELL,
                       quantity=D(modified["origQty"]), price=D(modified["price"]),
                       venue_order_id=VenueOrderId(modified["orderId"]))  # fmt: skip
    [report] = served("PUT", "/fapi/v1/batchOrders", [modified],
                      lambda gw: gw.amend_batch([amend]))  # fmt: skip
    assert isinstance(report, OrderStatusReport)
    assert report.amended
    assert_order(report, modified)


def test_a_batch_cancel_with_an_unknown_order() -> None:
    cancelled, unknown = payload("rest.batch.cancel.with_error.docs")
    sym = Symbol(cancelled["symbol"])
    cmds = [CancelOrder(ts_ns=0, client_order_id=ClientOrderId(c), symbol=sym)
            for c in (cancelled["clientOrderId"], "gone")]  # fmt: skip
    first, second = served("DELETE", "/fapi/v1/batchOrders", [cancelled, unknown],
                           lambda gw: gw.cancel_batch(cmds))  # fmt: skip
    assert isinstance(first, OrderStatusReport)
    assert_order(first, cancelled)
    assert unknown == {"code": -2011, "msg": "Unknown order sent."}
    assert isinstance(second, OrderNotFoundReport)  # -2011 in a batch: not open on the venue
    assert second.client_order_id == "gone"


# -- trades, positions, balances, account ----------------------------------------------------


@pytest.mark.parametrize("payload_id", ids("rest.userTrades"))
def test_user_trades(payload_id: str) -> None:
    raws = payload(payload_id)
    sym = Symbol(raws[0]["symbol"])
    fills = served("GET", "/fapi/v1/userTrades", raws, lambda gw: gw.fills(sym, START_NS))
    assert len(fills) == len(raws)
    for fill, raw in zip(fills, raws, strict=True):
        assert (fill.trade_id, fill.venue_order_id) == (raw["id"], raw["orderId"])
        assert fill.symbol == raw["symbol"]
        assert fill.client_order_id == ""  # userTrades names no client order id
        assert fill.side.value == raw["side"]
        assert (fill.last_qty, fill.last_price) == (D(raw["qty"]), D(raw["price"]))
        assert (fill.commission, fill.commission_asset) == (
            D(raw["commission"]),
            raw["commissionAsset"],
        )
        assert fill.realized_pnl == D(raw["realizedPnl"])
        assert fill.liquidity.value == ("MAKER" if raw["maker"] else "TAKER")
        assert fill.position_side.value == raw["positionSide"]
        assert fill.ts_event_ns == raw["time"] * MS
        assert fill.cum_filled_qty is None


@pytest.mark.parametrize("payload_id", ids("rest.positionRisk"))
def test_position_risk(payload_id: str) -> None:
    raws = payload(payload_id)
    positions = served("GET", "/fapi/v3/positionRisk", raws, lambda gw: gw.positions())
    assert len(positions) == len(raws)
    for position, raw in zip(positions, raws, strict=True):
        assert (position.symbol, position.position_side.value) == (
            raw["symbol"],
            raw["positionSide"],
        )
        assert position.quantity == D(raw["positionAmt"])
        assert position.entry_price == D(raw["entryPrice"])
        assert position.unrealized_pnl == D(raw["unRealizedProfit"])
        assert position.ts_event_ns == raw["updateTime"] * MS


@pytest.mark.parametrize("payload_id", ids("rest.balance"))
def test_balances_and_the_account_alias(payload_id: str) -> None:
    raws = payload(payload_id)
    balances = served("GET", "/fapi/v3/balance", raws, lambda gw: gw.balances())
    for balance, raw in zip(balances, raws, strict=True):
        assert (balance.asset, balance.wallet_balance) == (raw["asset"], D(raw["balance"]))
        assert balance.available_balance == D(raw["availableBalance"])
        assert balance.ts_event_ns == raw["updateTime"] * MS
    alias = served("GET", "/fapi/v3/balance", raws, lambda gw: gw.account_fingerprint())
    assert alias == f"alias:{raws[0]['accountAlias']}"


@pytest.mark.parametrize("payload_id", ids("rest.account"))
def test_the_account(payload_id: str) -> None:
    raw = payload(payload_id)
    account = served("GET", "/fapi/v3/account", raw, lambda gw: gw.admin.account())
    assert account.total_wallet_balance == D(raw["totalWalletBalance"])
    assert account.total_margin_balance == D(raw["totalMarginBalance"])
    assert account.total_unrealized_profit == D(raw["totalUnrealizedProfit"])
    assert account.available_balance == D(raw["availableBalance"])
    assert account.total_maint_margin == D(raw["totalMaintMargin"])
    wallets = [(a["asset"], D(a["walletBalance"]), D(a["unrealizedProfit"])) for a in raw["assets"]]
    assert [(a.asset, a.wallet_balance, a.unrealized_profit) for a in account.assets] == wallets
    held = [(p["symbol"], p["positionSide"], D(p["positionAmt"])) for p in raw["positions"]]
    assert [(p.symbol, p.position_side, p.position_amt) for p in account.positions] == held


# -- reference data and plumbing -------------------------------------------------------------


@pytest.mark.parametrize("payload_id", ids("rest.exchangeInfo"))
def test_exchange_info(payload_id: str) -> None:
    raw = payload(payload_id)

    async def call(gw: BinanceGateway) -> tuple[Any, list[tuple[str, int]]]:
        instruments = await gw.instruments()
        return instruments, [(p.name, p.limit) for p in gw.rate.state().pools]

    instruments, pools = served("GET", "/fapi/v1/exchangeInfo", raw, call)
    perpetual = [s for s in raw["symbols"] if s["contractType"] == "PERPETUAL"]
    by_symbol = {i.symbol: i for i in instruments}
    assert set(by_symbol) >= {s["symbol"] for s in perpetual}
    for entry in perpetual:
        filters = {f["filterType"]: f for f in entry["filters"]}
        instrument = by_symbol[entry["symbol"]]
        assert instrument.tick_size == D(filters["PRICE_FILTER"]["tickSize"])
        assert instrument.min_price == D(filters["PRICE_FILTER"]["minPrice"])
        assert instrument.step_size == D(filters["LOT_SIZE"]["stepSize"])
        assert instrument.min_qty == D(filters["LOT_SIZE"]["minQty"])
        assert instrument.market_max_qty == D(filters["MARKET_LOT_SIZE"]["maxQty"])
        assert instrument.min_notional == D(filters["MIN_NOTIONAL"]["notional"])
        assert instrument.multiplier_up == D(filters["PERCENT_PRICE"]["multiplierUp"])
        assert instrument.max_num_orders == filters["MAX_NUM_ORDERS"]["limit"]
        assert instrument.trading is (entry["status"] == "TRADING")
    limits = dict(pools)
    for limit in raw["rateLimits"]:  # the venue's own limits are adopted
        unit = {"MINUTE": "M", "SECOND": "S"}[limit["interval"]]
        assert limits[f"{limit['rateLimitType']}_{limit['intervalNum']}{unit}"] == limit["limit"]


def test_listen_key_and_server_time() -> None:
    key = payload("rest.listenKey.docs")
    created = served("POST", "/fapi/v1/listenKey", key, lambda gw: gw.create_listen_key())
    assert created == key["listenKey"]
    now = payload("rest.time.live2026")
    sample = served("GET", "/fapi/v1/time", now, lambda gw: gw.rest.sync_time())
    assert sample is not None
    assert sample.offset_ns == now["serverTime"] * MS - START_NS  # the test clock stands still


@pytest.mark.parametrize("payload_id", ids("rest.commissionRate"))
def test_commission_rates(payload_id: str) -> None:
    raw = payload(payload_id)
    rates = served("GET", "/fapi/v1/commissionRate", raw,
                   lambda gw: gw.admin.commission_rate(Symbol(raw["symbol"])))  # fmt: skip
    assert (rates.symbol, rates.maker, rates.taker, rates.rpi) == (
        raw["symbol"],
        D(raw["makerCommissionRate"]),
        D(raw["takerCommissionRate"]),
        D(raw["rpiCommissionRate"]),
    )


def test_settings_replies() -> None:
    lev = payload("rest.leverage.BTCUSDT")
    sym = Symbol(lev["symbol"])
    reply = served("POST", "/fapi/v1/leverage", lev,
                   lambda gw: gw.admin.set_leverage(sym, lev["leverage"]))  # fmt: skip
    assert (reply.symbol, reply.leverage, reply.max_notional_value) == (
        lev["symbol"],
        lev["leverage"],
        lev["maxNotionalValue"],
    )
    dual = payload("rest.positionSide.dual")
    hedge = served("GET", "/fapi/v1/positionSide/dual", dual,
                   lambda gw: gw.admin.position_mode_is_hedge())  # fmt: skip
    assert hedge is dual["dualSidePosition"]
    countdown = payload("rest.countdownCancelAll.LPTUSDT")
    sym = Symbol(countdown["symbol"])  # a symbol of its own
    served("POST", "/fapi/v1/countdownCancelAll", countdown,
           lambda gw: gw.countdown_cancel_all(sym, int(countdown["countdownTime"])))  # fmt: skip
    done = payload("rest.cancelAll.codemsg")
    served("DELETE", "/fapi/v1/allOpenOrders", done,
           lambda gw: gw.cancel_all(CancelAllOrders(ts_ns=0, symbol=sym)))  # fmt: skip
    assert msgspec.convert(done, schemas.CodeMsg).code == 200


# -- conditional orders ------------------------------------------------------------------------


def assert_algo(report: Any, raw: dict[str, Any]) -> None:
    assert (report.algo_id, report.client_order_id) == (raw["algoId"], raw["clientAlgoId"])
    assert (report.symbol, report.status.value) == (raw["symbol"], raw["algoStatus"])
    assert (report.order_type.value, report.side.value) == (raw["orderType"], raw["side"])
    assert report.position_side.value == raw["positionSide"]
    assert report.quantity == D(raw["quantity"])
    assert report.trigger_price == D(raw["triggerPrice"])
    assert report.price == D(raw["price"])
    assert (report.reduce_only, report.close_position) == (raw["reduceOnly"], raw["closePosition"])
    actual = raw.get("actualOrderId") or None
    assert report.actual_order_id == (None if actual is None else int(actual))
    assert report.actual_qty is None  # the real replies carry no actualQty
    assert "actualQty" not in raw
    if "actualPrice" in raw:
        assert report.actual_avg_price == D(raw["actualPrice"])
    assert report.ts_event_ns == raw["updateTime"] * MS


@pytest.mark.parametrize("payload_id", ids("rest.algoOrder"))
def test_an_algo_order(payload_id: str) -> None:
    raw = payload(payload_id)
    sym, cid = Symbol(raw["symbol"]), ClientOrderId(raw["clientAlgoId"])
    assert_algo(served("GET", "/fapi/v1/algoOrder", raw, lambda gw: gw.algo.query(sym, cid)), raw)
    [listed] = served("GET", "/fapi/v1/openAlgoOrders", [raw],
                      lambda gw: gw.open_algo_orders(sym))  # fmt: skip
    assert_algo(listed, raw)


def test_an_algo_cancel_whose_code_is_a_string() -> None:
    done = payload("rest.algoOrder.cancel.docs")
    assert done["code"] == "200"  # a string here, unlike every other endpoint
    after = payload("rest.algoOrder.new.rest.docs") | {"algoStatus": "CANCELED"}
    sym, cid = Symbol(after["symbol"]), ClientOrderId(done["clientAlgoId"])

    async def run() -> Any:
        async with started(TestClock(start_ns=START_NS)) as env:
            env.venue.script("DELETE", "/fapi/v1/algoOrder", json_reply(200, done))
            # A gateway that never saw the order answers the cancel with its state.
            env.venue.script("GET", "/fapi/v1/algoOrder", json_reply(200, after))
            return await env.gw.algo.cancel(sym, cid)

    report = asyncio.run(run())
    assert (report.algo_id, report.status.value) == (done["algoId"], "CANCELED")


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize("payload_id", ids("rest.error"))
def test_an_error_reply(payload_id: str) -> None:
    entry = entries()[payload_id]
    raw, status, expect = entry["payload"], entry["http_status"], entry["expect"]

    async def positions(gw: BinanceGateway) -> BaseException:
        try:
            await gw.positions()
        except Exception as exc:
            return exc
        raise AssertionError("no error raised")

    error = served("GET", "/fapi/v3/positionRisk", raw, positions, status=status, times=10)
    assert getattr(error, "code", None) == raw["code"]
    assert getattr(error, "venue_message", None) == raw["msg"]
    assert getattr(error, "http_status", None) == status
    if expect == "OrderNotFound":
        assert isinstance(error, OrderNotFound)
    elif expect == "OutcomeUnknown":
        assert isinstance(error, OutcomeUnknown)
    else:
        assert isinstance(error, Rejected)
        assert not isinstance(error, OrderNotFound)
        assert error.retryable is (expect == "Rejected+retryable")


# -- WS API envelopes --------------------------------------------------------------------------


ENVELOPES = [
    ("wsapi.order.modify.docs", schemas.OrderReply),
    ("wsapi.algoOrder.new.docs", schemas.AlgoOrderReply),
]


@pytest.mark.parametrize(("payload_id", "reply_type"), ENVELOPES)
def test_a_ws_api_envelope(payload_id: str, reply_type: type[Any]) -> None:
    envelope = payload(payload_id)

    async def run() -> Any:
        async with running(TestClock(start_ns=START_NS)) as (h, peer):
            call = asyncio.create_task(h.client.request(endpoints.WS_ORDER_STATUS, [], reply_type))
            request = await peer.recv_json()
            await peer.send_json(envelope | {"id": request["id"]})
            reply = await call
            return reply, {p.name: p.used for p in h.rate.state().pools}

    reply, used = asyncio.run(run())
    result = envelope["result"]
    if reply_type is schemas.OrderReply:
        assert_order(codec.order_report(reply, 0), result)
    else:
        assert_algo(codec.algo_report(reply, 0), result)
    for limit in envelope["rateLimits"]:  # the usage the venue reports is adopted
        unit = {"MINUTE": "M", "SECOND": "S"}[limit["interval"]]
        assert used[f"{limit['rateLimitType']}_{limit['intervalNum']}{unit}"] == limit["count"]
