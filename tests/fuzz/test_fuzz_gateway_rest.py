"""Fuzz the gateway's REST side end to end: every reply parser behind :class:`BinanceGateway`
(orders, batch, algo, queries, positions, balances, userTrades, exchangeInfo, listenKey, server
time, the error body → error kind table, ``Retry-After`` and ``X-MBX-*`` usage headers), with
damaged real payloads, random JSON, HTML and plain-text 5xx pages, any HTTP status.

Properties, per reply:

* the operation returns sane reports, or raises one of the project's errors
  (:class:`~mmoms.core.errors.MmomsError`: the venue kinds of :mod:`mmoms.venues.errors` and
  the local refusals) — never anything else;
* no exception text, ``repr`` or log line carries the API key, the secret or a signature the
  client computed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from mmoms.core.clock import TestClock
from mmoms.core.commands import AmendOrder, CancelAllOrders, CancelOrder, SubmitOrder
from mmoms.core.enums import OrderType, Side, TimeInForce
from mmoms.core.errors import MmomsError
from mmoms.core.ids import ClientOrderId, Symbol, VenueOrderId
from mmoms.venues.binance.config import BinanceConfig
from mmoms.venues.binance.gateway import BinanceGateway
from mmoms.venues.binance.pipeline import retry_after_ms
from mmoms.venues.binance.signing import Credentials
from mmoms.venues.testing import FakeHttpTransport, FakeRequest
from mmoms.venues.transport import HttpReply
from tests.fuzz.logs import captured, lines
from tests.fuzz.mutate import HOSTILE_TOKENS, fuzz_settings, hostile_json
from tests.fuzz.sanity import assert_sane
from tests.venues import payloads as p
from tests.venues.conftest import API_KEY, SECRET, START_NS
from tests.venues.fakevenue import DEFAULTS

SYM = Symbol("BTCUSDT")
ERROR_BODIES = [
    b'{"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."}',
    b'{"code": -2013, "msg": "Order does not exist."}',
    b'{"code": -1003, "msg": "Too many requests."}',
    b'{"code": "-4116", "msg": "Duplicate."}',
    b'{"code": -1000, "msg": "Unknown error, please check your request or try again later."}',
    b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
    b"Service Unavailable.",
    b"",
]
STATUSES = [200, 200, 200, 200, 201, 204, 400, 401, 403, 404, 408, 409, 418, 429, 500, 502, 503]
HEADER_VALUES = [
    *(t.decode("utf-8", "replace") for t in HOSTILE_TOKENS if len(t) < 6000),
    "5",
    "2400",
    "-1",
    "1e999",
    "inf",
    "nan",
    "0.5",
    "99999999999999999999",
]


def _submit(kind: OrderType = OrderType.LIMIT) -> SubmitOrder:
    conditional = kind is OrderType.STOP_MARKET
    return SubmitOrder(
        ts_ns=START_NS,
        client_order_id=ClientOrderId("fz1"),
        symbol=SYM,
        side=Side.BUY,
        order_type=kind,
        quantity=Decimal("0.010"),
        price=None if conditional else Decimal("100.0"),
        time_in_force=None if conditional else TimeInForce.GTC,
        trigger_price=Decimal("90.0") if conditional else None,
    )


Op = Callable[[BinanceGateway], Awaitable[Any]]
# (the endpoint whose reply is fuzzed, the real payloads seeding it, the gateway call)
TARGETS: dict[str, tuple[tuple[str, str], list[bytes], Op]] = {
    "submit": (
        ("POST", "/fapi/v1/order"),
        [p.NEW_ORDER, p.NEW_ORDER_2024],
        lambda g: g.submit(_submit()),
    ),
    "amend": (
        ("PUT", "/fapi/v1/order"),
        [p.MODIFY_ORDER],
        lambda g: g.amend(
            AmendOrder(
                ts_ns=START_NS,
                client_order_id=ClientOrderId("fz1"),
                symbol=SYM,
                side=Side.BUY,
                quantity=Decimal("0.010"),
                price=Decimal("101.0"),
                venue_order_id=VenueOrderId(1),
            )
        ),
    ),
    "cancel": (
        ("DELETE", "/fapi/v1/order"),
        [p.CANCEL_ORDER],
        lambda g: g.cancel(
            CancelOrder(ts_ns=START_NS, client_order_id=ClientOrderId("fz1"), symbol=SYM)
        ),
    ),
    "query": (
        ("GET", "/fapi/v1/order"),
        [p.QUERY_ORDER],
        lambda g: g.query_order(SYM, ClientOrderId("fz1")),
    ),
    "open_orders": (
        ("GET", "/fapi/v1/openOrders"),
        [b"[" + p.QUERY_ORDER + b"," + p.NEW_ORDER + b"]"],
        lambda g: g.open_orders(),
    ),
    "batch": (
        ("POST", "/fapi/v1/batchOrders"),
        [p.BATCH_MIXED],
        lambda g: g.submit_batch(
            [_submit(), msgspec.structs.replace(_submit(), client_order_id=ClientOrderId("fz2"))]
        ),
    ),
    "algo": (
        ("POST", "/fapi/v1/algoOrder"),
        [p.ALGO_ORDER],
        lambda g: g.submit(_submit(OrderType.STOP_MARKET)),
    ),
    "open_algo": (
        ("GET", "/fapi/v1/openAlgoOrders"),
        [b"[" + p.ALGO_ORDER + b"]"],
        lambda g: g.open_algo_orders(),
    ),
    "cancel_all": (
        ("DELETE", "/fapi/v1/allOpenOrders"),
        [p.CANCEL_ALL],
        lambda g: g.cancel_all(CancelAllOrders(ts_ns=START_NS, symbol=SYM)),
    ),
    "countdown": (
        ("POST", "/fapi/v1/countdownCancelAll"),
        [p.COUNTDOWN],
        lambda g: g.countdown_cancel_all(SYM, 60_000),
    ),
    "positions": (
        ("GET", "/fapi/v3/positionRisk"),
        [p.POSITION_RISK_V3, p.POSITION_RISK_V2],
        lambda g: g.positions(),
    ),
    "balances": (("GET", "/fapi/v3/balance"), [p.BALANCE_V3], lambda g: g.balances()),
    "fills": (("GET", "/fapi/v1/userTrades"), [p.USER_TRADES], lambda g: g.fills(SYM, START_NS)),
    "instruments": (("GET", "/fapi/v1/exchangeInfo"), [p.EXCHANGE_INFO], lambda g: g.instruments()),
    "listen_key": (("POST", "/fapi/v1/listenKey"), [p.LISTEN_KEY], lambda g: g.create_listen_key()),
    "server_time": (("GET", "/fapi/v1/time"), [p.SERVER_TIME], lambda g: g.rest.sync_time()),
}


@st.composite
def replies(draw: st.DrawFn, seeds: list[bytes]) -> HttpReply:
    body = draw(hostile_json(seeds + ERROR_BODIES))
    headers = draw(
        st.dictionaries(
            st.sampled_from(
                [
                    "retry-after",
                    "x-mbx-used-weight-1m",
                    "x-mbx-order-count-10s",
                    "x-mbx-order-count-1m",
                ]
            ),
            st.sampled_from(HEADER_VALUES) | st.text(max_size=12),
        )
    )
    return HttpReply(draw(st.sampled_from(STATUSES)), headers, body)


def _gateway(route: tuple[str, str], reply: HttpReply) -> tuple[BinanceGateway, FakeHttpTransport]:
    def handler(request: FakeRequest) -> HttpReply:
        if (request.method, request.path) == route:
            return reply
        return HttpReply(200, {}, DEFAULTS[(request.method, request.path)])

    transport = FakeHttpTransport(handler)
    config = BinanceConfig(rest_url="https://fapi.test", user_stream=False, retry_schedule_ms=(0,))
    gateway = BinanceGateway(
        config,
        Credentials.hmac(API_KEY, SECRET),
        clock=TestClock(start_ns=START_NS),
        http=transport,
    )
    return gateway, transport


def _signatures(transport: FakeHttpTransport) -> list[str]:
    return [r.params["signature"] for r in transport.requests if "signature" in r.params]


def check_reply(name: str, reply: HttpReply) -> None:
    route, _, op = TARGETS[name]
    gateway, transport = _gateway(route, reply)
    error: BaseException | None = None
    with captured("mmoms") as records:
        try:
            result = asyncio.run(op(gateway))
        except MmomsError as exc:  # the documented kinds; anything else fails the test
            error = exc
        else:
            assert_sane(result)
    secrets = [API_KEY, SECRET, *_signatures(transport)]
    seen = lines(records)
    if error is not None:
        seen += [str(error), repr(error), getattr(error, "venue_message", "")]
    for text in seen:
        for secret in secrets:
            assert secret not in text


@pytest.mark.parametrize("name", sorted(TARGETS))
@fuzz_settings(60)
@given(data=st.data())
def test_hostile_rest_replies(name: str, data: st.DataObject) -> None:
    check_reply(name, data.draw(replies(TARGETS[name][1])))


# Inputs that crashed the client before the fixes.
@pytest.mark.parametrize(
    ("name", "reply"),
    [
        ("submit", HttpReply(400, {}, b'{"code": "\xc2\xb2", "msg": "x"}')),  # int("²")
        ("submit", HttpReply(400, {}, b'{"code": "--5", "msg": "x"}')),
        ("query", HttpReply(503, {}, b'{"code": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")),
        ("query", HttpReply(200, {}, b"[" * 100_000 + b"]" * 100_000)),  # RecursionError
        ("submit", HttpReply(429, {"retry-after": "1e999"}, b"{}")),  # int(inf) OverflowError
        (
            "submit",
            HttpReply(200, {}, p.NEW_ORDER.replace(b'"origQty": "10"', b'"origQty": "NaN"')),
        ),
        ("positions", HttpReply(200, {}, p.POSITION_RISK_V3.replace(b'"30"', b'"Infinity"'))),
        ("algo", HttpReply(200, {}, p.ALGO_ORDER.replace(b'"algoId": ', b'"algoId": -'))),
        ("server_time", HttpReply(200, {}, b'{"serverTime": ' + b"9" * 40 + b"}")),
        ("listen_key", HttpReply(200, {}, b'{"listenKey": "\xf0k"}')),  # UnicodeDecodeError
    ],
)
def test_crashers(name: str, reply: HttpReply) -> None:
    check_reply(name, reply)


@given(value=st.sampled_from(HEADER_VALUES) | st.text())
@example(value="1e999")
@example(value="-inf")
def test_retry_after_is_believed_only_when_sane(value: str) -> None:
    ms = retry_after_ms({"retry-after": value})
    assert ms is None or 0 <= ms <= 86_400_000


def test_real_payloads_pass() -> None:
    """Each target works on its real payload (the fuzzers start from something that parses),
    and signed requests carry the signatures the secrecy check looks for."""
    for name, (route, seeds, op) in TARGETS.items():
        gateway, transport = _gateway(route, HttpReply(200, {}, seeds[0]))
        assert asyncio.run(op(gateway)) is not None or name in ("cancel_all", "countdown")
        if name == "submit":
            assert len(_signatures(transport)) == 1
