"""The engine's helpers outside the loop: timers that post to its queue, and the tasks it
starts (requests, queries, reconciliations). None of them touches order state: each ends by
putting a message on the engine's queue, and the loop acts on it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from mmoms.engine.messages import EngineMsg, TimerMsg

log = logging.getLogger(__name__)

__all__ = ["Background"]


class Background:
    def __init__(self, queue: asyncio.Queue[EngineMsg]) -> None:
        self.queue = queue
        self.tasks: set[asyncio.Task[Any]] = set()
        self._timers: list[asyncio.TimerHandle] = []

    def post_timer(self, kind: str) -> None:
        try:
            self.queue.put_nowait(TimerMsg(kind))
        except asyncio.QueueFull:  # never lose a timer: try again in a moment
            asyncio.get_running_loop().call_later(0.001, self.post_timer, kind)

    def arm_timer(self, delay_s: float, kind: str) -> None:
        """Post ``TimerMsg(kind)`` in ``delay_s``; cancelled by :meth:`cancel_timers`."""
        now = asyncio.get_running_loop().time()  # drop fired and cancelled handles: bounded
        self._timers = [t for t in self._timers if not t.cancelled() and t.when() > now]
        self._timers.append(self.call_later(delay_s, kind))

    def call_later(self, delay_s: float, kind: str) -> asyncio.TimerHandle:
        """Post ``TimerMsg(kind)`` in ``delay_s``; the caller keeps (and may cancel) the handle."""
        return asyncio.get_running_loop().call_later(delay_s, self.post_timer, kind)

    def cancel_timers(self) -> None:
        for timer in self._timers:
            timer.cancel()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("engine task failed", exc_info=task.exception())

    async def cancel_tasks(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
