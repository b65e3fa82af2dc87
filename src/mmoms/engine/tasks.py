"""What the engine does outside its loop: timers, and the tasks that ask the venue.

None of them touches order state: each ends by putting a message on the engine's queue, and the
loop acts on it. :class:`Background` arms the timers (a :class:`TimerMsg` later) and owns every
task the engine starts (they are cancelled at close; a task that fails is logged, never lost
silently).

The loop applies a ``Fetch*`` / :class:`Heartbeat` effect by starting one of these; each ends by
putting its answer on the engine's queue (a :class:`QueryMsg`, :class:`ReconcileMsg`,
:class:`FillsMsg`), where a handler merges it. None of them touches order state. An answer that
failed comes back as an error in the same message: the handler decides to retry.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from mmoms.core.clock import Clock
from mmoms.core.commands import QueryOrder
from mmoms.engine.config import OmsConfig
from mmoms.engine.messages import (
    EngineMsg,
    FetchFills,
    FetchOrder,
    FetchTruth,
    FillsMsg,
    Heartbeat,
    QueryMsg,
    ReconcileMsg,
    StreamMsg,
    TimerMsg,
)
from mmoms.venues.gateway import ExchangeGateway

log = logging.getLogger(__name__)

__all__ = ["Background", "VenueTasks"]


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


class VenueTasks:
    def __init__(
        self, gateway: ExchangeGateway, background: Background, config: OmsConfig, clock: Clock
    ) -> None:
        self._gw = gateway
        self._background = background
        self._cfg = config
        self._clock = clock

    def fetch_order(self, effect: FetchOrder) -> None:
        self._background.spawn(self._query(effect))

    def fetch_truth(self, effect: FetchTruth) -> None:
        self._background.spawn(self._truth(effect))

    def fetch_fills(self, effect: FetchFills) -> None:
        self._background.spawn(self._fills(effect))

    def heartbeat(self, effect: Heartbeat) -> None:
        beat = getattr(self._gw, "countdown_cancel_all", None)
        if beat is not None:
            self._background.spawn(beat(effect.symbol, effect.timeout_ms))

    def pump_stream(self) -> None:
        """The stream reader's task: every message onto the engine's queue."""
        self._background.spawn(self._pump())

    async def _pump(self) -> None:
        queue = self._background.queue
        async for message in self._gw.stream():
            await queue.put(StreamMsg(message))

    async def _query(self, q: FetchOrder) -> None:
        if q.delay_s > 0:
            await asyncio.sleep(q.delay_s)  # a backoff: the venue's answer may not have settled
        try:
            if q.unknown:
                result = await self._gw.resolve_unknown(
                    q.symbol, q.client_order_id, conditional=q.conditional
                )
            else:
                query = QueryOrder(
                    ts_ns=self._clock.time_ns(),
                    client_order_id=q.client_order_id,
                    symbol=q.symbol,
                    venue_order_id=q.placed,
                )
                result = await self._gw.query(query, conditional=q.conditional and q.placed is None)
            msg = QueryMsg(result, q.symbol, q.client_order_id, unknown=q.unknown)
        except Exception as exc:  # the answer is "not yet": the engine retries
            msg = QueryMsg(None, q.symbol, q.client_order_id, error=exc)
        await self._background.queue.put(msg)

    async def _truth(self, t: FetchTruth) -> None:
        if t.delay_s > 0:
            await asyncio.sleep(t.delay_s)
        gw = self._gw
        try:
            # The order book first: a stop that triggers between the two reads is then in
            # neither list (and queried), never in both.
            snapshot = await gw.open_orders(list(self._cfg.symbols))
            waiting = (
                await gw.open_conditional_orders(t.waiting_symbols) if t.waiting_symbols else []
            )
            positions = await gw.positions()
            msg = ReconcileMsg(
                t.reason, snapshot, positions, waiting=waiting, waiting_symbols=t.waiting_symbols
            )
        except Exception as exc:  # reported and retried by the loop
            msg = ReconcileMsg(t.reason, None, (), error=exc)
        await self._background.queue.put(msg)

    async def _fills(self, f: FetchFills) -> None:
        try:
            msg = FillsMsg(f.symbol, await self._gw.fills(f.symbol, f.since_ns))
        except Exception as exc:  # reported; the next reconciliation tries again
            msg = FillsMsg(f.symbol, (), error=exc)
        await self._background.queue.put(msg)
