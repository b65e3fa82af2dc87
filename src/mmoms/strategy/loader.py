"""Finding a strategy class from an entry string, and building it with the config's parameters.

Entries: ``path/to/file.py:ClassName`` (a file anywhere; relative paths from the working
directory) or ``package.module:ClassName`` (importable). The parameters of ``[strategy.params]``
become keyword arguments of the class's constructor, converted by its annotations so a TOML file
can say ``size = "0.002"`` for a ``size: Decimal`` parameter. Money stays exact: a TOML float for
a ``Decimal`` parameter is refused, as everywhere in mmoms. Every problem is a
:class:`StrategyConfigError` naming the entry and the parameter.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
import typing
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import ModuleType, NoneType, UnionType
from typing import Any

from mmoms.core.errors import MmomsError
from mmoms.strategy.base import Strategy

__all__ = [
    "StrategyConfigError",
    "build_strategy",
    "default_strategy_entry",
    "load_strategy_class",
]


class StrategyConfigError(MmomsError, ValueError):
    """A strategy entry that cannot be loaded, or parameters its constructor cannot take."""


def load_strategy_class(entry: str) -> type[Strategy]:
    """The :class:`Strategy` subclass named by ``entry``.

    Raises:
        StrategyConfigError: malformed entry, missing file or module, an import that fails, no
            such class, or a class that is not a Strategy.
    """
    where, sep, name = entry.rpartition(":")
    if not sep or not where or not name.isidentifier():
        raise StrategyConfigError(
            f"strategy entry {entry!r}: expected 'path/to/file.py:ClassName' or "
            "'package.module:ClassName'"
        )
    module = _load_file(where, entry) if where.endswith(".py") else _import(where, entry)
    found = getattr(module, name, None)
    if found is None:
        listed = ", ".join(_strategies_in(module)) or "none"
        raise StrategyConfigError(
            f"strategy entry {entry!r}: no {name!r} in {where} (Strategy classes there: {listed})"
        )
    if not (isinstance(found, type) and issubclass(found, Strategy)):
        raise StrategyConfigError(
            f"strategy entry {entry!r}: {name} is not a subclass of mmoms.Strategy"
        )
    return found


def _load_file(path_text: str, entry: str) -> ModuleType:
    path = Path(path_text)
    if not path.is_file():
        raise StrategyConfigError(f"strategy entry {entry!r}: no file {path_text}")
    module_name = f"mmoms_strategy_{abs(hash(str(path.resolve()))):x}_{path.stem}"
    loaded = sys.modules.get(module_name)
    if loaded is not None:
        return loaded
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise StrategyConfigError(f"strategy entry {entry!r}: cannot load {path_text}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and pickling look a class's module up here
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[module_name]
        raise StrategyConfigError(
            f"strategy entry {entry!r}: importing {path_text} failed: {type(exc).__name__}: {exc}"
        ) from exc
    return module


def _import(module_name: str, entry: str) -> ModuleType:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise StrategyConfigError(f"strategy entry {entry!r}: no module {exc.name!r}") from exc
    except Exception as exc:
        raise StrategyConfigError(
            f"strategy entry {entry!r}: importing {module_name} failed: {type(exc).__name__}: {exc}"
        ) from exc


def _strategies_in(module: ModuleType) -> list[str]:
    return sorted(
        n
        for n, v in vars(module).items()
        if isinstance(v, type) and issubclass(v, Strategy) and v is not Strategy
    )


def build_strategy(cls: type[Strategy], params: Mapping[str, Any], where: str) -> Strategy:
    """``cls(**params)``, each parameter converted by the constructor's annotation.

    ``where`` names the config section in errors (e.g. ``[strategy.params]``).

    Raises:
        StrategyConfigError: an unknown or missing parameter, a value of the wrong type, or the
            constructor raised.
    """
    signature = inspect.signature(cls.__init__)
    accepted = {
        n: p
        for n, p in signature.parameters.items()
        if n != "self" and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
    }
    takes_any = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
    try:
        hints = typing.get_type_hints(cls.__init__)
    except Exception:  # unresolvable annotations: pass values as TOML gave them
        hints = {}
    kwargs: dict[str, Any] = {}
    for key, value in params.items():
        if key not in accepted and not takes_any:
            listed = ", ".join(accepted) or "none"
            raise StrategyConfigError(
                f"{where} {key}: {cls.__name__} takes no such parameter (it takes: {listed})"
            )
        hint = hints.get(key)
        kwargs[key] = value if hint is None else _convert(value, hint, f"{where} {key}")
    missing = [
        n for n, p in accepted.items() if p.default is inspect.Parameter.empty and n not in kwargs
    ]
    if missing:
        raise StrategyConfigError(f"{where}: {cls.__name__} needs {', '.join(missing)}")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise StrategyConfigError(f"{where}: {cls.__name__}(...) refused: {exc}") from exc


def _convert(value: object, hint: object, where: str) -> object:
    """``value`` as ``hint`` asks, for the types a TOML file can carry."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, UnionType):
        if value is None and NoneType in args:
            return None
        errors: list[StrategyConfigError] = []
        for option in (a for a in args if a is not NoneType):
            try:
                return _convert(value, option, where)
            except StrategyConfigError as exc:
                errors.append(exc)
        if len(errors) == 1:  # Optional[X]: X's own complaint says it best
            raise errors[0]
        raise StrategyConfigError(f"{where}: {value!r} fits none of {hint}")
    if hint is Decimal:
        return _decimal(value, where)
    if hint is bool:
        if not isinstance(value, bool):
            raise StrategyConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise StrategyConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise StrategyConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise StrategyConfigError(f"{where}: expected a string, got {value!r}")
        return value
    if origin is not None and isinstance(origin, type) and issubclass(origin, Mapping):
        if not isinstance(value, Mapping):
            raise StrategyConfigError(f"{where}: expected a table, got {value!r}")
        value_hint = args[1] if len(args) == 2 else object
        return {k: _convert(v, value_hint, f"{where}.{k}") for k, v in value.items()}
    if origin is not None and isinstance(origin, type) and issubclass(origin, Sequence):
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise StrategyConfigError(f"{where}: expected a list, got {value!r}")
        item_hint = args[0] if args else object
        items = [_convert(v, item_hint, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    return value  # anything else: as TOML gave it


def _decimal(value: object, where: str) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, str):
        try:
            result = Decimal(value)
        except InvalidOperation:
            raise StrategyConfigError(
                f'{where}: expected a decimal like "0.1", got {value!r}'
            ) from None
        if not result.is_finite():
            raise StrategyConfigError(f"{where}: expected a finite number, got {value!r}")
        return result
    if isinstance(value, float):
        raise StrategyConfigError(
            f'{where}: money is written as a string ("{value}"), not a float: a float cannot '
            "hold it exactly"
        )
    raise StrategyConfigError(f'{where}: expected a decimal like "0.1", got {value!r}')


def default_strategy_entry() -> str:
    """The skewed quoter of ``examples/strategies`` (the demo's strategy), in this source tree."""
    root = Path(__file__).resolve().parents[3]  # src/mmoms/strategy/loader.py -> the checkout
    return f"{root / 'examples' / 'strategies' / 'skewed_quoter.py'}:SkewedQuoter"
