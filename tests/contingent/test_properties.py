"""Properties of the planner against a venue that applies its commands late (Hypothesis).

A random group (OCO, OCO cancel-on-first-fill, OUO, OTO full / partial trigger, bracket, or a
random graph of TRIGGER / CANCEL / REDUCE edges, judged by the graph-independent rules) is run
against :class:`~tests.contingent.venue.Venue`: requests land after random delays and in random
order across orders, trades happen at any time (so both legs of an OCO do fill before a cancel
lands), the venue ends orders on its own, reports arrive late, out of order and duplicated, and
the engine "crashes" (state restored from its JSON, every seen event re-fed). Then everything
drains. Invariants:

* every command is issued once: a client order id is submitted once, canceled at most once, and
  never amended after its cancel; re-feeding seen events (duplicates, or after a crash) to the
  restored state issues nothing and changes nothing;
* no child goes live before its trigger, in what the planner had been told and at the venue;
  a partially triggered child is never bigger than the parent's reported fill;
* the planner's view of the fills equals the venue's once everything is reported;
* the allowed fills satisfy the design (OCO: one capacity; cancel-on-first-fill: one winner;
  OTO: children within the parent; bracket: exits within the entry); whatever was filled beyond
  it was flagged, and flattened as far as it took the net position beyond the design's (an
  excess that moved it toward flat — a straddle filled on both sides — is not "flattened" into
  a new position), so the venue's net position is no larger than the design's and no flatten
  exceeds its leg's excess; with no overfill detected there is no excess at all;
* the group ends COMPLETED or CANCELED. (The venue may reject a flatten too: then the net
  position differs from the design by exactly what a FlattenFailed alert reported.)
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal as D

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmoms.contingent import (
    Edge,
    EdgeKind,
    EdgeOn,
    FlattenFailed,
    Group,
    GroupStatus,
    OrderSpec,
    bracket,
    graph,
    oco,
    oto,
    ouo,
)
from mmoms.contingent.builders import limit, stop_market
from mmoms.core.commands import AmendOrder, CancelOrder, SubmitOrder
from mmoms.core.enums import Side

from .helpers import SYM
from .venue import Chooser, Trace, run, seeded

KINDS = (
    "oco",
    "oco_first",
    "ouo",
    "oto_full",
    "oto_partial",
    "bracket_full",
    "bracket_partial",
    "graph",
)


def make_group(choose: Chooser) -> tuple[str, Group]:
    kind = KINDS[choose(0, len(KINDS) - 1)]
    q = D(choose(1, 4))

    def leg(qty: D, price: int) -> OrderSpec:
        side = Side.BUY if choose(0, 1) else Side.SELL
        if choose(0, 1):
            return limit(side, qty, D(price))
        return stop_market(side, qty, D(price))  # re-placed, not amended

    if kind == "graph":
        return kind, _random_graph(choose, leg)
    if kind in ("oco", "oco_first"):
        legs = [leg(q, 100), leg(q, 101)]
        return kind, oco("g", SYM, legs, cancel_on_first_fill=kind == "oco_first")
    if kind == "ouo":
        return kind, ouo("g", SYM, [leg(q, 100), leg(q, 101), leg(q, 102)])
    if kind.startswith("oto"):
        children = [leg(D(choose(1, 4)), 110) for _ in range(choose(1, 2))]
        parent = limit(Side.BUY, q, D(100))
        return kind, oto("g", SYM, parent, children, partial_trigger=kind == "oto_partial")
    side = Side.BUY if choose(0, 1) else Side.SELL
    entry = None if choose(0, 3) == 0 else D(100)  # sometimes a MARKET entry
    group = bracket(
        "g",
        SYM,
        side,
        q,
        entry_price=entry,
        take_profit_price=D(100 + 10 * side.sign),
        stop_price=D(100 - 5 * side.sign),
        partial_trigger=kind == "bracket_partial",
    )
    return kind, group


def _random_graph(choose: Chooser, leg: Callable[[D, int], OrderSpec]) -> Group:
    """2-4 legs, random valid edges; TRIGGER edges only point forward, so leg ``l0`` is a root."""
    names = [f"l{i}" for i in range(choose(2, 4))]
    legs = {name: leg(D(choose(1, 4)), 100 + i) for i, name in enumerate(names)}
    edges: set[Edge] = set()
    for _ in range(choose(1, 6)):
        a, b = choose(0, len(names) - 1), choose(0, len(names) - 1)
        kind = (EdgeKind.TRIGGER, EdgeKind.CANCEL, EdgeKind.REDUCE)[choose(0, 2)]
        ons = (EdgeOn.FILL, EdgeOn.PARTIAL_FILL) if kind is EdgeKind.REDUCE else tuple(EdgeOn)
        on = ons[choose(0, len(ons) - 1)]
        if a == b or (kind is EdgeKind.TRIGGER and a > b):
            continue
        edges.add(Edge(names[a], names[b], kind, on))
    return graph("g", SYM, legs, sorted(edges, key=str))


def check(t: Trace, kind: str) -> None:
    state, venue, group = t.state, t.venue, t.state.spec
    assert state.status in (GroupStatus.COMPLETED, GroupStatus.CANCELED)
    _commands_issued_once(t)
    _no_child_before_its_trigger(t, group)
    for leg in state.legs:  # the planner knows every fill the venue made
        at_venue = sum((venue.orders[s.client_order_id].filled for s in leg.slots), D(0))
        assert leg.allowed + leg.excess == at_venue, leg
    failed = {e.client_order_id: e.unfilled for e in t.events if isinstance(e, FlattenFailed)}
    unflattened = D(0)  # signed: what failed flattens left on
    flattened = sum((f.quantity for f in state.flattens), D(0))
    assert flattened <= sum((leg.excess for leg in state.legs), D(0))  # only excess is flattened
    for leg in state.legs:  # (or the failure reported)
        flats = [f for f in state.flattens if f.leg == leg.name]
        for f in flats:
            short = f.quantity - venue.orders[f.client_order_id].filled
            assert failed.get(f.client_order_id, D(0)) == short
            unflattened -= f.side.sign * short
    if not t.overfills:
        assert all(leg.excess == 0 for leg in state.legs)
        assert state.flattens == ()
    sides = {spec.name: spec.order.side.sign for spec in group.legs}
    design_net = sum((sides[leg.name] * leg.allowed for leg in state.legs), D(0))
    venue_net = sum(
        (o.cmd.side.sign * o.filled for o in venue.orders.values()), D(0)
    )  # legs' orders and flattens alike
    settled_net = venue_net - unflattened  # as if every flatten had filled
    assert abs(settled_net) <= abs(design_net), (settled_net, design_net)
    _allowed_fills_fit_the_design(kind, t)


def _commands_issued_once(t: Trace) -> None:
    submitted: set[str] = set()
    canceled: set[str] = set()
    last_amend: dict[str, D] = {}
    for cmd in t.issued:
        cid = cmd.client_order_id
        if isinstance(cmd, SubmitOrder):
            assert cid not in submitted, f"{cid} submitted twice"
            submitted.add(cid)
        elif isinstance(cmd, CancelOrder):
            assert cid in submitted, f"cancel of {cid}, never submitted"
            assert cid not in canceled, f"{cid} canceled twice"
            canceled.add(cid)
        else:
            assert isinstance(cmd, AmendOrder)
            assert cid in submitted, f"amend of {cid}, never submitted"
            assert cid not in canceled, f"amend of {cid} after its cancel"
            assert last_amend.get(cid) != cmd.quantity, f"{cid} amended to the same twice"
            last_amend[cid] = cmd.quantity


def _no_child_before_its_trigger(t: Trace, group: Group) -> None:
    slots = {leg.name: [s.client_order_id for s in leg.slots] for leg in t.state.legs}
    first_ids = {spec.client_order_id: spec.name for spec in group.legs}
    for cmd, known, at_venue in t.submits_seen:
        name = first_ids.get(cmd.client_order_id)
        if name is None:
            continue  # a re-placement or a flatten: not an activation
        for edge in group.edges:
            if edge.target != name or edge.kind is not EdgeKind.TRIGGER:
                continue
            parent = slots[edge.source]
            if edge.on in (EdgeOn.CANCEL, EdgeOn.REJECT):  # the parent ended (or was discarded)
                assert all(c in known.final for c in parent), f"{name} sent before the end"
                continue
            told = sum((known.filled.get(c, D(0)) for c in parent), D(0))
            held = sum((at_venue.get(c, D(0)) for c in parent), D(0))
            assert told > 0, f"{name} sent before {edge.source} was reported filled"
            assert held > 0
            if edge.on is EdgeOn.FILL:
                assert all(c in known.final for c in parent), f"{name} sent before the end"
            else:
                assert cmd.quantity <= told, f"{name} sized beyond the parent's fill"


def _allowed_fills_fit_the_design(kind: str, t: Trace) -> None:
    state, group = t.state, t.state.spec
    allowed = {leg.name: leg.allowed for leg in state.legs}
    for spec in group.legs:
        assert allowed[spec.name] <= spec.order.quantity
    if kind in ("oco", "ouo"):
        assert sum(allowed.values()) <= group.legs[0].order.quantity
    elif kind == "oco_first":
        assert sum(1 for a in allowed.values() if a > 0) <= 1
    elif kind.startswith("oto"):
        for name, a in allowed.items():
            if name != "parent" and kind == "oto_partial":
                assert a <= allowed["parent"]
            if name != "parent" and allowed["parent"] == 0:
                assert a == 0
                assert state.leg(name).slots == ()
    elif kind.startswith("bracket"):
        assert allowed["sl"] + allowed["tp"] <= allowed["entry"]


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_interleavings_keep_every_invariant(data: st.DataObject) -> None:
    def choose(lo: int, hi: int) -> int:
        return data.draw(st.integers(lo, hi))

    kind, group = make_group(choose)
    check(run(group, choose(0, 60), choose), kind)


def test_the_races_really_happen_and_are_caught() -> None:
    """Seeded runs, many of them: the venue does produce the double fills the planner must catch."""
    overfills: dict[str, int] = dict.fromkeys(KINDS, 0)
    crashes = replaced = 0
    for seed in range(300):
        choose = seeded(seed)
        kind, group = make_group(choose)
        trace = run(group, choose(20, 80), choose)
        check(trace, kind)
        overfills[kind] += bool(trace.overfills)
        crashes += trace.crashes
        replaced += any("." in c.client_order_id for c in trace.issued)
    assert overfills["oco"] > 0
    assert overfills["oco_first"] > 0
    assert overfills["bracket_partial"] + overfills["bracket_full"] > 0
    assert crashes > 0
    assert replaced > 0
