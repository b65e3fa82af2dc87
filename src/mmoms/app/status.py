"""``mmoms status``: open orders, positions, balances and health of a running ``mmoms run``.

How it finds the instance: over HTTP, from the JSON ``/status`` endpoint that ``mmoms run``
serves next to ``/metrics`` (see :mod:`mmoms.app.metrics`). ``--url`` names it; ``--config``
takes host and port from a run configuration's ``[metrics]``; with neither it tries
``http://127.0.0.1:9108`` (the port of ``examples/sim.toml``). Why HTTP and not a pid file or the
journal: the instance may run on another host or in a container, the journal holds orders but
not health, and the endpoint already exists for Prometheus — one door, one set of numbers.

The same renderer shows ``mmoms run --dry-run``'s state, so both read alike.

Exit status: 0 healthy, 1 degraded (problems listed), 3 no instance answered, 2 bad usage.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import aiohttp
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

__all__ = ["DEFAULT_URL", "fetch_status", "main", "render_status"]

DEFAULT_URL = "http://127.0.0.1:9108"
EXIT_OK, EXIT_DEGRADED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    url = args.url
    if url is None and args.config is not None:
        from mmoms.app.config import ConfigError, load_config

        try:
            metrics = load_config(args.config).metrics
        except ConfigError as exc:
            print(f"config error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        if not metrics.port:
            print(
                f"{args.config} has no [metrics] port, so its instance serves no status; "
                "set [metrics] port and restart it, or pass --url",
                file=sys.stderr,
            )
            return EXIT_USAGE
        url = f"http://{metrics.host}:{metrics.port}"
    url = (url or DEFAULT_URL).rstrip("/")
    try:
        doc = asyncio.run(fetch_status(url, args.timeout))
    except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
        print(
            f"no mmoms instance answered at {url}/status ({_reason(exc)}).\n"
            "Is 'mmoms run' running with a [metrics] port? Point at it with --url "
            "http://HOST:PORT or --config FILE.",
            file=sys.stderr,
        )
        return EXIT_UNREACHABLE
    if args.json:
        print(json.dumps(doc, indent=2, sort_keys=True))
    else:
        Console(width=args.width).print(render_status(doc, title=f"mmoms status — {url}"))
    return EXIT_OK if doc.get("health", {}).get("status") == "ok" else EXIT_DEGRADED


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mmoms status",
        description="Show open orders, positions, balances and health of a running "
        "'mmoms run' (read from its /status endpoint, served next to /metrics).",
        epilog="Exit status: 0 healthy, 1 degraded, 2 bad usage, 3 no instance answered.",
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument("--url", help=f"the instance's metrics URL (default {DEFAULT_URL})")
    where.add_argument("--config", type=Path, help="take host and port from this run config")
    p.add_argument("--json", action="store_true", help="print the raw JSON document")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds to wait (default 5)")
    p.add_argument("--width", type=int, default=None, help="terminal width for the tables")
    return p


async def fetch_status(url: str, timeout_s: float = 5.0) -> dict[str, Any]:
    """GET ``{url}/status``.

    Raises:
        aiohttp.ClientError / OSError / TimeoutError: nothing answered, or not with 200.
        ValueError: the answer is not a status document.
    """
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.get(f"{url}/status") as resp,
    ):
        resp.raise_for_status()
        doc = await resp.json()
    if not isinstance(doc, dict) or "health" not in doc:
        raise ValueError("the answer is not an mmoms status document")
    return doc


def render_status(doc: Mapping[str, Any], *, title: str = "mmoms status") -> Group:
    """Tables for people: summary and health, open orders, positions, balances."""
    health = doc.get("health", {})
    ok = health.get("status") == "ok"
    head = Text.assemble(
        (f"{title}\n", "bold"),
        f"venue {doc.get('venue')}{'  (dry run)' if doc.get('dry_run') else ''}  "
        f"pid {doc.get('pid')}  up {doc.get('uptime_s')} s  symbols {', '.join(doc['symbols'])}\n",
        ("health: OK" if ok else "health: DEGRADED", "green" if ok else "bold red"),
    )
    for problem in health.get("problems", []):
        head.append(f"\n  - {problem}", style="red")
    return Group(head, _orders(doc), _positions(doc), _balances(doc), _engine(doc))


def _orders(doc: Mapping[str, Any]) -> Table:
    orders = doc.get("open_orders", [])
    table = Table(title=f"open orders ({len(orders)})", expand=True)
    for col in ("symbol", "side", "price", "quantity", "filled", "status", "client id", "tag"):
        table.add_column(col)
    for o in orders:
        table.add_row(
            o["symbol"],
            o["side"],
            o["price"] or "-",
            o["quantity"],
            o["filled"],
            o["status"],
            o["client_order_id"] + (" (external)" if o.get("external") else ""),
            o.get("tag") or "",
        )
    return table


def _positions(doc: Mapping[str, Any]) -> Table:
    table = Table(title="positions", expand=True)
    for col in ("symbol", "bid / ask", "ours (fills)", "venue", "entry", "unrealized PnL"):
        table.add_column(col)
    market = doc.get("market", {})
    for symbol, p in doc.get("positions", {}).items():
        top = market.get(symbol)
        table.add_row(
            symbol,
            f"{top['bid']} / {top['ask']}" if top else "-",
            p["ours"],
            p["venue"] or "-",
            p["entry_price"] or "-",
            p["unrealized_pnl"] or "-",
        )
    return table


def _balances(doc: Mapping[str, Any]) -> Table:
    table = Table(title="balances", expand=True)
    for col in ("asset", "wallet", "available"):
        table.add_column(col)
    for asset, b in doc.get("balances", {}).items():
        table.add_row(asset, b["wallet"], b["available"] or "-")
    return table


def _engine(doc: Mapping[str, Any]) -> Table:
    e = doc.get("engine", {})
    table = Table(title="engine", expand=True, show_header=False)
    table.add_column("what")
    table.add_column("value")
    table.add_row(
        "requests / actions (saved)",
        f"{e.get('requests')} / {e.get('actions')} ({e.get('actions_saved')})",
    )
    table.add_row(
        "reconciliations (differences)",
        f"{e.get('reconciliations')} ({e.get('reconciliation_differences')})",
    )
    table.add_row("stream connects", str(e.get("stream_gaps")))
    table.add_row(
        "rate limits",
        "  ".join(f"{r['pool']} {r['used']}/{r['limit']}" for r in e.get("rate_limits", [])),
    )
    table.add_row(
        "latency p50/p99 µs",
        "  ".join(f"{s} {v['p50']}/{v['p99']}" for s, v in e.get("latency_us", {}).items()),
    )
    table.add_row("API errors", str(e.get("api_errors") or "none"))
    table.add_row("risk rejections", str(e.get("risk_rejections") or "none"))
    return table


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"HTTP {exc.status}"
    return type(exc).__name__ if not str(exc) else str(exc)
