"""Run every benchmark and write the report (``BENCHMARKS.md``).

    .venv/bin/python bench/run_all.py [--quick] [--out BENCHMARKS.md] [--only peers,resync]
        [--keep DIR]

Each benchmark runs as a subprocess of its own with ``--json``; this script collects the
figures, computes the goals' verdicts from them (never by hand) and writes one Markdown report:
the machine, the versions, every figure as p50 / p99 / p999, the peers' ratios, the
simulator's own cost, the profile's top frames, the method, and each script's printed output.
A benchmark that fails is reported as failed (with its error); the others still run.
The goals are judged with the node's default journal — SQLite, ``[journal] durability =
"process"`` (labelled ``sqlite process (default)``) — with durability ``fsync`` (``sqlite FULL``)
beside it for comparison, and the floor (bare transport, bare SQLite commit, fsync) beside each.
``bench/group_wire_bench.py`` (fill → OCO sibling cancel on the wire) is run when it exists;
until then its section says so. ``--quick`` is the smoke version the test suite runs: the
figures mean nothing then, only that every script works.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
from bench._common import Figures  # noqa: E402

GROUP_WIRE = BENCH / "group_wire_bench.py"


@dataclass
class Step:
    name: str
    title: str
    argv: list[str]  # after the script path; --json is added
    quick: list[str]
    timeout_s: float = 900.0
    script: str = ""  # bench/<script>; empty: this file's own child mode
    optional: bool = False  # skipped (and reported so) when the script does not exist


@dataclass
class Result:
    step: Step
    data: dict[str, Any] | None = None
    seconds: float = 0.0
    output: str = ""
    error: str | None = None
    skipped: str | None = None
    command: str = ""  # as run, from the repository's root


def steps() -> list[Step]:
    return [
        Step("oms_overhead", "OMS overhead, bursts, offered load, profile", ["--samples", "10000",
             "--repeats", "3", "--profile"], ["--quick", "--profile"], script="oms_overhead.py"),
        Step("peers", "place / amend / cancel → ack, mmoms and peers", ["--cycles", "2000",
             "--repeats", "3"], ["--quick"], script="peers.py",
             timeout_s=1800.0),  # 12 clients, three of them whole nodes: ~8 min at 2000 cycles
        Step("gateway_latency", "gateway CPU cost; paced round trips; stream reconnect", [
             "--reconnects", "5"], ["--quick"], script="gateway_latency.py"),
        Step("sim_rest", "the simulator's own cost (REST)", [], ["--quick"],
             script="sim_orders.py"),
        Step("sim_ws", "the simulator's own cost (WS API)", ["--ws-api"], ["--quick", "--ws-api"],
             script="sim_orders.py"),
        Step("group_wire", "fill report → OCO sibling cancel on the wire", ["--samples",
             "5000"], ["--quick"],
             script=GROUP_WIRE.name, optional=True),
        Step("contingent", "contingency planner share of item 5", ["--contingent",
             "--iterations", "100000"], ["--contingent", "--iterations", "2000"]),
        Step("resync", "user stream drop → reconnected + resynced", ["--drops", "20"],
             ["--quick"], script="resync_bench.py"),
        Step("resync_history", "the same after 20,000 orders of history", ["--drops", "10",
             "--history", "20000"], ["--quick", "--history", "30"], script="resync_bench.py"),
        Step("journal", "journal append and recovery", ["--keep-journal", "{workdir}/1m.sqlite",
             "--recovery-repeats", "3"], ["--quick", "--no-postgres", "--recovery-repeats", "2"],
             script="journal_bench.py"),
        Step("memory", "resident memory", ["--journal", "{workdir}/1m.sqlite"], ["--quick"],
             script="memory_bench.py"),
    ]  # fmt: skip


# -- running ------------------------------------------------------------------------------------


def run_step(step: Step, quick: bool, workdir: Path) -> Result:
    out = workdir / f"{step.name}.json"
    if step.script:
        script = BENCH / step.script
        if not script.exists():
            reason = f"bench/{step.script} does not exist yet"
            return Result(
                step,
                skipped=reason if step.optional else None,
                error=None if step.optional else reason,
            )
        command = [sys.executable, str(script)]
    else:
        command = [sys.executable, str(Path(__file__))]
    argv = [a.replace("{workdir}", str(workdir)) for a in (step.quick if quick else step.argv)]
    command += [*argv, "--json", str(out)]
    raw = step.quick if quick else step.argv
    shown = " ".join([".venv/bin/python", f"bench/{step.script or Path(__file__).name}", *raw])
    print(f"== {step.name}: {shown}", flush=True)
    started = time.perf_counter()
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=step.timeout_s, cwd=ROOT,
            check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        output = exc.stdout if isinstance(exc.stdout, str) else ""
        return Result(step, None, time.perf_counter() - started, output,
                      f"timed out after {step.timeout_s:.0f} s", command=shown)  # fmt: skip
    seconds = time.perf_counter() - started
    print(done.stdout, flush=True)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        return Result(
            step, None, seconds, done.stdout, f"exit {done.returncode}: {tail}", command=shown
        )
    try:
        data = json.loads(out.read_text())
    except (OSError, ValueError) as exc:
        return Result(step, None, seconds, done.stdout, f"no JSON figures: {exc}", command=shown)
    return Result(step, data, seconds, done.stdout, command=shown)


def contingent_child(iterations: int, json_path: str | None) -> int:
    """The planner's figures, from bench/contingent_bench.py's own scenarios and timer."""
    from bench.contingent_bench import measure, scenarios
    from mmoms.contingent import plan

    figures = Figures("contingent")
    for name, state, event, must in scenarios():
        commands = plan(event, state).commands
        if must and not any(type(c).__name__ == must for c in commands):
            raise SystemExit(f"{name}: the plan lacks a {must}")
        measure(state, event, min(iterations, 1_000))  # warm up
        summary = figures.add(name, measure(state, event, iterations))
        print(f"{name:<30} p50 {summary['p50']:6.1f} µs   p99 {summary['p99']:6.1f} µs")
    figures.write(json_path)
    return 0


# -- the report ---------------------------------------------------------------------------------


def fmt(value: Any, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, (int, float)):
        return f"{value:,.{digits}f}"
    return str(value)


def num(value: Any) -> str:
    """A figure: integers as such, fractions with a precision that suits their size."""
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return fmt(value)
    if isinstance(value, float):
        return fmt(value, 2 if abs(value) < 100 else 0)
    return fmt(value)


def us(value: Any) -> str:
    """Microseconds: whole µs from 100 up, one decimal below."""
    if not isinstance(value, (int, float)) or math.isnan(value):
        return "—"
    return fmt(value, 0 if abs(value) >= 100 else 1)


def series_table(series: dict[str, dict[str, float]], label: str = "measure") -> list[str]:
    lines = [
        f"| {label} | p50 µs | p99 µs | p999 µs | max µs | n |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, s in series.items():
        lines.append(
            f"| {name} | {us(s.get('p50'))} | {us(s.get('p99'))} | {us(s.get('p999'))} | "
            f"{us(s.get('max'))} | {fmt(s.get('n'))} |"
        )
    return lines


def machine() -> list[tuple[str, str]]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    affinity = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    memory = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    return [
        ("CPU", cpu),
        ("cores", f"{os.cpu_count()} online, {len(affinity)} usable by this run"),
        ("memory", memory),
        ("kernel", f"{platform.system()} {platform.release()}"),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("SQLite", sqlite3.sqlite_version),
    ]


def versions() -> list[tuple[str, str]]:
    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], capture_output=True, text=True, cwd=ROOT, check=False
            ).stdout.strip()
        except OSError:
            return ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "src")
    if dirty:
        commit += f" (+ uncommitted changes in {len(dirty.splitlines())} file(s) under src/)"
    rows = [("mmoms", commit)]
    for package in (
        "ccxt", "binance-sdk-derivatives-trading-usds-futures", "binance-common",
        "python-binance", "aiohttp", "msgspec", "uvloop", "requests", "pydantic",
        "websockets", "pyinstrument",
    ):  # fmt: skip
        try:
            rows.append((package, metadata.version(package)))
        except metadata.PackageNotFoundError:
            rows.append((package, "not installed"))
    return rows


@dataclass
class Goal:
    goal: str
    target: str
    measured: str
    met: bool | None  # None: not measured
    source: str = ""
    floor: str = "—"  # what the bare transport, the engine alone or the commit costs here


@dataclass
class Report:
    results: dict[str, Result]
    quick: bool
    seconds: float
    load: tuple[tuple[float, ...], tuple[float, ...]]
    lines: list[str] = field(default_factory=list)

    def data(self, name: str) -> dict[str, Any]:
        result = self.results.get(name)
        return (result.data or {}) if result is not None else {}

    def why(self, name: str) -> str:
        """Why a benchmark has no figures."""
        result = self.results.get(name)
        if result is None:
            return "not run"
        why = result.skipped or result.error or "no figures"
        return why.splitlines()[0] if why.strip() else why  # one line: it goes in table cells

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)


def _peer_item(peers: dict[str, Any], label: str, op: str) -> dict[str, Any]:
    return dict(peers.get("clients", {}).get(label, {}).get("ops", {}).get(op, {}))


# The node's default journal (app/config.py JournalSettings.durability = "process"; opened by
# app/node_parts.py open_store): the label bench/oms_overhead.py and bench/group_wire_bench.py
# give it, and the one every "with the default journal" goal reads.
DEFAULT_JOURNAL = "sqlite process (default)"
FLOOR_REST, FLOOR_WS = "floor: bare aiohttp REST", "floor: bare aiohttp WS API"
STRATEGY_PEERS = ("NautilusTrader Strategy", "mmoms Strategy (whole OMS)")
# (peer, mmoms on the same transport, the bare-transport floor, place → ack p50 ratio wanted)
GATEWAY_PEERS = (
    ("ccxt REST", "mmoms REST", FLOOR_REST, 3.0),
    ("SDK REST", "mmoms REST", FLOOR_REST, 3.0),
    ("ccxt.pro WS API", "mmoms WS API", FLOOR_WS, 2.0),
    ("SDK WS API", "mmoms WS API", FLOOR_WS, 2.0),
)
GATEWAY_CPU = "REST: codec+admit+sign+URL -> transport"  # bench/gateway_latency.py
FLOOR_COMMIT = "floor: bare SQLite commit (WAL, NORMAL, one 300-byte row)"  # oms_overhead.py
FLOOR_FSYNC = "floor: fsync of a 4 KiB write"  # oms_overhead.py
OUT_OF_REACH = " — **out of reach on this machine**"


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not math.isnan(value) else None


def _at_most(value: float | None, target: float) -> bool | None:
    return None if value is None else value <= target


def _at_least(value: float | None, target: float) -> bool | None:
    return None if value is None else value >= target


def _best_ratio(
    theirs: float | None, sim: float | None, bare: float | None, least: float, what: str
) -> str:
    """The floor under a ratio: the simulator's own handling of mmoms's requests is in every
    round trip, so ``theirs / sim`` bounds the ratio any client could reach (flagged when even
    that misses ``least``); beside it, the bare-aiohttp client's figure (``what``)."""
    parts = []
    if theirs is not None and sim is not None and sim > 0:
        best = theirs / sim
        parts.append(
            f"the simulator's own handling of mmoms's requests {us(sim)} µs → at best "
            f"{best:.2f}×" + (OUT_OF_REACH if best < least else "")
        )
    if bare is not None:
        parts.append(f"{what} {us(bare)} µs")
    return "; ".join(parts) or "—"


def _sim(item: dict[str, Any], q: str) -> float | None:
    """The simulator's handling time of a client's requests: p50 as the median of the repeats'
    p50s, p99 from the last repeat."""
    if q == "p50":
        return _num(item.get("sim_handling_p50_over_repeats", {}).get("median"))
    return _num(item.get("sim_handling", {}).get(q))


def goals(report: Report) -> list[Goal]:
    """The issue's targets, each judged on the figures of this run, with the default journal
    (SQLite, durability "process") wherever a journal is involved; beside each, the floor:
    what the bare transport, the engine without a journal or the commit alone costs here."""
    out = strategy_goals(report) + gateway_goals(report) + engine_goals(report)
    out += burst_oco_sustained_goals(report) + earlier_goals(report)
    return out


def strategy_goals(report: Report) -> list[Goal]:
    """Whole OMS against NautilusTrader, both timed at their strategy APIs: p50 at least 1.5×
    faster, p99 no worse (ratio = NautilusTrader / mmoms)."""
    peers = report.data("peers")
    peer, base = STRATEGY_PEERS
    entry = peers.get("clients", {}).get(peer, {})
    journal = peers.get("strategy_journals", {}).get(base, "SQLite, durability process")
    version = peers.get("nautilus", {}).get("version")
    name = f"NautilusTrader {version}" if version else peer
    out: list[Goal] = []
    for op, event in (("place", "accepted"), ("cancel", "canceled")):
        item, ours = _peer_item(peers, peer, op), _peer_item(peers, base, op)
        theirs_rt, ours_rt = item.get("round_trip", {}), ours.get("round_trip", {})
        floor_rt = _peer_item(peers, FLOOR_REST, op).get("round_trip", {})
        missing = entry.get("error") or report.why("peers")
        why = "" if theirs_rt.get("n") else f" — not measured: {missing}"
        for q, how, least in (("p50", "≥ 1.5× faster", 1.5), ("p99", "no worse", 1.0)):
            ratio = _num(item.get(f"ratio_{q}"))
            out.append(Goal(
                f"whole OMS {op} → {event} {q}, strategy API, {journal} (the default): "
                f"{base} {how} than {name}", f"ratio ≥ {least}",
                f"{fmt(ratio, 2)}× ({peer} {us(theirs_rt.get(q))} µs, mmoms {us(ours_rt.get(q))} "
                f"µs){why}", _at_least(ratio, least), "§2–3",
                _best_ratio(_num(theirs_rt.get(q)), _sim(ours, q), _num(floor_rt.get(q)), least,
                            f"bare aiohttp REST {op} {q}"),
            ))  # fmt: skip
    return out


def gateway_goals(report: Report) -> list[Goal]:
    """The gateway's place → ack p50 against the other clients on its transport."""
    peers = report.data("peers")
    out: list[Goal] = []
    for peer, base, floor_label, least in GATEWAY_PEERS:
        item, ours = _peer_item(peers, peer, "place"), _peer_item(peers, base, "place")
        theirs = _num(item.get("round_trip", {}).get("p50"))
        floor = _num(_peer_item(peers, floor_label, "place").get("round_trip", {}).get("p50"))
        ratio = _num(item.get("ratio_p50"))
        net = item.get("ratio_net_p50")
        why = "" if theirs is not None else f" — not measured: {report.why('peers')}"
        out.append(Goal(
            f"gateway place → ack p50: {base} ≥ {least:g}× faster than {peer}",
            f"ratio ≥ {least:g}",
            f"{fmt(ratio, 2)}× ({peer} {us(theirs)} µs, {base} "
            f"{us(ours.get('round_trip', {}).get('p50'))} µs; net of the simulator's handling "
            f"{fmt(net, 2)}×){why}", _at_least(ratio, least), "§2–3",
            _best_ratio(theirs, _sim(ours, "p50"), floor, least, f"{floor_label[7:]} place p50"),
        ))  # fmt: skip
    return out


def engine_goals(report: Report) -> list[Goal]:
    """Intent → bytes handed to the transport (single intents): the engine in memory, what the
    default journal adds, and intent → ack on loopback."""
    d = report.data("oms_overhead")
    series, stages = d.get("series", {}), d.get("stages", {})
    memory = series.get("single intent, journal memory", {})
    default = series.get(f"single intent, journal {DEFAULT_JOURNAL}", {})
    fsync = series.get("single intent, journal sqlite FULL", {})
    why = "" if memory.get("n") else f"not measured: {report.why('oms_overhead')}"
    gateway = report.data("gateway_latency").get("series", {}).get(GATEWAY_CPU, {})
    mem_stages = stages.get("memory", {})
    split = (
        "engine stages p50 decide / journal / to the wire "
        + " / ".join(us(mem_stages.get(k, {}).get("p50")) for k in ("decide", "journal", "wire"))
        + " µs"
        if mem_stages
        else ""
    )
    out: list[Goal] = []
    for q, target in (("p50", 30.0), ("p99", 100.0)):
        value = _num(memory.get(q))
        share = _num(gateway.get(q))
        floor = (
            f"the gateway alone (codec + admit + sign + URL, `gateway_latency`) {q} "
            f"{us(share)} µs" + (OUT_OF_REACH if share is not None and share > target else "")
            if share is not None
            else "—"
        )
        out.append(Goal(
            f"engine intent → bytes handed to the transport {q}, journal in memory",
            f"≤ {target:g} µs",
            why or f"{q} {us(value)} µs (n={fmt(memory.get('n'))}; {split})",
            _at_most(value, target), "§1", floor,
        ))  # fmt: skip
    added = (
        _num(default.get("p50")) - _num(memory.get("p50"))  # type: ignore[operator]
        if _num(default.get("p50")) is not None and _num(memory.get("p50")) is not None
        else None
    )
    spread = d.get("p50_over_repeats", {})
    med = [_num(spread.get(k, {}).get("median")) for k in (DEFAULT_JOURNAL, "memory")]
    added_median = med[0] - med[1] if med[0] is not None and med[1] is not None else None
    fsync_added = (
        _num(fsync.get("p50")) - _num(memory.get("p50"))  # type: ignore[operator]
        if _num(fsync.get("p50")) is not None and added is not None
        else None
    )
    commit = _num(stages.get(DEFAULT_JOURNAL, {}).get("journal", {}).get("p50"))
    bare = _num(series.get(FLOOR_COMMIT, {}).get("p50"))
    fsync_floor = _num(series.get(FLOOR_FSYNC, {}).get("p50"))
    out.append(Goal(
        "what the default journal (SQLite, durability process) adds to intent → bytes, p50 "
        "(its p50 − the in-memory journal's)", "≤ 30 µs",
        f"{us(added)} µs (p50 {us(default.get('p50'))} vs {us(memory.get('p50'))} µs; median "
        f"of the runs' p50s: {us(added_median)} µs; durability fsync adds {us(fsync_added)} µs)"
        if added is not None else why or "not measured", _at_most(added, 30.0), "§1",
        f"a bare SQLite commit (WAL, NORMAL, one row) p50 {us(bare)} µs"
        + (OUT_OF_REACH if bare is not None and bare > 30 else "")
        + f"; the engine's commit stage p50 {us(commit)} µs; an fsync (what durability fsync "
        f"waits for) p50 {us(fsync_floor)} µs",
    ))  # fmt: skip
    peers = report.data("peers")
    base = STRATEGY_PEERS[1]
    total = peers.get("strategy_stages", {}).get(base, {}).get("total", {})
    value = _num(total.get("p50"))
    floor = _num(_peer_item(peers, FLOOR_REST, "place").get("round_trip", {}).get("p50"))
    placed = _peer_item(peers, base, "place").get("round_trip", {})
    out.append(Goal(
        "intent → ack total p50 on loopback, whole OMS with the default journal (the "
        f"`{base}` node of §2–3, REST, against the simulator: the engine's intent → reply "
        "histogram, every action)", "≤ 1 ms",
        f"p50 {us(value)} µs (p99 {us(total.get('p99'))}); at the strategy, place → accepted "
        f"p50 {us(placed.get('p50'))} µs"
        if value is not None else f"not measured: {report.why('peers')}",
        _at_most(value, 1000.0), "§2–3",
        f"bare aiohttp REST place round trip p50 {us(floor)} µs"
        + (OUT_OF_REACH if floor is not None and floor > 1000 else "")
        if floor is not None else "—",
    ))  # fmt: skip
    return out


def burst_oco_sustained_goals(report: Report) -> list[Goal]:
    d = report.data("oms_overhead")
    series, figures = d.get("series", {}), d.get("figures", {})
    size = d.get("settings", {}).get("burst_size", 20)
    out: list[Goal] = []

    def burst(journal: str) -> dict[str, Any]:
        return dict(series.get(f"burst of {size}, whole burst, journal {journal}", {}))

    default, memory, fsync = burst(DEFAULT_JOURNAL), burst("memory"), burst("sqlite FULL")
    value = _num(default.get("p99"))
    floor = _num(memory.get("p99"))
    bare = _num(series.get(FLOOR_COMMIT, {}).get("p99"))
    storage = f"; a bare SQLite commit p99 {us(bare)} µs" if bare is not None else ""
    out.append(Goal(
        f"requote of {size} levels, first intent → the whole burst handed to the transport, "
        "p99, default journal (remote-like venue)", "≤ 500 µs",
        f"p99 {us(value)} µs (p50 {us(default.get('p50'))}, n={fmt(default.get('n'))}); "
        f"durability fsync p99 {us(fsync.get('p99'))} µs"
        if value is not None else f"not measured: {report.why('oms_overhead')}",
        _at_most(value, 500.0), "§1",
        f"the engine with its journal in memory p99 {us(floor)} µs (mmoms's own cost, not a "
        f"physical floor){storage}" + (OUT_OF_REACH if bare is not None and bare > 500 else "")
        if floor is not None else "—",
    ))  # fmt: skip
    wire = report.data("group_wire").get("series", {})
    s = wire.get(DEFAULT_JOURNAL, {})
    value = _num(s.get("p99"))
    others = "; ".join(
        f"{label} p99 {us(v.get('p99'))}" for label, v in wire.items() if label != DEFAULT_JOURNAL
    )
    floor = _num(wire.get("memory", {}).get("p99"))
    out.append(Goal(
        "OCO: fill report read → sibling cancel handed to the transport, p99, default journal",
        "≤ 200 µs",
        f"p99 {us(value)} µs (p50 {us(s.get('p50'))}, n={fmt(s.get('n'))}); {others} µs"
        if value is not None else f"not measured: {report.why('group_wire')}",
        _at_most(value, 200.0), "§5",
        f"the engine with its journal in memory p99 {us(floor)} µs (mmoms's own cost, not a "
        f"physical floor){storage}" + (OUT_OF_REACH if bare is not None and bare > 200 else "")
        if floor is not None else "—",
    ))  # fmt: skip
    sustained = _num(figures.get(f"sustained actions/s, journal {DEFAULT_JOURNAL}"))
    memory_rate = _num(figures.get("sustained actions/s, journal memory"))
    fsync_rate = figures.get("sustained actions/s, journal sqlite FULL")
    rates = d.get("settings", {}).get("rates") or []
    out.append(Goal(
        "sustained actions/s on one core before latency degrades, default journal "
        "(offered load, remote-like venue)", "≥ 5,000/s",
        f"{fmt(sustained)}/s (highest rate offered {fmt(max(rates, default=None))}/s; "
        f"saturated, bursts of 50: {fmt(figures.get('saturated actions/s, remote-like venue'))}/s;"
        f" durability fsync: {fmt(fsync_rate)}/s)"
        if sustained is not None else f"not measured: {report.why('oms_overhead')}",
        _at_least(sustained, 5000.0), "§4",
        f"the engine with its journal in memory {fmt(memory_rate)}/s (mmoms's own cost, not a "
        "physical floor)" if memory_rate is not None else "—",
    ))  # fmt: skip
    return out


def earlier_goals(report: Report) -> list[Goal]:
    """Goals of earlier issues that still hold: resync after a stream drop, recovery time."""
    out: list[Goal] = []
    for name, what in (("resync", "fresh OMS"), ("resync_history", "after a session's history")):
        data = report.data(name)
        resync = data.get("series", {}).get("drop -> reconnected + resynced", {})
        p99 = resync.get("p99")
        out.append(Goal(
            f"user stream drop → reconnected + resynced (p99), loopback, {what}: "
            f"{fmt(data.get('open_orders'))} open of {fmt(data.get('orders_in_book'))} orders "
            "in the book, default journal", "≤ 100 ms",
            f"p99 {fmt(p99 / 1000 if p99 else None, 1)} ms (p50 "
            f"{fmt(resync.get('p50', 0) / 1000 if resync else None, 1)} ms, "
            f"n={fmt(resync.get('n'))})",
            None if p99 is None else p99 <= 100_000, "§6",
        ))  # fmt: skip
    journal = report.data("journal").get("figures", {})
    ready = journal.get("recovery: seconds to ready, max of runs")
    ready = ready if ready is not None else journal.get("recovery: seconds to ready")
    records = journal.get("recovery: records") or 0
    full_size = records >= 1_000_000
    spread = "/".join(
        fmt(journal.get(f"recovery: seconds to ready, {k} of runs"), 2)
        for k in ("min", "median", "max")
    )
    out.append(Goal(
        "recovery of 1 M journaled events (latest snapshot + tail) to ready, slowest run",
        "≤ 5 s",
        f"{fmt(ready, 2)} s for {fmt(records)} events (min/median/max {spread} s over "
        f"{fmt(journal.get('recovery: runs'))} runs)"
        + ("" if full_size or ready is None else "; fewer than 1 M: no verdict"),
        None if ready is None or not full_size else ready <= 5.0, "§7",
    ))  # fmt: skip
    return out


def verdict(met: bool | None) -> str:
    return {True: "**met**", False: "**not met**", None: "not measured"}[met]


def section_overhead(r: Report) -> None:
    d = r.data("oms_overhead")
    series = d.get("series", {})
    r.add("## 1. OMS overhead: intent → request bytes written", "")
    r.add(
        "The whole production path (risk, planning, write-ahead journal, batch, gateway codec, "
        "rate admission, timestamp, HMAC signing, URL) up to the HTTP transport's `request` call, "
        "with the batching window at 0. The venue behind the transport is in-process (no socket), "
        "so only this core's work is timed. One process, pinned to one core, uvloop. "
        "Journals: in memory (the engine's CPU alone), SQLite `synchronous=NORMAL` (commits on "
        "the store's worker thread), `FULL` (durability `fsync`: one fsync per commit) and "
        f'**`{DEFAULT_JOURNAL}`** — the node\'s default, `[journal] durability = "process"`: '
        "NORMAL, committed on the engine's own thread, fsynced behind the writer by a checkpoint "
        "thread.",
        "",
    )
    single = {
        k.replace("single intent, journal ", ""): v for k, v in series.items() if "single" in k
    }
    spread: dict[str, dict[str, float]] = d.get("p50_over_repeats", {})
    runs = next(iter(spread.values()))["repeats"] if spread else 1
    r.add(
        "**Single intents** (one order at a time, then its cancel, not timed); pooled over "
        f"{runs} runs (a fresh engine each, the "
        "journals interleaved), with the spread of the runs' p50s:",
        "",
    )
    table = series_table(single, "journal")
    table[0] += " p50 min / median / max |"
    table[1] += "---|"
    for i, name in enumerate(single, start=2):
        sp = spread.get(name, {})
        table[i] += f" {us(sp.get('min'))} / {us(sp.get('median'))} / {us(sp.get('max'))} |"
    r.add(*table, "")
    stages = d.get("stages", {})
    if stages:
        r.add("Engine stages (the OMS's own histograms), p50 / p99 µs:", "")
        r.add("| journal | decide | journal commit | to the wire |", "|---|---:|---:|---:|")
        for name, st in stages.items():
            r.add(
                f"| {name} | "
                + " | ".join(
                    f"{us(st[k]['p50'])} / {us(st[k]['p99'])}"
                    for k in ("decide", "journal", "wire")
                )
                + " |"
            )
        r.add("")
    floors = {k: v for k, v in series.items() if k.startswith("floor: ")}
    if floors:
        r.add(
            "**The storage alone** (the floors under the journals, same process, same disk): a "
            "bare SQLite transaction of one row (WAL, `synchronous=NORMAL`, as the default "
            "journal commits; its p999 holds SQLite's own WAL checkpoints, which the default "
            "journal runs on its checkpoint thread instead), and one fsync after a 4 KiB write "
            "(what durability `fsync` waits for per commit):",
            "",
        )
        r.add(*series_table({k[7:]: v for k, v in floors.items()}, "floor"), "")
    bursts = {k: v for k, v in series.items() if k.startswith("burst")}
    if bursts:
        r.add(
            "**Bursts** (a requote: N place intents at once; remote-like venue, see §4), "
            "per order from its own intent, and for the whole burst from its first intent; the "
            "default journal, then in memory (the engine alone) and durability fsync:",
            "",
        )
        r.add(*series_table(bursts), "")


def section_peers(r: Report) -> None:
    d = r.data("peers")
    r.add("## 2–3. Place / amend / cancel → ack: mmoms and its peers, one simulator", "")
    if not d:
        r.add(f"_Not measured: {r.why('peers')}_", "")
        return
    settings = d.get("settings", {})
    r.add(
        f"All clients against ONE simulator process ({d.get('pinning', '')}); each client its own "
        f"account. Interleaved: clients take turns in batches of {settings.get('batch')} cycles "
        f"(place → amend → cancel), the turn order rotating every round; "
        f"{settings.get('warmup')} warm-up cycles per client; {settings.get('cycles')} measured "
        f"cycles per client per repeat, {settings.get('repeats')} repeats (fresh clients each); "
        "figures pooled over the repeats.",
        "",
        "Columns: **sim** = the simulator's own handling time for that client's requests (p50, "
        "median over repeats; not counted against anyone in **net** = p50 − sim); **>floor** = "
        "p50 − the bare-aiohttp floor's p50 on the same transport (what the library itself "
        "costs beyond the least any Python client must do); **×** = this client / mmoms on the "
        "same transport (REST peers against mmoms REST, WebSocket API peers against mmoms WS "
        "API); **p50 spread** = min / median / max of the per-repeat p50s.",
        "",
    )
    nautilus = d.get("nautilus", {})
    r.add(
        "**Strategy-API rows** (the whole OMS, not a gateway): `mmoms Strategy (whole OMS)` is a "
        "`mmoms.Node` (venue kind `binance` pointed at the simulator; the default journal — "
        "SQLite, durability `process` —, default batching window, risk, engine, user stream; "
        "dead-man switch off) "
        "driven from a `mmoms.Strategy`; "
        "`NautilusTrader Strategy` is NautilusTrader "
        f"{nautilus.get('version', '(not run)')} (Python {nautilus.get('python', '?')}, "
        "`.venv-nautilus`, `bench/_nautilus_peer.py`) — a TradingNode with its Binance USDⓈ-M "
        "data and exec clients, only their base URLs changed, driven from its Strategy in a "
        "process of its own on the clients' core. Both: a post-only LIMIT BUY 3 % under the "
        "mark, then modified, then cancelled; each clock from just before the strategy's call "
        "(`place` / `submit_order`, `amend` / `modify_order`, `cancel` / `cancel_order`) to the "
        "callback with the venue's confirmation (`on_order` with OrderAccepted / OrderAmended / "
        "OrderCanceled; `on_order_accepted` / `on_order_updated` / `on_order_canceled`), the "
        "next call made in that callback. Their **×** compares with `mmoms Strategy (whole "
        "OMS)`. `mmoms Strategy (durability fsync)` is not the default: the same node with "
        '`[journal] durability = "fsync"` (a commit waits for its fsync), for comparison.',
        "",
    )
    clients = d.get("clients", {})
    for op in ("place", "amend", "cancel"):
        r.add(f"**{op} → ack** (µs)", "")
        r.add(
            "| client | p50 | p99 | p999 | n | p50 spread | sim | net | >floor | × p50 | × p99 "
            "| × net p50 |",
            "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|",
        )
        for label, entry in clients.items():
            item = entry["ops"][op]
            rt = item.get("round_trip", {})
            if not rt.get("n"):
                error = str(entry.get("error"))
                shown = error if error.startswith("skipped") else f"failed: {error}"
                r.add(f"| {label} | {shown} |" + " |" * 10)
                continue
            spread = item.get("p50_over_repeats", {})
            sim = item.get("sim_handling_p50_over_repeats", {})
            r.add(
                f"| {label} | {us(rt['p50'])} | {us(rt['p99'])} | {us(rt['p999'])} | "
                f"{fmt(rt['n'])} | {us(spread.get('min'))} / {us(spread.get('median'))} / "
                f"{us(spread.get('max'))} | {us(sim.get('median'))} | {us(item.get('net_p50'))} | "
                f"{us(item.get('above_floor_p50'))} | {fmt(item.get('ratio_p50'), 2)} | "
                f"{fmt(item.get('ratio_p99'), 2)} | {fmt(item.get('ratio_net_p50'), 2)} |"
            )
        r.add("")
    extra = {label: e["other_requests"] for label, e in clients.items() if e.get("other_requests")}
    if extra:
        r.add("Requests a client sent beyond the three measured (during the measured cycles):", "")
        for label, ops in extra.items():
            r.add(f"- {label}: " + ", ".join(f"`{k[7:]}` ×{v.get('n')}" for k, v in ops.items()))
        r.add("")
    for note in d.get("notes", []):
        r.add(f"- {note}")
    r.add("")
    stages = d.get("strategy_stages", {})
    if stages:
        r.add(
            "Where the strategy nodes' time goes (the engine's own histograms, last repeat, every "
            "action, p50 / p99 µs): decide = intent → planned; journal = the write-ahead commit "
            "before sending; wire = to the bytes sent; ack = the venue's reply; total = intent → "
            "reply (the strategy hears of it after the reply is journaled).",
            "",
            "| node | decide | journal | wire | ack | total |",
            "|---|---:|---:|---:|---:|---:|",
        )
        for label, st in stages.items():
            cells = " | ".join(f"{us(v['p50'])} / {us(v['p99'])}" for v in st.values())
            r.add(f"| `{label}` | {cells} |")
        r.add("")
    gw = r.data("gateway_latency").get("series", {})
    if gw:
        r.add(
            "**The mmoms gateway alone** (`bench/gateway_latency.py`): its CPU cost without a "
            "network (a built command → bytes handed over), then round trips *paced* at ~50 "
            "orders/s against a fresh simulator (idle gaps between orders, unlike the "
            "back-to-back cycles above; the baseline row is bare aiohttp sending a GET):",
            "",
        )
        r.add(*series_table({k: v for k, v in gw.items() if "user stream" not in k}), "")


def section_throughput(r: Report) -> None:
    d = r.data("oms_overhead")
    figures = d.get("figures", {})
    r.add("## 4. Sustained throughput on one core", "")
    r.add(
        "Place / cancel intents alternating, paced at each offered rate for "
        f"{d.get('settings', {}).get('step_seconds', '?')} s, at most 100 orders resting, "
        "one core. The venue is *remote-like*: the transport stamps the bytes, yields to the "
        "loop (the request is on the wire), then answers from a template (start-up and "
        "reconciliation go to the in-process simulator), so this core pays for reading replies, "
        "not for matching. A rate is *sustained* when ≥ 95 % of the offered actions reach the "
        "wire, ≤ 1 % are skipped for a full book, and p50 stays within twice the lowest rate's.",
        "",
    )
    for journal, steps_ in d.get("offered_load", {}).items():
        r.add(f"**journal {journal}**", "")
        r.add(
            "| offered/s | reached/s | p50 µs | p99 µs | p999 µs | skipped |",
            "|---:|---:|---:|---:|---:|---:|",
        )
        for s in steps_:
            lat = s["latency"]
            r.add(
                f"| {fmt(s['offered'])} | {fmt(s['achieved'])} | {us(lat.get('p50'))} | "
                f"{us(lat.get('p99'))} | {us(lat.get('p999'))} | {fmt(s['skipped'])} |"
            )
        r.add("")
    r.add("| figure | actions/s |", "|---|---:|")
    for name, value in figures.items():
        r.add(f"| {name} | {fmt(value)} |")
    r.add("")
    profile = d.get("profile")
    if profile:
        r.add(
            "**Profile** of the saturated run (bursts of 50 places + 50 cancels, journal "
            f"{profile.get('journal', DEFAULT_JOURNAL)}, remote-like venue), {profile['tool']}, "
            "event-loop thread only (the default journal commits on it; its checkpoint thread "
            f"is not sampled); {fmt(profile['actions_per_s'])} actions/s under "
            "the profiler. Top frames by own time (share of the wall time):",
            "",
        )
        r.add("| own time | frame |", "|---:|---|")
        for row in profile["own"]:
            r.add(f"| {row['share'] * 100:.1f} % | `{row['frame']}` |")
        r.add("")
        mmoms_own = [row for row in profile["own"] if "mmoms/" in row["frame"]][:3]
        idle = sum(r_["share"] for r_ in profile["own"] if r_["frame"].startswith("run (asyncio"))
        default = figures.get(f"sustained actions/s, journal {DEFAULT_JOURNAL}")
        full = figures.get("sustained actions/s, journal sqlite FULL")
        memory = figures.get("sustained actions/s, journal memory")
        r.add(
            "Where the time goes (computed from the figures above): the event loop waits "
            f"{idle * 100:.0f} % of the profiled time (for the venue's replies); the heaviest "
            "mmoms frames by own time are "
            + ", ".join(f"`{row['frame']}` {row['share'] * 100:.1f} %" for row in mmoms_own)
            + f". Sustained before latency degrades: {fmt(default)}/s with the default journal "
            f"({DEFAULT_JOURNAL}), {fmt(full)}/s with durability fsync, {fmt(memory)}/s with the "
            "journal in memory"
            + (
                " — the default journal's commits are the first limit."
                if isinstance(default, (int, float))
                and isinstance(memory, (int, float))
                and default < memory
                else " — the engine's own CPU, not the journal, is the first limit."
            ),
            "",
        )
        if profile.get("inclusive_mmoms"):
            r.add("mmoms frames by inclusive time:", "")
            r.add("| inclusive | frame |", "|---:|---|")
            for row in profile["inclusive_mmoms"]:
                r.add(f"| {row['share'] * 100:.1f} % | `{row['frame']}` |")
            r.add("")


def section_group_wire(r: Report) -> None:
    r.add("## 5. Fill report read → OCO sibling cancel on the wire", "")
    d = r.data("group_wire")
    if d.get("series"):
        r.add(f"From `bench/group_wire_bench.py` ({d.get('name', '')}):", "")
        r.add(*series_table(d["series"]), "")
        for note in d.get("notes", []):
            r.add(f"- {note}")
        r.add("")
    else:
        r.add(
            f"**Not yet available** ({r.why('group_wire')}). `run_all.py` runs "
            "`bench/group_wire_bench.py` and fills this section automatically once that script "
            "exists.",
            "",
        )
    contingent = r.data("contingent").get("series", {})
    if contingent:
        r.add(
            "The contingency planner's share (`bench/contingent_bench.py` scenarios: one pure "
            "`plan(event, state)` call):",
            "",
        )
        r.add(*series_table(contingent, "scenario"), "")


def section_resync(r: Report) -> None:
    r.add("## 6. User-data stream drop → reconnected and resynced", "")
    d = r.data("resync")
    s = d.get("settings", {})
    r.add(
        "An OrderManager (REST orders, user stream on, the default journal: SQLite, durability "
        f"process) holding "
        f"{s.get('orders', '?')} open orders on each of {s.get('symbols', '?')} symbols; the "
        f"simulator cuts the stream's TCP connection (`POST /admin/ws/disconnect`, abort) every "
        f"{s.get('interval', '?')} s (after a stable connection). Clock from the admin request "
        "(its round trip is counted) to the engine handling the gap (**reconnected**) and to the "
        "reconciliation that gap triggered being applied and committed (**resynced**: open "
        "orders of every symbol and positions fetched and compared, buffered events replayed). "
        "Measured on a fresh OMS, and again after a session's history: orders placed and "
        "cancelled first (closed orders stay in the engine's book).",
        "",
    )
    for name, what in (("resync", "fresh OMS"), ("resync_history", "after history")):
        d = r.data(name)
        if not d:
            r.add(f"_{what}: not measured: {r.why(name)}_", "")
            continue
        r.add(
            f"**{what}**: {fmt(d.get('open_orders'))} open orders, "
            f"{fmt(d.get('orders_in_book'))} orders in the book; reconciliation differences "
            f"found: {fmt(d.get('figures', {}).get('reconciliation differences'))}",
            "",
        )
        r.add(*series_table(d.get("series", {})), "")
    gw = {k: v for k, v in r.data("gateway_latency").get("series", {}).items() if "stream" in k}
    if gw:
        r.add("The gateway alone (`bench/gateway_latency.py`, no OMS, no open orders):", "")
        r.add(*series_table(gw), "")


def section_journal(r: Report) -> None:
    d = r.data("journal")
    r.add("## 7. Journal: grouped commits and recovery", "")
    if not d:
        r.add(f"_Not measured: {r.why('journal')}_", "")
        return
    r.add(
        "A synthetic market-making session (creates, acks, amends, fills, cancels, audit "
        "records), SQLite WAL + `synchronous=FULL` (durability `fsync`: the append rate with an "
        "fsync per batch; the default `process` mode commits without it, see §1), one "
        "transaction per batch. Recovery: the "
        "journal reopened, latest snapshot + replay of the tail, state hash checked against the "
        f"live session ({d.get('recovery_state_hash', '?')}); the file was just written (page "
        "cache warm: a restart, not a cold boot).",
        "",
    )
    r.add("| figure | value |", "|---|---:|")
    for name, value in d.get("figures", {}).items():
        r.add(f"| {name} | {num(value)} |")
    r.add("")
    r.add("Commit latency per batch:", "")
    r.add(*series_table(d.get("series", {}), "store"), "")
    for note in d.get("notes", []):
        r.add(f"- {note}")


def section_memory(r: Report) -> None:
    d = r.data("memory")
    r.add("## 8. Memory", "")
    if not d:
        r.add(f"_Not measured: {r.why('memory')}_", "")
        return
    s = d.get("settings", {})
    r.add(
        "Each figure from a fresh process (RSS / peak from `/proc/self/status`). The OMS process "
        "runs a gateway and an OrderManager (the default journal: SQLite, durability process) "
        "against the simulator in "
        f"another process (not counted): {s.get('symbols')} symbols × {s.get('orders')} "
        "resting orders. The journal case recovers a journal of synthetic events (latest "
        f"snapshot + tail) in a fresh process; state hash {d.get('state_hash', '?')}.",
        "",
    )
    r.add("| figure | value |", "|---|---:|")
    for name, value in d.get("figures", {}).items():
        r.add(f"| {name} | {num(value)} |")
    r.add("")


def section_sim(r: Report) -> None:
    r.add("## The simulator's own cost (not counted against anyone)", "")
    r.add(
        "Measured inside the simulator process: REST from the start of its request handler to "
        "the built response (`X-Sim-Handling-Us`), WebSocket API from a frame handed to the API "
        "to its reply queued (probes in `bench/_simproc.py`). aiohttp's parsing and socket "
        "writes on the simulator's side are not in it; they are in every client's round trip "
        "alike (the bare-aiohttp floor shows the total fixed cost). Per client and operation it "
        "is the **sim** column of §2–3. Under load (`bench/sim_orders.py`: 8 connections "
        "placing and cancelling as fast as they can):",
        "",
    )
    r.add("| transport | requests/s | view | p50 µs | p99 µs | p999 µs | n |",
          "|---|---:|---|---:|---:|---:|---:|")  # fmt: skip
    for name, label in (("sim_rest", "REST"), ("sim_ws", "WS API")):
        d = r.data(name)
        for view, s in d.get("series", {}).items():
            r.add(
                f"| {label} | {fmt(d.get('figures', {}).get('requests/s'))} | {view} | "
                f"{us(s.get('p50'))} | {us(s.get('p99'))} | {us(s.get('p999'))} | {fmt(s['n'])} |"
            )
    r.add("")


def section_method(r: Report) -> None:
    r.add("## Method", "")
    r.add(
        "- One command: `.venv/bin/python bench/run_all.py` runs every script in `bench/` as a "
        "subprocess with `--json`; the goals' verdicts are computed from those figures by "
        "`run_all.py`, never written by hand.",
        "- Percentiles are nearest-rank over all samples (no interpolation); p999 needs ≥ 1,000 "
        "samples to mean anything and is shown anyway; **n** is always given.",
        "- Warm-up before every measured phase; the garbage collector stays on (as in "
        "production). Tests never assert timings; `tests/bench/test_bench_smoke.py` runs "
        "`run_all.py --quick` only to prove the scripts work.",
        "- CPU pinning: the simulator gets core 0, the clients core 1 (`os.sched_setaffinity`); "
        "single-process benchmarks pin themselves to the last core. The machine is shared, so "
        "absolute figures carry noise; the peers are interleaved with mmoms in the same run, so "
        "their ratios hold.",
        "- Fairness: ccxt's own throttle is off (`enableRateLimit: False`, it sleeps otherwise); "
        "the simulator's rate limits are huge and mmoms adopts them from exchangeInfo (its rate "
        "controller never waits); the official SDK's REST client is synchronous and blocks the "
        "loop for the duration of its call (a thread hop would only add to its cost); every "
        'client\'s "ack" is its call returning the parsed reply.',
        "- Every order is a LIMIT BUY 3 % under the mark (it rests, never fills) and is "
        "cancelled; amends move it a tick lower.",
        "- The remote-like venue of §1 bursts and §4 answers order requests from a template "
        "after yielding to the loop; it exists so the venue's matching is not charged to the "
        "OMS's core.",
        "",
    )


def render(report: Report) -> str:
    r = report
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    r.add("# mmoms benchmarks", "")
    if r.quick:
        r.add(
            "> **QUICK (smoke) RUN: the figures below mean nothing.** It only proves every script "
            "works. Run `.venv/bin/python bench/run_all.py` for real figures.",
            "",
        )
    r.add(
        f"Generated by `.venv/bin/python bench/run_all.py{' --quick' if r.quick else ''}` on "
        f"{now}; the run took {r.seconds / 60:.1f} min. Load average (1/5/15 min) at the start "
        f"{'/'.join(f'{x:.2f}' for x in r.load[0])}, at the end "
        f"{'/'.join(f'{x:.2f}' for x in r.load[1])}: a figure taken on a busy machine is noisy, "
        "ratios between clients measured in the same run hold better than absolute values.",
        "",
    )
    r.add("## Machine and versions", "", "| | |", "|---|---|")
    nautilus = r.data("peers").get("nautilus", {})
    peer_versions = [("nautilus_trader", f"{nautilus['version']} (Python {nautilus.get('python')}, "
                      ".venv-nautilus)")] if nautilus.get("version") else []  # fmt: skip
    for key, value in machine() + versions() + peer_versions:
        r.add(f"| {key} | {value} |")
    r.add(
        "",
        "## Goals",
        "",
        "Computed from the figures below; every goal that involves a journal is judged with the "
        'node\'s default journal: SQLite, `[journal] durability = "process"` (commits on the '
        "engine's thread with `synchronous=NORMAL`, the fsync behind the writer on a checkpoint "
        "thread: `journal/checkpointer.py`). Durability `fsync` (`synchronous=FULL`, labelled "
        "`sqlite FULL`) is measured beside it for comparison. The **floor** column is what this "
        "machine costs before mmoms does anything: for a round trip, the simulator's own handling "
        "of mmoms's requests (in every client's round trip, so their figure over it bounds any "
        "ratio) and the bare-aiohttp client on the same simulator; for the engine, the gateway's "
        "share or the engine with its journal in memory; for the journal, a bare SQLite commit "
        "and an fsync. Where the floor itself misses the target it says so.",
        "",
        "| goal | target | measured | verdict | see | floor on this machine |",
        "|---|---|---|---|---|---|",
    )
    for g in goals(r):
        measured, floor = (" ".join(x.split()) for x in (g.measured, g.floor))  # one table row
        r.add(f"| {g.goal} | {g.target} | {measured} | {verdict(g.met)} | {g.source} | {floor} |")
    r.add("")
    for section in (
        section_overhead, section_peers, section_throughput, section_group_wire, section_resync,
        section_journal, section_memory, section_sim, section_method,
    ):  # fmt: skip
        section(r)
    r.add(
        "## Runs",
        "",
        "Each benchmark as run (plus `--json PATH`); the `{workdir}` journal is the 1 M-event "
        "journal the journal benchmark built, recovered again by the memory benchmark.",
        "",
        "| benchmark | what | command | seconds | status |",
        "|---|---|---|---:|---|",
    )
    for name, result in r.results.items():
        status = (
            f"skipped: {result.skipped}" if result.skipped
            else f"FAILED: {result.error.splitlines()[0]}" if result.error else "ok"
        )  # fmt: skip
        command = f"`{result.command}`" if result.command else ""
        r.add(f"| {name} | {result.step.title} | {command} | {result.seconds:.1f} | {status} |")
    r.add("")
    failed = [x for x in r.results.values() if x.error]
    for result in failed:
        r.add(f"**{result.step.name} failed**:", "", "```", result.error or "", "```", "")
    r.add("## Printed output of each benchmark", "")
    for name, result in r.results.items():
        if result.output.strip():
            r.add(
                f"<details><summary>{name}</summary>", "", "```", result.output.rstrip(), "```",
                "", "</details>", "",
            )  # fmt: skip
    return "\n".join(r.lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the smoke version (tests)")
    parser.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"), help="the report")
    parser.add_argument("--only", help="comma-separated benchmark names (default: all)")
    parser.add_argument("--keep", metavar="DIR", help="keep each benchmark's JSON here")
    parser.add_argument("--contingent", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--iterations", type=int, default=100_000, help=argparse.SUPPRESS)
    parser.add_argument("--json", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.contingent:
        return contingent_child(args.iterations, args.json)
    chosen = steps()
    if args.only:
        names = set(args.only.split(","))
        chosen = [s for s in chosen if s.name in names]
    started = time.perf_counter()
    load_start = os.getloadavg()
    results: dict[str, Result] = {}
    with tempfile.TemporaryDirectory(prefix="mmoms-bench-") as tmp:
        workdir = Path(args.keep) if args.keep else Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for step in chosen:
            results[step.name] = run_step(step, args.quick, workdir)
    if "group_wire" not in results:
        results["group_wire"] = Result(
            next(s for s in steps() if s.name == "group_wire"), skipped="not run (--only)"
        )
    report = Report(
        results, args.quick, time.perf_counter() - started, (load_start, os.getloadavg())
    )
    Path(args.out).write_text(render(report))
    failed = [name for name, result in results.items() if result.error]
    print(f"wrote {args.out} in {report.seconds / 60:.1f} min; failed: {failed or 'none'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
