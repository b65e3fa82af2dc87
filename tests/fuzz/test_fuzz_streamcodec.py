"""Fuzz the user-data stream decoder (``ORDER_TRADE_UPDATE``, ``TRADE_LITE``, ``ACCOUNT_UPDATE``,
``ALGO_UPDATE``, ``ACCOUNT_CONFIG_UPDATE``, ``MARGIN_CALL``, ``listenKeyExpired``, error frames)
with damaged real payloads and random JSON.

Properties, for every message:

* :meth:`UserStreamDecoder.decode` never raises;
* whatever it returns is sane (finite decimals, int64 ints) and can be journaled as it is;
* a message it drops leaves a log line under ``mmoms.venues.binance.userstream`` that names the
  problem and never carries the payload (a ``listenKeyExpired`` holds the key);
* fed to the OMS's book (the core :class:`LocalOrderBook`), a dropped message changes nothing
  (same state hash) and a kept one never makes the book raise.
"""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest
from hypothesis import example, given

from mmoms.core.book import LocalOrderBook
from mmoms.core.clock import TestClock
from mmoms.core.commands import SubmitOrder
from mmoms.core.enums import OrderType, PositionSide, Side, TimeInForce
from mmoms.core.ids import ClientOrderId, Symbol
from mmoms.core.reports import BalanceReport, FillReport, OrderStatusReport, PositionReport
from mmoms.journal.records import BookReport, decode_entry, encode_entry
from mmoms.venues.binance.streamcodec import (
    ListenKeyExpiredNotice,
    StreamErrorNotice,
    UserStreamDecoder,
)
from mmoms.venues.venue_reports import (
    AccountConfigReport,
    AlgoOrderReport,
    LiteFillReport,
    MarginCallReport,
)
from tests.fuzz.logs import captured, lines
from tests.fuzz.mutate import fuzz_settings, hostile_json
from tests.fuzz.sanity import assert_sane
from tests.venues import payloads as p

LOGGER = "mmoms.venues.binance.userstream"
LISTEN_KEY = "WsCMN0a4KHUPTQuX6IUnqEZfB1inxmv1qR4kbf1LuEjur5VdbzqvyxqG9TSjVVxv"
RECV_NS = 1_700_000_000_000_000_000

SEEDS = [
    p.ORDER_TRADE_UPDATE_NEW,
    p.ORDER_TRADE_UPDATE_TRADE,
    p.TRADE_LITE,
    p.ACCOUNT_UPDATE,
    p.ALGO_UPDATE,
    p.ACCOUNT_CONFIG_LEVERAGE,
    p.ACCOUNT_CONFIG_MULTI_ASSETS,
    p.MARGIN_CALL,
    p.LISTEN_KEY_EXPIRED,
    p.LISTEN_KEY_EXPIRED_STR_E,
    b'{"code": -1125, "msg": "Invalid listenKey."}',
    b'{"error": {"code": "-1125", "msg": "Invalid listenKey."}, "id": 3}',
    b'{"result": null, "id": 1}',
    # the combined-stream wrapper (/stream?streams=<listenKey>, /private/stream)
    b'{"stream": "' + LISTEN_KEY.encode() + b'", "data": ' + p.ORDER_TRADE_UPDATE_TRADE + b"}",
    b'{"stream": "' + LISTEN_KEY.encode() + b'", "data": ' + p.ALGO_UPDATE + b"}",
    b'{"stream": "' + LISTEN_KEY.encode() + b'", "data": ' + p.LISTEN_KEY_EXPIRED + b"}",
]
KINDS = (
    OrderStatusReport,
    FillReport,
    PositionReport,
    BalanceReport,
    LiteFillReport,
    AlgoOrderReport,
    AccountConfigReport,
    MarginCallReport,
    ListenKeyExpiredNotice,
    StreamErrorNotice,
)
BOOK_REPORTS = (OrderStatusReport, FillReport, PositionReport, BalanceReport)

# Inputs that crashed the decoder before the fixes (kept as explicit examples).
CRASHERS = [
    # int("²"): str.isdigit() is true for superscripts
    b'{"e":"listenKeyExpired","E":"\xc2\xb2","listenKey":"k"}',
    # int() refuses more than 4300 digits
    b'{"e":"listenKeyExpired","E":"' + b"9" * 5000 + b'","listenKey":"k"}',
    p.ALGO_UPDATE.replace(b'"ai":""', b'"ai":"\xc2\xb2"'),
    b'{"code":"--5","msg":"x"}',
    b'{"code":"-\xc2\xb2","msg":"x"}',
    # RecursionError from msgspec on deep nesting
    b'{"e":"ORDER_TRADE_UPDATE","zz":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    b'{"e":"NEW_EVENT","zz":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    # Decimal NaN / sNaN: comparing them raises InvalidOperation
    p.ORDER_TRADE_UPDATE_TRADE.replace(b'"l":"0.001"', b'"l":"NaN"'),
    p.ORDER_TRADE_UPDATE_TRADE.replace(b'"l":"0.001"', b'"l":"sNaN"'),
    p.ORDER_TRADE_UPDATE_NEW.replace(b'"p":"0"', b'"p":"Infinity"'),
    # an unknown enum value 5000 characters long went whole into the error and its log line
    p.ORDER_TRADE_UPDATE_TRADE.replace(b'"S":"BUY"', b'"S":"' + b"9" * 5000 + b'"'),
    # a time whose nanoseconds overflow int64 (the journal could not store the report)
    p.ORDER_TRADE_UPDATE_TRADE.replace(b'"T":1568879465651,"t"', b'"T":' + b"9" * 30 + b',"t"'),
    p.MARGIN_CALL.replace(b'"mp":"187.17127"', b'"mp":"NaN"'),
    # a leverage beyond int64 (found by the MMOMS_SOAK=full run)
    b'{"e":"ACCOUNT_CONFIG_UPDATE","E":1611646737479,"T":1611646737476,'
    b'"ac":{"s":"BTCUSDT","l":9223372036854775808}}',
    # wrappers: nested past the recursion limit, around nothing, around garbage, in a wrapper
    b'{"data":' * 100_000 + b"1" + b"}" * 100_000,
    b'{"stream":"k","data":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    b'{"stream":"k","data":null}',
    b'{"stream":"k","data":"\xff"}',
    b'{"stream":"k","data":{"stream":"k","data":{"e":"TRADE_LITE"}}}',
    b'{"stream":"' + LISTEN_KEY.encode() + b'","data":{"e":"ORDER_TRADE_UPDATE","o":1}}',
]


def _book() -> LocalOrderBook:
    """A book holding orders with the client ids of the payloads, so reports find them."""
    book = LocalOrderBook(TestClock(start_ns=RECV_NS))
    for cid in ("TEST", "c-1", "Q5xaq5EGKgXXa0fD7fs0Ip"):
        book.create(
            SubmitOrder(
                ts_ns=RECV_NS,
                client_order_id=ClientOrderId(cid),
                symbol=Symbol("BTCUSDT"),
                side=Side.BUY,
                order_type=OrderType.LIMIT,
                quantity=Decimal("0.001"),
                price=Decimal("7100.50"),
                time_in_force=TimeInForce.GTC,
                position_side=PositionSide.LONG,
            )
        )
    return book


def check_message(data: bytes) -> None:
    decoder = UserStreamDecoder()
    book = _book()
    before = book.state_hash()
    with captured(LOGGER) as records:
        out = decoder.decode(data, RECV_NS)
    for item in out:
        assert isinstance(item, KINDS), type(item)
        assert_sane(item)
        if isinstance(item, BOOK_REPORTS):
            entry = BookReport(report=item)  # what the engine journals
            assert decode_entry(encode_entry(entry)) == entry
            book.apply(item)
    text = lines(records)
    if not out:
        assert book.state_hash() == before
        assert text, "a dropped message must leave a log line"
    for line in text:
        assert LISTEN_KEY not in line
        assert len(line) < 2000, "a log line must not carry the payload"
    assert all(r.levelno <= logging.ERROR for r in records)  # an error, never a crash report


@pytest.mark.parametrize("data", CRASHERS)
def test_crashers_are_dropped_or_decoded_cleanly(data: bytes) -> None:
    check_message(data)


@fuzz_settings(400)
@given(data=hostile_json(SEEDS))
@example(data=CRASHERS[0])
def test_hostile_stream_messages(data: bytes) -> None:
    check_message(data)


@fuzz_settings(100)
@given(data=hostile_json(SEEDS))
def test_str_frames_like_bytes(data: bytes) -> None:
    """aiohttp hands text frames over as str: the same message as str behaves the same."""
    text = data.decode("utf-8", "replace")
    as_bytes = UserStreamDecoder().decode(text.encode(), RECV_NS)
    as_str = UserStreamDecoder().decode(text, RECV_NS)
    assert repr(as_str) == repr(as_bytes)


def test_real_payloads_still_decode() -> None:
    """The fuzz targets keep working: every real event gives at least one report, bare or
    in the combined-stream wrapper."""
    decoder = UserStreamDecoder()
    for data in SEEDS[:10] + SEEDS[13:]:
        assert decoder.decode(data, RECV_NS), data[:40]
    assert decoder.stats.malformed == 0
    assert decoder.stats.wrapped == 3
