"""Pipelined group commit: the engine loop keeps deciding while the journal's fsync runs.

The loop seals one batch per drained input batch — its journal records, the requests it
decided (flights) and the events it will tell the strategies — and hands it here. It does not
wait: while batch N's transaction is in the store (an fsync takes ~0.5 ms with SQLite
``synchronous=FULL``), the loop goes on handling messages and sealing batches N+1, N+2...
Those queue up; when N is durable, everything queued is merged into ONE transaction (group
commit: one fsync for all of them) and N's flights and events are released.

Why write-ahead still holds, per action: a batch's flights and events are released only from
:meth:`CommitPipeline._done`, after the transaction holding that batch has been committed, and
in commit order (batches are merged and committed strictly in the order they were sealed; one
transaction is in flight at a time). A request therefore never leaves before its intent, client
order id and command are durable, and no strategy hears of a change before it is. The outbox
keeps its promise the same way: a state change and its follow-up commands are in one batch,
hence in one transaction. What pipelining changes is only *when the loop may think again*: the
in-memory book may run ahead of the journal by the batches in flight. That is safe because
nothing outside the process has seen those changes yet; a crash loses them together with the
requests they would have sent, exactly as a crash before a synchronous commit did.

* A merged transaction is all-or-nothing for every batch in it. A failed commit is fatal to the
  engine (as before): nothing of it or after it is released; :attr:`failed` is raised by the
  loop (:meth:`check`).
* Backpressure: the loop awaits :meth:`drain` when too many records wait for a commit.
* A store whose commit costs no wait (``commit_now``: the in-memory store, and SQLite with
  durability ``process``, whose fsync runs behind it) is committed inline: no task, no hop,
  the same order.
* ``on_caught_up`` runs when everything sealed is durable — the one moment the book equals the
  journal (batch listeners read the book there).

Who hears what, and when (:class:`Listeners`): a batch's requests go on the wire and the
strategies hear of its events only once the batch is in the journal (:meth:`Listeners.durable`,
called in commit order). Batch listeners (dashboards, tests, the soak's checkpoints) run when
*everything* decided is durable (:meth:`Listeners.caught_up`): what they read from the book is
exactly what the journal says up to its last commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mmoms.engine.batcher import Flight
from mmoms.engine.book_writer import Notification
from mmoms.engine.outgoing import Outgoing
from mmoms.journal.store import Batch, JournalStore

__all__ = ["CommitPipeline", "Listener", "Listeners", "Sealed"]

_MAX_WAITING_RECORDS = 200_000  # the loop waits for the store beyond this (a stalled disk)


@dataclass(slots=True)
class Sealed:
    """One engine batch: what to write, and what to release once it is written."""

    batch: Batch
    flights: list[Flight] = field(default_factory=list)
    followups: set[int] = field(default_factory=set)  # id() of the flights that are follow-ups
    notifications: list[Notification] = field(default_factory=list)


class CommitPipeline:
    def __init__(
        self,
        store: JournalStore,
        on_durable: Callable[[Sealed, int], None],
        on_caught_up: Callable[[], None],
        monotonic_ns: Callable[[], int],
        *,
        wake: Callable[[], None] | None = None,
    ) -> None:
        """``wake`` tells the loop that a commit failed (it may be waiting on its queue)."""
        self._store = store
        self._on_durable = on_durable
        self._on_caught_up = on_caught_up
        self._monotonic_ns = monotonic_ns
        self._waiting: list[Sealed] = []  # sealed, not handed to the store yet
        self._waiting_records = 0
        self._committing: list[Sealed] = []  # in the transaction in flight
        self._task: asyncio.Task[None] | None = None
        self._settled = asyncio.Event()  # nothing in flight and nothing waiting
        self._settled.set()
        self.failed: BaseException | None = None
        self._wake = wake or _nothing

    @property
    def busy(self) -> bool:
        return self._task is not None

    def submit(self, sealed: Sealed) -> None:
        """Hand a sealed batch over; its flights and events are released once it is durable."""
        self.check()
        if self._task is not None:
            if sealed.batch or sealed.flights or sealed.notifications:
                self._waiting.append(sealed)
                self._waiting_records += len(sealed.batch.records)
            return  # an empty batch: the listeners hear of the catch-up anyway
        if not sealed.batch:
            self._release([sealed])
        elif (commit_now := getattr(self._store, "commit_now", None)) is not None:
            commit_now(sealed.batch)  # in memory, or in the OS's hands: as durable as it gets
            self._release([sealed])
        else:
            self._start([sealed])

    def check(self) -> None:
        """Raise the commit failure, if any (the engine stops loudly)."""
        if self.failed is not None:
            raise self.failed

    async def drain(self) -> None:
        """Until everything sealed is durable (snapshots, shutdown)."""
        while not self._settled.is_set():
            await self._settled.wait()
        self.check()

    @property
    def backlogged(self) -> bool:
        """Backpressure: too many records queue behind the commit in flight (a stalled disk);
        the loop then waits (:meth:`drain`) before it takes more input."""
        return self._waiting_records > _MAX_WAITING_RECORDS

    def _start(self, group: list[Sealed]) -> None:
        self._committing = group
        self._settled.clear()
        batch = group[0].batch if len(group) == 1 else _merge([s.batch for s in group])
        self._task = asyncio.get_running_loop().create_task(self._store.commit(batch))
        self._task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        group, self._committing, self._task = self._committing, [], None
        if self.failed is not None:  # the engine is stopping on an earlier failure:
            if not task.cancelled():
                task.exception()  # (retrieved: not reported as lost)
            return  # nothing more leaves
        try:
            task.result()  # a failure (or a cancellation) is fatal: nothing is released
            if self._waiting:  # the next fsync starts before this group's requests leave
                waiting, self._waiting, self._waiting_records = self._waiting, [], 0
                self._start(waiting)
            self._release(group)
        except BaseException as exc:  # raised by the loop, not lost in a callback
            self.failed = exc
            self._settled.set()
            self._wake()

    def _release(self, group: list[Sealed]) -> None:
        committed = self._monotonic_ns()
        for sealed in group:
            self._on_durable(sealed, committed)
        if self._task is None and not self._waiting:
            self._settled.set()
            self._on_caught_up()


def _merge(batches: list[Batch]) -> Batch:
    merged = Batch()
    for b in batches:
        merged.records += b.records
        merged.outbox_add += b.outbox_add
        merged.outbox_done += b.outbox_done
        merged.orders += b.orders
    return merged


def _nothing() -> None:
    return None


Listener = Callable[[Notification], None]


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
