"""Recovery: the latest snapshot plus a replay of the journal after it.

Design decisions:

* **Only book inputs change state.** :class:`~mmoms.journal.records.BookCreate`,
  :class:`~mmoms.journal.records.BookMark` and :class:`~mmoms.journal.records.BookReport` are
  applied in seq order; other kinds are skipped without decoding their payload (the ``kind``
  column says what they are), which keeps replay cheap.
* **The record's time is the book's time.** Before each input the :class:`ReplayClock` is set to
  the record's ``ts_ns``, exactly the value the live engine read, so the rebuilt book has the
  same timestamps and therefore the same :meth:`~mmoms.core.book.LocalOrderBook.state_hash`.
  Wall time may repeat or step back between records, so the replay clock accepts any value (the
  core ``TestClock`` refuses to go backwards).
* **Refusals replay as refusals.** If the live book refused an input (an unknown order, a
  transition the FSM does not allow, a reused client id) it changed nothing; the replay gets the
  same refusal, changes nothing too, and lists it in :attr:`RecoveredState.refused` instead of
  stopping. A payload that cannot be decoded is different: state would silently diverge, so it
  stops recovery with :class:`~mmoms.journal.store.JournalError`. So does a book input that is
  damaged in a way a decoder cannot see but the engine never writes: a time that is not an
  integer, a payload of another kind than its ``kind`` column, a number the book cannot compute
  with (NaN). The error names the record's seq and kind, never a payload.
* **An unreadable snapshot is not fatal.** Snapshots are a shortcut; if the latest cannot be
  decoded, recovery replays from the beginning and says so in :attr:`RecoveredState.notes`.
* **What is in flight is handed back.** Orders in PENDING_NEW / PENDING_CANCEL / PENDING_REPLACE
  / UNKNOWN, and the outbox entries not confirmed sent: the engine queries each order and
  re-sends each entry before it trades again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import msgspec

from mmoms.core.book import LocalOrderBook, UnknownOrderError
from mmoms.core.clock import Clock
from mmoms.core.fsm import InvalidTransitionError
from mmoms.core.order import Order
from mmoms.core.snapshot import decode_snapshot, encode_snapshot
from mmoms.journal.records import BOOK_INPUTS, BookCreate, BookMark, BookReport, decode_entry
from mmoms.journal.store import JournalError, JournalStore, OutboxEntry, Record, Snapshot

BOOK_INPUT_KINDS = frozenset(t.__name__ for t in BOOK_INPUTS)


class ReplayClock:
    """A clock whose time is set from outside (by the replay); it may step back.

    After :meth:`hand_over` it delegates to a live clock, so the recovered book goes on running
    on real time without being rebuilt.
    """

    __slots__ = ("_live", "_now")

    def __init__(self, now_ns: int = 0) -> None:
        self._now = now_ns
        self._live: Clock | None = None

    def set(self, now_ns: int) -> None:
        self._now = now_ns

    def hand_over(self, live: Clock) -> None:
        self._live = live

    def time_ns(self) -> int:
        return self._now if self._live is None else self._live.time_ns()

    def monotonic_ns(self) -> int:
        return self._now if self._live is None else self._live.monotonic_ns()


@dataclass
class RecoveredState:
    book: LocalOrderBook
    clock: ReplayClock
    last_seq: int  # the engine's next record is last_seq + 1
    snapshot_seq: int  # 0: replayed from the beginning
    replayed: int  # book inputs applied after the snapshot
    pending_outbox: list[OutboxEntry]
    in_flight: list[Order]  # query each before trading resumes
    refused: list[tuple[int, str]] = field(default_factory=list)  # (seq, why) as live
    notes: list[str] = field(default_factory=list)


def apply_record(book: LocalOrderBook, clock: ReplayClock, record: Record) -> bool:
    """Apply one record if it is a book input; return whether it was one.

    Raises:
        JournalError: the payload cannot be decoded, is not of the record's kind, or holds
            numbers the book cannot use; the time is not an integer.
        ValueError / UnknownOrderError / InvalidTransitionError: the book refused the input
            (as it did live); nothing changed.
    """
    if record.kind not in BOOK_INPUT_KINDS:
        return False
    try:
        entry = decode_entry(record.payload)
    except msgspec.DecodeError as exc:
        raise JournalError(
            f"record {record.seq} ({record.kind}) cannot be decoded: {exc}"
        ) from None
    if type(entry).__name__ != record.kind:
        raise JournalError(
            f"record {record.seq} is kind {record.kind} but holds a {type(entry).__name__}"
        )
    if type(record.ts_ns) is not int:
        raise JournalError(f"record {record.seq} ({record.kind}): its time is not an integer")
    clock.set(record.ts_ns)
    try:
        if isinstance(entry, BookReport):
            book.apply(entry.report)
        elif isinstance(entry, BookMark):
            book.mark(entry.symbol, entry.client_order_id, entry.trigger, entry.reason)
        elif isinstance(entry, BookCreate):  # the only kind left (checked above)
            book.create(
                entry.command,
                inactive=entry.inactive,
                group_id=entry.group_id,
                tag=entry.tag,
                strategy_id=entry.strategy_id,
            )
    except ArithmeticError as exc:  # decimal.InvalidOperation: a NaN the engine never writes
        raise JournalError(
            f"record {record.seq} ({record.kind}) holds a number the book cannot use "
            f"({type(exc).__name__})"
        ) from None
    return True


async def recover(
    store: JournalStore,
    clock_factory: Callable[[], Clock] | None = None,
    *,
    use_snapshot: bool = True,
) -> RecoveredState:
    """Rebuild the book from ``store``: latest snapshot + replay of the records after it.

    ``clock_factory`` makes the clock the book runs on once recovered (e.g. ``LiveClock``);
    without it the book stays at the last record's time (tools, tests). ``use_snapshot=False``
    replays everything from the first record (to check a snapshot).

    Raises:
        JournalError: the store cannot be read, or a book input cannot be decoded.
    """
    clock = ReplayClock()
    book: LocalOrderBook | None = None
    snapshot_seq = 0
    notes: list[str] = []
    snapshot = await store.latest_snapshot() if use_snapshot else None
    if snapshot is not None:
        try:
            clock.set(snapshot.ts_ns)
            book = LocalOrderBook.restore(decode_snapshot(snapshot.payload), clock)
            snapshot_seq = snapshot.seq
        except (msgspec.DecodeError, ValueError, TypeError) as exc:
            notes.append(f"snapshot at seq {snapshot.seq} unreadable ({exc}): replayed from zero")
    if book is None:
        book = LocalOrderBook(clock)
    last_seq, replayed = snapshot_seq, 0
    refused: list[tuple[int, str]] = []
    async for record in store.read(snapshot_seq):
        last_seq = record.seq
        try:
            replayed += apply_record(book, clock, record)
        except (ValueError, UnknownOrderError, InvalidTransitionError) as exc:
            refused.append((record.seq, f"{type(exc).__name__}: {exc}"))
    if clock_factory is not None:
        clock.hand_over(clock_factory())
    in_flight = sorted(
        (o for o in book.orders() if o.status.is_in_flight),
        key=lambda o: (o.symbol, o.client_order_id),
    )
    return RecoveredState(
        book=book,
        clock=clock,
        last_seq=last_seq,
        snapshot_seq=snapshot_seq,
        replayed=replayed,
        pending_outbox=await store.pending_outbox(),
        in_flight=in_flight,
        refused=refused,
        notes=notes,
    )


async def snapshot_now(store: JournalStore, book: LocalOrderBook, seq: int, ts_ns: int) -> Snapshot:
    """Save the book's state as of record ``seq`` (the last record it includes).

    Raises:
        JournalError: the store refused it (e.g. ``seq`` is beyond the journal's last record).
    """
    snapshot = Snapshot(seq=seq, ts_ns=ts_ns, payload=encode_snapshot(book.snapshot()))
    await store.save_snapshot(snapshot)
    return snapshot
