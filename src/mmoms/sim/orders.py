"""A user order inside the simulator, and its REST shape.

:class:`SimOrder` keeps integers (ticks, lots, ``cum_tl`` = Σ ticks x lots) and renders strings
only when a reply or event is built. Statuses follow Binance (``binance-usdm.md`` §5); an order is
*open* while NEW or PARTIALLY_FILLED and never leaves a terminal status.

Two REST shapes, as real replies show (tests/sim/test_real_payloads.py): acknowledgements
(place, amend, cancel) carry ``cumQty`` but not ``avgPrice`` / ``cumQuote`` (gone since 2026, SDK
14.0.0); query replies carry ``avgPrice``, ``cumQuote`` and ``time`` but no ``cumQty``.
Conditional-order fields (``stopPrice``, ``workingType``…) have their neutral values because
conditional types are refused here (they belong to the algo service).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .orderbook import Resting
    from .specs import SymbolSpec

__all__ = [
    "CANCELED",
    "EXPIRED",
    "EXPIRED_IN_MATCH",
    "FILLED",
    "NEW",
    "OPEN_STATUSES",
    "PARTIALLY_FILLED",
    "SimOrder",
]

NEW = "NEW"
PARTIALLY_FILLED = "PARTIALLY_FILLED"
FILLED = "FILLED"
CANCELED = "CANCELED"
EXPIRED = "EXPIRED"
EXPIRED_IN_MATCH = "EXPIRED_IN_MATCH"  # expired by self-trade prevention
OPEN_STATUSES = frozenset({NEW, PARTIALLY_FILLED})


class SimOrder:
    """One user order. Mutable; owned by the matching engine (single writer)."""

    __slots__ = (
        "account",
        "client_id",
        "closing",
        "cum_tl",
        "entry",
        "executed",
        "gtd",
        "is_buy",
        "modify_count",
        "order_id",
        "order_type",
        "orig_lots",
        "position_side",
        "price_match",
        "reduce_only",
        "spec",
        "status",
        "stp",
        "ticks",
        "tif",
        "time",
        "update_time",
    )

    def __init__(
        self,
        *,
        account: Any,
        spec: SymbolSpec,
        order_id: int,
        client_id: str,
        is_buy: bool,
        order_type: str,
        tif: str,
        ticks: int,
        lots: int,
        reduce_only: bool,
        closing: bool,
        position_side: str,
        stp: str,
        price_match: str,
        gtd: int,
        now_ms: int,
    ) -> None:
        self.account = account
        self.spec = spec
        self.order_id = order_id
        self.client_id = client_id
        self.is_buy = is_buy
        self.order_type = order_type
        self.tif = tif
        self.ticks = ticks  # 0 for MARKET
        self.orig_lots = lots
        self.executed = 0
        self.cum_tl = 0
        self.status = NEW
        self.reduce_only = reduce_only
        self.closing = closing  # reduce-only, or a hedge-mode close: capped by the position
        self.position_side = position_side
        self.stp = stp
        self.price_match = price_match
        self.gtd = gtd
        self.time = now_ms
        self.update_time = now_ms
        self.modify_count = 0
        self.entry: Resting | None = None  # set while resting on the book

    @property
    def symbol(self) -> str:
        return self.spec.symbol

    @property
    def side(self) -> str:
        return "BUY" if self.is_buy else "SELL"

    @property
    def remaining(self) -> int:
        return self.orig_lots - self.executed

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def record_fill(self, lots: int, ticks: int) -> None:
        self.executed += lots
        self.cum_tl += lots * ticks
        self.status = FILLED if self.executed >= self.orig_lots else PARTIALLY_FILLED

    def rest_dict(self, with_time: bool = False) -> dict[str, Any]:
        """The order as REST endpoints return it: an acknowledgement, or (``with_time``) the
        query shape."""
        spec = self.spec
        executed = spec.fmt_qty(self.executed)
        body: dict[str, Any] = {
            "orderId": self.order_id,
            "symbol": spec.symbol,
            "status": self.status,
            "clientOrderId": self.client_id,
            "price": spec.fmt_price(self.ticks),
            "origQty": spec.fmt_qty(self.orig_lots),
            "executedQty": executed,
            "timeInForce": self.tif,
            "type": self.order_type,
            "reduceOnly": self.reduce_only,
            "closePosition": False,
            "side": self.side,
            "positionSide": self.position_side,
            "stopPrice": spec.fmt_price(0),
            "workingType": "CONTRACT_PRICE",
            "priceProtect": False,
            "origType": self.order_type,
            "priceMatch": self.price_match,
            "selfTradePreventionMode": self.stp,
            "goodTillDate": self.gtd,
            "updateTime": self.update_time,
        }
        if with_time:
            body["avgPrice"] = spec.fmt_avg(self.cum_tl, self.executed)
            body["cumQuote"] = spec.fmt_quote(self.cum_tl)
            body["time"] = self.time
        else:
            body["cumQty"] = executed
        return body
