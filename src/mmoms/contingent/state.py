"""A group's progress: a plain, versioned, JSON-serialisable struct the engine journals.

The planner never mutates a state; it returns a new one. Everything it decides from is in here
(and in the frozen spec the state carries), so a state decoded from the journal plans exactly
like the one that was encoded.

What is kept, per venue order of a leg (a *slot*): the highest cumulative filled quantity seen,
the terminal status seen, the quantity last asked for, whether a cancel was sent. Per leg: its
phase, and its fills split into **allowed** (within the design) and **excess** (beyond it: an
overfill, flattened). The split is decided once, when the fill is first seen, which makes re-fed
events harmless: nothing already counted is counted again.

Versioning: :data:`STATE_VERSION` is bumped when a field changes meaning; adding a field with a
default does not bump it. :func:`decode_state` refuses versions it does not know.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

import msgspec

from mmoms.contingent.spec import Group
from mmoms.core.enums import OrderStatus, Side
from mmoms.core.errors import MmomsError
from mmoms.core.ids import ClientOrderId

STATE_VERSION = 1
ZERO = Decimal(0)


class StateVersionError(MmomsError):
    """A journaled group state of a version this code cannot read."""


class GroupStatus(StrEnum):
    ACTIVE = "ACTIVE"  # legs working, no child triggered yet
    TRIGGERED = "TRIGGERED"  # at least one child went live
    COMPLETED = "COMPLETED"  # nothing left working, something was filled
    CANCELED = "CANCELED"  # nothing left working, nothing filled

    @property
    def is_terminal(self) -> bool:
        return self in (GroupStatus.COMPLETED, GroupStatus.CANCELED)


class LegPhase(StrEnum):
    WAITING = "WAITING"  # not sent: waits for its trigger (INACTIVE in the book)
    LIVE = "LIVE"  # has a venue order that is not final yet
    DONE = "DONE"  # every venue order of the leg is final
    DISCARDED = "DISCARDED"  # never sent: its trigger can no longer fire, or it was canceled


class SlotState(msgspec.Struct, frozen=True, kw_only=True):
    """One venue order of a leg."""

    client_order_id: ClientOrderId
    quantity: Decimal  # total quantity last asked for (submit or amend)
    filled: Decimal = ZERO  # highest cumulative filled quantity seen
    final: OrderStatus | None = None  # FILLED / CANCELED / EXPIRED / REJECTED once seen
    cancel_sent: bool = False


class LegState(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    phase: LegPhase = LegPhase.WAITING
    slots: tuple[SlotState, ...] = ()
    allowed: Decimal = ZERO  # filled within the design
    excess: Decimal = ZERO  # filled beyond it (flattened)
    closed: bool = False  # no more fills allowed: a CANCEL edge fired or its target ran out

    @property
    def filled(self) -> Decimal:
        return self.allowed + self.excess


class FlattenState(msgspec.Struct, frozen=True, kw_only=True):
    """A MARKET order that takes an overfill back out."""

    client_order_id: ClientOrderId
    leg: str  # the leg whose excess it flattens
    side: Side
    quantity: Decimal
    filled: Decimal = ZERO
    final: OrderStatus | None = None


class GroupState(msgspec.Struct, frozen=True, kw_only=True):
    version: int = STATE_VERSION
    spec: Group
    status: GroupStatus = GroupStatus.ACTIVE
    legs: tuple[LegState, ...]
    flattens: tuple[FlattenState, ...] = ()
    canceling: bool = False  # cancel_group() was called

    def leg(self, name: str) -> LegState:
        """The state of leg ``name``.

        Raises:
            KeyError: no such leg.
        """
        for leg in self.legs:
            if leg.name == name:
                return leg
        raise KeyError(name)

    def client_order_ids(self) -> list[ClientOrderId]:
        """Every id this group has used or may use next: legs' orders and flattens."""
        ids = [s.client_order_id for leg in self.legs for s in leg.slots]
        ids += [
            spec.client_order_id
            for spec, leg in zip(self.spec.legs, self.legs, strict=True)
            if not leg.slots
        ]
        return ids + [f.client_order_id for f in self.flattens]


def new_state(group: Group) -> GroupState:
    """The state of a group nothing has happened to yet: every leg WAITING."""
    return GroupState(spec=group, legs=tuple(LegState(name=leg.name) for leg in group.legs))


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(GroupState)


def encode_state(state: GroupState) -> bytes:
    return _encoder.encode(state)


def decode_state(data: bytes) -> GroupState:
    """Decode a journaled state.

    Raises:
        StateVersionError: a version this code does not know.
        msgspec.DecodeError: not a group state.
    """
    state = _decoder.decode(data)
    if state.version != STATE_VERSION:
        raise StateVersionError(f"group state version {state.version}, expected {STATE_VERSION}")
    return state
