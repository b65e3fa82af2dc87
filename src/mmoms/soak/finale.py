"""The end of a soak: a last checkpoint, a clean stop, and the checks only the end can make.

1. A final checkpoint (the book equals the venue) while the OMS still runs.
2. ``stop``: the worker cancels everything of ours and reports its live state hash.
3. Nothing of ours may be open on the venue (regular or conditional), and no group may be left
   with doubled exposure (an open stop is no longer required: the clean stop cancels stops).
4. The journal, replayed from its first record, reaches the hash pinned at every checkpoint and
   the hash of the clean stop; recovery through the latest snapshot reaches it too.
5. Over the whole run: no client order id twice on the venue, none created twice in the
   journal, no venue order the journal did not create, and the fills equal trade by trade —
   hence positions and fees equal the simulator's account.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import msgspec

from mmoms.journal.store import JournalError
from mmoms.soak.audit import JournalAudit, audit_journal
from mmoms.soak.invariants import (
    check_created_once,
    check_fills,
    check_flat,
    check_groups,
    check_known_orders,
    check_replay,
    check_unique_orders,
)
from mmoms.soak.views import ZERO, Breach, GroupView, VenueTruth

if TYPE_CHECKING:
    from mmoms.soak.orchestrator import Soak

__all__ = ["finish"]


async def finish(soak: Soak) -> None:
    await soak.ensure_plain_worker()
    await soak.checkpoint("final", final=True)
    worker = soak.worker
    stopped = await worker.request("stop", "stopped", 90)
    code = await worker.wait(60)
    if stopped is None:
        soak.breach("orphan", "the OMS did not report a clean stop")
    elif stopped["open_left"]:
        soak.breach("orphan", f"the OMS stopped with orders open: {stopped['open_left'][:10]}")
    if code != 0:
        soak.breach("crash", f"the OMS's clean stop exited with {code}: {worker.log_tail(5)}")
    truth = await soak.truth.truth(soak.group_symbols)
    await soak.collect_faults()
    _record(soak, check_flat(truth.open_orders))
    if stopped is not None:
        groups = msgspec.convert(stopped["groups"], list[GroupView])
        pending = [g for g in groups if g.group_id not in soak.judged]
        verdict = check_groups(pending, truth, open_protection=False)
        _record(soak, verdict.breaches)
        soak.overfilled.update(verdict.overfills)
    try:
        audit = await audit_journal(soak.journal, set(soak.pinned))
    except JournalError as exc:
        soak.breach("replay", f"the journal cannot be read: {exc}")
        return
    _replay(soak, audit, None if stopped is None else str(stopped["state_hash"]))
    _orders_and_fills(soak, audit, truth)
    _tally(soak, audit)


def _record(soak: Soak, breaches: list[Breach]) -> None:
    soak.result.checks += 1
    for breach in breaches:
        soak.breach(breach.invariant, f"at the end: {breach.detail}")


def _replay(soak: Soak, audit: JournalAudit, stop_hash: str | None) -> None:
    _record(soak, check_replay(soak.pinned, audit.hashes))
    ends = {
        "replay from zero": audit.final_hash,
        "recovery (snapshot + tail)": audit.recovered_hash,
    }
    soak.result.checks += 1
    for how, reached in ends.items():
        if stop_hash is not None and reached != stop_hash:
            soak.breach(
                "replay", f"{how} reached {reached[:12]}, the live OMS stopped at {stop_hash[:12]}"
            )
    reused = [why for _, why in audit.refused if "already used" in why]
    if reused:
        soak.breach("duplicate", f"the book refused reused client order ids: {reused[:5]}")


def _orders_and_fills(soak: Soak, audit: JournalAudit, truth: VenueTruth) -> None:
    orders = soak.truth.all_orders()
    _record(soak, check_unique_orders(orders))
    _record(soak, check_created_once(audit.created))
    _record(soak, check_known_orders(orders, audit.created))
    _record(soak, check_fills(audit.fills, soak.truth.trades.keys()))
    problems: list[Breach] = []
    for symbol in soak.symbols:
        mine, theirs = audit.positions.get(symbol, ZERO), truth.positions.get(symbol, ZERO)
        if mine != theirs:
            problems.append(
                Breach(invariant="position", detail=f"{symbol}: journal {mine}, venue {theirs}")
            )
    for asset in sorted(audit.fees.keys() | truth.fees.keys()):
        mine, theirs = audit.fees.get(asset, ZERO), truth.fees.get(asset, Decimal(0))
        if mine != theirs:
            problems.append(
                Breach(invariant="fees", detail=f"{asset}: journal {mine}, venue {theirs}")
            )
    _record(soak, problems)


def _tally(soak: Soak, audit: JournalAudit) -> None:
    r = soak.result
    r.actions.update(audit.actions)
    r.fills = len(audit.fills)
    r.groups.update(audit.groups)
    r.overfills = len(soak.overfilled | set(audit.overfills))
    r.flatten_failed = len(set(audit.flatten_failed))
    r.reconciliations = audit.reconciliations
    r.differences = audit.differences
    r.anomalies = audit.anomalies
    if audit.unprotected_s:
        group, worst = max(audit.unprotected_s.items(), key=lambda item: item[1])
        r.worst_unprotected_s = worst
        never = " (never protected)" if group in audit.never_protected else ""
        r.worst_unprotected_group = f"({group}{never})"
