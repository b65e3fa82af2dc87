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
* ``<sym>@markPrice@1s`` — every whole second of exchange time.

``aggTrade`` is emitted by the matching engine as trades happen, not here. Every payload carries
``st`` (1 = USDⓈ-M, since the 2026 CM-UM integration) and, where live captures show it, ``ps``
(the pair); the mark price also carries ``ap``, the moving-average mark.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .specs import fmt8

if TYPE_CHECKING:
    from .market import SyntheticMarket
    from .symbol_state import SymbolState

__all__ = ["PARTIAL_LEVELS", "MarketPublisher"]

PARTIAL_LEVELS = (5, 10, 20)
MARK_STREAM_MS = 1000
FUNDING_INTERVAL_MS = 28_800_000

Sink = Callable[[str, dict[str, Any]], None]


class MarketPublisher:
    def __init__(
        self, states: Mapping[str, SymbolState], markets: Mapping[str, SyntheticMarket]
    ) -> None:
        self._states = states
        self._markets = markets
        self._last_depth_id: dict[str, int] = {}
        self._last_top: dict[str, Any] = {}
        self._partial: dict[str, tuple[int, ...]] = {}  # symbol -> levels with subscribers

    def reset(self, tracking: bool) -> None:
        """Start (or stop) tracking book changes; the next diff continues from the book now."""
        for symbol, state in self._states.items():
            state.book.track_changes = tracking
            state.book.drain_changes()
            self._last_depth_id[symbol] = state.book.update_id

    def set_feeds(self, feeds: frozenset[str]) -> None:
        """The transport's subscribed feed names; decides which partial books are built."""
        partial: dict[str, list[int]] = {}
        for symbol in self._states:
            lower = symbol.lower()
            for levels in PARTIAL_LEVELS:
                if f"{lower}@depth{levels}@100ms" in feeds:
                    partial.setdefault(symbol, []).append(levels)
        self._partial = {s: tuple(v) for s, v in partial.items()}

    def publish(self, sink: Sink, now: int) -> None:
        for symbol, state in self._states.items():
            self._depth(sink, symbol, state, now)
            self._book_ticker(sink, symbol, state, now)
            if now % MARK_STREAM_MS == 0:
                self._mark(sink, symbol, state, now)

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
        sink(
            f"{symbol.lower()}@bookTicker",
            {
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
            },
        )

    def _mark(self, sink: Sink, symbol: str, state: SymbolState, now: int) -> None:
        market = self._markets[symbol]
        sink(
            f"{symbol.lower()}@markPrice@1s",
            {
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
            },
        )
