"""Account settings and history: the Binance endpoints an operator or the startup sequence uses,
outside the OMS's hot path (leverage, margin type, position mode, commission, account, order and
trade history). All are safe to repeat and retried per the schedule."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TypeVar

from mmoms.core.clock import Clock
from mmoms.core.ids import Symbol
from mmoms.core.reports import FillReport, OrderStatusReport, ReportSource
from mmoms.venues.binance import codec, endpoints, schemas
from mmoms.venues.binance.codec import Params
from mmoms.venues.binance.endpoints import Endpoint
from mmoms.venues.binance.rest import RestClient
from mmoms.venues.binance.retry import RetryPolicy, run_with_retry
from mmoms.venues.errors import ProtocolError, Rejected
from mmoms.venues.venue_reports import CommissionRates

T = TypeVar("T")

NO_NEED_TO_CHANGE_MARGIN_TYPE = -4046
NO_NEED_TO_CHANGE_POSITION_SIDE = -4059


class BinanceAdmin:
    def __init__(self, rest: RestClient, retry: RetryPolicy, clock: Clock) -> None:
        self._rest = rest
        self._retry = retry
        self._clock = clock

    async def _call(self, endpoint: Endpoint, params: Params, reply_type: type[T]) -> T:
        async def attempt(_retries: int) -> T:
            return await self._rest.call(endpoint, params, reply_type)

        return await run_with_retry(endpoint.op, attempt, self._retry)

    async def account(self) -> schemas.Account:
        """``GET /fapi/v3/account``. Raises the venue error kinds."""
        return await self._call(endpoints.ACCOUNT, [], schemas.Account)

    async def account_fingerprint(self, api_key: str) -> str:
        """The account's stable, non-secret name (see :func:`account_fingerprint`), from
        ``GET /fapi/v3/balance`` (weight 5).

        Raises:
            MissingCredentialsError: no credentials are configured (nothing sent).
            ProtocolError: the balance entries name different aliases.
            Rejected, OutcomeUnknown: from the venue.
        """
        balances = await self._call(endpoints.BALANCE, [], list[schemas.Balance])
        return account_fingerprint(balances, api_key)

    async def commission_rate(self, symbol: Symbol) -> CommissionRates:
        """``GET /fapi/v1/commissionRate`` (weight 20). Raises the venue error kinds."""
        r = await self._call(
            endpoints.COMMISSION_RATE, [("symbol", symbol)], schemas.CommissionRate
        )
        return CommissionRates(
            symbol=Symbol(r.symbol),
            maker=r.maker_commission_rate,
            taker=r.taker_commission_rate,
            rpi=r.rpi_commission_rate,
        )

    async def set_leverage(self, symbol: Symbol, leverage: int) -> schemas.LeverageReply:
        """``POST /fapi/v1/leverage``.

        Raises:
            ValueError: leverage outside 1..125 (nothing sent).
            Rejected, OutcomeUnknown, ProtocolError: from the venue.
        """
        if not 1 <= leverage <= 125:
            raise ValueError(f"leverage must be in 1..125, got {leverage}")
        params = [("symbol", symbol), ("leverage", str(leverage))]
        return await self._call(endpoints.LEVERAGE, params, schemas.LeverageReply)

    async def set_margin_type(self, symbol: Symbol, margin_type: str) -> bool:
        """``POST /fapi/v1/marginType``; False if it was already set (-4046).

        Raises:
            ValueError: not ``ISOLATED`` / ``CROSSED`` (nothing sent).
            Rejected, OutcomeUnknown, ProtocolError: from the venue.
        """
        if margin_type not in ("ISOLATED", "CROSSED"):
            raise ValueError(f"margin type must be ISOLATED or CROSSED, got {margin_type!r}")
        try:
            await self._call(
                endpoints.MARGIN_TYPE,
                [("symbol", symbol), ("marginType", margin_type)],
                schemas.CodeMsg,
            )
        except Rejected as exc:
            if exc.code == NO_NEED_TO_CHANGE_MARGIN_TYPE:
                return False
            raise
        return True

    async def set_position_mode(self, hedge: bool) -> bool:
        """``POST /fapi/v1/positionSide/dual``; False if it was already set (-4059).

        Raises:
            Rejected (e.g. -4067 / -4068 with open orders or positions), OutcomeUnknown,
            ProtocolError.
        """
        params = [("dualSidePosition", "true" if hedge else "false")]
        try:
            await self._call(endpoints.POSITION_MODE_SET, params, schemas.CodeMsg)
        except Rejected as exc:
            if exc.code == NO_NEED_TO_CHANGE_POSITION_SIDE:
                return False
            raise
        return True

    async def position_mode_is_hedge(self) -> bool:
        """``GET /fapi/v1/positionSide/dual`` (weight 30). Raises the venue error kinds."""
        reply = await self._call(endpoints.POSITION_MODE_GET, [], schemas.PositionModeReply)
        return reply.dual_side_position

    async def all_orders(
        self,
        symbol: Symbol,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 500,
    ) -> list[OrderStatusReport]:
        """``GET /fapi/v1/allOrders`` (≤ 7-day window). Raises the venue error kinds."""
        params = _window([("symbol", symbol)], start_ms, end_ms, limit)
        replies = await self._call(endpoints.ALL_ORDERS, params, list[schemas.OrderReply])
        now = self._clock.time_ns()
        return [codec.order_report(r, now, source=ReportSource.RECONCILIATION) for r in replies]

    async def user_trades(
        self,
        symbol: Symbol,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
        from_id: int | None = None,
        limit: int = 500,
    ) -> list[FillReport]:
        """``GET /fapi/v1/userTrades``. The fills carry no client order id (match on the venue
        order id). ``from_id`` cannot be combined with times (Binance's rule).

        Raises:
            ValueError: ``from_id`` together with a time window (nothing sent).
            Rejected, OutcomeUnknown, ProtocolError: from the venue.
        """
        if from_id is not None and (start_ms is not None or end_ms is not None):
            raise ValueError("from_id cannot be combined with start_ms / end_ms")
        params = _window([("symbol", symbol)], start_ms, end_ms, limit)
        if from_id is not None:
            params.append(("fromId", str(from_id)))
        trades = await self._call(endpoints.USER_TRADES, params, list[schemas.UserTrade])
        now = self._clock.time_ns()
        return [codec.user_trade_fill(t, now) for t in trades]


def _window(params: Params, start_ms: int | None, end_ms: int | None, limit: int) -> Params:
    if start_ms is not None:
        params.append(("startTime", str(start_ms)))
    if end_ms is not None:
        params.append(("endTime", str(end_ms)))
    params.append(("limit", str(limit)))
    return params


def account_fingerprint(balances: Sequence[schemas.Balance], api_key: str) -> str:
    """``"alias:" + accountAlias``: Binance's per-account code, which every balance entry
    carries and which stays the same when keys are rotated, so a journal follows the account
    and not the key. A venue that sends none (an empty list, or a blank alias) gets
    ``"key:" + sha256(api_key)[:16]``: the API key is the public half of the credentials (sent
    in clear in every request's header), never the secret, and a 64-bit hash prefix names it
    without printing it; rotating that key then reads as another account, which is the safe
    mistake.

    Raises:
        ProtocolError: the entries name different aliases (one account has one alias: we do
            not understand this reply, and will not guess whose journal it is).
    """
    aliases = {b.account_alias for b in balances if b.account_alias}
    if len(aliases) > 1:
        raise ProtocolError(
            f"balance entries name {len(aliases)} different account aliases",
            endpoint=endpoints.BALANCE.name,
        )
    if aliases:
        return f"alias:{aliases.pop()}"
    return "key:" + hashlib.sha256(api_key.encode()).hexdigest()[:16]
