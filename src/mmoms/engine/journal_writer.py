"""The journal batch the engine loop is building: records, outbox changes, order rows.

Every book input, command, event, risk rejection, API error and reconciliation becomes one
:class:`~mmoms.journal.store.Record` here, stamped with the time of the input being handled
(``now``: the same value the book's clock shows, which is what makes replay reproduce the live
state hash) and the next ``seq``. The loop seals the batch once per drained input batch and
hands it to the store: one transaction, so a crash leaves the batch whole or not at all.

Commands that must happen even if the process dies right after the commit — cancels, and a
contingent group's follow-up orders — also go to the outbox, keyed by client order id until the
venue's answer settles them (:meth:`JournalWriter.settle_outbox`). An id can have both at once
(a follow-up order not answered yet, and its cancel): each entry is settled by its own answer.
"""

from __future__ import annotations

import msgspec

from mmoms.core.book import LocalOrderBook
from mmoms.core.commands import AmendOrder, CancelOrder, SubmitOrder
from mmoms.core.ids import ClientOrderId, Symbol
from mmoms.core.order import Order
from mmoms.core.snapshot import encode_snapshot
from mmoms.journal.projection import order_row
from mmoms.journal.records import CommandSent, Entry, encode_entry, kind_of
from mmoms.journal.store import Batch, OutboxEntry, Record, Snapshot

__all__ = ["JournalWriter"]


class JournalWriter:
    __slots__ = ("batch", "now", "outbox_ids", "records_since_snapshot", "seq", "touched")

    def __init__(self) -> None:
        self.now = 0  # wall time of the input being handled (ns); the book's clock shows it too
        self.seq = 0  # the last seq handed out
        self.batch = Batch()
        self.touched: dict[tuple[Symbol, ClientOrderId], Order] = {}  # their rows go in the batch
        # outbox entries not settled yet, per (client id, "submit" | "cancel")
        self.outbox_ids: dict[tuple[ClientOrderId, str], str] = {}
        self.records_since_snapshot = 0

    def record(self, entry: Entry, key: str = "") -> None:
        self.seq += 1
        self.batch.records.append(
            Record(self.seq, self.now, kind_of(entry), key, encode_entry(entry))
        )

    def command_sent(
        self, cmd: SubmitOrder | AmendOrder | CancelOrder, *, outbox: bool = False
    ) -> None:
        """Record the command as sent; a cancel (and a group's follow-up order, ``outbox``) also
        goes to the outbox, so that it happens even if we die right after this batch commits.
        The command is encoded once, for both."""
        cid = cmd.client_order_id
        payload = encode_entry(CommandSent(command=cmd))
        self.seq += 1
        self.batch.records.append(Record(self.seq, self.now, "CommandSent", cid, payload))
        if isinstance(cmd, CancelOrder) or (outbox and isinstance(cmd, SubmitOrder)):
            kind = "cancel" if isinstance(cmd, CancelOrder) else "submit"
            outbox_id = f"{self.seq}:{cid}:{kind}"
            self.batch.outbox_add.append(OutboxEntry(outbox_id, self.now, payload))
            self.outbox_ids[(cid, kind)] = outbox_id

    def settle_outbox(self, cid: ClientOrderId, kind: str) -> None:
        """The ``kind`` ("submit" / "cancel") command for ``cid`` is settled: its outbox entry
        is done in this batch."""
        outbox_id = self.outbox_ids.pop((cid, kind), None)
        if outbox_id is not None:
            self.batch.outbox_done.append(outbox_id)

    def outbox_done(self, outbox_id: str) -> None:
        self.batch.outbox_done.append(outbox_id)

    def in_outbox(self, cid: ClientOrderId, kind: str) -> bool:
        return (cid, kind) in self.outbox_ids

    def snapshot(self, book: LocalOrderBook, extensions: dict[str, msgspec.Raw]) -> Snapshot:
        """The book as of the last record handed out (save it once that record is durable)."""
        state = msgspec.structs.replace(book.snapshot(), extensions=extensions)
        self.records_since_snapshot = 0
        return Snapshot(seq=self.seq, ts_ns=self.now, payload=encode_snapshot(state))

    def seal(self) -> Batch:
        """The batch built so far, with the rows of the orders it changed; a new one begins."""
        batch = self.batch
        if self.touched:
            batch.orders.extend(order_row(o) for o in self.touched.values())
            self.touched.clear()
        self.batch = Batch()
        self.records_since_snapshot += len(batch.records)
        return batch
