"""The ``mmoms`` command line: one entry point, a sub-command per tool.

Sub-commands import their modules lazily so that ``mmoms --help`` stays fast and a broken
optional component cannot stop the others from running.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

_SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "demo": (
        "mmoms.demo",
        "run the embedded simulator with a live view (the README's first command)",
    ),
    "run": ("mmoms.app.run", "run the OMS and the quoter against a venue from a TOML config"),
    "status": ("mmoms.app.status", "show open orders, positions and health of a running 'run'"),
    "sim": ("mmoms.sim.cli", "start the Binance USD-M compatible exchange simulator"),
    "replay": ("mmoms.journal.replay_cli", "rebuild state from a journal; timelines; export"),
    "soak": ("mmoms.soak.cli", "chaos soak: faults, kill -9 and restarts, invariants checked"),
}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        _parser().print_help()
        return 0 if args else 2
    name, rest = args[0], args[1:]
    if name not in _SUBCOMMANDS:
        _parser().print_usage(sys.stderr)
        print(f"mmoms: unknown command {name!r}; try 'mmoms --help'", file=sys.stderr)
        return 2
    module_name, _ = _SUBCOMMANDS[name]
    module = __import__(module_name, fromlist=["main"])
    run: Callable[[list[str]], int] = module.main
    return run(rest)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mmoms",
        description="mmoms: the execution layer of a crypto market maker.",
        epilog="Run 'mmoms COMMAND --help' for the options of one command.",
    )
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name, (_, help_text) in _SUBCOMMANDS.items():
        sub.add_parser(name, help=help_text)
    return parser


if __name__ == "__main__":
    raise SystemExit(main())
