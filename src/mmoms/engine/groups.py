"""Contingent groups inside the engine: the live group states.

:class:`GroupBook` holds the latest :class:`~mmoms.contingent.state.GroupState` of every group
and finds a group from any client order id it uses (legs, replacements, flattens). It encodes
the active groups for the snapshot and restores them, and keeps each live group's worst-case
exposure for the risk layer (:meth:`GroupBook.resting`: a group counts once).

Conditional orders (stops, take-profits) reach the engine as the gateway's
:class:`~mmoms.core.reports.OrderStatusReport` under their client order id, like any order: a
venue that keeps them apart translates its own view behind the gateway (Binance:
:mod:`mmoms.venues.binance.algo_view`). When such a report says the order is done without
proving how (``ask_placed_order``), the book writer asks about the order it placed at trigger.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from mmoms.contingent.exposure import GroupExposure, group_exposure
from mmoms.contingent.state import GroupState, GroupStatus, decode_state, encode_state
from mmoms.core.enums import Side
from mmoms.core.ids import ClientOrderId, GroupId, StrategyId, Symbol

_ZERO = Decimal(0)


class GroupBook:
    def __init__(self) -> None:
        self._states: dict[GroupId, GroupState] = {}
        self._strategies: dict[GroupId, StrategyId | None] = {}
        self._by_cid: dict[ClientOrderId, GroupId] = {}
        self._live: set[GroupId] = set()  # groups not finished yet
        self._exposure: dict[GroupId, GroupExposure] = {}  # cache, dropped at every change

    def __contains__(self, group_id: object) -> bool:
        return group_id in self._states

    def get(self, group_id: GroupId) -> GroupState | None:
        return self._states.get(group_id)

    def for_order(self, client_order_id: ClientOrderId) -> GroupState | None:
        group_id = self._by_cid.get(client_order_id)
        return None if group_id is None else self._states[group_id]

    def was_sent(self, client_order_id: ClientOrderId) -> bool:
        """The group's plan has submitted this order (a leg past its trigger, not waiting)."""
        state = self.for_order(client_order_id)
        if state is None:
            return False
        return any(
            slot.client_order_id == client_order_id for leg in state.legs for slot in leg.slots
        )

    def strategy(self, group_id: GroupId) -> StrategyId | None:
        return self._strategies.get(group_id)

    def put(self, state: GroupState, strategy_id: StrategyId | None = None) -> None:
        group_id = state.spec.group_id
        self._states[group_id] = state
        if strategy_id is not None or group_id not in self._strategies:
            self._strategies[group_id] = strategy_id
        for cid in state.client_order_ids():
            self._by_cid[cid] = group_id
        # States change only through here. The exposure is computed when risk next asks, not
        # now: this runs on the fill → follow-up path, where every microsecond counts.
        self._exposure.pop(group_id, None)
        if state.status.is_terminal:
            self._live.discard(group_id)
        else:
            self._live.add(group_id)

    def resting(self, symbol: Symbol, side: Side) -> Decimal:
        """What all live groups on ``symbol`` could still add on ``side``, each counted once."""
        total = _ZERO
        for group_id in self._live:
            e = self._exposure.get(group_id)
            if e is None:
                e = self._exposure[group_id] = group_exposure(self._states[group_id])
            if e.symbol == symbol:
                total += e.buy_qty if side is Side.BUY else e.sell_qty
        return total

    def states(self) -> list[GroupState]:
        return list(self._states.values())

    def active(self) -> list[GroupState]:
        return [s for s in self._states.values() if s.status is GroupStatus.ACTIVE]

    # -- snapshot -----------------------------------------------------------------------------

    def to_raw(self) -> msgspec.Raw:
        """Active groups (finished ones need no recovery) as JSON, for the engine snapshot."""
        items = [
            {
                "strategy_id": self._strategies.get(s.spec.group_id),
                "state": msgspec.Raw(encode_state(s)),
            }
            for s in self.active()
        ]
        return msgspec.Raw(msgspec.json.encode(items))

    def load_raw(self, raw: bytes) -> None:
        """Restore what :meth:`to_raw` wrote.

        Raises:
            msgspec.DecodeError / StateVersionError: not a groups snapshot we understand.
        """
        for item in msgspec.json.decode(raw, type=list[_SnapshotItem]):
            self.put(decode_state(bytes(item.state)), item.strategy_id)


class _SnapshotItem(msgspec.Struct):
    strategy_id: StrategyId | None
    state: msgspec.Raw
