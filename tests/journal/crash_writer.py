"""Child process of the crash test: commits batches to a SQLite journal until it is killed.

Each batch holds ``BATCH`` records, one outbox entry, the done-mark of the previous batch's
entry and one ``orders`` row, all numbered after the batch; after each commit returns it prints
the journal's last seq. A line on stdout is therefore a promise: that batch is durable.
"""

from __future__ import annotations

import asyncio
import sys
from decimal import Decimal

from mmoms.journal.sqlite import SqliteJournalStore
from mmoms.journal.store import Batch, OrderRow, OutboxEntry, Record


def batch_for(first_seq: int, size: int) -> Batch:
    n = (first_seq - 1) // size + 1  # batch number, from 1
    filler = "x" * 300  # big enough that a batch spans several pages
    records = [
        Record(
            s, s, "BookReport", f"c{n}", b'{"n":%d,"seq":%d,"pad":"%s"}' % (n, s, filler.encode())
        )
        for s in range(first_seq, first_seq + size)
    ]
    return Batch(
        records=records,
        outbox_add=[OutboxEntry(f"b{n}", n, b'{"n":%d}' % n)],
        outbox_done=[f"b{n - 1}"] if n > 1 else [],
        orders=[
            OrderRow(
                "c", "BTCUSDC", "BUY", "LIMIT", "NEW", Decimal(n), Decimal(1), Decimal(0), n, n
            )
        ],
    )


async def main(path: str, size: int, durability: str) -> None:
    store = SqliteJournalStore(path, durability=durability, fsync_interval_s=0.005)
    await store.open()
    seq = await store.last_seq()
    while True:
        await store.commit(batch_for(seq + 1, size))
        seq += size
        print(seq, flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "fsync"))
