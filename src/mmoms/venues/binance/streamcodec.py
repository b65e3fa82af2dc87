"""User-data stream codec: one WebSocket message → venue reports (pure).

Decisions:

* One msgspec decode per message, against the tagged union of known events
  (:data:`schemas.UserDataEvent`): type dispatch, validation and Decimal parsing happen in C.
  Only when that fails is the message looked at again, to tell an *unknown* event type
  (ignored — Binance adds events) from a *malformed* known one or non-JSON garbage. Both are
  counted per kind and logged once per kind (:mod:`.streamstats`). Nothing here raises on bad
  input: not on numbers that are NaN or infinite, ids or times out of range, strings that are
  not integers, or JSON nested deeper than the decoder's recursion limit.
* The combined-stream wrapper ``{"stream": <name>, "data": <event>}`` — what a connection to
  ``/stream?streams=<listenKey>`` or ``/private/stream`` sends — is unwrapped and its event
  decoded like a bare one (it used to be dropped as "a message without an event type"). The
  stream name is never logged: for user data it is the listenKey.
* ``ORDER_TRADE_UPDATE`` with ``x=TRADE`` (or ``CALCULATED``, a liquidation fill) yields a
  :class:`FillReport` *then* the :class:`OrderStatusReport`; ``x=AMENDMENT`` yields a status
  report with ``amended=True``. Report times are the order's transaction time ``o.T``
  (strictly ordered per connection, like ``E``, and comparable with REST ``updateTime``).
* ``TRADE_LITE`` becomes a :class:`LiteFillReport`, never a :class:`FillReport` (no commission;
  the complete fill with the same trade id follows).
* ``listenKeyExpired`` is not a report: it becomes :class:`ListenKeyExpiredNotice` for the
  stream shell, which recreates the key and reconnects. An error frame (``{"code", "msg"}``,
  bare or under ``"error"``) becomes :class:`StreamErrorNotice` (-1125: renew the key).
* Log lines carry the event type, the decoder's message and the size — never the payload
  (a ``listenKeyExpired`` payload holds the key).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

import msgspec

from mmoms.core.enums import LiquiditySide
from mmoms.core.ids import ClientOrderId, Symbol, TradeId, VenueOrderId
from mmoms.core.reports import (
    BalanceReport,
    FillReport,
    OrderStatusReport,
    PositionReport,
    ReportSource,
)
from mmoms.venues.binance import schemas
from mmoms.venues.binance.codec import (
    NANOS_PER_MS,
    ORDER_STATUS_FROM_WIRE,
    ORDER_TYPE_FROM_WIRE,
    POSITION_SIDE_FROM_WIRE,
    SIDE_FROM_WIRE,
    TIF_FROM_WIRE,
    algo_report,
    check_finite,
    int_text,
    lookup,
)
from mmoms.venues.binance.streamstats import DecoderStats
from mmoms.venues.errors import ProtocolError
from mmoms.venues.gateway import StreamReport
from mmoms.venues.venue_reports import (
    AccountConfigReport,
    AlgoOrderReport,
    LiteFillReport,
    MarginCallPosition,
    MarginCallReport,
)

log = logging.getLogger("mmoms.venues.binance.userstream")
_ERROR = logging.ERROR

_FILL_EXECUTIONS = frozenset({"TRADE", "CALCULATED"})
# What decoding garbage may raise besides msgspec's errors: RecursionError for JSON nested too
# deep, UnicodeError for a str with lone surrogates (msgspec encodes str input to UTF-8 first).
_UNREADABLE = (msgspec.DecodeError, RecursionError, UnicodeError)


@dataclass(frozen=True, slots=True)
class ListenKeyExpiredNotice:
    """The stream says the listenKey lapsed (``key`` may be empty in odd payloads)."""

    key: str
    ts_event_ns: int


@dataclass(frozen=True, slots=True)
class StreamErrorNotice:
    """The stream sent an error instead of events (e.g. -1125: it does not know our key)."""

    code: int | None
    msg: str


Decoded = StreamReport | ListenKeyExpiredNotice | StreamErrorNotice


class UserStreamDecoder:
    """Stateless apart from counters; one per stream."""

    def __init__(self) -> None:
        self._decoder = msgspec.json.Decoder(schemas.UserDataEvent)
        self._header = msgspec.json.Decoder(schemas.EventHeader)
        self.stats = DecoderStats()

    def decode(self, data: bytes | str, ts_recv_ns: int) -> list[Decoded]:
        """Every report in one message; an empty list for ignored or bad messages."""
        self.stats.messages += 1
        return self._decode(data, ts_recv_ns, wrapped=False)

    def _decode(self, data: bytes | str, ts_recv_ns: int, *, wrapped: bool) -> list[Decoded]:
        try:
            event = self._decoder.decode(data)
        except _UNREADABLE as exc:  # ValidationError is a DecodeError too
            return self._undecodable(data, exc, ts_recv_ns, wrapped)
        try:
            out = self._convert(event, ts_recv_ns)
        except ProtocolError as exc:
            kind = str(type(event).__struct_config__.tag)  # the wire's event type
            msg = "user stream: cannot use %s event: %s"
            self.stats.complain(log, _ERROR, f"unusable {kind}", msg, kind, exc)
            return []
        self.stats.reports += len(out)
        return out

    # -- failures ------------------------------------------------------------------------------

    def _undecodable(
        self, data: bytes | str, exc: Exception, ts_recv_ns: int, wrapped: bool
    ) -> list[Decoded]:
        stats, size = self.stats, len(data)
        try:
            if isinstance(exc, RecursionError):
                raise exc
            header = self._header.decode(data)
        except RecursionError:
            msg = "user stream: message nested too deeply (%d bytes), ignored"
            stats.complain(log, _ERROR, "too-deep", msg, size)
            return []
        except _UNREADABLE as why:
            msg = "user stream: message is not a JSON object (%d bytes): %s"
            stats.complain(log, _ERROR, "not-json", msg, size, why)
            return []
        kind = header.e
        if kind is None and header.data and not wrapped:
            stats.wrapped += 1  # {"stream": ..., "data": <event>}: the event inside
            return self._decode(bytes(header.data), ts_recv_ns, wrapped=True)
        if kind is None:
            body = header.error or schemas.ErrorBody(code=header.code, msg=header.msg)
            if body.code is not None:
                code = body.code if isinstance(body.code, int) else int_text(body.code)
                log.warning("user stream: error frame %s: %s", code, body.msg[:200])
                return [StreamErrorNotice(code, body.msg)]
            if wrapped or header.stream is not None:
                msg = "user stream: a combined-stream message without an event (%d bytes)"
                stats.complain(log, _ERROR, "bad-wrapper", msg, size)
                return []
            # Control replies ({"result": null, "id": ...}) and other non-events.
            log.debug("user stream: ignoring a message without an event type")
            return []
        if kind not in schemas.KNOWN_EVENT_TYPES:
            msg = "user stream: ignoring unknown event type %r"
            stats.complain(log, logging.WARNING, f"unknown {kind[:64]}", msg, kind[:64])
            return []
        msg = "user stream: malformed %s event (%d bytes): %s"
        stats.complain(log, _ERROR, f"malformed {kind}", msg, kind, size, exc)
        return []

    # -- conversion ----------------------------------------------------------------------------

    def _convert(self, event: schemas.UserDataEvent, ts_recv_ns: int) -> list[Decoded]:
        if isinstance(event, schemas.OrderTradeUpdate):
            return order_trade_update(event, ts_recv_ns)
        if isinstance(event, schemas.TradeLite):
            return [trade_lite(event, ts_recv_ns)]
        if isinstance(event, schemas.AccountUpdate):
            return account_update(event, ts_recv_ns)
        if isinstance(event, schemas.AlgoUpdate):
            return [algo_update(event, ts_recv_ns)]
        if isinstance(event, schemas.AccountConfigUpdate):
            return [account_config_update(event, ts_recv_ns)]
        if isinstance(event, schemas.MarginCall):
            return [margin_call(event, ts_recv_ns)]
        event_ms = event.event_time if isinstance(event.event_time, int) else _int(event.event_time)
        return [ListenKeyExpiredNotice(event.listen_key, event_ms * NANOS_PER_MS)]


def _int(text: str) -> int:
    value = int_text(text)
    return value if value is not None and value >= 0 else 0


def order_trade_update(event: schemas.OrderTradeUpdate, ts_recv_ns: int) -> list[Decoded]:
    """Raises:
    ProtocolError: an enum value we do not know, a number that is not finite.
    """
    o = event.order
    check_finite(
        "ORDER_TRADE_UPDATE",
        q=o.quantity,
        p=o.price,
        ap=o.avg_price,
        l=o.last_qty,
        z=o.cum_qty,
        L=o.last_price,
        n=o.commission,
        rp=o.realized_profit,
    )
    ts = o.trade_time * NANOS_PER_MS
    symbol = Symbol(o.symbol)
    client_order_id = ClientOrderId(o.client_order_id)
    venue_order_id = VenueOrderId(o.order_id)
    side = lookup(SIDE_FROM_WIRE, o.side, "side")
    position_side = lookup(POSITION_SIDE_FROM_WIRE, o.position_side, "position side")
    status = OrderStatusReport(
        ts_event_ns=ts,
        ts_recv_ns=ts_recv_ns,
        symbol=symbol,
        client_order_id=client_order_id,
        venue_order_id=venue_order_id,
        side=side,
        order_type=lookup(ORDER_TYPE_FROM_WIRE, o.order_type, "order type"),
        status=lookup(ORDER_STATUS_FROM_WIRE, o.status, "order status"),
        quantity=o.quantity,
        price=o.price,
        filled_qty=o.cum_qty,
        avg_price=o.avg_price,
        time_in_force=TIF_FROM_WIRE.get(o.time_in_force),
        reduce_only=o.reduce_only,
        position_side=position_side,
        amended=o.execution_type == "AMENDMENT",
    )
    if o.execution_type not in _FILL_EXECUTIONS or not o.last_qty > 0:
        return [status]
    fill = FillReport(
        ts_event_ns=ts,
        ts_recv_ns=ts_recv_ns,
        symbol=symbol,
        client_order_id=client_order_id,
        venue_order_id=venue_order_id,
        trade_id=TradeId(o.trade_id),
        side=side,
        last_qty=o.last_qty,
        last_price=o.last_price,
        cum_filled_qty=o.cum_qty,
        commission=o.commission if o.commission is not None else Decimal(0),
        commission_asset=o.commission_asset or "",
        liquidity=LiquiditySide.MAKER if o.is_maker else LiquiditySide.TAKER,
        realized_pnl=o.realized_profit,
        position_side=position_side,
    )
    return [fill, status]


def trade_lite(event: schemas.TradeLite, ts_recv_ns: int) -> LiteFillReport:
    """Raises:
    ProtocolError: an unknown side, a number that is not finite.
    """
    check_finite("TRADE_LITE", L=event.last_price, l=event.last_qty)
    ts = event.transaction_time * NANOS_PER_MS
    fill = FillReport(
        ts_event_ns=ts,
        ts_recv_ns=ts_recv_ns,
        symbol=Symbol(event.symbol),
        client_order_id=ClientOrderId(event.client_order_id),
        venue_order_id=VenueOrderId(event.order_id),
        trade_id=TradeId(event.trade_id),
        side=lookup(SIDE_FROM_WIRE, event.side, "side"),
        last_qty=event.last_qty,
        last_price=event.last_price,
        cum_filled_qty=None,
        liquidity=LiquiditySide.MAKER if event.is_maker else LiquiditySide.TAKER,
    )
    return LiteFillReport(ts_event_ns=ts, ts_recv_ns=ts_recv_ns, fill=fill)


def account_update(event: schemas.AccountUpdate, ts_recv_ns: int) -> list[Decoded]:
    """Raises:
    ProtocolError: an unknown position side, a number that is not finite.
    """
    for b in event.data.balances:
        check_finite("ACCOUNT_UPDATE balance", wb=b.wallet_balance)
    for p in event.data.positions:
        check_finite(
            "ACCOUNT_UPDATE position", pa=p.position_amt, ep=p.entry_price, up=p.unrealized_pnl
        )
    ts = event.transaction_time * NANOS_PER_MS
    out: list[Decoded] = [
        BalanceReport(
            ts_event_ns=ts,
            ts_recv_ns=ts_recv_ns,
            asset=b.asset,
            wallet_balance=b.wallet_balance,
        )
        for b in event.data.balances
    ]
    out.extend(
        PositionReport(
            ts_event_ns=ts,
            ts_recv_ns=ts_recv_ns,
            symbol=Symbol(p.symbol),
            position_side=lookup(POSITION_SIDE_FROM_WIRE, p.position_side, "position side"),
            quantity=p.position_amt,
            entry_price=p.entry_price,
            unrealized_pnl=p.unrealized_pnl,
        )
        for p in event.data.positions
    )
    return out


def algo_update(event: schemas.AlgoUpdate, ts_recv_ns: int) -> AlgoOrderReport:
    """Raises:
    ProtocolError: an enum value we do not know.
    """
    o = event.order
    # The update's fields in a REST reply's shape, so one function builds every report.
    as_reply = schemas.AlgoOrderReply(
        algo_id=o.algo_id,
        client_algo_id=o.client_algo_id,
        order_type=o.order_type,
        symbol=o.symbol,
        side=o.side,
        position_side=o.position_side,
        quantity=o.quantity,
        algo_status=o.status,
        trigger_price=o.trigger_price,
        price=o.price,
        close_position=o.close_position,
        reduce_only=o.reduce_only,
        actual_order_id=o.actual_order_id,
        actual_price=o.actual_avg_price,
        actual_qty=o.actual_qty,
    )
    return algo_report(
        as_reply,
        ts_recv_ns,
        source=ReportSource.STREAM,
        ts_event_ns=max(event.event_time, event.transaction_time) * NANOS_PER_MS,
        reason=o.reject_reason,
    )


def account_config_update(event: schemas.AccountConfigUpdate, ts_recv_ns: int) -> Decoded:
    lev = event.leverage
    return AccountConfigReport(
        ts_event_ns=event.transaction_time * NANOS_PER_MS,
        ts_recv_ns=ts_recv_ns,
        symbol=Symbol(lev.symbol) if lev else None,
        leverage=lev.leverage if lev else None,
        multi_assets=event.multi_assets.multi_assets if event.multi_assets else None,
    )


def margin_call(event: schemas.MarginCall, ts_recv_ns: int) -> Decoded:
    """Raises:
    ProtocolError: an unknown position side, a number that is not finite.
    """
    check_finite("MARGIN_CALL", cw=event.cross_wallet_balance)
    for p in event.positions:
        check_finite(
            "MARGIN_CALL position",
            pa=p.position_amt,
            mp=p.mark_price,
            mm=p.maint_margin,
            up=p.unrealized_pnl,
        )
    return MarginCallReport(
        ts_event_ns=event.event_time * NANOS_PER_MS,
        ts_recv_ns=ts_recv_ns,
        cross_wallet_balance=event.cross_wallet_balance,
        positions=tuple(
            MarginCallPosition(
                symbol=Symbol(p.symbol),
                position_side=lookup(POSITION_SIDE_FROM_WIRE, p.position_side, "position side"),
                quantity=p.position_amt,
                mark_price=p.mark_price,
                maint_margin=p.maint_margin,
                unrealized_pnl=p.unrealized_pnl,
            )
            for p in event.positions
        ),
    )
