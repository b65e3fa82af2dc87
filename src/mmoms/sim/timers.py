"""Waiting on the simulator's clock: real sleeps on the wall clock, parked futures on a virtual one.

Injected latency (per endpoint, per WebSocket frame) must follow the clock the exchange runs on.
On :class:`~mmoms.sim.clock.LiveSimClock` that is ``asyncio.sleep``. On
:class:`~mmoms.sim.clock.VirtualSimClock` nothing may sleep on the wall clock (a test advances
time instead), so a waiter is parked until whoever advances the clock calls :meth:`release`:
a reply delayed by 50 ms is held until the test moves time 50 ms on. That keeps latency faults
deterministic and lets a test observe "the request is still in flight".
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from typing import Protocol

from mmoms.sim.clock import SimClock, VirtualSimClock

__all__ = ["LiveSleeper", "Sleeper", "VirtualSleeper", "sleeper_for"]


class Sleeper(Protocol):
    async def sleep_ms(self, ms: float) -> None:
        """Return once ``ms`` milliseconds of the simulator's time have passed."""

    def release(self, now_ms: int) -> None:
        """Wake waiters whose time has come (a no-op on the wall clock)."""

    def cancel_all(self) -> None:
        """Wake every waiter with ``CancelledError`` (shutdown)."""


class LiveSleeper:
    async def sleep_ms(self, ms: float) -> None:
        if ms > 0:
            await asyncio.sleep(ms / 1000)

    def release(self, now_ms: int) -> None:
        return None

    def cancel_all(self) -> None:
        return None


class VirtualSleeper:
    """Waiters parked in a heap by due time; :meth:`release` is called after every advance."""

    def __init__(self, clock: SimClock) -> None:
        self._clock = clock
        self._heap: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    @property
    def waiting(self) -> int:
        return sum(1 for _, _, f in self._heap if not f.done())

    async def sleep_ms(self, ms: float) -> None:
        if ms <= 0:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._heap, (self._clock.time_ms() + ms, next(self._seq), future))
        await future

    def release(self, now_ms: int) -> None:
        heap = self._heap
        while heap and heap[0][0] <= now_ms:
            _, _, future = heapq.heappop(heap)
            if not future.done():
                future.set_result(None)

    def cancel_all(self) -> None:
        for _, _, future in self._heap:
            if not future.done():
                future.cancel()
        self._heap.clear()


def sleeper_for(clock: SimClock) -> LiveSleeper | VirtualSleeper:
    """The sleeper matching a clock: parked waiters for a virtual clock, else real sleeps."""
    return VirtualSleeper(clock) if isinstance(clock, VirtualSimClock) else LiveSleeper()
