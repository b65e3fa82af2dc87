"""The combined-stream wrapper and what the user-stream decoder cannot use.

A connection to ``/stream?streams=<listenKey>`` or ``/private/stream`` delivers each event as
``{"stream": <name>, "data": <event>}``; the decoder used to drop those as "a message without an
event type", at DEBUG, so such a connection looked healthy and delivered nothing. And every
unknown or malformed message was logged on its own: a new event type Binance sends on every
trade would flood the log. Now: unwrapped and decoded; unknown and malformed messages counted
per kind and logged once per kind.
"""

from __future__ import annotations

import logging

import pytest

from mmoms.venues.binance import BinanceConfig, BinanceGateway, Credentials
from mmoms.venues.binance.streamcodec import UserStreamDecoder
from mmoms.venues.testing import FakeHttpTransport, FakeWsConnector, json_reply
from tests.venues import payloads as p
from tests.venues.conftest import API_KEY, SECRET
from tests.venues.real_payloads import of_kind, raw

RECV = 1_700_000_000_123_000_000
LISTEN_KEY = "pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf19v8a65a1"
LOGGER = "mmoms.venues.binance.userstream"


def wrapped(event: bytes, stream: str = LISTEN_KEY) -> bytes:
    """``event`` as a combined stream sends it (the stream of user data is the listenKey)."""
    return b'{"stream":"' + stream.encode() + b'","data":' + event + b"}"


USER_EVENTS = [e["id"] for e in of_kind(*(f"ws.{k}" for k in (
    "ORDER_TRADE_UPDATE", "ACCOUNT_UPDATE", "ALGO_UPDATE", "TRADE_LITE",
    "ACCOUNT_CONFIG_UPDATE", "MARGIN_CALL", "listenKeyExpired")))]  # fmt: skip


@pytest.mark.parametrize("payload_id", USER_EVENTS)
def test_every_real_user_event_decodes_alike_bare_or_wrapped(payload_id: str) -> None:
    bare = UserStreamDecoder().decode(raw(payload_id), RECV)
    decoder = UserStreamDecoder()
    assert decoder.decode(wrapped(raw(payload_id)), RECV) == bare
    assert bare  # each one is something we use
    assert (decoder.stats.wrapped, decoder.stats.malformed, decoder.stats.unknown) == (1, 0, 0)


def test_a_wrapped_str_frame_decodes_like_bytes() -> None:
    data = wrapped(p.ORDER_TRADE_UPDATE_TRADE)
    assert UserStreamDecoder().decode(data.decode(), RECV) == UserStreamDecoder().decode(data, RECV)


def test_unknown_and_malformed_messages_are_counted_and_logged_once_per_kind(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, LOGGER)
    decoder = UserStreamDecoder()
    malformed = b'{"e":"ORDER_TRADE_UPDATE","E":1,"T":1,"o":{"s":"X"}}'
    unusable = p.ORDER_TRADE_UPDATE_NEW.replace(b'"X":"NEW"', b'"X":"WEIRD"')
    for _ in range(3):
        assert decoder.decode(b'{"e":"STRATEGY_UPDATE","E":1,"su":{}}', RECV) == []
        assert decoder.decode(wrapped(malformed), RECV) == []
        assert decoder.decode(malformed, RECV) == []
        assert decoder.decode(unusable, RECV) == []
        assert decoder.decode(b"}{", RECV) == []
    assert decoder.stats.by_kind == {
        "unknown STRATEGY_UPDATE": 3,
        "malformed ORDER_TRADE_UPDATE": 6,
        "unusable ORDER_TRADE_UPDATE": 3,
        "not-json": 3,
    }
    assert (decoder.stats.unknown, decoder.stats.malformed) == (3, 12)
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(loud) == 4  # one line per kind; the rest at DEBUG
    quiet = [r for r in caplog.records if r.levelno == logging.DEBUG]
    assert len(quiet) == 11
    assert LISTEN_KEY not in caplog.text


@pytest.mark.parametrize(
    "frame",
    [
        wrapped(b"null"),
        wrapped(b'"text"'),
        wrapped(b'{"result":null,"id":1}'),
        wrapped(wrapped(p.ORDER_TRADE_UPDATE_TRADE)),  # one level only
        b'{"stream":"' + LISTEN_KEY.encode() + b'"}',
    ],
    ids=["null", "string", "control-reply", "nested", "no-data"],
)
def test_a_wrapper_without_an_event_is_counted_and_logged_without_the_key(
    frame: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, LOGGER)
    decoder = UserStreamDecoder()
    assert decoder.decode(frame, RECV) == []
    assert decoder.stats.malformed == 1
    assert [r for r in caplog.records if r.levelno == logging.ERROR]
    assert LISTEN_KEY not in caplog.text


def test_a_wrapped_error_frame_is_a_notice() -> None:
    [notice] = UserStreamDecoder().decode(wrapped(b'{"code":-1125,"msg":"Invalid."}'), RECV)
    assert getattr(notice, "code", None) == -1125


def test_the_gateway_exposes_the_stream_counters() -> None:
    http = FakeHttpTransport(lambda _: json_reply(500, {}))
    keys = Credentials.hmac(API_KEY, SECRET)
    gw = BinanceGateway(BinanceConfig(), keys, http=http, ws=FakeWsConnector())
    assert gw.userstream is not None
    assert gw.stream_stats is gw.userstream.decoder.stats
    gw.userstream.decoder.decode(b'{"e":"GRID_UPDATE","E":1}', RECV)
    assert gw.stream_stats.by_kind == {"unknown GRID_UPDATE": 1}
    quiet = BinanceGateway(BinanceConfig(user_stream=False), keys, http=http)
    assert quiet.stream_stats is None
