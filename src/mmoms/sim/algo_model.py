"""A conditional (algo) order and its wire shapes: REST replies and ``ALGO_UPDATE`` events.

Shapes follow binance-usdm.md §4 and §8.6 and the real payloads: ``actualOrderId`` is a string
(``""`` until triggered) and ``actualPrice`` the matching-engine order's average price; the real
exchange sends no ``actualQty`` nor ``actualType`` (the SDK's model lists them, captures do not):
a client learns the fill from the triggered order itself. ``activatePrice``/``callbackRate``
appear on trailing stops only, ``icebergQuantity`` is null, and list replies carry no
``tpTriggerPrice``/``slPrice``… (a live capture has none; only a portfolio-margin docs page does).
In ``ALGO_UPDATE`` ``ai`` is the matching engine's order id as a string (``""`` before the
trigger); ``ap``/``aq``/``act`` (its average price, executed quantity and type) appear once that
order exists, ``rm`` only with a reason, ``ia`` on every order (trailing: activated yet; others:
false), and a CANCELED event omits ``V``/``wt``/``pm``/``cp``/``pP`` — all as live captures show.

Statuses (binance-usdm.md §4): NEW → TRIGGERING → TRIGGERED → FINISHED, or CANCELED, EXPIRED,
REJECTED. Only NEW is "open" (cancellable); a TRIGGERED order lives in the matching engine.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .account import Account
    from .orders import SimOrder
    from .specs import SymbolSpec

__all__ = [
    "ALGO_TYPES",
    "CANCELED",
    "EXPIRED",
    "FINISHED",
    "MARKET_TYPES",
    "NEW",
    "REJECTED",
    "TRIGGERED",
    "TRIGGERING",
    "AlgoOrder",
]

NEW = "NEW"
TRIGGERING = "TRIGGERING"
TRIGGERED = "TRIGGERED"
FINISHED = "FINISHED"
CANCELED = "CANCELED"
EXPIRED = "EXPIRED"
REJECTED = "REJECTED"

ALGO_TYPES = frozenset(
    {"STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"}
)
MARKET_TYPES = frozenset({"STOP_MARKET", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"})


class AlgoOrder:
    """One conditional order. Mutable; owned by :class:`mmoms.sim.algo.AlgoService`."""

    __slots__ = (
        "account",
        "activate_ticks",
        "activated",
        "actual",
        "algo_id",
        "callback_rate",
        "client_algo_id",
        "close_position",
        "create_time",
        "extreme",
        "gtd",
        "is_buy",
        "lots",
        "order_type",
        "position_side",
        "price_match",
        "price_protect",
        "reason",
        "reduce_only",
        "spec",
        "status",
        "stp",
        "ticks",
        "tif",
        "trigger_ticks",
        "trigger_time",
        "update_time",
        "working_type",
    )

    def __init__(
        self,
        *,
        algo_id: int,
        client_algo_id: str,
        account: Account,
        spec: SymbolSpec,
        order_type: str,
        is_buy: bool,
        position_side: str,
        tif: str,
        lots: int,
        ticks: int,
        trigger_ticks: int,
        working_type: str,
        price_match: str,
        close_position: bool,
        price_protect: bool,
        reduce_only: bool,
        activate_ticks: int,
        callback_rate: str,
        stp: str,
        gtd: int,
        now_ms: int,
    ) -> None:
        self.algo_id = algo_id
        self.client_algo_id = client_algo_id
        self.account = account
        self.spec = spec
        self.order_type = order_type
        self.is_buy = is_buy
        self.position_side = position_side
        self.tif = tif
        self.lots = lots  # 0 with closePosition
        self.ticks = ticks  # limit price of STOP / TAKE_PROFIT (0: market, or priceMatch)
        self.trigger_ticks = trigger_ticks  # 0 for trailing stops
        self.working_type = working_type
        self.price_match = price_match
        self.close_position = close_position
        self.price_protect = price_protect
        self.reduce_only = reduce_only
        self.activate_ticks = activate_ticks  # trailing: 0 = active from the start
        self.callback_rate = callback_rate  # trailing: percent as sent, "" otherwise
        self.stp = stp
        self.gtd = gtd
        self.create_time = now_ms
        self.update_time = now_ms
        self.trigger_time = 0
        self.status = NEW
        self.reason = ""
        self.actual: SimOrder | None = None
        self.activated = activate_ticks == 0
        self.extreme: Decimal | None = None  # trailing: best price since activation

    @property
    def symbol(self) -> str:
        return self.spec.symbol

    @property
    def side(self) -> str:
        return "BUY" if self.is_buy else "SELL"

    @property
    def is_open(self) -> bool:
        return self.status == NEW

    @property
    def is_trailing(self) -> bool:
        return self.order_type == "TRAILING_STOP_MARKET"

    def actual_type(self) -> str:
        return "MARKET" if self.order_type in MARKET_TYPES else "LIMIT"

    # -- wire shapes ------------------------------------------------------------------------

    def rest_dict(self, query: bool = False) -> dict[str, Any]:
        """``POST`` reply; ``query`` adds the actual-order fields of GET / list endpoints."""
        spec = self.spec
        body: dict[str, Any] = {
            "algoId": self.algo_id,
            "clientAlgoId": self.client_algo_id,
            "algoType": "CONDITIONAL",
            "orderType": self.order_type,
            "symbol": spec.symbol,
            "side": self.side,
            "positionSide": self.position_side,
            "timeInForce": self.tif,
            "quantity": spec.fmt_qty(self.lots),
            "algoStatus": self.status,
            "triggerPrice": spec.fmt_price(self.trigger_ticks),
            "price": spec.fmt_price(self.ticks),
            "icebergQuantity": None,
            "selfTradePreventionMode": self.stp,
            "workingType": self.working_type,
            "priceMatch": self.price_match,
            "closePosition": self.close_position,
            "priceProtect": self.price_protect,
            "reduceOnly": self.reduce_only,
            "createTime": self.create_time,
            "updateTime": self.update_time,
            "triggerTime": self.trigger_time,
            "goodTillDate": self.gtd,
        }
        if self.is_trailing:  # real replies of other types carry neither
            body["activatePrice"] = (
                spec.fmt_price(self.activate_ticks) if self.activate_ticks else ""
            )
            body["callbackRate"] = self.callback_rate
        if query:
            actual = self.actual
            body.update(
                actualOrderId=str(actual.order_id) if actual is not None else "",
                actualPrice=spec.fmt_avg(actual.cum_tl, actual.executed) if actual else "0",
                tpOrderType="",
            )
        return body

    def update_event(self, now_ms: int, just_placed: bool = False) -> dict[str, Any]:
        """``ALGO_UPDATE`` for the current status (binance-usdm.md §8.6). ``just_placed``: the
        TRIGGERED event, which reports the engine order before any of its fills."""
        spec = self.spec
        actual = self.actual
        body: dict[str, Any] = {
            "caid": self.client_algo_id,
            "aid": self.algo_id,
            "at": "CONDITIONAL",
            "o": self.order_type,
            "s": spec.symbol,
            "S": self.side,
            "ps": self.position_side,
            "f": self.tif,
            "q": spec.fmt_qty(self.lots),
            "X": self.status,
            "ai": str(actual.order_id) if actual is not None else "",
        }
        if actual is not None:  # the matching-engine order's figures, once there is one
            executed = 0 if just_placed else actual.executed
            cum_tl = 0 if just_placed else actual.cum_tl
            body.update(
                ap=spec.fmt_avg(cum_tl, executed), aq=spec.fmt_qty(executed), act=self.actual_type()
            )
        body.update(tp=spec.fmt_price(self.trigger_ticks), p=spec.fmt_price(self.ticks))
        if self.status != CANCELED:  # a live capture of CANCELED carries none of these
            body.update(
                V=self.stp,
                wt=self.working_type,
                pm=self.price_match,
                cp=self.close_position,
                pP=self.price_protect,
            )
        ia = self.is_trailing and self.activated  # a live STOP_MARKET shows false
        body.update(R=self.reduce_only, tt=self.trigger_time, gtd=self.gtd, ia=ia)
        if self.reason:
            body["rm"] = self.reason
        return {"e": "ALGO_UPDATE", "T": now_ms, "E": now_ms, "o": body}
