"""Checks at the call: what a strategy hands the OMS is refused before it reaches the engine.

A float price would reach the engine as a float and kill it later (``0.1`` is not ``0.1``: money
is Decimal, see the README). Every public entry point that takes money, a side, an order type or
an id runs these checks first and raises :class:`~mmoms.core.errors.InvalidOrderError`, naming the
argument, so the mistake shows at the line that made it and nothing is queued.

Accepted money: :class:`~decimal.Decimal` (finite) and ``int`` (exact). Refused: ``float``
(inexact), ``str`` (ambiguous: ``"1,5"``), ``bool`` (an ``int`` subclass, never meant as money).
Enums accept their member or its exact string value (``Side.BUY`` or ``"BUY"``).
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar

from mmoms.core.errors import InvalidOrderError
from mmoms.core.ids import ClientOrderId, Symbol

__all__ = [
    "ANY_VENUE_CLIENT_ID",
    "ClientIdRule",
    "check_client_order_id",
    "check_enum",
    "check_money",
    "check_symbol",
    "check_tag",
]

E = TypeVar("E", bound=StrEnum)


@dataclass(frozen=True, slots=True)
class ClientIdRule:
    """Which client order ids a venue accepts: 1 to ``max_len`` characters, each one of ``chars``.

    A gateway declares its venue's rule (``GatewayCapabilities.client_id_rule``); the engine
    makes ids that fit it (:class:`mmoms.engine.client_ids.ClientOrderIdFactory`).
    """

    max_len: int
    chars: str  # every character allowed, e.g. string.ascii_letters + string.digits

    def __post_init__(self) -> None:
        if self.max_len < 1 or not self.chars:
            raise ValueError(f"a client id rule needs max_len >= 1 and some characters: {self}")

    def accepts(self, value: str) -> bool:
        # strip removes every allowed character from both ends: nothing left means all allowed
        return 0 < len(value) <= self.max_len and not value.strip(self.chars)

    def allows(self, chars: str) -> bool:
        """True if every one of ``chars`` may appear in an id."""
        return all(c in self.chars for c in chars)


ANY_VENUE_CLIENT_ID = ClientIdRule(64, string.ascii_letters + string.digits + string.punctuation)
"""Printable ASCII without spaces, up to 64 characters: the widest rule a venue is expected to
declare. What the engine made for any venue passes; a venue's own, narrower rule is applied where
ids are made."""
_TAG_MAX = 64


def check_money(
    name: str, value: object, *, positive: bool = True, allow_zero: bool = False
) -> Decimal:
    """``value`` as a Decimal, or an error naming ``name``.

    Raises:
        InvalidOrderError: a float, str, bool or other type; NaN or infinity; not above zero
            (``positive``; zero passes with ``allow_zero``).
    """
    if isinstance(value, Decimal):
        result = value
        if not result.is_finite():
            raise InvalidOrderError(f"{name} must be a finite number, got {value}")
    elif isinstance(value, int) and not isinstance(value, bool):
        result = Decimal(value)
    elif isinstance(value, float):
        raise InvalidOrderError(
            f"{name} must be a Decimal (or int), not the float {value!r}: a float cannot hold "
            f"money exactly; write Decimal({str(value)!r})"
        )
    elif isinstance(value, str):
        raise InvalidOrderError(
            f"{name} must be a Decimal (or int), not the string {value[:32]!r}; "
            f"write Decimal({value[:32]!r})"
        )
    else:
        raise InvalidOrderError(f"{name} must be a Decimal (or int), not {type(value).__name__}")
    if positive and (result < 0 or (result == 0 and not allow_zero)):
        raise InvalidOrderError(f"{name} must be above zero, got {result}")
    return result


def check_enum(name: str, value: object, enum: type[E]) -> E:
    """A member of ``enum`` (or its exact string value).

    Raises:
        InvalidOrderError: anything else; the message lists the allowed values.
    """
    if isinstance(value, enum):
        return value
    if isinstance(value, str):
        try:
            return enum(value)
        except ValueError:
            pass
    allowed = ", ".join(m.value for m in enum)
    shown = repr(value)[:40]
    raise InvalidOrderError(f"{name} must be one of {allowed} ({enum.__name__}), got {shown}")


def check_symbol(value: object, known: tuple[Symbol, ...] | frozenset[Symbol]) -> Symbol:
    """A symbol among ``known``.

    Raises:
        InvalidOrderError: not a string, or not one of ``known``.
    """
    if not isinstance(value, str):
        raise InvalidOrderError(f"symbol must be a string, not {type(value).__name__}")
    if value not in known:
        listed = ", ".join(sorted(known)) or "none"
        raise InvalidOrderError(f"symbol {value[:32]!r} is not traded here (traded: {listed})")
    return Symbol(value)


def check_client_order_id(value: object, rule: ClientIdRule = ANY_VENUE_CLIENT_ID) -> ClientOrderId:
    """A syntactically valid client order id under ``rule`` (default: any venue's; an id of ours
    that names an order was made to the connected venue's rule, so it passes).

    Raises:
        InvalidOrderError: not a string, or not matching the rule.
    """
    if not isinstance(value, str) or not rule.accepts(value):
        raise InvalidOrderError(f"not a client order id: {repr(value)[:48]}")
    return ClientOrderId(value)


def check_tag(value: object) -> str | None:
    """An optional short label (quote level tags, order tags).

    Raises:
        InvalidOrderError: not None and not a string of at most 64 characters.
    """
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > _TAG_MAX:
        raise InvalidOrderError(f"tag must be a string of at most {_TAG_MAX} characters")
    return value
