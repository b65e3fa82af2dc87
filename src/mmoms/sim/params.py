"""Reading request parameters the way Binance does.

Parameters arrive as the raw strings the client sent. An empty value counts as absent (Binance:
"was not sent, was empty/null"). Integers must be plain digits (``-1100`` with the legal-range
pattern otherwise); booleans are ``true``/``false`` in any case (clients send ``"true"`` and
python's ``"True"`` both).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from . import errors
from .api import Params, SimApiError

__all__ = [
    "INT_RANGE",
    "first",
    "json_list",
    "optional",
    "optional_bool",
    "optional_int",
    "required",
    "required_int",
    "stringify",
]

INT_RANGE = "^[0-9]{1,20}$"
_INT = re.compile(r"[0-9]{1,20}")


def optional(params: Params, name: str) -> str | None:
    value = params.get(name)
    return value if value else None


def first(params: Params, *names: str) -> str | None:
    """The first non-empty of several spellings (ccxt sends lowercase batch list names)."""
    for name in names:
        value = params.get(name)
        if value:
            return value
    return None


def required(params: Params, name: str) -> str:
    """Raises ``SimApiError`` -1102 when the parameter is absent or empty."""
    value = params.get(name)
    if not value:
        raise errors.mandatory(name)
    return value


def parse_int(name: str, text: str) -> int:
    """Raises ``SimApiError`` -1100 unless ``text`` is 1-20 decimal digits."""
    if _INT.fullmatch(text) is None:
        raise errors.illegal_chars(name, INT_RANGE)
    return int(text)


def optional_int(params: Params, name: str) -> int | None:
    value = optional(params, name)
    return None if value is None else parse_int(name, value)


def required_int(params: Params, name: str) -> int:
    return parse_int(name, required(params, name))


def parse_bool(name: str, text: str) -> bool:
    lowered = text.lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    raise errors.invalid_param(name)


def optional_bool(params: Params, name: str, default: bool = False) -> bool:
    value = optional(params, name)
    return default if value is None else parse_bool(name, value)


def stringify(value: Any) -> str:
    """A JSON value from a batch item as the string a form parameter would have been."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def json_list(name: str, text: str) -> list[Any]:
    """Parse a JSON array parameter (``batchOrders``, ``orderIdList``…); -1130 otherwise."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise errors.invalid_param(name) from exc
    if not isinstance(value, list):
        raise errors.invalid_param(name)
    return value


def item_params(name: str, item: Any) -> Mapping[str, str]:
    """One batch element as string parameters; -1130 when it is not a JSON object."""
    if not isinstance(item, dict):
        raise errors.invalid_param(name)
    return {str(k): stringify(v) for k, v in item.items()}


def error_item(exc: SimApiError) -> dict[str, Any]:
    """A per-item error object inside a batch reply."""
    return {"code": exc.code, "msg": exc.msg}
