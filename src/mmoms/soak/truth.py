"""The venue's truth, read through the simulator's ``/admin/read`` (no auth, no fault, no limit).

Orders and trades are collected incrementally over the whole run (by order id, algo id and
trade id), so the duplicate and lost-fill checks see every order ever placed, however long the
run. Executed quantities change after an order was first seen: they are re-read from the oldest
order not yet final, on the group symbols only (the quoter's symbol has thousands of orders and
its executed quantities are not needed: fills are compared trade by trade).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from mmoms.soak.simproc import AdminClient
from mmoms.soak.views import ZERO, OrderView, VenueOrder, VenueTruth

__all__ = ["TruthReader"]

_PAGE = 1000
_FINAL = frozenset({"FILLED", "CANCELED", "EXPIRED", "REJECTED", "EXPIRED_IN_MATCH"})


class TruthReader:
    def __init__(self, admin: AdminClient, api_key: str, symbols: Iterable[str]) -> None:
        self._admin, self._key = admin, api_key
        self.symbols = tuple(symbols)
        self.orders: dict[tuple[str, int], VenueOrder] = {}
        self.algo_orders: dict[tuple[str, int], VenueOrder] = {}
        self.trades: dict[tuple[str, int, str], tuple[Decimal, str]] = {}  # -> fee, fee asset
        self._next_order = dict.fromkeys(self.symbols, 1)
        self._next_algo = dict.fromkeys(self.symbols, 1)
        self._next_trade = dict.fromkeys(self.symbols, 0)
        self.doctor: list[OrderView] = []  # --inject-breach: a fake open order in the next read

    async def _read(self, endpoint: str, **params: str) -> Any:
        return await self._admin.read(self._key, endpoint, **params)

    async def refresh(self, executed_symbols: Iterable[str] = ()) -> None:
        """Collect new orders, algo orders and trades; re-read executed quantities of orders
        not yet final on ``executed_symbols``."""
        rescan = set(executed_symbols)
        for symbol in self.symbols:
            start = self._next_order[symbol]
            if symbol in rescan:
                start = min(
                    (oid for (s, oid), o in self.orders.items() if s == symbol and _open(o)),
                    default=start,
                )
            await self._orders_from(symbol, start)
            await self._algo_from(symbol, self._next_algo[symbol])
            await self._trades_from(symbol)

    async def _orders_from(self, symbol: str, start: int) -> None:
        while True:
            page = await self._read(
                "GET /fapi/v1/allOrders", symbol=symbol, orderId=str(start), limit=str(_PAGE)
            )
            for raw in page:
                order = VenueOrder(
                    order_id=raw["orderId"],
                    client_order_id=raw["clientOrderId"],
                    symbol=symbol,
                    side=raw["side"],
                    order_type=raw["type"],
                    executed=Decimal(raw["executedQty"]),
                    status=raw["status"],
                )
                self.orders[(symbol, order.order_id)] = order
                self._next_order[symbol] = max(self._next_order[symbol], order.order_id + 1)
            if len(page) < _PAGE:
                return
            start = page[-1]["orderId"] + 1

    async def _algo_from(self, symbol: str, start: int) -> None:
        while True:
            page = await self._read(
                "GET /fapi/v1/allAlgoOrders", symbol=symbol, algoId=str(start), limit=str(_PAGE)
            )
            for raw in page:
                order = VenueOrder(
                    order_id=raw["algoId"],
                    client_order_id=raw["clientAlgoId"],
                    symbol=symbol,
                    side=raw["side"],
                    order_type=raw["orderType"],
                    status=raw["algoStatus"],
                    algo=True,
                )
                self.algo_orders[(symbol, order.order_id)] = order  # ids and client ids: no status
                self._next_algo[symbol] = max(self._next_algo[symbol], order.order_id + 1)
            if len(page) < _PAGE:
                return
            start = page[-1]["algoId"] + 1

    async def _trades_from(self, symbol: str) -> None:
        while True:
            start = self._next_trade[symbol]
            page = await self._read(
                "GET /fapi/v1/userTrades", symbol=symbol, fromId=str(start), limit=str(_PAGE)
            )
            for raw in page:
                key = (symbol, int(raw["id"]), str(raw["side"]))
                self.trades[key] = (Decimal(raw["commission"]), str(raw["commissionAsset"]))
                # inclusive next time: the second fill of a self-trade shares the id
                self._next_trade[symbol] = max(self._next_trade[symbol], int(raw["id"]))
            if len(page) < _PAGE or self._next_trade[symbol] == start:
                return

    async def truth(self, executed_symbols: Iterable[str] = ()) -> VenueTruth:
        await self.refresh(executed_symbols)
        regular = await self._read("GET /fapi/v1/openOrders")
        algo = await self._read("GET /fapi/v1/openAlgoOrders")
        risk = await self._read("GET /fapi/v3/positionRisk")
        open_orders = {o.key: o for o in map(_algo_view, algo)}
        open_orders.update((o.key, o) for o in map(_order_view, regular))  # a triggered stop
        for fake in self.doctor:
            open_orders[fake.key] = fake
        self.doctor = []
        positions: dict[str, Decimal] = {}
        for p in risk:
            symbol = str(p["symbol"])
            positions[symbol] = positions.get(symbol, ZERO) + Decimal(p["positionAmt"])
        fees: dict[str, Decimal] = {}
        for fee, asset in self.trades.values():
            fees[asset] = fees.get(asset, ZERO) + fee
        executed: dict[str, Decimal] = {}
        for order in self.orders.values():
            executed[order.key] = executed.get(order.key, ZERO) + order.executed
        return VenueTruth(
            open_orders=tuple(open_orders.values()),
            positions=positions,
            fees=fees,
            fills=len(self.trades),
            executed=executed,
        )

    def all_orders(self) -> list[VenueOrder]:
        return [*self.orders.values(), *self.algo_orders.values()]


def _open(order: VenueOrder) -> bool:
    return order.status not in _FINAL


def _order_view(raw: dict[str, Any]) -> OrderView:
    kind = str(raw["type"])
    return OrderView(
        client_order_id=raw["clientOrderId"],
        symbol=raw["symbol"],
        side=raw["side"],
        order_type=kind,
        quantity=Decimal(raw["origQty"]),
        price=Decimal(raw["price"]) if kind == "LIMIT" else None,
        filled=Decimal(raw["executedQty"]),
        status=raw["status"],
    )


def _algo_view(raw: dict[str, Any]) -> OrderView:
    return OrderView(
        client_order_id=raw["clientAlgoId"],
        symbol=raw["symbol"],
        side=raw["side"],
        order_type=raw["orderType"],
        quantity=Decimal(raw["quantity"]),
        status=raw["algoStatus"],
        conditional=True,
    )
