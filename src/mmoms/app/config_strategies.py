"""The strategies of a run configuration: ``[strategy]`` (one) or ``[strategies.ID]`` (several),
each with its entry, id, symbols, error policy, constructor parameters and its own limits.

Each strategy class is loaded while the config is read, so a wrong entry or parameter is a
config error before anything starts. A relative ``file.py:Class`` entry is found from the config
file's directory (``--strategy`` from the working directory). No strategy named: the skewed
quoter of ``examples/strategies`` with its own defaults.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmoms.app.config_table import SYMBOL, ConfigError, Table
from mmoms.core.ids import StrategyId, Symbol
from mmoms.engine.strategy_limits import StrategyLimits
from mmoms.strategy.base import Strategy
from mmoms.strategy.host import ErrorPolicy
from mmoms.strategy.loader import (
    StrategyConfigError,
    build_strategy,
    default_strategy_entry,
    load_strategy_class,
)

__all__ = ["StrategySpec", "parse_strategies"]


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


def parse_strategies(top: Table, override: str | None, base: Path) -> tuple[StrategySpec, ...]:
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


def _strategy(t: Table, key: str | None, override: str | None, base: Path) -> StrategySpec:
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


def _strategy_limits(t: Table, symbols: tuple[Symbol, ...]) -> dict[Symbol, StrategyLimits]:
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


def _symbol_list(t: Table, cls: type[Strategy]) -> tuple[Symbol, ...]:
    raw = t._get("symbols", list(cls.symbols))
    if not isinstance(raw, (list, tuple)) or not all(isinstance(x, str) for x in raw):
        raise t.error("symbols", f'expected a list of symbols like ["BTCUSDC"], got {raw!r}')
    for symbol in raw:
        if not SYMBOL.match(symbol):
            raise t.error("symbols", f"{symbol!r} is not a symbol (like BTCUSDC)")
    if not raw:
        raise t.error(
            "symbols",
            f"{cls.__name__} names no symbols: set symbols = [...] here or in the class",
        )
    return tuple(Symbol(x) for x in dict.fromkeys(raw))
