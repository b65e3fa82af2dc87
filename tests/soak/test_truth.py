"""The truth the soak judges by: ``POST /admin/read`` on a real simulator, through the
:class:`TruthReader`. Faults armed on the same endpoints must not reach it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal as D

import pytest
import pytest_asyncio

from mmoms.app.stack import LocalSim, start_local_sim
from mmoms.sim.config_model import SimConfig
from mmoms.soak.simproc import AdminClient, SoakSetupError
from mmoms.soak.truth import TruthReader


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[LocalSim]:
    local = await start_local_sim(SimConfig(seed=3))
    yield local
    await local.server.close()


def place(sim: LocalSim, **params: str) -> dict[str, object]:
    account = sim.exchange.account_for_key(sim.credentials.api_key)
    reply: dict[str, object] = sim.exchange.endpoints["POST /fapi/v1/order"].handler(
        account, params
    )
    return reply


@pytest.mark.asyncio
async def test_the_truth_lists_open_orders_trades_and_positions_past_any_fault(
    sim: LocalSim,
) -> None:
    key = sim.credentials.api_key
    place(sim, symbol="BTCUSDC", side="BUY", type="LIMIT", timeInForce="GTC",
          quantity="0.002", price="93000.0", newClientOrderId="rest-1")  # fmt: skip
    place(sim, symbol="BTCUSDC", side="SELL", type="MARKET", quantity="0.003",
          newClientOrderId="take-1")  # fmt: skip
    sim.server.faults.add(
        [{"kind": "http_error", "variant": "internal", "match": "GET *"},
         {"kind": "clock_skew", "skew_ms": 60_000}],
        0,
    )  # fmt: skip
    admin = AdminClient(sim.server.rest_url)
    try:
        reader = TruthReader(admin, key, ["BTCUSDC", "ETHUSDC"])
        truth = await reader.truth(["BTCUSDC"])
        [resting] = truth.open_orders
        assert (resting.client_order_id, resting.price, resting.quantity) == (
            "rest-1",
            D("93000.0"),
            D("0.002"),
        )
        assert truth.positions["BTCUSDC"] == D("-0.003")
        assert truth.fills >= 1
        assert truth.fees["USDC"] > 0
        assert truth.executed["BTCUSDC/take-1"] == D("0.003")
        assert sorted(o.client_order_id for o in reader.all_orders()) == ["rest-1", "take-1"]
        await reader.refresh()  # again: nothing is counted twice
        assert len(reader.all_orders()) == 2
        assert len(reader.trades) == truth.fills
    finally:
        await admin.close()


@pytest.mark.asyncio
async def test_the_read_endpoint_refuses_writes_and_strangers(sim: LocalSim) -> None:
    admin = AdminClient(sim.server.rest_url)
    try:
        with pytest.raises(SoakSetupError, match="GET endpoints"):
            await admin.read(sim.credentials.api_key, "POST /fapi/v1/order", symbol="BTCUSDC")
        with pytest.raises(SoakSetupError, match="apiKey"):
            await admin.read("nobody", "GET /fapi/v1/openOrders")
    finally:
        await admin.close()
