"""Fault rules: what can go wrong, where, how often — parsed from JSON, TOML or the command line.

One rule is one JSON object (``POST /admin/faults``, ``--fault JSON``, ``[[faults.rules]]``)::

    {"kind": "http_error", "match": "POST /fapi/v1/order", "variant": "unknown", "count": 1}

Common keys: ``kind``; ``match`` (a glob over REST endpoint keys such as ``"POST /fapi/v1/order"``
or ``"* /fapi/v1/*"``; WebSocket API methods use the key of the REST endpoint they mirror, so one
rule covers both transports); ``target`` (WebSocket kinds: ``user``, ``market``, ``wsapi``,
``all``); ``probability`` (0..1, default 1: every match); ``count`` (fire at most this many
times); ``for_ms`` (active this long after being added, on the simulator's clock).

Kinds and their own keys:

============== =============================================================================
latency        ``latency`` (a distribution, below); ``phase``: ``request`` (default: the request
               reaches the exchange late) or ``response`` (executed at once, reply held back)
http_error     ``variant`` (table :data:`HTTP_VARIANTS`); ``placed_probability`` (default 0.5)
               for the "execution status unknown" variants: a seeded coin decides whether
               the request is executed before the error is returned (log: ``executed``, and
               ``outcome`` = 200 or the error code the client never saw)
rate_limit     429 ``-1003`` with ``Retry-After: retry_after_s`` (default 1) for every match
ban            418 ``-1003`` "IP banned until …" with ``Retry-After`` (use ``for_ms``)
stale_reads    ``window_ms``: an order younger than this answers ``-2013`` to queries (default
               match: ``GET /fapi/v1/order``, ``GET /fapi/v1/openOrder`` and
               ``GET /fapi/v1/algoOrder``)
clock_skew     ``skew_ms``: the server's clock, as seen by timestamp checks and
               ``GET /fapi/v1/time``, runs this far ahead (negative: behind)
ws_latency     ``latency`` added before every outbound frame of ``target`` connections
ws_disconnect  per outbound frame of ``target`` connections, drop the connection; ``mode``:
               ``abort`` (default, no close frame: like a network failure) or ``close`` (1001)
user_event     ``action``: ``drop``, ``duplicate`` or ``reorder``; ``event_types`` (list, default
               all). ``reorder`` holds an event back (at most ``hold_ms``, default 100, of
               simulator time) and lets the next one overtake it, but only where Binance
               makes no promise: a different event type, or an ORDER_TRADE_UPDATE of a
               different order
============== =============================================================================

Latency distributions: a number (fixed ms), ``"uniform:LO:HI"``, ``"exp:MEAN"``,
``"normal:MEAN:SD"`` (clipped at 0). Every rule draws from its own ``random.Random`` seeded with
(fault seed, rule id), so runs repeat exactly for the same sequence of requests.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "HTTP_VARIANTS",
    "KINDS",
    "FaultRule",
    "HttpVariant",
    "Latency",
    "RuleError",
    "parse_rule",
]

KINDS = (
    "latency",
    "http_error",
    "rate_limit",
    "ban",
    "stale_reads",
    "clock_skew",
    "ws_latency",
    "ws_disconnect",
    "user_event",
)
WS_TARGETS = ("user", "market", "wsapi", "all")
STALE_DEFAULT_MATCH = "GET /fapi/v1/order|GET /fapi/v1/openOrder|GET /fapi/v1/algoOrder"


@dataclass(frozen=True, slots=True)
class HttpVariant:
    status: int
    code: int | None  # None: a gateway-style body without "code"
    msg: str
    maybe_executed: bool  # "execution status unknown": a coin decides whether it ran


HTTP_VARIANTS: dict[str, HttpVariant] = {
    # binance-usdm.md §6.1: the documented "unknown" 503 -- the request may have been executed
    "unknown": HttpVariant(
        503, -1000, "Unknown error, please check your request or try again later.", True
    ),
    # the same, in the body shape seen from Binance's gateway (no "code")
    "unknown_nocode": HttpVariant(
        503, None, "Unknown error, please check your request or try again later.", True
    ),
    # -1007: "Send status unknown; execution status unknown."
    "timeout": HttpVariant(
        408,
        -1007,
        "Timeout waiting for response from backend server. Send status unknown; "
        "execution status unknown.",
        True,
    ),
    # the documented "100% failure" 503s: not executed
    "unavailable": HttpVariant(503, -1001, "Service Unavailable.", False),
    "internal": HttpVariant(
        503, -1001, "Internal error; unable to process your request. Please try again.", False
    ),
    "throttled": HttpVariant(
        503,
        -1008,
        "Request throttled by system-level protection. Reduce-only/close-position orders are "
        "exempt. Please try again.",
        False,
    ),
    "server_error": HttpVariant(
        500, -1000, "An unknown error occured while processing the request.", False
    ),
}


class RuleError(ValueError):
    """A rule that cannot be used; the message names the key at fault."""


@dataclass(frozen=True, slots=True)
class Latency:
    dist: str  # fixed / uniform / exp / normal
    a: float
    b: float = 0.0

    @classmethod
    def parse(cls, value: Any, where: str = "latency") -> Latency:
        """``50``, ``"50"``, ``"uniform:5:20"``, ``"exp:20"``, ``"normal:50:10"``."""
        if isinstance(value, bool):
            raise RuleError(f"{where} must be a number or a distribution string")
        if isinstance(value, (int, float)):
            return cls._checked("fixed", float(value), 0.0, where)
        if not isinstance(value, str) or not value:
            raise RuleError(f"{where} must be a number or a distribution string")
        name, *args = value.split(":")
        try:
            numbers = [float(a) for a in args]
        except ValueError:
            raise RuleError(f"{where}: {value!r} has a non-numeric argument") from None
        arity = {"uniform": 2, "exp": 1, "normal": 2}
        if not args:
            try:
                return cls._checked("fixed", float(name), 0.0, where)
            except ValueError:
                raise RuleError(f"{where}: unknown latency {value!r}") from None
        if name not in arity or len(numbers) != arity[name]:
            raise RuleError(
                f"{where}: expected ms, uniform:LO:HI, exp:MEAN or normal:MEAN:SD, got {value!r}"
            )
        return cls._checked(name, numbers[0], numbers[1] if len(numbers) > 1 else 0.0, where)

    @classmethod
    def _checked(cls, dist: str, a: float, b: float, where: str) -> Latency:
        if a < 0 or b < 0 or (dist == "uniform" and b < a):
            raise RuleError(f"{where}: latencies must be non-negative (and LO <= HI)")
        return cls(dist, a, b)

    def sample(self, rng: random.Random) -> float:
        if self.dist == "fixed":
            return self.a
        if self.dist == "uniform":
            return rng.uniform(self.a, self.b)
        if self.dist == "exp":
            return rng.expovariate(1.0 / self.a) if self.a > 0 else 0.0
        return max(0.0, rng.gauss(self.a, self.b))

    def text(self) -> str:
        if self.dist == "fixed":
            return f"{self.a:g}"
        if self.dist == "exp":
            return f"exp:{self.a:g}"
        return f"{self.dist}:{self.a:g}:{self.b:g}"


@dataclass(slots=True)
class FaultRule:
    """One active rule; ``spec`` is what was asked for (echoed by ``GET /admin/faults``)."""

    id: int
    kind: str
    spec: dict[str, Any]
    match: tuple[str, ...] = ("*",)
    target: str = "all"
    probability: float = 1.0
    remaining: int | None = None
    expires_ms: int | None = None
    latency: Latency | None = None
    phase: str = "request"
    variant: HttpVariant | None = None
    placed_probability: float = 0.5
    retry_after_s: int = 1
    window_ms: int = 0
    skew_ms: int = 0
    action: str = ""
    event_types: frozenset[str] | None = None
    hold_ms: int = 100
    mode: str = "abort"
    rng: random.Random = field(default_factory=random.Random)
    fired: int = 0

    def active(self, now_ms: int) -> bool:
        if self.expires_ms is not None and now_ms >= self.expires_ms:
            return False
        return self.remaining is None or self.remaining > 0

    def fires(self, now_ms: int) -> bool:
        """Decide (and count) one occurrence; draws from the rule's own RNG when p < 1."""
        if not self.active(now_ms):
            return False
        if self.probability < 1.0 and self.rng.random() >= self.probability:
            return False
        if self.remaining is not None:
            self.remaining -= 1
        self.fired += 1
        return True

    def view(self) -> dict[str, Any]:
        return {"id": self.id, **self.spec, "fired": self.fired, "remaining": self.remaining}


_COMMON = {"kind", "match", "target", "probability", "count", "for_ms"}
_OWN: dict[str, set[str]] = {
    "latency": {"latency", "phase"},
    "http_error": {"variant", "placed_probability"},
    "rate_limit": {"retry_after_s"},
    "ban": {"retry_after_s"},
    "stale_reads": {"window_ms"},
    "clock_skew": {"skew_ms"},
    "ws_latency": {"latency"},
    "ws_disconnect": {"mode"},
    "user_event": {"action", "event_types", "hold_ms"},
}


def parse_rule(spec: Mapping[str, Any], rule_id: int, seed: int, now_ms: int) -> FaultRule:
    """Validate one rule object; raises :class:`RuleError` naming the offending key."""
    if not isinstance(spec, Mapping):
        raise RuleError("a fault rule must be a JSON object")
    kind = spec.get("kind")
    if kind not in KINDS:
        raise RuleError(f"kind must be one of {', '.join(KINDS)}")
    unknown = set(spec) - _COMMON - _OWN[kind]
    if unknown:
        raise RuleError(f"unknown key(s) for kind {kind}: {', '.join(sorted(unknown))}")
    default_match = STALE_DEFAULT_MATCH if kind == "stale_reads" else "*"
    match = spec.get("match", default_match)
    if not isinstance(match, str) or not match:
        raise RuleError("match must be a non-empty string (globs joined by '|')")
    target = spec.get("target", "all")
    if target not in WS_TARGETS:
        raise RuleError(f"target must be one of {', '.join(WS_TARGETS)}")
    count = _opt_int(spec, "count", minimum=1)
    for_ms = _opt_int(spec, "for_ms", minimum=1)
    rule = FaultRule(
        id=rule_id,
        kind=kind,
        spec=dict(spec),
        match=tuple(part.strip() for part in match.split("|")),
        target=target,
        probability=_fraction(spec, "probability", 1.0),
        remaining=count,
        expires_ms=None if for_ms is None else now_ms + for_ms,
        rng=random.Random(f"fault:{seed}:{rule_id}"),
    )
    if kind in ("latency", "ws_latency"):
        if "latency" not in spec:
            raise RuleError("latency is required")
        rule.latency = Latency.parse(spec["latency"])
        rule.phase = _choice(spec, "phase", ("request", "response"))
    elif kind == "http_error":
        name = spec.get("variant", "unknown")
        if name not in HTTP_VARIANTS:
            raise RuleError(f"variant must be one of {', '.join(HTTP_VARIANTS)}")
        rule.variant = HTTP_VARIANTS[name]
        rule.placed_probability = _fraction(spec, "placed_probability", 0.5)
    elif kind in ("rate_limit", "ban"):
        rule.retry_after_s = _opt_int(spec, "retry_after_s", minimum=0) or (
            1 if kind == "rate_limit" else max(1, -(-(for_ms or 120_000) // 1000))
        )
    elif kind == "stale_reads":
        rule.window_ms = _opt_int(spec, "window_ms", minimum=1) or 0
        if not rule.window_ms:
            raise RuleError("window_ms is required")
    elif kind == "clock_skew":
        skew = spec.get("skew_ms")
        if isinstance(skew, bool) or not isinstance(skew, int):
            raise RuleError("skew_ms must be an integer (ms; negative = behind)")
        rule.skew_ms = skew
    elif kind == "ws_disconnect":
        rule.mode = _choice(spec, "mode", ("abort", "close"))
    elif kind == "user_event":
        rule.action = _choice(spec, "action", ("drop", "duplicate", "reorder"), required=True)
        rule.hold_ms = _opt_int(spec, "hold_ms", minimum=0) or rule.hold_ms
        types = spec.get("event_types")
        if types is not None:
            if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
                raise RuleError("event_types must be a list of event names")
            rule.event_types = frozenset(types)
    return rule


def _opt_int(spec: Mapping[str, Any], key: str, minimum: int) -> int | None:
    value = spec.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise RuleError(f"{key} must be an integer >= {minimum}")
    return value


def _fraction(spec: Mapping[str, Any], key: str, default: float) -> float:
    value = spec.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise RuleError(f"{key} must be a number between 0 and 1")
    return float(value)


def _choice(
    spec: Mapping[str, Any], key: str, options: tuple[str, ...], required: bool = False
) -> str:
    if key not in spec and not required:
        return options[0]
    value = spec.get(key)
    if value not in options:
        raise RuleError(f"{key} must be one of {', '.join(options)}")
    return str(value)
