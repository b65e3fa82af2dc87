"""The soak's result and its closing table.

:class:`SoakResult` collects what the orchestrator saw and what the journal audit found;
:func:`render` prints it as a plain two-column table (stable to read for people and for the
tests that parse it); :func:`to_json` writes the same facts for machines (``--report-json``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, fields
from typing import Any

import msgspec

from mmoms.soak.chaos import FIRED_KINDS, KINDS
from mmoms.soak.views import Breach

__all__ = ["SoakResult", "render", "to_json"]


@dataclass
class SoakResult:
    seed: int
    planned_s: float
    elapsed_s: float = 0.0
    frozen_s: float = 0.0  # the exchange's clock stood still for checkpoints this long
    actions: Counter[str] = field(default_factory=Counter)  # commands sent, by type
    fills: int = 0
    groups: Counter[str] = field(default_factory=Counter)  # placed, by kind
    overfills: int = 0  # groups with fills beyond the design (detected, flattened)
    flatten_failed: int = 0
    faults_armed: Counter[str] = field(default_factory=Counter)  # episodes, by kind
    faults_fired: Counter[str] = field(default_factory=Counter)  # simulator's log, by kind
    kills: int = 0
    failpoint_kills: int = 0  # of the kills: an engine failpoint armed by the soak fired
    restarts: int = 0
    worst_restart_s: float = 0.0  # kill -9 -> the new process reconciled and trades
    reconciliations: int = 0
    differences: int = 0
    checkpoints: int = 0
    worst_converge_rounds: int = 0
    checks: int = 0
    breaches: list[Breach] = field(default_factory=list)
    reconnects: int = 0
    worst_reconnect_s: float = 0.0
    worst_unprotected_s: float = 0.0
    worst_unprotected_group: str = ""
    engine_worst_unprotected_s: float = 0.0  # the engine's own account (group_stats)
    anomalies: int = 0
    workdir: str = ""

    @property
    def actions_total(self) -> int:
        return sum(self.actions.values())


def render(r: SoakResult) -> str:
    trading_s = r.elapsed_s - r.frozen_s
    rows: list[tuple[str, str]] = [
        ("seed", str(r.seed)),
        ("duration", f"{r.elapsed_s:.0f} s (planned {r.planned_s:.0f}, frozen {r.frozen_s:.0f})"),
        (
            "actions",
            f"{r.actions_total} ({_rate(r.actions_total, trading_s)}/s) {_counts(r.actions)}",
        ),
        ("fills", str(r.fills)),
        ("groups placed", f"{sum(r.groups.values())} {_counts(r.groups)}"),
        ("overfills flattened", f"{r.overfills} (flatten failed: {r.flatten_failed})"),
    ]
    for kind in KINDS:
        fired = (
            f"{r.faults_fired['http_503_placed']} placed + "
            f"{r.faults_fired['http_503_not_placed']} not placed"
            if kind == "http_503_unknown"
            else str(r.faults_fired[kind])
        )
        rows.append((f"fault {kind}", f"{r.faults_armed[kind]} episodes, fired {fired}"))
    restart = (
        f"{r.failpoint_kills} at engine failpoints; restarts {r.restarts}, "
        f"worst restart {r.worst_restart_s:.2f} s"
    )
    unprotected = (
        f"{r.worst_unprotected_s:.3f} s {r.worst_unprotected_group} "
        f"(engine's count: {r.engine_worst_unprotected_s:.3f} s)"
    )
    rows += [
        ("kills (kill -9)", f"{r.kills} ({restart})"),
        ("reconciliations", f"{r.reconciliations} (differences found {r.differences})"),
        ("checkpoints", f"{r.checkpoints} (worst convergence {r.worst_converge_rounds} rounds)"),
        ("invariant checks", str(r.checks)),
        ("breaches", str(len(r.breaches))),
        ("worst reconnect", f"{r.worst_reconnect_s:.3f} s ({r.reconnects} reconnects)"),
        ("worst unprotected", unprotected),
        ("book anomalies", str(r.anomalies)),
    ]
    width = max(len(label) for label, _ in rows)
    lines = ["mmoms soak report", "-" * 60]
    lines += [f"{label:<{width}}  {value}" for label, value in rows]
    if r.breaches:
        lines += ["-" * 60, "BREACHES:"]
        lines += [f"  {b}" for b in r.breaches[:50]]
        if len(r.breaches) > 50:
            lines.append(f"  ... and {len(r.breaches) - 50} more (see the JSON report)")
    lines.append(f"run directory: {r.workdir}")
    return "\n".join(lines)


def to_json(r: SoakResult) -> bytes:
    data: dict[str, Any] = {}
    for f in fields(r):
        value = getattr(r, f.name)
        data[f.name] = dict(value) if isinstance(value, Counter) else value
    data["breaches"] = [{"invariant": b.invariant, "detail": b.detail} for b in r.breaches]
    data["actions_total"] = r.actions_total
    data["fired_kinds"] = list(FIRED_KINDS)
    return msgspec.json.format(msgspec.json.encode(data), indent=2)


def _counts(counter: Counter[str]) -> str:
    if not counter:
        return ""
    return "(" + ", ".join(f"{k} {v}" for k, v in sorted(counter.items())) + ")"


def _rate(n: int, seconds: float) -> str:
    return f"{n / seconds:.1f}" if seconds > 0 else "-"
