"""Contingent orders: OCO, OUO, OTO, OTOCO / bracket and any graph of orders, as pure code.

Binance USDⓈ-M has no native OCO or bracket; mmoms builds them from plain orders. A group is a
frozen spec (:mod:`.spec`, built by :mod:`.builders`): legs with client order ids fixed at
creation, and edges ``(source, target, kind, on)`` with kind TRIGGER / CANCEL / REDUCE and on
FILL / PARTIAL_FILL / CANCEL / REJECT. Its progress is a versioned struct (:mod:`.state`). The
planner (:mod:`.quote_planner`, machinery in :mod:`.step`) is ``plan(event, state) → Plan(state,
commands, events)``: pure, deterministic, idempotent; the engine journals and executes the
plan. :mod:`.rules` states the edge semantics, :mod:`.exposure` what a group charges the risk
layer.

Semantics in one breath: an OCO leg's fill reduces its siblings by the filled amount (OUO) and
its completion cancels them (or the first fill cancels them, as an option); an OTO's children
stay unsent until the parent fills (completely, or — partial trigger — at the first fill, sized
to the parent's fill and following it); an OTOCO / bracket sends stop-loss and take-profit in
the very plan of the entry's fill, linked OUO; a parent that ends unfilled discards its
children; a fill beyond the design (both legs filled before the cancel landed) is flagged and
flattened with a reduce-only MARKET order. Full tables: the docstring of :mod:`.quote_planner` and
``docs/contingent-orders.md``.
"""

from mmoms.contingent.builders import (
    bracket,
    graph,
    limit,
    market,
    oco,
    oto,
    otoco,
    ouo,
    stop_market,
)
from mmoms.contingent.events import (
    AnyGroupEvent,
    FlattenFailed,
    GroupCanceled,
    GroupCompleted,
    GroupEvent,
    GroupTriggered,
    OverfillDetected,
)
from mmoms.contingent.exposure import GroupExposure, group_exposure
from mmoms.contingent.intents import CancelGroup, PlaceGroup
from mmoms.contingent.planner import Plan, PlanCommand, cancel_group, plan, start, waiting_orders
from mmoms.contingent.spec import (
    Edge,
    EdgeKind,
    EdgeOn,
    Group,
    GroupOptions,
    GroupSpecError,
    LegSpec,
    OrderSpec,
)
from mmoms.contingent.state import (
    STATE_VERSION,
    FlattenState,
    GroupState,
    GroupStatus,
    LegPhase,
    LegState,
    SlotState,
    StateVersionError,
    decode_state,
    encode_state,
    new_state,
)

__all__ = [
    "STATE_VERSION",
    "AnyGroupEvent",
    "CancelGroup",
    "Edge",
    "EdgeKind",
    "EdgeOn",
    "FlattenFailed",
    "FlattenState",
    "Group",
    "GroupCanceled",
    "GroupCompleted",
    "GroupEvent",
    "GroupExposure",
    "GroupOptions",
    "GroupSpecError",
    "GroupState",
    "GroupStatus",
    "GroupTriggered",
    "LegPhase",
    "LegSpec",
    "LegState",
    "OrderSpec",
    "OverfillDetected",
    "PlaceGroup",
    "Plan",
    "PlanCommand",
    "SlotState",
    "StateVersionError",
    "bracket",
    "cancel_group",
    "decode_state",
    "encode_state",
    "graph",
    "group_exposure",
    "limit",
    "market",
    "new_state",
    "oco",
    "oto",
    "otoco",
    "ouo",
    "plan",
    "start",
    "stop_market",
    "waiting_orders",
]
