"""Checkpoints inside the worker: bring the OMS to a quiet point and take its view there.

The orchestrator freezes the simulator's clock (no fill, no expiry can happen) and asks for:

* ``pause`` — the strategy stops sending intents; wait until no order of ours is in flight;
* ``capture K`` — wait for the K-th reconciliation from now and take the :class:`BookView` in
  the batch listener of that reconciliation's commit, so the view is exactly the journal up to
  ``store.last_committed_seq``. K is 2 for the first capture: a reconciliation already running
  when the pause settled fetched its truth before the quiet point; the next one cannot have;
* ``confirm`` — did the OMS send anything since the capture? (a deferred retry could fire; the
  orchestrator then discards that comparison and captures again);
* ``resume``.

A batch listener runs synchronously right after a commit: between commits the engine may hold
applied but uncommitted changes, so a view taken anywhere else could be ahead of the journal.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection

from mmoms.core.ids import Symbol
from mmoms.engine.oms import OrderManager
from mmoms.soak.probe import TrackingStore, book_view
from mmoms.soak.views import BookView

__all__ = ["Checkpoints"]


class Checkpoints:
    def __init__(
        self,
        oms: OrderManager,
        store: TrackingStore,
        symbols: tuple[Symbol, ...],
        canceled: Collection[str] = (),
    ):
        self._oms, self._store, self._symbols = oms, store, symbols
        self._canceled = canceled  # groups the strategy canceled (a live set: it grows)
        self._changed = asyncio.Event()
        self._target: int | None = None  # reconciliation count to capture at
        self._captured: asyncio.Future[BookView] | None = None
        self._checkpoint = 0
        self._rounds = 0
        self._requests_at_capture = 0
        oms.add_batch_listener(self._after_batch)

    def in_flight(self) -> list[str]:
        return [
            f"{o.symbol}/{o.client_order_id} {o.status.value}"
            for o in self._oms.book.open_orders()
            if o.status.is_in_flight
        ]

    async def wait_batch(self, timeout_s: float) -> None:
        """Until the next engine commit. Raises TimeoutError."""
        self._changed.clear()
        await asyncio.wait_for(self._changed.wait(), max(timeout_s, 0.01))

    async def settle(self, timeout_s: float) -> list[str]:
        """Wait until nothing is in flight; returns what still is when the time is up."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while self.in_flight() and loop.time() < deadline:
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), max(deadline - loop.time(), 0.01))
            except TimeoutError:
                break
        return self.in_flight()

    async def capture(self, checkpoint: int, after: int, timeout_s: float) -> BookView | None:
        """The view right after the ``after``-th reconciliation from now; None on timeout."""
        if checkpoint != self._checkpoint:
            self._checkpoint, self._rounds = checkpoint, 0
        self._rounds += 1
        self._target = self._oms.metrics.reconciliations + after
        self._captured = asyncio.get_running_loop().create_future()
        try:
            return await asyncio.wait_for(self._captured, timeout_s)
        except TimeoutError:
            return None
        finally:
            self._target, self._captured = None, None

    def requests_since_capture(self) -> int:
        return self._oms.metrics.requests - self._requests_at_capture

    def _after_batch(self) -> None:
        self._changed.set()
        target, future = self._target, self._captured
        if target is None or future is None or future.done():
            return
        if self._oms.metrics.reconciliations < target:
            return
        self._requests_at_capture = self._oms.metrics.requests
        future.set_result(
            book_view(
                self._oms,
                self._symbols,
                checkpoint=self._checkpoint,
                seq=self._store.last_committed_seq,
                converge_rounds=self._rounds,
                canceled=self._canceled,
            )
        )
