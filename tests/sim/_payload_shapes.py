"""Shapes of JSON payloads, their differences, and the simulator's list of deliberate exceptions.

A payload's shape is the set of ``(path, JSON type)`` of every value in it: ``o.q`` for a key in
a nested object, ``[]`` for the items of an array (all items' shapes together), ``[3]`` for a
position in an array of scalars of mixed types (a kline), and ``filters[PRICE_FILTER]`` for the
items of an array of filters, told apart by ``filterType``. An empty array is ``empty``: nothing
under it is compared (one side's example cannot say what its items look like).

The exceptions are read from :mod:`mmoms.sim`'s module docstring, one bullet each::

    * ``<payload ids>`` ``<paths>`` <missing|extra|type|unserved>:
      <reason, may continue on indented lines>

where ids and paths are comma-separated patterns in which ``*`` matches anything.

``missing``: the real payload has the path and the simulator's has not; ``extra``: the other way
round; ``type``: both have it with different JSON types; ``unserved``: the simulator produces no
payload of this kind (path ``-``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tests.venues.real_payloads import entries

import mmoms.sim

DIFF_KINDS = ("missing", "extra", "type", "unserved")

Shape = set[tuple[str, str]]


def load_payloads() -> dict[str, dict[str, Any]]:
    """Every real payload by id (the file's lines: id, kind, tier, source, payload)."""
    return dict(entries())  # the one loader of the file, shared with the gateway's tests


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    raise TypeError(f"not a JSON value: {value!r}")


def shape(value: Any, path: str = "") -> Shape:
    out: Shape = set()
    if path:
        out.add((path, json_type(value)))
    if isinstance(value, dict):
        for key, item in value.items():
            out |= shape(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        scalars = [json_type(v) for v in value if not isinstance(v, dict | list)]
        if not value:
            out.add((f"{path}[]", "empty"))
        elif len(scalars) == len(value) and len(set(scalars)) > 1:
            for index, item in enumerate(value):  # positional, like a kline
                out.add((f"{path}[{index}]", json_type(item)))
        else:
            for item in value:
                tag = item.get("filterType", "") if isinstance(item, dict) else ""
                out |= shape(item, f"{path}[{tag}]")
    return out


@dataclass(frozen=True)
class Difference:
    path: str
    kind: str  # missing | extra | type
    detail: str


def differences(real: Any, simulated: Any) -> list[Difference]:
    """How ``simulated`` differs from ``real`` in keys and JSON types, path by path."""
    a, b = shape(real), shape(simulated)
    empty = {p[: -len("[]")] for p, t in a | b if t == "empty"}

    def hidden(path: str) -> bool:  # under an array one side has no item of
        return any(path.startswith(f"{e}[") for e in empty)

    types_a: dict[str, set[str]] = {}
    types_b: dict[str, set[str]] = {}
    for p, t in a:
        types_a.setdefault(p, set()).add(t)
    for p, t in b:
        types_b.setdefault(p, set()).add(t)
    out: list[Difference] = []
    for path in sorted(set(types_a) | set(types_b)):
        if hidden(path):
            continue
        ta, tb = types_a.get(path), types_b.get(path)
        if tb is None:
            out.append(Difference(path, "missing", f"real {sorted(ta or ())}"))
        elif ta is None:
            out.append(Difference(path, "extra", f"simulator {sorted(tb)}"))
        elif ta != tb:
            out.append(Difference(path, "type", f"real {sorted(ta)}, simulator {sorted(tb)}"))
    return out


def _glob(pattern: str, text: str) -> bool:
    """``*`` matches anything; every other character (``[`` included) only itself."""
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, text) is not None


@dataclass(frozen=True)
class Deliberate:
    ids: tuple[str, ...]
    paths: tuple[str, ...]
    kind: str
    reason: str

    def covers(self, payload_id: str, diff: Difference | None) -> bool:
        if not any(_glob(i, payload_id) for i in self.ids):
            return False
        if diff is None:
            return self.kind == "unserved"
        return self.kind == diff.kind and any(_glob(p, diff.path) for p in self.paths)


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


_BULLET = re.compile(r"^\* ``([^`]+)`` ``([^`]+)`` (missing|extra|type|unserved): (.+)$")


def deliberate_exceptions() -> list[Deliberate]:
    """The bullets of the simulator's docstring section on real payloads."""
    bullets: list[str] = []
    for line in (mmoms.sim.__doc__ or "").splitlines():
        if line.startswith("* ``"):
            bullets.append(line)
        elif bullets and line.startswith("  ") and line.strip():
            bullets[-1] += " " + line.strip()
        elif bullets and bullets[-1] != "":
            bullets.append("")  # a bullet ends at the first line that does not continue it
    out: list[Deliberate] = []
    for text in filter(None, bullets):
        match = _BULLET.match(text)
        assert match is not None, f"unreadable exception bullet: {text}"
        ids, paths, kind, reason = match.groups()
        out.append(Deliberate(_split(ids), _split(paths), kind, reason))
    return out
