"""Group events: what happened to a group, as the planner decided it. Past tense, tagged.

They sit beside the core's order events (an order's own story is told there: accepted, filled,
canceled); these tell the group's. The engine journals and publishes them like order events.
Versioning rule as in the core: add fields with defaults; never change a field's meaning.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from mmoms.core.ids import ClientOrderId, GroupId


class GroupEvent(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    ts_ns: int
    group_id: GroupId


class GroupTriggered(GroupEvent, frozen=True, tag=True, kw_only=True):
    """Waiting legs went live (their SubmitOrder is in the same plan)."""

    legs: tuple[str, ...]
    client_order_ids: tuple[ClientOrderId, ...]


class GroupCompleted(GroupEvent, frozen=True, tag=True, kw_only=True):
    """Nothing of the group is working any more and something was filled."""


class GroupCanceled(GroupEvent, frozen=True, tag=True, kw_only=True):
    """Nothing of the group is working any more and nothing was filled."""


class OverfillDetected(GroupEvent, frozen=True, tag=True, kw_only=True):
    """An alert: ``leg`` filled ``excess`` beyond what the design allows (a race with a cancel
    or an amend). ``flatten_client_order_id`` is the MARKET order taking it back out, if the
    group flattens."""

    leg: str
    client_order_id: ClientOrderId
    excess: Decimal
    flatten_client_order_id: ClientOrderId | None = None


class FlattenFailed(GroupEvent, frozen=True, tag=True, kw_only=True):
    """An alert: a flatten order ended with ``unfilled`` left; the excess is still on."""

    client_order_id: ClientOrderId
    unfilled: Decimal


AnyGroupEvent = GroupTriggered | GroupCompleted | GroupCanceled | OverfillDetected | FlattenFailed
