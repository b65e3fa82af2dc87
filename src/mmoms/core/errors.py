"""Local errors of the core: raised before anything is sent to a venue."""

from __future__ import annotations


class MmomsError(Exception):
    """Base class of every error mmoms raises on purpose."""


class InvalidOrderError(MmomsError, ValueError):
    """An order or intent that cannot be sent as it is (bad price, quantity, parameters)."""


class UnrepresentableValueError(InvalidOrderError):
    """A price or quantity that cannot be expressed on the instrument's tick/step grid."""


class InstrumentError(MmomsError, ValueError):
    """A venue's listing of a contract (e.g. a Binance ``exchangeInfo`` entry) that no instrument
    can be built from."""
