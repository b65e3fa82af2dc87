"""Enumerations of the domain, venue-neutral. Values are the common exchange spellings (they
happen to equal Binance's); each gateway maps its venue's own spelling to and from them."""

from __future__ import annotations

from enum import StrEnum


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"

    @property
    def sign(self) -> int:
        """+1 for a buy, -1 for a sell: the sign of the position change a fill causes."""
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(StrEnum):
    LIMIT = "LIMIT"
    MARKET = "MARKET"
    STOP = "STOP"
    STOP_MARKET = "STOP_MARKET"
    TAKE_PROFIT = "TAKE_PROFIT"
    TAKE_PROFIT_MARKET = "TAKE_PROFIT_MARKET"
    TRAILING_STOP_MARKET = "TRAILING_STOP_MARKET"

    @property
    def is_conditional(self) -> bool:
        """Waits for a trigger price before it works (a venue may hold these apart from its
        book: ``GatewayCapabilities.stops_kept_apart``)."""
        return self not in (OrderType.LIMIT, OrderType.MARKET)


class TimeInForce(StrEnum):
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"
    GTX = "GTX"  # post-only: rejected by the venue if it would take
    GTD = "GTD"


class PositionSide(StrEnum):
    BOTH = "BOTH"  # one-way mode
    LONG = "LONG"  # hedge mode
    SHORT = "SHORT"


class WorkingType(StrEnum):
    MARK_PRICE = "MARK_PRICE"
    CONTRACT_PRICE = "CONTRACT_PRICE"


class OrderStatus(StrEnum):
    """Our view of an order. See :mod:`mmoms.core.fsm` for the transitions."""

    INACTIVE = "INACTIVE"  # contingent child, not sent yet
    PENDING_NEW = "PENDING_NEW"  # journaled, request in flight
    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    PENDING_CANCEL = "PENDING_CANCEL"
    PENDING_REPLACE = "PENDING_REPLACE"  # amend in flight
    UNKNOWN = "UNKNOWN"  # the venue could not say whether a request executed
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL

    @property
    def is_in_flight(self) -> bool:
        """A request about this order is outstanding: never act on it until it settles."""
        return self in _IN_FLIGHT

    @property
    def is_open(self) -> bool:
        """Possibly resting on the exchange (includes in-flight states)."""
        return not self.is_terminal and self is not OrderStatus.INACTIVE


_TERMINAL = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
)
_IN_FLIGHT = frozenset(
    {
        OrderStatus.PENDING_NEW,
        OrderStatus.PENDING_CANCEL,
        OrderStatus.PENDING_REPLACE,
        OrderStatus.UNKNOWN,
    }
)


class VenueOrderStatus(StrEnum):
    """Order status as the venue reports it."""

    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    EXPIRED_IN_MATCH = "EXPIRED_IN_MATCH"  # expired by self-trade prevention

    @property
    def rank(self) -> int:
        """Progress of an order; a report of lower rank than what we know is stale."""
        if self is VenueOrderStatus.NEW:
            return 1
        if self is VenueOrderStatus.PARTIALLY_FILLED:
            return 2
        return 3


class LiquiditySide(StrEnum):
    MAKER = "MAKER"
    TAKER = "TAKER"
