"""Who hears what, and when: the release of a durable batch.

A batch's requests go on the wire and the strategies hear of its events only once the batch is
in the journal (:mod:`mmoms.engine.commits` calls :meth:`Listeners.durable`, in commit order).
Batch listeners (dashboards, tests, the soak's checkpoints) run when *everything* decided is
durable (:meth:`Listeners.caught_up`): the one moment the book equals the journal, so what they
read from the book is exactly what the journal says up to its last commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from mmoms.engine.book_writer import Notification
from mmoms.engine.commits import Sealed
from mmoms.engine.outgoing import Outgoing

Listener = Callable[[Notification], None]

__all__ = ["Listener", "Listeners"]


class Listeners:
    def __init__(self, outgoing: Outgoing) -> None:
        self._outgoing = outgoing
        self.events: list[Listener] = []
        self.batches: list[Callable[[], None]] = []
        self.idle = asyncio.Event()  # set at every release (stop() waits on it)

    def durable(self, sealed: Sealed, committed_ns: int) -> None:
        """``sealed`` is in the journal: its requests leave first, then the strategies hear."""
        self._outgoing.release(sealed.flights, sealed.followups, committed_ns)
        listeners = self.events
        for note in sealed.notifications:
            for listener in listeners:
                listener(note)
        self.idle.set()

    def caught_up(self) -> None:
        for listener in self.batches:
            listener()
