"""Mutation testing of the core's money paths: are their tests able to fail?

Two kinds of mutants, each run against ``tests/core tests/engine tests/contingent``:

1. **mutmut** (pinned in pyproject's ``test`` extra) mutates the *functions* of
   ``core/fsm.py core/book.py engine/risk.py engine/diff.py contingent/step.py``: operators,
   comparisons, constants, removed calls... mutmut never touches module-level code.
2. **Table mutants**, made here: every module-level table of those modules (a dict, set,
   frozenset, tuple or list literal assigned at module level — the FSM's ``TRANSITIONS``,
   the book's trigger and event maps, the diff's status sets...) loses one entry at a time,
   and every dict entry also gets a wrong value (the next different value of the same table).
   Each mutant is a temporary copy of the module; the module's own test file runs first and
   the run stops at the first failure.

Everything happens in a snapshot under /tmp (``git archive`` of a revision, default HEAD, plus
any working-tree file given with ``--overlay``): the working tree is never modified. The
snapshot is deleted at the end unless ``--keep``.

Usage (from the repository root)::

    .venv/bin/python scripts/mutation.py                    # both kinds, HEAD
    .venv/bin/python scripts/mutation.py --overlay tests/core/test_fsm.py src/mmoms/core/fsm.py
    .venv/bin/python scripts/mutation.py --tables-only      # the table mutants alone (minutes)
    .venv/bin/python scripts/mutation.py --module fsm       # one module

It prints one row per module: mutants, killed, survived, score (killed / all, timeouts count as
killed), and the score with the equivalent mutants of :data:`EQUIVALENT` left out, then the
surviving mutants by name (``mutmut show NAME`` inside a ``--keep`` snapshot shows a diff).
mutmut runs with one worker (``--max-children``, default 1): the machine is shared.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Short name → (module path, the test file that should kill its mutants first).
MODULES: dict[str, tuple[str, str]] = {
    "fsm": ("src/mmoms/core/fsm.py", "tests/core/test_fsm.py"),
    "book": ("src/mmoms/core/book.py", "tests/core/test_book.py"),
    "risk": ("src/mmoms/engine/risk.py", "tests/engine/test_risk.py"),
    "diff": ("src/mmoms/engine/diff.py", "tests/engine/test_diff.py"),
    "step": ("src/mmoms/contingent/step.py", "tests/contingent"),
}
TEST_DIRS = ("tests/core", "tests/engine", "tests/contingent")
# The benchmark smoke tests start a benchmark in a subprocess (from bench/, not copied): they
# test that the benchmarks run, not the modules mutated here.
IGNORED_TESTS = ("tests/engine/test_bench_smoke.py", "tests/contingent/test_bench.py")
TARGETS = {"fsm": 90.0, "risk": 90.0, "book": 85.0, "diff": 85.0, "step": 85.0}
TABLE_TIMEOUT_S = 600

# Mutants that behave exactly like the original (no test can kill them), by name, with the
# reason. docs/mutation.md explains each group. The adjusted score leaves them out.
_RISK, _BOOK, _DIFF, _STEP = (
    "mmoms.engine.risk.x\u01c1RiskEngine\u01c1",
    "mmoms.core.book.x\u01c1LocalOrderBook\u01c1",
    "mmoms.engine.diff.x_",
    "mmoms.contingent.step.x\u01c1Step\u01c1",
)
_ONE_SLOT = "at most one slot is open and not being canceled, the last: j + 1 == j + 2 == len"
_TRUTH = "only the counter's truth (or sign) is read"
EQUIVALENT: dict[str, str] = {
    f"{_RISK}_reduce_only__mutmut_7": "position > 0 vs >= 0: position == 0 returned just before",
    f"{_RISK}check_amend__mutmut_28": "no order type for the band: only MARKET is unbanded, "
    "and only LIMIT orders are amended",
    f"{_RISK}check_group__mutmut_49": "no order type for the band: a MARKET leg has neither "
    "price nor trigger price, so the band is skipped anyway",
    f"{_BOOK}_apply_not_found__mutmut_19": "partially_filled only resolves WORKING; NOT_FOUND "
    "leads to REJECTED",
    f"{_BOOK}_apply_not_found__mutmut_23": "as _19",
    f"{_DIFF}_closest__mutmut_25": "order.price or ...: never falsy there (_within refused a "
    "priceless order; a limit price is positive)",
    f"{_DIFF}_closest__mutmut_26": "as _25",
    f"{_DIFF}diff_side__mutmut_50": "sign 2 instead of 1: sort keys scaled, same order",
    f"{_DIFF}diff_side__mutmut_53": "sign -2 instead of -1: sort keys scaled, same order",
    f"{_DIFF}diff_side__mutmut_59": "o.price or 1: only a priceless order (never amendable, "
    "not LIMIT) moves, within the cancels",
    f"{_STEP}_cancel_open__mutmut_15": _ONE_SLOT,
    f"{_STEP}_resize__mutmut_23": _ONE_SLOT,
    f"{_STEP}_resize__mutmut_60": _ONE_SLOT,
    f"{_STEP}_cancel_open__mutmut_17": "replaces the leg by an equal one (identity only)",
    f"{_STEP}_ingest_flatten__mutmut_13": "filled_qty >= filled: assigns the value it has",
    f"{_STEP}ingest__mutmut_21": "filled_qty >= filled: assigns the value it has",
    f"{_STEP}_settle_live__mutmut_4": "working -2: only working < 0 is read",
    f"{_STEP}_settle_live__mutmut_9": _TRUTH,
    f"{_STEP}_settle_live__mutmut_10": _TRUTH,
    f"{_STEP}_settle_live__mutmut_11": _TRUTH,
    f"{_STEP}_beyond_design__mutmut_10": "design negated: only abs(design) is read",
    f"{_STEP}_beyond_design__mutmut_23": "beyond == 0 returns 0 either way",
    f"{_STEP}_beyond_design__mutmut_27": "actual is never 0 when beyond > 0",
    f"{_STEP}_overfill__mutmut_24": "beyond is never 0 there (no flatten when it is)",
    f"{_BOOK}_attach_fill__mutmut_52": "partially_filled only resolves WORKING; a fill's "
    "trigger (PARTIALLY_FILLED / FILLED) never leads there",
    f"{_BOOK}_attach_fill__mutmut_56": "as _52",
    f"{_RISK}_plain_resting__mutmut_18": "sum() from int 0 instead of Decimal(0): equal values",
    f"{_STEP}_settle_waiting__mutmut_67": "going live reported as settling: one more pass of "
    "finish(), which changes nothing",
    f"{_STEP}_status__mutmut_17": "traded None instead of False: same truth",
    "_EXPIRED, _REJECTED[swapped]": "both are read only in one symmetric `or`",
}


@dataclass
class Score:
    killed: list[str] = field(default_factory=list)
    survived: list[str] = field(default_factory=list)
    other: list[tuple[str, str]] = field(default_factory=list)  # no tests, suspicious...

    @property
    def total(self) -> int:
        return len(self.killed) + len(self.survived) + len(self.other)

    def add(self, other: Score) -> None:
        self.killed += other.killed
        self.survived += other.survived
        self.other += other.other


# -- the snapshot ------------------------------------------------------------------------------


def make_snapshot(rev: str, overlay: Sequence[str]) -> Path:
    work = Path(tempfile.mkdtemp(prefix="mmoms-mutation-"))
    archive = subprocess.run(
        ["git", "archive", rev, "src", "tests", "pyproject.toml"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(work)], input=archive, check=True)
    for rel in overlay:
        src = ROOT / rel
        if src.is_dir():
            shutil.copytree(src, work / rel, dirs_exist_ok=True)
        else:
            (work / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, work / rel)
    return work


def pytest_env(work: Path) -> dict[str, str]:
    env = dict(os.environ)
    # The snapshot's src first: the venv's editable install points at the working tree.
    env["PYTHONPATH"] = str(work / "src")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


# -- 1. mutmut -----------------------------------------------------------------------------------


def mutmut_config(modules: Sequence[str]) -> str:
    only = ", ".join(f'"{MODULES[m][0]}"' for m in modules)
    selection = ", ".join(f'"{d}"' for d in TEST_DIRS)
    ignore = ", ".join(f'"--ignore={t}"' for t in IGNORED_TESTS)
    return (
        "\n[tool.mutmut]\n"
        'source_paths = ["src"]\n'
        f"only_mutate = [{only}]\n"
        f"pytest_add_cli_args_test_selection = [{selection}]\n"
        f"pytest_add_cli_args = [{ignore}]\n"
        "use_git_change_detection = false\n"
        # A mutant that loops forever is killed after 3x its tests' clean time (mutmut's
        # default, 15x, is a quarter of an hour for a function the engine tests cover).
        "timeout_multiplier = 3.0\n"
    )


def run_mutmut(work: Path, modules: Sequence[str], max_children: int) -> dict[str, Score]:
    with (work / "pyproject.toml").open("a", encoding="utf-8") as f:
        f.write(mutmut_config(modules))
    mutmut = Path(sys.executable).with_name("mutmut")
    log = work / "mutmut.log"
    print(f"mutmut: running in {work} (log: {log})", flush=True)
    with log.open("w", encoding="utf-8") as out:
        done = subprocess.run(
            [str(mutmut), "run", "--max-children", str(max_children)],
            cwd=work,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if done.returncode != 0:
        print(log.read_text(encoding="utf-8")[-4000:], file=sys.stderr)
        raise SystemExit(f"mutmut run failed ({done.returncode})")
    return mutmut_results(work, modules)


def mutmut_results(work: Path, modules: Sequence[str]) -> dict[str, Score]:
    """The verdicts mutmut wrote in ``work/mutants`` (one ``.meta`` file per module)."""
    from mutmut.stats import status_by_exit_code

    scores: dict[str, Score] = {}
    for name in modules:
        meta = work / "mutants" / (MODULES[name][0] + ".meta")
        score = Score()
        data = json.loads(meta.read_text(encoding="utf-8"))
        for key, code in sorted(data["exit_code_by_key"].items()):
            status = status_by_exit_code[code]
            if status in ("killed", "timeout", "caught by type check", "segfault"):
                score.killed.append(key)
            elif status == "survived":
                score.survived.append(key)
            else:
                score.other.append((key, status))
        scores[name] = score
    return scores


# -- 2. the tables -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableMutant:
    name: str
    source: str


def _entries(value: ast.expr) -> list[tuple[ast.expr | None, ast.expr]] | None:
    """The entries of a table literal: (key, value) for a dict, (None, element) otherwise."""
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
        if value.func.id in ("frozenset", "set", "tuple") and len(value.args) == 1:
            value = value.args[0]
        else:
            return None
    if isinstance(value, ast.Dict):
        return [(k, v) for k, v in zip(value.keys, value.values, strict=True) if k is not None]
    if isinstance(value, ast.Set | ast.Tuple | ast.List):
        return [(None, e) for e in value.elts]
    return None


def _offset(lines: list[str], lineno: int, col: int) -> int:
    return sum(len(line) for line in lines[: lineno - 1]) + len(
        lines[lineno - 1].encode("utf-8")[:col].decode("utf-8")
    )


def table_mutants(source: str) -> Iterator[TableMutant]:
    """Delete each entry of each module-level table; give each dict entry a wrong value."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)

    def span(node: ast.expr) -> tuple[int, int]:
        assert node.end_lineno is not None
        assert node.end_col_offset is not None
        return (
            _offset(lines, node.lineno, node.col_offset),
            _offset(lines, node.end_lineno, node.end_col_offset),
        )

    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target, value = stmt.targets[0], stmt.value
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            target, value = stmt.target, stmt.value
        else:
            continue
        if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple):
            # `_A, _B = X, Y` (aliases of enum members): swap the two values.
            if len(value.elts) == 2:
                (s0, e0), (s1, e1) = span(value.elts[0]), span(value.elts[1])
                a, b = source[s0:e0], source[s1:e1]
                names = ", ".join(ast.unparse(t) for t in target.elts)
                yield TableMutant(
                    f"{names}[swapped]", source[:s0] + b + source[e0:s1] + a + source[e1:]
                )
            continue
        if not isinstance(target, ast.Name):
            continue
        entries = _entries(value)
        if not entries:
            continue
        table = target.id
        for key, val in entries:
            start = span(key)[0] if key is not None else span(val)[0]
            end = span(val)[1]
            label = ast.get_source_segment(source, key if key is not None else val) or "?"
            label = " ".join(label.split())
            rest = source[end:]
            stripped = rest.lstrip(" ")
            cut = end + (len(rest) - len(stripped)) + (1 if stripped.startswith(",") else 0)
            yield TableMutant(f"{table}[del {label}]", source[:start] + source[cut:])
            if key is None:
                continue
            text = ast.get_source_segment(source, val) or ""
            others = [ast.get_source_segment(source, v) or "" for _, v in entries]
            index = others.index(text) if text in others else 0
            wrong = next(
                (o for o in others[index + 1 :] + others[:index] if o != text),
                None,
            )
            if wrong is None:
                continue
            vs, ve = span(val)
            yield TableMutant(
                f"{table}[{label} -> {' '.join(wrong.split())}]",
                source[:vs] + wrong + source[ve:],
            )


def run_tables(work: Path, modules: Sequence[str]) -> dict[str, Score]:
    env = pytest_env(work)
    scores: dict[str, Score] = {}
    for name in modules:
        rel, first = MODULES[name]
        path = work / rel
        original = path.read_text(encoding="utf-8")
        mutants = list(table_mutants(original))
        score = Score()
        print(f"tables of {rel}: {len(mutants)} mutants", flush=True)
        started = time.monotonic()
        try:
            for i, mutant in enumerate(mutants, 1):
                compile(mutant.source, rel, "exec")  # a mutant must at least be valid Python
                path.write_text(mutant.source, encoding="utf-8")
                # The module's own tests first (quick to collect), then everything.
                code = _pytest(work, env, [first])
                if code == 0:
                    code = _pytest(work, env, list(TEST_DIRS))
                if code == 0:
                    score.survived.append(mutant.name)
                elif code in (1, 2, 3, -1):  # failed, errored at collection, internal, timeout
                    score.killed.append(mutant.name)
                else:
                    score.other.append((mutant.name, f"pytest exit {code}"))
                mark = "survived" if code == 0 else "killed"
                print(f"  [{i}/{len(mutants)}] {mark:8} {mutant.name}", flush=True)
        finally:
            path.write_text(original, encoding="utf-8")
        print(f"  ({time.monotonic() - started:.0f} s)", flush=True)
        scores[name] = score
    return scores


def _pytest(work: Path, env: dict[str, str], paths: list[str]) -> int:
    """Run ``paths``, stopping at the first failure; -1 on a timeout."""
    args = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:randomly"]
    args += [f"--ignore={t}" for t in IGNORED_TESTS]
    try:
        done = subprocess.run(
            [*args, *paths],
            cwd=work,
            env=env,
            capture_output=True,
            timeout=TABLE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return -1
    return done.returncode


def check_clean(work: Path) -> None:
    """The unmutated snapshot must pass, or every mutant would look killed."""
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", *TEST_DIRS]
    args += [f"--ignore={t}" for t in IGNORED_TESTS]
    done = subprocess.run(args, cwd=work, env=pytest_env(work), capture_output=True, text=True)
    if done.returncode != 0:
        print(done.stdout[-4000:], file=sys.stderr)
        raise SystemExit("the unmutated snapshot fails its tests: fix that first")


# -- the report --------------------------------------------------------------------------------


def report(by_kind: dict[str, dict[str, Score]], modules: Sequence[str]) -> bool:
    kinds = list(by_kind)
    print()
    header = f"{'module':8} {'kind':8} {'mutants':>7} {'killed':>6} {'survived':>8} {'other':>5}"
    header += f" {'score':>7} {'w/o equiv':>9} {'target':>6}"
    print(header)
    print("-" * len(header))
    ok = True
    for name in modules:
        total = Score()
        for kind in kinds:
            s = by_kind[kind].get(name)
            if s is None:
                continue
            total.add(s)
            print(_row(name, kind, s, ""))
        if len(kinds) > 1:
            line = _row(name, "all", total, f"{TARGETS[name]:5.0f}%")
            print(line)
            ok = ok and _adjusted(total) >= TARGETS[name]
        print()
    for name in modules:
        for kind in kinds:
            s = by_kind[kind].get(name)
            if s is None:
                continue
            for m in s.survived:
                tag = "  (equivalent)" if m in EQUIVALENT else ""
                print(f"survived  {name:5} {kind:7} {m}{tag}")
            for m, why in s.other:
                print(f"{why:9} {name:5} {kind:7} {m}")
    return ok


def _adjusted(s: Score) -> float:
    equivalent = sum(1 for m in s.survived if m in EQUIVALENT)
    counted = s.total - equivalent
    return 100.0 * len(s.killed) / counted if counted else 100.0


def _row(name: str, kind: str, s: Score, target: str) -> str:
    score = 100.0 * len(s.killed) / s.total if s.total else 100.0
    return (
        f"{name:8} {kind:8} {s.total:7} {len(s.killed):6} {len(s.survived):8} {len(s.other):5}"
        f" {score:6.1f}% {_adjusted(s):8.1f}% {target:>6}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rev", default="HEAD", help="revision to snapshot (default HEAD)")
    parser.add_argument(
        "--overlay", nargs="*", default=[], help="working-tree paths copied over the snapshot"
    )
    parser.add_argument("--module", action="append", choices=sorted(MODULES), default=None)
    kind = parser.add_mutually_exclusive_group()
    kind.add_argument("--tables-only", action="store_true")
    kind.add_argument("--mutmut-only", action="store_true")
    parser.add_argument("--max-children", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the snapshot (for mutmut show)")
    parser.add_argument(
        "--reuse",
        type=Path,
        help="a snapshot kept by an earlier run whose mutmut run finished: read its results",
    )
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    modules = args.module or list(MODULES)

    work = make_snapshot(args.rev, args.overlay)
    print(f"snapshot of {args.rev} (+{len(args.overlay)} overlaid) in {work}", flush=True)
    try:
        check_clean(work)
        by_kind: dict[str, dict[str, Score]] = {}
        if args.reuse is not None:
            by_kind["mutmut"] = mutmut_results(args.reuse, modules)
        elif not args.tables_only:
            by_kind["mutmut"] = run_mutmut(work, modules, args.max_children)
        if not args.mutmut_only:
            by_kind["tables"] = run_tables(work, modules)
        ok = report(by_kind, modules)
        if args.json:
            args.json.write_text(
                json.dumps(
                    {
                        kind: {
                            m: {"killed": s.killed, "survived": s.survived, "other": s.other}
                            for m, s in scores.items()
                        }
                        for kind, scores in by_kind.items()
                    },
                    indent=1,
                ),
                encoding="utf-8",
            )
    finally:
        if args.keep:
            print(f"snapshot kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
