"""The engine claims its journal for the venue and the account it is logged into, before anything
from the journal reaches the venue: a journal of another account is refused at start."""

from __future__ import annotations

import pytest

from mmoms.core.clock import LiveClock
from mmoms.engine.oms import OrderManager
from mmoms.journal.memory import InMemoryJournalStore, MemoryJournal
from mmoms.journal.store import JournalIdentity, JournalIdentityError

from .fake_gateway import FakeGateway
from .test_oms import config


async def start_stop(journal: MemoryJournal, venue: FakeGateway, where: tuple[str, str]) -> None:
    oms = OrderManager(venue, InMemoryJournalStore(journal), config(), clock=venue.clock)
    await oms.start(identity=where)
    await oms.stop(cancel_orders=False)
    await oms.close()


class OtherAccount(FakeGateway):
    async def account_fingerprint(self) -> str:
        return "alias:Other"


@pytest.mark.asyncio
async def test_a_journal_of_another_account_or_venue_is_refused_before_anything_is_sent() -> None:
    journal = MemoryJournal()
    await start_stop(journal, FakeGateway(LiveClock()), ("binance", "https://fapi.binance.com"))
    store = InMemoryJournalStore(journal)
    await store.open()
    assert await store.identity() == JournalIdentity(
        "binance", "https://fapi.binance.com", "alias:FakeVenue"
    )
    await store.close()
    await start_stop(journal, FakeGateway(LiveClock()), ("binance", "https://fapi.binance.com"))

    other = OtherAccount(LiveClock())
    with pytest.raises(JournalIdentityError, match=r"account alias:FakeVenue.*alias:Other"):
        await start_stop(journal, other, ("binance", "https://fapi.binance.com"))
    assert other.requests == []  # refused before a single order request
    with pytest.raises(JournalIdentityError, match="venue binance-testnet"):
        await start_stop(journal, FakeGateway(LiveClock()), ("binance-testnet", "https://x"))
