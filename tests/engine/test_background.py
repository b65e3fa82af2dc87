"""The engine's timers: a long session arms thousands; only the pending ones are kept."""

from __future__ import annotations

import asyncio

import pytest

from mmoms.engine.messages import EngineMsg, TimerMsg
from mmoms.engine.tasks import Background


@pytest.mark.asyncio
async def test_fired_timers_are_not_kept() -> None:
    queue: asyncio.Queue[EngineMsg] = asyncio.Queue()
    background = Background(queue)
    for _ in range(100):
        background.arm_timer(0, "reconcile")
        assert await queue.get() == TimerMsg("reconcile")  # it fired
    background.arm_timer(3600, "later")
    assert len(background._timers) == 1
    background.cancel_timers()


@pytest.mark.asyncio
async def test_pending_timers_are_kept_and_cancelled_at_stop() -> None:
    queue: asyncio.Queue[EngineMsg] = asyncio.Queue()
    background = Background(queue)
    background.arm_timer(3600, "a")
    background.arm_timer(3600, "b")
    assert len(background._timers) == 2
    background.cancel_timers()
    assert all(t.cancelled() for t in background._timers)
