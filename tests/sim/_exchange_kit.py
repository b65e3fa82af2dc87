"""Shared helpers for the exchange tests: a test clock, quiet markets, and a call helper.

Handlers are called exactly as the server will call them: ``endpoint.handler(account, params)``
with string parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from mmoms.sim.account import Account
from mmoms.sim.api import SimApiError
from mmoms.sim.config_model import AccountConfig, MarketParams, SimConfig, default_symbols
from mmoms.sim.exchange import SimExchange

START_MS = 1_767_225_600_000
KEY = "test-key"
OTHER_KEY = "other-key"


class FixedClock:
    __test__ = False

    def __init__(self, now_ms: int = START_MS) -> None:
        self.now_ms = now_ms

    def time_ms(self) -> int:
        return self.now_ms


QUIET = MarketParams(
    volatility_ticks=0.0,
    trade_probability=0.0,
    level_qty_jitter=0.0,
    level_qty="0.500",
    ladder_levels=5,
)


def quiet_config(market: MarketParams = QUIET, **kwargs: Any) -> SimConfig:
    """A static synthetic ladder: BTC bids 94999.90.., asks 95000.10.., 0.5 BTC per level."""
    symbols = tuple(replace(s, market=market) for s in default_symbols())
    accounts = kwargs.pop(
        "accounts",
        (AccountConfig(KEY, "secret"), AccountConfig(OTHER_KEY, "secret2")),
    )
    return SimConfig(symbols=symbols, accounts=accounts, **kwargs)


class Kit:
    """One exchange, a clock, and every user event recorded as ``(api_key, event)``."""

    __test__ = False

    def __init__(self, config: SimConfig | None = None) -> None:
        self.clock = FixedClock()
        self.ex = SimExchange(self.clock, config if config is not None else quiet_config())
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.ex.on_user_event = lambda key, event: self.events.append((key, event))

    @property
    def account(self) -> Account:
        account = self.ex.account_for_key(KEY)
        assert account is not None
        return account

    @property
    def other(self) -> Account:
        account = self.ex.account_for_key(OTHER_KEY)
        assert account is not None
        return account

    def call(self, route: str, account: Account | None = None, **params: Any) -> Any:
        endpoint = self.ex.endpoints[route]
        who = self.account if account is None and endpoint.security != "NONE" else account
        return endpoint.handler(who, {k: _s(v) for k, v in params.items()})

    def error(self, route: str, account: Account | None = None, **params: Any) -> SimApiError:
        with pytest.raises(SimApiError) as info:
            self.call(route, account, **params)
        return info.value

    def limit(self, side: str, price: str, qty: str, tif: str = "GTC", **extra: Any) -> Any:
        return self.call(
            "POST /fapi/v1/order",
            extra.pop("account", None),
            symbol=extra.pop("symbol", "BTCUSDC"),
            side=side,
            type="LIMIT",
            timeInForce=tif,
            quantity=qty,
            price=price,
            **extra,
        )

    def market(self, side: str, qty: str, **extra: Any) -> Any:
        return self.call(
            "POST /fapi/v1/order",
            extra.pop("account", None),
            symbol=extra.pop("symbol", "BTCUSDC"),
            side=side,
            type="MARKET",
            quantity=qty,
            newOrderRespType=extra.pop("newOrderRespType", "RESULT"),
            **extra,
        )

    def advance(self, ms: int) -> None:
        self.clock.now_ms += ms
        self.ex.advance(self.clock.now_ms)

    def take(self) -> list[tuple[str, dict[str, Any]]]:
        """Return and forget the events so far."""
        out, self.events = self.events, []
        return out

    def kinds(self, key: str = KEY) -> list[str]:
        return [_kind(e) for k, e in self.events if k == key]

    def order_updates(self, key: str = KEY) -> list[dict[str, Any]]:
        return [e["o"] for k, e in self.events if k == key and e["e"] == "ORDER_TRADE_UPDATE"]

    def position(self, symbol: str = "BTCUSDC", side: str = "BOTH") -> Any:
        return self.account.position(symbol, side)

    def depth(self, symbol: str = "BTCUSDC", limit: int = 5) -> Any:
        return self.call("GET /fapi/v1/depth", symbol=symbol, limit=limit)


def _kind(event: dict[str, Any]) -> str:
    if event["e"] == "ORDER_TRADE_UPDATE":
        return f"OTU:{event['o']['x']}:{event['o']['X']}"
    return str(event["e"])


def _s(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


Factory = Callable[..., Kit]
