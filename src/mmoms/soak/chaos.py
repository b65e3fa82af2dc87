"""The faults the soak injects, as simulator admin requests, and how to count what fired.

An *episode* of one kind is either fault rules with a short life (``for_ms`` on the simulator's
clock, or a ``count``) or one on-demand action (drop the user stream, expire the listenKey).
Parameters are drawn from the run's seeded RNG, so a seed replays the same plan. What really
fired comes from the simulator's fault log (:func:`classify`): a rule armed while the OMS sends
nothing matching fires nothing, and the report says so.

Endpoint globs name what the OMS uses; the orchestrator's own truth reads go through
``/admin/read``, which no fault touches.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FIRED_KINDS", "KINDS", "Episode", "classify", "episode", "fired_enough"]

KINDS = (
    "ws_drop",
    "event_drop",
    "event_duplicate",
    "event_reorder",
    "http_5xx",
    "http_503_unknown",
    "rate_limit_429",
    "clock_skew",
    "listen_key_expiry",
    "stale_reads",
)
# What the fault log can show: the unknown 503 splits by the coin behind it.
FIRED_KINDS = (
    "ws_drop",
    "event_drop",
    "event_duplicate",
    "event_reorder",
    "http_5xx",
    "http_503_placed",
    "http_503_not_placed",
    "rate_limit_429",
    "clock_skew",
    "listen_key_expiry",
    "stale_reads",
)

_WRITES = (
    "POST /fapi/v1/order|POST /fapi/v1/batchOrders|PUT /fapi/v1/order|PUT /fapi/v1/batchOrders"
)
_ALGO = "POST /fapi/v1/algoOrder|DELETE /fapi/v1/algoOrder"
_CANCELS = "DELETE /fapi/v1/order|DELETE /fapi/v1/batchOrders|DELETE /fapi/v1/allOpenOrders"
_READS = (
    "GET /fapi/v1/openOrders|GET /fapi/v3/positionRisk|GET /fapi/v1/order|GET /fapi/v1/userTrades"
)
_SERVER_ERRORS = ("server_error", "internal", "unavailable", "throttled")


@dataclass(frozen=True, slots=True)
class Episode:
    kind: str
    rules: tuple[dict[str, Any], ...] = ()  # POST /admin/faults
    action: str = ""  # "" | "/admin/ws/disconnect" | "/admin/listen-keys/expire"
    body: dict[str, Any] = field(default_factory=dict)


def episode(kind: str, rng: random.Random, api_key: str) -> Episode:
    """One episode of ``kind`` with parameters drawn from ``rng``.

    Raises:
        ValueError: an unknown kind.
    """
    span = rng.randint(3_000, 8_000)  # ms of simulator time
    if kind == "ws_drop":
        mode = rng.choice(("abort", "close"))
        body: dict[str, Any] = {"target": "user", "mode": mode, "apiKey": api_key}
        return Episode(kind, action="/admin/ws/disconnect", body=body)
    if kind == "listen_key_expiry":
        body = {"apiKey": api_key, "announce": rng.random() < 0.7}
        return Episode(kind, action="/admin/listen-keys/expire", body=body)
    if kind in ("event_drop", "event_duplicate", "event_reorder"):
        rule: dict[str, Any] = {
            "kind": "user_event",
            "action": kind.removeprefix("event_"),
            "probability": round(rng.uniform(0.15, 0.4), 3),
            "for_ms": span,
        }
        if kind == "event_reorder":
            rule["hold_ms"] = rng.randint(30, 300)
        return Episode(kind, rules=(rule,))
    if kind == "http_5xx":
        rule = {
            "kind": "http_error",
            "variant": rng.choice(_SERVER_ERRORS),
            "match": f"{_WRITES}|{_CANCELS}|{_ALGO}|{_READS}",
            "probability": round(rng.uniform(0.1, 0.3), 3),
            "for_ms": span,
        }
        return Episode(kind, rules=(rule,))
    if kind == "http_503_unknown":
        rule = {
            "kind": "http_error",
            "variant": rng.choice(("unknown", "unknown_nocode")),
            "match": f"{_WRITES}|{_CANCELS}|{_ALGO}",
            "probability": round(rng.uniform(0.15, 0.35), 3),
            "placed_probability": 0.5,
            "for_ms": span,
        }
        return Episode(kind, rules=(rule,))
    if kind == "rate_limit_429":
        rule = {
            "kind": "rate_limit",
            "match": f"{_WRITES}|{_CANCELS}|{_ALGO}",
            "count": rng.randint(3, 12),
            "retry_after_s": 1,
        }
        return Episode(kind, rules=(rule,))
    if kind == "clock_skew":
        skew = rng.choice((-1, 1)) * rng.randint(1_500, 9_000)
        return Episode(kind, rules=({"kind": "clock_skew", "skew_ms": skew, "for_ms": span},))
    if kind == "stale_reads":
        # A fresh order hidden from queries, and a few placed-but-unanswered new orders so the
        # OMS has to query fresh orders: it must wait out -2013, not conclude "never placed".
        return Episode(
            kind,
            rules=(
                {"kind": "stale_reads", "window_ms": rng.randint(1_000, 3_000), "for_ms": 6_000},
                {
                    "kind": "http_error",
                    "variant": "unknown",
                    "match": "POST /fapi/v1/order|POST /fapi/v1/batchOrders",
                    "placed_probability": 1.0,
                    "count": 3,
                },
            ),
        )
    raise ValueError(f"unknown fault kind {kind!r}")


def fired_enough(kind: str, fired: Mapping[str, int]) -> bool:
    """Has an episode kind shown up in the fault log (both coins, for the unknown 503)?"""
    if kind == "http_503_unknown":
        return fired.get("http_503_placed", 0) > 0 and fired.get("http_503_not_placed", 0) > 0
    return fired.get(kind, 0) > 0


def classify(entry: dict[str, Any]) -> str | None:
    """The report's kind of one fault-log entry; None for entries the soak does not count."""
    kind = entry.get("kind")
    if kind == "ws_disconnect":
        return "ws_drop" if entry.get("target") in ("user", "all") else None
    if kind == "listen_key_expired":
        return "listen_key_expiry"
    if kind in ("user_event_drop", "user_event_duplicate", "user_event_reorder"):
        return "event_" + str(kind).removeprefix("user_event_")
    if kind == "http_error":
        if entry.get("status") == 503 and entry.get("code") in (-1000, None):
            return "http_503_placed" if entry.get("executed") else "http_503_not_placed"
        return "http_5xx"
    if kind == "rate_limit":
        return "rate_limit_429"
    if kind in ("clock_skew", "stale_reads"):
        return str(kind)
    return None
