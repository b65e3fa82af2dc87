"""Loading the simulator's configuration from TOML (and command-line overrides).

The file fills two things: the exchange's :class:`mmoms.sim.config_model.SimConfig` (symbols,
accounts, seed, market knobs) and the transport's :class:`ServerSettings`. Layout::

    seed = 7                       # any scalar field of SimConfig at the top level
    step_ms = 100

    [server]                       # ServerSettings / ServerOptions
    host = "127.0.0.1"
    port = 8080                    # 0 picks a free port
    tick_ms = 25
    ws_ping_interval_s = 180
    log_level = "INFO"
    admin = true                   # serve /admin/* (fault injection, time control)
    virtual_time = false           # run on a test clock moved by POST /admin/time/advance
    start_time_ms = 1767225600000  # the virtual clock's start (default: wall clock at start)

    [faults]                       # fault injection at start (see mmoms.sim.fault_rules)
    seed = 7
    [[faults.rules]]
    kind = "latency"
    match = "POST /fapi/v1/order"
    latency = "uniform:5:20"

    [rate_limits]
    request_weight_per_minute = 2400
    orders_per_10s = 300
    orders_per_minute = 1200
    ban_seconds = 120

    [fees]                         # optional: maker/taker for every symbol
    maker = "0.0002"
    taker = "0.0004"

    [[accounts]]                   # AccountConfig fields
    api_key = "..."
    api_secret = "..."             # or ed25519_public_key_pem = "-----BEGIN PUBLIC KEY-----..."
    balances = { USDC = "100000" }
    alias = "SgsR"                 # accountAlias (default: 8 letters derived from api_key)

    [[symbols]]                    # replaces the default symbol list when present
    symbol = "BTCUSDC"             # a default symbol's name: only the fields given change
    tick_size = "0.10"
    [symbols.market]               # MarketParams fields
    volatility_ticks = 1.0

Design decisions: validation is driven by the dataclasses' own fields and types, so a field
added to the model is configurable at once; every error names the offending key with its path
(``symbols[1].tick_size``); decimal values must be TOML strings or integers, never floats (a
float cannot carry ``0.1`` exactly); secrets never appear in error messages.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from mmoms.sim.config_model import (
    AccountConfig,
    MarketParams,
    SimConfig,
    SymbolConfig,
    default_symbols,
)
from mmoms.sim.fault_rules import RuleError, parse_rule
from mmoms.sim.ratelimit import RateLimitConfig
from mmoms.sim.server import ServerOptions

__all__ = [
    "ConfigError",
    "FaultSettings",
    "ServerSettings",
    "SimSettings",
    "check_fault_rules",
    "load_settings",
    "parse_settings",
]

_LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")
# Credentials: validated as plain strings and never echoed in an error message.
_SECRET_FIELDS = frozenset({"api_secret", "api_key", "ed25519_public_key_pem"})
_ALIAS = re.compile(r"[A-Za-z0-9]{1,32}")  # what Binance's aliases look like ("SgsR")


class ConfigError(ValueError):
    """A configuration problem; the message names the key at fault."""


@dataclass(frozen=True, slots=True)
class FaultSettings:
    """Fault rules active from the start (JSON-like objects, validated) and their RNG seed."""

    seed: int = 0
    rules: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 0
    log_level: str = "INFO"
    options: ServerOptions = dataclasses.field(default_factory=ServerOptions)
    virtual_time: bool = False
    start_time_ms: int | None = None  # virtual clock start; None = the wall clock at start
    faults: FaultSettings = dataclasses.field(default_factory=FaultSettings)


@dataclass(frozen=True, slots=True)
class SimSettings:
    """Everything the CLI needs: the exchange's configuration and the transport's."""

    exchange: SimConfig
    server: ServerSettings


def load_settings(path: str | Path) -> SimSettings:
    """Read and validate a TOML file; raises :class:`ConfigError` naming the problem."""
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except RecursionError:  # tomllib recurses per nesting level
        raise ConfigError(f"{path}: nested too deeply to be a config") from None
    return parse_settings(data)


def parse_settings(data: Mapping[str, Any]) -> SimSettings:
    """Validate an already-parsed TOML document; raises :class:`ConfigError`."""
    data = dict(data)
    server_table = _table(data.pop("server", {}), "server")
    limits_table = _table(data.pop("rate_limits", {}), "rate_limits")
    fees = _table(data.pop("fees", {}), "fees")
    faults = _faults(_table(data.pop("faults", {}), "faults"))
    accounts_list = _array(data.pop("accounts", []), "accounts")
    symbols_list = data.pop("symbols", None)

    scalar_fields = {
        f.name
        for f in dataclasses.fields(SimConfig)
        if f.name not in ("symbols", "accounts")
        and not f.name.startswith("orders_per")
        and f.name != "request_weight_per_minute"
    }
    for key in data:
        if key not in scalar_fields:
            raise ConfigError(f"unknown top-level key {key!r}")
    exchange_kwargs = _convert_fields(SimConfig, data, "", only=scalar_fields)

    ban_seconds = limits_table.pop("ban_seconds", 120)
    limits = _convert_fields(
        RateLimitConfig, limits_table, "rate_limits.", only=_fields(RateLimitConfig) - {"ban_ms"}
    )
    try:
        rate_limits = RateLimitConfig(
            **limits, ban_ms=_int(ban_seconds, "rate_limits.ban_seconds") * 1000
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    exchange_kwargs.update(
        request_weight_per_minute=rate_limits.request_weight_per_minute,
        orders_per_10s=rate_limits.orders_per_10s,
        orders_per_minute=rate_limits.orders_per_minute,
    )

    symbols = _symbols(symbols_list, fees)
    accounts = tuple(_account(entry, f"accounts[{i}]") for i, entry in enumerate(accounts_list))
    _check_unique([a.api_key for a in accounts], "accounts", "api_key")
    _check_unique([a.account_alias for a in accounts], "accounts", "alias")
    try:
        exchange = SimConfig(symbols=symbols, accounts=accounts, **exchange_kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"invalid exchange configuration: {exc}") from None
    server = dataclasses.replace(_server(server_table, rate_limits), faults=faults)
    return SimSettings(exchange, server)


# -- sections ----------------------------------------------------------------------------------


def _server(table: dict[str, Any], rate_limits: RateLimitConfig) -> ServerSettings:
    host = table.pop("host", "127.0.0.1")
    port = _int(table.pop("port", 0), "server.port")
    log_level = str(table.pop("log_level", "INFO")).upper()
    virtual_time = table.pop("virtual_time", False)
    if not isinstance(virtual_time, bool):
        raise ConfigError("server.virtual_time must be true or false")
    start = table.pop("start_time_ms", None)
    start_time_ms = None if start is None else _int(start, "server.start_time_ms")
    if not isinstance(host, str) or not host:
        raise ConfigError("server.host must be a non-empty string")
    if not 0 <= port <= 65535:
        raise ConfigError(f"server.port must be 0..65535, got {port}")
    if log_level not in _LOG_LEVELS:
        raise ConfigError(f"server.log_level must be one of {', '.join(_LOG_LEVELS)}")
    option_fields = _fields(ServerOptions) - {"rate_limits"}
    for key in table:
        if key not in option_fields:
            raise ConfigError(f"unknown key 'server.{key}'")
    kwargs = _convert_fields(ServerOptions, table, "server.", only=option_fields)
    for name in ("tick_ms", "ws_queue_size"):
        if name in kwargs and kwargs[name] <= 0:
            raise ConfigError(f"server.{name} must be positive")
    options = ServerOptions(rate_limits=rate_limits, **kwargs)
    return ServerSettings(
        host=host,
        port=port,
        log_level=log_level,
        options=options,
        virtual_time=virtual_time,
        start_time_ms=start_time_ms,
    )


def _faults(table: dict[str, Any]) -> FaultSettings:
    seed = _int(table.pop("seed", 0), "faults.seed")
    rules = _array(table.pop("rules", []), "faults.rules")
    for key in table:
        raise ConfigError(f"unknown key 'faults.{key}' (expected seed, rules)")
    return FaultSettings(seed, check_fault_rules(rules, "faults.rules"))


def check_fault_rules(rules: list[Any], where: str) -> tuple[dict[str, Any], ...]:
    """Validate fault rule objects; raises :class:`ConfigError` naming the rule at fault."""
    out = []
    for i, rule in enumerate(rules):
        try:
            parse_rule(rule, i + 1, 0, 0)
        except RuleError as exc:
            raise ConfigError(f"{where}[{i}]: {exc}") from None
        out.append(dict(rule))
    return tuple(out)


def _symbols(entries: Any, fees: dict[str, Any]) -> tuple[SymbolConfig, ...]:
    defaults = {s.symbol: s for s in default_symbols()}
    if entries is None:
        symbols = list(defaults.values())
    else:
        symbols = []
        for i, raw in enumerate(_array(entries, "symbols")):
            where = f"symbols[{i}]"
            entry = _table(raw, where)
            name = entry.get("symbol")
            if not isinstance(name, str) or not name.isalnum() or not name.isupper():
                raise ConfigError(f"{where}.symbol must be an upper-case name like 'BTCUSDC'")
            market_raw = entry.pop("market", None)
            base = defaults.get(name)
            kwargs = _convert_fields(
                SymbolConfig, entry, f"{where}.", exclude=frozenset({"market"})
            )
            missing = {f.name for f in dataclasses.fields(SymbolConfig) if _required(f)} - set(
                kwargs
            )
            if base is None and missing:
                raise ConfigError(f"{where} ({name}) is missing {', '.join(sorted(missing))}")
            market = base.market if base is not None else MarketParams()
            if market_raw is not None:
                market_kwargs = _convert_fields(
                    MarketParams, _table(market_raw, f"{where}.market"), f"{where}.market."
                )
                market = dataclasses.replace(market, **market_kwargs)
            kwargs["market"] = market
            symbols.append(
                dataclasses.replace(base, **kwargs) if base is not None else SymbolConfig(**kwargs)
            )
        _check_unique([s.symbol for s in symbols], "symbols", "symbol")
    for key in fees:
        if key not in ("maker", "taker"):
            raise ConfigError(f"unknown key 'fees.{key}' (expected maker, taker)")
    fee_kwargs: dict[str, Any] = {
        f"{key}_fee": _decimal_text(value, f"fees.{key}", allow_negative=True)
        for key, value in fees.items()
    }
    return tuple(dataclasses.replace(s, **fee_kwargs) for s in symbols)


def _account(raw: Any, where: str) -> AccountConfig:
    entry = _table(raw, where)
    kwargs = _convert_fields(AccountConfig, entry, f"{where}.")
    if "api_key" not in kwargs:
        raise ConfigError(f"{where}.api_key is required")
    if not kwargs.get("api_secret") and not kwargs.get("ed25519_public_key_pem"):
        raise ConfigError(f"{where} needs api_secret or ed25519_public_key_pem")
    alias = kwargs.get("alias")
    if alias is not None and not _ALIAS.fullmatch(alias):
        raise ConfigError(f"{where}.alias must be 1 to 32 letters or digits, got {alias!r}")
    return AccountConfig(**kwargs)


# -- generic, type-driven field conversion ----------------------------------------------------


def _convert_fields(
    cls: type,
    table: Mapping[str, Any],
    prefix: str,
    *,
    only: set[str] | frozenset[str] | None = None,
    exclude: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    allowed = (only if only is not None else _fields(cls)) - exclude
    out: dict[str, Any] = {}
    for key, value in table.items():
        if key not in allowed:
            raise ConfigError(f"unknown key '{prefix}{key}'")
        out[key] = _convert(value, hints[key], f"{prefix}{key}", secret=key in _SECRET_FIELDS)
    return out


def _convert(value: Any, hint: Any, where: str, *, secret: bool = False) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        return _convert(value, options[0], where, secret=secret)
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false")
        return value
    if hint is int:
        return _int(value, where)
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where} must be a number")
        if not math.isfinite(value):
            raise ConfigError(f"{where} must be a finite number")
        return float(value)
    if hint is str:
        if secret:
            if not isinstance(value, str) or not value:
                raise ConfigError(f"{where} must be a non-empty string")
            return value
        if not _looks_decimal_field(where):
            return _string(value, where)
        return _decimal_text(value, where, allow_negative=where.endswith("_fee"))
    if origin is Mapping or hint is Mapping:
        table = _table(value, where)
        return {_string(k, where): _decimal_text(v, f"{where}.{k}") for k, v in table.items()}
    raise ConfigError(f"{where}: unsupported setting type {hint!r}")


def _looks_decimal_field(where: str) -> bool:
    name = where.rsplit(".", 1)[-1]
    textual = {"symbol", "base_asset", "quote_asset", "host", "log_level", "alias"}
    return name not in textual


def _decimal_text(value: Any, where: str, *, allow_negative: bool = False) -> str:
    if isinstance(value, float):
        raise ConfigError(f'{where} must be a string like "0.1" (a float is not exact)')
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ConfigError(f"{where} must be a decimal string")
    text = str(value)
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ConfigError(f"{where} must be a decimal number, got {text!r}") from None
    if not number.is_finite() or (number < 0 and not allow_negative):
        raise ConfigError(f"{where} must be a finite, non-negative decimal, got {text!r}")
    return text


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where} must be a non-empty string")
    return value


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where} must be an integer")
    return value


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} must be a table")
    return dict(value)


def _array(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise ConfigError(f"{where} must be an array of tables ([[{where}]])")
    return value


def _fields(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def _required(f: dataclasses.Field[Any]) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def _check_unique(values: list[str], where: str, key: str) -> None:
    seen: set[str] = set()
    for i, value in enumerate(values):
        if value in seen:
            label = "<hidden>" if key in _SECRET_FIELDS else repr(value)
            raise ConfigError(f"{where}[{i}].{key} {label} is duplicated")
        seen.add(value)
