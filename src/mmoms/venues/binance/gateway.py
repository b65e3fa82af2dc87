"""The Binance USDⓈ-M gateway: :class:`~mmoms.venues.gateway.ExchangeGateway` composed of the
small parts of this package.

Composition (each part is tested alone; this module only wires and routes):

* :class:`RestClient` (signing, rate admission, error classification) over an
  :class:`HttpTransport`; optionally :class:`WsApiClient` for order entry
  (``config.order_transport``), falling back to REST while the WS API is reconnecting;
* :class:`UserStream` for the report stream; :class:`AlgoOrders` for conditional orders;
  :class:`BatchOrders` for the batch endpoints; :class:`BinanceAdmin` for settings and history;
* one :class:`RetryPolicy` applied per operation kind (:mod:`.retry`).

Conditional orders: a cancel or query goes to the algo service when the caller says the order
is conditional (``CancelOrder.conditional``, ``query(..., conditional=True)``) or when this
process has seen the id as an algo order; the hint is what makes it work after a restart.

Conditional orders as orders: every report about a conditional order that the gateway hands
out (stream items, submit / cancel / query / resolve_unknown replies, batch-cancel results,
:meth:`open_conditional_orders`) is an :class:`OrderStatusReport` made by
:meth:`conditional_view` (the rule: :mod:`.algo_view`), never an :class:`AlgoOrderReport`;
:meth:`submit_algo` and :meth:`open_algo_orders` stay the algo service's own view.

Unknown outcomes: a submit or amend that ends in ``OutcomeUnknown`` / ``ProtocolError`` is never
re-sent. The gateway remembers the ``timestamp`` it was signed with; :meth:`resolve_unknown`
queries by client order id (retrying per the schedule) and, if the order is not found while the
request could still be executing (venue clock < timestamp + recvWindow, after which the venue
refuses it with -1021 / -5028), waits out that window and asks once more: a "not found" after
it is definite.

Task ownership: :meth:`start` creates the background tasks (time sync, user stream, WS API) and
:meth:`close` cancels and awaits every one. A task that dies of an unexpected error ends the
stream with that error instead of failing silently. The report queue is bounded: a consumer
that stops reading holds the stream socket back rather than growing memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import string
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from mmoms.core.clock import NANOS_PER_MILLI, NANOS_PER_SECOND, Clock, LiveClock
from mmoms.core.commands import AmendOrder, CancelAllOrders, CancelOrder, QueryOrder, SubmitOrder
from mmoms.core.errors import InstrumentError, MmomsError
from mmoms.core.ids import ClientOrderId, Symbol, VenueOrderId
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
from mmoms.venues.binance import codec, endpoints, schemas
from mmoms.venues.binance.admin import BinanceAdmin
from mmoms.venues.binance.algo import AlgoOrders
from mmoms.venues.binance.algo_view import conditional_status_report
from mmoms.venues.binance.batch import BatchOrders
from mmoms.venues.binance.config import BinanceConfig, OrderTransport
from mmoms.venues.binance.endpoints import Endpoint, OpKind
from mmoms.venues.binance.instruments import instrument_from_exchange_info
from mmoms.venues.binance.listenkey import ListenKeyLifecycle
from mmoms.venues.binance.ratecontrol import Priority, RateController
from mmoms.venues.binance.rest import RestClient
from mmoms.venues.binance.retry import RetryPolicy, run_with_retry
from mmoms.venues.binance.signing import Credentials
from mmoms.venues.binance.streamstats import DecoderStats
from mmoms.venues.binance.timesync import TimeSync
from mmoms.venues.binance.userstream import UserStream
from mmoms.venues.binance.wsapi import WsApiClient
from mmoms.venues.errorrate import ErrorRateTracker
from mmoms.venues.errors import (
    DuplicateClientOrderId,
    GatewayClosedError,
    MissingCredentialsError,
    OrderNotFound,
    OutcomeUnknown,
    ProtocolError,
    VenueError,
)
from mmoms.venues.gateway import (
    BatchResult,
    ExchangeGateway,
    GatewayCapabilities,
    RateLimitState,
    StreamItem,
    StreamMessage,
)
from mmoms.venues.http_pool import FastHttpTransport
from mmoms.venues.transport import (
    AiohttpHttpTransport,
    AiohttpWsConnector,
    HttpTransport,
    WsConnector,
)
from mmoms.venues.venue_reports import AlgoOrderReport

log = logging.getLogger("mmoms.venues.binance")

T = TypeVar("T")
R = TypeVar("R")

_CLOSED = object()  # end-of-stream marker in the report queue
_RESOLVE_MARGIN_MS = 50  # beyond the recvWindow, for clock-estimate error


class BinanceGateway:
    """Binance USDⓈ-M futures. Construct, ``await start()``, use, ``await close()``."""

    def __init__(
        self,
        config: BinanceConfig | None = None,
        credentials: Credentials | None = None,
        *,
        clock: Clock | None = None,
        http: HttpTransport | None = None,
        ws: WsConnector | None = None,
    ) -> None:
        self.config = cfg = config or BinanceConfig()
        self._clock = clock = clock or LiveClock()
        self._credentials = credentials
        http_class = FastHttpTransport if cfg.http_transport == "fast" else AiohttpHttpTransport
        self._http = http or http_class(
            pool_size=cfg.http_pool_size, connect_timeout_s=cfg.connect_timeout_s
        )
        self._ws = ws or AiohttpWsConnector(heartbeat_s=cfg.ws_heartbeat_s)
        self.timesync = TimeSync(
            clock, refresh_interval_ns=int(cfg.time_sync_interval_s * NANOS_PER_SECOND)
        )
        self.rate = RateController(clock, exit_reserve=cfg.exit_reserve)
        self.errors = ErrorRateTracker(clock)
        self._retry = RetryPolicy(tuple(ms * NANOS_PER_MILLI for ms in cfg.retry_schedule_ms))
        self.rest = RestClient(
            base_url=cfg.rest_url,
            transport=self._http,
            credentials=credentials,
            clock=clock,
            timesync=self.timesync,
            rate=self.rate,
            errors=self.errors,
            recv_window_ms=cfg.recv_window_ms,
            timeout_s=cfg.request_timeout_s,
        )
        self.wsapi: WsApiClient | None = None
        if cfg.order_transport is OrderTransport.WS_API and credentials is not None:
            self.wsapi = WsApiClient(
                url=cfg.ws_api_url,
                connector=self._ws,
                credentials=credentials,
                clock=clock,
                timesync=self.timesync,
                rate=self.rate,
                errors=self.errors,
                recv_window_ms=cfg.recv_window_ms,
                timeout_s=cfg.request_timeout_s,
                connect_timeout_s=cfg.connect_timeout_s,
                resync=self.rest.sync_time,
            )
        self.algo = AlgoOrders(self.rest, self._retry, clock)
        self.batches = BatchOrders(
            self.rest,
            self._retry,
            clock,
            on_unknown=self._remember_unknown,
            response_type=cfg.new_order_response,
        )
        self.admin = BinanceAdmin(self.rest, self._retry, clock)
        self._queue: asyncio.Queue[Any] = asyncio.Queue(cfg.stream_queue_size)
        self.userstream: UserStream | None = None
        if cfg.user_stream and credentials is not None:
            self.userstream = UserStream(
                api=self,
                connector=self._ws,
                stream_url=cfg.stream_url,
                clock=clock,
                emit=self._emit,
                lifecycle=ListenKeyLifecycle(
                    keepalive_interval_ns=int(cfg.listen_key_keepalive_s * NANOS_PER_SECOND)
                ),
                connect_timeout_s=cfg.connect_timeout_s,
                close_key_on_shutdown=cfg.close_listen_key_on_shutdown,
            )
        self._tasks: list[asyncio.Task[None]] = []
        self._failure: BaseException | None = None
        self._closed = False
        self._unknown_sent_ms: OrderedDict[str, int] = OrderedDict()
        self._instruments: dict[Symbol, Instrument] = {}

    def __repr__(self) -> str:
        return f"BinanceGateway(rest={self.config.rest_url!r}, credentials=<hidden>)"

    @property
    def capabilities(self) -> GatewayCapabilities:
        # binance-usdm.md §3.5: batchOrders places ≤ 5, modifies ≤ 5, cancels ≤ 10; §3.3: LIMIT
        # orders can be modified; §3.2: newClientOrderId ^[.A-Z:/a-z0-9_-]{1,36}$ (-4015 beyond
        # 36); §4: conditional orders wait in the Algo Service, apart from the order book.
        return GatewayCapabilities(
            venue="BINANCE_USDM",
            max_batch_submit=endpoints.MAX_BATCH_PLACE,
            max_batch_amend=endpoints.MAX_BATCH_MODIFY,
            max_batch_cancel=endpoints.MAX_BATCH_CANCEL,
            supports_amend=True,
            stops_kept_apart=True,
            client_id_max_len=36,
            client_id_chars=string.ascii_letters + string.digits + ".:/_-",
        )

    # ==========================================================================================
    # lifecycle
    # ==========================================================================================

    async def start(self) -> None:
        """Load instruments, sync the clock, start the stream and the WS API.

        exchangeInfo comes first: it carries the venue's rate limits. Until they are adopted the
        pools hold Binance's defaults, and a used-weight header above the default (another
        process on this IP, a venue with larger limits) would make us refuse our own start.

        Raises:
            Rejected, OutcomeUnknown, ProtocolError: the venue could not be reached or refused.
        """
        await self.instruments()
        await self.rest.sync_time()
        self._spawn(self._time_sync_loop, "timesync")
        if self.wsapi is not None:
            self._spawn(self.wsapi.run, "wsapi")
        if self.userstream is not None:
            self._spawn(self.userstream.run, "userstream")
        # Give the connections a moment so the first orders do not fall back to REST and the
        # first gap arrives early; a slow connection is not fatal (it keeps retrying).
        for part in (self.wsapi, self.userstream):
            if part is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(part.wait_connected(), self.config.connect_timeout_s)

    async def close(self) -> None:
        """Stop every task and connection; the stream ends."""
        if self._closed:
            return
        self._closed = True
        if self.wsapi is not None:
            await self.wsapi.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await self._http.close()
        await self._ws.close()
        self._end_stream()

    def _spawn(self, run: Callable[[], Coroutine[Any, Any, None]], name: str) -> None:
        # The coroutine is created inside the task, so a task cancelled before its first step
        # leaves no never-awaited coroutine behind.
        self._tasks.append(asyncio.create_task(self._supervised(run, name), name=name))

    async def _supervised(self, run: Callable[[], Coroutine[Any, Any, None]], name: str) -> None:
        try:
            await run()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.critical("gateway task %s died: %r", name, exc)
            self._failure = exc
            self._end_stream()

    def _end_stream(self) -> None:
        while True:
            try:
                self._queue.put_nowait(_CLOSED)
                return
            except asyncio.QueueFull:
                self._queue.get_nowait()  # ending anyway: make room for the end marker

    async def _time_sync_loop(self) -> None:
        while True:
            await asyncio.sleep(self.timesync.next_refresh_in_ns() / NANOS_PER_SECOND)
            try:
                await self.rest.sync_time()
            except MmomsError as exc:  # venue errors and local ones (rate budget, halted)
                log.warning("time sync failed: %s", exc)
                await asyncio.sleep(1.0)

    # ==========================================================================================
    # stream
    # ==========================================================================================

    async def _emit(self, message: StreamMessage) -> None:
        if isinstance(message, StreamItem) and isinstance(message.report, AlgoOrderReport):
            self.algo.observe(message.report)
            message = msgspec.structs.replace(message, report=self.conditional_view(message.report))
        await self._queue.put(message)

    async def stream(self) -> AsyncIterator[StreamMessage]:
        """Reports and gap signals in arrival order, until :meth:`close`.

        Raises:
            GatewayClosedError: a background task died (its error is the cause).
        """
        while True:
            message = await self._queue.get()
            if message is _CLOSED:
                self._end_stream()  # later readers end too
                if self._failure is not None:
                    raise GatewayClosedError("gateway stopped") from self._failure
                return
            yield message

    # -- listenKey (the UserStream's ListenKeyApi) ----------------------------------------------

    async def create_listen_key(self) -> str:
        """Raises: the venue error kinds; ProtocolError when no key came back."""
        reply = await self._call(endpoints.LISTEN_KEY_CREATE, [], schemas.ListenKeyReply)
        if not reply.listen_key:
            raise ProtocolError("listenKey create returned no key", endpoint="listenKey")
        return reply.listen_key

    async def keepalive_listen_key(self) -> str | None:
        reply = await self._call(endpoints.LISTEN_KEY_KEEPALIVE, [], schemas.ListenKeyReply)
        return reply.listen_key

    async def close_listen_key(self) -> None:
        await self._call(endpoints.LISTEN_KEY_CLOSE, [], schemas.ListenKeyReply)

    # ==========================================================================================
    # orders
    # ==========================================================================================

    async def _call(
        self,
        endpoint: Endpoint,
        params: codec.ParamSeq,
        reply_type: type[T],
        *,
        priority: Priority | None = None,
        client_order_id: str | None = None,
        ws_endpoint: Endpoint | None = None,
    ) -> T:
        """One request with the retry policy of its kind, over the WS API when configured and
        connected, else REST."""
        wsapi = self.wsapi if ws_endpoint is not None else None

        async def attempt(_retries: int) -> T:
            if wsapi is not None and wsapi.connected and ws_endpoint is not None:
                return await wsapi.request(
                    ws_endpoint,
                    params,
                    reply_type,
                    priority=priority,
                    client_order_id=client_order_id,
                )
            return await self.rest.call(
                endpoint, params, reply_type, priority=priority, client_order_id=client_order_id
            )

        return await run_with_retry(endpoint.op, attempt, self._retry)

    def _remember_unknown(self, error: VenueError, client_order_ids: Sequence[str]) -> None:
        sent = error.sent_timestamp_ms if isinstance(error, OutcomeUnknown) else None
        if sent is None:
            sent = self.timesync.now_ms()  # an upper bound is as good for the wait
        for cid in client_order_ids:
            self._unknown_sent_ms[cid] = sent
            self._unknown_sent_ms.move_to_end(cid)
        while len(self._unknown_sent_ms) > 10_000:
            self._unknown_sent_ms.popitem(last=False)

    async def submit(self, cmd: SubmitOrder) -> OrderStatusReport:
        """Place an order; conditional types go to the algo service.

        Raises:
            InvalidOrderError (trailing stops need :meth:`submit_algo`) and the local errors:
                nothing sent.
            Rejected: definitely not placed. OutcomeUnknown / ProtocolError: maybe placed —
                mark it UNKNOWN and call :meth:`resolve_unknown`.
        """
        if cmd.order_type.is_conditional:
            return self.conditional_view(await self.submit_algo(cmd))
        params = codec.new_order_params(cmd, response_type=self.config.new_order_response)
        cid = cmd.client_order_id
        priority = Priority.EXIT if cmd.reduce_only else Priority.NORMAL
        retried = False

        async def attempt(retries: int) -> schemas.OrderReply:
            nonlocal retried
            retried = retries > 0
            if self.wsapi is not None and self.wsapi.connected:
                return await self.wsapi.request(
                    endpoints.WS_ORDER_PLACE,
                    params,
                    schemas.OrderReply,
                    priority=priority,
                    client_order_id=cid,
                )
            return await self.rest.call(
                endpoints.NEW_ORDER,
                params,
                schemas.OrderReply,
                priority=priority,
                client_order_id=cid,
            )

        try:
            reply = await run_with_retry(OpKind.PLACE, attempt, self._retry)
        except DuplicateClientOrderId:
            if not retried:
                raise
            # We repeated after a definite "not executed", yet the id is taken: the earlier
            # attempt did get through. Its state is the answer.
            found = await self.resolve_unknown(cmd.symbol, cid)
            if isinstance(found, OrderNotFoundReport):
                raise
            return found
        except (OutcomeUnknown, ProtocolError) as exc:
            self._remember_unknown(exc, [cid])
            raise
        return codec.order_report(reply, self._clock.time_ns())

    async def submit_algo(
        self,
        cmd: SubmitOrder,
        *,
        callback_rate: Decimal | None = None,
        price_protect: bool = False,
    ) -> AlgoOrderReport:
        """Place a conditional order via ``/fapi/v1/algoOrder`` (``callback_rate`` in percent
        for trailing stops). Raises as :meth:`submit`."""
        try:
            return await self.algo.submit(
                cmd, callback_rate=callback_rate, price_protect=price_protect
            )
        except (OutcomeUnknown, ProtocolError) as exc:
            self._remember_unknown(exc, [cmd.client_order_id])
            raise

    async def cancel(self, cmd: CancelOrder) -> OrderStatusReport | OrderNotFoundReport:
        """Cancel one order. Retried per the schedule (repeating a cancel is harmless).

        "Unknown order" (-2011) means the order is already final or never existed; the answer is
        then the order's queried state (a terminal status report means: nothing left to cancel)
        or :class:`OrderNotFoundReport`.

        Raises:
            Rejected, OutcomeUnknown (after every retry), ProtocolError.
        """
        placed = self._placed_at_trigger(cmd)
        if placed is not None:
            cmd = placed
        elif cmd.conditional or self.algo.is_algo(cmd.client_order_id):
            return self._handed_out(await self.algo.cancel(cmd.symbol, cmd.client_order_id))
        try:
            reply = await self._call(
                endpoints.CANCEL_ORDER,
                codec.cancel_params(cmd),
                schemas.OrderReply,
                priority=Priority.EXIT,
                client_order_id=cmd.client_order_id,
                ws_endpoint=endpoints.WS_ORDER_CANCEL,
            )
        except OrderNotFound:
            return await self.query_order(cmd.symbol, cmd.client_order_id, cmd.venue_order_id)
        return codec.order_report(reply, self._clock.time_ns())

    def _placed_at_trigger(self, cmd: CancelOrder) -> CancelOrder | None:
        """The cancel of the regular order a triggered conditional order placed, else None.

        Once triggered, the algo service no longer holds the order (its cancel answers
        -2011) while the order it placed may rest in the book: that one is cancelled, by the
        venue order id the algo update named (the caller's ``venue_order_id`` for a
        conditional order is that id once triggered, unset or 0 before).
        """
        if not (cmd.conditional or self.algo.is_algo(cmd.client_order_id)):
            return None
        placed = self.algo.placed_order_id(cmd.client_order_id) or cmd.venue_order_id
        if not placed:
            return None
        return msgspec.structs.replace(cmd, venue_order_id=placed, conditional=False)

    async def amend(self, cmd: AmendOrder) -> OrderStatusReport:
        """Modify a LIMIT order's price / quantity (it loses queue priority).

        Raises:
            Rejected: not amended (e.g. -5027 nothing to change, -2013 unknown order).
            OutcomeUnknown / ProtocolError: maybe amended — query the order.
        """
        try:
            reply = await self._call(
                endpoints.MODIFY_ORDER,
                codec.modify_params(cmd),
                schemas.OrderReply,
                client_order_id=cmd.client_order_id,
                ws_endpoint=endpoints.WS_ORDER_MODIFY,
            )
        except (OutcomeUnknown, ProtocolError) as exc:
            self._remember_unknown(exc, [cmd.client_order_id])
            raise
        return codec.order_report(reply, self._clock.time_ns(), amended=True)

    async def cancel_all(self, cmd: CancelAllOrders) -> None:
        """Cancel every open order on the symbol (and its conditional orders, per config).

        Raises:
            Rejected, OutcomeUnknown, ProtocolError: from either request (both are attempted).
        """
        calls: list[Awaitable[object]] = [
            self._call(
                endpoints.CANCEL_ALL,
                [("symbol", cmd.symbol)],
                schemas.CodeMsg,
                priority=Priority.EXIT,
            )
        ]
        if self.config.cancel_all_includes_algo:
            calls.append(self.algo.cancel_all(cmd.symbol))
        results = await asyncio.gather(*calls, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def countdown_cancel_all(self, symbol: Symbol, countdown_ms: int) -> None:
        """Dead-man switch: cancel everything on ``symbol`` unless called again within
        ``countdown_ms`` (0 switches it off). Call it as a heartbeat.

        Raises:
            ValueError: a negative countdown (nothing sent). Venue error kinds.
        """
        if countdown_ms < 0:
            raise ValueError("countdown_ms must be >= 0")
        await self._call(
            endpoints.COUNTDOWN_CANCEL_ALL,
            [("symbol", symbol), ("countdownTime", str(countdown_ms))],
            schemas.CountdownReply,
            priority=Priority.EXIT,
        )

    # -- batches (see :mod:`.batch`) ------------------------------------------------------------

    async def submit_batch(self, cmds: Sequence[SubmitOrder]) -> list[BatchResult]:
        """Place up to 5 LIMIT / MARKET orders in one request; one result per command, in order.

        Raises:
            InvalidOrderError: more than 5, or a conditional type (nothing sent).
            Rejected: the whole batch was refused. OutcomeUnknown / ProtocolError: every order of
                the batch may exist — resolve each.
        """
        return await self.batches.submit(cmds)

    async def amend_batch(self, cmds: Sequence[AmendOrder]) -> list[BatchResult]:
        """Modify up to 5 orders in one request. Raises as :meth:`submit_batch`."""
        return await self.batches.amend(cmds)

    async def cancel_batch(self, cmds: Sequence[CancelOrder]) -> list[BatchResult]:
        """Cancel many orders: one request per symbol and 10 orders, sent concurrently.
        "Unknown order" items become :class:`OrderNotFoundReport` (reconcile them).

        Raises:
            Rejected, OutcomeUnknown, ProtocolError: a whole request failed.
        """
        # Conditional orders live in the algo service: Binance's batch cancel does not know them
        # (-2011), so they are canceled one by one, concurrently with the batches.
        # A triggered one is cancelled as the regular order it placed.
        cmds = [self._placed_at_trigger(c) or c for c in cmds]
        algo = [
            i
            for i, c in enumerate(cmds)
            if c.conditional or (self.algo.is_algo(c.client_order_id) and not c.venue_order_id)
        ]
        if not algo:
            return await self.batches.cancel(cmds)
        regular = [i for i in range(len(cmds)) if i not in set(algo)]
        results: list[BatchResult | None] = [None] * len(cmds)

        async def one(i: int) -> None:
            try:
                cancelled = await self.algo.cancel(cmds[i].symbol, cmds[i].client_order_id)
                results[i] = self._handed_out(cancelled)
            except VenueError as exc:
                results[i] = exc

        async def batch() -> None:
            if regular:
                out = await self.batches.cancel([cmds[i] for i in regular])
                for i, result in zip(regular, out, strict=True):
                    results[i] = result

        await asyncio.gather(batch(), *(one(i) for i in algo))
        return [r for r in results if r is not None]

    # ==========================================================================================
    # queries and reconciliation
    # ==========================================================================================

    def _not_found(self, symbol: Symbol, cid: ClientOrderId, now: int) -> OrderNotFoundReport:
        return OrderNotFoundReport(
            ts_event_ns=now,
            ts_recv_ns=now,
            source=ReportSource.RECONCILIATION,
            symbol=symbol,
            client_order_id=cid,
        )

    async def query_order(
        self,
        symbol: Symbol,
        cid: ClientOrderId,
        venue_order_id: VenueOrderId | None = None,
    ) -> OrderStatusReport | OrderNotFoundReport:
        """A regular order by venue order id (preferred, when given) or client order id.

        Raises:
            InvalidOrderError: neither id is usable (nothing sent).
            Rejected (other than not-found), OutcomeUnknown, ProtocolError — after retries.
        """
        params = codec.order_ref_params(symbol, cid, venue_order_id)
        try:
            reply = await self._call(
                endpoints.QUERY_ORDER,
                params,
                schemas.OrderReply,
                client_order_id=cid,
                ws_endpoint=endpoints.WS_ORDER_STATUS,
            )
        except OrderNotFound:
            return self._not_found(symbol, cid, self._clock.time_ns())
        return codec.order_report(reply, self._clock.time_ns(), source=ReportSource.RECONCILIATION)

    async def query(
        self, cmd: QueryOrder, *, conditional: bool = False
    ) -> OrderStatusReport | OrderNotFoundReport:
        """One order's state by client order id ("not found" is a report, not an error).
        ``conditional`` (or an id this process has seen as an algo order): ask the algo service;
        ``cmd.venue_order_id``: the matching engine's order of that id (a triggered conditional
        order's placed order, whose client id may not be ours), whatever the hint.

        Raises:
            Rejected (other than not-found), OutcomeUnknown, ProtocolError — after retries.
        """
        if cmd.venue_order_id:  # an order of the matching engine (a stop's placed order too)
            return await self.query_order(cmd.symbol, cmd.client_order_id, cmd.venue_order_id)
        if conditional or self.algo.is_algo(cmd.client_order_id):
            return self._handed_out(await self.algo.query(cmd.symbol, cmd.client_order_id))
        return await self.query_order(cmd.symbol, cmd.client_order_id)

    async def resolve_unknown(
        self, symbol: Symbol, client_order_id: ClientOrderId, *, conditional: bool = False
    ) -> OrderStatusReport | OrderNotFoundReport:
        """Settle an order whose request ended in an unknown outcome (see the module docstring);
        ``conditional`` routes the queries to the algo service (see :meth:`query`).

        Raises:
            Rejected (other than not-found), OutcomeUnknown, ProtocolError — after retries.
        """
        query = QueryOrder(
            ts_ns=self._clock.time_ns(), client_order_id=client_order_id, symbol=symbol
        )
        found = await self.query(query, conditional=conditional)
        if not isinstance(found, OrderNotFoundReport):
            self._unknown_sent_ms.pop(client_order_id, None)
            return found
        sent_ms = self._unknown_sent_ms.get(client_order_id)
        if sent_ms is None:
            # No record of when it was sent: fall back to re-asking on the retry schedule.
            for delay_ns in self._retry.schedule_ns:
                await asyncio.sleep(delay_ns / NANOS_PER_SECOND)
                found = await self.query(query, conditional=conditional)
                if not isinstance(found, OrderNotFoundReport):
                    return found
            return found
        wait_ms = sent_ms + self.config.recv_window_ms + _RESOLVE_MARGIN_MS - self.timesync.now_ms()
        if wait_ms > 0:
            await asyncio.sleep(wait_ms / 1000)
        found = await self.query(query, conditional=conditional)
        self._unknown_sent_ms.pop(client_order_id, None)
        return found

    async def open_orders(self, symbols: Sequence[Symbol] | None = None) -> OpenOrdersSnapshot:
        """Open (regular) orders, for reconciliation. With ``symbols`` one cheap request per
        symbol (weight 1 each); without, one request for all (weight 40) — the snapshot then
        covers the symbols of the loaded instruments. Conditional orders waiting in the algo
        service are not included: see :meth:`open_algo_orders`.

        Raises:
            Rejected, OutcomeUnknown, ProtocolError — after retries.
        """
        ts = self.timesync.now_ms() * NANOS_PER_MILLI
        if symbols is None:
            replies = await self._call(endpoints.OPEN_ORDERS, [], list[schemas.OrderReply])
            covered = tuple(self._instruments) or tuple(sorted({Symbol(r.symbol) for r in replies}))
        else:
            per_symbol = await asyncio.gather(
                *(
                    self._call(endpoints.OPEN_ORDERS, [("symbol", s)], list[schemas.OrderReply])
                    for s in symbols
                )
            )
            replies = [r for batch in per_symbol for r in batch]
            covered = tuple(symbols)
        now = self._clock.time_ns()
        orders = tuple(
            codec.order_report(r, now, source=ReportSource.RECONCILIATION) for r in replies
        )
        return OpenOrdersSnapshot(
            ts_event_ns=ts,
            ts_recv_ns=now,
            source=ReportSource.RECONCILIATION,
            symbols=covered,
            orders=orders,
        )

    async def open_algo_orders(self, symbol: Symbol | None = None) -> list[AlgoOrderReport]:
        """Conditional orders waiting in the algo service. Raises the venue error kinds."""
        return await self.algo.open_orders(symbol)

    async def open_conditional_orders(self, symbols: Sequence[Symbol]) -> list[OrderStatusReport]:
        """``openAlgoOrders`` per symbol (weight 1 each), concurrently, each seen as an order.

        Raises:
            Rejected, OutcomeUnknown, ProtocolError — after retries.
        """
        per_symbol = await asyncio.gather(*(self.algo.open_orders(s) for s in symbols))
        return [self.conditional_view(r) for batch in per_symbol for r in batch]

    def conditional_view(self, report: AlgoOrderReport) -> OrderStatusReport:
        """A conditional order as the core sees every order (the rule: :mod:`.algo_view`); the
        quantity it was placed with stands in where the report states none."""
        return conditional_status_report(report, self.algo.known_quantity(report.client_order_id))

    def _handed_out(
        self, report: AlgoOrderReport | OrderStatusReport | OrderNotFoundReport
    ) -> OrderStatusReport | OrderNotFoundReport:
        """``report`` as handed to the caller: an algo report becomes its view."""
        if isinstance(report, AlgoOrderReport):
            return self.conditional_view(report)
        return report

    async def fills(self, symbol: Symbol, since_ns: int) -> list[FillReport]:
        """``GET /fapi/v1/userTrades`` from ``since_ns`` (Binance keeps 7 days per query window).

        Raises:
            Rejected, OutcomeUnknown, ProtocolError — after retries.
        """
        week_ms = 7 * 24 * 3600 * 1000
        start_ms = max(since_ns // NANOS_PER_MILLI, self.timesync.now_ms() - week_ms + 60_000)
        return await self.admin.user_trades(symbol, start_ms=start_ms, limit=1000)

    async def positions(self) -> list[PositionReport]:
        """``GET /fapi/v3/positionRisk``. Raises the venue error kinds."""
        items = await self._call(endpoints.POSITION_RISK, [], list[schemas.PositionRisk])
        now = self._clock.time_ns()
        return [codec.position_report(p, now) for p in items]

    async def balances(self) -> list[BalanceReport]:
        """``GET /fapi/v3/balance``. Raises the venue error kinds."""
        items = await self._call(endpoints.BALANCE, [], list[schemas.Balance])
        now = self._clock.time_ns()
        return [codec.balance_report(b, now) for b in items]

    async def account_fingerprint(self) -> str:
        """``alias:<accountAlias>`` from ``GET /fapi/v3/balance``, or ``key:<sha256(api key)[:16]>``
        if the venue names no alias (see :func:`mmoms.venues.binance.admin.account_fingerprint`).

        Raises:
            MissingCredentialsError: the gateway has no credentials (nothing sent).
            ProtocolError: the entries name different aliases.
            Rejected, OutcomeUnknown: from the venue, after retries.
        """
        if self._credentials is None:
            raise MissingCredentialsError("the account fingerprint needs API credentials")
        return await self.admin.account_fingerprint(self._credentials.api_key)

    async def instruments(self) -> list[Instrument]:
        """``GET /fapi/v1/exchangeInfo`` → instruments; also adopts the venue's rate limits.
        A symbol entry that cannot be read is logged and skipped.

        Raises:
            Rejected, OutcomeUnknown, ProtocolError — after retries.
        """
        info = await self._call(endpoints.EXCHANGE_INFO, [], schemas.ExchangeInfo)
        self.rate.set_limits(
            [(r.rate_limit_type, r.interval, r.interval_num, r.limit) for r in info.rate_limits]
        )
        out: list[Instrument] = []
        for entry in info.symbols:
            try:
                out.append(instrument_from_exchange_info(entry))
            except InstrumentError as exc:
                log.error("skipping instrument: %s", exc)
        self._instruments = {i.symbol: i for i in out}
        return out

    # ==========================================================================================
    # health
    # ==========================================================================================

    def rate_state(self) -> RateLimitState:
        return self.rate.state()

    @property
    def stream_stats(self) -> DecoderStats | None:
        """The user stream decoder's counters, for metrics: messages, events unwrapped from
        combined-stream messages, unknown and malformed ones (per kind); None without a user
        stream."""
        return None if self.userstream is None else self.userstream.decoder.stats

    def error_rate(self, endpoint: str | None = None) -> float:
        if endpoint is None:
            return self.errors.overall_error_rate()
        return self.errors.error_rate(endpoint)


if TYPE_CHECKING:  # mypy proves the Binance gateway implements the venue-neutral protocol

    def _conforms(gateway: BinanceGateway) -> ExchangeGateway:
        return gateway
