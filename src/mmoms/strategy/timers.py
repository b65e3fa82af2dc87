"""A strategy's named timers: ``set_timer(name, interval_s)`` calls ``on_timer(name)`` every
``interval_s`` seconds until cancelled or the strategy stops.

Timers run on the event loop's clock (``loop.call_at``): no task per timer, no drift — the next
call is due one interval after the previous *due* time, and a late loop skips the calls it
missed rather than firing a burst to catch up (a strategy wants "now and then", not a backlog).
"""

from __future__ import annotations

import asyncio
import math
from typing import TYPE_CHECKING

from mmoms.core.errors import InvalidOrderError

if TYPE_CHECKING:
    from mmoms.strategy.host import StrategyHost

__all__ = ["StrategyTimers"]

_MIN_INTERVAL_S = 0.001


class StrategyTimers:
    def __init__(self, host: StrategyHost) -> None:
        self._host = host
        self._handles: dict[str, asyncio.TimerHandle] = {}
        self._due: dict[str, float] = {}

    def set(self, name: object, interval_s: object, *, repeat: bool = True) -> None:
        """Start (or restart) timer ``name``; first call one interval from now.

        Raises:
            InvalidOrderError: a name that is no non-empty string, an interval that is no
                finite number of seconds of at least 1 ms.
        """
        if not isinstance(name, str) or not name:
            raise InvalidOrderError("a timer's name must be a non-empty string")
        if isinstance(interval_s, bool) or not isinstance(interval_s, (int, float)):
            raise InvalidOrderError(f"interval_s must be a number of seconds, got {interval_s!r}")
        if not math.isfinite(interval_s) or interval_s < _MIN_INTERVAL_S:
            raise InvalidOrderError(f"interval_s must be at least {_MIN_INTERVAL_S} s")
        self.cancel(name)
        loop = asyncio.get_running_loop()
        due = loop.time() + float(interval_s)
        self._schedule(loop, name, due, float(interval_s) if repeat else None)

    def _schedule(
        self, loop: asyncio.AbstractEventLoop, name: str, due: float, interval: float | None
    ) -> None:
        self._due[name] = due
        self._handles[name] = loop.call_at(due, self._fire, name, interval)

    def _fire(self, name: str, interval: float | None) -> None:
        due = self._due.pop(name)
        self._handles.pop(name, None)
        if interval is not None:
            loop = asyncio.get_running_loop()
            nxt = due + interval
            now = loop.time()
            if nxt <= now:  # the loop was late: skip what was missed, keep the phase
                nxt += (math.floor((now - nxt) / interval) + 1) * interval
            self._schedule(loop, name, nxt, interval)
        self._host.call("on_timer", name)

    def cancel(self, name: str) -> None:
        handle = self._handles.pop(name, None)
        self._due.pop(name, None)
        if handle is not None:
            handle.cancel()

    def cancel_all(self) -> None:
        for name in list(self._handles):
            self.cancel(name)

    def names(self) -> list[str]:
        return sorted(self._handles)
