"""The user-data stream in the engine loop: reports merged into the book, gaps reconciled.

A task pumps the gateway's stream into the engine's queue (:mod:`.tasks`); the loop hands
each message here.
A :class:`~mmoms.venues.gateway.StreamGap` (every (re)connect, the first included) means events
may have been missed: a reconciliation starts, and the stream's items are buffered until its
snapshot is applied, then applied in order (an item older than the snapshot changes nothing:
the book keeps only facts that move forward). Items are buffered from the start, until the
first reconciliation.
"""

from __future__ import annotations

from mmoms.core.clock import Clock
from mmoms.core.reports import BalanceReport, FillReport, OrderStatusReport, PositionReport
from mmoms.engine.book_writer import BookWriter
from mmoms.engine.messages import Decisions, ReconcileWanted, StreamMsg, StreamReleased
from mmoms.engine.metrics import ActionTimings, OmsMetrics
from mmoms.venues.gateway import StreamGap, StreamItem

__all__ = ["StreamHandler"]

_BOOK_REPORTS = (OrderStatusReport, FillReport, PositionReport, BalanceReport)


class StreamHandler:
    def __init__(
        self,
        book_writer: BookWriter,
        timings: ActionTimings,
        metrics: OmsMetrics,
        clock: Clock,
    ) -> None:
        self._writer = book_writer
        self._timings = timings
        self._metrics = metrics
        self._clock = clock
        self._buffer: list[StreamItem] | None = []  # buffer until the first reconciliation

    def on_stream(self, msg: StreamMsg) -> Decisions:
        message = msg.message
        if isinstance(message, StreamGap):
            self._metrics.stream_gaps += 1
            if self._buffer is None:
                self._buffer = []
            return [ReconcileWanted("stream_gap" if message.down_since_ns else "startup")]
        if self._buffer is not None:
            self._buffer.append(message)
            return []
        self._apply(message)
        return []

    def on_released(self, _: StreamReleased) -> Decisions:
        """The reconciliation's snapshot is applied: apply what the stream brought meanwhile."""
        buffered, self._buffer = self._buffer or [], None
        for item in buffered:
            self._apply(item)
        return []

    def _apply(self, item: StreamItem) -> None:
        report = item.report
        if isinstance(report, _BOOK_REPORTS):
            cid = getattr(report, "client_order_id", None)
            if cid is not None:
                self._timings.streamed(cid, self._clock.monotonic_ns())
            self._writer.apply(report)
