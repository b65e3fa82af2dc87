"""A real OMS process for the group crash tests (``tests/e2e/test_group_crash.py``).

    python -m tests.e2e.group_worker --rest URL --ws URL --journal PATH \\
        --scenario oco|bracket --phase place|resume --center PRICE [--group-id ID]

The simulator runs in a process of its own; its API key pair comes in through
``MMOMS_BINANCE_API_KEY`` / ``MMOMS_BINANCE_API_SECRET``. Progress goes to stdout as one JSON
object per line (``{"event": ...}``), which the test waits on.

* ``place``: start, place the scenario's group, report ``legs-live`` (OCO) or ``placed``
  (bracket), then keep running. The test arms a failpoint (``MMOMS_FAILPOINTS``) that kills
  this process with SIGKILL when the fill's follow-up is committed (or answered).
* ``resume``: start from the journal, report ``protected`` once a bracket's exits are working,
  run until the group is over, stop cleanly and report ``done`` with the group's state.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from decimal import Decimal as D
from typing import Any

from mmoms.app.stack import demo_oms_config
from mmoms.contingent import bracket, limit, oco
from mmoms.contingent.spec import Group
from mmoms.core.enums import OrderStatus, Side
from mmoms.core.ids import ClientOrderId, GroupId, StrategyId, Symbol
from mmoms.engine.oms import OrderManager
from mmoms.journal.sqlite import SqliteJournalStore
from mmoms.venues.binance.config import BinanceConfig
from mmoms.venues.binance.gateway import BinanceGateway
from mmoms.venues.binance.signing import Credentials

BTC = Symbol("BTCUSDC")
QTY = D("0.002")
S = StrategyId("crash")
GROUP = {"oco": GroupId("o1"), "bracket": GroupId("b1")}


def the_group(scenario: str, group_id: GroupId, center: D) -> Group:
    if scenario == "oco":  # leg b far enough that the market cannot reach it by chance
        legs = [limit(Side.BUY, QTY, center - 80), limit(Side.BUY, QTY, center - 1500)]
        return oco(group_id, BTC, legs)
    return bracket(  # MARKET entry: it fills at once, and its follow-up is the exits
        group_id, BTC, Side.BUY, QTY, take_profit_price=center + 300,
        stop_price=center - 300,
    )  # fmt: skip


def say(event: str, **detail: Any) -> None:
    print(json.dumps({"event": event, **detail}, default=str), flush=True)


class Worker:
    def __init__(self, oms: OrderManager, group_id: GroupId) -> None:
        self.oms = oms
        self.group_id = group_id
        self.changed = asyncio.Event()
        oms.add_batch_listener(self.changed.set)

    async def until(self, cond: Any) -> None:
        while not cond():
            self.changed.clear()
            await self.changed.wait()

    def status(self, leg: str) -> OrderStatus | None:
        order = self.oms.book.get(BTC, ClientOrderId(f"{self.group_id}-{leg}"))
        return None if order is None else order.status

    def working(self, *legs: str) -> bool:
        return all(self.status(leg) is OrderStatus.NEW for leg in legs)

    def over(self) -> bool:
        state = self.oms.group(self.group_id)
        return state is not None and state.status.is_terminal

    def report(self) -> dict[str, Any]:
        state = self.oms.group(self.group_id)
        stats = self.oms.group_stats()
        ours = [o for o in self.oms.book.orders(BTC) if o.group_id == self.group_id]
        return {
            "group": None if state is None else state.status.value,
            "orders": {o.client_order_id: o.status.value for o in ours},
            "worst_unprotected_ns": stats.worst_unprotected_ns,
            "unprotected_now": dict(stats.unprotected_now),
            "protected": stats.protected,
            "overfills": stats.overfills,
            "api_errors": self.oms.metrics.api_errors,
            "anomalies": self.oms.book.anomaly_count,
            "position": str(self.oms.position(BTC)),
        }


async def run(args: argparse.Namespace) -> None:
    key = os.environ.pop("MMOMS_BINANCE_API_KEY")
    secret = os.environ.pop("MMOMS_BINANCE_API_SECRET")
    gateway = BinanceGateway(BinanceConfig.local(args.rest, args.ws), Credentials.hmac(key, secret))
    store = SqliteJournalStore(args.journal)
    oms = OrderManager(gateway, store, demo_oms_config((BTC,), reconcile_interval_s=3600.0))
    await oms.start()
    center = D(args.center)
    oms.set_reference_price(BTC, center)
    loop = asyncio.create_task(oms.run())
    group_id = GroupId(args.group_id or GROUP[args.scenario])
    worker = Worker(oms, group_id)
    say("ready")
    if args.phase == "place":
        oms.place_group(S, the_group(args.scenario, group_id, center))
        if args.scenario == "oco":
            await worker.until(lambda: worker.working("a", "b"))
            say("legs-live")
        else:
            say("placed")
        await asyncio.Event().wait()  # until the failpoint kills us
    if args.scenario == "bracket":
        await worker.until(lambda: worker.working("sl", "tp") or worker.over())
        say("protected", **worker.report())
    await worker.until(worker.over)
    await oms.stop(cancel_orders=True)
    await loop
    await oms.close()
    say("done", **worker.report())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rest", required=True)
    parser.add_argument("--ws", required=True)
    parser.add_argument("--journal", required=True)
    parser.add_argument("--scenario", choices=sorted(GROUP), required=True)
    parser.add_argument("--phase", choices=("place", "resume"), required=True)
    parser.add_argument("--center", required=True)
    parser.add_argument("--group-id", help="default: o1 (oco), b1 (bracket)")
    asyncio.run(run(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
