"""Recovery: snapshot + tail must rebuild exactly the state the live engine had."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Collection
from decimal import Decimal as D
from pathlib import Path

import msgspec
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmoms.core.book import LocalOrderBook
from mmoms.core.clock import TestClock
from mmoms.core.enums import OrderStatus
from mmoms.core.enums import VenueOrderStatus as V
from mmoms.core.fsm import Trigger
from mmoms.core.ids import ClientOrderId, StrategyId
from mmoms.journal.memory import InMemoryJournalStore
from mmoms.journal.records import BookCreate, BookMark, BookReport, encode_entry, kind_of
from mmoms.journal.recovery import ReplayClock, recover, snapshot_now
from mmoms.journal.sqlite import SqliteJournalStore
from mmoms.journal.store import Batch, JournalError, JournalStore, Record, Snapshot
from mmoms.journal.synthetic import SyntheticSession
from mmoms.strategy.views import order_view
from tests.core.factories import SYM, fill, status, stop_loss, submit

from .contract import read_all


async def write_session(
    store: JournalStore, session: SyntheticSession, batches: int, snapshot_at: Collection[int] = ()
) -> None:
    for i in range(batches):
        await store.commit(session.next_batch(50))
        if i in snapshot_at:
            await snapshot_now(store, session.book, session.seq, session.clock.time_ns())


@pytest_asyncio.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[JournalStore]:
    s: JournalStore = (
        InMemoryJournalStore()
        if request.param == "memory"
        else SqliteJournalStore(tmp_path / "j.sqlite")
    )
    await s.open()
    yield s
    await s.close()


@pytest.mark.asyncio
async def test_snapshot_plus_tail_equals_replay_from_zero_equals_live(store: JournalStore) -> None:
    session = SyntheticSession(seed=11)
    await write_session(store, session, batches=80, snapshot_at={20, 55})
    with_snapshot = await recover(store)
    from_zero = await recover(store, use_snapshot=False)
    assert with_snapshot.snapshot_seq > 0
    assert from_zero.snapshot_seq == 0
    assert with_snapshot.replayed < from_zero.replayed
    assert with_snapshot.book.state_hash() == from_zero.book.state_hash() == session.state_hash()
    assert with_snapshot.last_seq == from_zero.last_seq == session.seq
    assert with_snapshot.refused == []
    assert with_snapshot.notes == []


@pytest.mark.asyncio
async def test_recovery_hands_back_what_is_in_flight(store: JournalStore) -> None:
    session = SyntheticSession(seed=5)
    await write_session(store, session, batches=30, snapshot_at={10})
    state = await recover(store)
    live_in_flight = sorted(
        (o.symbol, o.client_order_id, o.status)
        for o in session.book.orders()
        if o.status.is_in_flight
    )
    assert live_in_flight, "the session should end with requests in flight"
    assert [(o.symbol, o.client_order_id, o.status) for o in state.in_flight] == live_in_flight
    assert state.pending_outbox == await store.pending_outbox()
    assert state.pending_outbox, "the session should end with unconfirmed outbox entries"


@pytest.mark.asyncio
async def test_replay_follows_wall_time_even_when_it_steps_back() -> None:
    store = InMemoryJournalStore()
    await store.open()
    session = SyntheticSession(seed=2)
    await write_session(store, session, batches=60)
    times = [r.ts_ns for r in await read_all(store)]
    assert any(b < a for a, b in itertools.pairwise(times)), "no backward step generated"
    state = await recover(store, use_snapshot=False)
    assert state.book.state_hash() == session.state_hash()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), batches=st.integers(1, 25), data=st.data())
@pytest.mark.asyncio
async def test_any_snapshot_point_gives_the_same_state(
    seed: int, batches: int, data: st.DataObject
) -> None:
    store = InMemoryJournalStore()
    await store.open()
    session = SyntheticSession(seed=seed)
    points = data.draw(st.sets(st.integers(0, batches - 1), max_size=3))
    await write_session(store, session, batches, snapshot_at=points)
    assert (await recover(store)).book.state_hash() == session.state_hash()


# -- hand-made journals --------------------------------------------------------------------


class Journal:
    """Builds a journal by hand, as the engine would write it, with a live book alongside."""

    def __init__(self) -> None:
        self.clock = ReplayClock(1_000)
        self.book = LocalOrderBook(self.clock)
        self.records: list[Record] = []

    def add(self, entry: BookCreate | BookMark | BookReport, ts: int) -> None:
        key = getattr(entry, "client_order_id", "") or "x"
        self.records.append(
            Record(len(self.records) + 1, ts, kind_of(entry), key, encode_entry(entry))
        )

    async def store(self) -> InMemoryJournalStore:
        store = InMemoryJournalStore()
        await store.open()
        await store.commit(Batch(records=self.records))
        return store


@pytest.mark.asyncio
async def test_inputs_the_book_refused_live_are_refused_again_and_change_nothing() -> None:
    j = Journal()
    j.add(BookCreate(command=submit("a")), ts=5_000)
    j.add(BookReport(report=status("a", 1, V.NEW)), ts=6_000)
    j.add(
        BookMark(symbol=SYM, client_order_id=ClientOrderId("ghost"), trigger=Trigger.CANCEL_SENT),
        ts=7_000,
    )
    j.add(BookCreate(command=submit("a")), ts=8_000)  # client id reused
    j.add(BookReport(report=fill("a", 1, 1, "0.4")), ts=9_000)
    state = await recover(await j.store())
    assert [seq for seq, _ in state.refused] == [3, 4]
    assert "UnknownOrderError" in state.refused[0][1]
    order = state.book.get(SYM, ClientOrderId("a"))
    assert order is not None
    assert order.status is OrderStatus.PARTIALLY_FILLED
    assert order.created_ns == 5_000  # the record's time, not the replay's


@pytest.mark.asyncio
async def test_an_undecodable_book_input_stops_recovery() -> None:
    store = InMemoryJournalStore()
    await store.open()
    good = encode_entry(BookCreate(command=submit("a")))
    await store.commit(
        Batch(
            records=[
                Record(1, 1, "BookCreate", "a", good),
                Record(
                    2, 2, "SomeFutureAuditKind", "", b'{"type":"SomeFutureAuditKind"}'
                ),  # skipped
                Record(3, 3, "BookReport", "a", b'{"type":"BookReport","report":{"oops":1}}'),
            ]
        )
    )
    with pytest.raises(JournalError, match="record 3"):
        await recover(store)


@pytest.mark.asyncio
async def test_an_unreadable_snapshot_falls_back_to_replay_from_zero() -> None:
    store = InMemoryJournalStore()
    await store.open()
    session = SyntheticSession(seed=9)
    await write_session(store, session, batches=10)
    await store.save_snapshot(Snapshot(session.seq, 1, msgspec.json.encode({"version": 1})))
    state = await recover(store)
    assert state.snapshot_seq == 0
    assert len(state.notes) == 1
    assert "unreadable" in state.notes[0]
    assert state.book.state_hash() == session.state_hash()


@pytest.mark.asyncio
async def test_the_recovered_book_runs_on_the_clock_it_is_handed() -> None:
    j = Journal()
    j.add(BookCreate(command=submit("a")), ts=5_000)
    store = await j.store()
    frozen = await recover(store)
    assert frozen.clock.time_ns() == 5_000  # no factory: stays at the last record's time
    live = await recover(store, lambda: TestClock(123_456))
    assert live.clock.time_ns() == live.clock.monotonic_ns() == 123_456
    live.book.mark(SYM, ClientOrderId("a"), Trigger.CANCEL_SENT)
    order = live.book.get(SYM, ClientOrderId("a"))
    assert order is not None
    assert order.updated_ns == 123_456


@pytest.mark.asyncio
async def test_snapshot_now_saves_the_book_as_of_a_seq() -> None:
    store = InMemoryJournalStore()
    await store.open()
    session = SyntheticSession(seed=4)
    await write_session(store, session, batches=5)
    saved = await snapshot_now(store, session.book, session.seq, 77)
    assert await store.latest_snapshot() == saved
    assert (saved.seq, saved.ts_ns) == (session.seq, 77)
    with pytest.raises(JournalError, match="beyond"):
        await snapshot_now(store, session.book, session.seq + 1, 78)


@pytest.mark.asyncio
async def test_a_stops_trigger_price_survives_replay_and_the_snapshot() -> None:
    j = Journal()
    j.add(BookCreate(command=submit("a")), ts=5_000)
    j.add(BookCreate(command=stop_loss("93000.0"), strategy_id=StrategyId("mm")), ts=5_500)
    j.add(BookReport(report=status("a", 1, V.NEW)), ts=6_000)
    store = await j.store()
    from_zero = await recover(store, use_snapshot=False)
    replayed = from_zero.book.get(SYM, ClientOrderId("sl"))
    assert replayed is not None
    assert replayed.trigger_price == D("93000.0")
    assert replayed.price is None
    await snapshot_now(store, from_zero.book, 3, 6_000)
    with_snapshot = await recover(store)
    assert with_snapshot.snapshot_seq == 3
    restored = with_snapshot.book.get(SYM, ClientOrderId("sl"))
    assert restored is not None
    assert restored.trigger_price == D("93000.0")
    assert order_view(restored).trigger_price == D("93000.0")  # what a strategy reads
    assert with_snapshot.book.state_hash() == from_zero.book.state_hash()
