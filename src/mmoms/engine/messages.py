"""Everything the engine loop routes: inputs from outside, follow-ons and effects.

The loop (:mod:`mmoms.engine.routing`) takes one message at a time and hands it to the one
handler its type names. A handler changes the state (the book, through the book writer that
journals each change as it makes it) and *returns* everything else that should happen as a list
of the messages below; the loop routes them in order, after the book's own reactions to the
change. No handler calls another one, nothing is called back, nothing is re-entered.

Three kinds, by who posts them:

* **inputs** — from the queue: intents, stream, replies, query answers, snapshots, fills,
  timers. Posted by the public API and by the engine's tasks (:mod:`.tasks`).
* **follow-ons** — decided in the loop, routed to a handler in the same batch
  (``OrderSettled``, ``GroupOrderEvent``, ``CancelWanted``, ``QueryWanted``...).
* **effects** — applied by the loop itself, never a handler: a command to send once the batch is
  durable (:class:`Send`), a timer (:class:`ArmTimer`), a request to the venue whose answer
  comes back as an input (:class:`FetchOrder`, :class:`FetchTruth`, :class:`FetchFills`,
  :class:`Heartbeat`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from mmoms.contingent.intents import CancelGroup, PlaceGroup
from mmoms.core.events import OrderEvent
from mmoms.core.ids import ClientOrderId, Symbol, VenueOrderId
from mmoms.core.intents import AnyIntent
from mmoms.core.order import Order
from mmoms.core.reports import (
    FillReport,
    OpenOrdersSnapshot,
    OrderNotFoundReport,
    OrderStatusReport,
    PositionReport,
)
from mmoms.engine.batcher import Flight
from mmoms.venues.gateway import StreamMessage

# -- inputs ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IntentMsg:
    """A strategy's order intent (quotes, an order, a cancel, an amend, a cancel-all)."""

    intent: AnyIntent
    received_ns: int


@dataclass(frozen=True, slots=True)
class GroupIntentMsg:
    """A strategy's contingent group intent."""

    intent: PlaceGroup | CancelGroup
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

    result: OrderStatusReport | OrderNotFoundReport | None
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
    # Conditional orders a venue keeps apart from its order book until they trigger, listed
    # for these symbols: the ones of ours waiting there were looked for in this list.
    waiting: Sequence[OrderStatusReport] = ()
    waiting_symbols: Sequence[Symbol] = ()


@dataclass(frozen=True, slots=True)
class FillsMsg:
    """Trades fetched to backfill fills the stream lost (reconciliation)."""

    symbol: str
    fills: Sequence[FillReport]
    error: BaseException | None = None


@dataclass(frozen=True, slots=True)
class PriceMsg:
    """A new reference price on a symbol where a stop is held locally (:mod:`.local_stops`)."""

    symbol: Symbol
    price: Decimal


@dataclass(frozen=True, slots=True)
class TimerMsg:
    kind: str  # see :data:`mmoms.engine.routing.TIMERS`


EngineMsg = (
    IntentMsg
    | GroupIntentMsg
    | StreamMsg
    | ReplyMsg
    | QueryMsg
    | ReconcileMsg
    | FillsMsg
    | PriceMsg
    | TimerMsg
)

# -- follow-ons: decided in the loop, routed to a handler -----------------------------------------


@dataclass(frozen=True, slots=True)
class OrderSettled:
    """The order has no request in flight any more: what waited for it may go now."""

    order: Order


@dataclass(frozen=True, slots=True)
class GroupOrderEvent:
    """An event of an order that belongs to a contingent group."""

    event: OrderEvent


@dataclass(frozen=True, slots=True)
class FillBooked:
    """A fill was booked on ``symbol``: the automatic kill switch looks at the position."""

    symbol: Symbol


@dataclass(frozen=True, slots=True)
class CancelWanted:
    """Pull this order as soon as it can be (a cancel that could not be sent, a failed amend,
    a cancel committed before a restart)."""

    order: Order
    now: bool = False  # in this window if it can go; else when it settles or on the retry timer


@dataclass(frozen=True, slots=True)
class QueryWanted:
    """Ask the venue about one order (``unknown``: resolve an unknown outcome)."""

    symbol: Symbol
    client_order_id: ClientOrderId
    unknown: bool
    delay_s: float = 0.0


@dataclass(frozen=True, slots=True)
class ReconcileWanted:
    reason: str


@dataclass(frozen=True, slots=True)
class BackfillWanted:
    symbol: Symbol
    since_ns: int


@dataclass(frozen=True, slots=True)
class StreamReleased:
    """A reconciliation's snapshot is applied: the stream items buffered meanwhile go now."""


@dataclass(frozen=True, slots=True)
class SendingHeld:
    """The gateway refuses to send until this monotonic time (429 cool-down, 418 halt)."""

    until_ns: int


# -- effects: applied by the loop -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Send:
    """Journal these commands in this batch; they go on the wire once it is durable. A group
    follow-up is also put in the outbox, so a restart completes it."""

    flight: Flight
    followup: bool = False


@dataclass(frozen=True, slots=True)
class ArmTimer:
    kind: str
    delay_s: float


@dataclass(frozen=True, slots=True)
class FetchOrder:
    """Query one order (a task; the answer comes back as a :class:`QueryMsg`)."""

    symbol: Symbol
    client_order_id: ClientOrderId
    unknown: bool
    conditional: bool
    placed: VenueOrderId | None  # a triggered stop: asked for as the order it placed
    delay_s: float = 0.0


@dataclass(frozen=True, slots=True)
class FetchTruth:
    """Fetch open orders, waiting conditional orders and positions (a :class:`ReconcileMsg`)."""

    reason: str
    waiting_symbols: tuple[Symbol, ...]
    delay_s: float = 0.0


@dataclass(frozen=True, slots=True)
class FetchFills:
    """Fetch a symbol's trades since ``since_ns`` (a :class:`FillsMsg`)."""

    symbol: Symbol
    since_ns: int


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """Re-arm the venue's dead-man switch on ``symbol``."""

    symbol: Symbol
    timeout_ms: int


Decision = (
    OrderSettled
    | GroupOrderEvent
    | FillBooked
    | CancelWanted
    | QueryWanted
    | ReconcileWanted
    | BackfillWanted
    | StreamReleased
    | SendingHeld
    | Send
    | ArmTimer
    | FetchOrder
    | FetchTruth
    | FetchFills
    | Heartbeat
)
Decisions = list[Decision]
