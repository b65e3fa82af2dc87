"""The OrderManager against an in-memory venue: quoting, diff economy, unknown outcomes,
reconciliation, restart from the journal. No sleeps: tests wait for the engine's own events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal as D

import pytest
import pytest_asyncio

from mmoms.core.clock import LiveClock
from mmoms.core.enums import OrderStatus, Side
from mmoms.core.ids import StrategyId
from mmoms.core.intents import QuoteLevel
from mmoms.engine.config import OmsConfig
from mmoms.engine.diff import Tolerance
from mmoms.engine.oms import OrderManager
from mmoms.engine.risk import RiskConfig, SymbolLimits
from mmoms.journal.memory import InMemoryJournalStore, MemoryJournal
from mmoms.venues.errors import OutcomeUnknown
from tests.waiting import until

from .fake_gateway import SYM, Failure, FakeGateway

S = StrategyId("mm")
LIMITS = SymbolLimits(
    max_order_qty=D(5),
    max_order_notional=D(1_000_000),
    max_open_orders=50,
    max_position=D(20),
    price_band_pct=D(5),
)


def config(**kw: object) -> OmsConfig:
    base: dict[str, object] = dict(
        risk=RiskConfig(limits={SYM: LIMITS}, max_orders_per_second=1000),
        symbols=(SYM,),
        tolerance={SYM: Tolerance(price_ticks=3, qty_pct=D(10))},
        batch_window_s=0.002,
        reconcile_interval_s=3600,
    )
    base.update(kw)
    return OmsConfig(**base)  # type: ignore[arg-type]


@dataclass
class Harness:
    oms: OrderManager
    venue: FakeGateway
    journal: MemoryJournal
    changed: asyncio.Event
    run_task: asyncio.Task[None]

    async def until(self, cond: Callable[[], bool]) -> None:
        """Wait until ``cond`` holds, re-checking after every engine batch (5 s at most)."""
        await until(self.changed, cond)


async def start(
    venue: FakeGateway,
    journal: MemoryJournal,
    on_started: Callable[[OrderManager], None] | None = None,
    **kw: object,
) -> Harness:
    oms = OrderManager(venue, InMemoryJournalStore(journal), config(**kw), clock=venue.clock)
    changed = asyncio.Event()
    oms.add_batch_listener(changed.set)
    await oms.start()
    if on_started is not None:
        on_started(oms)
    oms.risk.set_reference_price(SYM, D(95_000))
    task = asyncio.create_task(oms.run())
    h = Harness(oms, venue, journal, changed, task)
    await h.until(lambda: oms.metrics.reconciliations >= 1)
    return h


async def shutdown(h: Harness, *, cancel_orders: bool = True) -> None:
    await h.oms.stop(cancel_orders=cancel_orders)
    await asyncio.wait_for(h.run_task, 5)
    await h.oms.close()


@pytest_asyncio.fixture
async def h() -> AsyncIterator[Harness]:
    harness = await start(FakeGateway(LiveClock()), MemoryJournal())
    yield harness
    if not harness.run_task.done():
        await shutdown(harness)


def quotes(bid: str, ask: str, levels: int = 2, step: str = "1") -> list[QuoteLevel]:
    out = []
    for i in range(levels):
        out.append(
            QuoteLevel(side=Side.BUY, price=D(bid) - i * D(step), quantity=D("0.01"), tag=f"b{i}")
        )
        out.append(
            QuoteLevel(side=Side.SELL, price=D(ask) + i * D(step), quantity=D("0.01"), tag=f"a{i}")
        )
    return out


def live_prices(venue: FakeGateway) -> set[tuple[Side, D]]:
    return {(o.side, o.price) for o in venue.live()}


@pytest.mark.asyncio
async def test_quotes_are_placed_and_tracked(h: Harness) -> None:
    h.oms.set_quotes(S, SYM, quotes("95000", "95010"))
    await h.until(
        lambda: (
            len(h.oms.book.open_orders(SYM)) == 4
            and all(o.status is OrderStatus.NEW for o in h.oms.book.open_orders(SYM))
        )
    )
    assert live_prices(h.venue) == {
        (Side.BUY, D("95000.0")),
        (Side.BUY, D("94999.0")),
        (Side.SELL, D("95010.0")),
        (Side.SELL, D("95011.0")),
    }
    assert h.venue.requests.count("submit_batch") == 1  # four new orders, one request


@pytest.mark.amend_venue
@pytest.mark.asyncio
async def test_sub_tolerance_moves_cost_nothing_and_one_level_costs_one(h: Harness) -> None:
    h.oms.set_quotes(S, SYM, quotes("95000", "95010"))
    await h.until(
        lambda: (
            len(h.venue.live()) == 4 and not any(o.status.is_in_flight for o in h.oms.book.orders())
        )
    )
    before = len(h.venue.requests)
    h.oms.set_quotes(S, SYM, quotes("95000.2", "95009.9"))  # within 3 ticks
    await asyncio.sleep(0)  # let the intent in; the window flush follows
    await h.until(lambda: h.oms.metrics.actions_saved >= 8)
    assert len(h.venue.requests) == before
    levels = quotes("95000", "95010")
    levels[2] = QuoteLevel(side=Side.BUY, price=D("94990"), quantity=D("0.01"), tag="b1")
    h.oms.set_quotes(S, SYM, levels)
    await h.until(
        lambda: (
            (Side.BUY, D("94990.0")) in live_prices(h.venue)
            and not any(o.status.is_in_flight for o in h.oms.book.orders())
        )
    )
    assert h.venue.requests[before:] == ["amend"]


@pytest.mark.asyncio
async def test_a_burst_of_updates_becomes_a_handful_of_requests(h: Harness) -> None:
    for i in range(100):
        h.oms.set_quotes(S, SYM, quotes(str(95000 - i % 7), str(95010 + i % 5)))
    final = quotes("95100", "95110")
    h.oms.set_quotes(S, SYM, final)
    await h.until(
        lambda: (
            live_prices(h.venue) == {(lv.side, lv.price) for lv in final}
            and not any(o.status.is_in_flight for o in h.oms.book.orders())
        )
    )
    assert len(h.venue.requests) <= 6, h.venue.requests


@pytest.mark.asyncio
async def test_unknown_outcome_that_did_place_resolves_without_duplicate(h: Harness) -> None:
    h.venue.fail_next.append(Failure(OutcomeUnknown("timeout"), executed=True))
    cid = h.oms.place(S, SYM, Side.BUY, D("0.01"), D("94000"))
    await h.until(
        lambda: (o := h.oms.book.get(SYM, cid)) is not None and o.status is OrderStatus.NEW
    )
    assert [o.cid for o in h.venue.orders.values()] == [cid]
    assert h.oms.metrics.unknown_outcomes == 1
    assert "query" in h.venue.requests


@pytest.mark.asyncio
async def test_unknown_outcome_that_did_not_place_ends_rejected(h: Harness) -> None:
    h.venue.fail_next.append(Failure(OutcomeUnknown("timeout"), executed=False))
    cid = h.oms.place(S, SYM, Side.BUY, D("0.01"), D("94000"))
    await h.until(
        lambda: (o := h.oms.book.get(SYM, cid)) is not None and o.status is OrderStatus.REJECTED
    )
    assert h.venue.orders == {}


@pytest.mark.asyncio
async def test_fills_reach_position_and_requote(h: Harness) -> None:
    h.oms.set_quotes(S, SYM, quotes("95000", "95010", levels=1))
    await h.until(
        lambda: (
            len(h.venue.live()) == 2 and not any(o.status.is_in_flight for o in h.oms.book.orders())
        )
    )
    bid = next(o for o in h.venue.live() if o.side is Side.BUY)
    h.venue.fill(bid.cid, D("0.01"))
    # The filled level is re-placed by the diff (same desire, the old order is gone).
    await h.until(lambda: h.oms.position(SYM) == D("0.01") and len(h.venue.live()) == 2)
    assert len(h.venue.orders) == 3


@pytest.mark.asyncio
async def test_dropped_stream_events_converge_after_gap(h: Harness) -> None:
    h.oms.set_quotes(S, SYM, quotes("95000", "95010", levels=1))
    await h.until(
        lambda: (
            len(h.venue.live()) == 2 and not any(o.status.is_in_flight for o in h.oms.book.orders())
        )
    )
    h.venue.drop_stream = True
    ask = next(o for o in h.venue.live() if o.side is Side.SELL)
    h.venue.fill(ask.cid, D("0.01"))
    h.venue.drop_stream = False
    h.venue.gap()
    await h.until(
        lambda: (o := h.oms.book.get(SYM, ask.cid)) is not None and o.status is OrderStatus.FILLED
    )


@pytest.mark.asyncio
async def test_stop_leaves_nothing_open(h: Harness) -> None:
    h.oms.set_quotes(S, SYM, quotes("95000", "95010"))
    await h.until(lambda: len(h.venue.live()) == 4)
    await shutdown(h)
    assert h.venue.live() == []


@pytest.mark.asyncio
async def test_risk_rejections_are_reported_not_sent(h: Harness) -> None:
    notes: list[object] = []
    h.oms.add_listener(notes.append)
    h.oms.place(S, SYM, Side.BUY, D("0.01"), D("80000"))  # 16 % away: fat finger
    await h.until(lambda: any(type(n).__name__ == "RiskRejected" for n in notes))
    assert h.venue.orders == {}
    assert h.oms.metrics.risk_rejections == {"price_band": 1}


@pytest.mark.asyncio
@pytest.mark.parametrize("snapshot_at_close", [True, False])
async def test_restart_recovers_from_the_journal(snapshot_at_close: bool) -> None:
    venue, journal = FakeGateway(LiveClock()), MemoryJournal()
    first = await start(venue, journal)
    first.oms.set_quotes(S, SYM, quotes("95000", "95010"))
    await first.until(
        lambda: (
            len(first.oms.book.open_orders(SYM)) == 4
            and not any(o.status.is_in_flight for o in first.oms.book.orders())
        )
    )
    state = first.oms.book.state_hash()
    await first.oms.stop(cancel_orders=False)  # a stop that leaves the quotes up
    await asyncio.wait_for(first.run_task, 5)
    await first.oms.close()
    if not snapshot_at_close:
        journal.snapshots.clear()  # recovery must then replay every record from the start

    recovered: list[str] = []
    second = await start(
        venue, journal, on_started=lambda oms: recovered.append(oms.book.state_hash())
    )
    assert recovered == [state]  # recovery rebuilt exactly the state the first engine had
    try:
        second.oms.set_quotes(S, SYM, quotes("95000", "95010"))
        await second.until(lambda: second.oms.metrics.actions_saved >= 8)
        assert len(venue.orders) == 4  # nothing re-placed: the quotes were already there
    finally:
        await shutdown(second)


@pytest.mark.asyncio
async def test_a_committed_cancel_survives_a_crash_before_it_was_sent() -> None:
    venue, journal = FakeGateway(LiveClock()), MemoryJournal()
    first = await start(venue, journal)
    cid = first.oms.place(S, SYM, Side.BUY, D("0.01"), D("94000"))
    await first.until(
        lambda: (o := first.oms.book.get(SYM, cid)) is not None and o.status is OrderStatus.NEW
    )
    venue.hang_cancels = True
    first.oms.cancel(S, SYM, cid)
    await first.until(lambda: journal.outbox and not journal.done_ns)  # committed, unconfirmed
    first.run_task.cancel()  # the process dies: no stop, no close
    await asyncio.gather(first.run_task, return_exceptions=True)
    assert venue.orders[cid].status.value == "NEW"  # the cancel never reached the venue

    venue.hang_cancels = False
    second = await start(venue, journal)
    try:
        await second.until(
            lambda: (
                venue.orders[cid].status.value == "CANCELED"
                and set(journal.done_ns) >= set(journal.outbox)
            )
        )
        order = second.oms.book.get(SYM, cid)
        assert order is not None
        await second.until(lambda: order.status is OrderStatus.CANCELED)
    finally:
        await shutdown(second)


@pytest.mark.asyncio
async def test_dead_man_switch_beats_while_the_loop_lives_and_stops_with_it() -> None:
    venue = FakeGateway(LiveClock())
    h = await start(venue, MemoryJournal(), dead_man_switch_ms=300)
    beats = lambda: [r for r in venue.requests if r.startswith("countdown:")]  # noqa: E731
    await h.until(lambda: len(beats()) >= 3)  # a heartbeat every 100 ms, from the loop
    assert set(beats()) == {"countdown:300"}
    await shutdown(h)
    after_stop = len(beats())
    # No loop, no heartbeat: the venue's countdown then cancels whatever was left.
    await asyncio.sleep(0.35)  # wall time must pass for a missed beat to show; nothing to wait on
    assert len(beats()) == after_stop
