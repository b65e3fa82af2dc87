"""The configuration of ``mmoms run``: one TOML file, loaded and validated into the engine's
own dataclasses (:class:`OmsConfig`, :class:`RiskConfig`, :class:`SymbolLimits`,
:class:`Tolerance`, :class:`BinanceConfig`, :class:`QuoterConfig`).

Layout (``examples/*.toml`` show every key with its default)::

    [venue]          kind = "sim" | "binance-testnet" | "binance"; order_transport = "rest" | "ws";
                     recv_window_ms, request_timeout_s; rest_url, stream_url, ws_api_url,
                     market_data_url (real venues only); seed (sim only)
    [journal]        sqlite_path = "..."  |  postgres_dsn = "..." (+ postgres_schema)
    [oms]            batch_window_ms, reconcile_interval_s, allow_amend, client_id_prefix,
                     dead_man_switch_ms, stop_timeout_s, flatten_overfill
    [risk]           max_orders_per_second, hard_position_multiple, max_anomalies
    [risk.circuit_breaker]  error_rate, min_requests, cooldown_s
    [risk.SYMBOL]    max_order_qty, max_order_notional, max_open_orders, max_position,
                     price_band_pct
    [tolerance]      price_ticks, qty_pct (defaults for every symbol)
    [tolerance.SYMBOL]  the same, for one symbol
    [strategy]       id, refresh_ms
    [strategy.SYMBOL]   levels, half_spread_bps, level_step_bps, size, max_inventory, skew_bps
    [metrics]        port (absent or 0: off), host

Design decisions:

* **The traded symbols are the ``[strategy.SYMBOL]`` tables.** Every one needs a
  ``[risk.SYMBOL]`` table (the risk engine rejects orders on a symbol without limits); a
  ``[risk.X]`` or ``[tolerance.X]`` for a symbol that is not traded is an error: it is almost
  always a typo, and a typo in a limit must not leave the real symbol unguarded.
* **Unknown keys are errors**, with the closest known key suggested. Silently ignoring
  ``max_positon`` would run with no position limit.
* **Money is never a float.** Quantities, prices, notionals and percentages are TOML strings
  (``"0.1"``) or integers; a float is refused because ``0.1`` cannot be held exactly. Durations
  and ratios may be floats.
* **Every error names its key**: ``[risk.BTCUSDC] max_position: expected ...``.
* **Cross-checks that would make the strategy useless** (a quote size above ``max_order_qty``,
  more levels than ``max_open_orders`` allows) are errors at load time, not a run full of risk
  rejections.
* **No secrets in the file.** API keys come from the environment only (see
  :mod:`mmoms.venues.binance.signing`); a PostgreSQL password belongs in ``PGPASSWORD``. The DSN
  is still never printed (``repr`` hides it, :meth:`JournalSettings.describe` omits it).
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Any

from mmoms.app.quoter import QuoterConfig
from mmoms.core.ids import StrategyId, Symbol
from mmoms.engine.config import OmsConfig
from mmoms.engine.diff import Tolerance
from mmoms.engine.risk import RiskConfig, SymbolLimits
from mmoms.venues.binance.config import BinanceConfig, OrderTransport

__all__ = [
    "ConfigError",
    "JournalSettings",
    "MetricsSettings",
    "RunConfig",
    "StrategySettings",
    "VenueKind",
    "VenueSettings",
    "load_config",
    "parse_config",
]

_SYMBOL = re.compile(r"^[A-Z0-9]{2,30}$")
_PREFIX = re.compile(r"^[A-Za-z0-9]{1,8}$")  # Binance client ids: 36 chars; keep room for ours
_NO = object()  # "no default": the key is required


class ConfigError(ValueError):
    """A configuration problem; the message names the key at fault (never a secret)."""


class VenueKind(StrEnum):
    SIM = "sim"  # the embedded simulator, started in-process
    BINANCE_TESTNET = "binance-testnet"
    BINANCE = "binance"

    @property
    def is_real(self) -> bool:
        """A venue that needs API keys from the environment."""
        return self is not VenueKind.SIM


@dataclass(frozen=True, slots=True)
class VenueSettings:
    kind: VenueKind
    binance: BinanceConfig  # for the simulator the URLs are replaced once it has a port
    market_data_url: str  # bookTicker streams; "" for the simulator (its own URL)
    sim_seed: int = 1


@dataclass(frozen=True, slots=True)
class JournalSettings:
    sqlite_path: Path | None = None  # None and no DSN: the runner picks a default path
    postgres_dsn: str | None = field(default=None, repr=False)
    postgres_schema: str = "public"

    def describe(self) -> str:
        """Where the journal is, for people; never includes the DSN (it may hold a password)."""
        if self.postgres_dsn is not None:
            return f"PostgreSQL (schema {self.postgres_schema})"
        return f"SQLite {self.sqlite_path}" if self.sqlite_path else "SQLite (default path)"


@dataclass(frozen=True, slots=True)
class StrategySettings:
    strategy_id: StrategyId
    refresh_s: float  # at most one quote refresh per symbol this often
    quoters: Mapping[Symbol, QuoterConfig]


@dataclass(frozen=True, slots=True)
class MetricsSettings:
    port: int = 0  # 0: no metrics server
    host: str = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class RunConfig:
    venue: VenueSettings
    journal: JournalSettings
    oms: OmsConfig
    strategy: StrategySettings
    metrics: MetricsSettings

    @property
    def symbols(self) -> tuple[Symbol, ...]:
        return self.oms.symbols


def load_config(path: str | Path) -> RunConfig:
    """Read and validate a TOML file.

    Raises:
        ConfigError: the file cannot be read, is not TOML, or a key is missing, unknown or bad.
    """
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8 text (byte {exc.start})") from None
    except RecursionError:  # tomllib recurses per nesting level
        raise ConfigError(f"{path} is nested too deeply to be a config") from None
    return parse_config(data)


def parse_config(data: Mapping[str, Any]) -> RunConfig:
    """Validate an already-parsed document. Raises :class:`ConfigError`."""
    top = _Table(data, "")
    venue = _venue(top.table("venue", required=True))
    journal = _journal(top.table("journal"))
    strategy_table = top.table("strategy", required=True)
    strategy = _strategy(strategy_table)
    symbols = tuple(strategy.quoters)
    risk = _risk(top.table("risk", required=True), symbols)
    tolerance = _tolerance(top.table("tolerance"), symbols)
    oms = _oms(top.table("oms"), risk, symbols, tolerance)
    metrics = _metrics(top.table("metrics"))
    top.finish()
    _cross_check(strategy, risk)
    return RunConfig(venue, journal, oms, strategy, metrics)


# -- sections ---------------------------------------------------------------------------------


def _venue(t: _Table) -> VenueSettings:
    kind = VenueKind(t.choice("kind", [k.value for k in VenueKind]))
    base = {
        VenueKind.SIM: BinanceConfig(),
        VenueKind.BINANCE_TESTNET: BinanceConfig.testnet(),
        VenueKind.BINANCE: BinanceConfig(),
    }[kind]
    transport = OrderTransport(t.choice("order_transport", ["rest", "ws"], default="rest"))
    overrides: dict[str, Any] = {
        "order_transport": transport,
        "recv_window_ms": t.integer("recv_window_ms", base.recv_window_ms, low=1, high=60_000),
        "request_timeout_s": t.number("request_timeout_s", base.request_timeout_s, low=0.1),
    }
    market_url = ""
    seed = 1
    if kind is VenueKind.SIM:
        for key in ("rest_url", "stream_url", "ws_api_url", "market_data_url"):
            if key in t.data:
                raise t.error(key, 'not used with kind = "sim" (the simulator picks its own port)')
        seed = t.integer("seed", 1, low=0)
    else:
        if "seed" in t.data:
            raise t.error("seed", f'only used with kind = "sim", not "{kind}"')
        overrides["rest_url"] = t.url("rest_url", base.rest_url, ("http://", "https://"))
        overrides["stream_url"] = t.url("stream_url", base.stream_url, ("ws://", "wss://"))
        overrides["ws_api_url"] = t.url("ws_api_url", base.ws_api_url, ("ws://", "wss://"))
        market_url = t.url("market_data_url", overrides["stream_url"], ("ws://", "wss://"))
    t.finish()
    return VenueSettings(kind, replace(base, **overrides), market_url, seed)


def _journal(t: _Table) -> JournalSettings:
    path = t.string("sqlite_path", "")
    dsn = t.string("postgres_dsn", "", secret=True)
    schema = t.string("postgres_schema", "public")
    if path and dsn:
        raise t.error("postgres_dsn", "give either sqlite_path or postgres_dsn, not both")
    if "postgres_schema" in t.data and not dsn:
        raise t.error("postgres_schema", "only used with postgres_dsn")
    if not re.match(r"^[a-z_][a-z0-9_]{0,62}$", schema):
        raise t.error("postgres_schema", f"expected a lower-case SQL name, got {schema!r}")
    t.finish()
    return JournalSettings(Path(path) if path else None, dsn or None, schema)


def _strategy(t: _Table) -> StrategySettings:
    strategy_id = t.string("id", "mm")
    if not re.match(r"^[A-Za-z0-9_.-]{1,32}$", strategy_id):
        raise t.error("id", f"expected 1-32 letters, digits, '_', '.', '-'; got {strategy_id!r}")
    refresh_ms = t.number("refresh_ms", 100, low=1, high=60_000)
    default = QuoterConfig()
    quoters: dict[Symbol, QuoterConfig] = {}
    for name in t.subtables():
        q = t.symbol_table(name)
        quoters[Symbol(name)] = QuoterConfig(
            levels=q.integer("levels", default.levels, low=1, high=20),
            half_spread_bps=q.decimal("half_spread_bps", default.half_spread_bps, minimum=0),
            level_step_bps=q.decimal("level_step_bps", default.level_step_bps, minimum=0),
            size=q.decimal("size", _NO, positive=True),
            max_inventory=q.decimal("max_inventory", _NO, positive=True),
            skew_bps=q.decimal("skew_bps", default.skew_bps, minimum=0),
        )
        q.finish()
    t.finish()
    if not quoters:
        raise ConfigError(
            "[strategy]: no symbol to trade; add a table per symbol, e.g. [strategy.BTCUSDC] "
            'with size = "0.002" and max_inventory = "0.02"'
        )
    return StrategySettings(StrategyId(strategy_id), refresh_ms / 1000, quoters)


def _risk(t: _Table, symbols: tuple[Symbol, ...]) -> RiskConfig:
    base = RiskConfig(limits={})
    per_second = t.integer("max_orders_per_second", base.max_orders_per_second, low=1)
    hard = t.decimal("hard_position_multiple", base.hard_position_multiple, minimum=1)
    anomalies = t.integer("max_anomalies", base.max_anomalies, low=0)
    breaker = t.table("circuit_breaker")
    error_rate = breaker.number("error_rate", base.circuit_error_rate, low=0.01, high=1)
    min_requests = breaker.integer("min_requests", base.circuit_min_requests, low=1)
    cooldown = breaker.number("cooldown_s", base.circuit_cooldown_s, low=0)
    breaker.finish()
    limits: dict[Symbol, SymbolLimits] = {}
    for name in t.subtables():
        s = t.symbol_table(name, symbols)
        limits[Symbol(name)] = SymbolLimits(
            max_order_qty=s.decimal("max_order_qty", _NO, positive=True),
            max_order_notional=s.decimal("max_order_notional", _NO, positive=True),
            max_open_orders=s.integer("max_open_orders", _NO, low=1),
            max_position=s.decimal("max_position", _NO, positive=True),
            price_band_pct=s.decimal("price_band_pct", Decimal(5), positive=True),
        )
        s.finish()
    t.finish()
    for symbol in symbols:
        if symbol not in limits:
            raise ConfigError(
                f"[risk.{symbol}]: missing; every traded symbol needs limits (max_order_qty, "
                "max_order_notional, max_open_orders, max_position)"
            )
    return RiskConfig(
        limits=limits,
        max_orders_per_second=per_second,
        circuit_error_rate=error_rate,
        circuit_min_requests=min_requests,
        circuit_cooldown_s=cooldown,
        hard_position_multiple=hard,
        max_anomalies=anomalies,
    )


def _tolerance(t: _Table, symbols: tuple[Symbol, ...]) -> dict[Symbol, Tolerance]:
    default = Tolerance(
        price_ticks=t.integer("price_ticks", 0, low=0),
        qty_pct=t.decimal("qty_pct", Decimal(0), minimum=0),
    )
    out = dict.fromkeys(symbols, default)
    for name in t.subtables():
        s = t.symbol_table(name, symbols)
        out[Symbol(name)] = Tolerance(
            price_ticks=s.integer("price_ticks", default.price_ticks, low=0),
            qty_pct=s.decimal("qty_pct", default.qty_pct, minimum=0),
        )
        s.finish()
    t.finish()
    return out


def _oms(
    t: _Table, risk: RiskConfig, symbols: tuple[Symbol, ...], tolerance: dict[Symbol, Tolerance]
) -> OmsConfig:
    base = OmsConfig(risk=risk, symbols=symbols)
    prefix = t.string("client_id_prefix", base.client_id_prefix)
    if not _PREFIX.match(prefix):
        raise t.error("client_id_prefix", f"expected 1-8 letters or digits, got {prefix!r}")
    dead_man = t.integer("dead_man_switch_ms", base.dead_man_switch_ms, low=0)
    if 0 < dead_man < 5_000:
        raise t.error("dead_man_switch_ms", f"0 (off) or at least 5000, got {dead_man}")
    config = replace(
        base,
        tolerance=tolerance,
        batch_window_s=t.number("batch_window_ms", base.batch_window_s * 1000, high=1000) / 1000,
        reconcile_interval_s=t.number("reconcile_interval_s", base.reconcile_interval_s, low=1),
        allow_amend=t.boolean("allow_amend", base.allow_amend),
        client_id_prefix=prefix,
        dead_man_switch_ms=dead_man,
        stop_timeout_s=t.number("stop_timeout_s", base.stop_timeout_s, low=0.1),
        flatten_overfill=t.boolean("flatten_overfill", base.flatten_overfill),
    )
    t.finish()
    return config


def _metrics(t: _Table) -> MetricsSettings:
    settings = MetricsSettings(
        port=t.integer("port", 0, low=0, high=65_535), host=t.string("host", "127.0.0.1")
    )
    t.finish()
    return settings


def _cross_check(strategy: StrategySettings, risk: RiskConfig) -> None:
    for symbol, q in strategy.quoters.items():
        limits = risk.limits[symbol]
        if q.size > limits.max_order_qty:
            raise ConfigError(
                f"[strategy.{symbol}] size: {q.size} is above [risk.{symbol}] max_order_qty "
                f"{limits.max_order_qty}; every quote would be rejected"
            )
        if 2 * q.levels > limits.max_open_orders:
            raise ConfigError(
                f"[strategy.{symbol}] levels: {q.levels} a side needs max_open_orders >= "
                f"{2 * q.levels}, but [risk.{symbol}] max_open_orders is {limits.max_open_orders}"
            )
        if q.max_inventory > limits.max_position:
            raise ConfigError(
                f"[strategy.{symbol}] max_inventory: {q.max_inventory} is above [risk.{symbol}] "
                f"max_position {limits.max_position}"
            )


# -- the validation toolkit ---------------------------------------------------------------------


def _type_name(value: object) -> str:
    return {bool: "boolean", int: "integer", float: "float", str: "string", dict: "table"}.get(
        type(value), type(value).__name__
    )


class _Table:
    """One TOML table being read: typed getters that name ``[label] key`` in every error, and
    :meth:`finish`, which refuses every key nobody asked for."""

    def __init__(self, data: object, label: str) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(f"[{label}]: expected a table, got {_type_name(data)}")
        self.data: Mapping[str, Any] = data
        self.label = label
        self._seen: set[str] = set()
        self._sections: set[str] = set()  # sub-tables asked for by name

    def error(self, key: str, problem: str) -> ConfigError:
        where = f"[{self.label}] {key}" if self.label else key
        return ConfigError(f"{where}: {problem}")

    def _get(self, key: str, default: object) -> object:
        self._seen.add(key)
        if key in self.data:
            return self.data[key]
        if default is _NO:
            raise self.error(key, "missing (required)")
        return default

    def table(self, key: str, *, required: bool = False) -> _Table:
        label = f"{self.label}.{key}" if self.label else key
        if required and key not in self.data:
            raise ConfigError(f"[{label}]: missing section (required)")
        self._sections.add(key)
        value = self._get(key, {})
        if not isinstance(value, Mapping):
            raise self.error(key, f"expected a table [{label}], got {_type_name(value)}")
        return _Table(value, label)

    def symbol_table(self, key: str, traded: tuple[Symbol, ...] | None = None) -> _Table:
        """A per-symbol sub-table; a name that is no symbol is an unknown section."""
        label = f"{self.label}.{key}"
        if not _SYMBOL.match(key):
            close = difflib.get_close_matches(key, sorted(self._sections), n=1)
            hint = f"did you mean [{self.label}.{close[0]}]? " if close else ""
            raise ConfigError(
                f"[{label}]: unknown section; {hint}(per-symbol tables are named like "
                f"[{self.label}.BTCUSDC])"
            )
        if traded is not None and key not in traded:
            raise ConfigError(
                f"[{label}]: {key} is not traded (no [strategy.{key}]); traded: {', '.join(traded)}"
            )
        return self.table(key)

    def subtables(self) -> list[str]:
        """Keys holding a table that nobody has read yet (per-symbol sections)."""
        return [k for k, v in self.data.items() if isinstance(v, Mapping) and k not in self._seen]

    def string(self, key: str, default: object = _NO, *, secret: bool = False) -> str:
        value = self._get(key, default)
        if not isinstance(value, str):
            shown = "" if secret else f" {value!r}"
            raise self.error(key, f"expected a string, got{shown} ({_type_name(value)})")
        return value

    def choice(self, key: str, options: list[str], default: object = _NO) -> str:
        value = self.string(key, default)
        if value not in options:
            listed = ", ".join(f'"{o}"' for o in options)
            raise self.error(key, f'expected one of {listed}, got "{value}"')
        return value

    def url(self, key: str, default: str, schemes: tuple[str, ...]) -> str:
        value = self.string(key, default)
        if not value.startswith(schemes):
            raise self.error(key, f"expected a URL starting with {' or '.join(schemes)}")
        return value

    def boolean(self, key: str, default: object = _NO) -> bool:
        value = self._get(key, default)
        if not isinstance(value, bool):
            raise self.error(key, f"expected true or false, got {value!r} ({_type_name(value)})")
        return value

    def integer(
        self, key: str, default: object = _NO, *, low: int | None = None, high: int | None = None
    ) -> int:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"expected an integer, got {value!r} ({_type_name(value)})")
        self._bounds(key, value, low, high)
        return value

    def number(
        self,
        key: str,
        default: object = _NO,
        *,
        low: float | None = 0,
        high: float | None = None,
    ) -> float:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(key, f"expected a number, got {value!r} ({_type_name(value)})")
        if not math.isfinite(value):
            raise self.error(key, f"expected a finite number, got {value!r}")
        self._bounds(key, value, low, high)
        return float(value)

    def decimal(
        self,
        key: str,
        default: object = _NO,
        *,
        positive: bool = False,
        minimum: int | None = None,
    ) -> Decimal:
        value = self._get(key, default)
        if isinstance(value, Decimal):
            result = value  # a default
        elif isinstance(value, str):
            try:
                result = Decimal(value)
            except InvalidOperation:
                raise self.error(
                    key, f'expected a decimal string like "0.1", got {value!r}'
                ) from None
            if not result.is_finite():
                raise self.error(key, f"expected a finite number, got {value!r}")
        elif isinstance(value, int) and not isinstance(value, bool):
            result = Decimal(value)
        else:
            raise self.error(
                key, f'expected a decimal string like "0.1", got {value!r} ({_type_name(value)})'
            )
        if positive and result <= 0:
            raise self.error(key, f"must be above 0, got {result}")
        if minimum is not None and result < minimum:
            raise self.error(key, f"must be at least {minimum}, got {result}")
        return result

    @staticmethod
    def _check(value: float, low: float | None, high: float | None) -> str | None:
        if low is not None and value < low:
            return f"must be at least {low}, got {value}"
        if high is not None and value > high:
            return f"must be at most {high}, got {value}"
        return None

    def _bounds(self, key: str, value: float, low: float | None, high: float | None) -> None:
        problem = self._check(value, low, high)
        if problem is not None:
            raise self.error(key, problem)

    def finish(self) -> None:
        """Raises ConfigError for the first key that was not read: a typo or a misplaced key."""
        for key in self.data:
            if key in self._seen:
                continue
            known = sorted(self._seen)
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            listed = f"(known: {', '.join(known) or 'none'})"
            if isinstance(self.data[key], Mapping):
                label = f"{self.label}.{key}" if self.label else key
                raise ConfigError(f"[{label}]: unknown section{hint} {listed}")
            raise self.error(key, f"unknown key{hint} {listed}")
