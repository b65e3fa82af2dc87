"""What a simulated exchange is made of: symbols, synthetic market, accounts, limits.

Plain frozen dataclasses, filled from TOML by :mod:`mmoms.sim.config` (the transport's loader) or
built directly in tests. Decimal-valued fields are *strings*, exactly as in exchangeInfo, so a
TOML file and the wire look alike and nothing passes through a float. The synthetic market's
random-process knobs (volatility, probabilities) are floats: they shape noise, never money.

Defaults (documented choices, not Binance facts unless marked):

* BTCUSDC / ETHUSDC / BTCUSDT. BTC filters are live BTCUSDT's (tick 0.10, step 0.001, qty
  0.001–1000, market max 120, PERCENT_PRICE 1.05/0.95, 200 open orders); ETH uses tick 0.01.
* MIN_NOTIONAL 50 for the USDT contract (live BTCUSDT) and 5 for the USDC contracts (the docs'
  generic ``-4164`` text says 5; the live USDC value is unconfirmed).
* Fees: USDC contracts maker 0.0000 / taker 0.0004 (USDC promotions), USDT maker 0.0002 /
  taker 0.0005 (regular tier). A negative maker fee is a rebate.
"""

from __future__ import annotations

import hashlib
import string
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = [
    "AccountConfig",
    "MarketParams",
    "SimConfig",
    "SymbolConfig",
    "default_alias",
    "default_symbols",
]


@dataclass(frozen=True, slots=True)
class MarketParams:
    """The synthetic "rest of the market" around one symbol (see :mod:`mmoms.sim.market`).

    Distances are in ticks, sizes are quantities (strings, base asset), rates are per step.
    """

    half_spread_ticks: int = 1  # synthetic best bid = mid - this, best ask = mid + this
    ladder_levels: int = 20  # synthetic price levels per side
    ladder_step_ticks: int = 1  # distance between synthetic levels
    level_qty: str = "0.500"  # target synthetic quantity per level (base asset)
    level_qty_jitter: float = 0.5  # target varies uniformly by ± this fraction
    refill_fraction: float = 0.5  # top a level up only once it falls below this share of target
    volatility_ticks: float = 2.0  # std-dev of the mid's move per step, in ticks
    mean_reversion: float = 0.0005  # pull of the mid towards its start price, per step
    trade_probability: float = 0.2  # chance of one synthetic aggressive trade per step
    trade_qty_mean: str = "0.050"  # mean size of a synthetic aggressive trade (exponential)
    mark_smoothing: float = 0.2  # mark price moves this share of the way to the mid per step
    funding_rate: str = "0.00010000"  # reported lastFundingRate (no funding is charged)


@dataclass(frozen=True, slots=True)
class SymbolConfig:
    """One USDⓈ-M perpetual: identity, exchangeInfo filters, start price, fees, market."""

    symbol: str
    base_asset: str
    quote_asset: str  # also the margin asset (linear contract)
    tick_size: str
    step_size: str
    price_precision: int
    quantity_precision: int
    start_price: str
    min_price: str
    max_price: str
    min_qty: str
    max_qty: str
    market_max_qty: str
    min_notional: str
    multiplier_up: str = "1.0500"
    multiplier_down: str = "0.9500"
    max_num_orders: int = 200
    maker_fee: str = "0.0002"
    taker_fee: str = "0.0005"
    max_leverage: int = 125
    max_notional: str = "1000000000"  # the single leverage bracket's notional cap
    onboard_date: int = 1_569_398_400_000
    maint_margin_percent: str = "2.5000"
    required_margin_percent: str = "5.0000"
    liquidation_fee: str = "0.012500"
    market_take_bound: str = "0.05"
    trigger_protect: str = "0.0500"
    market: MarketParams = field(default_factory=MarketParams)


@dataclass(frozen=True, slots=True)
class AccountConfig:
    """A trading account, found by API key. Balances are per margin asset."""

    api_key: str
    api_secret: str | None = None  # HMAC-SHA256 secret; None for Ed25519-only accounts
    ed25519_public_key_pem: str | None = None
    balances: Mapping[str, str] = field(
        default_factory=lambda: {"USDC": "100000", "USDT": "100000"}
    )
    dual_side_position: bool = False  # hedge mode (LONG/SHORT) instead of one-way (BOTH)
    multi_assets_margin: bool = False
    default_leverage: int = 20
    alias: str | None = None  # accountAlias in balance replies; None: derived from the key

    @property
    def account_alias(self) -> str:
        """``alias``, or :func:`default_alias` of the API key."""
        return self.alias or default_alias(self.api_key)

    def __repr__(self) -> str:  # secrets never reach logs or tracebacks
        return (
            f"AccountConfig(api_key=<{len(self.api_key)} chars>, alias={self.account_alias!r}, "
            f"balances={dict(self.balances)})"
        )


_ALIAS_LETTERS = string.ascii_letters


def default_alias(api_key: str) -> str:
    """A short per-account code, like Binance's ``accountAlias`` ("SgsR"): eight letters of a
    hash of the API key, so the same account answers the same alias on every run and two
    accounts answer different ones. (Binance keeps an alias when keys are rotated; a simulated
    account has exactly one key, so deriving it from the key is as stable.) The hash never
    lets the key be read back."""
    digest = hashlib.sha256(b"mmoms-sim-account-alias:" + api_key.encode()).digest()
    return "".join(_ALIAS_LETTERS[b % len(_ALIAS_LETTERS)] for b in digest[:8])


def _btc(symbol: str, quote: str, min_notional: str, maker: str, taker: str) -> SymbolConfig:
    return SymbolConfig(
        symbol=symbol,
        base_asset="BTC",
        quote_asset=quote,
        tick_size="0.10",
        step_size="0.001",
        price_precision=2,
        quantity_precision=3,
        start_price="95000.00",
        min_price="556.80",
        max_price="4529764",
        min_qty="0.001",
        max_qty="1000",
        market_max_qty="120",
        min_notional=min_notional,
        maker_fee=maker,
        taker_fee=taker,
    )


def default_symbols() -> tuple[SymbolConfig, ...]:
    """BTCUSDC, ETHUSDC and BTCUSDT with realistic filters (see the module docstring)."""
    eth = SymbolConfig(
        symbol="ETHUSDC",
        base_asset="ETH",
        quote_asset="USDC",
        tick_size="0.01",
        step_size="0.001",
        price_precision=2,
        quantity_precision=3,
        start_price="3500.00",
        min_price="39.86",
        max_price="306177",
        min_qty="0.001",
        max_qty="10000",
        market_max_qty="2000",
        min_notional="5",
        maker_fee="0.0000",
        taker_fee="0.0004",
        market=MarketParams(level_qty="5.000", trade_qty_mean="0.500"),
    )
    return (
        _btc("BTCUSDC", "USDC", "5", "0.0000", "0.0004"),
        eth,
        _btc("BTCUSDT", "USDT", "50", "0.0002", "0.0005"),
    )


@dataclass(frozen=True, slots=True)
class SimConfig:
    """Everything :class:`mmoms.sim.exchange.SimExchange` needs besides a clock."""

    symbols: tuple[SymbolConfig, ...] = field(default_factory=default_symbols)
    accounts: tuple[AccountConfig, ...] = ()
    seed: int = 1
    step_ms: int = 100  # the synthetic market moves in fixed steps of this length
    max_catchup_steps: int = 600  # a longer gap between advance() calls skips the excess steps
    order_history_limit: int = 20_000  # closed orders kept per account and symbol
    trade_history_limit: int = 20_000  # user trades kept per account and symbol
    listen_key_validity_ms: int = 3_600_000
    request_weight_per_minute: int = 2400
    orders_per_minute: int = 1200
    orders_per_10s: int = 300
