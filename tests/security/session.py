"""A real session with distinctive key material, for the secrecy tests.

Simulator, Binance gateway, SQLite journal, OrderManager and the metrics server run in one
process, talking over real HTTP and WebSocket on 127.0.0.1. The transports are wrapped so that
every signature the client actually sent is recorded (REST query strings, WS API JSON params).
The session places, amends and cancels orders, has one rejected by the venue (post-only that
would take), one hit by an injected 503, one by a -1021 clock skew, signs with a wrong secret,
places and cancels over the WS API, and stops cleanly.

Every string collected in :attr:`Session.secrets` is key material that must never appear in a
log line, a journal row, the database files, an exception, ``/metrics``, ``/status`` or a
replay export.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from mmoms.app.metrics import start_metrics_server
from mmoms.app.stack import demo_oms_config, demo_sim_config
from mmoms.core.commands import CancelOrder, SubmitOrder
from mmoms.core.enums import OrderType, Side, TimeInForce
from mmoms.core.errors import MmomsError
from mmoms.core.ids import ClientOrderId, StrategyId, Symbol
from mmoms.engine.oms import OrderManager
from mmoms.journal.sqlite import SqliteJournalStore
from mmoms.sim.clock import LiveSimClock
from mmoms.sim.config_model import AccountConfig
from mmoms.sim.exchange import SimExchange
from mmoms.sim.server import SimServer, start_server
from mmoms.venues.binance.config import BinanceConfig, OrderTransport
from mmoms.venues.binance.gateway import BinanceGateway
from mmoms.venues.binance.signing import Credentials
from mmoms.venues.transport import (
    AiohttpHttpTransport,
    AiohttpWsConnector,
    HttpReply,
    WsConnection,
)

BTC = Symbol("BTCUSDC")
STRATEGY = StrategyId("sec")


def distinctive(tag: str) -> str:
    """A string that cannot turn up by accident: a tag plus 40 random hex digits."""
    return f"{tag}{secrets.token_hex(20)}"


@dataclass
class KeyMaterial:
    api_key: str
    secret: str | None = None  # HMAC
    private_pem: str | None = None  # Ed25519
    public_pem: str | None = None

    @classmethod
    def hmac(cls) -> KeyMaterial:
        return cls(api_key=distinctive("MMOMSKEY"), secret=distinctive("MMOMSSECRET"))

    @classmethod
    def ed25519(cls) -> KeyMaterial:
        key = Ed25519PrivateKey.generate()
        private = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
        public = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
        return cls(
            api_key=distinctive("MMOMSEDKEY"), private_pem=private, public_pem=public.decode()
        )

    def credentials(self) -> Credentials:
        if self.private_pem is not None:
            return Credentials.ed25519(self.api_key, self.private_pem)
        assert self.secret is not None
        return Credentials.hmac(self.api_key, self.secret)

    def account(self) -> AccountConfig:
        return AccountConfig(
            api_key=self.api_key, api_secret=self.secret, ed25519_public_key_pem=self.public_pem
        )

    def strings(self) -> list[str]:
        out = [self.api_key]
        if self.secret is not None:
            out.append(self.secret)
        if self.private_pem is not None:
            out.append(self.private_pem)
            # the base64 body lines of the PEM, each on its own (a log might wrap or strip)
            out += [line for line in self.private_pem.splitlines() if "-----" not in line]
        return out


class Seen:
    """Signatures as sent, in every form they took on the wire."""

    def __init__(self) -> None:
        self.signatures: set[str] = set()

    def from_url(self, url: str) -> None:
        query = urlsplit(url).query
        raw = query.rpartition("signature=")[2] if "signature=" in query else ""
        if raw:
            self.signatures.add(raw.split("&")[0])
        for name, value in parse_qsl(query):
            if name == "signature":
                self.signatures.add(value)

    def from_frame(self, text: str) -> None:
        params = msgspec.json.decode(text).get("params", {})
        if isinstance(params, dict) and isinstance(params.get("signature"), str):
            self.signatures.add(params["signature"])


class RecordingHttp:
    def __init__(self, seen: Seen) -> None:
        self._inner = AiohttpHttpTransport()
        self._seen = seen

    async def request(
        self, method: str, url: str, headers: Mapping[str, str], *, timeout_s: float, endpoint: str
    ) -> HttpReply:
        self._seen.from_url(url)
        return await self._inner.request(
            method, url, headers, timeout_s=timeout_s, endpoint=endpoint
        )

    async def close(self) -> None:
        await self._inner.close()


class _RecordingConnection:
    def __init__(self, inner: WsConnection, seen: Seen) -> None:
        self._inner = inner
        self._seen = seen

    async def send(self, text: str) -> None:
        self._seen.from_frame(text)
        await self._inner.send(text)

    async def recv(self) -> str | bytes:
        return await self._inner.recv()

    async def close(self) -> None:
        await self._inner.close()


class RecordingWs:
    def __init__(self, seen: Seen) -> None:
        self._inner = AiohttpWsConnector()
        self._seen = seen

    async def connect(self, url: str, *, timeout_s: float) -> WsConnection:
        return _RecordingConnection(await self._inner.connect(url, timeout_s=timeout_s), self._seen)

    async def close(self) -> None:
        await self._inner.close()


@dataclass
class Session:
    keys: KeyMaterial
    wrong_secret: str
    journal: Path
    seen: Seen = field(default_factory=Seen)
    errors: list[str] = field(default_factory=list)  # str and repr of every error we were handed
    metrics_text: str = ""
    status_text: str = ""

    def secrets(self) -> list[str]:
        return [*self.keys.strings(), self.wrong_secret, *sorted(self.seen.signatures)]

    def error(self, exc: BaseException) -> None:
        self.errors += [str(exc), repr(exc), str(getattr(exc, "venue_message", ""))]


class _Waiter:
    def __init__(self, oms: OrderManager) -> None:
        self.changed = asyncio.Event()
        oms.add_batch_listener(self.changed.set)

    async def until(self, cond: Callable[[], bool]) -> None:
        async with asyncio.timeout(20):  # a guard against a hang, not a timing assertion
            while not cond():
                self.changed.clear()
                await self.changed.wait()


def _book_top(exchange: SimExchange) -> tuple[Decimal, Decimal]:
    top = exchange.endpoints["GET /fapi/v1/ticker/bookTicker"].handler(None, {"symbol": BTC})
    return Decimal(top["bidPrice"]), Decimal(top["askPrice"])


def _config(server: SimServer, **overrides: Any) -> BinanceConfig:
    return BinanceConfig.local(server.rest_url, server.ws_url, **overrides)


async def run_session(keys: KeyMaterial, journal: Path) -> Session:
    """Run the whole session; the wrong key is a wrong secret, or another Ed25519 key (PEM)."""
    other = KeyMaterial.ed25519().private_pem if keys.private_pem else distinctive("MMOMSWRONG")
    assert other is not None
    session = Session(keys=keys, wrong_secret=other, journal=journal)
    sim_config = replace(demo_sim_config(5), accounts=(keys.account(),))
    exchange = SimExchange(LiveSimClock(), sim_config)
    server = await start_server("127.0.0.1", 0, exchange)
    try:
        await _oms_part(session, server, exchange)
        await _gateway_part(session, server, exchange)
    finally:
        await server.close()
    return session


async def _oms_part(session: Session, server: SimServer, exchange: SimExchange) -> None:
    gateway = BinanceGateway(
        _config(server),
        session.keys.credentials(),
        http=RecordingHttp(session.seen),
        ws=RecordingWs(session.seen),
    )
    store = SqliteJournalStore(session.journal)
    oms = OrderManager(gateway, store, demo_oms_config((BTC,)))
    await oms.start()
    run = asyncio.create_task(oms.run())
    metrics = await start_metrics_server(oms, 0)
    waiter = _Waiter(oms)
    try:
        bid, ask = _book_top(exchange)
        mid = (bid + ask) / 2
        oms.set_reference_price(BTC, mid)

        def settled(*cids: ClientOrderId) -> Callable[[], bool]:
            def check() -> bool:
                orders = [oms.book.get(BTC, c) for c in cids]
                return all(o is not None and not o.status.is_in_flight for o in orders)

            return check

        qty = Decimal("0.002")
        buy = oms.place(
            STRATEGY, BTC, Side.BUY, qty, (mid * Decimal("0.99")).quantize(Decimal("0.1"))
        )
        sell = oms.place(
            STRATEGY, BTC, Side.SELL, qty, (mid * Decimal("1.01")).quantize(Decimal("0.1"))
        )
        await waiter.until(settled(buy, sell))
        oms.amend(STRATEGY, BTC, buy, (mid * Decimal("0.985")).quantize(Decimal("0.1")), qty)
        oms.cancel(STRATEGY, BTC, sell)
        await waiter.until(settled(buy, sell))
        # rejected by the venue: post-only that would take (-5022)
        taker = oms.place(
            STRATEGY, BTC, Side.BUY, qty, ask + Decimal("5"), time_in_force=TimeInForce.GTX
        )
        await waiter.until(settled(taker))
        # a 503 whose outcome is unknown, resolved by query
        server.faults.add(
            [
                {
                    "kind": "http_error",
                    "match": "POST /fapi/v1/order",
                    "variant": "unknown",
                    "count": 1,
                }
            ],
            server.clock.time_ms(),
        )
        unknown = oms.place(
            STRATEGY, BTC, Side.SELL, qty, (mid * Decimal("1.012")).quantize(Decimal("0.1"))
        )
        await waiter.until(settled(unknown))
        # -1021: the venue's clock jumps 10 s behind ours; the gateway resyncs and retries
        server.faults.add([{"kind": "clock_skew", "skew_ms": -10_000}], server.clock.time_ms())
        skewed = oms.place(
            STRATEGY, BTC, Side.BUY, qty, (mid * Decimal("0.988")).quantize(Decimal("0.1"))
        )
        await waiter.until(settled(skewed))
        server.faults.clear()
        await gateway.rest.sync_time()
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{metrics.url}/metrics") as r:
                session.metrics_text = await r.text()
            async with http.get(f"{metrics.url}/status") as r:
                session.status_text = await r.text()
    finally:
        await metrics.close()
        await oms.stop(cancel_orders=True)
        await asyncio.wait_for(run, 20)
        await oms.close()


def _order(cid: str, price: Decimal, tif: TimeInForce = TimeInForce.GTC) -> SubmitOrder:
    return SubmitOrder(
        ts_ns=0,
        client_order_id=ClientOrderId(cid),
        symbol=BTC,
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        quantity=Decimal("0.002"),
        price=price,
        time_in_force=tif,
    )


async def _gateway_part(session: Session, server: SimServer, exchange: SimExchange) -> None:
    """The WS API, a wrong secret, and errors handed straight to the caller."""
    bid, ask = _book_top(exchange)
    low = (bid * Decimal("0.99")).quantize(Decimal("0.1"))
    ws_gateway = BinanceGateway(
        _config(server, order_transport=OrderTransport.WS_API, user_stream=False),
        session.keys.credentials(),
        http=RecordingHttp(session.seen),
        ws=RecordingWs(session.seen),
    )
    await ws_gateway.start()
    try:
        assert ws_gateway.wsapi is not None
        await ws_gateway.wsapi.wait_connected()
        await ws_gateway.submit(_order("sec-ws-1", low))
        await ws_gateway.cancel(
            CancelOrder(ts_ns=0, client_order_id=ClientOrderId("sec-ws-1"), symbol=BTC)
        )
        try:  # the venue says no over the WS API (-5022)
            await ws_gateway.submit(_order("sec-ws-2", ask + Decimal("5"), TimeInForce.GTX))
        except MmomsError as exc:
            session.error(exc)
    finally:
        await ws_gateway.close()
    if session.keys.secret is not None:
        wrong = Credentials.hmac(session.keys.api_key, session.wrong_secret)
    else:
        wrong = Credentials.ed25519(session.keys.api_key, session.wrong_secret)
    bad = BinanceGateway(
        _config(server, user_stream=False), wrong, http=RecordingHttp(session.seen)
    )
    try:
        for call in (bad.balances(), bad.submit(_order("sec-bad-1", low))):
            try:  # -1022: signature not valid
                await call
            except MmomsError as exc:
                session.error(exc)
    finally:
        await bad.close()
    if not session.errors:
        raise AssertionError("the session was meant to hand errors to the caller")
