"""The outbox relay: sends committed commands, and only then lets them be marked done.

The engine commits a state change and the commands it causes in one batch (``outbox_add``).
The relay hands each committed entry to ``send`` and, once ``send`` has returned, lists the
entry's id as sent; a *later* commit marks it done (the engine puts :meth:`OutboxRelay.take_sent`
into its next batch's ``outbox_done``, or :meth:`OutboxRelay.flush` commits them alone).

Design decisions:

* **Never drop, never mark done what was not sent.** An entry leaves the queue only after
  ``send`` returned. If ``send`` raises, the entry stays at the head of the queue and the
  exception propagates to whoever runs the relay: errors are not swallowed, and nothing behind
  a failed entry overtakes it (commands for one order keep their order).
* **At least once.** A crash between ``send`` and the done-commit leaves the entry pending;
  after restart :meth:`OutboxRelay.load_pending` queues it again and it is sent again. That is
  safe because commands are idempotent by construction (client order ids, cancel of a final
  order is a no-op) — the engine's job, not the relay's.
* **Duplicates are absorbed.** An id already queued, or sent but not yet confirmed done, is not
  queued twice (the engine may enqueue after commit while recovery loads the same entry).
* **Pure logic, no timers.** The relay owns no task; the engine drives it (``drain`` after each
  commit, or ``run`` inside its task group), so it is tested with the in-memory store alone.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Iterable

from mmoms.journal.store import Batch, JournalStore, OutboxEntry

SendFn = Callable[[OutboxEntry], Awaitable[None]]


class OutboxRelay:
    """Sends outbox entries in commit order, each until ``send`` returns once."""

    def __init__(self, send: SendFn) -> None:
        self._send = send
        self._queue: deque[OutboxEntry] = deque()
        self._known: set[str] = set()  # queued, or sent and not yet committed done
        self._sent: list[str] = []  # sent, done not yet handed to a commit
        self._handed: set[str] = set()  # in a batch being committed
        self._wakeup = asyncio.Event()
        self._sending = asyncio.Lock()  # two drains at once would send the head twice
        self._closed = False

    @property
    def pending(self) -> int:
        """Entries queued and not yet sent."""
        return len(self._queue)

    def enqueue(self, entries: Iterable[OutboxEntry]) -> int:
        """Queue entries that are committed (never before: a crash would lose the reason).

        Returns the number actually queued (ids already known are skipped).
        """
        added = 0
        for entry in entries:
            if entry.id in self._known:
                continue
            self._known.add(entry.id)
            self._queue.append(entry)
            added += 1
        if added:
            self._wakeup.set()
        return added

    async def load_pending(self, store: JournalStore) -> int:
        """After a restart: queue what was committed and not confirmed sent.

        Raises:
            JournalError: the store cannot be read.
        """
        return self.enqueue(await store.pending_outbox())

    async def drain(self) -> int:
        """Send every queued entry, oldest first; return how many were sent.

        Raises:
            Exception: whatever ``send`` raised; that entry and those behind it stay queued.
        """
        sent = 0
        async with self._sending:
            while self._queue:
                entry = self._queue[0]
                await self._send(entry)
                self._queue.popleft()
                self._sent.append(entry.id)
                sent += 1
        return sent

    def take_sent(self) -> list[str]:
        """Ids sent since the last call: put them in the next batch's ``outbox_done``.

        Call :meth:`confirm` once that batch is committed (or :meth:`retake` if it failed).
        """
        ids, self._sent = self._sent, []
        self._handed.update(ids)
        return ids

    def confirm(self, ids: Iterable[str]) -> None:
        """The batch carrying these done-marks is committed: forget them."""
        for oid in ids:
            self._handed.discard(oid)
            self._known.discard(oid)

    def retake(self, ids: Iterable[str]) -> None:
        """The batch carrying these done-marks failed: hand them out again next time."""
        for oid in ids:
            if oid in self._handed:
                self._handed.discard(oid)
                self._sent.append(oid)

    async def flush(self, store: JournalStore) -> int:
        """Commit the done-marks of everything sent so far in a batch of their own.

        Raises:
            JournalError: the commit failed; the ids will be handed out again.
        """
        ids = self.take_sent()
        if not ids:
            return 0
        try:
            await store.commit(Batch(outbox_done=ids))
        except BaseException:
            self.retake(ids)
            raise
        self.confirm(ids)
        return len(ids)

    async def run(self, store: JournalStore) -> None:
        """Send and confirm until :meth:`close`; for running inside the engine's task group.

        Raises:
            Exception: whatever ``send`` or the store raised (nothing is lost: unsent entries
                stay queued, unconfirmed ones stay pending in the store).
        """
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            await self.drain()
            await self.flush(store)
            if self._closed:
                return

    def close(self) -> None:
        """Let :meth:`run` finish once what is queued now has been sent and confirmed."""
        self._closed = True
        self._wakeup.set()
