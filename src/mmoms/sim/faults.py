"""Fault injection, sans-I/O: active rules, the decisions they make, and the log of what fired.

The transport asks; this module decides and records:

* :meth:`FaultInjector.plan_request` — for one REST request or WebSocket API call: latency before
  and after execution, a refusal (5xx, 429, 418) or an error *after* executing (the "unknown"
  503 whose seeded coin came up "placed").
* :meth:`FaultInjector.hide_fresh` — eventual consistency: an order younger than the window
  answers ``-2013``.
* :meth:`FaultInjector.ws_frame` / :meth:`FaultInjector.user_event` — per outbound WebSocket
  frame (latency, random disconnect) and per user-data event (drop, duplicate, reorder).
* :meth:`FaultInjector.skew_ms` — clock skew for timestamp checks and ``GET /fapi/v1/time``.

Every fault that fires (and every on-demand action, :meth:`record`) is appended to the log with a
sequence number, so a test can line up what its client saw with what was injected
(``GET /admin/faults/log?since=N``). Rules are documented in :mod:`mmoms.sim.fault_rules`.
"""

from __future__ import annotations

import fnmatch
import logging
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mmoms.sim.api import SimApiError
from mmoms.sim.fault_rules import FaultRule, HttpVariant, parse_rule
from mmoms.sim.ratelimit import RateLimitError

__all__ = ["FaultError", "FaultInjector", "RequestPlan"]

log = logging.getLogger(__name__)

_REQUEST_KINDS = frozenset({"latency", "http_error", "rate_limit", "ban"})
_WS_KINDS = frozenset({"ws_latency", "ws_disconnect"})
_LOG_LIMIT = 100_000


class FaultError(SimApiError):
    """An injected server-side error; ``code`` None renders a body without ``code``."""

    def __init__(self, variant: HttpVariant, path: str, now_ms: int) -> None:
        super().__init__(variant.status, variant.code or 0, variant.msg)
        self._no_code = variant.code is None
        self._path, self._now = path, now_ms

    def body(self) -> dict[str, Any]:
        if self._no_code:
            return {"timestamp": self._now, "path": self._path, "msg": self.msg}
        return super().body()


@dataclass(slots=True)
class RequestPlan:
    """What the transport must do around one request."""

    delay_before_ms: float = 0.0
    delay_after_ms: float = 0.0
    refuse: SimApiError | None = None  # reply with this, do not execute
    fail_after: SimApiError | None = None  # execute, then reply with this instead
    fail_seq: int = 0  # the log entry of fail_after (its outcome is added after executing)


class FaultInjector:
    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self._rules: dict[int, FaultRule] = {}
        self._next_id = 1
        self._seq = 0
        self._log: deque[dict[str, Any]] = deque(maxlen=_LOG_LIMIT)

    # -- rules ------------------------------------------------------------------------------

    def add(self, specs: Iterable[Mapping[str, Any]], now_ms: int) -> list[FaultRule]:
        """Validate all, then activate all; raises ``RuleError`` (nothing added) on a bad one."""
        rules = []
        for offset, spec in enumerate(specs):
            rules.append(parse_rule(spec, self._next_id + offset, self.seed, now_ms))
        for rule in rules:
            self._rules[rule.id] = rule
            self._next_id = rule.id + 1
            if rule.kind == "clock_skew":
                self.record("clock_skew", now_ms, rule=rule.id, skew_ms=rule.skew_ms)
        return rules

    def remove(self, rule_id: int) -> bool:
        return self._rules.pop(rule_id, None) is not None

    def clear(self) -> None:
        self._rules.clear()

    def rules(self) -> list[dict[str, Any]]:
        return [rule.view() for rule in self._rules.values()]

    @property
    def has_ws_rules(self) -> bool:
        return any(r.kind in _WS_KINDS for r in self._rules.values())

    @property
    def has_user_event_rules(self) -> bool:
        return any(r.kind == "user_event" for r in self._rules.values())

    # -- the log ----------------------------------------------------------------------------

    def record(self, kind: str, now_ms: int, **detail: Any) -> int:
        """Append one log entry; returns its sequence number (1, 2, ...)."""
        self._seq += 1
        entry = {"seq": self._seq, "time": now_ms, "kind": kind, **detail}
        self._log.append(entry)
        # Per-frame and per-request latency can fire thousands of times: keep those quiet.
        level = logging.DEBUG if kind.endswith("latency") else logging.INFO
        log.log(level, "fault %d: %s %s", self._seq, kind, detail)
        return self._seq

    def note_outcome(self, seq: int, outcome: int) -> None:
        """Add to entry ``seq`` what the executed request really did: 200 or the error code
        the client never saw (e.g. the order was refused for margin behind the 503)."""
        for entry in reversed(self._log):
            if entry["seq"] == seq:
                entry["outcome"] = outcome
                return

    def entries(self, since: int = 0) -> list[dict[str, Any]]:
        """Log entries with ``seq > since``, oldest first."""
        return [dict(e) for e in self._log if e["seq"] > since]

    @property
    def last_seq(self) -> int:
        return self._seq

    # -- decisions --------------------------------------------------------------------------

    def _matching(self, kinds: frozenset[str], key: str) -> list[FaultRule]:
        return [
            rule
            for rule in self._rules.values()
            if rule.kind in kinds and any(fnmatch.fnmatchcase(key, p) for p in rule.match)
        ]

    def plan_request(self, key: str, path: str, now_ms: int, via: str) -> RequestPlan | None:
        """Decide the faults for one call of endpoint ``key`` (``via``: ``rest`` or ``wsapi``)."""
        if not self._rules:
            return None
        plan: RequestPlan | None = None
        for rule in self._matching(_REQUEST_KINDS, key):
            if plan is not None and plan.refuse is not None:
                break
            if not rule.fires(now_ms):
                continue
            plan = plan or RequestPlan()
            where = {"rule": rule.id, "endpoint": key, "via": via}
            if rule.kind == "latency":
                assert rule.latency is not None
                ms = round(rule.latency.sample(rule.rng), 3)
                if rule.phase == "request":
                    plan.delay_before_ms += ms
                else:
                    plan.delay_after_ms += ms
                self.record("latency", now_ms, **where, phase=rule.phase, ms=ms)
            elif rule.kind == "http_error":
                variant = rule.variant
                assert variant is not None
                error = FaultError(variant, path, now_ms)
                executed = variant.maybe_executed and rule.rng.random() < rule.placed_probability
                if executed:
                    plan.fail_after = error
                else:
                    plan.refuse = error
                seq = self.record(
                    "http_error",
                    now_ms,
                    **where,
                    status=variant.status,
                    code=variant.code,
                    msg=variant.msg,
                    executed=executed,
                )
                if executed:
                    plan.fail_seq = seq
            else:
                plan.refuse = self._limit_error(rule, now_ms)
                self.record(rule.kind, now_ms, **where, status=plan.refuse.http_status)
        return plan

    @staticmethod
    def _limit_error(rule: FaultRule, now_ms: int) -> RateLimitError:
        if rule.kind == "rate_limit":
            return RateLimitError(
                429,
                -1003,
                "Too many requests; please use the websocket for live updates.",
                rule.retry_after_s,
            )
        until = rule.expires_ms if rule.expires_ms is not None else now_ms + 120_000
        return RateLimitError(
            418,
            -1003,
            f"Way too many requests; IP banned until {until}. Please use the websocket for "
            "live updates to avoid bans.",
            rule.retry_after_s,
        )

    def hide_fresh(self, key: str, body: Any, now_ms: int, via: str) -> bool:
        """True when a query reply for an order younger than a stale_reads window must be
        replaced by ``-2013`` (the order "is not there yet")."""
        if not self._rules or not isinstance(body, dict):
            return False
        created = body.get("time", body.get("createTime"))
        if not isinstance(created, int):
            return False
        for rule in self._matching(frozenset({"stale_reads"}), key):
            if now_ms - created < rule.window_ms and rule.fires(now_ms):
                order = body.get("orderId", body.get("algoId"))
                self.record("stale_reads", now_ms, rule=rule.id, endpoint=key, via=via, order=order)
                return True
        return False

    def skew_ms(self, now_ms: int) -> int:
        return sum(
            r.skew_ms for r in self._rules.values() if r.kind == "clock_skew" and r.active(now_ms)
        )

    def ws_frame(self, kind: str, conn_id: int, now_ms: int) -> tuple[float, str | None]:
        """(latency ms, disconnect mode or None) for one outbound frame of a ``kind``
        connection (``user``, ``market`` or ``wsapi``)."""
        delay, disconnect = 0.0, None
        for rule in list(self._rules.values()):
            if rule.kind not in _WS_KINDS or rule.target not in (kind, "all"):
                continue
            if not rule.fires(now_ms):
                continue
            if rule.kind == "ws_latency":
                assert rule.latency is not None
                ms = round(rule.latency.sample(rule.rng), 3)
                delay += ms
                self.record("ws_latency", now_ms, rule=rule.id, target=kind, conn=conn_id, ms=ms)
            else:
                disconnect = rule.mode
                self.record(
                    "ws_disconnect", now_ms, rule=rule.id, target=kind, conn=conn_id, mode=rule.mode
                )
                break
        return delay, disconnect

    def user_event(
        self, conn_id: int, event: Mapping[str, Any], now_ms: int
    ) -> tuple[str, int] | None:
        """(``drop`` / ``duplicate`` / ``reorder``, hold ms) or None for one user-data event on
        one connection. The caller logs reorders once it knows whether one happened."""
        event_type = event.get("e")
        for rule in list(self._rules.values()):
            if rule.kind != "user_event":
                continue
            if rule.event_types is not None and event_type not in rule.event_types:
                continue
            if rule.fires(now_ms):
                if rule.action != "reorder":
                    self.record(
                        f"user_event_{rule.action}",
                        now_ms,
                        rule=rule.id,
                        conn=conn_id,
                        event=event_type,
                        order=_order_id(event),
                    )
                return rule.action, rule.hold_ms
        return None


def _order_id(event: Mapping[str, Any]) -> Any:
    inner = event.get("o")
    return inner.get("i", inner.get("aid")) if isinstance(inner, Mapping) else None
