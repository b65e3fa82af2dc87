"""The venue-neutral gateway protocol: the OMS's only door to an exchange.

The OMS speaks commands (``mmoms.core.commands``) and receives reports (``mmoms.core.reports``
plus the gateway-level ones in :mod:`mmoms.venues.venue_reports`). A Binance, OKX or Bybit
gateway implements :class:`ExchangeGateway`; nothing above it knows the venue.

Two channels:

* **Request/reply** — ``await gw.submit(cmd)`` returns the venue's acknowledgement as a report
  or raises one of the error kinds in :mod:`mmoms.venues.errors`. On ``OutcomeUnknown`` the OMS
  marks the order UNKNOWN and calls :meth:`ExchangeGateway.resolve_unknown`.
* **Routing hints** — the OMS knows each order's type; a gateway need not remember it. A cancel
  of a conditional order carries ``CancelOrder.conditional`` and a query of one passes
  ``conditional=True``, so a gateway started after the order was placed (a restart) still
  routes them to where the venue keeps such orders (Binance: the algo service).
* **Stream** — ``async for msg in gw.stream()`` yields :class:`StreamItem` (one report, tagged
  with the connection epoch it arrived on) and :class:`StreamGap`. A gap is emitted on every
  (re)connect, the first included, *after* the new connection is up: everything the venue did
  while we were not listening is only known by reconciliation. The OMS takes a snapshot
  (``open_orders``, ``open_conditional_orders``, ``positions``, ``balances``) and buffers the
  items of the new epoch until the snapshot is applied. Epochs increase by one per connection
  and never repeat.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol

import msgspec

from mmoms.core.commands import AmendOrder, CancelAllOrders, CancelOrder, QueryOrder, SubmitOrder
from mmoms.core.ids import ClientOrderId, Symbol
from mmoms.core.instrument import Instrument
from mmoms.core.reports import (
    BalanceReport,
    FillReport,
    OpenOrdersSnapshot,
    OrderNotFoundReport,
    OrderStatusReport,
    PositionReport,
)
from mmoms.core.validation import ClientIdRule
from mmoms.venues.errors import VenueError
from mmoms.venues.venue_reports import (
    AccountConfigReport,
    AlgoOrderReport,
    LiteFillReport,
    MarginCallReport,
)

StreamReport = (
    OrderStatusReport
    | FillReport
    | PositionReport
    | BalanceReport
    | AlgoOrderReport  # decoded from the wire; the gateway hands it out as an OrderStatusReport
    | LiteFillReport
    | AccountConfigReport
    | MarginCallReport
)
"""What the user-data stream can carry."""


class StreamItem(msgspec.Struct, frozen=True, gc=False):
    """One report from the stream, with the epoch of the connection it arrived on."""

    epoch: int
    report: StreamReport


class StreamGap(msgspec.Struct, frozen=True, kw_only=True):
    """A (re)connect: events may have been missed; reconcile before trusting the order book.

    Attributes:
        epoch: the new connection's epoch; items after this gap carry it.
        ts_ns: wall-clock time the new connection came up.
        reason: why the previous connection ended ("initial connect", "listenKeyExpired", ...).
        down_since_ns: wall-clock time the previous connection was lost (None on the first).
    """

    epoch: int
    ts_ns: int
    reason: str
    down_since_ns: int | None = None


StreamMessage = StreamItem | StreamGap


class PoolUsage(msgspec.Struct, frozen=True, kw_only=True):
    name: str  # e.g. "REQUEST_WEIGHT_1M", "ORDERS_10S"
    used: int
    limit: int
    window_ns: int


class RateLimitState(msgspec.Struct, frozen=True, kw_only=True):
    """The send budget as the gateway sees it, for the OMS and the dashboard.

    Attributes:
        halted: sending stopped after an IP ban (HTTP 418); an alert condition.
        halted_until_ns: monotonic time sending resumes by itself (None: until resumed by hand).
        cooldown_until_ns: monotonic time a 429 cool-down ends (0 if none).
        throttle_factor: share of each pool we allow ourselves (< 1.0 after a 429).
    """

    halted: bool
    halted_until_ns: int | None
    cooldown_until_ns: int
    throttle_factor: float
    pools: tuple[PoolUsage, ...]


class GatewayCapabilities(msgspec.Struct, frozen=True, kw_only=True):
    """What the venue can do and what it accepts, as its gateway declares it. The engine reads
    these instead of knowing the venue.

    Attributes:
        venue: the venue's name, for logs.
        max_batch_submit: most new orders in one request (0 or 1: no batch endpoint, one request
            per order); ``max_batch_amend`` and ``max_batch_cancel`` likewise.
        supports_amend: a live order's price and quantity can be modified in place; without it
            the quote diff replaces an order (cancel + new) instead.
        holds_stops: the venue holds conditional orders (stops, take-profits) and triggers
            them itself. Without it the engine holds them (:mod:`mmoms.engine.local_stops`):
            INACTIVE in the book, sent as market / limit orders when the reference price
            crosses their trigger — only while the engine runs.
        stops_kept_apart: the venue keeps the conditional orders it holds apart from its order
            book until they trigger (``open_conditional_orders`` lists them).
        client_id_max_len: longest client order id the venue accepts.
        client_id_chars: every character a client order id may hold.
    """

    venue: str
    max_batch_submit: int
    max_batch_amend: int
    max_batch_cancel: int
    supports_amend: bool
    stops_kept_apart: bool
    client_id_max_len: int
    client_id_chars: str
    holds_stops: bool = True

    @property
    def client_id_rule(self) -> ClientIdRule:
        return ClientIdRule(self.client_id_max_len, self.client_id_chars)


BatchResult = OrderStatusReport | OrderNotFoundReport | VenueError
"""One item of a batch reply: a report, or the error for that item alone."""


class ExchangeGateway(Protocol):
    """What the OMS needs from a venue. Every method may raise the kinds in
    :mod:`mmoms.venues.errors` (``Rejected``, ``OutcomeUnknown``, ``ProtocolError``) and the local
    errors there (raised before anything is sent)."""

    @property
    def capabilities(self) -> GatewayCapabilities: ...

    async def start(self) -> None:
        """Connect: time sync, instruments, user-data stream."""
        ...

    async def close(self) -> None:
        """Stop every task and connection; ends :meth:`stream`."""
        ...

    def stream(self) -> AsyncIterator[StreamMessage]:
        """Reports and gap signals in arrival order. One consumer."""
        ...

    async def submit(self, cmd: SubmitOrder) -> OrderStatusReport: ...

    async def submit_batch(self, cmds: Sequence[SubmitOrder]) -> list[BatchResult]: ...

    async def cancel(self, cmd: CancelOrder) -> OrderStatusReport | OrderNotFoundReport: ...

    async def cancel_batch(self, cmds: Sequence[CancelOrder]) -> list[BatchResult]: ...

    async def amend(self, cmd: AmendOrder) -> OrderStatusReport: ...

    async def amend_batch(self, cmds: Sequence[AmendOrder]) -> list[BatchResult]: ...

    async def cancel_all(self, cmd: CancelAllOrders) -> None: ...

    async def query(
        self, cmd: QueryOrder, *, conditional: bool = False
    ) -> OrderStatusReport | OrderNotFoundReport:
        """One order's state; ``conditional``: the caller knows it is a conditional order (a
        venue may keep those apart, and a restarted gateway cannot tell from the id)."""
        ...

    async def resolve_unknown(
        self, symbol: Symbol, client_order_id: ClientOrderId, *, conditional: bool = False
    ) -> OrderStatusReport | OrderNotFoundReport:
        """Settle an order whose request ended in ``OutcomeUnknown``, by client order id
        (``conditional`` as for :meth:`query`)."""
        ...

    async def open_orders(self, symbols: Sequence[Symbol] | None = None) -> OpenOrdersSnapshot: ...

    async def open_conditional_orders(self, symbols: Sequence[Symbol]) -> list[OrderStatusReport]:
        """Conditional orders on ``symbols`` still waiting for their trigger, where the venue
        keeps them apart from its order book (``capabilities.stops_kept_apart``: Binance's
        algo service; ``open_orders`` never lists them). Other venues answer []."""
        ...

    async def positions(self) -> list[PositionReport]: ...

    async def fills(self, symbol: Symbol, since_ns: int) -> list[FillReport]:
        """Our trades on ``symbol`` since ``since_ns`` (reconciliation backfills fills the stream
        lost). Fills may carry no client order id: match them on the venue order id."""
        ...

    async def balances(self) -> list[BalanceReport]: ...

    async def account_fingerprint(self) -> str:
        """A stable name of the account the credentials trade on, never a secret (the journal
        records it and refuses another account): the same account gives the same string across
        restarts and, where the venue allows, across key rotations."""
        ...

    async def instruments(self) -> list[Instrument]: ...

    def rate_state(self) -> RateLimitState: ...

    def error_rate(self, endpoint: str | None = None) -> float:
        """Share of failed API calls in the sliding window (all endpoints when None)."""
        ...
