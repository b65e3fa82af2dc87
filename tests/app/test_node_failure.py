"""A node whose engine dies: it says why once, with the traceback, sweeps the venue with
cancel-all (nothing can be journaled any more) and exits non-zero."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from mmoms.app.node import EXIT_FAILED, Node, NodeOptions
from mmoms.journal.store import Batch, JournalError
from tests.examples.nodes import config


def test_a_dead_engine_stops_the_node_loudly_and_sweeps_the_venue(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    node = Node(
        config("sim.toml"),
        options=NodeOptions(
            duration_s=60, journal_path=str(tmp_path / "journal.sqlite"), ready_line=False
        ),
    )
    sent_cancel_all: list[str] = []

    async def break_the_disk() -> None:
        await node.trading.wait()
        oms = node.oms
        assert oms is not None
        changed = asyncio.Event()
        oms.add_batch_listener(changed.set)
        while not oms.book.open_orders():  # until it quotes
            changed.clear()
            await changed.wait()
        gateway = oms._gw
        real_cancel_all = gateway.cancel_all

        async def cancel_all(cmd):  # type: ignore[no-untyped-def]
            sent_cancel_all.append(cmd.symbol)
            await real_cancel_all(cmd)

        gateway.cancel_all = cancel_all  # type: ignore[method-assign]

        async def broken(batch: Batch) -> None:
            raise JournalError("disk I/O error")

        def broken_now(batch: Batch) -> None:
            raise JournalError("disk I/O error")

        oms._store.commit = broken  # type: ignore[method-assign]
        oms._store.commit_now = broken_now  # type: ignore[attr-defined]  # durability "process"

    async def main() -> int:
        breaker = asyncio.create_task(break_the_disk())
        status = await node.run()
        await breaker
        return status

    with caplog.at_level(logging.ERROR, logger="mmoms.node"):
        status = asyncio.run(main())
    assert status == EXIT_FAILED
    failures = [r for r in caplog.records if "the engine failed" in r.getMessage()]
    assert len(failures) == 1  # once
    assert failures[0].exc_info is not None  # with its traceback
    assert any(f.startswith("engine failed: JournalError") for f in node.failures)
    assert sorted(sent_cancel_all) == ["BTCUSDC", "ETHUSDC"]  # swept at once
