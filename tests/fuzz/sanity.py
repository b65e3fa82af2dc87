"""What a value a parser hands on must look like: usable downstream without a surprise."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

INT64_MAX = 2**63 - 1


def assert_sane(value: Any, where: str = "$") -> None:
    """Every Decimal is finite, every int fits in int64 (the journal stores them as SQLite
    INTEGERs), every struct field is checked, recursively."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, Decimal):
        assert value.is_finite(), f"{where} is {value}"
    elif isinstance(value, int):
        assert -INT64_MAX - 1 <= value <= INT64_MAX, f"{where} = {value} overflows int64"
    elif isinstance(value, msgspec.Struct):
        for name in value.__struct_fields__:
            assert_sane(getattr(value, name), f"{where}.{name}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            assert_sane(item, f"{where}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            assert_sane(item, f"{where}[{key!r}]")
