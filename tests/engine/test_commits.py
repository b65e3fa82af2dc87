"""Pipelined group commit: the loop keeps deciding while a commit is in flight, batches sealed
meanwhile go in one transaction, and nothing of a batch leaves (or is told) before that batch
is durable. A store whose commits the test holds open plays the slow fsync; no sleeps."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal as D

import pytest

from mmoms.core.clock import LiveClock
from mmoms.core.enums import OrderStatus, Side
from mmoms.engine.commits import CommitPipeline, Sealed
from mmoms.engine.oms import OrderManager
from mmoms.journal.memory import InMemoryJournalStore, MemoryJournal
from mmoms.journal.store import Batch, JournalError, Record

from .fake_gateway import SYM, FakeGateway
from .test_oms import S, config


class HeldStore(InMemoryJournalStore):
    """Commits wait for ``gate``; ``commits`` lists the seqs of each transaction."""

    commit_now = None  # type: ignore[assignment]  # a store with I/O: committed by a task

    def __init__(self, data: MemoryJournal) -> None:
        super().__init__(data)
        self.gate = asyncio.Event()
        self.gate.set()
        self.commits: list[list[int]] = []
        self.fail: JournalError | None = None

    async def commit(self, batch: Batch) -> None:
        await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        self.commits.append([r.seq for r in batch.records])
        await super().commit(batch)


def record(seq: int) -> Record:
    return Record(seq, seq, "Reconciled", "", b'{"type":"Reconciled","reason":"t"}')


@pytest.mark.asyncio
async def test_batches_sealed_during_a_commit_are_merged_and_released_in_order() -> None:
    store = HeldStore(MemoryJournal())
    await store.open()
    released: list[int] = []
    caught_up: list[int] = []
    pipeline = CommitPipeline(
        store,
        lambda sealed, _ns: released.append(sealed.batch.records[0].seq),
        lambda: caught_up.append(len(released)),
        LiveClock().monotonic_ns,
    )
    store.gate.clear()
    for seq in (1, 2, 3):
        pipeline.submit(Sealed(Batch(records=[record(seq)])))
    assert released == []  # nothing released before it is durable
    assert pipeline.busy
    store.gate.set()
    await pipeline.drain()
    assert store.commits == [[1], [2, 3]]  # 2 and 3 queued behind 1: one transaction
    assert released == [1, 2, 3]
    assert caught_up == [3]  # once, when everything sealed was durable


@pytest.mark.asyncio
async def test_a_failed_commit_releases_nothing_and_is_raised() -> None:
    store = HeldStore(MemoryJournal())
    await store.open()
    released: list[Sealed] = []
    pipeline = CommitPipeline(
        store, lambda s, _: released.append(s), lambda: None, LiveClock().monotonic_ns
    )
    store.fail = JournalError("disk full")
    pipeline.submit(Sealed(Batch(records=[record(1)])))
    with pytest.raises(JournalError, match="disk full"):
        await pipeline.drain()
    assert released == []
    with pytest.raises(JournalError):
        pipeline.submit(Sealed(Batch(records=[record(2)])))


async def spin_until(cond: Callable[[], bool]) -> None:
    """Yield to the loop until ``cond`` holds (a held commit means no batch listener fires)."""
    for _ in range(100_000):
        if cond():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never held")


async def start_held(
    venue: FakeGateway, store: HeldStore
) -> tuple[OrderManager, asyncio.Task[None]]:
    oms = OrderManager(venue, store, config(batch_window_s=0.0), clock=venue.clock)
    reconciled = asyncio.Event()
    oms.add_batch_listener(lambda: oms.metrics.reconciliations and reconciled.set())
    await oms.start()
    oms.risk.set_reference_price(SYM, D(95_000))
    run = asyncio.create_task(oms.run())
    await asyncio.wait_for(reconciled.wait(), 5)
    return oms, run


@pytest.mark.asyncio
async def test_the_engine_decides_on_while_a_commit_is_held_and_sends_only_after_it() -> None:
    venue, store = FakeGateway(LiveClock()), HeldStore(MemoryJournal())
    oms, run = await start_held(venue, store)
    heard: list[object] = []
    oms.add_listener(heard.append)
    try:
        store.gate.clear()
        first = oms.place(S, SYM, Side.BUY, D("0.01"), D(94_000))
        await spin_until(lambda: oms.book.get(SYM, first) is not None)
        second = oms.place(S, SYM, Side.BUY, D("0.01"), D(93_900))
        await spin_until(lambda: oms.book.get(SYM, second) is not None)  # decided meanwhile
        assert venue.submitted == []  # write-ahead: nothing left before its batch is durable
        assert heard == []  # and no strategy heard of it
        store.gate.set()
        await spin_until(
            lambda: all(
                (o := oms.book.get(SYM, c)) is not None and o.status is OrderStatus.NEW
                for c in (first, second)
            )
        )
        assert venue.submitted == [first, second]
        assert heard
    finally:
        store.gate.set()
        await oms.stop(cancel_orders=False)
        await asyncio.wait_for(run, 5)
        await oms.close()


@pytest.mark.asyncio
async def test_a_commit_failure_stops_the_engine_loudly_and_sends_nothing_of_it() -> None:
    venue, store = FakeGateway(LiveClock()), HeldStore(MemoryJournal())
    oms, run = await start_held(venue, store)
    store.fail = JournalError("disk full")
    oms.place(S, SYM, Side.BUY, D("0.01"), D(94_000))
    with pytest.raises(JournalError, match="disk full"):
        await asyncio.wait_for(run, 5)
    assert venue.submitted == []
    await oms.close()
