"""A real simulator (SimExchange behind SimServer, virtual time, quiet market) driven from a
private event loop, so plain (sync) Hypothesis tests can send it many requests.

:func:`state_digest` is what garbage must not change: every account's open orders, open algo
orders, balances, positions, position mode, multi-assets mode, symbol configuration and
listenKeys (rate-limit counters are excluded: Binance charges weight for refused requests too).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import aiohttp
import msgspec

from mmoms.sim.clock import VirtualSimClock
from mmoms.sim.config_model import AccountConfig, MarketParams, SimConfig, default_symbols
from mmoms.sim.exchange import SimExchange
from mmoms.sim.ratelimit import RateLimitConfig
from mmoms.sim.server import ServerOptions, SimServer, start_server

API_KEY = "fuzzkey0123456789abcdef"
API_SECRET = "fuzzsecret0123456789abcdef"
T = TypeVar("T")

_STATE_ROUTES = (
    "GET /fapi/v1/openOrders",
    "GET /fapi/v1/openAlgoOrders",
    "GET /fapi/v3/balance",
    "GET /fapi/v3/positionRisk",
    "GET /fapi/v1/positionSide/dual",
    "GET /fapi/v1/multiAssetsMargin",
    "GET /fapi/v1/symbolConfig",
)
_UNLIMITED = RateLimitConfig(
    request_weight_per_minute=10**12, orders_per_10s=10**12, orders_per_minute=10**12
)


def sign(payload: str, secret: str = API_SECRET) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


@dataclass
class Sim:
    loop: asyncio.Runner
    clock: VirtualSimClock
    exchange: SimExchange
    server: SimServer
    http: aiohttp.ClientSession

    def run(self, coro: Any) -> Any:
        return self.loop.run(coro)

    def state_digest(self) -> bytes:
        account = self.exchange.account_for_key(API_KEY)
        parts = [self.exchange.endpoints[r].handler(account, {}) for r in _STATE_ROUTES]
        parts.append(sorted(self.exchange.listen_keys._expires.items()))  # keys and expiries
        return msgspec.json.encode(parts)


def _config() -> SimConfig:
    quiet = MarketParams(volatility_ticks=0.0, trade_probability=0.0, level_qty_jitter=0.0)
    symbols = tuple(replace(s, market=quiet) for s in default_symbols())
    return SimConfig(
        symbols=symbols, accounts=(AccountConfig(api_key=API_KEY, api_secret=API_SECRET),)
    )


def running_sim() -> Iterator[Sim]:
    """Generator for a pytest fixture: start, yield, stop."""
    runner = asyncio.Runner()
    clock = VirtualSimClock()
    exchange = SimExchange(clock, _config())

    async def start() -> tuple[SimServer, aiohttp.ClientSession]:
        options = ServerOptions(rate_limits=_UNLIMITED, tick_ms=1000)
        server = await start_server("127.0.0.1", 0, exchange, clock, options)
        return server, aiohttp.ClientSession()

    server, http = runner.run(start())
    try:
        yield Sim(runner, clock, exchange, server, http)
    finally:

        async def stop() -> None:
            await http.close()
            await server.close()

        runner.run(stop())
        runner.close()
