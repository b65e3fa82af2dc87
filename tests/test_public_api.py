"""The public API is a promise: this test makes any change to it deliberate."""

import mmoms

EXPECTED = {
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
}


def test_all_is_pinned() -> None:
    assert set(mmoms.__all__) == EXPECTED
    assert len(mmoms.__all__) == len(EXPECTED), "duplicates in __all__"


def test_every_exported_name_exists() -> None:
    missing = [name for name in mmoms.__all__ if not hasattr(mmoms, name)]
    assert missing == []
