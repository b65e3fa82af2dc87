"""User-data stream decoding: every event example of the notes, unknown types and garbage."""

from __future__ import annotations

import logging
from decimal import Decimal

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mmoms.core.enums import (
    LiquiditySide,
    OrderType,
    PositionSide,
    Side,
    TimeInForce,
    VenueOrderStatus,
)
from mmoms.core.reports import BalanceReport, FillReport, OrderStatusReport, PositionReport
from mmoms.venues.binance.streamcodec import (
    ListenKeyExpiredNotice,
    StreamErrorNotice,
    UserStreamDecoder,
)
from mmoms.venues.venue_reports import (
    AccountConfigReport,
    AlgoOrderReport,
    AlgoStatus,
    LiteFillReport,
    MarginCallReport,
)
from tests.venues import payloads as p

RECV = 1_700_000_000_123_000_000


@pytest.fixture
def decoder() -> UserStreamDecoder:
    return UserStreamDecoder()


def test_order_trade_update_new(decoder: UserStreamDecoder) -> None:
    [report] = decoder.decode(p.ORDER_TRADE_UPDATE_NEW, RECV)
    assert isinstance(report, OrderStatusReport)
    assert report.symbol == "BTCUSDT"
    assert report.client_order_id == "TEST"
    assert report.venue_order_id == 8886774
    assert report.order_type is OrderType.TRAILING_STOP_MARKET
    assert report.status is VenueOrderStatus.NEW
    assert report.side is Side.SELL
    assert report.position_side is PositionSide.LONG
    assert report.quantity == Decimal("0.001")
    assert report.filled_qty == 0
    assert report.time_in_force is TimeInForce.GTC
    assert report.ts_event_ns == 1568879465650 * 1_000_000
    assert report.ts_recv_ns == RECV
    assert not report.amended


def test_order_trade_update_trade_yields_fill_then_status(decoder: UserStreamDecoder) -> None:
    fill, status = decoder.decode(p.ORDER_TRADE_UPDATE_TRADE, RECV)
    assert isinstance(fill, FillReport)
    assert isinstance(status, OrderStatusReport)
    assert fill.trade_id == 12345678
    assert fill.last_qty == Decimal("0.001")
    assert fill.last_price == Decimal("7100.50")
    assert fill.cum_filled_qty == Decimal("0.001")
    assert fill.commission == Decimal("0.01000000")
    assert fill.commission_asset == "USDT"
    assert fill.liquidity is LiquiditySide.MAKER
    assert fill.realized_pnl == Decimal("12.34")
    assert status.status is VenueOrderStatus.PARTIALLY_FILLED
    assert status.filled_qty == Decimal("0.001")
    assert status.avg_price == Decimal("7100.50")


def test_amendment_is_flagged(decoder: UserStreamDecoder) -> None:
    amended = p.ORDER_TRADE_UPDATE_NEW.replace(b'"x":"NEW"', b'"x":"AMENDMENT"')
    [report] = decoder.decode(amended, RECV)
    assert isinstance(report, OrderStatusReport)
    assert report.amended


def test_missing_commission_and_null_trailing_fields(decoder: UserStreamDecoder) -> None:
    payload = p.ORDER_TRADE_UPDATE_TRADE.replace(b'"N":"USDT","n":"0.01000000",', b"")
    payload = payload.replace(b'"AP":"0","cr":"0"', b'"AP":null,"cr":null')
    fill, _ = decoder.decode(payload, RECV)
    assert isinstance(fill, FillReport)
    assert fill.commission == 0
    assert fill.commission_asset == ""


def test_liquidation_order_type_is_market(decoder: UserStreamDecoder) -> None:
    payload = p.ORDER_TRADE_UPDATE_TRADE.replace(b'"o":"LIMIT"', b'"o":"LIQUIDATION"')
    _, status = decoder.decode(payload, RECV)
    assert isinstance(status, OrderStatusReport)
    assert status.order_type is OrderType.MARKET


def test_trade_lite_with_int64_ids(decoder: UserStreamDecoder) -> None:
    payload = p.TRADE_LITE.replace(b'"i":8886774', b'"i":%d' % p.BIG_ORDER_ID)
    [report] = decoder.decode(payload, RECV)
    assert isinstance(report, LiteFillReport)
    assert not isinstance(report, FillReport)
    fill = report.fill
    assert fill.venue_order_id == p.BIG_ORDER_ID
    assert fill.trade_id == 109100866
    assert fill.last_qty == Decimal("0.040")
    assert fill.last_price == Decimal("64089.20")
    assert fill.client_order_id == "z8hcUoOsqEdKMeKPSABslD"
    assert fill.cum_filled_qty is None
    assert fill.liquidity is LiquiditySide.TAKER
    assert report.ts_event_ns == 1721895408214 * 1_000_000


def test_account_update(decoder: UserStreamDecoder) -> None:
    reports = decoder.decode(p.ACCOUNT_UPDATE, RECV)
    balances = [r for r in reports if isinstance(r, BalanceReport)]
    positions = [r for r in reports if isinstance(r, PositionReport)]
    assert [(b.asset, b.wallet_balance) for b in balances] == [
        ("USDT", Decimal("122624.12345678")),
        ("BUSD", Decimal("1.00000000")),
    ]
    assert [(x.position_side, x.quantity, x.entry_price) for x in positions] == [
        (PositionSide.BOTH, Decimal(0), Decimal("0.00000")),
        (PositionSide.LONG, Decimal(20), Decimal("6563.6")),
        (PositionSide.SHORT, Decimal(-10), Decimal("6563.8")),
    ]
    assert positions[2].unrealized_pnl == Decimal("-1423.15600")


def test_algo_update(decoder: UserStreamDecoder) -> None:
    [report] = decoder.decode(p.ALGO_UPDATE, RECV)
    assert isinstance(report, AlgoOrderReport)
    assert report.algo_id == 2148719
    assert report.client_order_id == "Q5xaq5EGKgXXa0fD7fs0Ip"
    assert report.status is AlgoStatus.CANCELED
    assert report.status.is_terminal
    assert report.order_type is OrderType.TAKE_PROFIT
    assert report.trigger_price == Decimal(750)
    assert report.actual_order_id is None
    assert report.reason == "Reduce Only reject"


def test_algo_update_triggered_carries_the_matching_engine_order(
    decoder: UserStreamDecoder,
) -> None:
    payload = p.ALGO_UPDATE.replace(
        b'"X":"CANCELED", "ai":""', b'"X":"TRIGGERED", "ai":"88937381063"'
    )
    [report] = decoder.decode(payload, RECV)
    assert isinstance(report, AlgoOrderReport)
    assert report.status is AlgoStatus.TRIGGERED
    assert report.actual_order_id == 88937381063


def test_account_config_updates(decoder: UserStreamDecoder) -> None:
    [lev] = decoder.decode(p.ACCOUNT_CONFIG_LEVERAGE, RECV)
    assert isinstance(lev, AccountConfigReport)
    assert (lev.symbol, lev.leverage, lev.multi_assets) == ("BTCUSDT", 25, None)
    [multi] = decoder.decode(p.ACCOUNT_CONFIG_MULTI_ASSETS, RECV)
    assert isinstance(multi, AccountConfigReport)
    assert (multi.symbol, multi.leverage, multi.multi_assets) == (None, None, True)


def test_margin_call(decoder: UserStreamDecoder) -> None:
    [report] = decoder.decode(p.MARGIN_CALL, RECV)
    assert isinstance(report, MarginCallReport)
    assert report.cross_wallet_balance == Decimal("3.16812045")
    [pos] = report.positions
    assert (pos.symbol, pos.position_side, pos.quantity) == (
        "ETHUSDT",
        PositionSide.LONG,
        Decimal("1.327"),
    )
    assert pos.maint_margin == Decimal("1.614445")


@pytest.mark.parametrize("payload", [p.LISTEN_KEY_EXPIRED, p.LISTEN_KEY_EXPIRED_STR_E])
def test_listen_key_expired(decoder: UserStreamDecoder, payload: bytes) -> None:
    [notice] = decoder.decode(payload, RECV)
    assert isinstance(notice, ListenKeyExpiredNotice)
    assert notice.key.startswith("WsCMN0a4")
    assert notice.ts_event_ns == 1736996475556 * 1_000_000


def test_unknown_event_is_logged_once_and_ignored(
    decoder: UserStreamDecoder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, "mmoms.venues.binance.userstream")
    for _ in range(3):
        assert decoder.decode(b'{"e":"STRATEGY_UPDATE","E":1,"su":{}}', RECV) == []
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "STRATEGY_UPDATE" in warnings[0].getMessage()
    assert decoder.stats.unknown == 3


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"not json",
        b"[1,2,3]",
        b'{"e":"ORDER_TRADE_UPDATE","E":1,"T":1,"o":{"s":"X"}}',  # a known event, malformed
        b'{"e":"ORDER_TRADE_UPDATE","E":"x","T":1}',
        p.ORDER_TRADE_UPDATE_NEW.replace(b'"X":"NEW"', b'"X":"WEIRD"'),  # unknown enum
        p.ORDER_TRADE_UPDATE_NEW[:40],
    ],
)
def test_garbage_is_a_logged_error_not_a_crash(
    decoder: UserStreamDecoder, caplog: pytest.LogCaptureFixture, garbage: bytes
) -> None:
    assert decoder.decode(garbage, RECV) == []
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert decoder.stats.malformed == 1


@pytest.mark.parametrize(
    "frame",
    [
        b'{"error":{"code":-1125,"msg":"This listenKey does not exist."}}',
        b'{"code":"-1125","msg":"x"}',
    ],
)
def test_error_frames_become_notices(decoder: UserStreamDecoder, frame: bytes) -> None:
    [notice] = decoder.decode(frame, RECV)
    assert isinstance(notice, StreamErrorNotice)
    assert notice.code == -1125


def test_control_replies_are_ignored_quietly(
    decoder: UserStreamDecoder, caplog: pytest.LogCaptureFixture
) -> None:
    assert decoder.decode(b'{"result":null,"id":1}', RECV) == []
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_logs_never_contain_the_payload(
    decoder: UserStreamDecoder, caplog: pytest.LogCaptureFixture
) -> None:
    secretish = b'{"e":"listenKeyExpired","E":{},"listenKey":"SECRETKEY123"}'
    caplog.set_level(logging.DEBUG)
    decoder.decode(secretish, RECV)
    assert "SECRETKEY123" not in caplog.text


def test_str_input_works(decoder: UserStreamDecoder) -> None:
    assert len(decoder.decode(p.ORDER_TRADE_UPDATE_TRADE.decode(), RECV)) == 2


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300))
def test_fuzz_never_raises(data: bytes | str) -> None:
    logging.disable(logging.CRITICAL)
    try:
        out = UserStreamDecoder().decode(data, RECV)
    finally:
        logging.disable(logging.NOTSET)
    assert isinstance(out, list)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["e", "E", "T", "o", "a", "s", "i"]),
        st.integers() | st.text(max_size=5) | st.none(),
    )
)
def test_fuzz_event_shaped_objects_never_raise(obj: dict[str, object]) -> None:
    logging.disable(logging.CRITICAL)
    try:
        out = UserStreamDecoder().decode(msgspec.json.encode(obj), RECV)
    finally:
        logging.disable(logging.NOTSET)
    assert isinstance(out, list)
