"""Which WebSocket paths and stream names the simulator serves, and the feed behind each name.

Paths (binance-usdm.md §1, §8.1, §12), each with or without a ``/private``, ``/market`` or
``/public`` category prefix — the 2026 routed URLs and the root ones from before: ``/ws``,
``/ws/`` and ``/ws/<item>[/<item>…]`` (raw payloads), ``/stream`` and ``/stream/`` (combined:
``{"stream", "data"}``). An item is a stream name or a listenKey; ``?listenKey=``,
``?streams=a/b`` (listenKeys may stand among the streams, as in a combined stream) and
``SUBSCRIBE`` add more. Every category serves every stream: the real routing sends ``aggTrade``
only through ``/market`` and ``bookTicker`` only through ``/public``, but clients disagree on
the split (ccxt sends ``trade`` to ``/public``) and older ones build root URLs.

Stream names served (symbol in lower case, as Binance requires; upper case is accepted too):

====================================  ==========================================================
``<s>@depth[@0ms|@100ms|@250ms|@500ms]``   diff depth, from the ``<s>@depth@100ms`` feed
``<s>@depth5|10|20[@<speed>]``            partial book, from ``<s>@depthN@100ms``
``<s>@bookTicker``, ``!bookTicker``       best bid/ask, on change
``<s>@aggTrade``, ``<s>@trade``           every trade (``trade`` is undocumented for futures but
                                          live: a 2026 report shows it streaming on fstream)
``<s>@markPrice[@1s]``                    mark price every second (``@1s`` feed)
``!markPrice@arr[@1s]``                   every symbol's mark price, every second
``<s>@kline_<interval>``                  the current candle every second; a closing candle once
                                          more with ``"x": true``
====================================  ==========================================================

Slower speeds are served at the faster rate (a client asking for 500 ms gets 100 ms). Any other
name — a stream the simulator does not build (``@ticker``, ``@miniTicker``, ``@forceOrder``,
``@compositeIndex``…) or a malformed name — is refused the way Binance refuses an invalid
stream: ``{"error": {"code": 2, "msg": "Invalid request: invalid stream"}, "id": …}`` to a
SUBSCRIBE, and the same body with HTTP 400 (no upgrade) when it is in the URL. A well-formed name
of a symbol it does not list is taken and stays silent, as Binance does: a client subscribing a
list of symbols in one URL must not lose all of them to one it mistyped (the node's market-data
feed tells the silent one by name).
"""

from __future__ import annotations

import re

from .klines import INTERVAL_MS

__all__ = ["INVALID_STREAM", "canonical_stream", "classify_ws_path", "is_listen_key"]

CATEGORIES = ("/private", "/market", "/public")
INVALID_STREAM = {"code": 2, "msg": "Invalid request: invalid stream"}

_SPEED = r"(?:@(?:0|100|250|500)ms)?"
_DEPTH_DIFF = re.compile(rf"([a-z0-9_]+)@depth{_SPEED}")
_PARTIAL_DEPTH = re.compile(rf"([a-z0-9_]+)@depth(5|10|20){_SPEED}")
_MARK_PRICE = re.compile(r"([a-z0-9_]+)@markPrice(?:@1s)?")
_SIMPLE = re.compile(r"([a-z0-9_]+)@(bookTicker|aggTrade|trade)")
_KLINE = re.compile(r"([a-z0-9_]+)@kline_([0-9]+[mhd])")
_ALL_MARKS = re.compile(r"!markPrice@arr(?:@1s)?")
_LISTEN_KEY = re.compile(r"[A-Za-z0-9]{8,128}")


def classify_ws_path(path: str) -> tuple[bool, str | None] | None:
    """Return ``(stream_mode, what follows /ws/ in the path)`` for a WebSocket path, else None."""
    for prefix in CATEGORIES:
        if path.startswith(prefix):
            path = path[len(prefix) :]
            break
    if path in ("/ws", "/ws/"):
        return False, None
    if path.startswith("/ws/"):
        return False, path[4:]
    if path in ("/stream", "/stream/"):
        return True, None
    return None


def is_listen_key(item: str) -> bool:
    """A listenKey rather than a stream name: no ``@``, no ``!``, letters and digits."""
    return _LISTEN_KEY.fullmatch(item) is not None


def canonical_stream(name: str) -> str | None:
    """The exchange's feed serving a requested market stream name, or None if it is not served
    (a well-formed name of a symbol the exchange does not list is served: nothing is ever
    published on it, as on Binance)."""
    if name == "!bookTicker":
        return name
    if _ALL_MARKS.fullmatch(name):
        return "!markPrice@arr@1s"
    symbol, at, rest = name.partition("@")
    name = symbol.lower() + at + rest  # an unlisted symbol's stream is taken and stays silent
    if match := _DEPTH_DIFF.fullmatch(name):
        return f"{match.group(1)}@depth@100ms"
    if match := _PARTIAL_DEPTH.fullmatch(name):
        return f"{match.group(1)}@depth{match.group(2)}@100ms"
    if match := _MARK_PRICE.fullmatch(name):
        return f"{match.group(1)}@markPrice@1s"
    if _SIMPLE.fullmatch(name):
        return name
    if (match := _KLINE.fullmatch(name)) and match.group(2) in INTERVAL_MS:
        return name
    return None
