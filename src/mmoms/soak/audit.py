"""After the run: what the journal says, read in one pass.

* Replay from the first record (no snapshot) with the recovery's own :func:`apply_record`, noting
  the state hash at every seq a checkpoint pinned and at the end; :func:`recover` (latest
  snapshot + tail, what a restart does) must reach the end hash too.
* Counts for the report: commands sent (the actions), reconciliations and the differences they
  found, groups placed by kind, overfills detected, flattens that failed.
* The orders the journal created (for "no duplicate, no stray order") and its fills, trade by
  trade, with positions and fees (for "no lost fill").
* Unprotected time per bracket: from the first fill of its entry to the first moment its stop is
  live on the venue, or an exit or a flatten of the group filled (the exposure is gone). A
  kill -9 in between counts in full: that is the point.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import msgspec

from mmoms.core.book import LocalOrderBook
from mmoms.core.fsm import InvalidTransitionError
from mmoms.journal.records import CommandSent, EventRecorded, GroupRecorded, Reconciled
from mmoms.journal.recovery import ReplayClock, apply_record, recover
from mmoms.journal.sqlite import SqliteJournalStore
from mmoms.soak.views import ZERO, order_key

__all__ = ["JournalAudit", "audit_journal"]

_LEG = re.compile(r"^(?P<group>.+)-(?P<leg>entry|sl|tp|flat)(?:\.\d+|-\w+)?$")
_LIVE = frozenset({"NEW", "PARTIALLY_FILLED", "FILLED"})


@dataclass
class JournalAudit:
    records: int = 0
    hashes: dict[int, str] = field(default_factory=dict)  # seq -> replayed hash (asked seqs)
    final_hash: str = ""
    recovered_hash: str = ""  # through recover(): snapshot + tail
    refused: list[tuple[int, str]] = field(default_factory=list)
    actions: Counter[str] = field(default_factory=Counter)
    reconciliations: int = 0
    differences: int = 0
    difference_samples: list[str] = field(default_factory=list)
    groups: Counter[str] = field(default_factory=Counter)
    overfills: list[str] = field(default_factory=list)
    flatten_failed: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)  # order keys, one per BookCreate
    fills: set[tuple[str, int, str]] = field(default_factory=set)
    positions: dict[str, Decimal] = field(default_factory=dict)
    fees: dict[str, Decimal] = field(default_factory=dict)
    anomalies: int = 0
    unprotected_s: dict[str, float] = field(default_factory=dict)  # group -> seconds
    never_protected: list[str] = field(default_factory=list)


async def audit_journal(path: Path, pinned: set[int]) -> JournalAudit:
    """Raises JournalError when the journal cannot be read."""
    out = JournalAudit()
    store = SqliteJournalStore(path, read_only=True)
    await store.open()
    try:
        clock = ReplayClock()
        book = LocalOrderBook(clock)
        exposed: dict[str, int] = {}  # group -> ts of its entry's first fill
        last_ts = 0
        async for record in store.read(0):
            out.records += 1
            last_ts = record.ts_ns
            try:
                apply_record(book, clock, record)
            except (ValueError, KeyError, InvalidTransitionError) as exc:  # refused live too
                out.refused.append((record.seq, f"{type(exc).__name__}: {exc}"))
            if record.seq in pinned:
                out.hashes[record.seq] = book.state_hash()
            _note(out, record.kind, record.key, record.payload, record.ts_ns, exposed)
        out.final_hash = book.state_hash()
        for group, since in exposed.items():
            out.unprotected_s[group] = (last_ts - since) / 1e9
            out.never_protected.append(group)
        _book_facts(out, book)
        out.recovered_hash = (await recover(store)).book.state_hash()
    finally:
        await store.close()
    return out


def _note(
    out: JournalAudit, kind: str, key: str, payload: bytes, ts: int, exposed: dict[str, int]
) -> None:
    if kind == "CommandSent":
        sent = msgspec.json.decode(payload, type=CommandSent)
        out.actions[type(sent.command).__name__] += 1
    elif kind == "BookCreate":
        out.created.append(order_key(*_create_key(payload)))
    elif kind == "Reconciled":
        done = msgspec.json.decode(payload, type=Reconciled)
        out.reconciliations += 1
        out.differences += len(done.differences)
        out.difference_samples.extend(done.differences[: max(0, 20 - len(out.difference_samples))])
    elif kind == "GroupRecorded":
        _group(out, msgspec.json.decode(payload, type=GroupRecorded))
    elif kind == "EventRecorded" and (leg := _LEG.match(key)) is not None:
        event = msgspec.json.decode(payload, type=EventRecorded).event
        _protection(leg.group("group"), leg.group("leg"), event, ts, out, exposed)


class _CreateKey(msgspec.Struct):
    symbol: str
    client_order_id: str


class _Create(msgspec.Struct):
    command: _CreateKey


def _create_key(payload: bytes) -> tuple[str, str]:
    cmd = msgspec.json.decode(payload, type=_Create).command
    return cmd.symbol, cmd.client_order_id


class _GroupSpec(msgspec.Struct):
    kind: str


class _Intent(msgspec.Struct, tag_field="type", tag="PlaceGroup"):
    group: _GroupSpec


class _GroupEvent(msgspec.Struct):
    type: str


def _group(out: JournalAudit, entry: GroupRecorded) -> None:
    raw = bytes(entry.payload)
    if entry.kind == "intent" and b'"PlaceGroup"' in raw:
        out.groups[msgspec.json.decode(raw, type=_Intent).group.kind] += 1
    elif entry.kind == "event":
        name = msgspec.json.decode(raw, type=_GroupEvent).type
        if name == "OverfillDetected":
            out.overfills.append(entry.group_id)
        elif name == "FlattenFailed":
            out.flatten_failed.append(entry.group_id)


def _protection(
    group: str, leg: str, event: object, ts: int, out: JournalAudit, exposed: dict[str, int]
) -> None:
    status = str(getattr(event, "status", ""))
    if leg == "entry":
        filled = getattr(event, "filled_qty", ZERO)
        if filled and group not in exposed and group not in out.unprotected_s:
            exposed[group] = ts
        return
    if group not in exposed:
        return
    if (leg == "sl" and status in _LIVE) or status == "FILLED":
        out.unprotected_s[group] = (ts - exposed.pop(group)) / 1e9


def _book_facts(out: JournalAudit, book: LocalOrderBook) -> None:
    fees: dict[str, Decimal] = {}
    for order in book.orders():
        for fill in order.fills:
            out.fills.add((order.symbol, int(fill.trade_id), order.side.value))
            fees[fill.commission_asset] = fees.get(fill.commission_asset, ZERO) + fill.commission
    snapshot = book.snapshot()
    for orphan in snapshot.orphan_fills:
        out.fills.add((orphan.symbol, int(orphan.trade_id), orphan.side.value))
        fees[orphan.commission_asset] = fees.get(orphan.commission_asset, ZERO) + orphan.commission
    out.fees = {asset: fee for asset, fee in fees.items() if asset}
    out.positions = {p.symbol: p.quantity for p in snapshot.positions}
    out.anomalies = book.anomaly_count
