"""The outbox relay: never drops an entry, never marks done what was not sent."""

from __future__ import annotations

import asyncio

import pytest

from mmoms.journal.memory import InMemoryJournalStore, MemoryJournal
from mmoms.journal.outbox import OutboxRelay
from mmoms.journal.store import Batch, JournalError, OutboxEntry

from .contract import box


class Venue:
    """A send callable that records what it was given and fails when told to."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.fail_on: set[str] = set()

    async def send(self, entry: OutboxEntry) -> None:
        if entry.id in self.fail_on:
            raise ConnectionError(f"cannot send {entry.id}")
        self.sent.append(entry.id)


async def store_with(*ids: str, data: MemoryJournal | None = None) -> InMemoryJournalStore:
    store = InMemoryJournalStore(data)
    await store.open()
    if ids:
        await store.commit(Batch(outbox_add=[box(i) for i in ids]))
    return store


@pytest.mark.asyncio
async def test_sends_in_commit_order_and_marks_done_in_a_later_commit() -> None:
    store = await store_with("c", "a", "b")
    venue = Venue()
    relay = OutboxRelay(venue.send)
    assert await relay.load_pending(store) == 3
    assert await relay.drain() == 3
    assert venue.sent == ["c", "a", "b"]
    assert [e.id for e in await store.pending_outbox()] == [
        "c",
        "a",
        "b",
    ]  # not done until committed
    assert await relay.flush(store) == 3
    assert await store.pending_outbox() == []
    assert await relay.flush(store) == 0


@pytest.mark.asyncio
async def test_a_failed_send_keeps_that_entry_and_those_behind_it() -> None:
    store = await store_with("a", "b", "c")
    venue = Venue()
    venue.fail_on = {"b"}
    relay = OutboxRelay(venue.send)
    await relay.load_pending(store)
    with pytest.raises(ConnectionError):
        await relay.drain()
    await relay.flush(store)
    assert venue.sent == ["a"]
    assert [e.id for e in await store.pending_outbox()] == ["b", "c"]  # b was not sent: not done
    assert relay.pending == 2
    venue.fail_on = set()
    await relay.drain()
    await relay.flush(store)
    assert venue.sent == ["a", "b", "c"]
    assert await store.pending_outbox() == []


@pytest.mark.asyncio
async def test_a_crash_between_send_and_done_resends_after_restart() -> None:
    data = MemoryJournal()
    store = await store_with("a", "b", data=data)
    venue = Venue()
    relay = OutboxRelay(venue.send)
    await relay.load_pending(store)
    await relay.drain()  # both sent... and the process dies before the done-commit
    restarted = await store_with(data=data)
    again = OutboxRelay(venue.send)
    assert await again.load_pending(restarted) == 2
    await again.drain()
    await again.flush(restarted)
    assert venue.sent == ["a", "b", "a", "b"]  # at least once: the engine's sends are idempotent
    assert await restarted.pending_outbox() == []


@pytest.mark.asyncio
async def test_an_entry_known_to_the_relay_is_not_queued_twice() -> None:
    store = await store_with("a", "b")
    venue = Venue()
    relay = OutboxRelay(venue.send)
    assert relay.enqueue([box("a")]) == 1  # the engine enqueues after its commit...
    assert await relay.load_pending(store) == 1  # ...and recovery loads the same entry
    await relay.drain()
    assert await relay.load_pending(store) == 0  # sent, done not yet committed: still known
    await relay.flush(store)
    assert venue.sent == ["a", "b"]


@pytest.mark.asyncio
async def test_done_marks_survive_a_failed_commit() -> None:
    class FlakyStore(InMemoryJournalStore):
        failures = 1

        async def commit(self, batch: Batch) -> None:
            if self.failures:
                self.failures -= 1
                raise JournalError("disk full")
            await super().commit(batch)

    store = FlakyStore()
    await store.open()
    await InMemoryJournalStore.commit(store, Batch(outbox_add=[box("a")]))
    relay = OutboxRelay(Venue().send)
    await relay.load_pending(store)
    await relay.drain()
    with pytest.raises(JournalError):
        await relay.flush(store)
    assert [e.id for e in await store.pending_outbox()] == ["a"]
    assert await relay.flush(store) == 1  # handed out again, committed this time
    assert await store.pending_outbox() == []


@pytest.mark.asyncio
async def test_the_engine_can_carry_done_marks_in_its_own_batch() -> None:
    store = await store_with("a")
    relay = OutboxRelay(Venue().send)
    await relay.load_pending(store)
    await relay.drain()
    done = relay.take_sent()
    assert done == ["a"]
    assert relay.take_sent() == []
    await store.commit(Batch(outbox_add=[box("b")], outbox_done=done))
    relay.confirm(done)
    relay.enqueue(await store.pending_outbox())
    await relay.drain()
    assert relay.take_sent() == ["b"]


@pytest.mark.asyncio
async def test_run_sends_and_confirms_until_closed() -> None:
    store = await store_with("a")
    venue = Venue()
    relay = OutboxRelay(venue.send)
    await relay.load_pending(store)
    task = asyncio.create_task(relay.run(store))
    await store.commit(Batch(outbox_add=[box("b")]))
    relay.enqueue([box("b")])
    relay.close()
    await task
    assert venue.sent == ["a", "b"]
    assert await store.pending_outbox() == []


@pytest.mark.asyncio
async def test_run_stops_on_a_send_error_and_loses_nothing() -> None:
    store = await store_with("a", "b")
    venue = Venue()
    venue.fail_on = {"b"}
    relay = OutboxRelay(venue.send)
    await relay.load_pending(store)
    with pytest.raises(ConnectionError):
        await relay.run(store)
    assert [e.id for e in await store.pending_outbox()] == ["a", "b"]  # a sent, not yet confirmed
    assert relay.pending == 1
