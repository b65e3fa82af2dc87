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
class OmsMetrics:
    latency: dict[str, LatencyHistogram] = field(
        default_factory=lambda: {s: LatencyHistogram() for s in STAGES}
    )
    actions: dict[str, int] = field(default_factory=dict)  # by kind: new / amend / cancel
    requests: int = 0  # requests sent (a batch counts once)
    actions_saved: int = 0  # versus cancel-all + replace-all
    netted: int = 0
    risk_rejections: dict[str, int] = field(default_factory=dict)
    api_errors: dict[str, int] = field(default_factory=dict)  # by kind or code
    reconciliations: int = 0
    reconciliation_differences: int = 0
    stream_gaps: int = 0
    unknown_outcomes: int = 0
    fills_backfilled: int = 0  # fills the stream lost, recovered from the venue's trade list
    cancel_races: int = 0  # cancels answered "unknown order": the order had already ended

    def count(self, table: dict[str, int], key: str, n: int = 1) -> None:
        table[key] = table.get(key, 0) + n
