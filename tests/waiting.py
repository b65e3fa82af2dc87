"""One way for a test to wait: re-check a condition each time something changed, never by
sleeping. ``changed`` is set by whoever makes progress — an engine's batch listener, a feed's
callback — and cleared here before each wait."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

__all__ = ["until"]


async def until(
    changed: asyncio.Event,
    cond: Callable[[], object],
    *,
    timeout_s: float = 5.0,
    why: Callable[[], object] | None = None,
) -> None:
    """Return once ``cond()`` is true, re-checking after every ``changed``.

    Raises:
        TimeoutError: not reached within ``timeout_s`` (``why`` given: the test fails naming
            ``why()`` instead).
    """
    try:
        async with asyncio.timeout(timeout_s):
            while not cond():
                changed.clear()
                await changed.wait()
    except TimeoutError:
        if why is None:
            raise
        pytest.fail(f"not reached in {timeout_s} s: {why()}")
