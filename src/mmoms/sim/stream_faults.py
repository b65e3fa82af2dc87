"""Reordering user-data events on one connection, within what Binance leaves open.

Binance promises order only among events *of one type on one connection* (binance-usdm.md §8.2).
A ``reorder`` fault therefore holds one event back and lets the next event overtake it only
when that is still a legal delivery: the next event has a different type, or both are
ORDER_TRADE_UPDATEs of different orders. Otherwise the held event simply goes first (nothing
was reordered, nothing is logged). A held event that nobody overtakes within its hold time
(simulator clock) is released by :meth:`EventShaper.flush`, which the transport calls on every
tick — so on a virtual clock it waits until the test advances time.

Pure: frames in, frames out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["EventShaper", "Held"]

_OTU = "ORDER_TRADE_UPDATE"


@dataclass(frozen=True, slots=True)
class Held:
    frame: bytes
    event_type: Any
    order: Any  # ORDER_TRADE_UPDATE order id (None for other events)


class EventShaper:
    __slots__ = ("held", "held_until")

    def __init__(self) -> None:
        self.held: Held | None = None
        self.held_until = 0

    @staticmethod
    def may_overtake(first: Held, second: Held) -> bool:
        """May ``second`` be delivered before ``first`` without breaking Binance's promise?"""
        if first.event_type != second.event_type:
            return True
        return bool(first.event_type == _OTU and first.order != second.order)

    def push(
        self, item: Held, action: str | None, until_ms: int = 0
    ) -> tuple[list[bytes], Held | None]:
        """Frames to send now for one event under ``action`` (drop / duplicate / reorder /
        None), and the held event it overtook, if it did. A reordered event is held until
        ``until_ms`` at most."""
        if action == "drop":
            return [], None
        frames = [item.frame, item.frame] if action == "duplicate" else [item.frame]
        held = self.held
        if held is None:
            if action == "reorder":
                self.held, self.held_until = item, until_ms
                return [], None
            return frames, None
        self.held = None
        if self.may_overtake(held, item):
            return [*frames, held.frame], held
        return [held.frame, *frames], None

    def flush(self, now_ms: int | None = None) -> list[bytes]:
        """Release the held event (all of it when ``now_ms`` is None, else if it is due)."""
        if now_ms is not None and now_ms < self.held_until:
            return []
        held, self.held = self.held, None
        return [held.frame] if held is not None else []
