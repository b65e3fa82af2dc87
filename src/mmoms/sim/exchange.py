"""The sans-I/O simulated exchange: Binance USDⓈ-M semantics without any transport.

Interface for the server (:mod:`mmoms.sim.server`)::

    ex = SimExchange(clock, config)            # clock: any object with time_ms() -> int
    ex.clock                                   # that clock (start_server uses it by default)
    ex.endpoints["POST /fapi/v1/order"]        # -> api.Endpoint(method, path, security,
                                               #    handler, weight, order_count, order_count_1m)
    body = endpoint.handler(account, params)   # params: merged str -> str, as received;
                                               # raises api.SimApiError (HTTP 400 + code/msg)
    ex.account_for_key(api_key)                # -> Account | None  (pass it to handlers;
                                               #    None for Security.NONE endpoints)
    ex.secret_for_key(api_key)                 # -> HMAC secret | None
    ex.ed25519_public_key_for(api_key)         # -> PEM | None
    ex.on_user_event = fn                      # fn(api_key, event_dict) for every user-data
                                               #    event (ORDER_TRADE_UPDATE, TRADE_LITE,
                                               #    ACCOUNT_UPDATE, ACCOUNT_CONFIG_UPDATE,
                                               #    ALGO_UPDATE, listenKeyExpired)
    ex.on_market_event = fn                    # optional (None = off): fn(stream, payload) for
                                               #    "<sym>@aggTrade", "<sym>@trade",
                                               #    "<sym>@depth@100ms", "<sym>@depth5|10|20@100ms",
                                               #    "<sym>@bookTicker", "!bookTicker",
                                               #    "<sym>@markPrice@1s", "!markPrice@arr@1s",
                                               #    "<sym>@kline_<interval>"
    ex.set_market_feeds(feeds)                 # the feed names someone subscribes to (decides
                                               #    which partial books and candles are built)
    ex.listen_key_owner(listen_key)            # -> api_key | None (route WS connections)
    ex.advance(now_ms)                         # call often (e.g. every 50-100 ms): steps the
                                               #    synthetic market, fires conditional orders,
                                               #    expires GTD orders, fires countdownCancelAll,
                                               #    expires listenKeys
    ex.next_deadline()                         # the next time-driven expiry (ms) or None, so a
                                               #    virtual clock can stop exactly there

Scenario hooks (the admin endpoints use them): :meth:`SimExchange.expire_listen_key`,
:meth:`SimExchange.set_mid`, :meth:`SimExchange.inject_trade`.

Everything runs on the caller's thread and never blocks; the server must call handlers and
``advance`` from one task (single writer). Events are delivered synchronously from inside the
call that caused them, in causal order. Handlers do not call ``advance`` themselves: time moves
only when the server says so, which keeps tests deterministic.

Market steps are aligned to ``step_ms`` from the clock's time at construction; events produced
in a step carry the step's timestamp. A gap longer than ``max_catchup_steps`` steps (the host
slept, or a virtual clock jumped) skips the excess steps instead of replaying them; expiries
still happen, stamped with the time ``advance`` was called with.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from . import events as ev
from .account import Account
from .algo import AlgoService
from .api import Endpoint
from .config_model import AccountConfig, SimConfig
from .handlers_account import account_endpoints
from .handlers_algo import algo_endpoints
from .handlers_market import market_endpoints
from .handlers_orders import order_endpoints
from .listenkeys import ListenKeys
from .market import SyntheticMarket
from .market_feed import MarketPublisher
from .matching import MatchingEngine
from .specs import SymbolSpec, build_exchange_info

__all__ = ["SimExchange"]

EventSink = Callable[[str, dict[str, Any]], None]


class _Clock(Protocol):
    def time_ms(self) -> int: ...


def _no_event(_key: str, _event: dict[str, Any]) -> None:
    return None


class SimExchange:
    def __init__(self, clock: _Clock, config: SimConfig | None = None) -> None:
        self.config = config if config is not None else SimConfig()
        self._clock = clock
        specs = [SymbolSpec.from_config(s) for s in self.config.symbols]
        self.specs: dict[str, SymbolSpec] = {s.symbol: s for s in specs}
        self.started_ms = clock.time_ms()
        self.engine = MatchingEngine(specs, self.config.seed, self.started_ms)
        self.markets: dict[str, SyntheticMarket] = {
            s.symbol: SyntheticMarket(s, cfg.market, self.engine, self.config.seed)
            for s, cfg in zip(specs, self.config.symbols, strict=True)
        }
        self.algo = AlgoService(self.engine, self.config.seed, self.config.order_history_limit)
        self.publisher = MarketPublisher(self.engine.states, self.markets)
        self.accounts: dict[str, Account] = {}
        for account_config in self.config.accounts:
            self.add_account(account_config)
        self.listen_keys = ListenKeys(self.config.seed, self.config.listen_key_validity_ms)
        self._countdowns: dict[tuple[str, str], int] = {}  # (api key, symbol) -> deadline
        step = self.config.step_ms
        self._market_time = self.started_ms - self.started_ms % step
        self._on_user_event: EventSink = _no_event
        self._on_market_event: EventSink | None = None
        for market in self.markets.values():
            market.seed_book(self._market_time)
        self._exchange_info = build_exchange_info(self.config, specs)
        self.endpoints: dict[str, Endpoint] = {
            e.key: e
            for e in (
                *market_endpoints(self),
                *order_endpoints(self),
                *algo_endpoints(self),
                *account_endpoints(self),
            )
        }

    # -- hooks ------------------------------------------------------------------------------

    @property
    def on_user_event(self) -> EventSink:
        return self._on_user_event

    @on_user_event.setter
    def on_user_event(self, sink: EventSink | None) -> None:
        self._on_user_event = sink if sink is not None else _no_event
        self.engine.emit_user = sink  # None: the engine skips building events altogether

    @property
    def on_market_event(self) -> EventSink | None:
        return self._on_market_event

    @on_market_event.setter
    def on_market_event(self, sink: EventSink | None) -> None:
        self._on_market_event = sink
        self.engine.emit_market = sink
        self.publisher.reset(sink is not None)

    def set_market_feeds(self, feeds: frozenset[str]) -> None:
        self.publisher.set_feeds(feeds)

    def emit_user(self, account: Account, event: dict[str, Any]) -> None:
        self._on_user_event(account.api_key, event)

    # -- accounts ---------------------------------------------------------------------------

    def add_account(self, config: AccountConfig) -> Account:
        """Create an account; raises ``ValueError`` if the API key or the alias is taken."""
        if config.api_key in self.accounts:
            raise ValueError("an account with this API key already exists")
        if any(a.alias == config.account_alias for a in self.accounts.values()):
            raise ValueError(f"an account with alias {config.account_alias!r} already exists")
        account = Account(
            config,
            self.config.order_history_limit,
            self.config.trade_history_limit,
            self._clock.time_ms(),
        )
        self.accounts[config.api_key] = account
        return account

    def account_for_key(self, api_key: str) -> Account | None:
        return self.accounts.get(api_key)

    def secret_for_key(self, api_key: str) -> str | None:
        account = self.accounts.get(api_key)
        return account.api_secret if account is not None else None

    def ed25519_public_key_for(self, api_key: str) -> str | None:
        account = self.accounts.get(api_key)
        return account.ed25519_public_key_pem if account is not None else None

    def listen_key_owner(self, listen_key: str) -> str | None:
        return self.listen_keys.owner(listen_key)

    # -- time -------------------------------------------------------------------------------

    @property
    def clock(self) -> _Clock:
        """The clock the exchange reads (the server may share it)."""
        return self._clock

    def now(self) -> int:
        return self._clock.time_ms()

    def exchange_info(self) -> dict[str, Any]:
        return {**self._exchange_info, "serverTime": self.now()}

    def set_countdown(self, account: Account, symbol: str, countdown_ms: int) -> None:
        key = (account.api_key, symbol)
        if countdown_ms == 0:
            self._countdowns.pop(key, None)
        else:
            self._countdowns[key] = self.now() + countdown_ms

    def advance(self, now_ms: int) -> None:
        """Bring the exchange up to ``now_ms``: market steps, then time-driven expiries."""
        step = self.config.step_ms
        steps = (now_ms - self._market_time) // step
        if steps > self.config.max_catchup_steps:
            self._market_time += (steps - self.config.max_catchup_steps) * step
            steps = self.config.max_catchup_steps
        for _ in range(max(0, steps)):
            self._market_time += step
            for market in self.markets.values():
                market.step(self._market_time)
            for symbol in self.markets:
                self.algo.check(symbol, self._market_time)
            if self._on_market_event is not None:
                self.publisher.publish(self._on_market_event, self._market_time)
        self.engine.expire_due(now_ms)
        self.algo.expire_due(now_ms)
        self._fire_countdowns(now_ms)
        for api_key, key in self.listen_keys.expire(now_ms):
            self._on_user_event(api_key, ev.listen_key_expired(now_ms, key))

    def next_deadline(self) -> int | None:
        """The earliest pending expiry: GTD order, conditional order, countdown, listenKey."""
        candidates = [
            self.engine.next_gtd(),
            self.algo.next_deadline(),
            min(self._countdowns.values(), default=None),
            self.listen_keys.next_expiry(),
        ]
        return min((c for c in candidates if c is not None), default=None)

    def _fire_countdowns(self, now_ms: int) -> None:
        due = [key for key, deadline in self._countdowns.items() if deadline <= now_ms]
        for api_key, symbol in due:
            del self._countdowns[(api_key, symbol)]
            account = self.accounts.get(api_key)
            if account is not None:
                self.engine.cancel_all(account, symbol, now_ms)

    # -- scenario hooks ---------------------------------------------------------------------

    def expire_listen_key(
        self, listen_key: str | None = None, api_key: str | None = None, announce: bool = True
    ) -> list[str]:
        """Expire listenKeys now (all, one key, or one account's); returns the keys expired.
        ``announce=False`` drops them silently, without ``listenKeyExpired``."""
        now = self.now()
        expired = self.listen_keys.force_expire(listen_key, api_key)
        if announce:
            for owner, key in expired:
                self._on_user_event(owner, ev.listen_key_expired(now, key))
        return [key for _, key in expired]

    def set_mid(self, symbol: str, price: str) -> None:
        """Move the synthetic market's mid to ``price`` (takes effect on the next step).
        Raises ``KeyError`` for an unknown symbol and ``SimApiError`` for a bad price."""
        spec = self.specs[symbol]
        self.markets[symbol].set_mid(spec.parse_price(price))

    def inject_trade(self, symbol: str, side: str, quantity: str) -> str:
        """Make the synthetic market trade now (tests, scenarios); returns the filled quantity.

        Raises ``KeyError`` for an unknown symbol and ``SimApiError`` for a bad quantity.
        """
        spec = self.specs[symbol]
        lots = spec.parse_qty(quantity)
        filled = self.markets[symbol].take(side == "BUY", lots, self.now())
        return spec.fmt_qty(filled)
