"""Binance codec, requests side and REST replies: commands → parameters; replies → reports.

Pure functions. Decisions:

* Parameters are built as ``(name, value)`` string pairs in a fixed order and encoded once
  (:func:`encode_query`); values that are already URL-safe (the usual case: symbols, decimals,
  ids) are used as they are, so the hot path rarely calls ``quote``.
* Decimals go out with ``format(d, "f")`` — never exponent notation.
* Everything Binance would refuse for *form* (missing price on a LIMIT, a conditional type on
  the order endpoint, a bad client order id) is an :class:`InvalidOrderError` raised here,
  before anything is sent. Tick/step snapping is the OMS's job (commands arrive snapped).
* Enumerations cross the wire through explicit two-way tables; lossy rows say so.
* Conditional types never go to ``/fapi/v1/order`` (Binance answers -4120 since 2025-12-09):
  :func:`new_order_params` refuses them and :func:`algo_order_params` builds the Algo request.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import TypeVar
from urllib.parse import quote

import msgspec

from mmoms.core.commands import AmendOrder, CancelOrder, SubmitOrder
from mmoms.core.enums import (
    LiquiditySide,
    OrderType,
    PositionSide,
    Side,
    TimeInForce,
    VenueOrderStatus,
)
from mmoms.core.errors import InvalidOrderError
from mmoms.core.ids import ClientOrderId, Symbol, TradeId, VenueOrderId
from mmoms.core.reports import (
    BalanceReport,
    FillReport,
    OrderStatusReport,
    PositionReport,
    ReportSource,
)
from mmoms.venues.binance import schemas
from mmoms.venues.errors import ProtocolError
from mmoms.venues.venue_reports import AlgoOrderReport, AlgoStatus

Params = list[tuple[str, str]]
ParamSeq = Sequence[tuple[str, str]]  # what the clients accept (covariant: Symbol is a str)
V = TypeVar("V")

NANOS_PER_MS = 1_000_000
CLIENT_ID_RE = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")
_SAFE_RE = re.compile(r"^[A-Za-z0-9._~-]*$")
_INT_TEXT_RE = re.compile(r"-?[0-9]{1,19}")  # ASCII only: str.isdigit() also says yes to "²"
INT64_MAX = 2**63 - 1

# -- enum tables (wire ↔ core) ----------------------------------------------------------------

ORDER_STATUS_FROM_WIRE: dict[str, VenueOrderStatus] = {s.value: s for s in VenueOrderStatus}

ORDER_TYPE_FROM_WIRE: dict[str, OrderType] = {t.value: t for t in OrderType} | {
    "LIQUIDATION": OrderType.MARKET,  # lossy: the venue's forced close is a market order to us
}
ORDER_TYPE_TO_WIRE: dict[OrderType, str] = {t: t.value for t in OrderType}

TIF_FROM_WIRE: dict[str, TimeInForce] = {t.value: t for t in TimeInForce} | {
    "RPI": TimeInForce.GTX,  # lossy: retail-price-improvement orders are maker-only, like GTX
}
SIDE_FROM_WIRE: dict[str, Side] = {s.value: s for s in Side}
POSITION_SIDE_FROM_WIRE: dict[str, PositionSide] = {p.value: p for p in PositionSide}
ALGO_STATUS_FROM_WIRE: dict[str, AlgoStatus] = {s.value: s for s in AlgoStatus}


def lookup(table: Mapping[str, V], value: str, what: str) -> V:
    """Map one wire value through ``table``.

    Raises:
        ProtocolError: the value is not in the table (Binance sent something new).
    """
    try:
        return table[value]
    except KeyError:
        # At most 32 characters of the value: a hostile one may be megabytes long.
        raise ProtocolError(f"unexpected {what} {value[:32]!r} from Binance") from None


def int_text(text: str) -> int | None:
    """An integer the venue sent as a string (``"-1021"``, ``"12345"``), if it is one that fits
    in int64; otherwise None. Never raises (``int()`` would, on ``"²"`` or 5000 digits)."""
    if _INT_TEXT_RE.fullmatch(text) is None:
        return None
    value = int(text)
    return value if -INT64_MAX <= value <= INT64_MAX else None


def check_finite(what: str, **values: Decimal | None) -> None:
    """Raises:
    ProtocolError: one of ``values`` is NaN or infinite (msgspec decodes ``"NaN"`` and
        ``"Infinity"`` into Decimals that raise on comparison); names the field, not the value.
    """
    for name, value in values.items():
        if value is not None and not value.is_finite():
            raise ProtocolError(f"{what}: {name} is not a finite number")


# -- encoding ----------------------------------------------------------------------------------


def fmt_decimal(value: Decimal) -> str:
    """Plain decimal notation, never exponent (``1E+2`` → ``100``)."""
    return format(value, "f")


def encode_value(value: str) -> str:
    return value if _SAFE_RE.match(value) else quote(value, safe="")


def encode_query(params: Iterable[tuple[str, str]]) -> str:
    """``a=1&b=2`` with percent-encoding only where a value needs it."""
    return "&".join(f"{k}={encode_value(v)}" for k, v in params)


def check_client_order_id(client_order_id: str) -> None:
    """Raises:
    InvalidOrderError: not ``^[.A-Z:/a-z0-9_-]{1,36}$`` (Binance's rule).
    """
    if not CLIENT_ID_RE.match(client_order_id):
        raise InvalidOrderError(f"client order id {client_order_id!r} is not valid for Binance")


# -- commands → parameters ------------------------------------------------------------------


def new_order_params(cmd: SubmitOrder, *, response_type: str = "ACK") -> Params:
    """Parameters of ``POST /fapi/v1/order`` (LIMIT / MARKET only).

    Raises:
        InvalidOrderError: a conditional type, a LIMIT without price, a MARKET with a price,
            a non-positive quantity, GTD without expiry, reduce-only in hedge mode, bad id.
    """
    if cmd.order_type.is_conditional:
        raise InvalidOrderError(f"{cmd.order_type} must be placed as an algo order (-4120)")
    check_client_order_id(cmd.client_order_id)
    if not cmd.quantity > 0:
        raise InvalidOrderError(f"quantity must be positive, got {cmd.quantity}")
    params: Params = [
        ("symbol", cmd.symbol),
        ("side", cmd.side.value),
        ("type", cmd.order_type.value),
        ("quantity", fmt_decimal(cmd.quantity)),
    ]
    if cmd.order_type is OrderType.LIMIT:
        if cmd.price is None or not cmd.price > 0:
            raise InvalidOrderError("a LIMIT order needs a positive price")
        tif = cmd.time_in_force or TimeInForce.GTC
        params.append(("price", fmt_decimal(cmd.price)))
        params.append(("timeInForce", tif.value))
        if tif is TimeInForce.GTD:
            if cmd.good_till_ms is None:
                raise InvalidOrderError("a GTD order needs good_till_ms")
            params.append(("goodTillDate", str(cmd.good_till_ms)))
    elif cmd.price is not None or cmd.time_in_force is not None:
        raise InvalidOrderError("a MARKET order takes neither price nor time in force")
    _add_position(params, cmd.position_side, cmd.reduce_only)
    params.append(("newClientOrderId", cmd.client_order_id))
    params.append(("newOrderRespType", response_type))
    return params


def algo_order_params(
    cmd: SubmitOrder,
    *,
    callback_rate: Decimal | None = None,
    price_protect: bool = False,
) -> Params:
    """Parameters of ``POST /fapi/v1/algoOrder`` (``algoType=CONDITIONAL``).

    ``trigger_price`` is the trigger (for a trailing stop: the activation price, optional);
    ``callback_rate`` (percent) is required for ``TRAILING_STOP_MARKET``.

    Raises:
        InvalidOrderError: not a conditional type, missing trigger / price / callback rate,
            quantity together with close_position, bad id.
    """
    kind = cmd.order_type
    if not kind.is_conditional:
        raise InvalidOrderError(f"{kind} is not a conditional order type")
    check_client_order_id(cmd.client_order_id)
    params: Params = [
        ("algoType", "CONDITIONAL"),
        ("symbol", cmd.symbol),
        ("side", cmd.side.value),
        ("type", kind.value),
    ]
    if cmd.close_position:
        if kind not in (OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_MARKET):
            raise InvalidOrderError("close_position is only for STOP_MARKET / TAKE_PROFIT_MARKET")
        params.append(("closePosition", "true"))
    else:
        if not cmd.quantity > 0:
            raise InvalidOrderError(f"quantity must be positive, got {cmd.quantity}")
        params.append(("quantity", fmt_decimal(cmd.quantity)))
    if kind in (OrderType.STOP, OrderType.TAKE_PROFIT):
        if cmd.price is None or not cmd.price > 0:
            raise InvalidOrderError(f"a {kind} order needs a positive price")
        params.append(("price", fmt_decimal(cmd.price)))
        params.append(("timeInForce", (cmd.time_in_force or TimeInForce.GTC).value))
    if kind is OrderType.TRAILING_STOP_MARKET:
        if callback_rate is None or not callback_rate > 0:
            raise InvalidOrderError("a TRAILING_STOP_MARKET order needs a callback rate")
        params.append(("callbackRate", fmt_decimal(callback_rate)))
        if cmd.trigger_price is not None:
            params.append(("activatePrice", fmt_decimal(cmd.trigger_price)))
    else:
        if cmd.trigger_price is None or not cmd.trigger_price > 0:
            raise InvalidOrderError(f"a {kind} order needs a positive trigger price")
        params.append(("triggerPrice", fmt_decimal(cmd.trigger_price)))
    if cmd.working_type is not None:
        params.append(("workingType", cmd.working_type.value))
    if price_protect:
        params.append(("priceProtect", "true"))
    _add_position(params, cmd.position_side, cmd.reduce_only and not cmd.close_position)
    params.append(("clientAlgoId", cmd.client_order_id))
    return params


def _add_position(params: Params, position_side: PositionSide, reduce_only: bool) -> None:
    if position_side is not PositionSide.BOTH:
        if reduce_only:  # Binance: reduceOnly cannot be sent in hedge mode
            raise InvalidOrderError(
                "reduce_only cannot be combined with a LONG/SHORT position side"
            )
        params.append(("positionSide", position_side.value))
    elif reduce_only:
        params.append(("reduceOnly", "true"))


def order_ref_params(
    symbol: Symbol, client_order_id: ClientOrderId, venue_order_id: VenueOrderId | None
) -> Params:
    """``symbol`` + ``orderId`` (preferred: the venue's own key) or ``origClientOrderId``."""
    if venue_order_id is not None:
        return [("symbol", symbol), ("orderId", str(venue_order_id))]
    check_client_order_id(client_order_id)
    return [("symbol", symbol), ("origClientOrderId", client_order_id)]


def cancel_params(cmd: CancelOrder) -> Params:
    return order_ref_params(cmd.symbol, cmd.client_order_id, cmd.venue_order_id)


def modify_params(cmd: AmendOrder) -> Params:
    """Parameters of ``PUT /fapi/v1/order`` (LIMIT orders only; re-queues the order).

    Raises:
        InvalidOrderError: non-positive price or quantity, bad client order id.
    """
    if not cmd.quantity > 0 or not cmd.price > 0:
        raise InvalidOrderError("an amend needs a positive price and quantity")
    params = order_ref_params(cmd.symbol, cmd.client_order_id, cmd.venue_order_id)
    params += [
        ("side", cmd.side.value),
        ("quantity", fmt_decimal(cmd.quantity)),
        ("price", fmt_decimal(cmd.price)),
    ]
    return params


def batch_json(items: Sequence[Params]) -> str:
    """The ``batchOrders`` value: a JSON list of objects of string values."""
    return msgspec.json.encode([dict(p) for p in items]).decode()


def batch_cancel_params(symbol: Symbol, cmds: Sequence[CancelOrder]) -> Params:
    """``DELETE /fapi/v1/batchOrders``: by order id when every command has one, else by client id.

    Raises:
        InvalidOrderError: a command for another symbol, or a bad client order id.
    """
    if any(c.symbol != symbol for c in cmds):
        raise InvalidOrderError("a batch cancel must be for one symbol")
    ids = [c.venue_order_id for c in cmds]
    if all(i is not None for i in ids):
        return [("symbol", symbol), ("orderIdList", msgspec.json.encode(ids).decode())]
    for c in cmds:
        check_client_order_id(c.client_order_id)
    coids = [c.client_order_id for c in cmds]
    return [("symbol", symbol), ("origClientOrderIdList", msgspec.json.encode(coids).decode())]


# -- REST replies → reports -------------------------------------------------------------------


def order_report(
    reply: schemas.OrderReply,
    ts_recv_ns: int,
    *,
    source: ReportSource = ReportSource.REST,
    amended: bool = False,
) -> OrderStatusReport:
    """Raises:
    ProtocolError: an enum value we do not know, a number that is not finite.
    """
    check_finite(
        "order",
        origQty=reply.orig_qty,
        price=reply.price,
        executedQty=reply.executed_qty,
        avgPrice=reply.avg_price,
    )
    ts_ms = reply.update_time or reply.time or 0
    return OrderStatusReport(
        ts_event_ns=ts_ms * NANOS_PER_MS,
        ts_recv_ns=ts_recv_ns,
        source=source,
        symbol=Symbol(reply.symbol),
        client_order_id=ClientOrderId(reply.client_order_id),
        venue_order_id=VenueOrderId(reply.order_id),
        side=lookup(SIDE_FROM_WIRE, reply.side, "side"),
        order_type=lookup(ORDER_TYPE_FROM_WIRE, reply.type, "order type"),
        status=lookup(ORDER_STATUS_FROM_WIRE, reply.status, "order status"),
        quantity=reply.orig_qty,
        price=reply.price,
        filled_qty=reply.executed_qty,
        avg_price=reply.avg_price or Decimal(0),
        time_in_force=TIF_FROM_WIRE.get(reply.time_in_force) if reply.time_in_force else None,
        reduce_only=reply.reduce_only,
        position_side=lookup(POSITION_SIDE_FROM_WIRE, reply.position_side, "position side"),
        amended=amended,
    )


def user_trade_fill(trade: schemas.UserTrade, ts_recv_ns: int) -> FillReport:
    """A ``userTrades`` item as a fill. It carries no client order id (the empty string here):
    match it on ``venue_order_id``. Its cumulative quantity is unknown (None).

    Raises:
        ProtocolError: an enum value we do not know, a number that is not finite.
    """
    check_finite(
        "userTrade",
        price=trade.price,
        qty=trade.qty,
        commission=trade.commission,
        realizedPnl=trade.realized_pnl,
    )
    return FillReport(
        ts_event_ns=trade.time * NANOS_PER_MS,
        ts_recv_ns=ts_recv_ns,
        source=ReportSource.RECONCILIATION,
        symbol=Symbol(trade.symbol),
        client_order_id=ClientOrderId(""),
        venue_order_id=VenueOrderId(trade.order_id),
        trade_id=TradeId(trade.id),
        side=lookup(SIDE_FROM_WIRE, trade.side, "side"),
        last_qty=trade.qty,
        last_price=trade.price,
        cum_filled_qty=None,
        commission=trade.commission,
        commission_asset=trade.commission_asset,
        liquidity=LiquiditySide.MAKER if trade.maker else LiquiditySide.TAKER,
        realized_pnl=trade.realized_pnl,
        position_side=lookup(POSITION_SIDE_FROM_WIRE, trade.position_side, "position side"),
    )


def position_report(p: schemas.PositionRisk, ts_recv_ns: int) -> PositionReport:
    """Raises:
    ProtocolError: an unknown position side, a number that is not finite.
    """
    check_finite(
        "position",
        positionAmt=p.position_amt,
        entryPrice=p.entry_price,
        unRealizedProfit=p.un_realized_profit,
    )
    return PositionReport(
        ts_event_ns=p.update_time * NANOS_PER_MS,
        ts_recv_ns=ts_recv_ns,
        source=ReportSource.RECONCILIATION,
        symbol=Symbol(p.symbol),
        position_side=lookup(POSITION_SIDE_FROM_WIRE, p.position_side, "position side"),
        quantity=p.position_amt,
        entry_price=p.entry_price,
        unrealized_pnl=p.un_realized_profit,
    )


def balance_report(b: schemas.Balance, ts_recv_ns: int) -> BalanceReport:
    """Raises:
    ProtocolError: a number that is not finite.
    """
    check_finite("balance", balance=b.balance, availableBalance=b.available_balance)
    return BalanceReport(
        ts_event_ns=b.update_time * NANOS_PER_MS,
        ts_recv_ns=ts_recv_ns,
        source=ReportSource.RECONCILIATION,
        asset=b.asset,
        wallet_balance=b.balance,
        available_balance=b.available_balance,
    )


def loose_decimal(text: str | None) -> Decimal | None:
    """Algo fields may be ``""``, ``"None"`` or null: those (and garbage) become None."""
    if not text or text == "None":
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def algo_report(
    reply: schemas.AlgoOrderReply,
    ts_recv_ns: int,
    *,
    source: ReportSource = ReportSource.REST,
    ts_event_ns: int | None = None,
    reason: str = "",
) -> AlgoOrderReport:
    """The one place a conditional order becomes an :class:`AlgoOrderReport`: a REST reply, or
    an ``ALGO_UPDATE`` in a reply's shape (:func:`.streamcodec.algo_update`, with the event's
    time and the rejection ``reason``). An ``actualOrderId`` that is empty or not a positive
    int64 means no order was placed yet.

    Raises:
        ProtocolError: an enum value we do not know.
    """
    actual = reply.actual_order_id
    actual_id = actual if isinstance(actual, int) else int_text(actual) if actual else None
    if actual_id is not None and not 0 < actual_id <= INT64_MAX:
        actual_id = None
    if ts_event_ns is None:
        ts_event_ns = (reply.update_time or reply.create_time) * NANOS_PER_MS
    return AlgoOrderReport(
        ts_event_ns=ts_event_ns,
        ts_recv_ns=ts_recv_ns,
        source=source,
        symbol=Symbol(reply.symbol),
        client_order_id=ClientOrderId(reply.client_algo_id),
        algo_id=reply.algo_id,
        status=lookup(ALGO_STATUS_FROM_WIRE, reply.algo_status, "algo status"),
        order_type=lookup(ORDER_TYPE_FROM_WIRE, reply.order_type, "order type"),
        side=lookup(SIDE_FROM_WIRE, reply.side, "side"),
        quantity=loose_decimal(reply.quantity),
        price=loose_decimal(reply.price),
        trigger_price=loose_decimal(reply.trigger_price),
        position_side=lookup(POSITION_SIDE_FROM_WIRE, reply.position_side, "position side"),
        reduce_only=reply.reduce_only,
        close_position=reply.close_position,
        actual_order_id=VenueOrderId(actual_id) if actual_id is not None else None,
        actual_qty=loose_decimal(reply.actual_qty),
        actual_avg_price=loose_decimal(reply.actual_price),
        reason=reason,
    )
