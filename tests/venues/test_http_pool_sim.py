"""The fast HTTP pool against real servers: the simulator (keep-alive, the gateway's default
transport placing an order) and TLS with a self-signed certificate made here (``cryptography``);
plus the one write-fails-at-once case no server can stage on demand."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from mmoms.core.commands import CancelOrder, SubmitOrder
from mmoms.core.enums import OrderType, Side, TimeInForce
from mmoms.core.ids import ClientOrderId, Symbol
from mmoms.core.instrument import PriceRounding
from mmoms.venues.binance import BinanceConfig, BinanceGateway, Credentials
from mmoms.venues.binance.endpoints import Endpoint, OpKind, Security
from mmoms.venues.errors import NotSent
from mmoms.venues.http_conn import Connection, StaleError
from mmoms.venues.http_pool import FastHttpTransport
from mmoms.venues.transport import AiohttpHttpTransport

from .test_http_pool import OK, Peer, keep_alive, tiny

API_KEY = "poolkey0123456789"
API_SECRET = "poolsecret0123456789"
SYM = Symbol("BTCUSDC")
PREMIUM_INDEX = Endpoint("GET", "/fapi/v1/premiumIndex", Security.NONE, OpKind.QUERY, 1)


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[tuple[str, str]]:
    from mmoms.sim.clock import LiveSimClock
    from mmoms.sim.config_model import AccountConfig, SimConfig
    from mmoms.sim.exchange import SimExchange
    from mmoms.sim.server import start_server

    clock = LiveSimClock()
    account = AccountConfig(api_key=API_KEY, api_secret=API_SECRET, balances={"USDC": "100000"})
    exchange = SimExchange(clock, SimConfig(accounts=(account,), seed=7))
    server = await start_server("127.0.0.1", 0, exchange, clock)
    try:
        yield server.rest_url, server.ws_url
    finally:
        await server.close()


@pytest.mark.asyncio
async def test_simulator_requests_share_one_connection(sim: tuple[str, str]) -> None:
    http = FastHttpTransport()
    try:
        for _ in range(20):
            reply = await http.request(
                "GET", f"{sim[0]}/fapi/v1/time", {}, timeout_s=5, endpoint="GET /fapi/v1/time"
            )
            assert reply.status == 200
            assert b"serverTime" in reply.body
    finally:
        await http.close()
    assert (http.stats.opened, http.stats.reused, http.stats.stale) == (1, 19, 0)


@pytest.mark.asyncio
async def test_gateway_places_and_cancels_over_the_default_transport(sim: tuple[str, str]) -> None:
    config = BinanceConfig.local(*sim, user_stream=False)
    assert config.http_transport == "fast"
    gw = BinanceGateway(config, Credentials.hmac(API_KEY, API_SECRET))
    assert isinstance(gw._http, FastHttpTransport)
    await gw.start()
    try:
        index: dict[str, Any] = await gw.rest.call(PREMIUM_INDEX, [("symbol", SYM)], dict)
        [inst] = [i for i in await gw.instruments() if i.symbol == SYM]
        price = inst.round_price(Decimal(index["markPrice"]) * Decimal("0.97"), PriceRounding.DOWN)
        qty = inst.round_qty(max(inst.min_qty, inst.min_notional * 2 / price) + inst.step_size)
        cid = ClientOrderId("pool-1")
        ack = await gw.submit(
            SubmitOrder(
                ts_ns=0,
                client_order_id=cid,
                symbol=SYM,
                side=Side.BUY,
                order_type=OrderType.LIMIT,
                quantity=qty,
                price=price,
                time_in_force=TimeInForce.GTC,
            )
        )
        assert ack.client_order_id == cid
        await gw.cancel(CancelOrder(ts_ns=0, client_order_id=cid, symbol=SYM))
    finally:
        await gw.close()


def test_the_transport_is_chosen_by_config() -> None:
    gw = BinanceGateway(BinanceConfig(http_transport="aiohttp"))
    assert isinstance(gw._http, AiohttpHttpTransport)
    with pytest.raises(ValueError, match="http_transport"):
        BinanceConfig(http_transport="Fast")  # type: ignore[arg-type]


# -- TLS ----------------------------------------------------------------------------------------


def self_signed(tmp: Path) -> tuple[Path, Path]:
    crypto = pytest.importorskip("cryptography", reason="cryptography makes the test certificate")
    del crypto
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mmoms test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.mark.asyncio
async def test_tls_keep_alive_and_an_untrusted_certificate_is_not_sent(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    trusting = ssl.create_default_context(cafile=str(cert))
    async with tiny(keep_alive, ssl=server_ctx) as srv:
        assert srv.url.startswith("https://")
        http = FastHttpTransport(ssl_context=trusting)
        untrusted = FastHttpTransport()  # the system's roots: the self-signed cert is refused
        try:
            for _ in range(3):
                reply = await http.request("GET", f"{srv.url}/x", {}, timeout_s=5, endpoint="e")
                assert reply.body == b"{}"
            with pytest.raises(NotSent):
                await untrusted.request("GET", f"{srv.url}/x", {}, timeout_s=5, endpoint="e")
        finally:
            await http.close()
            await untrusted.close()
    assert (http.stats.opened, http.stats.reused) == (1, 2)
    assert len(srv.requests) == 3  # the refused handshake sent nothing


# -- a write that fails at once -------------------------------------------------------------


class _FailingWrite(asyncio.Transport):
    """send() failed inside write(): asyncio closes the transport before write() returns."""

    def __init__(self) -> None:
        super().__init__()
        self.closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing

    def abort(self) -> None:
        self.closing = True


@pytest.mark.asyncio
async def test_a_write_failing_at_once_is_stale_so_not_sent() -> None:
    conns: set[Connection] = set()
    conn = Connection(asyncio.get_running_loop(), False, conns)
    conn.connection_made(_FailingWrite())
    with pytest.raises(StaleError):
        conn.send(b"GET / HTTP/1.1\r\n\r\n")
    tls = Connection(asyncio.get_running_loop(), True, conns)
    tls.connection_made(_FailingWrite())
    tls.send(b"GET / HTTP/1.1\r\n\r\n")  # TLS: the bytes may be on their way: not stale


@pytest.mark.asyncio
async def test_unsolicited_bytes_make_a_connection_unusable() -> None:
    go = asyncio.Event()
    spoke = asyncio.Event()

    async def chatty(peer: Peer) -> None:
        await peer.read_request()
        if peer.number == 1:  # a second reply glued to the first: dropped on arrival
            await peer.send(OK + b"HTTP/1.1 200 OK\r\n")
            await asyncio.Event().wait()
        await peer.send(OK)
        if peer.number == 2:  # out of turn while the connection is idle in the pool
            await go.wait()
            await peer.send(b"HTTP/1.1 200 OK\r\n")
            spoke.set()
        await keep_alive(peer)

    async with tiny(chatty) as srv:
        http = FastHttpTransport()
        try:
            for _ in range(2):
                await http.request("GET", f"{srv.url}/x", {}, timeout_s=5, endpoint="e")
            go.set()
            await spoke.wait()
            await http.request("GET", f"{srv.url}/x", {}, timeout_s=5, endpoint="e")
        finally:
            await http.close()
    assert [n for n, _ in srv.requests] == [1, 2, 3]
    assert (http.stats.opened, http.stats.stale) == (3, 1)  # the glued one never went idle
