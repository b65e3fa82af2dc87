"""Failure is loud: when the engine loop dies, every later call says so, naming the cause, and
the stop sweeps the venue at once instead of waiting for cancels nobody can journal."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

import mmoms
from mmoms.journal.store import Batch, JournalError

from .harness import start
from .test_callbacks import Tracker

BUY = mmoms.Side.BUY


@pytest.mark.asyncio
async def test_a_dead_engine_refuses_every_call_and_its_stop_sweeps_the_venue() -> None:
    s = Tracker()
    node = await start(("a", s))
    node.mark("95000")
    cid = s.place(symbol="BTCUSDC", side=BUY, quantity=D("0.01"), price=D(94000))
    await node.until(lambda: len(node.venue.live()) == 1)

    def broken(batch: Batch) -> None:  # the disk is gone
        raise JournalError("disk I/O error")

    node.oms._store._commit = broken  # type: ignore[attr-defined]
    s.place(symbol="BTCUSDC", side=BUY, quantity=D("0.01"), price=D(93000))
    with pytest.raises(JournalError, match="disk I/O error"):
        await node.run_task  # the loop died, loudly
    for call in (
        lambda: s.place(symbol="BTCUSDC", side=BUY, quantity=D("0.01"), price=D(93000)),
        lambda: s.cancel(cid),
        lambda: s.set_quotes("BTCUSDC", []),
        lambda: s.cancel_all(),
    ):
        with pytest.raises(mmoms.OmsNotRunningError, match=r"stopped on an error.*disk I/O error"):
            call()
    assert isinstance(node.oms.failure, JournalError)
    node.router.stop()
    await node.oms.stop(cancel_orders=True)  # nothing can be journaled: cancel-all at once
    assert "cancel_all" in node.venue.requests
    assert node.venue.live() == []
    await node.oms.close()
