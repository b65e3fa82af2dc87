"""``mmoms soak --duration SECONDS --seed N``: the chaos soak (see :mod:`mmoms.soak`).

Prints the report table at the end (and ``--report-json FILE`` writes it as JSON). Progress and
breaches are logged to stderr as they happen. The run's directory (journal, simulator and OMS
logs) is kept: it is the evidence when something breached.

Exit status: 0 no breach, 1 at least one breach, 2 usage or setup error.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

from mmoms.soak.orchestrator import Soak, SoakOptions
from mmoms.soak.report import render, to_json
from mmoms.soak.simproc import SoakSetupError

__all__ = ["main"]

EXIT_OK, EXIT_BREACH, EXIT_USAGE = 0, 1, 2
MIN_DURATION_S = 20.0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mmoms soak",
        description="Chaos soak: the simulator with injected faults, the OMS in its own process "
        "(killed with SIGKILL and restarted from its journal), invariants checked at quiet "
        "points and at the end. CI: 120-180 s; full: 1800 s.",
    )
    p.add_argument("--duration", type=float, required=True, help="seconds of trading")
    p.add_argument("--seed", type=int, required=True, help="seed of every random choice")
    p.add_argument(
        "--workdir",
        type=Path,
        help="run directory (journal, logs); default runs/soak-<time>-seed<N>",
    )
    p.add_argument("--report-json", type=Path, help="also write the report here as JSON")
    p.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    # Debugging aid: slip an order nobody placed into the first truth read. The run must fail.
    p.add_argument("--inject-breach", action="store_true", help=argparse.SUPPRESS)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return EXIT_OK if exc.code == 0 else EXIT_USAGE
    if args.duration < MIN_DURATION_S:
        print(f"mmoms soak: --duration must be at least {MIN_DURATION_S:.0f} s", file=sys.stderr)
        return EXIT_USAGE
    logging.basicConfig(
        level=args.log_level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s"
    )
    workdir = args.workdir or Path("runs") / time.strftime(f"soak-%Y%m%d-%H%M%S-seed{args.seed}")
    options = SoakOptions(
        duration_s=args.duration, seed=args.seed, workdir=workdir, inject_breach=args.inject_breach
    )
    try:
        result = asyncio.run(Soak(options).run())
    except SoakSetupError as exc:
        print(f"mmoms soak: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception:  # the soak's own failure must not read as "the OMS breached" (exit 1)
        traceback.print_exc()
        print(f"mmoms soak: internal error; the run's files are in {workdir}", file=sys.stderr)
        return EXIT_USAGE
    print(render(result), flush=True)
    if args.report_json is not None:
        args.report_json.write_bytes(to_json(result))
    return EXIT_BREACH if result.breaches else EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
