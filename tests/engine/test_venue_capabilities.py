"""The engine reads what the venue declares (GatewayCapabilities), never knows which venue.

The same quoting against two fake venues: the default (batches of 5/5/10, amends) and
OTHER_VENUE (batches of 3, no amend, shorter ids without ``-``). The engine must stay within what
each declares: the fake refuses and records any request beyond it."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from mmoms.core.clock import LiveClock
from mmoms.core.enums import Side
from mmoms.journal.memory import MemoryJournal
from mmoms.venues.gateway import GatewayCapabilities

from .fake_gateway import FAKE_VENUE, OTHER_VENUE, FakeGateway
from .test_oms import SYM, Harness, S, live_prices, quotes, shutdown, start


@pytest.mark.asyncio
@pytest.mark.parametrize("caps", [FAKE_VENUE, OTHER_VENUE], ids=lambda c: c.venue)
async def test_quoting_stays_within_what_the_venue_declares(caps: GatewayCapabilities) -> None:
    h = await start(FakeGateway(LiveClock(), capabilities=caps), MemoryJournal())
    try:
        h.oms.set_quotes(S, SYM, quotes("95000", "95010", levels=4))
        await h.until(lambda: len(h.venue.live()) == 8 and not _in_flight(h))
        placed = [r for r in h.venue.requests if r.startswith("submit")]
        assert placed == ["submit_batch"] * -(-8 // caps.max_batch_submit)

        before = len(h.venue.requests)
        h.oms.set_quotes(S, SYM, quotes("94980", "95030", levels=4))  # every level moves
        await h.until(
            lambda: (
                (Side.BUY, D("94980.0")) in live_prices(h.venue)
                and len(h.venue.live()) == 8
                and not _in_flight(h)
            )
        )
        moved = h.venue.requests[before:]
        if caps.supports_amend:
            assert set(moved) == {"amend_batch"}
        else:  # replaced: cancels first, then the new orders
            assert not [r for r in moved if r.startswith("amend")]
            assert moved.index("submit_batch") > moved.index("cancel_batch")
        assert h.venue.capability_violations == []
        rule = caps.client_id_rule
        assert all(rule.accepts(cid) for cid in h.venue.orders)
    finally:
        await shutdown(h)


def _in_flight(h: Harness) -> bool:
    return any(o.status.is_in_flight for o in h.oms.book.orders())
