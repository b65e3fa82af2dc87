"""``mmoms replay``: rebuild state from a journal, follow one order, export records.

Usage::

    mmoms replay journal.sqlite                   # state hash + summary (orders, positions)
    mmoms replay journal.sqlite --verify          # also replay from zero: same hash?
    mmoms replay journal.sqlite --order mm-42     # every record about one order, with times
    mmoms replay journal.sqlite --from 2024-05-01T10:00:00Z --to 2024-05-01T10:05:00Z
    mmoms replay journal.sqlite --export jsonl --out records.jsonl [--order ...] [--from ...]
    mmoms replay --postgres postgresql://postgres@127.0.0.1/test --schema public

Design decisions: the state is rebuilt by :func:`mmoms.journal.recovery.recover`, the engine's
own recovery, so what this tool prints is what a restart would see; the hash is the book's
:meth:`~mmoms.core.book.LocalOrderBook.state_hash`, identical on every run and whether or not a
snapshot was used. The journal is opened ``read_only``: a wrong path is an error, never a new
empty journal, and it takes no lock, so it works on a journal a running process holds. Errors
are one line on stderr and a non-zero exit (1: the journal, 2: the command line), never a
traceback. Times are ISO 8601 (UTC if no zone) or integer nanoseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import re
import sys
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
from rich.console import Console
from rich.table import Table

from mmoms.core.reports import (
    AnyReport,
    BalanceReport,
    FillReport,
    OrderNotFoundReport,
    OrderStatusReport,
    PositionReport,
)
from mmoms.journal.records import (
    BookCreate,
    BookMark,
    BookReport,
    CommandSent,
    EventRecorded,
    decode_entry,
)
from mmoms.journal.recovery import RecoveredState, recover
from mmoms.journal.sqlite import SqliteJournalStore
from mmoms.journal.store import JournalError, JournalStore, Record

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FRACTION = re.compile(r"(?<=:\d\d)[.,](\d+)")  # fraction of seconds
_TIMELINE_LIMIT = 100_000  # rows printed at most; use --export for more


class UsageError(Exception):
    """A bad command line (exit 2)."""


def parse_time(text: str) -> int:
    """Nanoseconds since the epoch from integer nanoseconds or an ISO 8601 time (UTC default).

    Raises:
        UsageError: neither.
    """
    if text.lstrip("-").isdigit():
        return int(text)
    # datetime keeps microseconds only: take the fraction apart so that nanoseconds (as
    # format_time prints them) survive the round trip.
    m = _FRACTION.search(text)
    frac_ns = int(m[1][:9].ljust(9, "0")) if m else 0
    try:
        dt = datetime.fromisoformat(_FRACTION.sub("", text, count=1))
    except ValueError:
        raise UsageError(f"not a time (ISO 8601 or nanoseconds): {text!r}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return (dt - _EPOCH) // timedelta(seconds=1) * 1_000_000_000 + frac_ns


def format_time(ts_ns: int) -> str:
    seconds, ns = divmod(ts_ns, 1_000_000_000)
    return f"{datetime.fromtimestamp(seconds, UTC):%Y-%m-%dT%H:%M:%S}.{ns:09d}Z"


def describe(record: Record) -> str:
    """One line saying what a record holds (best effort: never raises)."""
    try:
        entry = decode_entry(record.payload)
    except msgspec.DecodeError:
        return "(payload not understood by this version)"
    if isinstance(entry, BookCreate):
        c = entry.command
        return f"create {c.side} {c.quantity} @ {c.price} {c.order_type} {c.time_in_force or ''}"
    if isinstance(entry, BookMark):
        return f"mark {entry.trigger}" + (f" ({entry.reason})" if entry.reason else "")
    if isinstance(entry, BookReport):
        return _describe_report(entry.report)
    if isinstance(entry, EventRecorded):
        status = getattr(entry.event, "status", "")
        return f"event {type(entry.event).__name__} {status}".rstrip()
    if isinstance(entry, CommandSent):
        return f"sent {type(entry.command).__name__}"
    return type(entry).__name__


def _describe_report(r: AnyReport) -> str:
    src = f"[{r.source}]"
    if isinstance(r, OrderStatusReport):
        amended = " amended" if r.amended else ""
        return f"{r.status}{amended} filled {r.filled_qty}/{r.quantity} @ {r.price} {src}"
    if isinstance(r, FillReport):
        cum = "" if r.cum_filled_qty is None else f" cum {r.cum_filled_qty}"
        return f"fill #{r.trade_id} {r.side} {r.last_qty} @ {r.last_price}{cum} {src}"
    if isinstance(r, OrderNotFoundReport):
        return f"not found on venue {src}"
    if isinstance(r, PositionReport):
        return f"position {r.symbol} {r.position_side} {r.quantity} {src}"
    if isinstance(r, BalanceReport):
        return f"balance {r.asset} {r.wallet_balance} {src}"
    return f"open orders on {','.join(r.symbols)}: {len(r.orders)} {src}"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mmoms replay",
        description="Rebuild the OMS state from a journal; follow an order; export records.",
    )
    p.add_argument("journal", nargs="?", help="SQLite journal file")
    p.add_argument("--postgres", metavar="DSN", help="read a PostgreSQL journal instead")
    p.add_argument("--schema", default="public", help="PostgreSQL schema (default: public)")
    p.add_argument("--order", metavar="CLIENT_ORDER_ID", help="timeline of one order")
    p.add_argument("--from", dest="from_", metavar="TIME", help="first time (ISO 8601 or ns)")
    p.add_argument("--to", metavar="TIME", help="last time, inclusive (ISO 8601 or ns)")
    p.add_argument("--export", choices=("csv", "jsonl"), help="write records to --out")
    p.add_argument("--out", metavar="FILE", help="export file")
    p.add_argument("--verify", action="store_true", help="also replay from zero and compare")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``mmoms replay``; returns the exit status (0 ok, 1 journal error, 2 usage)."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or argparse's own usage errors (already printed)
        return int(exc.code or 0)
    try:
        store = _store(args)
        lo = None if args.from_ is None else parse_time(args.from_)
        hi = None if args.to is None else parse_time(args.to)
        if args.export and not args.out:
            raise UsageError("--export needs --out FILE")
    except UsageError as exc:
        parser.print_usage(sys.stderr)
        print(f"mmoms replay: {exc}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_run(store, args, lo, hi))
    except JournalError as exc:
        print(f"mmoms replay: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"mmoms replay: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 1


def _store(args: argparse.Namespace) -> JournalStore:
    if (args.journal is None) == (args.postgres is None):
        raise UsageError("give a journal file or --postgres DSN (one of them)")
    if args.postgres is not None:
        from mmoms.journal.postgres import PostgresJournalStore  # asyncpg only when asked

        try:
            return PostgresJournalStore(args.postgres, schema=args.schema, read_only=True)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    return SqliteJournalStore(args.journal, read_only=True)


async def _run(
    store: JournalStore, args: argparse.Namespace, lo: int | None, hi: int | None
) -> int:
    await store.open()
    try:
        keep = _filter(args.order, lo, hi)
        if args.export:
            n = await _export(_selected(store, keep), args.export, Path(args.out))
            print(f"exported {n} records to {args.out}")
            return 0
        if args.order or lo is not None or hi is not None:
            await _timeline(store, keep, args.order)
            return 0
        return await _summary(store, args.verify)
    finally:
        await store.close()


def _filter(cid: str | None, lo: int | None, hi: int | None) -> Callable[[Record], bool]:
    needle = msgspec.json.encode(cid) if cid is not None else b""

    def keep(r: Record) -> bool:
        if (lo is not None and r.ts_ns < lo) or (hi is not None and r.ts_ns > hi):
            return False
        return cid is None or r.key == cid or needle in r.payload

    return keep


async def _selected(store: JournalStore, keep: Callable[[Record], bool]) -> AsyncIterator[Record]:
    async for record in store.read():
        if keep(record):
            yield record


async def _export(records: AsyncIterator[Record], fmt: str, out: Path) -> int:
    n = 0
    with out.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        if fmt == "csv":
            writer.writerow(["seq", "ts_ns", "time", "kind", "key", "payload"])
        async for r in records:
            t = format_time(r.ts_ns)
            if fmt == "csv":
                writer.writerow([r.seq, r.ts_ns, t, r.kind, r.key, r.payload.decode()])
            else:
                line: dict[str, object] = {"seq": r.seq, "ts_ns": r.ts_ns, "time": t}
                line.update(kind=r.kind, key=r.key, payload=msgspec.Raw(r.payload))
                f.write(msgspec.json.encode(line).decode() + "\n")
            n += 1
    return n


async def _timeline(store: JournalStore, keep: Callable[[Record], bool], cid: str | None) -> None:
    # Plain aligned lines rather than a table: long timelines stay readable and greppable.
    print(f"{'seq':>8}  {'time (UTC)':<30}  {'kind':<14}  {'key':<14}  what")
    n = 0
    async for r in _selected(store, keep):
        n += 1
        if n <= _TIMELINE_LIMIT:
            print(
                f"{r.seq:>8}  {format_time(r.ts_ns):<30}  {r.kind:<14}  {r.key:<14}  {describe(r)}"
            )
    more = f" (first {_TIMELINE_LIMIT} shown; use --export)" if n > _TIMELINE_LIMIT else ""
    print(f"{n} records{more}")
    if cid:
        state = await recover(store)
        orders = [o for o in state.book.orders() if o.client_order_id == cid]
        for o in orders:
            print(
                f"now: {o.symbol} {o.client_order_id} {o.status} filled {o.filled_qty}/{o.quantity}"
            )
        if not orders:
            print(f"now: no order {cid!r} in the book")


async def _summary(store: JournalStore, verify: bool) -> int:
    state = await recover(store)
    h = state.book.state_hash()
    print(f"state hash: {h}")
    snap = f"snapshot at seq {state.snapshot_seq}" if state.snapshot_seq else "no snapshot"
    print(f"last seq: {state.last_seq} ({snap}; {state.replayed} book inputs replayed after it)")
    for note in state.notes:
        print(f"note: {note}")
    _print_state(state)
    if verify:
        full = (await recover(store, use_snapshot=False)).book.state_hash()
        same = full == h
        print(f"replay from zero: {full} ({'same' if same else 'DIFFERENT'})")
        return 0 if same else 1
    return 0


def _print_state(state: RecoveredState) -> None:
    console = Console(highlight=False)
    by_status = Counter(o.status.value for o in state.book.orders())
    table = Table(title="orders by status")
    table.add_column("status")
    table.add_column("orders", justify="right")
    for status, count in sorted(by_status.items()):
        table.add_row(status, str(count))
    console.print(table)
    positions = Table(title="positions (from fills)")
    for name in ("symbol", "side", "quantity"):
        positions.add_column(name, justify="right" if name == "quantity" else "left")
    for (symbol, side), qty in sorted(state.book.positions.items()):
        positions.add_row(symbol, side.value, str(qty))
    console.print(positions)
    print(f"in flight: {len(state.in_flight)} orders to query before trading")
    for o in state.in_flight[:20]:
        print(f"  {o.symbol} {o.client_order_id} {o.status.value}")
    print(f"pending outbox: {len(state.pending_outbox)} entries to send again")
    if state.refused:
        print(f"refused inputs (as live): {len(state.refused)}")
        for seq, why in state.refused[:10]:
            print(f"  seq {seq}: {why}")
