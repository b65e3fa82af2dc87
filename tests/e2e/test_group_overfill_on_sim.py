"""The OCO race on the simulator, through the whole stack: both legs fill before the sibling's
cancel lands.

The simulator holds the cancel back (a latency fault on ``DELETE /fapi/v1/order``) while the
test moves the market through the second leg. The OMS must then catch the overfill the moment
it reads the second fill — before the delayed cancel has even come back — raise the alert,
and flatten the excess with a reduce-only MARKET order (or, with flattening off by config,
only alert). The cancel is finally answered -2011 "Unknown order": that is resolved from the
fill, not reported as an API error. The journal replays to the engine's state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from mmoms.app.stack import EmbeddedStack, demo_oms_config, start_embedded
from mmoms.contingent import GroupStatus, OverfillDetected, limit, oco
from mmoms.core.commands import CancelOrder
from mmoms.core.enums import OrderStatus, Side
from mmoms.core.ids import ClientOrderId, GroupId, StrategyId, Symbol
from mmoms.journal.recovery import recover
from mmoms.journal.sqlite import SqliteJournalStore
from mmoms.sim.config_model import MarketParams, SimConfig, default_symbols
from mmoms.sim.faults import FaultInjector

from .test_oms_on_sim import Waiter, mid, sim_call

BTC = Symbol("BTCUSDC")
S = StrategyId("e2e")
QTY = D("0.002")
CANCEL_DELAY_MS = 2_000  # long enough to move the market through the second leg meanwhile


def still_market(seed: int) -> SimConfig:
    """BTCUSDC moves only when the test moves it: no leg fills by chance."""
    still = MarketParams(level_qty="0.040", volatility_ticks=0.0, trade_probability=0.0)
    symbols = tuple(replace(s, market=still) if s.symbol == BTC else s for s in default_symbols())
    return SimConfig(symbols=symbols, seed=seed)


@dataclass
class Race:
    stack: EmbeddedStack
    trace: list[str]  # engine notifications and cancel replies, in the order they happened
    alerts: list[OverfillDetected]
    journal: Path


def venue_order(stack: EmbeddedStack, cid: str) -> dict[str, Any]:
    found: dict[str, Any] = sim_call(stack, "GET /fapi/v1/order", symbol=BTC, origClientOrderId=cid)
    return found


def venue_position(stack: EmbeddedStack) -> D:
    rows = sim_call(stack, "GET /fapi/v2/positionRisk", symbol=BTC)
    return sum((D(r["positionAmt"]) for r in rows if r["symbol"] == BTC), D(0))


async def run_race(tmp_path: Path, *, flatten: bool) -> Race:
    faults = FaultInjector(seed=4)
    journal = tmp_path / "journal.sqlite"
    stack = await start_embedded(
        journal_path=journal,
        sim_config=still_market(5),
        oms_config=demo_oms_config((BTC,), flatten_overfill=flatten, reconcile_interval_s=3600.0),
        faults=faults,
    )
    oms, waiter = stack.oms, Waiter(stack)
    trace: list[str] = []
    alerts: list[OverfillDetected] = []

    def note(n: object) -> None:
        trace.append(type(n).__name__)
        if isinstance(n, OverfillDetected):
            alerts.append(n)

    oms.add_listener(note)
    cancel = stack.gateway.cancel

    async def traced_cancel(cmd: CancelOrder) -> Any:
        try:
            return await cancel(cmd)
        finally:
            trace.append(f"cancel answered {cmd.client_order_id}")

    stack.gateway.cancel = traced_cancel  # type: ignore[method-assign]

    center = mid(stack).quantize(D("0.1"))
    oms.set_reference_price(BTC, center)
    oms.place_group(
        S, oco("o1", BTC, [limit(Side.BUY, QTY, center - 80), limit(Side.BUY, QTY, center - 160)])
    )
    await waiter.until(both(stack, OrderStatus.NEW))
    faults.add(
        [{"kind": "latency", "match": "DELETE /fapi/v1/order", "latency": CANCEL_DELAY_MS}],
        stack.server.clock.time_ms(),
    )
    stack.exchange.set_mid(BTC, str(center - 120))  # through leg a only
    await waiter.until(lambda: status(stack, "o1-b") is OrderStatus.PENDING_CANCEL)
    assert status(stack, "o1-a") is OrderStatus.FILLED
    stack.exchange.set_mid(BTC, str(center - 240))  # through leg b while its cancel is held
    await waiter.until(lambda: bool(alerts) and status(stack, "o1-b") is OrderStatus.FILLED)
    await waiter.until(lambda: "cancel answered o1-b" in trace and group_done(stack))
    assert [e["endpoint"] for e in faults.entries() if e["kind"] == "latency"] == [
        "DELETE /fapi/v1/order"
    ]  # the one cancel, held back
    return Race(stack, trace, alerts, journal)


def status(stack: EmbeddedStack, cid: str) -> OrderStatus | None:
    order = stack.oms.book.get(BTC, ClientOrderId(cid))
    return None if order is None else order.status


def both(stack: EmbeddedStack, want: OrderStatus) -> Callable[[], bool]:
    return lambda: status(stack, "o1-a") is want and status(stack, "o1-b") is want


def group_done(stack: EmbeddedStack) -> bool:
    state = stack.oms.group(GroupId("o1"))
    return state is not None and state.status is GroupStatus.COMPLETED


async def close_and_replay(race: Race) -> None:
    await race.stack.close(cancel_orders=True)
    live_hash = race.stack.oms.book.state_hash()
    store = SqliteJournalStore(race.journal, create=False)
    await store.open()
    try:
        replayed = await recover(store, use_snapshot=False)
    finally:
        await store.close()
    assert replayed.book.state_hash() == live_hash


def assert_resolved_from_the_fill(race: Race) -> None:
    """Both legs filled on the venue; the late cancel's -2011 is no API error."""
    stack = race.stack
    assert venue_order(stack, "o1-a")["status"] == "FILLED"
    assert venue_order(stack, "o1-b")["status"] == "FILLED"
    assert status(stack, "o1-b") is OrderStatus.FILLED
    assert stack.oms.metrics.api_errors == {}
    assert stack.oms.metrics.cancel_races == 1
    # Detected at once: the alert was out before the held cancel came back.
    assert race.trace.index("OverfillDetected") < race.trace.index("cancel answered o1-b")
    alert = race.alerts[0]
    assert (alert.leg, alert.client_order_id, alert.excess) == ("b", "o1-b", QTY)
    assert len(race.alerts) == 1


@pytest.mark.asyncio
async def test_both_legs_fill_before_the_cancel_lands_then_the_excess_is_flattened(
    tmp_path: Path,
) -> None:
    race = await run_race(tmp_path, flatten=True)
    try:
        assert_resolved_from_the_fill(race)
        stack = race.stack
        assert race.alerts[0].flatten_client_order_id == "o1-flat-1"
        flat = venue_order(stack, "o1-flat-1")
        assert (flat["type"], flat["side"], flat["reduceOnly"]) == ("MARKET", "SELL", True)
        assert (flat["status"], D(flat["executedQty"])) == ("FILLED", QTY)
        assert venue_position(stack) == QTY  # the design: one leg's worth, no more
        assert stack.oms.position(BTC) == QTY
        stats = stack.oms.group_stats()
        assert (stats.overfills, stats.overfill_qty, stats.flattens_sent) == (1, QTY, 1)
    finally:
        await close_and_replay(race)


@pytest.mark.asyncio
async def test_with_flattening_off_by_config_the_overfill_is_only_alerted(
    tmp_path: Path,
) -> None:
    race = await run_race(tmp_path, flatten=False)
    try:
        assert_resolved_from_the_fill(race)
        stack = race.stack
        assert race.alerts[0].flatten_client_order_id is None
        orders = sim_call(stack, "GET /fapi/v1/allOrders", symbol=BTC)
        assert sorted(o["clientOrderId"] for o in orders) == ["o1-a", "o1-b"]  # no flatten
        assert venue_position(stack) == 2 * QTY  # the excess stays: a person decides
        stats = stack.oms.group_stats()
        assert (stats.overfills, stats.flattens_sent) == (1, 0)
    finally:
        await close_and_replay(race)
