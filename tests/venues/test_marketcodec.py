# ruff: noqa: E501  -- verbatim wire payloads keep their lines
"""The market-data codec against real payloads (/work/shared/binance-real-payloads/payloads.jsonl,
copied verbatim with their ids) and the documented shapes (binance-usdm.md §10), plus the URLs it
builds per route mode.

No partial-depth (``@depth<N>``) capture exists in the collection; §10 says the partial book
has the diff stream's keys, so the captured ``depthUpdate`` payload is used under a partial
stream name, and the same payload under its own diff stream name must be refused (a diff is not
a snapshot of the book).
"""

from __future__ import annotations

import json
import logging
from decimal import Decimal as D

import pytest

from mmoms.core.enums import Side
from mmoms.core.ids import Symbol
from mmoms.core.market import DepthUpdate, MarketUpdate, MarkPriceUpdate, PriceLevel, TradeUpdate
from mmoms.venues.binance.marketcodec import (
    MarketDataDecoder,
    MarketSubscription,
    RouteMode,
    route_mode_for,
    stream_urls,
    subscriptions,
)

LOGGER = "mmoms.venues.binance.marketdata"
BTC, XRP, BNB = Symbol("BTCUSDT"), Symbol("XRPUSDT"), Symbol("BNBUSDT")
RECEIVED = 1_800_000_000_000_000_000

# md.bookTicker.testnet2026 (capture, testnet 2026-07-26, combined envelope)
BOOK_TICKER = '{"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":359220650272,"s":"BTCUSDT","ps":"BTCUSDT","b":"64336.00","B":"73.3346","a":"64346.70","A":"589.8026","T":1785048483771,"E":1785048483771,"st":1}}'
# md.bookTicker.XRPUSDT.2025 (capture, mainnet 2025-01: no st / ps)
BOOK_TICKER_XRP = '{"stream":"xrpusdt@bookTicker","data":{"e":"bookTicker","u":6500077103850,"s":"XRPUSDT","b":"3.0290","B":"1850.6","a":"3.0291","A":"12824.3","T":1737442178641,"E":1737442178641}}'
# md.depthUpdate.diff.testnet2026 (capture; a diff stream)
DEPTH_DIFF = '{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1785048482829,"T":1785048482718,"s":"BTCUSDT","ps":"BTCUSDT","U":359220619477,"u":359220619477,"pu":359220613550,"b":[],"a":[["64346.70","589.8041"]],"st":1}}'
# md.depthUpdate.docs (raw payload of the docs example)
DEPTH_DOCS = '{"e":"depthUpdate","E":123456789,"T":123456788,"s":"BTCUSDT","ps":"BTCUSDT","st":1,"U":157,"u":160,"pu":149,"b":[["0.0024","10"]],"a":[["0.0026","100"]]}'
# md.aggTrade.testnet2026 (capture)
AGG_TRADE = '{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1785048482872,"a":300238285,"s":"BTCUSDT","p":"64346.70","q":"0.0200","nq":"0.0200","f":521512568,"l":521512568,"T":1785048482718,"m":false,"st":1}}'
# md.aggTrade.docs (raw)
AGG_TRADE_DOCS = '{"e":"aggTrade","E":123456789,"a":5933014,"s":"BTCUSDT","p":"0.001","q":"100","f":100,"l":105,"T":123456785,"m":true,"st":1}'
# md.markPriceUpdate.testnet2026 (capture)
MARK_PRICE = '{"stream":"btcusdt@markPrice@1s","data":{"e":"markPriceUpdate","E":1785048483000,"s":"BTCUSDT","p":"64346.70000000","ap":"64346.70000000","P":"64335.31235580","i":"64399.61608696","r":"0.00005301","T":1785052800000,"st":1}}'
# md.bookTicker.docs (raw)
BOOK_TICKER_DOCS = '{"e":"bookTicker","u":400900217,"E":1568014460893,"T":1568014460891,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000","st":1,"ps":"BNBUSDT"}'


def wrap(stream: str, raw: str) -> str:
    return f'{{"stream":"{stream}","data":{raw}}}'


@pytest.fixture
def decoder() -> MarketDataDecoder:
    subs = (
        MarketSubscription(BTC, depth=5, trades=True),
        MarketSubscription(XRP),
        MarketSubscription(BNB, trades=True),
    )
    return MarketDataDecoder(subs)


def test_book_ticker_captures(decoder: MarketDataDecoder) -> None:
    assert decoder.decode(BOOK_TICKER, RECEIVED) == MarketUpdate(
        symbol=BTC,
        bid=D("64336.00"),
        ask=D("64346.70"),
        bid_qty=D("73.3346"),
        ask_qty=D("589.8026"),
        ts_ns=1785048483771 * 1_000_000,
        received_ns=RECEIVED,
    )
    xrp = decoder.decode(BOOK_TICKER_XRP.encode(), RECEIVED)  # bytes are fine too
    assert isinstance(xrp, MarketUpdate)
    assert (xrp.symbol, xrp.bid, xrp.ask, xrp.spread) == (
        XRP,
        D("3.0290"),
        D("3.0291"),
        D("0.0001"),
    )
    docs = decoder.decode(wrap("bnbusdt@bookTicker", BOOK_TICKER_DOCS), RECEIVED)
    assert isinstance(docs, MarketUpdate)
    assert docs.ts_ns == 1568014460891 * 1_000_000  # T (transaction time), not E


def test_partial_depth_has_the_diff_streams_keys(decoder: MarketDataDecoder) -> None:
    data = json.loads(DEPTH_DIFF)["data"]
    update = decoder.decode(wrap("btcusdt@depth5@100ms", json.dumps(data)), RECEIVED)
    assert update == DepthUpdate(
        symbol=BTC,
        bids=(),
        asks=(PriceLevel(D("64346.70"), D("589.8041")),),
        ts_ns=1785048482718 * 1_000_000,
        received_ns=RECEIVED,
    )
    docs = decoder.decode(wrap("btcusdt@depth5@100ms", DEPTH_DOCS), RECEIVED)
    assert isinstance(docs, DepthUpdate)
    assert (docs.bids, docs.asks) == (
        (PriceLevel(D("0.0024"), D("10")),),
        (PriceLevel(D("0.0026"), D("100")),),
    )


def test_a_diff_depth_message_is_not_a_snapshot(
    decoder: MarketDataDecoder, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, LOGGER):
        assert decoder.decode(DEPTH_DIFF, RECEIVED) is None
    assert "btcusdt@depth@100ms" in caplog.text
    assert "589.8041" not in caplog.text  # never the payload


def test_agg_trade_captures(decoder: MarketDataDecoder) -> None:
    assert decoder.decode(AGG_TRADE, RECEIVED) == TradeUpdate(
        symbol=BTC,
        price=D("64346.70"),
        quantity=D("0.0200"),
        aggressor=Side.BUY,  # m=false: the buyer was the taker
        trade_id=300238285,
        ts_ns=1785048482718 * 1_000_000,  # the trade time T
        received_ns=RECEIVED,
    )
    docs = decoder.decode(wrap("btcusdt@aggTrade", AGG_TRADE_DOCS), RECEIVED)
    assert isinstance(docs, TradeUpdate)
    assert (docs.aggressor, docs.trade_id, docs.quantity) == (Side.SELL, 5933014, D("100"))


def test_mark_price_capture(decoder: MarketDataDecoder) -> None:
    assert decoder.decode(MARK_PRICE, RECEIVED) == MarkPriceUpdate(
        symbol=BTC,
        mark_price=D("64346.70000000"),
        index_price=D("64399.61608696"),
        funding_rate=D("0.00005301"),
        next_funding_ns=1785052800000 * 1_000_000,
        ts_ns=1785048483000 * 1_000_000,  # E: this stream's T is the next funding time
        received_ns=RECEIVED,
    )


def test_mark_price_without_funding(decoder: MarketDataDecoder) -> None:
    """Delivery contracts send ``"r": ""`` and ``"T": 0``."""
    raw = (
        '{"e":"markPriceUpdate","E":1562305380000,"s":"BTCUSDT","p":"11794.15","i":"","r":"","T":0}'
    )
    update = decoder.decode(wrap("btcusdt@markPrice@1s", raw), RECEIVED)
    assert isinstance(update, MarkPriceUpdate)
    assert (update.mark_price, update.index_price, update.funding_rate) == (
        D("11794.15"),
        None,
        None,
    )
    assert update.next_funding_ns is None


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (BOOK_TICKER.replace('"s":"BTCUSDT"', '"s":"ETHUSDT"'), "symbol differs from the stream"),
        (BOOK_TICKER.replace("btcusdt@bookTicker", "ethusdt@bookTicker"), "not subscribed"),
        (AGG_TRADE.replace("btcusdt@aggTrade", "btcusdt@bookTicker"), "event differs from stream"),
        (BOOK_TICKER.replace('"a":"64346.70"', '"a":"64336.00"'), "locked book"),
        (BOOK_TICKER.replace('"b":"64336.00"', '"b":"NaN"'), "NaN bid"),
        (BOOK_TICKER.replace('"B":"73.3346"', '"B":"-1"'), "negative size"),
        (BOOK_TICKER.replace('"a":"64346.70"', '"a":"1e999"'), "absurd price"),
        (AGG_TRADE.replace('"q":"0.0200"', '"q":"0"'), "empty trade"),
        (MARK_PRICE.replace('"r":"0.00005301"', '"r":"sNaN"'), "NaN funding"),
        (MARK_PRICE.replace('"i":"64399.61608696"', '"i":"x"'), "index not a number"),
        (wrap("xrpusdt@markPrice@1s", MARK_PRICE.split('"data":')[1][:-1]), "BTC under XRP"),
        (wrap("btcusdt@depth5@100ms", DEPTH_DOCS.replace('"0.0026"', '"0.0023"')), "crossed"),
        (
            wrap(
                "btcusdt@depth5@100ms",
                DEPTH_DOCS.replace('[["0.0024","10"]]', '[["1","1"],["2","1"]]'),
            ),
            "bids not best first",
        ),
        ('{"stream":"btcusdt@bookTicker","data":{"e":"kline","s":"BTCUSDT"}}', "unknown event"),
        ('{"result":null,"id":1}', "control reply"),
        ('{"error":{"code":2,"msg":"Invalid request"},"id":1}', "error frame"),
        ("not json", "garbage"),
    ],
)
def test_unusable_messages_yield_nothing_and_a_log_line(
    decoder: MarketDataDecoder, caplog: pytest.LogCaptureFixture, text: str, why: str
) -> None:
    with caplog.at_level(logging.DEBUG, LOGGER):
        assert decoder.decode(text, RECEIVED) is None, why
    assert caplog.records, why
    assert decoder.stats.ignored == 1


def test_split_routes_put_book_streams_on_public_and_the_rest_on_market() -> None:
    subs = subscriptions(["BTCUSDC", "ETHUSDC"], depth=10, trades=True)
    assert stream_urls("wss://fstream.binance.com", RouteMode.SPLIT, subs) == [
        "wss://fstream.binance.com/market/stream?streams="
        "btcusdc@markPrice@1s/btcusdc@aggTrade/ethusdc@markPrice@1s/ethusdc@aggTrade",
        "wss://fstream.binance.com/public/stream?streams="
        "btcusdc@bookTicker/btcusdc@depth10@100ms/ethusdc@bookTicker/ethusdc@depth10@100ms",
    ]


def test_root_route_carries_everything_on_one_connection() -> None:
    subs = subscriptions(["BTCUSDC"])
    assert stream_urls("ws://127.0.0.1:9/", RouteMode.ROOT, subs) == [
        "ws://127.0.0.1:9/stream?streams=btcusdc@bookTicker/btcusdc@markPrice@1s"
    ]


def test_many_streams_are_split_over_connections() -> None:
    subs = subscriptions([f"S{i}USDT" for i in range(150)])  # 300 streams, 150 per route
    urls = stream_urls("wss://h", RouteMode.ROOT, subs, max_streams=200)
    assert [len(u.split("streams=")[1].split("/")) for u in urls] == [200, 100]


def test_route_mode_by_host() -> None:
    assert route_mode_for("wss://fstream.binance.com") is RouteMode.SPLIT
    assert route_mode_for("wss://fstream.binancefuture.com") is RouteMode.ROOT
    assert route_mode_for("wss://demo-fstream.binance.com") is RouteMode.ROOT
    assert route_mode_for("ws://127.0.0.1:8765") is RouteMode.SPLIT


@pytest.mark.parametrize("bad", [{"symbol": "btcusdt"}, {"symbol": "BTC/USDT"}, {"depth": 15}])
def test_subscriptions_are_checked(bad: dict[str, object]) -> None:
    args: dict[str, object] = {"symbol": BTC, **bad}
    with pytest.raises(ValueError, match=r"symbol|depth"):
        MarketSubscription(**args)  # type: ignore[arg-type]
