"""The matching engine: places, amends, cancels and fills user orders against one book per symbol.

Single writer: every change to books, orders and accounts goes through this class, and every
user-data event is emitted from here, in the order the changes happen: ``ORDER_TRADE_UPDATE`` NEW,
then per fill ``TRADE_LITE`` + ``ORDER_TRADE_UPDATE`` TRADE (maker side first, then taker), then
one ``ACCOUNT_UPDATE`` per touched account, then any reduce-only knock-outs.

State checks happen here in this order: position side (-4061), duplicate client id (-4116),
open-order limit (-2025), priceMatch depth (-5041), PERCENT_PRICE band vs mark (-4016/-4024),
reduce-only direction (-2022/-4118), MIN_NOTIONAL (-4164, closing orders exempt), market-order
band (-4131), post-only cross (-5022), FOK fillability (-5021), margin (-2019). A refused order
leaves no trace: no id, no event, no history.

Reduce-only (and hedge-mode closing) orders, as chosen here: a taker closes at most the current
position; a resting one shows at most what the position still allows after older closing orders
(time priority); after every position change, closing orders that no longer fit are shrunk in
place, and those with nothing left are expired with ``er=4`` (Binance: "knocked out by a
higher-priority RO order or reversed positions would be opened").

STP applies only to GTC/IOC/GTD takers, against makers of the same account (synthetic liquidity
belongs to nobody). Order ids and trade ids are per symbol, increasing, and start large.
"""

from __future__ import annotations

import heapq
import random
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from . import errors
from . import events as ev
from .account import Account
from .market_feed import trade_payloads
from .orderbook import STP_NONE, MatchResult, OrderBook, Resting
from .orders import CANCELED, EXPIRED, EXPIRED_IN_MATCH, FILLED, SimOrder
from .specs import SymbolSpec, fmt8
from .symbol_state import SymbolState
from .validation import PRICE_MATCH_DEPTH, ModifyRequest, OrderRequest

__all__ = ["MatchingEngine"]

MAX_MODIFICATIONS = 10_000
_ID_CHARS = string.ascii_letters + string.digits
_STP_TIFS = frozenset({"GTC", "IOC", "GTD"})

UserSink = Callable[[str, dict[str, Any]], None]
FinalHook = Callable[[SimOrder, int], None]


@dataclass(slots=True)
class _Touched:
    """Accounts and positions changed by one operation (for ACCOUNT_UPDATE and knock-outs)."""

    positions: dict[Account, dict[tuple[str, str], None]] = field(default_factory=dict)

    def add(self, account: Account, symbol: str, side: str) -> None:
        self.positions.setdefault(account, {})[(symbol, side)] = None


class MatchingEngine:
    def __init__(self, specs: list[SymbolSpec], seed: int, started_ms: int) -> None:
        self.specs: dict[str, SymbolSpec] = {s.symbol: s for s in specs}
        self.states: dict[str, SymbolState] = {
            s.symbol: SymbolState(s, False, started_ms) for s in specs
        }
        self.marks: dict[str, Decimal] = {s: st.mark for s, st in self.states.items()}
        self.emit_user: UserSink | None = None  # None: do not even build user events
        self.emit_market: UserSink | None = None  # (stream name, payload)
        self.on_final: FinalHook | None = None  # an order reached a final status (algo service)
        self._ids = random.Random(f"client-ids:{seed}")
        self._gtd: list[tuple[int, int, SimOrder]] = []
        self._gtd_seq = 0

    def set_mark(self, symbol: str, mark: Decimal) -> None:
        self.states[symbol].set_mark(mark)
        self.marks[symbol] = mark

    # -- emission ---------------------------------------------------------------------------

    def _otu(self, order: SimOrder, now: int, exec_type: str, **kw: Any) -> None:
        if self.emit_user is not None:
            self.emit_user(
                order.account.api_key, ev.order_trade_update(order, now, exec_type, **kw)
            )

    # -- new orders -------------------------------------------------------------------------

    def place(self, account: Account, req: OrderRequest, now: int) -> dict[str, Any]:
        """Validate against live state, accept, match, rest. Returns the REST reply body.

        Raises ``SimApiError`` (see the module docstring for the codes) before anything changes.
        """
        spec = req.spec
        state = self.states[spec.symbol]
        book = state.book
        symbol = spec.symbol
        position_side, closing = self._position_side(account, req)
        client_id = req.client_id or "".join(self._ids.choices(_ID_CHARS, k=22))
        if (symbol, client_id) in account.open_by_client:
            raise errors.client_id_duplicated()
        exposure = account.exposure.get(symbol)
        if exposure is not None and exposure.count >= spec.max_num_orders:
            raise errors.max_open_orders()
        ticks = req.ticks
        if req.price_match != "NONE":
            ticks = self._match_price(book, req.is_buy, req.price_match)
        limit: int | None = ticks
        if req.order_type == "LIMIT":
            self._check_band(state, ticks)
        if closing:
            may_rest = req.order_type == "LIMIT" and req.tif not in ("IOC", "FOK")
            self._check_closing(account, symbol, position_side, req.is_buy, may_rest)
        if req.order_type == "MARKET":
            limit = self._market_limit(state, req.is_buy)
            est_ticks = (book.best_ask() if req.is_buy else book.best_bid()) or 0
        else:
            est_ticks = ticks
        tick_lots = est_ticks * req.lots
        if not closing and tick_lots < spec.min_notional_tl:
            raise errors.min_notional(spec.min_notional)
        if req.tif == "GTX" and book.would_cross(req.is_buy, ticks):
            raise errors.gtx_rejected()
        if req.tif == "FOK" and not book.can_fill(req.is_buy, ticks, req.lots):
            raise errors.fok_rejected()
        if not closing and not account.margin_ok(
            spec, req.is_buy, tick_lots, self.specs, self.marks
        ):
            raise errors.margin_insufficient()

        state.last_order_id += 1
        order = SimOrder(
            account=account,
            spec=spec,
            order_id=state.last_order_id,
            client_id=client_id,
            is_buy=req.is_buy,
            order_type=req.order_type,
            tif=req.tif,
            ticks=ticks,
            lots=req.lots,
            reduce_only=req.reduce_only,
            closing=closing,
            position_side=position_side,
            stp=req.stp,
            price_match=req.price_match,
            gtd=req.gtd,
            now_ms=now,
        )
        account.register(order)
        ack = order.rest_dict() if req.ack else None
        self._otu(order, now, "NEW")
        self._execute(state, order, limit, now)
        return ack if ack is not None else order.rest_dict()

    def _position_side(self, account: Account, req: OrderRequest) -> tuple[str, bool]:
        if account.dual_side:
            if req.position_side not in ("LONG", "SHORT"):
                raise errors.position_side_mismatch()
            if req.reduce_only:
                raise errors.not_required("reduceOnly")
            closing = (req.position_side == "LONG") != req.is_buy
            return req.position_side, closing
        if req.position_side not in ("", "BOTH"):
            raise errors.position_side_mismatch()
        return "BOTH", req.reduce_only

    @staticmethod
    def _match_price(book: OrderBook, is_buy: bool, price_match: str) -> int:
        depth = PRICE_MATCH_DEPTH[price_match]
        opponent = price_match.startswith("OPPONENT")
        ticks = book.level_price(is_bid=is_buy != opponent, n=depth)
        if ticks is None:
            raise errors.price_match_no_depth()
        return ticks

    @staticmethod
    def _check_band(state: SymbolState, ticks: int) -> None:
        if ticks > state.band_high:
            raise errors.price_above_multiplier()
        if ticks < state.band_low:
            raise errors.price_below_multiplier()

    @staticmethod
    def _market_limit(state: SymbolState, is_buy: bool) -> int:
        """A market order walks the book only inside the PERCENT_PRICE band (else -4131)."""
        best = state.book.best_ask() if is_buy else state.book.best_bid()
        limit = state.band_high if is_buy else state.band_low
        if best is None or (best > limit if is_buy else best < limit):
            raise errors.market_take_bound()
        return limit

    def _check_closing(
        self, account: Account, symbol: str, side: str, is_buy: bool, may_rest: bool
    ) -> None:
        """-2022 when there is nothing to close; -4118 when an order that would rest finds the
        position already covered by older closing orders (a taker outranks those instead)."""
        reducible = self._reducible(account, symbol, side, is_buy)
        if reducible == 0:
            raise errors.reduce_only_rejected()
        if not may_rest:
            return
        for other in account.open_orders_of(symbol):
            if other.closing and other.position_side == side and other.is_buy == is_buy:
                reducible -= other.remaining
        if reducible <= 0:
            raise errors.reduce_only_covered()

    @staticmethod
    def _reducible(account: Account, symbol: str, side: str, is_buy: bool) -> int:
        pos = account.positions.get((symbol, side))
        lots = pos.lots if pos is not None else 0
        return max(-lots, 0) if is_buy else max(lots, 0)

    # -- execution --------------------------------------------------------------------------

    def _execute(self, state: SymbolState, order: SimOrder, limit: int | None, now: int) -> None:
        """Match ``order`` as a taker, then expire or rest what is left."""
        account = order.account
        lots = order.remaining
        if order.closing:
            lots = min(
                lots, self._reducible(account, state.spec.symbol, order.position_side, order.is_buy)
            )
        stp = order.stp if order.tif in _STP_TIFS else STP_NONE
        touched = _Touched()
        result = MatchResult()
        if lots > 0:
            result = state.book.match(order.is_buy, limit, lots, account, stp)
        for maker in result.stp_expired_makers:
            maker_order: SimOrder = maker.order
            maker_order.entry = None
            self._finish(state, maker_order, EXPIRED_IN_MATCH, ev.ER_STP, now)
        self._settle(state, order, order.is_buy, result.fills, now, touched)
        if order.status != FILLED:
            if result.taker_stp_expired:
                er = ev.ER_IOC_STP if order.tif == "IOC" else ev.ER_STP
                self._finish(state, order, EXPIRED_IN_MATCH, er, now)
            elif order.order_type == "MARKET":
                self._finish(state, order, EXPIRED, ev.ER_MARKET, now)
            elif order.tif in ("IOC", "FOK"):
                self._finish(state, order, EXPIRED, ev.ER_IOC, now)
            else:
                self._rest(state, order, now)
        self._after(touched, now)

    def _rest(self, state: SymbolState, order: SimOrder, now: int) -> None:
        order.account.open(order)
        if order.closing:
            self._enforce_closing(order.account, state, now)  # places it with a capped size
        else:
            order.entry = Resting(
                order.order_id, order.is_buy, order.ticks, order.remaining, order.account, order
            )
            state.book.add(order.entry)
        if order.tif == "GTD" and order.is_open:
            self._gtd_seq += 1
            heapq.heappush(self._gtd, (order.gtd, self._gtd_seq, order))

    def _finish(self, state: SymbolState, order: SimOrder, status: str, er: str, now: int) -> None:
        """Take an order off the book into a final status and tell its owner."""
        if order.entry is not None:
            state.book.remove(order.entry.entry_id)
            order.entry = None
        order.account.close(order)
        order.status = status
        order.update_time = now
        self._otu(order, now, "CANCELED" if status == CANCELED else "EXPIRED", expire_reason=er)
        if self.on_final is not None:
            self.on_final(order, now)

    def _settle(
        self,
        state: SymbolState,
        taker: SimOrder | None,
        taker_is_buy: bool,
        fills: list[tuple[Resting, int, int]],
        now: int,
        touched: _Touched,
    ) -> None:
        emit_market = self.emit_market
        for maker, lots, ticks in fills:
            trade_id = state.record_trade(ticks, lots, taker_is_buy, now)
            if maker.order is not None:
                self._fill(state, maker.order, lots, ticks, trade_id, True, now, touched)
                if maker.lots == 0:
                    maker.order.entry = None
            if taker is not None:
                self._fill(state, taker, lots, ticks, trade_id, False, now, touched)
            if emit_market is not None:
                for stream, payload in trade_payloads(
                    state.spec, trade_id, ticks, lots, taker_is_buy, now
                ):
                    emit_market(stream, payload)

    def _fill(
        self,
        state: SymbolState,
        order: SimOrder,
        lots: int,
        ticks: int,
        trade_id: int,
        maker: bool,
        now: int,
        touched: _Touched,
    ) -> None:
        spec = state.spec
        account = order.account
        rate = spec.maker_fee if maker else spec.taker_fee
        realized, fee = account.apply_fill(
            spec, order.position_side, order.is_buy, lots, ticks, rate
        )
        if maker:
            account.on_maker_fill(order, lots)
        order.record_fill(lots, ticks)
        order.update_time = now
        if order.status == FILLED:
            account.close(order)
        account.position(spec.symbol, order.position_side).update_time = now
        touched.add(account, spec.symbol, order.position_side)
        account.add_trade(
            spec.symbol,
            {
                "buyer": order.is_buy,
                "commission": fmt8(fee),
                "commissionAsset": spec.margin_asset,
                "id": trade_id,
                "maker": maker,
                "orderId": order.order_id,
                "price": spec.fmt_price(ticks),
                "qty": spec.fmt_qty(lots),
                "quoteQty": spec.fmt_quote(ticks * lots),
                "baseQty": spec.fmt_qty(lots),
                "marginAsset": spec.margin_asset,
                "realizedPnl": fmt8(realized),
                "side": order.side,
                "positionSide": order.position_side,
                "symbol": spec.symbol,
                "pair": spec.symbol,
                "time": now,
            },
        )
        emit = self.emit_user
        if emit is not None:
            emit(account.api_key, ev.trade_lite(order, now, lots, ticks, trade_id, maker))
            emit(
                account.api_key,
                ev.order_trade_update(
                    order,
                    now,
                    "TRADE",
                    last_lots=lots,
                    last_ticks=ticks,
                    trade_id=trade_id,
                    maker=maker,
                    fee=fee,
                    realized=realized,
                ),
            )
        if order.status == FILLED and self.on_final is not None:
            self.on_final(order, now)

    def _after(self, touched: _Touched, now: int) -> None:
        """ACCOUNT_UPDATE for every account whose positions changed, then reduce-only checks."""
        for account, keys in touched.positions.items():
            symbols = {symbol for symbol, _ in keys}
            if self.emit_user is not None:
                positions = [
                    ev.position_wire(
                        account, self.specs[s], account.position(s, side), self.marks[s]
                    )
                    for s, side in keys
                ]
                assets = sorted({self.specs[s].margin_asset for s in symbols})
                self.emit_user(
                    account.api_key, ev.account_update(account, now, "ORDER", assets, positions)
                )
            account.update_time = now
            for symbol in symbols:
                self._enforce_closing(account, self.states[symbol], now)

    def _enforce_closing(self, account: Account, state: SymbolState, now: int) -> None:
        """Fit resting closing orders to the position, oldest first (see module docstring)."""
        symbol = state.spec.symbol
        exposure = account.exposure.get(symbol)
        if exposure is None or exposure.closing_count == 0:
            return
        budgets: dict[tuple[str, bool], int] = {}
        closing = [o for o in account.open_orders_of(symbol) if o.closing]
        for order in closing:
            key = (order.position_side, order.is_buy)
            budget = budgets.get(key)
            if budget is None:
                budget = self._reducible(account, symbol, order.position_side, order.is_buy)
            visible = min(order.remaining, budget)
            budgets[key] = budget - visible
            if visible == 0:
                self._finish(state, order, EXPIRED, ev.ER_REDUCE_ONLY, now)
            elif order.entry is None:
                order.entry = Resting(
                    order.order_id, order.is_buy, order.ticks, visible, account, order
                )
                state.book.add(order.entry)
            elif visible < order.entry.lots:
                state.book.shrink(order.entry, visible)

    # -- cancel, amend, expire --------------------------------------------------------------

    def cancel(self, order: SimOrder, now: int) -> dict[str, Any]:
        """Cancel an open order; raises ``SimApiError`` -2011 when it is not open."""
        if not order.is_open:
            raise errors.cancel_rejected()
        self._finish(self.states[order.symbol], order, CANCELED, ev.ER_NONE, now)
        return order.rest_dict()

    def cancel_all(self, account: Account, symbol: str, now: int) -> int:
        state = self.states[symbol]
        orders = list(account.open_orders_of(symbol))
        for order in orders:
            self._finish(state, order, CANCELED, ev.ER_NONE, now)
        return len(orders)

    def modify(self, account: Account, req: ModifyRequest, now: int) -> dict[str, Any]:
        """Amend price/quantity of an open LIMIT order (re-queued). Raises ``SimApiError``."""
        spec = req.spec
        state = self.states[spec.symbol]
        order = account.find(spec.symbol, req.order_id, req.client_id)
        if order is None or not order.is_open:
            raise errors.no_such_order()
        if order.order_type != "LIMIT":
            raise errors.modify_only_limit()
        if req.is_buy != order.is_buy:
            raise errors.invalid_param("side")
        ticks = req.ticks or self._match_price(state.book, order.is_buy, req.price_match)
        if ticks == order.ticks and req.lots == order.orig_lots:
            raise errors.modify_needless()
        if order.modify_count >= MAX_MODIFICATIONS:
            raise errors.modify_limit_exceeded()
        self._check_band(state, ticks)
        if req.lots <= order.executed or (
            order.tif == "GTX"
            and ticks != order.ticks
            and state.book.would_cross(order.is_buy, ticks)
        ):
            self._finish(state, order, CANCELED, ev.ER_NONE, now)
            return order.rest_dict()
        remaining = req.lots - order.executed
        if not order.closing:
            if ticks * remaining < spec.min_notional_tl:
                raise errors.modify_min_notional(spec.min_notional)
            extra = ticks * remaining - order.ticks * order.remaining
            if extra > 0 and not account.margin_ok(
                spec, order.is_buy, extra, self.specs, self.marks
            ):
                raise errors.margin_insufficient()
        if order.entry is not None:
            state.book.remove(order.entry.entry_id)
            order.entry = None
        account.close(order)
        order.ticks = ticks
        order.orig_lots = req.lots
        order.modify_count += 1
        order.update_time = now
        self._otu(order, now, "AMENDMENT", modify_id=req.modify_id)
        self._execute(state, order, ticks, now)
        body = order.rest_dict()
        if req.modify_id is not None:
            body["modifyId"] = req.modify_id
        return body

    def next_gtd(self) -> int | None:
        """The earliest goodTillDate still pending (may belong to an order closed since)."""
        return self._gtd[0][0] if self._gtd else None

    def expire_due(self, now: int) -> None:
        """Expire GTD orders whose goodTillDate has passed."""
        heap = self._gtd
        while heap and heap[0][0] <= now:
            _, _, order = heapq.heappop(heap)
            if order.is_open:
                self._finish(self.states[order.symbol], order, EXPIRED, ev.ER_NONE, now)

    # -- the synthetic market's entry points ----------------------------------------------

    def synthetic_take(
        self, symbol: str, is_buy: bool, lots: int, limit: int | None, now: int
    ) -> int:
        """An aggressive order from the rest of the market; returns the filled lots."""
        state = self.states[symbol]
        result = state.book.match(is_buy, limit, lots)
        touched = _Touched()
        self._settle(state, None, is_buy, result.fills, now, touched)
        self._after(touched, now)
        return lots - result.remaining

    def synthetic_post(
        self, symbol: str, is_buy: bool, ticks: int, lots: int, now: int
    ) -> Resting | None:
        """A resting order from the rest of the market; trades first if it crosses."""
        state = self.states[symbol]
        if state.book.would_cross(is_buy, ticks):
            lots -= self.synthetic_take(symbol, is_buy, lots, ticks, now)
            if lots == 0:
                return None
        state.last_synthetic_id -= 1
        entry = Resting(state.last_synthetic_id, is_buy, ticks, lots, None)
        state.book.add(entry)
        return entry
