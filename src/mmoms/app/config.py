"""The configuration of ``mmoms run``: one TOML file, loaded and validated into the engine's
own dataclasses (:class:`OmsConfig`, :class:`RiskConfig`, :class:`SymbolLimits`,
:class:`Tolerance`, :class:`BinanceConfig`) and the strategies it runs.

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
    [strategy]       entry = "path/file.py:Class" (from the config's directory) |
                     "package.module:Class"; id; symbols;
                     on_callback_error = "continue" | "stop"
    [strategy.params]   the strategy's own parameters: keyword arguments of its constructor
    [strategy.limits.SYMBOL]  max_position, max_open_orders: the strategy's own, inside [risk]
    [strategies.ID]  the same as [strategy], once per strategy, for a node with several
    [metrics]        port (absent or 0: off), host

Design decisions:

* **The traded symbols are the strategies' symbols** (their ``symbols`` in the config, else the
  class's ``symbols``). Each strategy class is loaded while the config is read, so a wrong entry
  or parameter is a config error before anything starts. Every traded symbol needs a
  ``[risk.SYMBOL]`` table (the risk engine rejects orders on a symbol without limits), so a typo
  in a table's name cannot leave the real symbol unguarded. Tables for symbols no strategy trades
  are allowed: one config serves several strategies (``--strategy`` swaps them).
* **No strategy named: the skewed quoter** (``examples/strategies/skewed_quoter.py``) with its
  own defaults, so ``mmoms run --config examples/sim.toml`` quotes out of the box.
* **The dead-man switch is on by default for real venues** (30 s): if the node dies, Binance
  cancels our orders; for the simulator it is off by default.
* **Unknown keys are errors**, with the closest known key suggested. Silently ignoring
  ``max_positon`` would run with no position limit.
* **Money is never a float.** Quantities, prices, notionals and percentages are TOML strings
  (``"0.1"``) or integers; a float is refused because ``0.1`` cannot be held exactly. Durations
  and ratios may be floats.
* **Every error names its key**: ``[risk.BTCUSDC] max_position: expected ...``.
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

from mmoms.core.ids import StrategyId, Symbol
from mmoms.engine.config import OmsConfig
from mmoms.engine.diff import Tolerance
from mmoms.engine.risk import RiskConfig, SymbolLimits
from mmoms.engine.strategy_limits import StrategyLimits
from mmoms.strategy.base import Strategy
from mmoms.strategy.host import ErrorPolicy
from mmoms.strategy.loader import (
    StrategyConfigError,
    build_strategy,
    default_strategy_entry,
    load_strategy_class,
)
from mmoms.venues.binance.config import BinanceConfig, OrderTransport

__all__ = [
    "ConfigError",
    "JournalSettings",
    "MetricsSettings",
    "RunConfig",
    "StrategySpec",
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
class StrategySpec:
    """One strategy of the node, as the config describes it (the class is loaded already)."""

    strategy_id: StrategyId
    entry: str
    cls: type[Strategy]
    symbols: tuple[Symbol, ...]
    params: Mapping[str, Any] = field(default_factory=dict)
    on_callback_error: ErrorPolicy = "continue"
    where: str = "[strategy]"  # the config section, for errors
    limits: Mapping[Symbol, StrategyLimits] = field(default_factory=dict)  # its own, per symbol

    def build(self) -> Strategy:
        """A new instance with the config's parameters.

        Raises:
            ConfigError: a parameter the constructor does not take, or a bad value.
        """
        try:
            return build_strategy(self.cls, self.params, f"{self.where[:-1]}.params]")
        except StrategyConfigError as exc:
            raise ConfigError(str(exc)) from None


@dataclass(frozen=True, slots=True)
class MetricsSettings:
    port: int = 0  # 0: no metrics server
    host: str = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class RunConfig:
    venue: VenueSettings
    journal: JournalSettings
    oms: OmsConfig
    strategies: tuple[StrategySpec, ...]
    metrics: MetricsSettings

    @property
    def symbols(self) -> tuple[Symbol, ...]:
        return self.oms.symbols


def load_config(path: str | Path, *, strategy_entry: str | None = None) -> RunConfig:
    """Read and validate a TOML file; ``strategy_entry`` (``--strategy``) replaces the entry of
    its single ``[strategy]``.

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
    return parse_config(data, strategy_entry=strategy_entry, base_dir=Path(path).parent)


def parse_config(
    data: Mapping[str, Any],
    *,
    strategy_entry: str | None = None,
    base_dir: Path | None = None,
) -> RunConfig:
    """Validate an already-parsed document. A relative strategy file in an ``entry`` is found
    from ``base_dir`` (the config file's directory); ``strategy_entry`` is used as given.

    Raises:
        ConfigError: a key is missing, unknown or bad; a strategy cannot be loaded.
    """
    top = _Table(data, "")
    venue = _venue(top.table("venue", required=True))
    journal = _journal(top.table("journal"))
    strategies = _strategies(top, strategy_entry, base_dir or Path("."))
    symbols = tuple(dict.fromkeys(s for spec in strategies for s in spec.symbols))
    risk = _risk(top.table("risk", required=True), symbols)
    tolerance = _tolerance(top.table("tolerance"), symbols)
    oms = _oms(top.table("oms"), risk, symbols, tolerance, venue.kind)
    oms = replace(
        oms,
        strategy_limits={
            (spec.strategy_id, symbol): limit
            for spec in strategies
            for symbol, limit in spec.limits.items()
        },
    )
    metrics = _metrics(top.table("metrics"))
    top.finish()
    return RunConfig(venue, journal, oms, strategies, metrics)


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


def _strategies(top: _Table, override: str | None, base: Path) -> tuple[StrategySpec, ...]:
    """``[strategy]`` (one) or ``[strategies.ID]`` (several); none: the skewed quoter."""
    one, many = "strategy" in top.data, "strategies" in top.data
    if one and many:
        raise ConfigError("[strategy] and [strategies]: give one strategy or several, not both")
    if many:
        if override is not None:
            raise ConfigError(
                "--strategy replaces the entry of a single [strategy]; this config defines "
                "[strategies.*] (give each its entry there)"
            )
        table = top.table("strategies")
        ids = [k for k, v in table.data.items() if isinstance(v, Mapping)]
        if not ids or len(ids) != len(table.data):
            raise ConfigError("[strategies]: expected one table per strategy, [strategies.ID]")
        specs = tuple(_strategy(table.table(i), i, None, base) for i in ids)
        table.finish()
    else:
        specs = (_strategy(top.table("strategy"), None, override, base),)
    seen: dict[str, str] = {}
    for spec in specs:
        if spec.strategy_id in seen:
            raise ConfigError(f"{spec.where} id: {spec.strategy_id!r} is used twice")
        seen[spec.strategy_id] = spec.where
    return specs


def _strategy(t: _Table, key: str | None, override: str | None, base: Path) -> StrategySpec:
    default_id = key or "main"
    strategy_id = t.string("id", default_id)
    if not re.match(r"^[A-Za-z0-9_.-]{1,32}$", strategy_id):
        raise t.error("id", f"expected 1-32 letters, digits, '_', '.', '-'; got {strategy_id!r}")
    entry = override or _from(base, t.string("entry", "")) or default_strategy_entry()
    try:
        cls = load_strategy_class(entry)
    except StrategyConfigError as exc:
        raise ConfigError(f"[{t.label}] entry: {exc}") from None
    symbols = _symbol_list(t, cls)
    policy = t.choice("on_callback_error", ["continue", "stop"], default=cls.on_callback_error)
    params = dict(t.table("params").data)
    limits = _strategy_limits(t.table("limits"), symbols)
    t.finish()
    spec = StrategySpec(
        StrategyId(strategy_id), entry, cls, symbols, params,
        "stop" if policy == "stop" else "continue", f"[{t.label}]", limits,
    )  # fmt: skip
    spec.build()  # a parameter the constructor cannot take is a config error now, not at start
    return spec


def _strategy_limits(t: _Table, symbols: tuple[Symbol, ...]) -> dict[Symbol, StrategyLimits]:
    """``[strategy.limits.SYMBOL]``: the strategy's own limits, inside the account's."""
    out: dict[Symbol, StrategyLimits] = {}
    for name in t.subtables():
        s = t.symbol_table(name)
        if name not in symbols:  # scoped to one strategy: a name it does not trade is a typo
            raise ConfigError(f"[{s.label}]: the strategy does not trade {name}")
        position = (
            s.decimal("max_position", None, positive=True) if "max_position" in s.data else None
        )
        orders = s.integer("max_open_orders", None, low=1) if "max_open_orders" in s.data else None
        s.finish()
        out[Symbol(name)] = StrategyLimits(max_position=position, max_open_orders=orders)
    t.finish()
    return out


def _from(base: Path, entry: str) -> str:
    """A relative ``file.py:Class`` entry, found from the config file's directory."""
    where, sep, name = entry.rpartition(":")
    if sep and where.endswith(".py") and not Path(where).is_absolute():
        return f"{base / where}:{name}"
    return entry


def _symbol_list(t: _Table, cls: type[Strategy]) -> tuple[Symbol, ...]:
    raw = t._get("symbols", list(cls.symbols))
    if not isinstance(raw, (list, tuple)) or not all(isinstance(x, str) for x in raw):
        raise t.error("symbols", f'expected a list of symbols like ["BTCUSDC"], got {raw!r}')
    for symbol in raw:
        if not _SYMBOL.match(symbol):
            raise t.error("symbols", f"{symbol!r} is not a symbol (like BTCUSDC)")
    if not raw:
        raise t.error(
            "symbols",
            f"{cls.__name__} names no symbols: set symbols = [...] here or in the class",
        )
    return tuple(Symbol(x) for x in dict.fromkeys(raw))


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
        s = t.symbol_table(name)
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
        s = t.symbol_table(name)
        out[Symbol(name)] = Tolerance(
            price_ticks=s.integer("price_ticks", default.price_ticks, low=0),
            qty_pct=s.decimal("qty_pct", default.qty_pct, minimum=0),
        )
        s.finish()
    t.finish()
    return out


DEAD_MAN_SWITCH_REAL_MS = 30_000  # the default for real venues: Binance cancels if we die


def _oms(
    t: _Table,
    risk: RiskConfig,
    symbols: tuple[Symbol, ...],
    tolerance: dict[Symbol, Tolerance],
    kind: VenueKind,
) -> OmsConfig:
    base = OmsConfig(
        risk=risk,
        symbols=symbols,
        dead_man_switch_ms=DEAD_MAN_SWITCH_REAL_MS if kind.is_real else 0,
    )
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

    def symbol_table(self, key: str) -> _Table:
        """A per-symbol sub-table; a name that is no symbol is an unknown section."""
        label = f"{self.label}.{key}"
        if not _SYMBOL.match(key):
            close = difflib.get_close_matches(key, sorted(self._sections), n=1)
            hint = f"did you mean [{self.label}.{close[0]}]? " if close else ""
            raise ConfigError(
                f"[{label}]: unknown section; {hint}(per-symbol tables are named like "
                f"[{self.label}.BTCUSDC])"
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
