"""Reading one TOML table with errors that name ``[table] key``: the toolkit every section of
the run configuration (:mod:`mmoms.app.config`) is read with.

Typed getters refuse what does not fit (a float where money is expected: ``0.1`` cannot be held
exactly), and :meth:`Table.finish` refuses every key nobody asked for, with the closest known
key suggested: silently ignoring ``max_positon`` would run with no position limit.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["REQUIRED", "SYMBOL", "ConfigError", "Table"]

SYMBOL = re.compile(r"^[A-Z0-9]{2,30}$")
REQUIRED = object()  # "no default": the key is required


class ConfigError(ValueError):
    """A configuration problem; the message names the key at fault (never a secret)."""


def _type_name(value: object) -> str:
    return {bool: "boolean", int: "integer", float: "float", str: "string", dict: "table"}.get(
        type(value), type(value).__name__
    )


class Table:
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
        if default is REQUIRED:
            raise self.error(key, "missing (required)")
        return default

    def table(self, key: str, *, required: bool = False) -> Table:
        label = f"{self.label}.{key}" if self.label else key
        if required and key not in self.data:
            raise ConfigError(f"[{label}]: missing section (required)")
        self._sections.add(key)
        value = self._get(key, {})
        if not isinstance(value, Mapping):
            raise self.error(key, f"expected a table [{label}], got {_type_name(value)}")
        return Table(value, label)

    def symbol_table(self, key: str) -> Table:
        """A per-symbol sub-table; a name that is no symbol is an unknown section."""
        label = f"{self.label}.{key}"
        if not SYMBOL.match(key):
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

    def string(self, key: str, default: object = REQUIRED, *, secret: bool = False) -> str:
        value = self._get(key, default)
        if not isinstance(value, str):
            shown = "" if secret else f" {value!r}"
            raise self.error(key, f"expected a string, got{shown} ({_type_name(value)})")
        return value

    def choice(self, key: str, options: list[str], default: object = REQUIRED) -> str:
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

    def boolean(self, key: str, default: object = REQUIRED) -> bool:
        value = self._get(key, default)
        if not isinstance(value, bool):
            raise self.error(key, f"expected true or false, got {value!r} ({_type_name(value)})")
        return value

    def integer(
        self,
        key: str,
        default: object = REQUIRED,
        *,
        low: int | None = None,
        high: int | None = None,
    ) -> int:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"expected an integer, got {value!r} ({_type_name(value)})")
        self._bounds(key, value, low, high)
        return value

    def number(
        self,
        key: str,
        default: object = REQUIRED,
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
        default: object = REQUIRED,
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
