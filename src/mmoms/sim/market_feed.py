"""The public market streams the exchange publishes after each market step (binance-usdm.md §10).

Feeds (stream names as the transport routes them, symbol lower-case):

* ``<sym>@depth@100ms`` — diff depth: the changed price levels with their absolute sizes (0 =
  gone). ``U`` = first book update in the event, ``u`` = the book's update id now, ``pu`` = the
  previous event's ``u``, so a client following Binance's local-book procedure (snapshot from
  ``GET /fapi/v1/depth`` + buffered diffs) rebuilds the book exactly. A snapshot taken while no
  change is pending carries the last event's ``u``; the next event then has ``pu`` equal to it.
* ``<sym>@depth5|10|20@100ms`` — partial book: the best N levels per side, same ``U``/``u``/
  ``pu``; pushed when the book changed. Built only for feeds that have subscribers.
* ``<sym>@bookTicker`` — when the best bid or ask (price or size) changed; ``u`` = update id.
* ``<sym>@markPrice@1s`` — every whole second of exchange time; ``!markPrice@arr@1s`` the same
  for every symbol in one array.
* ``!bookTicker`` — every symbol's ``bookTicker``.
* ``<sym>@kline_<interval>`` — the current candle every whole second, for intervals someone
  subscribes to; when a candle closes it is sent once more with ``"x": true`` first.

``aggTrade`` and ``trade`` are built by :func:`trade_payloads`, which the matching engine calls
as trades happen. Every payload carries
``st`` (1 = USDⓈ-M, since the 2026 CM-UM integration) and, where live captures show it, ``ps``
(the pair); the mark price also carries ``ap``, the moving-average mark.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .klines import INTERVAL_MS
from .specs import fmt8

if TYPE_CHECKING:
    from .market import SyntheticMarket
    from .specs import SymbolSpec
    from .symbol_state import SymbolState

__all__ = ["PARTIAL_LEVELS", "MarketPublisher", "trade_payloads"]

PARTIAL_LEVELS = (5, 10, 20)
MARK_STREAM_MS = 1000
FUNDING_INTERVAL_MS = 28_800_000

Sink = Callable[[str, Any], None]
_KLINE = "@kline_"


def trade_payloads(
    spec: SymbolSpec, trade_id: int, ticks: int, lots: int, taker_is_buy: bool, now: int
) -> tuple[tuple[str, dict[str, Any]], ...]:
    """The ``aggTrade`` (one aggregate per trade) and ``trade`` payloads of one trade."""
    lower, price, qty = spec.symbol.lower(), spec.fmt_price(ticks), spec.fmt_qty(lots)
    agg = {
        "e": "aggTrade",
        "E": now,
        "s": spec.symbol,
        "a": trade_id,
        "p": price,
        "q": qty,
        "nq": qty,
        "f": trade_id,
        "l": trade_id,
        "T": now,
        "m": not taker_is_buy,
        "st": 1,  # 1 = USDⓈ-M (2 would be coin-margined)
    }
    trade = {  # the futures trade stream (undocumented): X is the trade's origin
        "e": "trade",
        "E": now,
        "T": now,
        "s": spec.symbol,
        "t": trade_id,
        "p": price,
        "q": qty,
        "X": "MARKET",
        "m": not taker_is_buy,
    }
    return (f"{lower}@aggTrade", agg), (f"{lower}@trade", trade)


class MarketPublisher:
    def __init__(
        self, states: Mapping[str, SymbolState], markets: Mapping[str, SyntheticMarket]
    ) -> None:
        self._states = states
        self._markets = markets
        self._last_depth_id: dict[str, int] = {}
        self._last_top: dict[str, Any] = {}
        self._partial: dict[str, tuple[int, ...]] = {}  # symbol -> levels with subscribers
        self._klines: dict[tuple[str, str], int] = {}  # (symbol, interval) -> open time sent

    def reset(self, tracking: bool) -> None:
        """Start (or stop) tracking book changes; the next diff continues from the book now."""
        for symbol, state in self._states.items():
            state.book.track_changes = tracking
            state.book.drain_changes()
            self._last_depth_id[symbol] = state.book.update_id

    def set_feeds(self, feeds: frozenset[str]) -> None:
        """The transport's subscribed feed names; decides which partial books are built."""
        partial: dict[str, list[int]] = {}
        klines: dict[tuple[str, str], int] = {}
        for symbol in self._states:
            lower = symbol.lower()
            for levels in PARTIAL_LEVELS:
                if f"{lower}@depth{levels}@100ms" in feeds:
                    partial.setdefault(symbol, []).append(levels)
            for feed in feeds:
                if feed.startswith(lower + _KLINE):
                    key = (symbol, feed[len(lower) + len(_KLINE) :])
                    klines[key] = self._klines.get(key, 0)
        self._partial = {s: tuple(v) for s, v in partial.items()}
        self._klines = klines

    def publish(self, sink: Sink, now: int) -> None:
        marks = []
        for symbol, state in self._states.items():
            self._depth(sink, symbol, state, now)
            self._book_ticker(sink, symbol, state, now)
            if now % MARK_STREAM_MS == 0:
                marks.append(self._mark(sink, symbol, state, now))
        if marks:
            sink("!markPrice@arr@1s", marks)
            for symbol, interval in list(self._klines):
                self._kline(sink, symbol, interval, now)

    def _kline(self, sink: Sink, symbol: str, interval: str, now: int) -> None:
        state, interval_ms = self._states[symbol], INTERVAL_MS[interval]
        current = state.candles.klines(interval_ms, None, None, 1, now)[-1]
        stream = f"{symbol.lower()}@kline_{interval}"
        sent = self._klines[(symbol, interval)]
        if sent and sent != current[0]:  # the candle sent last has closed: say so once
            closed = state.candles.klines(interval_ms, sent, sent, 1, now)
            if closed:
                sink(stream, _kline_event(symbol, interval, closed[0], now, True, -1))
        self._klines[(symbol, interval)] = current[0]
        sink(stream, _kline_event(symbol, interval, current, now, False, state.last_trade_id))

    def _depth(self, sink: Sink, symbol: str, state: SymbolState, now: int) -> None:
        spec, book = state.spec, state.book
        lower = symbol.lower()
        bids, asks = book.drain_changes()
        if not bids and not asks:
            return
        previous = self._last_depth_id.get(symbol, 0)
        head = {"e": "depthUpdate", "E": now, "T": now, "s": symbol, "ps": symbol, "st": 1}
        ids = {"U": previous + 1, "u": book.update_id, "pu": previous}
        sink(
            f"{lower}@depth@100ms",
            {
                **head,
                **ids,
                "b": [[spec.fmt_price(t), spec.fmt_qty(q)] for t, q in bids],
                "a": [[spec.fmt_price(t), spec.fmt_qty(q)] for t, q in asks],
            },
        )
        self._last_depth_id[symbol] = book.update_id
        levels = self._partial.get(symbol)
        if levels:
            top_bids, top_asks = book.depth(max(levels))
            for n in levels:
                sink(
                    f"{lower}@depth{n}@100ms",
                    {
                        **head,
                        **ids,
                        "b": [[spec.fmt_price(t), spec.fmt_qty(q)] for t, q in top_bids[:n]],
                        "a": [[spec.fmt_price(t), spec.fmt_qty(q)] for t, q in top_asks[:n]],
                    },
                )

    def _book_ticker(self, sink: Sink, symbol: str, state: SymbolState, now: int) -> None:
        spec, book = state.spec, state.book
        top = (book.top(True), book.top(False))
        if top == self._last_top.get(symbol):
            return
        self._last_top[symbol] = top
        bid, ask = top[0] or (0, 0), top[1] or (0, 0)
        payload = {
            "e": "bookTicker",
            "u": book.update_id,
            "E": now,
            "T": now,
            "s": symbol,
            "ps": symbol,
            "b": spec.fmt_price(bid[0]),
            "B": spec.fmt_qty(bid[1]),
            "a": spec.fmt_price(ask[0]),
            "A": spec.fmt_qty(ask[1]),
            "st": 1,
        }
        sink(f"{symbol.lower()}@bookTicker", payload)
        sink("!bookTicker", payload)

    def _mark(self, sink: Sink, symbol: str, state: SymbolState, now: int) -> dict[str, Any]:
        market = self._markets[symbol]
        payload = {
            "e": "markPriceUpdate",
            "E": now,
            "s": symbol,
            "p": fmt8(state.mark),
            "ap": fmt8(state.mark),  # the moving-average mark: the mark is smoothed already
            "P": fmt8(state.mark),
            "i": fmt8(state.spec.price(market.mid)),
            "r": market.params.funding_rate,
            "T": (now // FUNDING_INTERVAL_MS + 1) * FUNDING_INTERVAL_MS,
            "st": 1,
        }
        sink(f"{symbol.lower()}@markPrice@1s", payload)
        return payload


def _kline_event(
    symbol: str, interval: str, row: list[Any], now: int, closed: bool, last_trade_id: int
) -> dict[str, Any]:
    """A ``kline`` event from a REST kline row. Trade ids: the candle's ``n`` newest trades
    when it is the current one (ids are consecutive per symbol); -1 for a closed candle."""
    trades = row[8]
    first, last = (last_trade_id - trades + 1, last_trade_id) if trades and not closed else (-1, -1)
    return {
        "e": "kline",
        "E": now,
        "s": symbol,
        "k": {
            "t": row[0],
            "T": row[6],
            "s": symbol,
            "i": interval,
            "f": first,
            "L": last,
            "o": row[1],
            "c": row[4],
            "h": row[2],
            "l": row[3],
            "v": row[5],
            "n": trades,
            "x": closed,
            "q": row[7],
            "V": row[9],
            "Q": row[10],
            "B": "0",
        },
    }
