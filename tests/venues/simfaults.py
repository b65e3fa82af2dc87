"""Driving the simulator's fault injection from a test: its admin endpoints over HTTP, and
in-process reads of the venue's truth (what the exchange really holds, whatever a client saw).

Shared by the gateway's fault tests (:mod:`tests.venues.test_sim_faults`) and the OMS's
(:mod:`tests.e2e.test_oms_faults`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import aiohttp

from mmoms.sim.server import SimServer


class SimAdmin:
    """The simulator's ``/admin/*`` endpoints (see the :mod:`mmoms.sim.server` docstring)."""

    def __init__(self, server: SimServer) -> None:
        self.server = server

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        async with (
            aiohttp.ClientSession() as http,
            http.request(method, f"{self.server.rest_url}{path}", json=body) as reply,
        ):
            data = await reply.json()
            assert reply.status == 200, (method, path, reply.status, data)
            return data

    async def add(self, *rules: dict[str, Any]) -> list[int]:
        """Activate rules; returns their ids."""
        reply = await self.call("POST", "/admin/faults", list(rules))
        return [rule["id"] for rule in reply["rules"]]

    async def remove(self, rule_id: int | None = None) -> int:
        """Remove one rule, or every rule; returns how many went."""
        query = "" if rule_id is None else f"?id={rule_id}"
        return int((await self.call("DELETE", f"/admin/faults{query}"))["removed"])

    async def log(self, since: int = 0, kind: str | None = None) -> list[dict[str, Any]]:
        """Injected faults with ``seq > since``, oldest first (only ``kind`` when given)."""
        entries = (await self.call("GET", f"/admin/faults/log?since={since}"))["entries"]
        return [e for e in entries if kind is None or e["kind"] == kind]

    async def last_seq(self) -> int:
        return int((await self.call("GET", "/admin/faults"))["lastSeq"])

    async def disconnect(self, target: str, mode: str = "abort") -> int:
        reply = await self.call("POST", "/admin/ws/disconnect", {"target": target, "mode": mode})
        return int(reply["disconnected"])

    async def expire_listen_keys(self, api_key: str) -> list[str]:
        reply = await self.call("POST", "/admin/listen-keys/expire", {"apiKey": api_key})
        return list(reply["expired"])

    async def trade(self, symbol: str, side: str, quantity: str) -> Decimal:
        """The market trades ``quantity`` aggressively now; returns what was filled."""
        reply = await self.call(
            "POST", "/admin/market", {"symbol": symbol, "side": side, "quantity": quantity}
        )
        return Decimal(reply["filled"])

    async def set_mid(self, symbol: str, mid: Decimal) -> None:
        await self.call("POST", "/admin/market", {"symbol": symbol, "mid": str(mid)})


class Venue:
    """What the simulated exchange holds for one account, read in-process (no faults apply)."""

    def __init__(self, exchange: Any, api_key: str) -> None:
        self.exchange = exchange
        self.api_key = api_key

    def call(self, key: str, **params: str) -> Any:
        endpoint = self.exchange.endpoints[key]
        return endpoint.handler(self.exchange.account_for_key(self.api_key), params)

    def all_orders(self, symbol: str) -> list[dict[str, Any]]:
        return list(self.call("GET /fapi/v1/allOrders", symbol=symbol, limit="1000"))

    def orders_with_id(self, symbol: str, client_order_id: str) -> list[dict[str, Any]]:
        return [o for o in self.all_orders(symbol) if o["clientOrderId"] == client_order_id]

    def open_orders(self, symbol: str) -> list[dict[str, Any]]:
        return list(self.call("GET /fapi/v1/openOrders", symbol=symbol))

    def trades(self, symbol: str) -> list[dict[str, Any]]:
        return list(self.call("GET /fapi/v1/userTrades", symbol=symbol, limit="1000"))

    def position(self, symbol: str) -> Decimal:
        risk = self.call("GET /fapi/v3/positionRisk", symbol=symbol)
        return sum((Decimal(p["positionAmt"]) for p in risk), Decimal(0))

    def book_ticker(self, symbol: str) -> tuple[Decimal, Decimal]:
        top = self.call("GET /fapi/v1/ticker/bookTicker", symbol=symbol)
        return Decimal(top["bidPrice"]), Decimal(top["askPrice"])
