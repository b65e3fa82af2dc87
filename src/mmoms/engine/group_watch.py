"""What the engine's contingent groups did that an operator must see: how long a filled position
stood without its protective stop, and the races the group planner had to clean up.

**Unprotected time.** A group *needs protection* when it has a protective stop: a reduce-only
STOP / STOP_MARKET leg that a position-opening leg TRIGGERs (OTOCO, bracket). Its clock starts
when the engine reads the first fill of an opening leg, and stops when the venue acknowledges
one of the stop's orders (the book shows it NEW, or beyond). Each such interval is a sample of
the engine's ``protect`` latency stage (p50 / p99 / max in ``/metrics`` and the live view). If
the group ends before any stop was acknowledged (the take-profit filled first, the stop was
rejected), the interval ends with the group: it counts in the worst case, not in the stage.
After a restart, a group whose entry filled but whose stop is not acknowledged resumes its clock
from the entry's first fill (venue time), so a crash between the fill and the stop shows in the
worst case instead of vanishing.

**Races.** Every :class:`~mmoms.contingent.OverfillDetected` (both legs filled before the
cancel landed) and :class:`~mmoms.contingent.FlattenFailed` is counted and logged as an alert,
and so is every :class:`~mmoms.engine.protection.ProtectionFailed` (the venue refused a
protective stop while the group held a position).

Read it all through :meth:`mmoms.engine.oms.OrderManager.group_stats`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from mmoms.contingent.events import (
    AnyGroupEvent,
    FlattenFailed,
    GroupCanceled,
    GroupCompleted,
    OverfillDetected,
)
from mmoms.contingent.spec import EdgeKind, Group
from mmoms.contingent.state import GroupState
from mmoms.core.book import LocalOrderBook
from mmoms.core.enums import OrderStatus, OrderType
from mmoms.core.events import OrderEvent
from mmoms.core.ids import ClientOrderId, GroupId
from mmoms.engine.metrics import LatencyHistogram
from mmoms.engine.protection import ProtectionFailed

log = logging.getLogger(__name__)

_STOPS = frozenset({OrderType.STOP, OrderType.STOP_MARKET})
_ACKNOWLEDGED = frozenset({OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED})


@dataclass(frozen=True, slots=True)
class GroupStats:
    """A copy of the group counters at one moment (times in ns)."""

    worst_unprotected_ns: int  # longest entry fill → stop acknowledged, open intervals included
    unprotected_now: Mapping[GroupId, int]  # filled, no stop acknowledged yet: time so far
    protected: int  # intervals closed by a stop acknowledgement
    overfills: int  # OverfillDetected alerts
    overfill_qty: Decimal  # their excess, summed
    flattens_sent: int  # overfills answered with a flatten order
    flatten_failures: int  # FlattenFailed alerts: an excess is still on
    protection_failures: int = 0  # ProtectionFailed alerts: a protective stop was refused


@dataclass(frozen=True, slots=True)
class _Roles:
    entries: frozenset[str]  # legs that open the position
    stops: frozenset[str]  # protective stops they trigger


class GroupWatch:
    def __init__(self, stage: LatencyHistogram) -> None:
        self._stage = stage
        self._roles: dict[GroupId, _Roles | None] = {}
        self._since: dict[GroupId, int] = {}  # monotonic ns of the entry fill, no stop yet
        self._protected_ids: set[GroupId] = set()  # a stop was acknowledged: the clock is done
        self._worst_ns = 0
        self._protected = 0
        self._overfills = 0
        self._overfill_qty = Decimal(0)
        self._flattens = 0
        self._flatten_failures = 0
        self._protection_failures = 0

    def order_event(self, state: GroupState, event: OrderEvent, now_ns: int) -> None:
        """An order event of one of the group's orders, as the engine reads it."""
        group_id = state.spec.group_id
        roles = self._roles_of(state.spec)
        if roles is None or group_id in self._protected_ids:
            return
        leg = _leg_name(group_id, event.client_order_id)
        if leg in roles.stops and event.status in _ACKNOWLEDGED:
            self._protected_ids.add(group_id)
            since = self._since.pop(group_id, None)
            if since is not None:
                self._close(since, now_ns, acknowledged=True)
        elif (
            leg in roles.entries
            and group_id not in self._since
            and getattr(event, "filled_qty", 0) > 0
        ):
            self._since[group_id] = now_ns

    def group_event(self, event: AnyGroupEvent | ProtectionFailed, now_ns: int) -> None:
        if isinstance(event, (GroupCompleted, GroupCanceled)):
            since = self._since.pop(event.group_id, None)
            if since is not None:
                self._close(since, now_ns, acknowledged=False)
            self._protected_ids.discard(event.group_id)
            self._roles.pop(event.group_id, None)
        elif isinstance(event, OverfillDetected):
            self._overfills += 1
            self._overfill_qty += event.excess
            if event.flatten_client_order_id is not None:
                self._flattens += 1
            log.warning(
                "ALERT group %s: leg %s (%s) filled %s beyond the design; flatten: %s",
                event.group_id,
                event.leg,
                event.client_order_id,
                event.excess,
                event.flatten_client_order_id or "disabled",
            )
        elif isinstance(event, FlattenFailed):
            self._flatten_failures += 1
            log.error(
                "ALERT group %s: flatten %s left %s unfilled; the excess is still on",
                event.group_id,
                event.client_order_id,
                event.unfilled,
            )
        elif isinstance(event, ProtectionFailed):
            self._protection_failures += 1
            log.error(
                "ALERT group %s: the venue refused protective stop %s (%s) with %s exposed; "
                "flatten: %s",
                event.group_id,
                event.client_order_id,
                event.reason,
                event.exposed,
                event.flatten_client_order_id or "disabled",
            )

    def restore(
        self, states: Iterable[GroupState], book: LocalOrderBook, wall_ns: int, now_ns: int
    ) -> None:
        """After a restart: resume the clock of every group filled but not yet protected."""
        for state in states:
            roles = self._roles_of(state.spec)
            if roles is None or state.status.is_terminal:
                continue
            group_id, symbol = state.spec.group_id, state.spec.symbol
            orders = [o for cid in state.client_order_ids() if (o := book.get(symbol, cid))]
            legs = {o.client_order_id: _leg_name(group_id, o.client_order_id) for o in orders}
            stops = [o for o in orders if legs[o.client_order_id] in roles.stops]
            if any(o.status in _ACKNOWLEDGED for o in stops):
                self._protected_ids.add(group_id)
                continue
            fills = [
                f.ts_ns for o in orders if legs[o.client_order_id] in roles.entries for f in o.fills
            ]
            filled = any(state.leg(name).filled > 0 for name in roles.entries)
            if fills or filled:
                first = min(fills) if fills else wall_ns
                self._since[group_id] = now_ns - max(0, wall_ns - first)

    def stats(self, now_ns: int) -> GroupStats:
        open_ = {g: now_ns - since for g, since in self._since.items()}
        return GroupStats(
            worst_unprotected_ns=max([self._worst_ns, *open_.values()]),
            unprotected_now=open_,
            protected=self._protected,
            overfills=self._overfills,
            overfill_qty=self._overfill_qty,
            flattens_sent=self._flattens,
            flatten_failures=self._flatten_failures,
            protection_failures=self._protection_failures,
        )

    def _close(self, since: int, now_ns: int, *, acknowledged: bool) -> None:
        elapsed = max(now_ns - since, 0)
        self._worst_ns = max(self._worst_ns, elapsed)
        if acknowledged:
            self._stage.record(elapsed)
            self._protected += 1

    def _roles_of(self, group: Group) -> _Roles | None:
        group_id = group.group_id
        if group_id not in self._roles:
            self._roles[group_id] = _roles(group)
        return self._roles[group_id]


def _roles(group: Group) -> _Roles | None:
    """Which legs open a position and which protective stops they trigger; None if none."""
    orders = {leg.name: leg.order for leg in group.legs}
    pairs = [
        (e.source, e.target)
        for e in group.edges
        if e.kind is EdgeKind.TRIGGER
        and not orders[e.source].reduce_only
        and orders[e.target].reduce_only
        and orders[e.target].order_type in _STOPS
    ]
    if not pairs:
        return None
    return _Roles(frozenset(s for s, _ in pairs), frozenset(t for _, t in pairs))


def _leg_name(group_id: str, cid: ClientOrderId) -> str:
    """``<group>-<leg>`` or ``<group>-<leg>.<n>`` → ``<leg>`` (flattens give ``flat-<n>``)."""
    return cid[len(group_id) + 1 :].split(".", 1)[0]
