"""Intents for groups: what a strategy asks of the OMS. The engine adds them to its intent union.

A :class:`PlaceGroup` carries the frozen, validated group (client order ids included), so the
journaled intent alone says exactly which orders the group may ever send.
"""

from __future__ import annotations

from mmoms.contingent.spec import Group
from mmoms.core.ids import GroupId
from mmoms.core.intents import Intent


class PlaceGroup(Intent, frozen=True, tag=True, kw_only=True):
    group: Group


class CancelGroup(Intent, frozen=True, tag=True, kw_only=True):
    """Cancel every working order of the group and discard its waiting legs."""

    group_id: GroupId
