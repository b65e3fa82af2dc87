"""What reaches the engine loop. Every input is one of these, through one bounded queue."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mmoms.contingent.intents import CancelGroup, PlaceGroup
from mmoms.core.ids import Symbol
from mmoms.core.intents import AnyIntent
from mmoms.core.reports import (
    FillReport,
    OpenOrdersSnapshot,
    OrderNotFoundReport,
    OrderStatusReport,
    PositionReport,
)
from mmoms.engine.batcher import Flight
from mmoms.venues.gateway import StreamMessage
from mmoms.venues.reports import AlgoOrderReport


@dataclass(frozen=True, slots=True)
class IntentMsg:
    intent: AnyIntent | PlaceGroup | CancelGroup
    received_ns: int


@dataclass(frozen=True, slots=True)
class StreamMsg:
    message: StreamMessage


@dataclass(frozen=True, slots=True)
class ReplyMsg:
    """The outcome of one flight: per action a report or the exception it ended with."""

    flight: Flight
    results: Sequence[object]
    sent_ns: int
    replied_ns: int


@dataclass(frozen=True, slots=True)
class QueryMsg:
    """The answer to a query by client order id (unknown outcome, missing in a snapshot)."""

    result: OrderStatusReport | OrderNotFoundReport | AlgoOrderReport | None
    symbol: str
    client_order_id: str
    error: BaseException | None = None
    unknown: bool = False  # resolved as an unknown outcome: a "not found" is definite


@dataclass(frozen=True, slots=True)
class ReconcileMsg:
    reason: str
    snapshot: OpenOrdersSnapshot | None
    positions: Sequence[PositionReport]
    error: BaseException | None = None
    # Conditional orders the venue keeps apart (Binance's algo service) listed for these
    # symbols: the ones of ours waiting there were looked for in this list.
    waiting: Sequence[AlgoOrderReport] = ()
    waiting_symbols: Sequence[Symbol] = ()


@dataclass(frozen=True, slots=True)
class FillsMsg:
    """Trades fetched to backfill fills the stream lost (reconciliation)."""

    symbol: str
    fills: Sequence[FillReport]
    error: BaseException | None = None


@dataclass(frozen=True, slots=True)
class TimerMsg:
    kind: str  # "flush", "reconcile", "retry"


EngineMsg = IntentMsg | StreamMsg | ReplyMsg | QueryMsg | ReconcileMsg | FillsMsg | TimerMsg
