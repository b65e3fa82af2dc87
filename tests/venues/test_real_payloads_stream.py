"""Every real user-stream event and market-stream message, through the gateway's decoders, and
the list of what the gateway reads.

Each payload (``tests/data/binance-real-payloads``) goes, as captured, through
:class:`UserStreamDecoder` or :class:`MarketDataDecoder`, and the reports that come out are
compared field by field with the raw JSON values (ids, statuses, quantities, prices, fees,
realized PnL, positions, timestamps) — never with the parser's own output. Every kind in the
file is either read (tested here or in :mod:`.test_real_payloads_rest`) or listed as not read,
with the reason, in :mod:`.real_payloads`.
"""

from __future__ import annotations

import json
from decimal import Decimal as D
from typing import Any

import pytest

from mmoms.core.ids import Symbol
from mmoms.core.market import DepthUpdate, MarketUpdate, MarkPriceUpdate, TradeUpdate
from mmoms.core.reports import BalanceReport, FillReport, OrderStatusReport, PositionReport
from mmoms.venues.binance.marketcodec import MarketDataDecoder, MarketSubscription
from mmoms.venues.binance.streamcodec import ListenKeyExpiredNotice, UserStreamDecoder
from mmoms.venues.venue_reports import (
    AccountConfigReport,
    AlgoOrderReport,
    LiteFillReport,
    MarginCallReport,
)
from tests.venues.real_payloads import NOT_READ, NOT_READ_IDS, READ, entries, of_kind, payload, raw

RECV = 1_800_000_000_000_000_000
MS = 1_000_000


def ids(*kinds: str) -> list[str]:
    return [e["id"] for e in of_kind(*kinds)]


def decoded(payload_id: str) -> list[Any]:
    decoder = UserStreamDecoder()
    out = decoder.decode(raw(payload_id), RECV)
    assert (decoder.stats.malformed, decoder.stats.unknown) == (0, 0)
    return out


def test_every_kind_is_read_or_listed_as_not_read() -> None:
    kinds = {e["kind"] for e in entries().values()}
    assert kinds == set(READ) | set(NOT_READ)
    assert not set(READ) & set(NOT_READ)
    assert set(NOT_READ_IDS) <= set(entries())


# -- user stream -------------------------------------------------------------------------------


@pytest.mark.parametrize("payload_id", ids("ws.ORDER_TRADE_UPDATE"))
def test_order_trade_update(payload_id: str) -> None:
    o = payload(payload_id)["o"]
    out = decoded(payload_id)
    status = out[-1]
    assert isinstance(status, OrderStatusReport)
    assert (status.venue_order_id, status.client_order_id) == (o["i"], o["c"])
    assert (status.symbol, status.status.value, status.side.value) == (o["s"], o["X"], o["S"])
    wire_type = "MARKET" if o["o"] == "LIQUIDATION" else o["o"]  # a forced close is a market
    assert status.order_type.value == wire_type
    assert (status.quantity, status.price) == (D(o["q"]), D(o["p"]))
    assert (status.filled_qty, status.avg_price) == (D(o["z"]), D(o["ap"]))
    assert status.reduce_only is o["R"]
    assert status.position_side.value == o["ps"]
    assert status.amended is (o["x"] == "AMENDMENT")
    assert status.ts_event_ns == o["T"] * MS
    is_fill = o["x"] in ("TRADE", "CALCULATED") and D(o["l"]) > 0
    assert len(out) == (2 if is_fill else 1)
    if not is_fill:
        return
    fill = out[0]
    assert isinstance(fill, FillReport)
    assert (fill.trade_id, fill.venue_order_id, fill.client_order_id) == (o["t"], o["i"], o["c"])
    assert (fill.last_qty, fill.last_price) == (D(o["l"]), D(o["L"]))
    assert fill.cum_filled_qty == D(o["z"])
    assert fill.commission == D(o.get("n") or "0")
    assert fill.commission_asset == (o.get("N") or "")
    assert fill.realized_pnl == D(o["rp"])
    assert fill.liquidity.value == ("MAKER" if o["m"] else "TAKER")
    assert fill.ts_event_ns == o["T"] * MS


@pytest.mark.parametrize("payload_id", ids("ws.ACCOUNT_UPDATE"))
def test_account_update(payload_id: str) -> None:
    event = payload(payload_id)
    out = decoded(payload_id)
    balances = [r for r in out if isinstance(r, BalanceReport)]
    positions = [r for r in out if isinstance(r, PositionReport)]
    assert len(balances) + len(positions) == len(out)
    wire_b = [(b["a"], D(b["wb"])) for b in event["a"]["B"]]
    assert [(b.asset, b.wallet_balance) for b in balances] == wire_b
    wire_p = [
        (p["s"], p["ps"], D(p["pa"]), D(p["ep"]), D(p["up"])) for p in event["a"].get("P", [])
    ]
    assert [
        (p.symbol, p.position_side.value, p.quantity, p.entry_price, p.unrealized_pnl)
        for p in positions
    ] == wire_p
    assert all(r.ts_event_ns == event["T"] * MS for r in out)


@pytest.mark.parametrize("payload_id", ids("ws.ALGO_UPDATE"))
def test_algo_update(payload_id: str) -> None:
    event = payload(payload_id)
    o = event["o"]
    [report] = decoded(payload_id)
    assert isinstance(report, AlgoOrderReport)
    assert (report.algo_id, report.client_order_id) == (o["aid"], o["caid"])
    assert (report.symbol, report.status.value) == (o["s"], o["X"])
    assert (report.order_type.value, report.side.value) == (o["o"], o["S"])
    assert (report.quantity, report.trigger_price) == (D(o["q"]), D(o["tp"]))
    assert report.price == D(o["p"])
    assert report.actual_order_id == (int(o["ai"]) if o["ai"] else None)
    assert report.actual_qty == (D(o["aq"]) if o.get("aq") else None)
    assert report.actual_avg_price == (D(o["ap"]) if o.get("ap") else None)
    assert report.reduce_only is o["R"]
    assert report.reason == o.get("rm", "")
    assert report.ts_event_ns == max(event["E"], event["T"]) * MS


@pytest.mark.parametrize("payload_id", ids("ws.TRADE_LITE"))
def test_trade_lite(payload_id: str) -> None:
    event = payload(payload_id)
    [lite] = decoded(payload_id)
    assert isinstance(lite, LiteFillReport)
    fill = lite.fill
    assert (fill.trade_id, fill.venue_order_id) == (event["t"], event["i"])
    assert (fill.client_order_id, fill.symbol, fill.side.value) == (
        event["c"],
        event["s"],
        event["S"],
    )
    assert (fill.last_qty, fill.last_price) == (D(event["l"]), D(event["L"]))
    assert fill.liquidity.value == ("MAKER" if event["m"] else "TAKER")
    assert fill.cum_filled_qty is None  # TRADE_LITE has none: never a full fill
    assert fill.ts_event_ns == event["T"] * MS


@pytest.mark.parametrize("payload_id", ids("ws.ACCOUNT_CONFIG_UPDATE"))
def test_account_config_update(payload_id: str) -> None:
    event = payload(payload_id)
    [report] = decoded(payload_id)
    assert isinstance(report, AccountConfigReport)
    leverage, assets = event.get("ac"), event.get("ai")
    assert report.symbol == (leverage["s"] if leverage else None)
    assert report.leverage == (leverage["l"] if leverage else None)
    assert report.multi_assets == (assets["j"] if assets else None)
    assert report.ts_event_ns == event["T"] * MS


@pytest.mark.parametrize("payload_id", ids("ws.MARGIN_CALL"))
def test_margin_call(payload_id: str) -> None:
    event = payload(payload_id)
    [report] = decoded(payload_id)
    assert isinstance(report, MarginCallReport)
    assert report.cross_wallet_balance == D(event["cw"])
    wire = [(p["s"], p["ps"], D(p["pa"]), D(p["mp"]), D(p["mm"]), D(p["up"])) for p in event["p"]]
    assert [
        (p.symbol, p.position_side.value, p.quantity, p.mark_price, p.maint_margin,
         p.unrealized_pnl)
        for p in report.positions
    ] == wire  # fmt: skip
    assert report.ts_event_ns == event["E"] * MS


@pytest.mark.parametrize("payload_id", ids("ws.listenKeyExpired"))
def test_listen_key_expired(payload_id: str) -> None:
    event = payload(payload_id)
    [notice] = decoded(payload_id)
    assert isinstance(notice, ListenKeyExpiredNotice)
    assert notice.key == event.get("listenKey", "")  # the 2022 capture names no key
    assert notice.ts_event_ns == int(event["E"]) * MS  # an int, or a string in older docs


# -- market streams ----------------------------------------------------------------------------


def market(payload_id: str) -> tuple[Any, dict[str, Any]]:
    """The update the market decoder makes of a capture (bare docs examples are put in the
    combined envelope they arrive in, under the stream name the node subscribes to)."""
    message = payload(payload_id)
    data = message.get("data", message)
    symbol = Symbol(data["s"])
    names = {"bookTicker": "@bookTicker", "markPriceUpdate": "@markPrice@1s",
             "aggTrade": "@aggTrade", "depthUpdate": "@depth5@100ms"}  # fmt: skip
    if "stream" not in message:
        message = {"stream": symbol.lower() + names[data["e"]], "data": data}
    decoder = MarketDataDecoder([MarketSubscription(symbol, depth=5, trades=True)])
    return decoder.decode(json.dumps(message), RECV), data


@pytest.mark.parametrize("payload_id", ids("md.bookTicker"))
def test_book_ticker(payload_id: str) -> None:
    update, d = market(payload_id)
    assert isinstance(update, MarketUpdate)
    assert (update.symbol, update.bid, update.bid_qty) == (d["s"], D(d["b"]), D(d["B"]))
    assert (update.ask, update.ask_qty) == (D(d["a"]), D(d["A"]))
    assert update.ts_ns == d["T"] * MS


@pytest.mark.parametrize("payload_id", ids("md.markPriceUpdate"))
def test_mark_price(payload_id: str) -> None:
    update, d = market(payload_id)
    assert isinstance(update, MarkPriceUpdate)
    assert (update.mark_price, update.index_price) == (D(d["p"]), D(d["i"]))
    assert update.funding_rate == D(d["r"])
    assert (update.next_funding_ns, update.ts_ns) == (d["T"] * MS, d["E"] * MS)


@pytest.mark.parametrize("payload_id", ids("md.aggTrade"))
def test_agg_trade(payload_id: str) -> None:
    update, d = market(payload_id)
    assert isinstance(update, TradeUpdate)
    assert (update.price, update.quantity, update.trade_id) == (D(d["p"]), D(d["q"]), d["a"])
    assert update.aggressor.value == ("SELL" if d["m"] else "BUY")  # m: the buyer made
    assert update.ts_ns == d["T"] * MS


@pytest.mark.parametrize("payload_id", sorted(set(ids("md.depthUpdate")) - set(NOT_READ_IDS)))
def test_partial_book(payload_id: str) -> None:
    update, d = market(payload_id)
    assert isinstance(update, DepthUpdate)
    assert [(lv.price, lv.quantity) for lv in update.bids] == [(D(p), D(q)) for p, q in d["b"]]
    assert [(lv.price, lv.quantity) for lv in update.asks] == [(D(p), D(q)) for p, q in d["a"]]
    assert update.ts_ns == d["T"] * MS


def test_a_diff_depth_stream_is_not_read() -> None:
    update, _ = market("md.depthUpdate.diff.testnet2026")
    assert update is None  # not a stream the node subscribes to
