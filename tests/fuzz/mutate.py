"""Hypothesis strategies for hostile wire payloads, shared by the fuzz tests.

Three families, mixed by :func:`hostile_json`:

* **byte damage** of a real payload: truncated at any byte, bytes flipped, random bytes
  inserted, a span deleted — what a broken proxy or a cut connection delivers;
* **structure damage**: the payload is decoded, one to three values are replaced by hostile
  JSON tokens (wrong types, NaN / Infinity / ``1e999`` as numbers and as strings, out-of-range
  integers, Unicode digits such as ``"²"`` that ``str.isdigit`` accepts but ``int`` refuses,
  5000-digit numbers, huge strings, lone surrogates, nesting 100 000 deep), keys are dropped or
  unexpected ones added;
* **random JSON** and random bytes.

Settings: :func:`fuzz_settings` gives the default budget; ``MMOMS_SOAK=full`` multiplies it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import msgspec
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

SOAK = os.environ.get("MMOMS_SOAK") == "full"
SOAK_FACTOR = 20

DEEP = 100_000  # far past msgspec's recursion limit
_PLACEHOLDER = "\x00fuzz-slot-{}\x00"

HOSTILE_TOKENS: tuple[bytes, ...] = (
    b"null",
    b"true",
    b"false",
    b"0",
    b"-1",
    b"-5",
    b"0.1",
    b"1.5e300",
    b"NaN",
    b"Infinity",
    b"1e999",
    b"-1e999",
    b"9223372036854775807",
    b"9223372036854775808",
    b"18446744073709551616",
    b"-9223372036854775809",
    b"123456789012345678901234567890",
    b"9" * 5000,
    b'""',
    b'" "',
    b'"NaN"',
    b'"nan"',
    b'"sNaN"',
    b'"Infinity"',
    b'"-Infinity"',
    b'"1e999"',
    b'"1e-999999999"',
    b'"1e999999999"',
    b'"-0"',
    b'"1_000"',
    b'" 1 "',
    b'"0x10"',
    b'"--5"',
    b'"\xc2\xb2"',  # "²": isdigit() but not int()
    b'"-\xc2\xb2"',
    b'"\xd9\xa3"',  # ARABIC-INDIC DIGIT THREE
    b'"' + b"9" * 5000 + b'"',
    b'"' + b"A" * 100_000 + b'"',
    b'"\\ud800"',  # an escaped lone surrogate: valid JSON, not valid UTF-8
    b'"\\u0000"',
    b'"None"',
    b'"BUY"',
    b'"LONG"',
    b'"FILLED"',
    b'"TRADE"',
    b"[]",
    b"{}",
    b'{"code":-1021,"msg":"x"}',
    b"[" * 64 + b"]" * 64,
    b"[" * DEEP + b"]" * DEEP,
    b'{"a":' * 2000 + b"1" + b"}" * 2000,
)

_EXTRA_KEYS = ("e", "E", "T", "o", "code", "msg", "listenKey", "result", "error", "id", "zz")


def fuzz_settings(examples: int) -> settings:
    """``examples`` per test by default; ``MMOMS_SOAK=full`` runs many more."""
    return settings(
        max_examples=examples * SOAK_FACTOR if SOAK else examples,
        deadline=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
            HealthCheck.function_scoped_fixture,
        ],
    )


def _slots(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside ``value`` (the root included)."""
    out = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _slots(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _slots(item, (*path, index))
    return out


def _parent(root: Any, path: tuple[Any, ...]) -> Any:
    for step in path[:-1]:
        root = root[step]
    return root


@st.composite
def structure_damage(draw: st.DrawFn, seeds: Sequence[bytes]) -> bytes:
    """A real payload with one to three values replaced, dropped or added."""
    doc = msgspec.json.decode(draw(st.sampled_from(seeds)))
    tokens: list[bytes] = []
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _slots(doc) if p]
        action = draw(st.sampled_from(("replace", "drop", "add"))) if paths else "root"
        if action == "root":
            doc = _PLACEHOLDER.format(len(tokens))
            tokens.append(draw(st.sampled_from(HOSTILE_TOKENS)))
            continue
        path = draw(st.sampled_from(paths))
        parent = _parent(doc, path)
        if action == "drop":
            del parent[path[-1]]
            continue
        slot = _PLACEHOLDER.format(len(tokens))
        tokens.append(draw(st.sampled_from(HOSTILE_TOKENS)))
        if action == "replace":
            parent[path[-1]] = slot
        else:
            target = parent[path[-1]]
            if isinstance(target, dict):
                target[draw(st.sampled_from(_EXTRA_KEYS))] = slot
            elif isinstance(target, list):
                target.append(slot)
            else:
                parent[path[-1]] = slot
    text = msgspec.json.encode(doc)
    for index, token in enumerate(tokens):
        quoted = msgspec.json.encode(_PLACEHOLDER.format(index))
        text = text.replace(quoted, token)
    return text


@st.composite
def byte_damage(draw: st.DrawFn, seeds: Sequence[bytes]) -> bytes:
    """A real payload truncated, with bytes flipped, inserted or deleted."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 3))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(("truncate", "flip", "insert", "delete")))
        if action == "truncate":
            del data[at:]
        elif action == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        else:
            del data[at : at + draw(st.integers(1, 16))]
    return bytes(data)


_json_leaf = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
random_json_value = st.recursive(
    _json_leaf,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)


@st.composite
def keyed_random_json(draw: st.DrawFn, seeds: Sequence[bytes]) -> bytes:
    """An object with the keys of a real payload (its tag kept) and random values."""
    doc = msgspec.json.decode(draw(st.sampled_from(seeds)))
    if not isinstance(doc, dict):
        return msgspec.json.encode(draw(random_json_value))
    keep = {"e"} & doc.keys()
    out = {k: doc[k] if k in keep else draw(random_json_value) for k in doc if draw(st.booleans())}
    return msgspec.json.encode(out)


def _is_json(data: bytes) -> bool:
    try:
        msgspec.json.decode(data)
    except msgspec.DecodeError:
        return False
    return True


def hostile_json(seeds: Sequence[bytes]) -> st.SearchStrategy[bytes]:
    """Everything above, weighted towards damaged real payloads (``seeds`` that are not JSON,
    such as an HTML error page, are only damaged bytewise)."""
    documents = [s for s in seeds if _is_json(s)]
    return st.one_of(
        structure_damage(documents),
        structure_damage(documents),
        byte_damage(seeds),
        keyed_random_json(documents),
        random_json_value.map(msgspec.json.encode),
        st.binary(max_size=64),
        st.sampled_from(seeds),
    )
