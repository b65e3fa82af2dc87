"""Reconciliation and conditional orders that wait apart from the order book (Binance's algo
service). The order book's snapshot never lists a waiting stop, so looking for stops there made
every reconciliation query every stop; in the chaos soak each stale read of one ("not found"
for a young order) became an anomaly, every second (issue 16, item 8). A waiting stop is now
looked for in the algo service's own list, and queried only when missing from it.

Against :class:`~tests.engine.realshape_venue.RealShapeBinance` through the real gateway.
"""

from __future__ import annotations

import pytest

from mmoms.core.enums import OrderStatus
from mmoms.journal.records import Reconciled, decode_entry

from .realshape_venue import RealShapeBinance
from .test_algo_real_payloads import DIP, STOP, _breakout_oco, _start, _stop

RECONCILIATIONS = 6


@pytest.mark.asyncio
async def test_a_waiting_stop_is_found_in_the_algo_list_not_queried_every_time() -> None:
    venue = RealShapeBinance()
    e = await _start(venue, reconcile_interval_s=0.02)
    try:
        await _breakout_oco(e)
        venue.stale_algo_queries = True  # any query of the stop would read "not found"
        done = e.oms.metrics.reconciliations + RECONCILIATIONS
        await e.until(lambda: e.oms.metrics.reconciliations >= done)
        assert e.oms.book.anomaly_count == 0
        assert venue.calls("GET", "/fapi/v1/algoOrder") == []
        assert len(venue.calls("GET", "/fapi/v1/openAlgoOrders")) >= RECONCILIATIONS
        assert e.status(STOP) is OrderStatus.NEW
        entries = [decode_entry(r.payload) for r in e.journal.records.values()]
        differences = [d for x in entries if isinstance(x, Reconciled) for d in x.differences]
        assert not [d for d in differences if STOP in d]
    finally:
        await _stop(e)


@pytest.mark.asyncio
async def test_a_stop_cancelled_while_we_were_not_listening_is_settled_by_the_list() -> None:
    venue = RealShapeBinance()
    e = await _start(venue, reconcile_interval_s=0.02)
    try:
        await _breakout_oco(e)
        venue.algos[STOP]["algoStatus"] = "CANCELED"  # e.g. cancelled by hand; no stream
        await e.until(lambda: e.status(STOP) is OrderStatus.CANCELED)
        assert len(venue.calls("GET", "/fapi/v1/algoOrder")) == 1  # missing from the list
        assert e.status(DIP) is OrderStatus.NEW
    finally:
        await _stop(e)


@pytest.mark.asyncio
async def test_no_algo_list_is_asked_for_without_a_waiting_stop() -> None:
    venue = RealShapeBinance()
    e = await _start(venue, reconcile_interval_s=0.02)
    try:
        done = e.oms.metrics.reconciliations + 3
        await e.until(lambda: e.oms.metrics.reconciliations >= done)
        assert venue.calls("GET", "/fapi/v1/openAlgoOrders") == []
    finally:
        await _stop(e)
