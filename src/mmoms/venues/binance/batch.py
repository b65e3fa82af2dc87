"""Batch endpoints: place (≤ 5), modify (≤ 5) and cancel (≤ 10 per symbol) in one request.

Binance processes a batch's items concurrently and answers with one item per request item, in
request order: an order object or ``{"code", "msg"}``. Each item becomes a report or the error
*for that item alone* (classified by the same table); "unknown order" items of a cancel become
:class:`OrderNotFoundReport` so the OMS reconciles them.

Retries follow the single-order rules for the whole request (a batch place is repeated only
after a definite "not executed"); when a place or modify batch ends in an unknown outcome, every
client order id in it is handed to ``on_unknown`` so each can be resolved.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import msgspec

from mmoms.core.clock import Clock
from mmoms.core.commands import AmendOrder, CancelOrder, SubmitOrder
from mmoms.core.errors import InvalidOrderError
from mmoms.core.ids import Symbol
from mmoms.core.reports import OrderNotFoundReport, ReportSource
from mmoms.venues.binance import codec, endpoints, schemas
from mmoms.venues.binance.endpoints import Endpoint, OpKind
from mmoms.venues.binance.errors import classify
from mmoms.venues.binance.ratecontrol import Priority
from mmoms.venues.binance.rest import RestClient
from mmoms.venues.binance.retry import RetryPolicy, run_with_retry
from mmoms.venues.errors import OrderNotFound, OutcomeUnknown, ProtocolError, VenueError
from mmoms.venues.gateway import BatchResult

AnyBatchCommand = SubmitOrder | AmendOrder | CancelOrder


class BatchOrders:
    def __init__(
        self,
        rest: RestClient,
        retry: RetryPolicy,
        clock: Clock,
        *,
        on_unknown: Callable[[VenueError, Sequence[str]], None],
        response_type: str = "ACK",
    ) -> None:
        self._rest = rest
        self._retry = retry
        self._clock = clock
        self._on_unknown = on_unknown
        self._response_type = response_type

    async def submit(self, cmds: Sequence[SubmitOrder]) -> list[BatchResult]:
        """Raises:
        InvalidOrderError: not 1..5 orders, or a conditional type (nothing sent).
        Rejected, OutcomeUnknown, ProtocolError: the whole request failed.
        """
        if not 0 < len(cmds) <= endpoints.MAX_BATCH_PLACE:
            raise InvalidOrderError(f"a batch holds 1..{endpoints.MAX_BATCH_PLACE} orders")
        items = [codec.new_order_params(c, response_type=self._response_type) for c in cmds]
        exit_only = all(c.reduce_only for c in cmds)
        return await self._send(
            endpoints.BATCH_PLACE,
            [("batchOrders", codec.batch_json(items))],
            cmds,
            priority=Priority.EXIT if exit_only else Priority.NORMAL,
        )

    async def amend(self, cmds: Sequence[AmendOrder]) -> list[BatchResult]:
        """Raises:
        InvalidOrderError: not 1..5 amendments (nothing sent).
        Rejected, OutcomeUnknown, ProtocolError: the whole request failed.
        """
        if not 0 < len(cmds) <= endpoints.MAX_BATCH_MODIFY:
            raise InvalidOrderError(f"a batch holds 1..{endpoints.MAX_BATCH_MODIFY} amendments")
        items = [codec.modify_params(c) for c in cmds]
        return await self._send(
            endpoints.BATCH_MODIFY, [("batchOrders", codec.batch_json(items))], cmds, amended=True
        )

    async def cancel(self, cmds: Sequence[CancelOrder]) -> list[BatchResult]:
        """One request per symbol and 10 orders, sent concurrently; results in command order.

        Raises:
            Rejected, OutcomeUnknown, ProtocolError: a whole request failed.
        """
        by_symbol: dict[Symbol, list[int]] = {}
        for index, cmd in enumerate(cmds):
            by_symbol.setdefault(cmd.symbol, []).append(index)
        size = endpoints.MAX_BATCH_CANCEL
        chunks = [
            (symbol, indexes[k : k + size])
            for symbol, indexes in by_symbol.items()
            for k in range(0, len(indexes), size)
        ]
        results: list[BatchResult | None] = [None] * len(cmds)

        async def run(symbol: Symbol, indexes: list[int]) -> None:
            chunk = [cmds[i] for i in indexes]
            params = codec.batch_cancel_params(symbol, chunk)
            out = await self._send(endpoints.BATCH_CANCEL, params, chunk, priority=Priority.EXIT)
            for i, result in zip(indexes, out, strict=True):
                results[i] = result

        await asyncio.gather(*(run(symbol, indexes) for symbol, indexes in chunks))
        return [r for r in results if r is not None]

    async def _send(
        self,
        endpoint: Endpoint,
        params: codec.ParamSeq,
        cmds: Sequence[AnyBatchCommand],
        *,
        priority: Priority = Priority.NORMAL,
        amended: bool = False,
    ) -> list[BatchResult]:
        async def attempt(_retries: int) -> list[msgspec.Raw]:
            return await self._rest.call(endpoint, params, list[msgspec.Raw], priority=priority)

        try:
            raw_items = await run_with_retry(endpoint.op, attempt, self._retry)
        except (OutcomeUnknown, ProtocolError) as exc:
            if endpoint.op is not OpKind.CANCEL:
                self._on_unknown(exc, [c.client_order_id for c in cmds])
            raise
        if len(raw_items) != len(cmds):
            raise ProtocolError(
                f"{endpoint.name}: {len(raw_items)} results for {len(cmds)} requests",
                endpoint=endpoint.name,
            )
        now = self._clock.time_ns()
        return [
            self._item(endpoint, raw, cmd, now, amended)
            for raw, cmd in zip(raw_items, cmds, strict=True)
        ]

    @staticmethod
    def _item(
        endpoint: Endpoint, raw: msgspec.Raw, cmd: AnyBatchCommand, now: int, amended: bool
    ) -> BatchResult:
        try:
            probe = msgspec.json.decode(raw, type=schemas.ErrorBody)
            code = probe.code
            if isinstance(code, int) and code < 0:
                error = classify(
                    400,
                    code,
                    probe.msg,
                    endpoint=endpoint.name,
                    client_order_id=cmd.client_order_id,
                )
                if isinstance(error, OrderNotFound):
                    return OrderNotFoundReport(
                        ts_event_ns=now,
                        ts_recv_ns=now,
                        source=ReportSource.REST,
                        symbol=cmd.symbol,
                        client_order_id=cmd.client_order_id,
                    )
                return error
            reply = msgspec.json.decode(raw, type=schemas.OrderReply)
            return codec.order_report(reply, now, amended=amended)
        except (msgspec.DecodeError, ProtocolError) as exc:
            return ProtocolError(
                f"{endpoint.name}: unreadable batch item ({exc})",
                endpoint=endpoint.name,
                client_order_id=cmd.client_order_id,
            )
