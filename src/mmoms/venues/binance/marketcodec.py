"""Market-data codec for Binance USDⓈ-M (pure): what to subscribe to, on which route, and one
combined-stream message → one :mod:`mmoms.core.market` update.

Decisions (binance-usdm.md §1, §10):

* **Routes.** Since 2026-04-23 production serves the high-frequency streams (``bookTicker``,
  ``depth*``) only under ``/public`` and the regular ones (``aggTrade``, ``markPrice``) only under
  ``/market``; the root ``/stream`` there delivers public-category streams only. That is
  :attr:`RouteMode.SPLIT`, one combined connection per route. The testnet / demo stream hosts
  (``fstream.binancefuture.com``, ``demo-fstream.binance.com``) are served on the root route by
  every client we checked (NautilusTrader captured the testnet payloads we test against from the
  root URL; node-binance-api keeps legacy URLs there) and whether they serve ``/public`` and
  ``/market`` is unconfirmed: :attr:`RouteMode.ROOT`, everything on ``{base}/stream``.
  :func:`route_mode_for` picks by host; the simulator serves both.
* **Only what we asked for.** The combined envelope names the stream; a message is used only if
  that name is one we subscribed to, its ``e`` is that stream's event and its ``s`` that stream's
  symbol. So a diff-depth message can never pass for a partial-book snapshot, and a stray symbol
  never lands in the state. One msgspec decode per message does type dispatch and Decimal parsing.
* **Sane or nothing.** Prices and sizes must be finite, positive and within 10^-18..10^15; a
  top of book must not be crossed; depth levels strictly ordered, best first. Anything else (and
  anything unreadable) returns None after a log line naming the stream and the field — never the
  payload. Control replies (``{"result": null, "id": …}``) are logged at debug level.
* **Times.** ``ts_ns`` is the matching engine's transaction time ``T`` where the stream has one
  (bookTicker, depth, aggTrade; ``E`` if it is missing) and the event time ``E`` for markPrice,
  whose ``T`` is the next funding time.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from urllib.parse import urlsplit

import msgspec
from msgspec import field

from mmoms.core.enums import Side
from mmoms.core.ids import Symbol
from mmoms.core.market import (
    AnyMarketData,
    DepthUpdate,
    MarketUpdate,
    MarkPriceUpdate,
    PriceLevel,
    TradeUpdate,
)
from mmoms.venues.binance.codec import NANOS_PER_MS
from mmoms.venues.binance.schemas import Id, Ms

__all__ = [
    "DEPTH_LEVELS",
    "MarketDataDecoder",
    "MarketSubscription",
    "RouteMode",
    "route_mode_for",
    "stream_urls",
    "subscriptions",
]

log = logging.getLogger("mmoms.venues.binance.marketdata")

DEPTH_LEVELS = (5, 10, 20)
MAX_STREAMS_PER_CONNECTION = 200  # the older documented limit (newer notes say 1024)
_SYMBOL_RE = re.compile(r"[A-Z0-9_]{1,32}")
_PUBLIC_ROUTE, _MARKET_ROUTE = "/public", "/market"
_MAX_ADJUSTED, _MIN_ADJUSTED = 15, -18  # a sane price or size lies in [1e-18, 1e15]
_MAX_LEVELS = 1000
# What decoding garbage may raise besides msgspec's errors (see streamcodec).
_UNREADABLE = (msgspec.DecodeError, RecursionError, UnicodeError)


class RouteMode(StrEnum):
    SPLIT = "split"  # /public/stream for bookTicker + depth, /market/stream for the rest
    ROOT = "root"  # everything on /stream


def route_mode_for(stream_url: str) -> RouteMode:
    """The route mode a stream host needs (see the module docstring)."""
    host = (urlsplit(stream_url).hostname or "").lower()
    if host.endswith("binancefuture.com") or host.startswith("demo-fstream."):
        return RouteMode.ROOT
    return RouteMode.SPLIT


@dataclass(frozen=True, slots=True)
class MarketSubscription:
    """One symbol's streams: top of book and mark price always; partial depth and trades if
    asked. Raises ValueError for a symbol that is not upper-case Binance style or a depth not
    in :data:`DEPTH_LEVELS`."""

    symbol: Symbol
    depth: int | None = None  # 5, 10 or 20 levels at 100 ms
    trades: bool = False  # aggTrade

    def __post_init__(self) -> None:
        if _SYMBOL_RE.fullmatch(self.symbol) is None:
            raise ValueError(f"not a Binance symbol: {self.symbol!r}")
        if self.depth is not None and self.depth not in DEPTH_LEVELS:
            raise ValueError(f"depth must be one of {DEPTH_LEVELS}, not {self.depth!r}")

    def streams(self) -> list[tuple[str, type[_Event]]]:
        """``(stream name, its event struct)``, names as Binance spells them."""
        lower = self.symbol.lower()
        out: list[tuple[str, type[_Event]]] = [
            (f"{lower}@bookTicker", _BookTicker),
            (f"{lower}@markPrice@1s", _MarkPrice),
        ]
        if self.depth is not None:
            out.append((f"{lower}@depth{self.depth}@100ms", _Depth))
        if self.trades:
            out.append((f"{lower}@aggTrade", _AggTrade))
        return out


def subscriptions(
    symbols: Iterable[str], *, depth: int | None = None, trades: bool = False
) -> tuple[MarketSubscription, ...]:
    """The same subscription for every symbol."""
    return tuple(MarketSubscription(Symbol(s), depth, trades) for s in symbols)


def stream_urls(
    base_url: str,
    routes: RouteMode,
    subs: Iterable[MarketSubscription],
    *,
    max_streams: int = MAX_STREAMS_PER_CONNECTION,
) -> list[str]:
    """The combined-stream URLs that carry ``subs`` (one per route, split past ``max_streams``)."""
    base = base_url.rstrip("/")
    by_route: dict[str, list[str]] = {}
    for sub in subs:
        for name, event in sub.streams():
            public = event is _BookTicker or event is _Depth
            route = "" if routes is RouteMode.ROOT else _PUBLIC_ROUTE if public else _MARKET_ROUTE
            by_route.setdefault(route, []).append(name)
    return [
        f"{base}{route}/stream?streams={'/'.join(names[i : i + max_streams])}"
        for route, names in sorted(by_route.items())
        for i in range(0, len(names), max_streams)
    ]


# -- wire shapes -----------------------------------------------------------------------------


class _Tagged(msgspec.Struct, frozen=True, kw_only=True, tag_field="e", gc=False):
    symbol: str = field(name="s")
    event_ms: Ms = field(name="E", default=0)
    transact_ms: Ms = field(name="T", default=0)


class _BookTicker(_Tagged, frozen=True, kw_only=True, tag="bookTicker"):
    bid: Decimal = field(name="b")
    bid_qty: Decimal = field(name="B")
    ask: Decimal = field(name="a")
    ask_qty: Decimal = field(name="A")


class _Depth(_Tagged, frozen=True, kw_only=True, tag="depthUpdate"):
    bids: tuple[tuple[Decimal, Decimal], ...] = field(name="b")
    asks: tuple[tuple[Decimal, Decimal], ...] = field(name="a")


class _AggTrade(_Tagged, frozen=True, kw_only=True, tag="aggTrade"):
    price: Decimal = field(name="p")
    quantity: Decimal = field(name="q")
    buyer_is_maker: bool = field(name="m")
    agg_id: Id = field(name="a", default=0)


class _MarkPrice(_Tagged, frozen=True, kw_only=True, tag="markPriceUpdate"):
    mark: Decimal = field(name="p")
    index: str = field(name="i", default="")  # "" on contracts without one
    funding_rate: str = field(name="r", default="")  # "" on delivery contracts
    # T here is the next funding time, not a transaction time


_Event = _BookTicker | _Depth | _AggTrade | _MarkPrice


class _Envelope(msgspec.Struct, frozen=True, gc=False):
    stream: str
    data: _Event


class _Header(msgspec.Struct, frozen=True, gc=False):
    """Enough to tell a control reply or an error frame from a broken market message."""

    stream: str | None = None
    id: str | int | None = None
    error: dict[str, object] | None = None


class _InsaneError(ValueError):
    """A field holds a value no market has (NaN, ≤ 0, 1e999, a crossed book)."""


# -- the decoder -----------------------------------------------------------------------------


@dataclass(slots=True)
class DecoderStats:
    messages: int = 0
    decoded: int = 0
    ignored: int = 0


class MarketDataDecoder:
    """Stateless apart from counters; knows the streams it may accept."""

    def __init__(self, subs: Iterable[MarketSubscription]) -> None:
        self._streams: dict[str, tuple[Symbol, type[_Event]]] = {}
        for sub in subs:
            for name, event in sub.streams():
                self._streams[name] = (sub.symbol, event)
        self._decode = msgspec.json.Decoder(_Envelope).decode
        self._header = msgspec.json.Decoder(_Header).decode
        self.stats = DecoderStats()

    @property
    def stream_names(self) -> list[str]:
        return list(self._streams)

    def decode(self, data: str | bytes, received_ns: int) -> AnyMarketData | None:
        """The update one message carries, or None (after a log line) if it carries none."""
        self.stats.messages += 1
        try:
            env = self._decode(data)
        except _UNREADABLE as exc:
            self._unreadable(data, exc)
            return None
        expected = self._streams.get(env.stream)
        if expected is None:
            return self._ignore("%.64r is not a stream we subscribed to", env.stream)
        symbol, kind = expected
        if type(env.data) is not kind or env.data.symbol != symbol:
            return self._ignore("%s: wrong event type or symbol in the payload", env.stream)
        try:
            update = _convert(env.data, symbol, received_ns)
        except (_InsaneError, ArithmeticError) as exc:
            return self._ignore("%s: ignored, %s", env.stream, exc)
        self.stats.decoded += 1
        return update

    def _ignore(self, fmt: str, *args: object) -> AnyMarketData | None:
        """Count and log a message we cannot use; returns None for ``decode`` to pass on."""
        self.stats.ignored += 1
        log.warning("market data: " + fmt, *args)
        return None

    def _unreadable(self, data: str | bytes, exc: Exception) -> None:
        self.stats.ignored += 1
        try:
            if isinstance(exc, RecursionError):
                raise exc
            header = self._header(data)
        except _UNREADABLE:
            log.warning("market data: unreadable message (%d chars), ignored", len(data))
            return
        if header.stream is None and header.error is not None:
            log.warning("market data: the stream sent an error frame (id %r)", header.id)
        elif header.stream is None and header.id is not None:
            log.debug("market data: control reply (id %r)", header.id)
        else:
            # msgspec's message names the field (and at most a short value), never the payload
            log.warning("market data: malformed message (%d chars): %.120s", len(data), exc)


def _convert(event: _Event, symbol: Symbol, received_ns: int) -> AnyMarketData:
    if isinstance(event, _BookTicker):
        bid, ask = _price(event.bid, "b"), _price(event.ask, "a")
        if bid >= ask:
            raise _InsaneError("crossed or locked top of book")
        return MarketUpdate(
            symbol=symbol,
            bid=bid,
            ask=ask,
            bid_qty=_price(event.bid_qty, "B"),
            ask_qty=_price(event.ask_qty, "A"),
            ts_ns=(event.transact_ms or event.event_ms) * NANOS_PER_MS,
            received_ns=received_ns,
        )
    if isinstance(event, _Depth):
        bids, asks = _levels(event.bids, "b", True), _levels(event.asks, "a", False)
        if bids and asks and bids[0].price >= asks[0].price:
            raise _InsaneError("crossed book")
        return DepthUpdate(
            symbol=symbol,
            bids=bids,
            asks=asks,
            ts_ns=(event.transact_ms or event.event_ms) * NANOS_PER_MS,
            received_ns=received_ns,
        )
    if isinstance(event, _AggTrade):
        return TradeUpdate(
            symbol=symbol,
            price=_price(event.price, "p"),
            quantity=_price(event.quantity, "q"),
            aggressor=Side.SELL if event.buyer_is_maker else Side.BUY,
            trade_id=event.agg_id,
            ts_ns=(event.transact_ms or event.event_ms) * NANOS_PER_MS,
            received_ns=received_ns,
        )
    index = _optional(event.index, "i")
    rate = _optional(event.funding_rate, "r", signed=True)
    return MarkPriceUpdate(
        symbol=symbol,
        mark_price=_price(event.mark, "p"),
        index_price=None if index is None else _price(index, "i"),
        funding_rate=rate,
        next_funding_ns=event.transact_ms * NANOS_PER_MS if event.transact_ms else None,
        ts_ns=event.event_ms * NANOS_PER_MS,
        received_ns=received_ns,
    )


def _price(value: Decimal, name: str) -> Decimal:
    """``value`` if it is a sane positive amount; raises _InsaneError naming the field."""
    if value.is_finite() and value > 0 and _MIN_ADJUSTED <= value.adjusted() <= _MAX_ADJUSTED:
        return value
    raise _InsaneError(f"{name} is not a sane positive number")


def _optional(text: str, name: str, *, signed: bool = False) -> Decimal | None:
    """A decimal the venue may leave empty; a signed one (a funding rate) must be below 1."""
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise _InsaneError(f"{name} is not a number") from None
    if signed and not (value.is_finite() and abs(value) < 1):
        raise _InsaneError(f"{name} is not a sane rate")
    return value


def _levels(
    raw: tuple[tuple[Decimal, Decimal], ...], name: str, descending: bool
) -> tuple[PriceLevel, ...]:
    if len(raw) > _MAX_LEVELS:
        raise _InsaneError(f"{name} has too many levels")
    out: list[PriceLevel] = []
    for price, qty in raw:
        level = PriceLevel(_price(price, name), _price(qty, name))
        if out and (price >= out[-1].price if descending else price <= out[-1].price):
            raise _InsaneError(f"{name} levels are not ordered best first")
        out.append(level)
    return tuple(out)
