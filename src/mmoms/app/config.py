"""The configuration of ``mmoms run``: one TOML file, loaded and validated into the engine's
own dataclasses (:class:`OmsConfig`, :class:`RiskConfig`, :class:`SymbolLimits`,
:class:`Tolerance`, :class:`BinanceConfig`) and the strategies it runs.

Layout (``examples/*.toml`` show every key with its default)::

    [venue]          kind = "sim" | "binance-testnet" | "binance"; order_transport = "rest" | "ws";
                     recv_window_ms, request_timeout_s; rest_url, stream_url, ws_api_url,
                     market_data_url (real venues only); seed (sim only)
    [journal]        sqlite_path = "..." (+ durability = "process" | "fsync")
                     |  postgres_dsn = "..." (+ postgres_schema)
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

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

from mmoms.app.config_strategies import StrategySpec, parse_strategies
from mmoms.app.config_table import REQUIRED, ConfigError, Table
from mmoms.core.ids import Symbol
from mmoms.engine.config import OmsConfig
from mmoms.engine.diff import Tolerance
from mmoms.engine.risk import RiskConfig, SymbolLimits
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

_PREFIX = re.compile(r"^[A-Za-z0-9]{1,8}$")  # Binance client ids: 36 chars; keep room for ours
_NO = REQUIRED


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
    # SQLite: "process" (default) — a request leaves once its batch is in the OS's hands, the
    # fsync follows behind (mmoms.journal.checkpointer); "fsync" — once it is on disk.
    durability: str = "process"

    def describe(self) -> str:
        """Where the journal is, for people; never includes the DSN (it may hold a password)."""
        if self.postgres_dsn is not None:
            return f"PostgreSQL (schema {self.postgres_schema})"
        return f"SQLite {self.sqlite_path}" if self.sqlite_path else "SQLite (default path)"


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
    top = Table(data, "")
    venue = _venue(top.table("venue", required=True))
    journal = _journal(top.table("journal"))
    strategies = parse_strategies(top, strategy_entry, base_dir or Path("."))
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


def _venue(t: Table) -> VenueSettings:
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


def _journal(t: Table) -> JournalSettings:
    path = t.string("sqlite_path", "")
    dsn = t.string("postgres_dsn", "", secret=True)
    schema = t.string("postgres_schema", "public")
    durability = t.string("durability", "process")
    if durability not in ("process", "fsync"):
        raise t.error("durability", f'expected "process" or "fsync", got {durability!r}')
    if "durability" in t.data and dsn:
        raise t.error("durability", "SQLite only (PostgreSQL commits are synchronous)")
    if path and dsn:
        raise t.error("postgres_dsn", "give either sqlite_path or postgres_dsn, not both")
    if "postgres_schema" in t.data and not dsn:
        raise t.error("postgres_schema", "only used with postgres_dsn")
    if not re.match(r"^[a-z_][a-z0-9_]{0,62}$", schema):
        raise t.error("postgres_schema", f"expected a lower-case SQL name, got {schema!r}")
    t.finish()
    return JournalSettings(Path(path) if path else None, dsn or None, schema, durability)


def _risk(t: Table, symbols: tuple[Symbol, ...]) -> RiskConfig:
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


def _tolerance(t: Table, symbols: tuple[Symbol, ...]) -> dict[Symbol, Tolerance]:
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
    t: Table,
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


def _metrics(t: Table) -> MetricsSettings:
    settings = MetricsSettings(
        port=t.integer("port", 0, low=0, high=65_535), host=t.string("host", "127.0.0.1")
    )
    t.finish()
    return settings
