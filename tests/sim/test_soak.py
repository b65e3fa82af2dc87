"""Chaos soak on virtual time: a client trades for N simulated minutes while faults fire at
random, then checks it can account for every order and that the stream kept its promises.

* Every "unknown" 503 is resolved by querying the client order id, and the answer must agree
  with the fault log (its coin and the outcome behind the 503, lined up by sequence).
* At the end the orders the client believes open are exactly the exchange's open orders.
* Per order, the user stream's statuses never go backwards, despite reordering and duplicates.

CI runs two simulated minutes; ``MMOMS_SOAK=full`` runs thirty (marked ``slow``).
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest
from conftest import API_KEY, API_SECRET, _virtual

if TYPE_CHECKING:
    from conftest import VirtualSim

FAULTS = [
    {"kind": "http_error", "match": "POST /fapi/v1/order", "variant": "unknown",
     "probability": 0.15},
    {"kind": "http_error", "match": "DELETE /fapi/v1/order", "variant": "unavailable",
     "probability": 0.1},
    {"kind": "user_event", "action": "reorder", "probability": 0.2},
    {"kind": "user_event", "action": "duplicate", "probability": 0.05},
]  # fmt: skip
RANK = {"NEW": 0, "PARTIALLY_FILLED": 1, "FILLED": 2, "CANCELED": 2, "EXPIRED": 2}
UNKNOWN = -1000


async def _soak(minutes: int, seed: int) -> None:
    from mmoms.sim.config_model import AccountConfig, SimConfig

    config = SimConfig(accounts=(AccountConfig(API_KEY, API_SECRET),), seed=seed)
    async for sim in _virtual(config, fault_seed=seed):
        await sim.admin("POST", "/admin/faults", FAULTS)
        async for statuses in _user_stream(sim):
            await _trade(sim, minutes, random.Random(seed))
            _check_stream(statuses)


async def _user_stream(sim: VirtualSim) -> AsyncIterator[dict[int, list[str]]]:
    statuses: dict[int, list[str]] = {}
    key = await sim.listen_key()
    async with sim.http.ws_connect(f"{sim.server.ws_url}/private/ws/{key}") as ws:

        async def pump() -> None:
            async for msg in ws:
                event = msg.json()
                if event["e"] == "ORDER_TRADE_UPDATE":
                    statuses.setdefault(event["o"]["i"], []).append(event["o"]["X"])

        reader = asyncio.create_task(pump())
        yield statuses
        reader.cancel()


async def _trade(sim: VirtualSim, minutes: int, rng: random.Random) -> None:
    believed: dict[str, int] = {}  # client order id -> order id, believed open
    unknown_outcomes: list[bool] = []
    for second in range(minutes * 60):
        _, premium = await sim.public("/fapi/v1/premiumIndex?symbol=BTCUSDC")
        mark = Decimal(premium["markPrice"])
        for n in range(rng.randint(1, 3)):
            client_id = f"s{second}-{n}"
            side = rng.choice(("BUY", "SELL"))
            offset = Decimal(rng.randint(1, 40)) / 10 * (-1 if side == "BUY" else 1)
            price = (mark + offset).quantize(Decimal("0.1"))
            status, reply = await sim.signed("POST", "/fapi/v1/order", symbol="BTCUSDC",
                                             side=side, type="LIMIT", timeInForce="GTC",
                                             quantity="0.010", price=str(price),
                                             newClientOrderId=client_id)  # fmt: skip
            if status == 200:
                believed[client_id] = reply["orderId"]
            elif reply.get("code") == UNKNOWN:  # resolve by client order id, never resend
                found, order = await sim.signed("GET", "/fapi/v1/order", symbol="BTCUSDC",
                                                 origClientOrderId=client_id)  # fmt: skip
                unknown_outcomes.append(found == 200)
                if found == 200:
                    believed[client_id] = order["orderId"]
        if believed and rng.random() < 0.8:
            client_id = rng.choice(sorted(believed))
            status, reply = await sim.signed("DELETE", "/fapi/v1/order", symbol="BTCUSDC",
                                             origClientOrderId=client_id)  # fmt: skip
            if status == 200 or reply.get("code") == -2011:  # canceled, or already filled
                del believed[client_id]
        await sim.advance(1000)
    # Line the resolved outcomes up with the injected coins.
    log = await sim.fault_log()
    placed = [
        e["executed"] and e["outcome"] == 200  # executed, and the order was accepted
        for e in log
        if e["kind"] == "http_error" and e["code"] == UNKNOWN
    ]
    assert placed == unknown_outcomes
    assert len(placed) >= minutes  # the soak did meet the fault
    # Reconcile: what the client believes open is what the exchange has open.
    still_open = set()
    for client_id in believed:
        _, order = await sim.signed("GET", "/fapi/v1/order", symbol="BTCUSDC",
                                    origClientOrderId=client_id)  # fmt: skip
        if order["status"] in ("NEW", "PARTIALLY_FILLED"):
            still_open.add(client_id)
    _, open_orders = await sim.signed("GET", "/fapi/v1/openOrders", symbol="BTCUSDC")
    assert {o["clientOrderId"] for o in open_orders} == still_open


def _check_stream(statuses: dict[int, list[str]]) -> None:
    assert statuses
    for order_id, seen in statuses.items():
        ranks = [RANK[s] for s in seen]
        assert ranks == sorted(ranks), (order_id, seen)


@pytest.mark.asyncio
async def test_soak_short() -> None:
    await _soak(minutes=2, seed=11)


@pytest.mark.slow
@pytest.mark.asyncio
@pytest.mark.skipif(os.environ.get("MMOMS_SOAK") != "full", reason="MMOMS_SOAK=full runs the soak")
async def test_soak_thirty_minutes() -> None:
    await _soak(minutes=30, seed=random.randrange(2**32))
