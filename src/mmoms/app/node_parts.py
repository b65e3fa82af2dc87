"""The node's start-up pieces: the embedded simulator, the journal's place, the identity a
journal is claimed with, waiting for the first reconciliation. Each says plainly what went wrong.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from mmoms.app.config import RunConfig, VenueKind
from mmoms.core.errors import MmomsError
from mmoms.core.reports import BalanceReport
from mmoms.engine.oms import OrderManager
from mmoms.journal.store import JournalStore
from mmoms.venues.binance.config import BinanceConfig
from mmoms.venues.binance.signing import Credentials
from mmoms.venues.gateway import ExchangeGateway

if TYPE_CHECKING:
    from mmoms.sim.server import SimServer

__all__ = [
    "RECONCILE_TIMEOUT_S",
    "StartError",
    "balances",
    "close_quietly",
    "journal_identity",
    "journal_path",
    "open_store",
    "start_sim",
    "until_reconciled",
]

log = logging.getLogger("mmoms.node")

RECONCILE_TIMEOUT_S = 30.0
PROGRAM = "mmoms run"  # how a second process on the journal is told who holds it
EMBEDDED = "embedded"


class StartError(MmomsError):
    """The node cannot start; the message says why in one line."""


async def start_sim(config: RunConfig) -> tuple[SimServer, BinanceConfig, Credentials]:
    """The embedded simulator on a free port, with an account whose key pair lives in memory.

    Raises:
        OSError: no port could be bound.
    """
    from mmoms.app.stack import demo_sim_config, start_local_sim

    sim = await start_local_sim(demo_sim_config(config.venue.sim_seed))
    server = sim.server
    v = config.venue.binance
    binance = BinanceConfig.local(
        server.rest_url,
        server.ws_url,
        order_transport=v.order_transport,
        recv_window_ms=v.recv_window_ms,
        request_timeout_s=v.request_timeout_s,
    )
    return server, binance, sim.credentials


def journal_identity(config: RunConfig, binance: BinanceConfig) -> tuple[str, str]:
    """(venue kind, endpoint) the journal is claimed with; the gateway adds the account.

    The embedded simulator's port changes every run: its endpoint is "embedded".
    """
    kind = config.venue.kind
    return kind.value, EMBEDDED if kind is VenueKind.SIM else binance.rest_url


def journal_path(config: RunConfig, override: str | None) -> Path | None:
    """The SQLite file to use; None when the journal is PostgreSQL."""
    if override is not None:
        return Path(override)
    if config.journal.postgres_dsn is not None:
        return None
    if config.journal.sqlite_path is not None:
        return config.journal.sqlite_path
    kind = config.venue.kind.value
    if config.venue.kind is VenueKind.SIM:  # a fresh simulator: a fresh journal
        return Path("runs") / time.strftime(f"{kind}-%Y%m%d-%H%M%S") / "journal.sqlite"
    return Path("runs") / kind / "journal.sqlite"  # stable: a restart recovers from it


def open_store(config: RunConfig, override: str | None) -> tuple[JournalStore, str]:
    """The journal store (not opened yet) and where it is, for people.

    Raises:
        StartError: the journal's directory cannot be made (e.g. its parent is a file).
    """
    path = journal_path(config, override)
    if path is None:
        from mmoms.journal.postgres import PostgresJournalStore

        dsn = config.journal.postgres_dsn
        assert dsn is not None
        store = PostgresJournalStore(dsn, schema=config.journal.postgres_schema, program=PROGRAM)
        return store, config.journal.describe()
    from mmoms.journal.sqlite import SqliteJournalStore

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise StartError(f"cannot make the journal's directory {path.parent}: {reason}") from None
    durability = config.journal.durability
    sqlite = SqliteJournalStore(path, program=PROGRAM, durability=durability)
    return sqlite, str(path)  # the ready line's journal= field: one token


async def until_reconciled(
    oms: OrderManager, engine: asyncio.Task[None], stop: asyncio.Event
) -> bool:
    """Wait for the first reconciliation (True), a stop, the engine's end or the timeout."""
    reconciled = asyncio.Event()

    def after_batch() -> None:
        if oms.metrics.reconciliations:
            reconciled.set()

    oms.add_batch_listener(after_batch)
    after_batch()
    waiters = {asyncio.create_task(reconciled.wait()), asyncio.create_task(stop.wait())}
    done, _ = await asyncio.wait(
        {*waiters, engine}, timeout=RECONCILE_TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED
    )
    for waiter in waiters:
        waiter.cancel()
    await asyncio.gather(*waiters, return_exceptions=True)
    if reconciled.is_set():
        return True
    if stop.is_set():
        print("mmoms: stopped during start-up; nothing was sent", file=sys.stderr)
        return False
    why = "the engine stopped" if engine in done else f"not within {RECONCILE_TIMEOUT_S:.0f} s"
    print(
        f"mmoms: could not reconcile with the venue ({why}); check the URLs and the network, "
        "and the log above",
        file=sys.stderr,
    )
    return False


async def balances(gateway: ExchangeGateway) -> list[BalanceReport]:
    try:
        return await gateway.balances()
    except MmomsError as exc:
        log.warning("balances not available: %s", exc)
        return []


async def close_quietly(gateway: ExchangeGateway, store: JournalStore) -> None:
    """After a failed start: release what may have been opened; the start error is reported."""
    for close in (gateway.close, store.close):
        try:
            await close()
        except (MmomsError, OSError) as exc:
            log.warning("while cleaning up after the failed start: %s", exc)
