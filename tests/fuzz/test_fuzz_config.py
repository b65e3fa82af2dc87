"""Fuzz the TOML configuration loaders: ``mmoms run`` (:mod:`mmoms.app.config`) and the
simulator's (:mod:`mmoms.sim.config`).

Starting from the shipped example (and the simulator's test config), values are replaced by
wrong types, huge / negative numbers, odd strings, nested arrays and tables, keys are dropped,
unknown keys added. Property: the loader returns a configuration or raises its
``ConfigError`` naming the key — never another exception — and the message never shows the
PostgreSQL DSN (it may hold a password).

Found by this suite and fixed (regression tests at the end): a non-UTF-8 file and deeply nested
arrays used to escape as ``UnicodeDecodeError`` / ``RecursionError`` with a traceback, and
``nan`` / ``inf`` floats were accepted for durations and ratios.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import math
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmoms.app.config import ConfigError, RunConfig, load_config, parse_config
from mmoms.sim.config import ConfigError as SimConfigError
from mmoms.sim.config import SimSettings, load_settings, parse_settings
from tests.fuzz.mutate import fuzz_settings

ROOT = Path(__file__).resolve().parents[2]
APP_DOC = tomllib.loads((ROOT / "examples" / "sim.toml").read_text())
SECRET_DSN = "postgresql://mm:HUNTER2-dsn-password@127.0.0.1/mm"
SIM_DOC = tomllib.loads(
    """
seed = 7
step_ms = 50
[server]
host = "127.0.0.1"
port = 0
tick_ms = 10
[rate_limits]
request_weight_per_minute = 100
[fees]
maker = "-0.0001"
taker = "0.0004"
[[accounts]]
api_key = "k1"
api_secret = "s1"
balances = { USDC = "5000" }
[[symbols]]
symbol = "BTCUSDC"
tick_size = "0.10"
[symbols.market]
volatility_ticks = 1.5
"""
)
HOSTILE_VALUES: list[Any] = [
    0, -1, 1, 2**63 - 1, -(2**63), 10**30, 0.1, -0.0, 1e300, True, False, "", " ", "x",
    "0.1", "-1", "1e999", "NaN", "Infinity", "BTCUSDC\n", "btcusdc", "\u00b2", "9" * 5000,
    "A" * 10_000, "sim", "ws", "rest", "binance", [], [1, "a"], [[[]]], {}, {"a": 1},
    {"size": "0.1"}, datetime.date(2024, 1, 1), datetime.time(1, 2), math.nan, math.inf,
    -math.inf,
]  # fmt: skip
EXTRA_KEYS = ["max_positon", "size", "kind", "BTCUSDC", "ETHUSDC", "XRPUSDC", "", "é", "a.b"]


def _paths(doc: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path] if path else []
    if isinstance(doc, dict):
        for key, value in doc.items():
            out += _paths(value, (*path, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            out += _paths(value, (*path, index))
    return out


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(doc)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(("replace", "replace", "drop", "add")))
        if action == "drop":
            del parent[path[-1]]
        elif action == "replace":
            parent[path[-1]] = copy.deepcopy(draw(st.sampled_from(HOSTILE_VALUES)))
        elif isinstance(parent[path[-1]], dict):
            parent[path[-1]][draw(st.sampled_from(EXTRA_KEYS))] = copy.deepcopy(
                draw(st.sampled_from(HOSTILE_VALUES))
            )
    return doc


def _finite_floats(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    fields = getattr(value, "__dataclass_fields__", None)
    if fields is not None:
        return all(_finite_floats(getattr(value, name)) for name in fields)
    if isinstance(value, dict):
        return all(_finite_floats(v) for v in value.values())
    if isinstance(value, list | tuple):
        return all(_finite_floats(v) for v in value)
    return True


@fuzz_settings(400)
@given(doc=mutated(APP_DOC), with_dsn=st.booleans())
def test_run_config_documents(doc: dict[str, Any], with_dsn: bool) -> None:
    journal = doc.get("journal")
    if with_dsn and isinstance(journal, dict) and "sqlite_path" not in journal:
        journal["postgres_dsn"] = SECRET_DSN
    try:
        config = parse_config(doc)
    except ConfigError as exc:
        message = str(exc)
    else:
        assert isinstance(config, RunConfig)
        assert _finite_floats(config)
        return
    assert "HUNTER2" not in message
    assert message.strip()


@fuzz_settings(300)
@given(doc=mutated(SIM_DOC))
def test_sim_config_documents(doc: dict[str, Any]) -> None:
    try:
        settings = parse_settings(doc)
    except SimConfigError as exc:
        message = str(exc)
    else:
        assert isinstance(settings, SimSettings)
        return
    assert message.strip()


def _load(text: bytes, loader: Any) -> Any:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.toml"
        path.write_bytes(text)
        return loader(path)


@fuzz_settings(200)
@given(
    cut=st.integers(0, 5000),
    junk=st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=20),
)
def test_damaged_files_are_config_errors(cut: int, junk: str) -> None:
    """The example file cut anywhere with junk appended (valid UTF-8, shallow)."""
    text = (ROOT / "examples" / "sim.toml").read_text()
    damaged = (text[:cut] + junk).encode()
    with contextlib.suppress(ConfigError):  # anything else fails the test
        _load(damaged, load_config)
    with contextlib.suppress(SimConfigError):
        _load(damaged, load_settings)


# -- found by this suite and fixed in the loaders: regression tests ----

_EXAMPLE = (ROOT / "examples" / "sim.toml").read_bytes()


def test_a_non_utf8_run_config_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        _load(_EXAMPLE + b"\n# \xff\n", load_config)


def test_a_deeply_nested_run_config_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        _load(_EXAMPLE + b"\nzz = " + b"[" * 5000 + b"]" * 5000 + b"\n", load_config)


def test_a_nan_duration_is_refused() -> None:
    doc = copy.deepcopy(APP_DOC)
    doc["venue"]["request_timeout_s"] = float("nan")
    with pytest.raises(ConfigError):
        parse_config(doc)


def test_a_non_utf8_sim_config_is_a_config_error() -> None:
    with pytest.raises(SimConfigError):
        _load(b"seed = 1\n# \xff\n", load_settings)


def test_a_deeply_nested_sim_config_is_a_config_error() -> None:
    with pytest.raises(SimConfigError):
        _load(b"zz = " + b"[" * 5000 + b"]" * 5000 + b"\n", load_settings)
