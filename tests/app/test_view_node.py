"""The live view of a real node: ``examples/demo.toml`` on the embedded simulator, rendered by
the node's own reporter once it has a fill on its tape and orders open, then stopped. The
node's tape is fed by the engine; the frame shows each open order and the newest fill whole."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from rich.console import Console

from mmoms.app.node import Node, NodeOptions
from mmoms.app.view import render
from mmoms.core.ledger import Fill
from mmoms.demo import demo_config

WAIT_S = 90.0  # generous: two cores shared with other runs; the condition usually holds in ~5 s


@pytest.mark.asyncio
async def test_a_running_node_renders_its_orders_tape_pnl_and_engine(tmp_path: Path) -> None:
    frames: list[str] = []
    shown_orders: list[str] = []  # our open orders' ids when the frame was rendered
    newest: list[Fill] = []  # the newest fill on the tape then

    async def reporter(node: Node, stop: asyncio.Event) -> None:
        assert node.oms is not None
        oms = node.oms
        ready = asyncio.Event()

        def check() -> None:
            if node.tape.total and any(not o.external for o in oms.book.open_orders()):
                ready.set()

        oms.add_batch_listener(check)
        waiters = {asyncio.create_task(ready.wait()), asyncio.create_task(stop.wait())}
        await asyncio.wait(waiters, timeout=WAIT_S, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()
        if ready.is_set():  # read and render in one step of the loop: the same state
            console = Console(record=True, width=220)
            console.print(render(node, 1.0, title="mmoms test"))
            frames.append(console.export_text())
            shown_orders.extend(o.client_order_id for o in oms.book.open_orders() if not o.external)
            newest.append(node.tape.recent()[0])
        node.stop()

    options = NodeOptions(duration_s=WAIT_S + 30, journal_path=str(tmp_path / "j.sqlite"),
                          ready_line=False)  # fmt: skip
    node = Node(demo_config(seed=1), options=options, reporter=reporter)
    status = await node.run()
    assert status == 0, node.failures
    assert frames, "no fill with orders open within the wait"
    text = frames[0]
    for cid in shown_orders:  # whole, as `mmoms replay --order` takes them
        assert re.search(rf"(^|\s){re.escape(cid)}\s", text, re.M), (cid, text)
    fill = newest[0]
    on_tape = [line for line in text.splitlines() if f" {fill.client_order_id}" in line]
    assert any(f" {fill.strategy_id} " in line for line in on_tape), text
    for symbol in ("BTCUSDC", "ETHUSDC", "BTCUSDT"):
        assert f"{symbol}  bid " in text  # an orders table per symbol
    assert re.search(r"\bmm\s+BTCUSDC\s+-?\d", text)  # PnL per strategy and symbol
    assert re.search(r"\bbracket\s+BTCUSDT\s+-?\d", text)
    assert "decide (incl. 10 ms batching window)" in text
    assert "tape: last " in text
