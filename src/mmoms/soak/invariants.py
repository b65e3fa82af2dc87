"""The soak's invariants: pure checks of an OMS view against the venue's truth.

Each check returns the breaches it found (empty: the invariant holds) and never raises on bad
data: a soak must report every breach of a run, not stop at the first. Quantities are Decimal
and compared exactly: "equal" means equal, not close.

* :func:`check_book` — at a quiet point after a reconciliation, the OMS's open orders equal the
  venue's (regular and conditional), order by order; positions, fill count and fees equal too;
  nothing open is an adopted stranger (after a kill -9, what is open must be known and managed).
* :func:`check_groups` — no contingent group holds unprotected or doubled exposure, judged with
  the venue's executed quantities; an overfill is fine only once it has been flattened.
* :func:`check_unique_orders` / :func:`check_known_orders` — no client order id reached the venue
  twice, and every order on the venue comes from a command the journal holds.
* :func:`check_created_once` — the journal never created two orders under one client order id.
* :func:`check_fills` — every trade of the venue is a fill of the OMS and the reverse.
* :func:`check_flat` — nothing of ours is open after a clean stop.
* :func:`check_replay` — replaying the journal reaches the state hash the live engine reported.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from mmoms.soak.views import (
    ZERO,
    BookView,
    Breach,
    GroupView,
    OrderView,
    VenueOrder,
    VenueTruth,
    order_key,
)

__all__ = [
    "GroupVerdict",
    "check_book",
    "check_created_once",
    "check_fills",
    "check_flat",
    "check_groups",
    "check_known_orders",
    "check_replay",
    "check_unique_orders",
]

_SIGN = {"BUY": Decimal(1), "SELL": Decimal(-1)}


def check_book(view: BookView, truth: VenueTruth, symbols: Iterable[str]) -> list[Breach]:
    out: list[Breach] = []
    ours = {o.key: o for o in view.open_orders}
    venue = {o.key: o for o in truth.open_orders}
    for key in sorted(venue.keys() - ours.keys()):
        out.append(Breach(invariant="book", detail=f"{key} open on the venue, not in the OMS"))
    for key in sorted(ours.keys() - venue.keys()):
        o = ours[key]
        out.append(
            Breach(invariant="book", detail=f"{key} {o.status} in the OMS, not open on the venue")
        )
    for key in sorted(ours.keys() & venue.keys()):
        out.extend(_same_order(ours[key], venue[key]))
    for symbol in sorted(symbols):
        mine, theirs = view.positions.get(symbol, ZERO), truth.positions.get(symbol, ZERO)
        if mine != theirs:
            out.append(Breach(invariant="position", detail=f"{symbol}: OMS {mine}, venue {theirs}"))
    if view.fills != truth.fills:
        out.append(
            Breach(invariant="fills", detail=f"OMS holds {view.fills} fills, venue {truth.fills}")
        )
    for asset in sorted(view.fees.keys() | truth.fees.keys()):
        mine, theirs = view.fees.get(asset, ZERO), truth.fees.get(asset, ZERO)
        if mine != theirs:
            out.append(Breach(invariant="fees", detail=f"{asset}: OMS {mine}, venue {theirs}"))
    return out


def _same_order(mine: OrderView, venue: OrderView) -> list[Breach]:
    key = mine.key
    if mine.external:
        return [Breach(invariant="orphan", detail=f"{key} open but adopted: not known to the OMS")]
    diffs = []
    if mine.side != venue.side:
        diffs.append(f"side {mine.side} vs {venue.side}")
    if mine.quantity != venue.quantity:
        diffs.append(f"quantity {mine.quantity} vs {venue.quantity}")
    if mine.order_type == "LIMIT" and mine.price != venue.price:
        diffs.append(f"price {mine.price} vs {venue.price}")
    if not venue.conditional and mine.filled != venue.filled:
        diffs.append(f"filled {mine.filled} vs {venue.filled}")
    if not diffs:
        return []
    return [Breach(invariant="book", detail=f"{key}: OMS vs venue: {'; '.join(diffs)}")]


# -- contingent groups --------------------------------------------------------------------------


@dataclass(slots=True)
class GroupVerdict:
    """Breaches of a set of groups, plus the overfills they had (detected and flattened)."""

    breaches: list[Breach] = field(default_factory=list)
    overfills: list[str] = field(default_factory=list)  # groups filled beyond the design


def check_groups(
    groups: Iterable[GroupView], truth: VenueTruth, *, open_protection: bool = True
) -> GroupVerdict:
    """Judge every group with the venue's executed quantities.

    ``open_protection``: also demand that a live exposure is covered by an open stop (true at a
    quiet point of a running OMS; false after a clean stop, which cancels every order).
    """
    verdict = GroupVerdict()
    open_left = {o.key: o.quantity - o.filled for o in truth.open_orders}
    for group in groups:
        _judge(group, truth.executed, open_left, open_protection, verdict)
    return verdict


def _judge(
    g: GroupView,
    executed: Mapping[str, Decimal],
    open_left: Mapping[str, Decimal],
    open_protection: bool,
    verdict: GroupVerdict,
) -> None:
    def done(cids: Iterable[str]) -> Decimal:
        return sum((executed.get(order_key(g.symbol, c), ZERO) for c in cids), ZERO)

    fills = {leg.name: done(leg.slots) for leg in g.legs}
    flat_qty = sum((done([f.client_order_id]) for f in g.flattens), ZERO)
    flat_net = sum((_SIGN[f.side] * done([f.client_order_id]) for f in g.flattens), ZERO)
    sides = {leg.name: _SIGN[leg.side] for leg in g.legs}
    net = sum((sides[n] * q for n, q in fills.items()), ZERO) + flat_net
    where = f"group {g.group_id} ({g.kind})"

    def breach(text: str) -> None:
        verdict.breaches.append(Breach(invariant="group", detail=f"{where}: {text}"))

    if g.excess > 0:  # the planner's own count (a flatten of a refused stop is no overfill)
        verdict.overfills.append(g.group_id)
    names = {leg.name for leg in g.legs}
    if {"entry", "sl", "tp"} <= names:  # OTOCO / bracket
        entry = next(leg for leg in g.legs if leg.name == "entry")
        exposure = net * sides["entry"]
        if exposure < 0:
            breach(f"exits filled {-exposure} beyond the entry (doubled exposure)")
        elif exposure > entry.quantity:
            breach(f"exposure {exposure} beyond the entry's {entry.quantity}")
        elif exposure > 0 and open_protection and not g.strategy_canceled:
            sl = next(leg for leg in g.legs if leg.name == "sl")
            covered = sum((open_left.get(order_key(g.symbol, c), ZERO) for c in sl.slots), ZERO)
            if covered < exposure:
                breach(f"exposure {exposure} with only {covered} covered by an open stop")
    elif "parent" in names:  # OTO: children close what the parent opened
        parent = next(leg for leg in g.legs if leg.name == "parent")
        exposure = net * sides["parent"]
        if exposure < 0 or exposure > parent.quantity:
            breach(f"net {exposure} outside [0, {parent.quantity}] of the parent (doubled)")
    else:  # OCO / OUO / graph: one leg's worth of exposure at most, the largest leg's
        design = max((leg.quantity for leg in g.legs if not leg.reduce_only), default=ZERO)
        total = sum(fills.values(), ZERO)
        if abs(net) > design:
            breach(f"net exposure {abs(net)} beyond the design's {design}; {flat_qty} flattened")
        if total > design and g.group_id not in verdict.overfills:
            verdict.overfills.append(g.group_id)  # legs raced a cancel: fine if netted out


# -- orders and fills over the whole run --------------------------------------------------------


def check_unique_orders(orders: Iterable[VenueOrder]) -> list[Breach]:
    """No client order id twice among the venue's regular orders (per symbol), nor among its
    conditional ones. A triggered stop places a regular order under its own id: that is one."""
    counts = Counter((o.algo, o.key) for o in orders)
    return [
        Breach(
            invariant="duplicate",
            detail=f"{key}: {n} {'conditional' if algo else 'regular'} orders on the venue",
        )
        for (algo, key), n in sorted(counts.items())
        if n > 1
    ]


def check_known_orders(orders: Iterable[VenueOrder], created: Iterable[str]) -> list[Breach]:
    """Every venue order comes from an order the journal created (no stray, no lost command)."""
    known = set(created)
    return [
        Breach(invariant="orphan", detail=f"{o.key} on the venue, never created in the journal")
        for o in orders
        if o.key not in known
    ]


def check_created_once(created: Iterable[str]) -> list[Breach]:
    counts = Counter(created)
    return [
        Breach(invariant="duplicate", detail=f"{key}: created {n} times in the journal")
        for key, n in sorted(counts.items())
        if n > 1
    ]


def check_fills(
    ours: Iterable[tuple[str, int, str]], venue: Iterable[tuple[str, int, str]]
) -> list[Breach]:
    """Trade by trade, keyed (symbol, trade id, side): a self-trade is one id, two fills."""
    mine, theirs = set(ours), set(venue)
    out = [
        Breach(invariant="fills", detail=f"lost fill: {s} trade {t} {side} not in the OMS")
        for s, t, side in sorted(theirs - mine)
    ]
    out += [
        Breach(invariant="fills", detail=f"phantom fill: {s} trade {t} {side} not on the venue")
        for s, t, side in sorted(mine - theirs)
    ]
    return out


def check_flat(open_orders: Iterable[OrderView]) -> list[Breach]:
    return [
        Breach(invariant="orphan", detail=f"{o.key} still open after the clean stop")
        for o in open_orders
    ]


def check_replay(expected: Mapping[int, str], replayed: Mapping[int, str]) -> list[Breach]:
    """``expected``: seq -> hash the live engine reported; ``replayed``: what replay reached."""
    out = []
    for seq, live in sorted(expected.items()):
        got = replayed.get(seq)
        if got is None:
            out.append(Breach(invariant="replay", detail=f"seq {seq}: not in the journal"))
        elif got != live:
            out.append(
                Breach(invariant="replay", detail=f"seq {seq}: live {live[:12]}, replay {got[:12]}")
            )
    return out
