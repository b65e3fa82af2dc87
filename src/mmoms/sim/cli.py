"""``mmoms sim``: run the Binance USDⓈ-M compatible simulator on one port.

When it is ready it prints exactly one line to stdout and flushes it::

    mmoms-sim ready rest=http://127.0.0.1:PORT ws=ws://127.0.0.1:PORT

so scripts can start it with ``--port 0`` and read the URL. Everything else goes to stderr.

Credentials, in order of precedence: ``--api-key``/``--api-secret``, then the environment
(``MMOMS_SIM_API_KEY`` / ``MMOMS_SIM_API_SECRET``), then the ``[[accounts]]`` of ``--config``.
With none of them a random pair is generated: the key is logged to stderr, the secret only with
``--show-secret`` (a secret printed by default would end up in CI logs and terminal scroll-back).
``--balance ASSET=AMOUNT`` sets that balance on every account. SIGINT / SIGTERM stop cleanly.

Testing aids: ``--virtual-time`` runs the exchange on a test clock that only
``POST /admin/time/advance`` moves; ``--fault JSON`` (and the shorthands ``--latency``,
``--clock-skew-ms``, ``--stale-read-ms``) start with fault rules active, drawn from
``--fault-seed``; the admin endpoints (listed in :mod:`mmoms.sim.server`) change them at run time
unless ``--no-admin``. Flags add to the rules of the config file's ``[faults]`` section.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import os
import secrets
import signal
import sys
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from mmoms.sim.config import (
    ConfigError,
    FaultSettings,
    ServerSettings,
    SimSettings,
    check_fault_rules,
    load_settings,
    parse_settings,
)
from mmoms.sim.config_model import AccountConfig

__all__ = ["build_settings", "main"]

log = logging.getLogger("mmoms.sim")

READY_PREFIX = "mmoms-sim ready "
ENV_KEY = "MMOMS_SIM_API_KEY"
ENV_SECRET = "MMOMS_SIM_API_SECRET"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mmoms sim",
        description="Run a Binance USD-M futures compatible exchange simulator (REST and "
        "user-data WebSocket on one port). Prints 'mmoms-sim ready rest=URL ws=URL' when ready.",
    )
    parser.add_argument("--host", help="interface to bind (default 127.0.0.1, or [server].host)")
    parser.add_argument(
        "--port", type=int, help="TCP port; 0 picks a free one (default 0, or [server].port)"
    )
    parser.add_argument(
        "--api-key",
        help=f"API key of the trading account (default: ${ENV_KEY}, the config "
        "file's accounts, or a generated key)",
    )
    parser.add_argument(
        "--api-secret", help=f"its HMAC secret (default: ${ENV_SECRET}); give it with the key"
    )
    parser.add_argument(
        "--show-secret",
        action="store_true",
        help="log a generated API secret to stderr (it is hidden otherwise)",
    )
    parser.add_argument(
        "--balance",
        action="append",
        default=[],
        metavar="ASSET=AMOUNT",
        help="starting wallet balance, e.g. USDC=100000; repeatable; applies to every account",
    )
    parser.add_argument("--config", metavar="FILE.toml", help="TOML configuration file")
    parser.add_argument("--seed", type=int, help="random seed of the synthetic market")
    parser.add_argument(
        "--log-level",
        choices=("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"),
        type=str.upper,
        help="log level on stderr (default INFO, or [server].log_level)",
    )
    parser.add_argument(
        "--timing-header",
        action="store_true",
        help="add X-Sim-Handling-Us (server handling time) to every response (benchmarks)",
    )
    testing = parser.add_argument_group("testing: virtual time and fault injection")
    testing.add_argument(
        "--virtual-time",
        action="store_true",
        help='run on a test clock that moves only on POST /admin/time/advance {"ms": N} '
        "(market steps, expiries and injected latency follow it; no wall-clock waits)",
    )
    testing.add_argument(
        "--start-time-ms",
        type=int,
        metavar="MS",
        help="the virtual clock's start, ms since the epoch (default: the wall clock at start)",
    )
    testing.add_argument(
        "--no-admin",
        action="store_true",
        help="do not serve the unauthenticated /admin/* endpoints (faults, time control)",
    )
    testing.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="JSON",
        help='a fault rule active from the start, e.g. \'{"kind": "http_error", "match": '
        '"POST /fapi/v1/order", "variant": "unknown", "probability": 0.1}\'; repeatable; '
        "kinds: latency, http_error, rate_limit, ban, stale_reads, clock_skew, ws_latency, "
        "ws_disconnect, user_event (see mmoms.sim.fault_rules)",
    )
    testing.add_argument(
        "--fault-seed", type=int, metavar="N", help="seed of the fault rules' random draws"
    )
    testing.add_argument(
        "--latency",
        action="append",
        default=[],
        metavar="PATTERN=SPEC",
        help="shorthand for a latency rule: endpoint glob = ms | uniform:LO:HI | exp:MEAN | "
        "normal:MEAN:SD, e.g. 'POST /fapi/v1/order=uniform:5:20'; repeatable",
    )
    testing.add_argument(
        "--clock-skew-ms",
        type=int,
        metavar="MS",
        help="the server clock runs this far ahead (negative: behind) for timestamp checks "
        "and GET /fapi/v1/time, to provoke -1021",
    )
    testing.add_argument(
        "--stale-read-ms",
        type=int,
        metavar="MS",
        help="eventual consistency: an order younger than this answers -2013 to "
        "GET /fapi/v1/order, openOrder and algoOrder",
    )
    return parser


def build_settings(
    args: argparse.Namespace, environ: dict[str, str] | os._Environ[str]
) -> tuple[SimSettings, str | None]:
    """Merge file, environment and flags; return (settings, generated secret or None).

    Raises :class:`ConfigError` for any invalid combination, naming the flag or key.
    """
    settings = load_settings(args.config) if args.config else parse_settings({})
    exchange, server = settings.exchange, settings.server
    key = args.api_key or environ.get(ENV_KEY)
    secret = args.api_secret or environ.get(ENV_SECRET)
    generated: str | None = None
    if bool(key) != bool(secret):
        raise ConfigError("give both an API key and an API secret (flags or environment)")
    if key and secret:
        accounts: tuple[AccountConfig, ...] = (AccountConfig(api_key=key, api_secret=secret),)
    elif exchange.accounts:
        accounts = exchange.accounts
    else:
        generated = secrets.token_hex(32)
        accounts = (AccountConfig(api_key=secrets.token_hex(32), api_secret=generated),)
    balances = _balances(args.balance)
    if balances:
        accounts = tuple(
            dataclasses.replace(a, balances={**a.balances, **balances}) for a in accounts
        )
    exchange = dataclasses.replace(
        exchange, accounts=accounts, seed=exchange.seed if args.seed is None else args.seed
    )
    if args.port is not None and not 0 <= args.port <= 65535:
        raise ConfigError(f"--port must be 0..65535, got {args.port}")
    options = server.options
    if args.timing_header:
        options = dataclasses.replace(options, timing_header=True)
    if args.no_admin:
        options = dataclasses.replace(options, admin=False)
    server = ServerSettings(
        host=args.host or server.host,
        port=server.port if args.port is None else args.port,
        log_level=args.log_level or server.log_level,
        options=options,
        virtual_time=server.virtual_time or args.virtual_time,
        start_time_ms=server.start_time_ms if args.start_time_ms is None else args.start_time_ms,
        faults=_fault_settings(args, server.faults),
    )
    return SimSettings(exchange, server), generated


def _fault_settings(args: argparse.Namespace, base: FaultSettings) -> FaultSettings:
    """The config file's rules plus the flags' (raises :class:`ConfigError`)."""
    rules: list[object] = []
    for text in args.fault:
        try:
            rules.append(json.loads(text))
        except ValueError:
            raise ConfigError(f"--fault expects a JSON object, got {text!r}") from None
    for item in args.latency:
        pattern, sep, spec = item.rpartition("=")
        if not sep or not pattern:
            raise ConfigError(f"--latency expects PATTERN=SPEC, got {item!r}")
        rules.append({"kind": "latency", "match": pattern, "latency": spec})
    if args.clock_skew_ms:
        rules.append({"kind": "clock_skew", "skew_ms": args.clock_skew_ms})
    if args.stale_read_ms:
        rules.append({"kind": "stale_reads", "window_ms": args.stale_read_ms})
    seed = base.seed if args.fault_seed is None else args.fault_seed
    return FaultSettings(seed, base.rules + check_fault_rules(rules, "--fault"))


def _balances(items: list[str]) -> dict[str, str]:
    balances: dict[str, str] = {}
    for item in items:
        asset, sep, amount = item.partition("=")
        if not sep or not asset.isalnum() or not asset.isupper():
            raise ConfigError(f"--balance expects ASSET=AMOUNT like USDC=1000, got {item!r}")
        try:
            value = Decimal(amount)
        except InvalidOperation:
            raise ConfigError(f"--balance {asset}: {amount!r} is not a decimal number") from None
        if not value.is_finite() or value < 0:
            raise ConfigError(f"--balance {asset}: the amount must be a non-negative number")
        balances[asset] = amount
    return balances


async def _serve(settings: SimSettings) -> None:
    from mmoms.sim.clock import LiveSimClock, SimClock, VirtualSimClock
    from mmoms.sim.exchange import SimExchange
    from mmoms.sim.faults import FaultInjector
    from mmoms.sim.server import start_server

    cfg = settings.server
    clock: SimClock = LiveSimClock()
    if cfg.virtual_time:
        start = cfg.start_time_ms if cfg.start_time_ms is not None else clock.time_ms()
        clock = VirtualSimClock(start)
    exchange = SimExchange(clock, settings.exchange)
    faults = FaultInjector(cfg.faults.seed)
    faults.add(cfg.faults.rules, clock.time_ms())
    server = await start_server(cfg.host, cfg.port, exchange, clock, cfg.options, faults)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        print(f"{READY_PREFIX}rest={server.rest_url} ws={server.ws_url}", flush=True)
        await stop.wait()
        log.info("stopping")
    finally:
        await server.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the simulator until SIGINT/SIGTERM; 0 on a clean stop, 2 on a configuration error."""
    args = _parser().parse_args(argv)
    try:
        settings, generated_secret = build_settings(args, os.environ)
    except ConfigError as exc:
        print(f"mmoms sim: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.server.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if generated_secret is not None:
        # Printed for the operator, not logged: log files must never carry credentials.
        print(
            f"mmoms sim: generated API key {settings.exchange.accounts[0].api_key}", file=sys.stderr
        )
        if args.show_secret:
            print(f"mmoms sim: generated API secret {generated_secret}", file=sys.stderr)
        else:
            print(
                f"mmoms sim: the generated secret is hidden; use --show-secret or set {ENV_SECRET}",
                file=sys.stderr,
            )
    try:
        import uvloop

        uvloop.run(_serve(settings))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
