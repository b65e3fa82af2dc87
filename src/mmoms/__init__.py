"""mmoms: the execution layer of a crypto market maker.

A strategy author needs this namespace only: subclass :class:`Strategy`, build quotes with
:class:`QuoteLevel` and groups with the contingent builders (:func:`bracket`, :func:`oco`, ...),
read the event and view types in the callbacks. Start at ``docs/strategy-guide.md``.

The public surface is pinned by ``tests/test_public_api.py``: add to it on purpose, never by
accident. Names outside the core load on first use (``mmoms.Strategy`` imports the engine), so
that ``import mmoms.sim`` in the simulator's process stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from mmoms.core.enums import (
    LiquiditySide,
    OrderStatus,
    OrderType,
    PositionSide,
    Side,
    TimeInForce,
    WorkingType,
)
from mmoms.core.errors import InvalidOrderError, MmomsError, UnrepresentableValueError
from mmoms.core.events import (
    OrderAccepted,
    OrderAmended,
    OrderAmendRejected,
    OrderCanceled,
    OrderCancelRejected,
    OrderCreated,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderOutcomeUnknown,
    OrderPendingAmend,
    OrderPendingCancel,
    OrderRejected,
    OrderSubmitted,
    OrderUpdated,
)
from mmoms.core.ids import ClientOrderId, GroupId, StrategyId, Symbol, TradeId, VenueOrderId
from mmoms.core.instrument import Instrument, PriceRounding
from mmoms.core.intents import QuoteLevel
from mmoms.core.ledger import Fill, PnL
from mmoms.core.market import (
    DepthUpdate,
    MarketUpdate,
    MarkPriceUpdate,
    PriceLevel,
    TradeUpdate,
)

if TYPE_CHECKING:  # what editors and type checkers see; at run time loaded by __getattr__
    from mmoms.app.config import ConfigError, RunConfig, load_config
    from mmoms.app.node import Node, NodeOptions
    from mmoms.contingent import (
        FlattenFailed,
        Group,
        GroupCanceled,
        GroupCompleted,
        GroupEvent,
        GroupState,
        GroupTriggered,
        OverfillDetected,
        bracket,
        graph,
        limit,
        market,
        oco,
        oto,
        otoco,
        ouo,
        stop_market,
    )
    from mmoms.engine.oms import OmsNotRunningError, OmsOverloadedError
    from mmoms.engine.protection import ProtectionFailed
    from mmoms.strategy.base import Strategy, StrategyNotRunningError
    from mmoms.strategy.views import OrderView, RiskRejection

__version__ = "0.1.0"

_CONTINGENT = (
    "FlattenFailed", "Group", "GroupCanceled", "GroupCompleted", "GroupEvent", "GroupState",
    "GroupTriggered", "OverfillDetected", "bracket", "graph", "limit", "market", "oco", "oto",
    "otoco", "ouo", "stop_market",
)  # fmt: skip
_LAZY: dict[str, str] = {
    "ConfigError": "mmoms.app.config",
    "RunConfig": "mmoms.app.config",
    "load_config": "mmoms.app.config",
    "Node": "mmoms.app.node",
    "NodeOptions": "mmoms.app.node",
    "OmsNotRunningError": "mmoms.engine.oms",
    "OmsOverloadedError": "mmoms.engine.oms",
    "ProtectionFailed": "mmoms.engine.protection",
    "Strategy": "mmoms.strategy.base",
    "StrategyNotRunningError": "mmoms.strategy.base",
    "OrderView": "mmoms.strategy.views",
    "RiskRejection": "mmoms.strategy.views",
    **dict.fromkeys(_CONTINGENT, "mmoms.contingent"),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mmoms' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once loaded, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "ClientOrderId",
    "ConfigError",
    "DepthUpdate",
    "Fill",
    "FlattenFailed",
    "Group",
    "GroupCanceled",
    "GroupCompleted",
    "GroupEvent",
    "GroupId",
    "GroupState",
    "GroupTriggered",
    "Instrument",
    "InvalidOrderError",
    "LiquiditySide",
    "MarkPriceUpdate",
    "MarketUpdate",
    "MmomsError",
    "Node",
    "NodeOptions",
    "OmsNotRunningError",
    "OmsOverloadedError",
    "OrderAccepted",
    "OrderAmendRejected",
    "OrderAmended",
    "OrderCancelRejected",
    "OrderCanceled",
    "OrderCreated",
    "OrderEvent",
    "OrderExpired",
    "OrderFilled",
    "OrderOutcomeUnknown",
    "OrderPendingAmend",
    "OrderPendingCancel",
    "OrderRejected",
    "OrderStatus",
    "OrderSubmitted",
    "OrderType",
    "OrderUpdated",
    "OrderView",
    "OverfillDetected",
    "PnL",
    "PositionSide",
    "PriceLevel",
    "PriceRounding",
    "ProtectionFailed",
    "QuoteLevel",
    "RiskRejection",
    "RunConfig",
    "Side",
    "Strategy",
    "StrategyId",
    "StrategyNotRunningError",
    "Symbol",
    "TimeInForce",
    "TradeId",
    "TradeUpdate",
    "UnrepresentableValueError",
    "VenueOrderId",
    "WorkingType",
    "__version__",
    "bracket",
    "graph",
    "limit",
    "load_config",
    "market",
    "oco",
    "oto",
    "otoco",
    "ouo",
    "stop_market",
]
