"""The tape: the last few fills of a node, newest first, for the live view.

Fed by an engine listener, so a fill is on the tape once it is journaled and in the order the
strategies hear of it; the deque is bounded, so a long run costs nothing more than a short one.
"""

from __future__ import annotations

from collections import deque

from mmoms.core.ledger import Fill
from mmoms.engine.book_writer import Notification

__all__ = ["TAPE_SIZE", "FillTape"]

TAPE_SIZE = 12


class FillTape:
    def __init__(self, size: int = TAPE_SIZE) -> None:
        self._fills: deque[Fill] = deque(maxlen=size)
        self.total = 0  # every fill heard, not only those still on the tape

    def hear(self, note: Notification) -> None:
        """An engine listener (``oms.add_listener``): keeps the fills, ignores the rest."""
        if isinstance(note, Fill):
            self._fills.append(note)
            self.total += 1

    def recent(self) -> list[Fill]:
        """The fills on the tape, newest first."""
        return list(reversed(self._fills))

    def __len__(self) -> int:
        return len(self._fills)
