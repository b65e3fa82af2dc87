"""The journal-store contract: one abstract test class, run against every backend.

A backend's test class inherits :class:`JournalStoreContract` and provides the ``opener``
fixture: an async callable that opens a store on *this test's* storage. Calling it again opens
the same storage anew, which is how "reopen after close" (a process restart) is tested. The
``reader`` fixture opens the same storage read-only (what ``mmoms replay`` does).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Awaitable, Callable
from decimal import Decimal as D

import pytest
import pytest_asyncio

from mmoms.journal.store import (
    Batch,
    JournalConflictError,
    JournalError,
    JournalIdentity,
    JournalIdentityError,
    JournalLockedError,
    JournalStore,
    OrderRow,
    OutboxEntry,
    Record,
    Snapshot,
)

Opener = Callable[[], Awaitable[JournalStore]]

SIM = JournalIdentity("sim", "embedded", "alias:AbCdEfGh")
LIVE = JournalIdentity("binance", "https://fapi.binance.com", "alias:SgsR")


def rec(seq: int, key: str = "mm-1", *, ts: int | None = None, kind: str = "BookReport") -> Record:
    payload = b'{"type":"%s","n":%d,"cid":"%s"}' % (kind.encode(), seq, key.encode())
    return Record(seq, 1_700_000_000_000_000_000 + seq if ts is None else ts, kind, key, payload)


def box(oid: str, ts: int = 1) -> OutboxEntry:
    return OutboxEntry(oid, ts, b'{"type":"CancelOrder","client_order_id":"%s"}' % oid.encode())


def row(
    cid: str, status: str = "NEW", filled: str = "0", *, price: str | None = "100.10"
) -> OrderRow:
    return OrderRow(
        client_order_id=cid,
        symbol="BTCUSDC",
        side="BUY",
        order_type="LIMIT",
        status=status,
        price=None if price is None else D(price),
        quantity=D("0.00100"),
        filled_qty=D(filled),
        venue_order_id=2**63 - 1,
        updated_ns=1_700_000_000_000_000_000,
    )


async def read_all(store: JournalStore, after: int = 0, batch_size: int = 10_000) -> list[Record]:
    return [r async for r in store.read(after, batch_size=batch_size)]


class JournalStoreContract:
    """What every :class:`~mmoms.journal.store.JournalStore` promises.

    A subclass provides the ``opener`` and ``reader`` fixtures (see the module docstring).
    """

    exclusive = True  # a second writer is refused (the in-memory store has nothing to lock)

    @pytest_asyncio.fixture
    async def store(self, opener: Opener) -> JournalStore:
        return await opener()

    async def reopen(self, store: JournalStore, opener: Opener) -> JournalStore:
        await store.close()
        return await opener()

    # -- basics ----------------------------------------------------------------------------

    @pytest.mark.asyncio
    async def test_a_new_store_is_empty(self, store: JournalStore) -> None:
        assert await store.last_seq() == 0
        assert await read_all(store) == []
        assert await store.pending_outbox() == []
        assert await store.latest_snapshot() is None
        assert await store.orders() == []

    @pytest.mark.asyncio
    async def test_records_read_back_in_seq_order_byte_for_byte(self, store: JournalStore) -> None:
        first = [rec(1, "mm-1"), rec(2, "mm-2", ts=5), rec(3, "", kind="Reconciled")]
        await store.commit(Batch(records=first))
        await store.commit(Batch(records=[rec(4, "mm-1"), rec(5, "mm-3")]))
        got = await read_all(store)
        assert got == [*first, rec(4, "mm-1"), rec(5, "mm-3")]
        assert all(type(r.payload) is bytes for r in got)
        assert await store.last_seq() == 5

    @pytest.mark.asyncio
    async def test_read_after_seq_pages_through_everything(self, store: JournalStore) -> None:
        await store.commit(Batch(records=[rec(i) for i in range(1, 26)]))
        for batch_size in (1, 4, 25, 1000):
            got = await read_all(store, after=7, batch_size=batch_size)
            assert [r.seq for r in got] == list(range(8, 26))
        assert await read_all(store, after=25) == []
        assert await read_all(store, after=99) == []

    @pytest.mark.asyncio
    async def test_a_reader_sees_commits_made_between_its_pages(self, store: JournalStore) -> None:
        await store.commit(Batch(records=[rec(1), rec(2)]))
        seen = []
        async for r in store.read(0, batch_size=1):
            seen.append(r.seq)
            if r.seq == 1:  # a commit while a read is under way neither blocks nor is missed
                await store.commit(Batch(records=[rec(3)]))
        assert seen == [1, 2, 3]

    @pytest.mark.asyncio
    async def test_batch_size_must_be_positive(self, store: JournalStore) -> None:
        with pytest.raises(ValueError, match="batch_size"):
            await read_all(store, batch_size=0)

    @pytest.mark.asyncio
    async def test_an_empty_batch_changes_nothing(self, store: JournalStore) -> None:
        await store.commit(Batch())
        assert await store.last_seq() == 0

    # -- atomicity and conflicts -----------------------------------------------------------

    async def _assert_only_first_batch(self, store: JournalStore) -> None:
        assert [r.seq for r in await read_all(store)] == [1, 2]
        assert [e.id for e in await store.pending_outbox()] == ["a"]
        assert await store.orders() == [row("mm-1")]

    async def _commit_first_batch(self, store: JournalStore) -> None:
        await store.commit(
            Batch(records=[rec(1), rec(2)], outbox_add=[box("a")], orders=[row("mm-1")])
        )

    @pytest.mark.asyncio
    async def test_an_existing_seq_conflicts_and_writes_nothing(self, store: JournalStore) -> None:
        await self._commit_first_batch(store)
        bad = Batch(
            records=[rec(3), rec(4), rec(2)],  # the conflict comes last: 3 and 4 must not stay
            outbox_add=[box("b")],
            outbox_done=["a"],
            orders=[row("mm-1", "FILLED", "0.001"), row("mm-2")],
        )
        with pytest.raises(JournalConflictError):
            await store.commit(bad)
        await self._assert_only_first_batch(store)
        await store.commit(Batch(records=[rec(3)]))  # the store is still usable
        assert await store.last_seq() == 3

    @pytest.mark.asyncio
    async def test_a_seq_twice_in_one_batch_conflicts(self, store: JournalStore) -> None:
        await self._commit_first_batch(store)
        with pytest.raises(JournalConflictError):
            await store.commit(Batch(records=[rec(3), rec(3)], orders=[row("mm-2")]))
        await self._assert_only_first_batch(store)

    @pytest.mark.asyncio
    async def test_an_existing_outbox_id_conflicts_and_writes_nothing(
        self, store: JournalStore
    ) -> None:
        await self._commit_first_batch(store)
        await store.commit(Batch(outbox_done=["a"]))
        with pytest.raises(JournalConflictError):  # even a done id is never reused
            await store.commit(Batch(records=[rec(3)], outbox_add=[box("c"), box("a")]))
        assert [r.seq for r in await read_all(store)] == [1, 2]
        assert await store.pending_outbox() == []

    @pytest.mark.asyncio
    async def test_a_payload_that_is_not_json_is_refused_whole(self, store: JournalStore) -> None:
        await self._commit_first_batch(store)
        broken = Record(4, 1, "BookReport", "mm-1", b'{"type": "BookRep')
        with pytest.raises(JournalError) as info:
            await store.commit(Batch(records=[rec(3), broken], orders=[row("mm-2")]))
        assert not isinstance(info.value, JournalConflictError)
        with pytest.raises(JournalError):
            await store.commit(Batch(outbox_add=[OutboxEntry("x", 1, b"not json")]))
        await self._assert_only_first_batch(store)

    # -- outbox ----------------------------------------------------------------------------

    @pytest.mark.asyncio
    async def test_outbox_pending_is_commit_order_and_survives_reopen(
        self, store: JournalStore, opener: Opener
    ) -> None:
        # Ids and times deliberately out of order: "oldest first" means commit order.
        await store.commit(Batch(records=[rec(1)], outbox_add=[box("c", ts=9), box("a", ts=3)]))
        await store.commit(Batch(outbox_add=[box("b", ts=1)]))
        await store.commit(Batch(records=[rec(2)], outbox_done=["a", "nope"]))  # unknown: ignored
        await store.commit(Batch(outbox_done=["a"]))  # twice: harmless
        assert [e.id for e in await store.pending_outbox()] == ["c", "b"]
        store = await self.reopen(store, opener)
        assert await store.pending_outbox() == [box("c", ts=9), box("b", ts=1)]
        await store.commit(Batch(outbox_done=["c", "b"]))
        store = await self.reopen(store, opener)
        assert await store.pending_outbox() == []

    # -- snapshots -------------------------------------------------------------------------

    @pytest.mark.asyncio
    async def test_the_latest_snapshot_is_the_highest_seq(self, store: JournalStore) -> None:
        await store.commit(Batch(records=[rec(i) for i in range(1, 11)]))
        for seq in (3, 10, 5):
            await store.save_snapshot(Snapshot(seq, seq * 100, b'{"at":%d}' % seq))
        assert await store.latest_snapshot() == Snapshot(10, 1000, b'{"at":10}')
        await store.save_snapshot(Snapshot(10, 1001, b'{"at":"again"}'))  # same seq: replaced
        assert await store.latest_snapshot() == Snapshot(10, 1001, b'{"at":"again"}')

    @pytest.mark.asyncio
    async def test_a_snapshot_beyond_the_journal_is_refused(self, store: JournalStore) -> None:
        await store.commit(Batch(records=[rec(1)]))
        with pytest.raises(JournalError, match="beyond"):
            await store.save_snapshot(Snapshot(2, 1, b"{}"))
        with pytest.raises(JournalError):
            await store.save_snapshot(Snapshot(1, 1, b"{nope"))
        assert await store.latest_snapshot() is None

    # -- orders projection -----------------------------------------------------------------

    @pytest.mark.asyncio
    async def test_orders_are_upserted_exactly(self, store: JournalStore) -> None:
        await store.commit(Batch(orders=[row("mm-2"), row("mm-1", price=None)]))
        # Two rows for one order in one batch: the later one wins.
        await store.commit(
            Batch(
                orders=[row("mm-2", "PARTIALLY_FILLED", "0.0005"), row("mm-2", "FILLED", "0.00100")]
            )
        )
        got = await store.orders()
        assert got == [row("mm-1", price=None), row("mm-2", "FILLED", "0.00100")]
        assert str(got[1].filled_qty) == "0.00100"  # decimals are not rounded or normalized
        assert str(got[1].price) == "100.10"

    # -- lifecycle -------------------------------------------------------------------------

    @pytest.mark.asyncio
    async def test_reopen_after_close_keeps_everything(
        self, store: JournalStore, opener: Opener
    ) -> None:
        await store.commit(
            Batch(records=[rec(1), rec(2)], outbox_add=[box("a"), box("b")], orders=[row("mm-1")])
        )
        await store.commit(
            Batch(records=[rec(3)], outbox_done=["a"], orders=[row("mm-1", "FILLED", "0.001")])
        )
        await store.save_snapshot(Snapshot(2, 7, b'{"book":[]}'))
        before = (await read_all(store), await store.pending_outbox(), await store.orders())
        store = await self.reopen(store, opener)
        after = (await read_all(store), await store.pending_outbox(), await store.orders())
        assert after == before
        assert await store.latest_snapshot() == Snapshot(2, 7, b'{"book":[]}')
        assert await store.last_seq() == 3

    @pytest.mark.asyncio
    async def test_a_closed_store_refuses_to_work(self, store: JournalStore) -> None:
        await store.close()
        with pytest.raises(JournalError):
            await store.commit(Batch(records=[rec(1)]))
        with pytest.raises(JournalError):
            await store.claim_identity(SIM)
        with pytest.raises(JournalError):
            await store.identity()
        with pytest.raises(JournalError):
            await store.last_seq()
        with pytest.raises(JournalError):
            await read_all(store)

    # -- one process -----------------------------------------------------------------------

    @pytest.mark.asyncio
    async def test_a_second_writer_is_refused_at_once_and_the_first_carries_on(
        self, store: JournalStore, opener: Opener
    ) -> None:
        if not self.exclusive:
            pytest.skip("the in-memory store has nothing to lock (see mmoms.journal.memory)")
        await store.commit(Batch(records=[rec(1)]))
        with pytest.raises(JournalLockedError) as refused:
            await opener()
        message = str(refused.value)
        assert f"is in use by pid {os.getpid()} on host {socket.gethostname()} (" in message
        assert message.endswith("; stop that process or use another journal")
        assert "\n" not in message
        holder = refused.value.holder
        assert holder is not None
        assert holder.pid == os.getpid()
        await store.commit(Batch(records=[rec(2)]))  # the holder was not disturbed
        assert [r.seq for r in await read_all(store)] == [1, 2]
        store = await self.reopen(store, opener)  # closing lets go
        await store.commit(Batch(records=[rec(3)]))
        assert await store.last_seq() == 3

    @pytest.mark.asyncio
    async def test_a_reader_reads_beside_the_writer_and_cannot_write(
        self, store: JournalStore, reader: Opener
    ) -> None:
        await store.claim_identity(SIM)
        await store.commit(Batch(records=[rec(1)], outbox_add=[box("a")]))
        look = await reader()
        assert [r.seq for r in await read_all(look)] == [1]
        assert [e.id for e in await look.pending_outbox()] == ["a"]
        assert await look.identity() == SIM
        with pytest.raises(JournalError, match="read-only"):
            await look.commit(Batch(records=[rec(2)]))
        with pytest.raises(JournalError, match="read-only"):
            await look.save_snapshot(Snapshot(1, 1, b"{}"))
        with pytest.raises(JournalError, match="read-only"):
            await look.claim_identity(LIVE)
        await store.commit(Batch(records=[rec(2)]))  # the writer goes on; the reader sees it
        assert await look.last_seq() == 2
        await look.close()
        await store.commit(Batch(records=[rec(3)]))
        assert [r.seq for r in await read_all(store)] == [1, 2, 3]
        assert await store.latest_snapshot() is None
        assert await store.identity() == SIM

    # -- one account -----------------------------------------------------------------------

    @pytest.mark.asyncio
    async def test_the_first_identity_claimed_is_kept(
        self, store: JournalStore, opener: Opener
    ) -> None:
        assert await store.identity() is None
        await store.claim_identity(SIM)
        await store.claim_identity(SIM)  # the same again: nothing to say
        assert await store.identity() == SIM
        store = await self.reopen(store, opener)
        assert await store.identity() == SIM
        await store.claim_identity(SIM)

    @pytest.mark.asyncio
    async def test_another_identity_is_refused_naming_both(
        self, store: JournalStore, opener: Opener
    ) -> None:
        await store.claim_identity(SIM)
        with pytest.raises(JournalIdentityError) as refused:
            await store.claim_identity(LIVE)
        message = str(refused.value)
        assert "venue sim at embedded, account alias:AbCdEfGh" in message
        assert "venue binance at https://fapi.binance.com, account alias:SgsR" in message
        assert "use another journal" in message
        assert (refused.value.recorded, refused.value.claimed) == (SIM, LIVE)
        for other in (  # any one part differing is another identity
            JournalIdentity("sim", "embedded", "alias:WxYzWxYz"),
            JournalIdentity("sim", "http://127.0.0.1:8080", SIM.account),
            JournalIdentity("binance-testnet", SIM.endpoint, SIM.account),
        ):
            with pytest.raises(JournalIdentityError):
                await store.claim_identity(other)
        store = await self.reopen(store, opener)
        assert await store.identity() == SIM  # nothing changed
        with pytest.raises(JournalIdentityError):
            await store.claim_identity(LIVE)

    @pytest.mark.asyncio
    async def test_a_journal_with_no_identity_adopts_the_first_claim(
        self, store: JournalStore, opener: Opener
    ) -> None:
        await store.commit(Batch(records=[rec(1), rec(2)]))
        store = await self.reopen(store, opener)
        assert await store.identity() is None
        await store.claim_identity(LIVE)
        assert await store.identity() == LIVE
        assert [r.seq for r in await read_all(store)] == [1, 2]  # its history is untouched
