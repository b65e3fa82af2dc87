"""The sans-I/O simulated exchange: Binance USDⓈ-M semantics without any transport.

Interface for the server (:mod:`mmoms.sim.server`)::

    ex = SimExchange(clock, config)            # clock: any object with time_ms() -> int
    ex.endpoints["POST /fapi/v1/order"]        # -> api.Endpoint(method, path, security,
                                               #    handler, weight, order_count)
    body = endpoint.handler(account, params)   # params: merged str -> str, as received;
                                               # raises api.SimApiError (HTTP 400 + code/msg)
    ex.account_for_key(api_key)                # -> Account | None  (pass it to handlers;
                                               #    None for Security.NONE endpoints)
    ex.secret_for_key(api_key)                 # -> HMAC secret | None
    ex.ed25519_public_key_for(api_key)         # -> PEM | None
    ex.on_user_event = fn                      # fn(api_key, event_dict) for every user-data
                                               #    event (ORDER_TRADE_UPDATE, TRADE_LITE,
                                               #    ACCOUNT_UPDATE, ACCOUNT_CONFIG_UPDATE,
                                               #    listenKeyExpired)
    ex.on_market_event = fn                    # optional (None = off): fn(stream, payload) for
                                               #    "<sym>@aggTrade", "<sym>@depth@100ms",
                                               #    "<sym>@bookTicker", "<sym>@markPrice@1s"
    ex.listen_key_owner(listen_key)            # -> api_key | None (route WS connections)
    ex.clock                                   # the clock given at construction
    ex.advance(now_ms)                         # call often (e.g. every 50-100 ms): steps the
                                               #    synthetic market, expires GTD orders,
                                               #    fires countdownCancelAll, expires listenKeys

Everything runs on the caller's thread and never blocks; the server must call handlers and
``advance`` from one task (single writer). Events are delivered synchronously from inside the
call that caused them, in causal order. Handlers do not call ``advance`` themselves: time moves
only when the server says so, which keeps tests deterministic.

Market steps are aligned to ``step_ms`` from the clock's time at construction; events produced
in a step carry the step's timestamp. A gap longer than ``max_catchup_steps`` steps (the host
slept) skips the excess steps instead of replaying them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from . import events as ev
from .account import Account
from .api import Endpoint
from .config_model import AccountConfig, SimConfig
from .handlers_account import account_endpoints
from .handlers_market import market_endpoints
from .handlers_orders import order_endpoints
from .listenkeys import ListenKeys
from .market import SyntheticMarket
from .matching import MatchingEngine
from .specs import SymbolSpec, build_exchange_info, fmt8

__all__ = ["SimExchange"]

EventSink = Callable[[str, dict[str, Any]], None]
_MARK_STREAM_MS = 1000


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
        self.accounts: dict[str, Account] = {}
        for account_config in self.config.accounts:
            self.add_account(account_config)
        self.listen_keys = ListenKeys(self.config.seed, self.config.listen_key_validity_ms)
        self._countdowns: dict[tuple[str, str], int] = {}  # (api key, symbol) -> deadline
        step = self.config.step_ms
        self._market_time = self.started_ms - self.started_ms % step
        self._on_user_event: EventSink = _no_event
        self._on_market_event: EventSink | None = None
        self._last_depth_id: dict[str, int] = {}
        self._last_top: dict[str, Any] = {}
        for market in self.markets.values():
            market.seed_book(self._market_time)
        self._exchange_info = build_exchange_info(self.config, specs)
        self.endpoints: dict[str, Endpoint] = {
            e.key: e
            for e in (*market_endpoints(self), *order_endpoints(self), *account_endpoints(self))
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
        for symbol, state in self.engine.states.items():
            state.book.track_changes = sink is not None
            state.book.drain_changes()
            self._last_depth_id[symbol] = state.book.update_id

    def emit_user(self, account: Account, event: dict[str, Any]) -> None:
        self._on_user_event(account.api_key, event)

    # -- accounts ---------------------------------------------------------------------------

    def add_account(self, config: AccountConfig) -> Account:
        """Create an account; raises ``ValueError`` if the API key is taken."""
        if config.api_key in self.accounts:
            raise ValueError("an account with this API key already exists")
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
            if self._on_market_event is not None:
                self._publish_market(self._market_time)
        self.engine.expire_due(now_ms)
        self._fire_countdowns(now_ms)
        for api_key, key in self.listen_keys.expire(now_ms):
            self._on_user_event(api_key, ev.listen_key_expired(now_ms, key))

    def _fire_countdowns(self, now_ms: int) -> None:
        due = [key for key, deadline in self._countdowns.items() if deadline <= now_ms]
        for api_key, symbol in due:
            del self._countdowns[(api_key, symbol)]
            account = self.accounts.get(api_key)
            if account is not None:
                self.engine.cancel_all(account, symbol, now_ms)

    # -- scenario hooks ---------------------------------------------------------------------

    def inject_trade(self, symbol: str, side: str, quantity: str) -> str:
        """Make the synthetic market trade now (tests, scenarios); returns the filled quantity.

        Raises ``KeyError`` for an unknown symbol and ``SimApiError`` for a bad quantity.
        """
        spec = self.specs[symbol]
        lots = spec.parse_qty(quantity)
        filled = self.markets[symbol].take(side == "BUY", lots, self.now())
        return spec.fmt_qty(filled)

    # -- market streams ---------------------------------------------------------------------

    def _publish_market(self, now: int) -> None:
        sink = self._on_market_event
        assert sink is not None
        for symbol, state in self.engine.states.items():
            spec, book = state.spec, state.book
            lower = symbol.lower()
            bids, asks = book.drain_changes()
            if bids or asks:
                previous = self._last_depth_id.get(symbol, 0)
                sink(
                    f"{lower}@depth@100ms",
                    {
                        "e": "depthUpdate",
                        "E": now,
                        "T": now,
                        "s": symbol,
                        "U": previous + 1,
                        "u": book.update_id,
                        "pu": previous,
                        "b": [[spec.fmt_price(t), spec.fmt_qty(q)] for t, q in bids],
                        "a": [[spec.fmt_price(t), spec.fmt_qty(q)] for t, q in asks],
                    },
                )
                self._last_depth_id[symbol] = book.update_id
            top = (book.top(True), book.top(False))
            if top != self._last_top.get(symbol):
                self._last_top[symbol] = top
                bid, ask = top[0] or (0, 0), top[1] or (0, 0)
                sink(
                    f"{lower}@bookTicker",
                    {
                        "e": "bookTicker",
                        "u": book.update_id,
                        "E": now,
                        "T": now,
                        "s": symbol,
                        "b": spec.fmt_price(bid[0]),
                        "B": spec.fmt_qty(bid[1]),
                        "a": spec.fmt_price(ask[0]),
                        "A": spec.fmt_qty(ask[1]),
                    },
                )
            if now % _MARK_STREAM_MS == 0:
                market = self.markets[symbol]
                sink(
                    f"{lower}@markPrice@1s",
                    {
                        "e": "markPriceUpdate",
                        "E": now,
                        "s": symbol,
                        "p": fmt8(state.mark),
                        "i": fmt8(spec.price(market.mid)),
                        "P": fmt8(state.mark),
                        "r": market.params.funding_rate,
                        "T": (now // 28_800_000 + 1) * 28_800_000,
                    },
                )
