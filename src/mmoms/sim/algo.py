"""The Algo Service: conditional orders that wait outside the book until their trigger fires.

Since 2025-12-09 Binance runs STOP, STOP_MARKET, TAKE_PROFIT, TAKE_PROFIT_MARKET and
TRAILING_STOP_MARKET in a separate service (binance-usdm.md §4). This is that service.

* **Triggers** are checked after every market step of the symbol (the real service is
  asynchronous too), on the mark price (``workingType=MARK_PRICE``) or the last trade price
  (``CONTRACT_PRICE``, the default). STOP(_MARKET): BUY when price ≥ trigger, SELL when ≤;
  TAKE_PROFIT(_MARKET): the opposite. A stop that would trigger at placement is refused with
  ``-2021``. ``priceProtect`` holds the trigger while mark and last price differ by more than
  the symbol's ``triggerProtect``.
* **Trailing stops** (``callbackRate`` in percent, ``activatePrice`` optional): once active
  (at placement without ``activatePrice``; else when the price reaches it — a second ``NEW``
  ``ALGO_UPDATE`` with ``ia: true`` says so), a SELL tracks the highest price and triggers when
  the price falls ``callbackRate`` % below it; a BUY mirrors that. Placement never raises
  ``-2021`` for them (choice; Binance's exact rule is undocumented).
* **Lifecycle events**: ``ALGO_UPDATE`` NEW at placement; on trigger TRIGGERING, then the order
  is placed in the matching engine (MARKET for the *_MARKET types, LIMIT with ``price`` /
  ``priceMatch`` / ``timeInForce`` otherwise; its client order id is the ``clientAlgoId``;
  ``closePosition`` takes the position's size as reduce-only), then TRIGGERED (``ai`` = its order
  id), then the engine's own ORDER_TRADE_UPDATEs, then FINISHED once that order is final. If
  the engine refuses it (margin, reduce-only, …) the algo order ends REJECTED with ``rm`` = the
  refusal's message. CANCELED on cancel, EXPIRED at ``goodTillDate``.
* **Limits**: 200 open conditional orders per account across all symbols (``-4045``).
  ``countdownCancelAll`` and ``allOpenOrders`` leave algo orders alone (Binance: unconfirmed /
  regular orders only); ``algoOpenOrders`` cancels them.
"""

from __future__ import annotations

import heapq
import random
import string
from collections import OrderedDict
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from . import errors
from .algo_model import (
    CANCELED,
    EXPIRED,
    FINISHED,
    NEW,
    REJECTED,
    TRIGGERED,
    TRIGGERING,
    AlgoOrder,
)
from .api import SimApiError
from .validation import OrderRequest

if TYPE_CHECKING:
    from .account import Account
    from .algo_request import AlgoRequest
    from .matching import MatchingEngine
    from .orders import SimOrder

__all__ = ["MAX_OPEN_ALGO_ORDERS", "AlgoService"]

MAX_OPEN_ALGO_ORDERS = 200
ALGO_ID_BASE = 1_000_000_000_000_000  # Binance's algoIds are large; clients must not assume small
_ID_CHARS = string.ascii_letters + string.digits
_STOPS = frozenset({"STOP", "STOP_MARKET"})


class _AlgoBook:
    """One account's conditional orders."""

    __slots__ = ("by_client", "history", "open")

    def __init__(self) -> None:
        self.open: dict[int, AlgoOrder] = {}
        self.history: OrderedDict[int, AlgoOrder] = OrderedDict()
        self.by_client: dict[str, AlgoOrder] = {}


class AlgoService:
    def __init__(self, engine: MatchingEngine, seed: int, history_limit: int) -> None:
        self._engine = engine
        self._books: dict[str, _AlgoBook] = {}
        self._by_symbol: dict[str, dict[int, AlgoOrder]] = {s: {} for s in engine.states}
        self._children: dict[tuple[str, int], AlgoOrder] = {}
        self._gtd: list[tuple[int, int, AlgoOrder]] = []
        self._last_id = ALGO_ID_BASE
        self._ids = random.Random(f"algo-client-ids:{seed}")
        self._history_limit = history_limit
        engine.on_final = self._on_final

    # -- queries ----------------------------------------------------------------------------

    def book(self, account: Account) -> _AlgoBook:
        book = self._books.get(account.api_key)
        if book is None:
            book = self._books[account.api_key] = _AlgoBook()
        return book

    def find(
        self, account: Account, algo_id: int | None, client_id: str | None
    ) -> AlgoOrder | None:
        book = self.book(account)
        if algo_id is not None:
            return book.history.get(algo_id)
        return book.by_client.get(client_id) if client_id is not None else None

    def open_orders(self, account: Account, symbol: str | None) -> list[AlgoOrder]:
        return [a for a in self.book(account).open.values() if symbol in (None, a.symbol)]

    def next_deadline(self) -> int | None:
        return self._gtd[0][0] if self._gtd else None

    # -- commands ---------------------------------------------------------------------------

    def place(self, account: Account, req: AlgoRequest, now: int) -> dict[str, Any]:
        """Accept a conditional order; raises ``SimApiError`` (see the module docstring)."""
        book = self.book(account)
        spec = req.spec
        position_side = self._position_side(account, req)
        if len(book.open) >= MAX_OPEN_ALGO_ORDERS:
            raise errors.max_stop_orders()
        client_id = req.client_id or "".join(self._ids.choices(_ID_CHARS, k=22))
        existing = book.by_client.get(client_id)
        if existing is not None and existing.is_open:
            raise errors.client_id_duplicated()
        price = self._price(spec.symbol, req.working_type)
        if not (req.reduce_only or req.close_position):
            est = req.ticks or req.trigger_ticks or req.activate_ticks
            est_price = spec.price(est) if est else price
            if req.lots * spec.step * est_price < Decimal(spec.min_notional):
                raise errors.min_notional(spec.min_notional)
        algo = AlgoOrder(
            algo_id=self._last_id + 1,
            client_algo_id=client_id,
            account=account,
            spec=spec,
            order_type=req.order_type,
            is_buy=req.is_buy,
            position_side=position_side,
            tif=req.tif,
            lots=req.lots,
            ticks=req.ticks,
            trigger_ticks=req.trigger_ticks,
            working_type=req.working_type,
            price_match=req.price_match,
            close_position=req.close_position,
            price_protect=req.price_protect,
            reduce_only=req.reduce_only,
            activate_ticks=req.activate_ticks,
            callback_rate=req.callback_rate,
            stp=req.stp,
            gtd=req.gtd,
            now_ms=now,
        )
        if algo.is_trailing:
            if algo.activated:
                algo.extreme = price
        elif self._condition(algo, price):
            raise errors.would_trigger_immediately()
        self._last_id = algo.algo_id
        book.open[algo.algo_id] = algo
        book.history[algo.algo_id] = algo
        book.by_client[client_id] = algo
        self._by_symbol[spec.symbol][algo.algo_id] = algo
        if algo.gtd:
            heapq.heappush(self._gtd, (algo.gtd, algo.algo_id, algo))
        self._trim(book)
        self._emit(algo, now)
        return algo.rest_dict()

    def cancel(self, algo: AlgoOrder, now: int) -> dict[str, Any]:
        """Cancel a NEW conditional order; raises ``SimApiError`` -2011 otherwise."""
        if not algo.is_open:
            raise errors.cancel_rejected()
        self._close(algo, CANCELED, now)
        return {
            "algoId": algo.algo_id,
            "clientAlgoId": algo.client_algo_id,
            "code": "200",  # a string here, unlike every other {"code","msg"} reply
            "msg": "success",
        }

    def cancel_all(self, account: Account, symbol: str, now: int) -> int:
        chosen = self.open_orders(account, symbol)
        for algo in chosen:
            self._close(algo, CANCELED, now)
        return len(chosen)

    # -- time and triggers ------------------------------------------------------------------

    def check(self, symbol: str, now: int) -> None:
        """Fire every open conditional order of ``symbol`` whose condition holds now."""
        waiting = self._by_symbol.get(symbol)
        if not waiting:
            return
        state = self._engine.states[symbol]
        last = state.spec.price(state.stats.last_ticks)
        for algo in list(waiting.values()):
            if not algo.is_open:
                continue
            price = state.mark if algo.working_type == "MARK_PRICE" else last
            if algo.price_protect and self._diverged(symbol, state.mark, last):
                continue
            if self._condition(algo, price, now):
                self._trigger(algo, now)

    def expire_due(self, now: int) -> None:
        heap = self._gtd
        while heap and heap[0][0] <= now:
            _, _, algo = heapq.heappop(heap)
            if algo.is_open:
                self._close(algo, EXPIRED, now)

    def _condition(self, algo: AlgoOrder, price: Decimal, now: int = 0) -> bool:
        spec = algo.spec
        if algo.is_trailing:
            return self._trailing(algo, price, now)
        trigger = spec.price(algo.trigger_ticks)
        rising = (algo.order_type in _STOPS) == algo.is_buy  # fires on a rise to the trigger
        return price >= trigger if rising else price <= trigger

    def _trailing(self, algo: AlgoOrder, price: Decimal, now: int) -> bool:
        if not algo.activated:
            activate = algo.spec.price(algo.activate_ticks)
            if (price <= activate) if algo.is_buy else (price >= activate):
                algo.activated = True
                algo.extreme = price
                algo.update_time = now
                self._emit(algo, now)  # NEW again, now with "ia": true
            return False
        extreme = algo.extreme if algo.extreme is not None else price
        extreme = min(extreme, price) if algo.is_buy else max(extreme, price)
        algo.extreme = extreme
        rate = Decimal(algo.callback_rate) / 100
        return price >= extreme * (1 + rate) if algo.is_buy else price <= extreme * (1 - rate)

    def _diverged(self, symbol: str, mark: Decimal, last: Decimal) -> bool:
        protect = Decimal(self._engine.specs[symbol].config.trigger_protect)
        return mark > 0 and abs(mark - last) / mark > protect

    def _trigger(self, algo: AlgoOrder, now: int) -> None:
        self._unindex(algo)
        algo.status = TRIGGERING
        algo.trigger_time = algo.update_time = now
        self._emit(algo, now)
        engine = self._engine
        sink = engine.emit_user
        captured: list[tuple[str, dict[str, Any]]] = []
        if sink is not None:  # hold the order's events until TRIGGERED has gone out
            engine.emit_user = lambda key, event: captured.append((key, event))
        try:
            reply = engine.place(algo.account, self._order_request(algo), now)
        except SimApiError as exc:  # refused by the engine: nothing was placed, no events
            engine.emit_user = sink
            algo.status = REJECTED
            algo.reason = exc.msg
            self._emit(algo, now)
            return
        finally:
            engine.emit_user = sink
        order = algo.account.find(algo.symbol, reply["orderId"], None)
        assert order is not None
        algo.actual = order
        algo.status = TRIGGERED
        self._emit(algo, now, just_placed=True)
        if sink is not None:
            for key, event in captured:
                sink(key, event)
        if order.is_open:
            self._children[(algo.symbol, order.order_id)] = algo
        else:
            self._finish(algo, now)

    def _order_request(self, algo: AlgoOrder) -> OrderRequest:
        """The matching-engine order a triggered algo order becomes; raises ``SimApiError``."""
        account, spec = algo.account, algo.spec
        lots = algo.lots
        if algo.close_position:
            pos = account.positions.get((spec.symbol, algo.position_side))
            held = pos.lots if pos is not None else 0
            lots = min(max(-held, 0) if algo.is_buy else max(held, 0), spec.market_max_lots)
            if lots == 0:
                raise errors.reduce_only_rejected()
        is_market = algo.actual_type() == "MARKET"
        client_id: str | None = algo.client_algo_id
        if (spec.symbol, client_id) in account.open_by_client:
            client_id = None  # taken by a regular order: let the engine make one up
        return OrderRequest(
            spec=spec,
            is_buy=algo.is_buy,
            order_type="MARKET" if is_market else "LIMIT",
            tif="GTC" if is_market else algo.tif,
            ticks=0 if is_market else algo.ticks,
            lots=lots,
            reduce_only=(algo.reduce_only or algo.close_position) and not account.dual_side,
            position_side=algo.position_side,
            client_id=client_id,
            stp=algo.stp,
            price_match="NONE" if is_market else algo.price_match,
            gtd=algo.gtd if algo.tif == "GTD" else 0,
            ack=False,
        )

    def _on_final(self, order: SimOrder, now: int) -> None:
        algo = self._children.pop((order.symbol, order.order_id), None)
        if algo is not None and algo.status == TRIGGERED:
            self._finish(algo, now)

    # -- bookkeeping ------------------------------------------------------------------------

    def _finish(self, algo: AlgoOrder, now: int) -> None:
        algo.status = FINISHED
        algo.update_time = now
        self._emit(algo, now)

    def _close(self, algo: AlgoOrder, status: str, now: int) -> None:
        self._unindex(algo)
        algo.status = status
        algo.update_time = now
        self._emit(algo, now)

    def _unindex(self, algo: AlgoOrder) -> None:
        self.book(algo.account).open.pop(algo.algo_id, None)
        self._by_symbol[algo.symbol].pop(algo.algo_id, None)

    def _trim(self, book: _AlgoBook) -> None:
        excess = len(book.history) - self._history_limit
        if excess <= 0:
            return
        for algo_id in [i for i, a in book.history.items() if a.status != NEW][:excess]:
            algo = book.history.pop(algo_id)
            if book.by_client.get(algo.client_algo_id) is algo:
                del book.by_client[algo.client_algo_id]

    def _emit(self, algo: AlgoOrder, now: int, just_placed: bool = False) -> None:
        sink = self._engine.emit_user
        if sink is not None:
            sink(algo.account.api_key, algo.update_event(now, just_placed))

    def _price(self, symbol: str, working_type: str) -> Decimal:
        state = self._engine.states[symbol]
        if working_type == "MARK_PRICE":
            return state.mark
        return state.spec.price(state.stats.last_ticks)

    @staticmethod
    def _position_side(account: Account, req: AlgoRequest) -> str:
        if account.dual_side:
            if req.position_side not in ("LONG", "SHORT"):
                raise errors.position_side_mismatch()
            if req.reduce_only:
                raise errors.not_required("reduceOnly")
            return req.position_side
        if req.position_side not in ("", "BOTH"):
            raise errors.position_side_mismatch()
        return "BOTH"
