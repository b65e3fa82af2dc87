"""Child process of the ownership tests: holds a journal and keeps committing, or tries to open
one that another process holds.

``hold sqlite PATH`` / ``hold postgres DSN SCHEMA``: open the journal as a writer, print
``{"ready": pid}``, then commit one record after another in the background until stdin says
``stop`` (close and exit 0). Each ``commit`` line on stdin commits one more record on top and
answers ``{"committed": seq, "failures": n}`` once that commit returned (``failures``: background
commits that raised).

``try sqlite PATH`` / ``try postgres DSN SCHEMA``: open the journal as a writer and print either
``{"locked": message, "pid": holder pid, "seconds": time open() took}`` (exit 3) or
``{"opened": true, "last_seq": n}`` (exit 0).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time

from mmoms.journal.postgres import PostgresJournalStore
from mmoms.journal.sqlite import SqliteJournalStore
from mmoms.journal.store import Batch, JournalLockedError, JournalStore, Record

PROGRAM = "lock-holder"


def store_for(args: list[str]) -> JournalStore:
    if args[0] == "sqlite":
        # NORMAL: fewer fsyncs for a loop that commits flat out; locking does not depend on it
        return SqliteJournalStore(args[1], synchronous="NORMAL", program=PROGRAM)
    return PostgresJournalStore(args[1], schema=args[2], program=PROGRAM)


def say(obj: object) -> None:
    print(json.dumps(obj), flush=True)


class Writer:
    def __init__(self, store: JournalStore) -> None:
        self.store = store
        self.seq = 0
        self.failures = 0
        self.running = True

    async def commit_one(self) -> int:
        self.seq += 1  # taken before the await: the loop and a command never share a seq
        seq = self.seq
        await self.store.commit(Batch(records=[Record(seq, seq, "Tick", "", b'{"n":%d}' % seq)]))
        return seq

    async def keep_committing(self) -> None:
        while self.running:
            try:
                await self.commit_one()
            except Exception:  # counted and reported: the test asserts there were none
                self.failures += 1


async def hold(args: list[str]) -> int:
    store = store_for(args)
    await store.open()
    writer = Writer(store)
    writer.seq = await store.last_seq()
    say({"ready": os.getpid()})
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    background = asyncio.create_task(writer.keep_committing())
    try:
        while line := (await reader.readline()).decode().strip():
            if line == "commit":
                seq = await writer.commit_one()
                say({"committed": seq, "failures": writer.failures})
            elif line == "stop":
                break
    finally:
        writer.running = False  # its commit in flight finishes: nothing is cut off
        await background
        await store.close()
    return 0


async def attempt(args: list[str]) -> int:
    store = store_for(args)
    started = time.perf_counter()
    try:
        await store.open()
    except JournalLockedError as exc:
        took = time.perf_counter() - started
        pid = exc.holder.pid if exc.holder is not None else None
        say({"locked": str(exc), "pid": pid, "seconds": took})
        return 3
    try:
        say({"opened": True, "last_seq": await store.last_seq()})
    finally:
        await store.close()
    return 0


if __name__ == "__main__":
    mode, rest = sys.argv[1], sys.argv[2:]
    sys.exit(asyncio.run(hold(rest) if mode == "hold" else attempt(rest)))
