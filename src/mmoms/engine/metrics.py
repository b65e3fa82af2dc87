"""Latency per stage, kept cheaply in the engine loop.

Stages of one action: intent received → decided (risk + diff, at the window flush) → journaled
(commit done) → on the wire (gateway call started) → acknowledged (reply) → confirmed on the
stream. Each sample is the time since the previous stage; ``total`` is intent → acknowledged.

``protect`` is apart: per bracket / OTOCO, the time from reading the entry's first fill to the
venue acknowledging its protective stop — how long a position stood unprotected (see
:mod:`mmoms.engine.group_watch`).

:class:`LatencyHistogram` keeps samples in log-linear buckets (about 2 % resolution) so memory is
constant and percentiles are cheap; Prometheus export reads the same numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

STAGES = ("decide", "journal", "wire", "ack", "stream", "total", "protect")
_SUB = 32  # buckets per power of two: ~2 % relative error


@dataclass(slots=True)
class LatencyHistogram:
    counts: dict[int, int] = field(default_factory=dict)
    total: int = 0
    max_ns: int = 0

    def record(self, ns: int) -> None:
        ns = max(ns, 1)
        exp = ns.bit_length() - 1
        idx = exp * _SUB + ((ns - (1 << exp)) * _SUB >> exp)
        self.counts[idx] = self.counts.get(idx, 0) + 1
        self.total += 1
        self.max_ns = max(self.max_ns, ns)

    def percentile(self, p: float) -> int:
        """The ``p``-th percentile (0-100) in ns; 0 when empty."""
        if not self.total:
            return 0
        rank = max(math.ceil(self.total * p / 100), 1)
        seen = 0
        for idx in sorted(self.counts):
            seen += self.counts[idx]
            if seen >= rank:
                exp, sub = divmod(idx, _SUB)
                upper = (1 << exp) + (((sub + 1) << exp) // _SUB)
                return min(upper, self.max_ns)
        return self.max_ns


@dataclass(slots=True)
class _Timing:
    intent_ns: int
    decided_ns: int
    journaled_ns: int = 0
    sent_ns: int = 0
    acked_ns: int = 0


class ActionTimings:
    """When each action in flight reached each stage (monotonic ns); the stage samples are
    recorded when the venue acknowledges it, and the stream stage when the stream confirms."""

    __slots__ = ("_latency", "_open")

    def __init__(self, latency: dict[str, LatencyHistogram]) -> None:
        self._latency = latency
        self._open: dict[str, _Timing] = {}

    def start(self, cid: str, intent_ns: int, decided_ns: int) -> None:
        self._open[cid] = _Timing(intent_ns, decided_ns)

    def journaled(self, cid: str, ns: int) -> None:
        t = self._open.get(cid)
        if t is not None:
            t.journaled_ns = ns

    def sent(self, cid: str, ns: int) -> None:
        t = self._open.get(cid)
        if t is not None:
            t.sent_ns = ns

    def acked(self, cid: str, replied_ns: int) -> None:
        t = self._open.get(cid)
        if t is None or t.acked_ns:
            return
        t.acked_ns = replied_ns
        lat = self._latency
        lat["decide"].record(t.decided_ns - t.intent_ns)
        lat["journal"].record(t.journaled_ns - t.decided_ns)
        lat["wire"].record(t.sent_ns - t.journaled_ns)
        lat["ack"].record(replied_ns - t.sent_ns)
        lat["total"].record(replied_ns - t.intent_ns)

    def streamed(self, cid: str, now_ns: int) -> None:
        t = self._open.pop(cid, None)
        if t is not None and t.acked_ns:
            self._latency["stream"].record(now_ns - t.acked_ns)


@dataclass(slots=True)
class OmsMetrics:
    latency: dict[str, LatencyHistogram] = field(
        default_factory=lambda: {s: LatencyHistogram() for s in STAGES}
    )
    actions: dict[str, int] = field(default_factory=dict)  # by kind: new / amend / cancel
    requests: int = 0  # requests sent (a batch counts once)
    actions_saved: int = 0  # versus cancel-all + replace-all
    netted: int = 0
    risk_rejections: dict[str, int] = field(default_factory=dict)  # journaled and told, by check
    rejections_repeated: dict[str, int] = field(default_factory=dict)  # quotes: not told again
    quotes_deferred: int = 0  # quote actions a window could not pay for: sent when budget returns
    api_errors: dict[str, int] = field(default_factory=dict)  # by kind or code
    reconciliations: int = 0
    reconciliation_differences: int = 0
    stream_gaps: int = 0
    unknown_outcomes: int = 0
    fills_backfilled: int = 0  # fills the stream lost, recovered from the venue's trade list
    cancel_races: int = 0  # cancels answered "unknown order": the order had already ended

    def count(self, table: dict[str, int], key: str, n: int = 1) -> None:
        table[key] = table.get(key, 0) + n
