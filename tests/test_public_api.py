"""The public API is a promise: this test makes any change to it deliberate.

``mmoms.__all__`` is what a strategy author imports; the Strategy's callbacks and actions are the
names the front-door issue fixed (a strategy written against them must keep running).
"""

import inspect
import subprocess
import sys

import mmoms

EXPECTED = {
    # the Strategy API and what its callbacks receive
    "Strategy", "StrategyNotRunningError", "QuoteLevel", "MarketUpdate", "DepthUpdate",
    "PriceLevel", "TradeUpdate", "MarkPriceUpdate", "Fill", "PnL", "OrderView", "RiskRejection",
    "OrderEvent", "OrderCreated", "OrderSubmitted", "OrderAccepted", "OrderRejected",
    "OrderFilled", "OrderUpdated", "OrderCanceled", "OrderCancelRejected", "OrderExpired",
    "OrderAmended", "OrderAmendRejected", "OrderPendingAmend", "OrderPendingCancel",
    "OrderOutcomeUnknown",
    # contingent groups: builders and events
    "Group", "GroupState", "bracket", "graph", "limit", "market", "oco", "oto", "otoco", "ouo",
    "stop_market", "GroupEvent", "GroupTriggered", "GroupCompleted", "GroupCanceled",
    "OverfillDetected", "FlattenFailed", "ProtectionFailed",
    # vocabulary
    "Side", "OrderType", "TimeInForce", "OrderStatus", "PositionSide", "WorkingType",
    "LiquiditySide", "Symbol", "ClientOrderId", "GroupId", "StrategyId", "TradeId",
    "VenueOrderId", "Instrument", "PriceRounding",
    # errors
    "MmomsError", "InvalidOrderError", "UnrepresentableValueError", "OmsNotRunningError",
    "OmsOverloadedError", "ConfigError",
    # running a node from a program
    "Node", "NodeOptions", "RunConfig", "load_config",
    "__version__",
}  # fmt: skip

CALLBACKS = {
    "on_start": [],
    "on_market": ["update"],
    "on_depth": ["depth"],
    "on_trade": ["trade"],
    "on_mark_price": ["mark"],
    "on_order": ["event"],
    "on_fill": ["fill"],
    "on_group": ["event"],
    "on_risk_rejected": ["rejection"],
    "on_timer": ["name"],
    "on_stop": [],
}

ACTIONS = {
    "set_quotes": ["symbol", "levels"],
    "place": [
        "symbol", "side", "quantity", "price", "order_type", "time_in_force", "reduce_only", "tag",
    ],
    "amend": ["client_order_id", "price", "quantity"],
    "cancel": ["client_order_id"],
    "cancel_all": ["symbol"],
    "place_group": ["group"],
    "cancel_group": ["group_id"],
    "new_group_id": [],
    "set_timer": ["name", "interval_s"],
    "cancel_timer": ["name"],
}  # fmt: skip

VIEWS = {
    "position": ["symbol"],
    "account_position": ["symbol"],
    "open_orders": ["symbol"],
    "order": ["client_order_id"],
    "pnl": ["symbol"],
    "book": ["symbol"],
    "depth": ["symbol"],
    "mark_price": ["symbol"],
    "instrument": ["symbol"],
    "group": ["group_id"],
    "trading_symbols": [],
}


def test_all_is_pinned() -> None:
    assert set(mmoms.__all__) == EXPECTED
    assert len(mmoms.__all__) == len(EXPECTED), "duplicates in __all__"


def test_every_exported_name_exists() -> None:
    missing = [name for name in mmoms.__all__ if not hasattr(mmoms, name)]
    assert missing == []


def _params(name: str) -> list[str]:
    return [p for p in inspect.signature(getattr(mmoms.Strategy, name)).parameters if p != "self"]


def test_the_strategy_contract_is_pinned() -> None:
    for group in (CALLBACKS, ACTIONS, VIEWS):
        for name, params in group.items():
            assert _params(name) == params, name
    assert mmoms.Strategy.symbols == ()
    place = inspect.signature(mmoms.Strategy.place).parameters
    assert all(p.kind is p.KEYWORD_ONLY for n, p in place.items() if n != "self")
    assert place["order_type"].default is mmoms.OrderType.LIMIT
    assert place["reduce_only"].default is False


def test_the_quote_level_takes_the_named_fields() -> None:
    level = mmoms.QuoteLevel(side=mmoms.Side.BUY, price=1, quantity=2, tag="b0")
    assert (level.side, level.price, level.quantity, level.tag) == (mmoms.Side.BUY, 1, 2, "b0")


def test_importing_mmoms_stays_light() -> None:
    """The simulator's process imports ``mmoms``: the engine loads only when a name needs it."""
    code = (
        "import sys, mmoms; print(any(m.startswith(('mmoms.engine', 'mmoms.app', "
        "'mmoms.venues')) for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
