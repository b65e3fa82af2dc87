"""Conditional orders through Binance's Algo service (``/fapi/v1/algoOrder``).

Since 2025-12-09 STOP, STOP_MARKET, TAKE_PROFIT, TAKE_PROFIT_MARKET and TRAILING_STOP_MARKET
are refused by the order endpoint (-4120); they live in the algo service under their own ids
(``algoId`` / ``clientAlgoId``) until triggered, when a regular order is placed.

The OMS addresses every order by client order id and does not know where it lives, so this
component remembers which client ids are algo orders (those it placed, those seen in
``ALGO_UPDATE`` or ``openAlgoOrders``) and the last report of each: a cancel for such an id is
routed here, and a successful cancel answers with the last report marked CANCELED instead of
paying for a query. It also keeps the last quantity stated for each (the one placed, or one a
report named), for the reports that state none (close-position stops). The memory is bounded
(oldest forgotten first); an id that was forgotten is treated as a regular order.
"""

from __future__ import annotations

from collections import OrderedDict
from decimal import Decimal

import msgspec

from mmoms.core.clock import Clock
from mmoms.core.commands import SubmitOrder
from mmoms.core.ids import ClientOrderId, Symbol, VenueOrderId
from mmoms.core.reports import OrderNotFoundReport, ReportSource
from mmoms.venues.binance import codec, endpoints, schemas
from mmoms.venues.binance.ratecontrol import Priority
from mmoms.venues.binance.rest import RestClient
from mmoms.venues.binance.retry import RetryPolicy, run_with_retry
from mmoms.venues.errors import DuplicateClientOrderId, OrderNotFound
from mmoms.venues.venue_reports import AlgoOrderReport, AlgoStatus


class AlgoOrders:
    def __init__(
        self, rest: RestClient, retry: RetryPolicy, clock: Clock, *, memory: int = 10_000
    ) -> None:
        self._rest = rest
        self._retry = retry
        self._clock = clock
        self._memory = memory
        self._known: OrderedDict[str, AlgoOrderReport | None] = OrderedDict()
        self._quantity: dict[str, Decimal] = {}  # the last stated; keys a subset of _known's

    def is_algo(self, client_order_id: str) -> bool:
        return client_order_id in self._known

    def placed_order_id(self, client_order_id: str) -> VenueOrderId | None:
        """The regular order a triggered conditional order placed, if we saw it trigger."""
        last = self._known.get(client_order_id)
        if last is None or last.status not in (AlgoStatus.TRIGGERED, AlgoStatus.FINISHED):
            return None
        return last.actual_order_id or None

    def known_quantity(self, client_order_id: str) -> Decimal | None:
        """The order's quantity as last stated (placed with, or named by a report), if known."""
        return self._quantity.get(client_order_id)

    def observe(self, report: AlgoOrderReport) -> None:
        """Remember an algo order's latest state (from a reply, the stream or a snapshot)."""
        self._remember(report.client_order_id, report, report.quantity)

    def _remember(
        self, client_order_id: str, report: AlgoOrderReport | None, quantity: Decimal | None
    ) -> None:
        self._known[client_order_id] = report
        self._known.move_to_end(client_order_id)
        if quantity:
            self._quantity[client_order_id] = quantity
        while len(self._known) > self._memory:
            self._quantity.pop(self._known.popitem(last=False)[0], None)

    async def submit(
        self,
        cmd: SubmitOrder,
        *,
        callback_rate: Decimal | None = None,
        price_protect: bool = False,
    ) -> AlgoOrderReport:
        """Place a conditional order (``algoType=CONDITIONAL``).

        Raises:
            InvalidOrderError: the command cannot be expressed (nothing sent).
            Rejected, OutcomeUnknown, ProtocolError: see :mod:`mmoms.venues.errors`.
        """
        params = codec.algo_order_params(
            cmd, callback_rate=callback_rate, price_protect=price_protect
        )
        cid = cmd.client_order_id
        # Known before sending, so a cancel issued while the outcome is unknown is routed here.
        self._remember(cid, self._known.get(cid), cmd.quantity)
        priority = Priority.EXIT if cmd.reduce_only or cmd.close_position else Priority.NORMAL

        async def attempt(retries: int) -> AlgoOrderReport:
            try:
                reply = await self._rest.call(
                    endpoints.ALGO_PLACE,
                    params,
                    schemas.AlgoOrderReply,
                    priority=priority,
                    client_order_id=cid,
                )
            except DuplicateClientOrderId:
                if retries == 0:
                    raise
                found = await self.query(cmd.symbol, cid)  # an earlier attempt got through
                if isinstance(found, OrderNotFoundReport):
                    raise
                return found
            return codec.algo_report(reply, self._clock.time_ns())

        report = await run_with_retry(endpoints.ALGO_PLACE.op, attempt, self._retry)
        self.observe(report)
        return report

    async def cancel(
        self, symbol: Symbol, client_order_id: ClientOrderId
    ) -> AlgoOrderReport | OrderNotFoundReport:
        """Cancel by client algo id; the order's report afterwards (or "not found").

        Raises:
            Rejected, OutcomeUnknown, ProtocolError: see :mod:`mmoms.venues.errors`.
        """
        last = self._known.get(client_order_id)
        params = [("algoId", str(last.algo_id))] if last else [("clientAlgoId", client_order_id)]

        async def attempt(_retries: int) -> schemas.AlgoCancelReply:
            return await self._rest.call(
                endpoints.ALGO_CANCEL,
                params,
                schemas.AlgoCancelReply,
                client_order_id=client_order_id,
            )

        try:
            await run_with_retry(endpoints.ALGO_CANCEL.op, attempt, self._retry)
        except OrderNotFound:
            return await self.query(symbol, client_order_id)  # already final, or never placed
        if last is None:
            return await self.query(symbol, client_order_id)
        now = self._clock.time_ns()
        report = msgspec.structs.replace(
            last, status=AlgoStatus.CANCELED, ts_event_ns=now, ts_recv_ns=now
        )
        self.observe(report)
        return report

    async def query(
        self, symbol: Symbol, client_order_id: ClientOrderId
    ) -> AlgoOrderReport | OrderNotFoundReport:
        """``GET /fapi/v1/algoOrder`` by client algo id.

        Raises:
            Rejected (other than not-found), OutcomeUnknown, ProtocolError.
        """

        async def attempt(_retries: int) -> schemas.AlgoOrderReply:
            return await self._rest.call(
                endpoints.ALGO_QUERY,
                [("clientAlgoId", client_order_id)],
                schemas.AlgoOrderReply,
                client_order_id=client_order_id,
            )

        now = self._clock.time_ns()
        try:
            reply = await run_with_retry(endpoints.ALGO_QUERY.op, attempt, self._retry)
        except OrderNotFound:
            return OrderNotFoundReport(
                ts_event_ns=now,
                ts_recv_ns=now,
                source=ReportSource.RECONCILIATION,
                symbol=symbol,
                client_order_id=client_order_id,
            )
        report = codec.algo_report(reply, self._clock.time_ns(), source=ReportSource.RECONCILIATION)
        self.observe(report)
        return report

    async def open_orders(self, symbol: Symbol | None = None) -> list[AlgoOrderReport]:
        """``GET /fapi/v1/openAlgoOrders`` (weight 40 without a symbol).

        Raises:
            Rejected, OutcomeUnknown, ProtocolError.
        """
        params = [("symbol", symbol)] if symbol else []

        async def attempt(_retries: int) -> list[schemas.AlgoOrderReply]:
            return await self._rest.call(endpoints.ALGO_OPEN, params, list[schemas.AlgoOrderReply])

        replies = await run_with_retry(endpoints.ALGO_OPEN.op, attempt, self._retry)
        now = self._clock.time_ns()
        reports = [codec.algo_report(r, now, source=ReportSource.RECONCILIATION) for r in replies]
        for report in reports:
            self.observe(report)
        return reports

    async def cancel_all(self, symbol: Symbol) -> None:
        """``DELETE /fapi/v1/algoOpenOrders`` for one symbol.

        Raises:
            Rejected, OutcomeUnknown, ProtocolError.
        """

        async def attempt(_retries: int) -> schemas.CodeMsg:
            return await self._rest.call(
                endpoints.ALGO_CANCEL_ALL, [("symbol", symbol)], schemas.CodeMsg
            )

        await run_with_retry(endpoints.ALGO_CANCEL_ALL.op, attempt, self._retry)
