"""The fsync behind the writer: durability mode ``process`` of the SQLite journal.

With ``synchronous=NORMAL`` in WAL mode a commit returns once its transaction is written to the
WAL — in the operating system's hands, so a crash of *our process* (``kill -9``, a bug) loses
nothing — and the WAL is fsynced only when it is checkpointed into the database. This thread
checkpoints every ``interval_s`` from its own connection (``PRAGMA wal_checkpoint(PASSIVE)``:
it copies what it can without waiting for the writer, and the writer never waits for it), so
the fsyncs are group-committed behind the engine instead of in front of every request. The
writer's own automatic checkpoints are turned off: they ran on the commit path (the 4–5 ms p99
of ``NORMAL`` in the benchmarks).

What an operating-system crash or a power loss can still lose: the transactions written since
the last checkpoint — at most ``interval_s`` of decisions. The requests among them may have
reached the venue. Nothing is lost *there*: at the next start the engine's reconciliation finds
every open order whose client id this engine made but the journal does not know, and cancels it
(:mod:`mmoms.engine.reconciler`); positions come from the venue; client ids carry the session's
start time, so none is ever reused. What is lost is our own story of those orders (their
intents, and which strategy a fill of one belonged to: booked as external).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger(__name__)

__all__ = ["Checkpointer"]


class Checkpointer:
    def __init__(self, path: Path, interval_s: float) -> None:
        if interval_s <= 0:
            raise ValueError(f"checkpoint interval must be positive, got {interval_s}")
        self._path = path
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.checkpoints = 0  # completed (for tests and metrics)
        self.failures = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="mmoms-journal-fsync", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop and wait for the thread (the writer then checkpoints once more, in full)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=True)
        try:
            conn.execute("PRAGMA busy_timeout = 5000")
            while not self._stop.wait(self._interval_s):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.checkpoints += 1
                except sqlite3.Error as exc:  # the next one tries again; said once per burst
                    self.failures += 1
                    if self.failures == 1 or self.failures % 100 == 0:
                        log.warning("journal checkpoint failed (%d so far): %s", self.failures, exc)
        finally:
            conn.close()
