"""Public endpoints (Security.NONE): ping, time, exchangeInfo, depth, tickers, premiumIndex,
klines, recent and historical trades and aggTrades (the last 1000 trades; one aggregate per
trade; ``nq``, the quantity of non-RPI trades, is the whole quantity: there are no RPI orders).

Response shapes follow ``binance-usdm.md`` §3 and §10. Klines come from
:mod:`mmoms.sim.klines` (one day of history kept). The 24 h ticker is computed since the
simulator started (it keeps no rolling window); ``indexPrice`` is the synthetic mid and the
funding rate is the configured constant (no funding is ever charged).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from . import errors
from .api import Endpoint, Params, Security
from .klines import INTERVAL_MS
from .params import optional, optional_int, parse_int
from .specs import fmt8

if TYPE_CHECKING:
    from .exchange import SimExchange
    from .symbol_state import SymbolState

__all__ = ["market_endpoints"]

FUNDING_INTERVAL_MS = 8 * 3_600_000
DEPTH_LIMITS = (5, 10, 20, 50, 100, 500, 1000)
MAX_KLINES = 1500
MAX_TRADES = 1000  # also the number of public trades kept per symbol
_ASCII_INT = re.compile(r"[0-9]{1,9}")


def _depth_weight(params: Params) -> int:
    """Weight by the requested size; a malformed limit is charged as the default (500)."""
    text = params.get("limit") or ""
    limit = int(text) if _ASCII_INT.fullmatch(text) else 500
    if limit <= 50:
        return 2
    if limit <= 100:
        return 5
    if limit <= 500:
        return 10
    return 20


def _klines_weight(params: Params) -> int:
    text = params.get("limit") or ""
    limit = int(text) if _ASCII_INT.fullmatch(text) else 500
    if limit < 100:
        return 1
    if limit < 500:
        return 2
    if limit <= 1000:
        return 5
    return 10


def _by_symbol(with_symbol: int, without: int) -> Any:
    return lambda params: with_symbol if params.get("symbol") else without


def market_endpoints(ex: SimExchange) -> list[Endpoint]:
    def states(params: Params) -> tuple[list[SymbolState], bool]:
        """The requested symbol's state, or all of them; plus "was a symbol given"."""
        symbol = optional(params, "symbol")
        if symbol is None:
            return list(ex.engine.states.values()), False
        state = ex.engine.states.get(symbol)
        if state is None:
            raise errors.bad_symbol()
        return [state], True

    def one_or_all(params: Params, render: Any) -> Any:
        selected, single = states(params)
        items = [render(state) for state in selected]
        return items[0] if single else items

    def ping(_account: Any, _params: Params) -> Any:
        return {}

    def server_time(_account: Any, _params: Params) -> Any:
        return {"serverTime": ex.now()}

    def exchange_info(_account: Any, _params: Params) -> Any:
        return ex.exchange_info()

    def depth(_account: Any, params: Params) -> Any:
        selected, single = states(params)
        if not single:
            raise errors.mandatory("symbol")
        text = optional(params, "limit")
        limit = 500 if text is None else parse_int("limit", text)
        if limit not in DEPTH_LIMITS:
            raise errors.invalid_param("limit")
        state = selected[0]
        spec = state.spec
        bids, asks = state.book.depth(limit)
        now = ex.now()
        return {
            "lastUpdateId": state.book.update_id,
            "E": now,
            "T": now,
            "bids": [[spec.fmt_price(t), spec.fmt_qty(q)] for t, q in bids],
            "asks": [[spec.fmt_price(t), spec.fmt_qty(q)] for t, q in asks],
        }

    def book_ticker(_account: Any, params: Params) -> Any:
        now = ex.now()

        def render(state: SymbolState) -> dict[str, Any]:
            spec, book = state.spec, state.book
            bid, ask = book.top(True) or (0, 0), book.top(False) or (0, 0)
            return {
                "symbol": spec.symbol,
                "bidPrice": spec.fmt_price(bid[0]),
                "bidQty": spec.fmt_qty(bid[1]),
                "askPrice": spec.fmt_price(ask[0]),
                "askQty": spec.fmt_qty(ask[1]),
                "time": now,
                "lastUpdateId": book.update_id,
            }

        return one_or_all(params, render)

    def premium_index(_account: Any, params: Params) -> Any:
        now = ex.now()
        next_funding = (now // FUNDING_INTERVAL_MS + 1) * FUNDING_INTERVAL_MS

        def render(state: SymbolState) -> dict[str, Any]:
            spec = state.spec
            market = ex.markets[spec.symbol]
            return {
                "symbol": spec.symbol,
                "markPrice": fmt8(state.mark),
                "indexPrice": fmt8(spec.price(market.mid)),
                "estimatedSettlePrice": fmt8(state.mark),
                "lastFundingRate": market.params.funding_rate,
                "interestRate": "0.00010000",
                "nextFundingTime": next_funding,
                "time": now,
            }

        return one_or_all(params, render)

    def ticker_price(_account: Any, params: Params) -> Any:
        now = ex.now()

        def render(state: SymbolState) -> dict[str, Any]:
            spec = state.spec
            return {
                "symbol": spec.symbol,
                "price": spec.fmt_price(state.stats.last_ticks),
                "time": now,
            }

        return one_or_all(params, render)

    def ticker_24h(_account: Any, params: Params) -> Any:
        now = ex.now()

        def render(state: SymbolState) -> dict[str, Any]:
            spec, st = state.spec, state.stats
            change = st.last_ticks - st.open_ticks
            percent = Decimal(change * 100) / Decimal(st.open_ticks)
            weighted = (
                spec.fmt_avg(st.quote_tl, st.volume_lots)
                if st.volume_lots
                else spec.fmt_price(st.last_ticks)
            )
            return {
                "symbol": spec.symbol,
                "priceChange": spec.fmt_price(change),
                "priceChangePercent": str(percent.quantize(Decimal("0.001"))),
                "weightedAvgPrice": weighted,
                "lastPrice": spec.fmt_price(st.last_ticks),
                "lastQty": spec.fmt_qty(st.last_lots),
                "openPrice": spec.fmt_price(st.open_ticks),
                "highPrice": spec.fmt_price(st.high or st.last_ticks),
                "lowPrice": spec.fmt_price(st.low or st.last_ticks),
                "volume": spec.fmt_qty(st.volume_lots),
                "quoteVolume": spec.fmt_quote(st.quote_tl),
                "openTime": ex.started_ms,
                "closeTime": now,
                "firstId": st.first_trade_id,
                "lastId": st.last_trade_id,
                "count": st.count,
            }

        return one_or_all(params, render)

    def klines(_account: Any, params: Params) -> Any:
        selected, single = states(params)
        if not single:
            raise errors.mandatory("symbol")
        interval_ms = INTERVAL_MS.get(params.get("interval") or "")
        if interval_ms is None:
            if not params.get("interval"):
                raise errors.mandatory("interval")
            raise errors.bad_interval()
        text = optional(params, "limit")
        limit = 500 if text is None else parse_int("limit", text)
        if not 1 <= limit <= MAX_KLINES:
            raise errors.invalid_param("limit")
        start, end = optional_int(params, "startTime"), optional_int(params, "endTime")
        return selected[0].candles.klines(interval_ms, start, end, limit, ex.now())

    def recent(params: Params) -> tuple[SymbolState, int]:
        selected, single = states(params)
        if not single:
            raise errors.mandatory("symbol")
        text = optional(params, "limit")
        limit = 500 if text is None else parse_int("limit", text)
        if not 1 <= limit <= MAX_TRADES:
            raise errors.invalid_param("limit")
        return selected[0], limit

    def trades(_account: Any, params: Params) -> Any:
        state, limit = recent(params)
        spec = state.spec
        from_id = optional_int(params, "fromId")  # historicalTrades only
        chosen = [t for t in state.recent_trades if from_id is None or t.trade_id >= from_id]
        chosen = chosen[:limit] if from_id is not None else chosen[-limit:]
        return [
            {
                "id": t.trade_id,
                "price": spec.fmt_price(t.ticks),
                "qty": spec.fmt_qty(t.lots),
                "quoteQty": spec.fmt_quote(t.ticks * t.lots),
                "time": t.time,
                "isBuyerMaker": t.buyer_is_maker,
            }
            for t in chosen
        ]

    def agg_trades(_account: Any, params: Params) -> Any:
        state, limit = recent(params)
        spec = state.spec
        from_id = optional_int(params, "fromId")
        start, end = optional_int(params, "startTime"), optional_int(params, "endTime")
        selected = [
            t
            for t in state.recent_trades
            if (from_id is None or t.trade_id >= from_id)
            and (start is None or t.time >= start)
            and (end is None or t.time <= end)
        ]
        chosen = selected[:limit] if from_id is not None or start is not None else selected[-limit:]
        return [
            {
                "a": t.trade_id,
                "p": spec.fmt_price(t.ticks),
                "q": spec.fmt_qty(t.lots),
                "nq": spec.fmt_qty(t.lots),  # no RPI orders here: every trade is "normal"
                "f": t.trade_id,
                "l": t.trade_id,
                "T": t.time,
                "m": t.buyer_is_maker,
            }
            for t in chosen
        ]

    none = Security.NONE
    return [
        Endpoint("GET", "/fapi/v1/ping", none, ping),
        Endpoint("GET", "/fapi/v1/time", none, server_time),
        Endpoint("GET", "/fapi/v1/exchangeInfo", none, exchange_info),
        Endpoint("GET", "/fapi/v1/depth", none, depth, _depth_weight),
        Endpoint("GET", "/fapi/v1/ticker/bookTicker", none, book_ticker, _by_symbol(2, 5)),
        Endpoint("GET", "/fapi/v1/premiumIndex", none, premium_index, _by_symbol(1, 10)),
        Endpoint("GET", "/fapi/v1/ticker/price", none, ticker_price, _by_symbol(1, 2)),
        Endpoint("GET", "/fapi/v2/ticker/price", none, ticker_price, _by_symbol(1, 2)),
        Endpoint("GET", "/fapi/v1/ticker/24hr", none, ticker_24h, _by_symbol(1, 40)),
        Endpoint("GET", "/fapi/v1/klines", none, klines, _klines_weight),
        Endpoint("GET", "/fapi/v1/trades", none, trades, lambda _p: 5),
        # the same trades, older ones by fromId; needs the API key header (-2014 without one)
        Endpoint("GET", "/fapi/v1/historicalTrades", Security.MARKET_DATA, trades, lambda _p: 20),
        Endpoint("GET", "/fapi/v1/aggTrades", none, agg_trades, lambda _p: 20),
    ]
