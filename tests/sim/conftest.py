"""Fixtures for the simulator's transport tests.

``FakeExchange`` is a tiny endpoint table honouring the :mod:`mmoms.sim.api` contract, so the
transport (auth, rate limits, dispatch, WebSockets) is tested on its own. ``real_sim`` starts the
real :class:`mmoms.sim.exchange.SimExchange` behind the real server on port 0.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import secrets
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
import pytest_asyncio
from yarl import URL

from mmoms.sim.api import Endpoint, Params, Security, SimApiError
from mmoms.sim.clock import VirtualSimClock
from mmoms.sim.ratelimit import RateLimitConfig
from mmoms.sim.server import ServerOptions, SimServer, start_server

API_KEY = "simkey0123456789"
API_SECRET = "simsecret0123456789"
LISTEN_KEY_VALIDITY_MS = 3_600_000


@dataclass
class FakeAccount:
    api_key: str
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)


class FakeExchange:
    """Just enough of an exchange: time, orders that rest, listenKeys that expire."""

    def __init__(self, clock: VirtualSimClock) -> None:
        self.clock = clock
        self.on_user_event: Callable[[str, dict[str, Any]], None] | None = None
        self.on_market_event: Callable[[str, dict[str, Any]], None] | None = None
        self.accounts = {API_KEY: FakeAccount(API_KEY)}
        self.secrets = {API_KEY: API_SECRET}
        self.public_keys: dict[str, bytes] = {}
        self.listen_keys: dict[str, tuple[str, int]] = {}  # key -> (api_key, expires_at)
        self.advanced_to = 0
        self._ids = itertools.count(1)
        endpoints = [
            Endpoint("GET", "/fapi/v1/time", Security.NONE, self.time),
            Endpoint("GET", "/fapi/v1/heavy", Security.NONE, self.time, weight=lambda _p: 10),
            Endpoint("POST", "/fapi/v1/order", Security.SIGNED, self.new_order, lambda _p: 0, 1),
            Endpoint("GET", "/fapi/v2/balance", Security.SIGNED, self.balance),
            Endpoint("GET", "/fapi/v1/boom", Security.NONE, self.boom),
            Endpoint("POST", "/fapi/v1/listenKey", Security.USER_STREAM, self.new_listen_key),
            Endpoint("DELETE", "/fapi/v1/listenKey", Security.USER_STREAM, self.delete_key),
        ]
        self.endpoints = {e.key: e for e in endpoints}

    # the contract's lookups
    def advance(self, now_ms: int) -> None:
        self.advanced_to = now_ms
        for key, (owner, expires_at) in list(self.listen_keys.items()):
            if expires_at <= now_ms:
                del self.listen_keys[key]
                self._emit(owner, {"e": "listenKeyExpired", "E": now_ms, "listenKey": key})

    def listen_key_owner(self, key: str) -> str | None:
        entry = self.listen_keys.get(key)
        return entry[0] if entry else None

    def account_for_key(self, api_key: str) -> FakeAccount | None:
        return self.accounts.get(api_key)

    def secret_for_key(self, api_key: str) -> str | None:
        return self.secrets.get(api_key)

    def public_key_for_key(self, api_key: str) -> bytes | None:
        return self.public_keys.get(api_key)

    # handlers
    def time(self, _account: Any, _params: Params) -> dict[str, Any]:
        return {"serverTime": self.clock.time_ms()}

    def boom(self, _account: Any, _params: Params) -> Any:
        raise RuntimeError("a bug in the exchange")

    def balance(self, account: FakeAccount, _params: Params) -> list[dict[str, Any]]:
        return [{"asset": "USDT", "balance": "1000.00000000"}]

    def new_order(self, account: FakeAccount, params: Params) -> dict[str, Any]:
        if "symbol" not in params:
            raise SimApiError(
                400,
                -1102,
                "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.",
            )
        order_id = next(self._ids)
        order = {"orderId": order_id, "symbol": params["symbol"], "status": "NEW"}
        account.orders[order_id] = order
        self._emit(
            account.api_key,
            {
                "e": "ORDER_TRADE_UPDATE",
                "E": self.clock.time_ms(),
                "o": {"i": order_id, "X": "NEW"},
            },
        )
        return order

    def new_listen_key(self, account: FakeAccount, _params: Params) -> dict[str, str]:
        owned = [k for k, (owner, _) in self.listen_keys.items() if owner == account.api_key]
        key = owned[0] if owned else f"lk{next(self._ids):060d}"
        self.listen_keys[key] = (account.api_key, self.clock.time_ms() + LISTEN_KEY_VALIDITY_MS)
        return {"listenKey": key}

    def delete_key(self, account: FakeAccount, _params: Params) -> dict[str, Any]:
        for key, (owner, _) in list(self.listen_keys.items()):
            if owner == account.api_key:
                del self.listen_keys[key]
        return {}

    def _emit(self, api_key: str, event: dict[str, Any]) -> None:
        if self.on_user_event is not None:
            self.on_user_event(api_key, event)


def sign(query: str, secret: str = API_SECRET) -> str:
    return hmac.new(secret.encode(), query.encode(), hashlib.sha256).hexdigest()


def signed_query(params: dict[str, Any], secret: str = API_SECRET) -> str:
    query = urlencode(params)
    return f"{query}&signature={sign(query, secret)}"


@dataclass
class FakeSim:
    clock: VirtualSimClock
    exchange: FakeExchange
    server: SimServer
    http: aiohttp.ClientSession

    api_key: str = API_KEY
    api_secret: str = API_SECRET

    @property
    def url(self) -> str:
        return self.server.rest_url

    @staticmethod
    def sign(payload: str, secret: str = API_SECRET) -> str:
        return sign(payload, secret)

    @staticmethod
    def signed_query(params: dict[str, Any], secret: str = API_SECRET) -> str:
        return signed_query(params, secret)

    def headers(self, api_key: str = API_KEY) -> dict[str, str]:
        return {"X-MBX-APIKEY": api_key}

    async def listen_key(self) -> str:
        async with self.http.post(f"{self.url}/fapi/v1/listenKey", headers=self.headers()) as r:
            assert r.status == 200
            return str((await r.json())["listenKey"])

    async def place_order(self, symbol: str = "BTCUSDT") -> dict[str, Any]:
        query = signed_query({"symbol": symbol, "timestamp": self.clock.time_ms()})
        url = f"{self.url}/fapi/v1/order?{query}"
        async with self.http.post(url, headers=self.headers()) as response:
            assert response.status == 200, await response.text()
            return dict(await response.json())


async def _fake_sim(limits: RateLimitConfig) -> AsyncIterator[FakeSim]:
    clock = VirtualSimClock()
    exchange = FakeExchange(clock)
    options = ServerOptions(rate_limits=limits, tick_ms=5, timing_header=True)
    server = await start_server("127.0.0.1", 0, exchange, clock, options)
    async with aiohttp.ClientSession() as http:
        yield FakeSim(clock, exchange, server, http)
    await server.close()


@pytest_asyncio.fixture
async def fake_sim() -> AsyncIterator[FakeSim]:
    async for sim in _fake_sim(RateLimitConfig()):
        yield sim


@pytest_asyncio.fixture
async def tiny_limits_sim() -> AsyncIterator[FakeSim]:
    limits = RateLimitConfig(
        request_weight_per_minute=20, orders_per_10s=3, orders_per_minute=5, ban_ms=120_000
    )
    async for sim in _fake_sim(limits):
        yield sim


# -- the real exchange behind the real server, in a thread of its own -----------------------------
# Some clients (the official SDK's REST API) are synchronous: the server must not share the test's
# event loop, or a blocking call would wait for a server that cannot run.


@dataclass
class RealSim:
    rest_url: str
    ws_url: str
    api_key: str
    api_secret: str


class _ServerThread(threading.Thread):
    def __init__(self, api_key: str, api_secret: str) -> None:
        super().__init__(name="sim-server", daemon=True)
        self.api_key, self.api_secret = api_key, api_secret
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self.loop = asyncio.new_event_loop()
        self.stop_event: asyncio.Event | None = None
        self.sim: RealSim | None = None

    def run(self) -> None:
        try:
            self.loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported to the fixture, which fails the test
            self.error = exc
            self.ready.set()
        finally:
            self.loop.close()

    async def _serve(self) -> None:
        from mmoms.sim.clock import LiveSimClock
        from mmoms.sim.config_model import AccountConfig, SimConfig
        from mmoms.sim.exchange import SimExchange

        clock = LiveSimClock()
        account = AccountConfig(
            api_key=self.api_key,
            api_secret=self.api_secret,
            balances={"USDC": "100000", "USDT": "100000"},
        )
        exchange = SimExchange(clock, SimConfig(accounts=(account,), seed=1))
        server = await start_server("127.0.0.1", 0, exchange, clock)
        self.stop_event = asyncio.Event()
        self.sim = RealSim(server.rest_url, server.ws_url, self.api_key, self.api_secret)
        self.ready.set()
        try:
            await self.stop_event.wait()
        finally:
            await server.close()

    def stop(self) -> None:
        if self.stop_event is not None:
            self.loop.call_soon_threadsafe(self.stop_event.set)
        self.join(timeout=30)


@pytest.fixture
def real_sim() -> Iterator[RealSim]:
    """The real SimExchange served on 127.0.0.1:0 from a background thread."""
    thread = _ServerThread(f"realkey{secrets.token_hex(16)}", secrets.token_hex(32))
    thread.start()
    thread.ready.wait(timeout=60)
    if thread.error is not None or thread.sim is None:
        raise RuntimeError("the simulator failed to start") from thread.error
    yield thread.sim
    thread.stop()


@dataclass
class VirtualSim:
    """The real SimExchange on a VirtualSimClock, served from the test's own event loop."""

    clock: VirtualSimClock
    server: SimServer
    http: aiohttp.ClientSession
    api_key: str = API_KEY
    api_secret: str = API_SECRET

    async def signed(self, method: str, path: str, **params: Any) -> tuple[int, Any]:
        status, _, body = await self.signed_full(method, path, **params)
        return status, body

    async def signed_full(
        self, method: str, path: str, **params: Any
    ) -> tuple[int, dict[str, str], Any]:
        """(status, headers, JSON body) of a signed request."""
        query = signed_query({"timestamp": self.clock.time_ms(), **params}, self.api_secret)
        url = URL(f"{self.server.rest_url}{path}?{query}", encoded=True)  # sent as signed
        async with self.http.request(method, url, headers={"X-MBX-APIKEY": self.api_key}) as r:
            return r.status, dict(r.headers), await r.json()

    async def public(self, path: str) -> tuple[int, Any]:
        async with self.http.get(f"{self.server.rest_url}{path}") as response:
            return response.status, await response.json()

    async def admin(self, method: str, path: str, body: Any = None) -> Any:
        """An admin call that must succeed; returns its JSON."""
        url = f"{self.server.rest_url}{path}"
        async with self.http.request(method, url, json=body) as response:
            reply = await response.json()
            assert response.status == 200, reply
            return reply

    async def advance(self, ms: int, step_ms: int | None = None) -> int:
        """Move the virtual clock through the admin endpoint; returns the new server time."""
        body: dict[str, Any] = {"ms": ms}
        if step_ms is not None:
            body["stepMs"] = step_ms
        return int((await self.admin("POST", "/admin/time/advance", body))["serverTime"])

    async def listen_key(self) -> str:
        url = f"{self.server.rest_url}/fapi/v1/listenKey"
        async with self.http.post(url, headers={"X-MBX-APIKEY": self.api_key}) as response:
            return str((await response.json())["listenKey"])

    async def fault_log(self, since: int = 0) -> list[dict[str, Any]]:
        reply = await self.admin("GET", f"/admin/faults/log?since={since}")
        return list(reply["entries"])


def quiet_market_config(seed: int = 3) -> Any:
    """Default symbols with a static synthetic ladder (no random walk, no random trades)."""
    from dataclasses import replace

    from mmoms.sim.config_model import AccountConfig, MarketParams, SimConfig, default_symbols

    quiet = MarketParams(volatility_ticks=0.0, trade_probability=0.0, level_qty_jitter=0.0)
    symbols = tuple(replace(s, market=quiet) for s in default_symbols())
    account = AccountConfig(api_key=API_KEY, api_secret=API_SECRET)
    return SimConfig(symbols=symbols, accounts=(account,), seed=seed)


async def _virtual(config: Any, fault_seed: int = 0) -> AsyncIterator[VirtualSim]:
    from mmoms.sim.exchange import SimExchange
    from mmoms.sim.faults import FaultInjector

    clock = VirtualSimClock()
    exchange = SimExchange(clock, config)
    options = ServerOptions(tick_ms=5)
    server = await start_server("127.0.0.1", 0, exchange, clock, options, FaultInjector(fault_seed))
    async with aiohttp.ClientSession() as http:
        yield VirtualSim(clock, server, http)
    await server.close()


@pytest_asyncio.fixture
async def virtual_sim() -> AsyncIterator[VirtualSim]:
    from mmoms.sim.config_model import AccountConfig, SimConfig

    account = AccountConfig(api_key=API_KEY, api_secret=API_SECRET)
    async for sim in _virtual(SimConfig(accounts=(account,), seed=3)):
        yield sim


@pytest_asyncio.fixture
async def quiet_sim() -> AsyncIterator[VirtualSim]:
    """The real exchange on a virtual clock with a static market (deterministic prices)."""
    async for sim in _virtual(quiet_market_config()):
        yield sim
