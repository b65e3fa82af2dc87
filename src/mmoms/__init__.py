"""mmoms: the execution layer of a crypto market maker.

The public surface is pinned by ``tests/test_public_api.py``: add to it on purpose, never by
accident.
"""

from mmoms.core.book import LocalOrderBook
from mmoms.core.clock import Clock, LiveClock, TestClock
from mmoms.core.commands import AmendOrder, CancelAllOrders, CancelOrder, QueryOrder, SubmitOrder
from mmoms.core.enums import OrderStatus, OrderType, PositionSide, Side, TimeInForce
from mmoms.core.errors import InvalidOrderError, MmomsError, UnrepresentableValueError
from mmoms.core.ids import ClientOrderId, Symbol, TradeId, VenueOrderId
from mmoms.core.instrument import Instrument, PriceRounding
from mmoms.core.order import Order

__version__ = "0.1.0"

__all__ = [
    "AmendOrder",
    "CancelAllOrders",
    "CancelOrder",
    "ClientOrderId",
    "Clock",
    "Instrument",
    "InvalidOrderError",
    "LiveClock",
    "LocalOrderBook",
    "MmomsError",
    "Order",
    "OrderStatus",
    "OrderType",
    "PositionSide",
    "PriceRounding",
    "QueryOrder",
    "Side",
    "SubmitOrder",
    "Symbol",
    "TestClock",
    "TimeInForce",
    "TradeId",
    "UnrepresentableValueError",
    "VenueOrderId",
    "__version__",
]
