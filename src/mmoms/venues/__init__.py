"""Venue gateways: the OMS's only door to an exchange.

:mod:`mmoms.venues.gateway` holds the venue-neutral :class:`ExchangeGateway` protocol, the
stream signals and the error kinds; each exchange lives in a subpackage
(:mod:`mmoms.venues.binance`). Nothing here imports the simulator.
"""

from mmoms.venues.errors import (
    DuplicateClientOrderId,
    GatewayClosedError,
    IpBanned,
    MissingCredentialsError,
    NotSent,
    OrderNotFound,
    OutcomeUnknown,
    ProtocolError,
    RateBudgetExceededError,
    RateLimited,
    Rejected,
    SendingHaltedError,
    VenueError,
)
from mmoms.venues.gateway import (
    BatchResult,
    ExchangeGateway,
    GatewayCapabilities,
    PoolUsage,
    RateLimitState,
    StreamGap,
    StreamItem,
    StreamMessage,
    StreamReport,
)
from mmoms.venues.venue_reports import (
    AccountConfigReport,
    AlgoOrderReport,
    AlgoStatus,
    CommissionRates,
    LiteFillReport,
    MarginCallPosition,
    MarginCallReport,
)

__all__ = [
    "AccountConfigReport",
    "AlgoOrderReport",
    "AlgoStatus",
    "BatchResult",
    "CommissionRates",
    "DuplicateClientOrderId",
    "ExchangeGateway",
    "GatewayCapabilities",
    "GatewayClosedError",
    "IpBanned",
    "LiteFillReport",
    "MarginCallPosition",
    "MarginCallReport",
    "MissingCredentialsError",
    "NotSent",
    "OrderNotFound",
    "OutcomeUnknown",
    "PoolUsage",
    "ProtocolError",
    "RateBudgetExceededError",
    "RateLimitState",
    "RateLimited",
    "Rejected",
    "SendingHaltedError",
    "StreamGap",
    "StreamItem",
    "StreamMessage",
    "StreamReport",
    "VenueError",
]
