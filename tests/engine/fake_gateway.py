"""An in-memory venue that implements the gateway protocol, for deterministic engine tests.

It keeps its own orders, answers requests the way Binance does (REST reply + stream events),
and lets a test fill orders, inject failures (rejects, unknown outcomes that did or did not
place the order), drop stream events and cut the stream (gap). End-to-end behaviour against the
real wire protocol is tested against the simulator; this fake makes the engine's own logic
testable step by step.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import string
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import msgspec

from mmoms.core.clock import Clock
from mmoms.core.commands import (
    AmendOrder,
    CancelAllOrders,
    CancelOrder,
    QueryOrder,
    SubmitOrder,
)
from mmoms.core.enums import OrderType, Side, TimeInForce, VenueOrderStatus
from mmoms.core.ids import ClientOrderId, Symbol, TradeId, VenueOrderId
from mmoms.core.instrument import Instrument
from mmoms.core.reports import (
    BalanceReport,
    FillReport,
    OpenOrdersSnapshot,
    OrderNotFoundReport,
    OrderStatusReport,
    PositionReport,
    ReportSource,
)
from mmoms.venues.binance.instruments import instrument_from_exchange_info
from mmoms.venues.errors import OrderNotFound, Rejected, VenueError
from mmoms.venues.gateway import (
    BatchResult,
    GatewayCapabilities,
    RateLimitState,
    StreamGap,
    StreamItem,
    StreamMessage,
)
from tests.venues.test_instruments import BTCUSDC

SYM = Symbol("BTCUSDC")

FAKE_VENUE = GatewayCapabilities(
    venue="fake",
    max_batch_submit=5,
    max_batch_amend=5,
    max_batch_cancel=10,
    supports_amend=True,
    stops_kept_apart=False,  # conditional orders rest in the book with the others
    client_id_max_len=36,
    client_id_chars=string.ascii_letters + string.digits + ".:/_-",
)
"""The default fake venue: batches and ids as on Binance, amends in place."""

OTHER_VENUE = msgspec.structs.replace(
    FAKE_VENUE,
    venue="fake-other",
    max_batch_submit=3,
    max_batch_amend=3,
    max_batch_cancel=3,
    supports_amend=False,
    holds_stops=False,
    client_id_max_len=32,
    client_id_chars=string.ascii_letters + string.digits + "_.-",
)
"""A second venue: no amend (a quote moves by cancel + new), batches of 3, no stops held (the
engine holds them: :mod:`mmoms.engine.local_stops`), ids of at most 32 letters, digits,
``_``, ``.`` and ``-`` (no ``:`` or ``/``). The engine tests run against both
(``MMOMS_TEST_VENUE``); the engine must not need to know which one it talks to."""


VENUES = {"fake": FAKE_VENUE, "fake-other": OTHER_VENUE}


def default_venue() -> GatewayCapabilities:
    """The venue the engine tests run against: ``MMOMS_TEST_VENUE`` (``fake`` by default;
    the test script runs them a second time with ``fake-other``, unchanged)."""
    return VENUES[os.environ.get("MMOMS_TEST_VENUE", "fake")]


@dataclass
class VenueOrder:
    cid: ClientOrderId
    vid: VenueOrderId
    side: Side
    qty: Decimal
    price: Decimal
    tif: TimeInForce | None
    status: VenueOrderStatus = VenueOrderStatus.NEW
    filled: Decimal = Decimal(0)
    symbol: Symbol = SYM


@dataclass
class Failure:
    error: VenueError
    executed: bool = False  # for unknown outcomes: did the venue act anyway?


@dataclass
class FakeGateway:
    clock: Clock
    orders: dict[ClientOrderId, VenueOrder] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)  # one entry per request (a batch counts once)
    fail_next: list[Failure] = field(default_factory=list)
    fail_for: dict[ClientOrderId, list[Failure]] = field(default_factory=dict)  # per client id
    submitted: list[ClientOrderId] = field(default_factory=list)  # every submit, in order
    order_types: dict[ClientOrderId, OrderType] = field(default_factory=dict)  # as submitted
    # (client id, conditional hint) of every cancel and query: the engine's routing hints
    conditional_hints: list[tuple[ClientOrderId, bool]] = field(default_factory=list)
    drop_stream: bool = False
    hang_cancels: bool = False  # a cancel request that never comes back (the process dies first)
    # Per client id: a request for it waits here before the venue acts (a slow wire / a crash).
    hold: dict[ClientOrderId, asyncio.Event] = field(default_factory=dict)
    hold_reply: dict[ClientOrderId, asyncio.Event] = field(
        default_factory=dict
    )  # acted; reply late
    hold_query: dict[ClientOrderId, asyncio.Event] = field(default_factory=dict)  # slow query
    before_cancel: Callable[[CancelOrder], None] | None = None  # e.g. fill it first: a race
    _stream: asyncio.Queue[StreamMessage | None] = field(default_factory=asyncio.Queue)
    _vids: itertools.count[int] = field(default_factory=lambda: itertools.count(8_000_000_000))
    _tids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _epoch: int = 0
    position: Decimal = Decimal(0)
    trades: list[FillReport] = field(default_factory=list)
    # exchangeInfo entries of the symbols it lists (BTCUSDC unless a test adds more)
    listed: list[dict[str, Any]] = field(default_factory=lambda: [BTCUSDC])
    latency_s: float = 0.0  # each order request waits this long before the venue acts
    # What the venue declares (batch sizes, amend support, id rule): FAKE_VENUE unless a test
    # builds another venue, e.g. FakeGateway(clock, capabilities=OTHER_VENUE).
    capabilities: GatewayCapabilities = field(default_factory=lambda: default_venue())
    capability_violations: list[str] = field(default_factory=list)  # requests it refused

    # -- test controls ----------------------------------------------------------------------

    def live(self) -> list[VenueOrder]:
        return [o for o in self.orders.values() if o.status in _OPEN]

    def fill(self, cid: ClientOrderId, qty: Decimal) -> None:
        o = self.orders[cid]
        o.filled += qty
        o.status = (
            VenueOrderStatus.FILLED if o.filled == o.qty else VenueOrderStatus.PARTIALLY_FILLED
        )
        self.position += o.side.sign * qty
        fill = FillReport(
            ts_event_ns=self.clock.time_ns(),
            ts_recv_ns=self.clock.time_ns(),
            symbol=o.symbol,
            client_order_id=o.cid,
            venue_order_id=o.vid,
            trade_id=TradeId(next(self._tids)),
            side=o.side,
            last_qty=qty,
            last_price=o.price,
            cum_filled_qty=o.filled,
        )
        self.trades.append(fill)
        self._push(fill)
        self._push(self._report(o))

    def gap(self) -> None:
        self._epoch += 1
        self._stream.put_nowait(
            StreamGap(epoch=self._epoch, ts_ns=self.clock.time_ns(), reason="test", down_since_ns=1)
        )

    # -- protocol ---------------------------------------------------------------------------

    async def start(self) -> None:
        self._stream = asyncio.Queue()  # a new connection: whatever the old one held is gone
        self._epoch += 1
        self._stream.put_nowait(
            StreamGap(epoch=self._epoch, ts_ns=self.clock.time_ns(), reason="initial connect")
        )

    async def close(self) -> None:
        self._stream.put_nowait(None)

    async def stream(self) -> AsyncIterator[StreamMessage]:  # type: ignore[override]
        while True:
            item = await self._stream.get()
            if item is None:
                return
            yield item

    async def submit(self, cmd: SubmitOrder) -> OrderStatusReport:
        self.requests.append("submit")
        await self._wire()
        await self._held(cmd.client_order_id)
        report = self._submit(cmd)
        reply_gate = self.hold_reply.get(cmd.client_order_id)
        if reply_gate is not None:
            await reply_gate.wait()
        return report

    async def submit_batch(self, cmds: Sequence[SubmitOrder]) -> list[BatchResult]:
        self.requests.append("submit_batch")
        self._declared("submit_batch", len(cmds), self.capabilities.max_batch_submit)
        await self._wire()
        return [self._try(self._submit, c) for c in cmds]

    async def cancel(self, cmd: CancelOrder) -> OrderStatusReport:
        self.requests.append("cancel")
        if self.hang_cancels:
            await asyncio.Event().wait()
        await self._wire()
        await self._held(cmd.client_order_id)
        return self._cancel(cmd)

    async def cancel_batch(self, cmds: Sequence[CancelOrder]) -> list[BatchResult]:
        self.requests.append("cancel_batch")
        self._declared("cancel_batch", len(cmds), self.capabilities.max_batch_cancel)
        await self._wire()
        return [self._try(self._cancel, c) for c in cmds]

    async def amend(self, cmd: AmendOrder) -> OrderStatusReport:
        self.requests.append("amend")
        self._declared("amend", 1, 1)
        await self._wire()
        return self._amend(cmd)

    async def amend_batch(self, cmds: Sequence[AmendOrder]) -> list[BatchResult]:
        self.requests.append("amend_batch")
        self._declared("amend_batch", len(cmds), self.capabilities.max_batch_amend)
        await self._wire()
        return [self._try(self._amend, c) for c in cmds]

    async def cancel_all(self, cmd: CancelAllOrders) -> None:
        self.requests.append("cancel_all")
        for o in self.live():
            o.status = VenueOrderStatus.CANCELED
            self._push(self._report(o))

    async def query(
        self, cmd: QueryOrder, *, conditional: bool = False
    ) -> OrderStatusReport | OrderNotFoundReport:
        self.requests.append("query")
        self.conditional_hints.append((cmd.client_order_id, conditional))
        gate = self.hold_query.get(cmd.client_order_id)
        if gate is not None:
            await gate.wait()
        o = self.orders.get(cmd.client_order_id)
        if o is None:
            return OrderNotFoundReport(
                ts_event_ns=self.clock.time_ns(),
                ts_recv_ns=self.clock.time_ns(),
                symbol=cmd.symbol,
                client_order_id=cmd.client_order_id,
                source=ReportSource.RECONCILIATION,
            )
        return self._report(o, ReportSource.RECONCILIATION)

    async def resolve_unknown(
        self, symbol: Symbol, client_order_id: ClientOrderId, *, conditional: bool = False
    ) -> OrderStatusReport | OrderNotFoundReport:
        query = QueryOrder(ts_ns=0, client_order_id=client_order_id, symbol=symbol)
        return await self.query(query, conditional=conditional)

    async def open_orders(self, symbols: Sequence[Symbol] | None = None) -> OpenOrdersSnapshot:
        self.requests.append("open_orders")
        now = self.clock.time_ns()
        return OpenOrdersSnapshot(
            ts_event_ns=now,
            ts_recv_ns=now,
            source=ReportSource.RECONCILIATION,
            symbols=tuple(symbols or (Symbol(i["symbol"]) for i in self.listed)),
            orders=tuple(
                self._report(o, ReportSource.RECONCILIATION)
                for o in self.live()
                if symbols is None or o.symbol in symbols
            ),
        )

    async def open_conditional_orders(self, symbols: Sequence[Symbol]) -> list[OrderStatusReport]:
        return []  # conditional orders rest with the others here

    async def positions(self) -> list[PositionReport]:
        from mmoms.core.enums import PositionSide

        now = self.clock.time_ns()
        return [
            PositionReport(
                ts_event_ns=now,
                ts_recv_ns=now,
                symbol=SYM,
                position_side=PositionSide.BOTH,
                quantity=self.position,
                entry_price=Decimal(0),
                source=ReportSource.RECONCILIATION,
            )
        ]

    async def fills(self, symbol: Symbol, since_ns: int) -> list[FillReport]:
        self.requests.append("fills")
        return [
            msgspec.structs.replace(
                t,
                client_order_id=ClientOrderId(""),
                source=ReportSource.RECONCILIATION,
                cum_filled_qty=None,
            )
            for t in self.trades
            if t.symbol == symbol and t.ts_event_ns >= since_ns
        ]

    async def countdown_cancel_all(self, symbol: Symbol, countdown_ms: int) -> None:
        self.requests.append(f"countdown:{countdown_ms}")

    async def balances(self) -> list[BalanceReport]:
        return []

    async def account_fingerprint(self) -> str:
        return "alias:FakeVenue"  # one account, as Binance names it

    async def instruments(self) -> list[Instrument]:
        return [instrument_from_exchange_info(info) for info in self.listed]

    def rate_state(self) -> RateLimitState:
        return RateLimitState(
            halted=False, halted_until_ns=None, cooldown_until_ns=0, throttle_factor=1.0, pools=()
        )

    def error_rate(self, endpoint: str | None = None) -> float:
        return 0.0

    # -- venue behaviour ----------------------------------------------------------------------

    def _declared(self, request: str, size: int, limit: int) -> None:
        """A request beyond what the venue declares is refused, and noted for the test."""
        caps = self.capabilities
        if request.startswith("amend") and not caps.supports_amend:
            problem = f"{request}: {caps.venue} declares no amend"
        elif request.endswith("_batch") and size > max(limit, 1):
            problem = f"{request} of {size}: {caps.venue} declares at most {limit}"
        else:
            return
        self.capability_violations.append(problem)
        raise Rejected(problem)

    async def _wire(self) -> None:
        if self.latency_s:
            await asyncio.sleep(self.latency_s)

    async def _held(self, cid: ClientOrderId) -> None:
        gate = self.hold.get(cid)
        if gate is not None:
            await gate.wait()

    def _try(self, fn, cmd):  # type: ignore[no-untyped-def]
        try:
            return fn(cmd)
        except VenueError as exc:
            return exc

    def _inject(self, cid: ClientOrderId | None = None) -> Failure | None:
        planned = self.fail_for.get(cid) if cid is not None else None
        if planned:
            return planned.pop(0)
        return self.fail_next.pop(0) if self.fail_next else None

    def _submit(self, cmd: SubmitOrder) -> OrderStatusReport:
        self.submitted.append(cmd.client_order_id)
        self.order_types[cmd.client_order_id] = cmd.order_type
        if cmd.order_type.is_conditional and not self.capabilities.holds_stops:
            problem = f"{cmd.order_type}: {self.capabilities.venue} holds no stops"
            self.capability_violations.append(problem)
            raise Rejected(problem)
        failure = self._inject(cmd.client_order_id)
        if failure is not None and not failure.executed:
            raise failure.error
        if cmd.client_order_id in self.orders:
            raise Rejected("duplicate", code=-4116)
        o = VenueOrder(
            cmd.client_order_id,
            VenueOrderId(next(self._vids)),
            cmd.side,
            cmd.quantity,
            cmd.price or Decimal(0),
            cmd.time_in_force,
            symbol=cmd.symbol,
        )
        self.orders[o.cid] = o
        self._push(self._report(o))
        if failure is not None:
            raise failure.error  # executed, but the reply was lost
        return self._report(o, ReportSource.REST)

    def _cancel(self, cmd: CancelOrder) -> OrderStatusReport:
        self.conditional_hints.append((cmd.client_order_id, cmd.conditional))
        if self.before_cancel is not None:
            self.before_cancel(cmd)
        failure = self._inject()
        if failure is not None and not failure.executed:
            raise failure.error
        o = self.orders.get(cmd.client_order_id)
        if o is None or o.status not in _OPEN:
            raise OrderNotFound("Unknown order sent.", code=-2011)
        o.status = VenueOrderStatus.CANCELED
        self._push(self._report(o))
        if failure is not None:
            raise failure.error
        return self._report(o, ReportSource.REST)

    def _amend(self, cmd: AmendOrder) -> OrderStatusReport:
        o = self.orders.get(cmd.client_order_id)
        if o is None or o.status not in _OPEN:
            raise OrderNotFound("Order does not exist.", code=-2013)
        o.price, o.qty = cmd.price, cmd.quantity
        report = self._report(o, amended=True)
        self._push(report)
        return self._report(o, ReportSource.REST, amended=True)

    def _report(
        self, o: VenueOrder, source: ReportSource = ReportSource.STREAM, amended: bool = False
    ) -> OrderStatusReport:
        now = self.clock.time_ns()
        return OrderStatusReport(
            ts_event_ns=now,
            ts_recv_ns=now,
            source=source,
            symbol=o.symbol,
            client_order_id=o.cid,
            venue_order_id=o.vid,
            side=o.side,
            order_type=OrderType.LIMIT,
            status=o.status,
            quantity=o.qty,
            price=o.price,
            filled_qty=o.filled,
            time_in_force=o.tif,
            amended=amended,
        )

    def _push(self, report: OrderStatusReport | FillReport) -> None:
        if not self.drop_stream:
            self._stream.put_nowait(StreamItem(self._epoch, report))


_OPEN = (VenueOrderStatus.NEW, VenueOrderStatus.PARTIALLY_FILLED)
