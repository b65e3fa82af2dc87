"""WebSocket streams: listenKey (user-data) and market subscriptions, and their fan-out.

Design decisions (binance-usdm.md §1, §8.1, §12):

* Every path and stream name clients use is served (the list, and how anything else is refused:
  :mod:`mmoms.sim.stream_names`): ``/ws?listenKey=K`` and ``/ws/?listenKey=K`` (ccxt,
  NautilusTrader, python-binance), ``/ws/K`` (the official Connect page; legacy root form),
  ``/ws/<stream>[/<stream>…]``, and ``/stream`` where subscriptions come from
  ``?listenKey=K&events=A/B``, ``?streams=a/b`` (listenKeys among them too) or ``SUBSCRIBE``
  messages (the official SDK opens ``/market/stream``, ``/public/stream`` and
  ``/private/stream``), all with or without the category prefix. ``/ws`` connections get raw
  payloads; ``/stream`` connections get ``{"stream": <name or listenKey>, "data": payload}``.
* ``events=A/B`` after a listenKey filters that key's events by their ``e`` field.
* Market streams are whatever the exchange publishes through ``on_market_event``; a requested
  name maps to the feed serving it (a slower speed to the faster feed). A name no feed serves
  is refused: an error reply to SUBSCRIBE, HTTP 400 (no upgrade) in the URL. The hub tells the
  exchange when the first market subscriber arrives and the last leaves, so it builds no
  market payloads nobody reads.
* At DEBUG it logs each connection's path, each subscription and each refusal, listenKeys
  shortened (they are credentials: :func:`mmoms.sim.stream_conn.short_key`).
* :meth:`StreamHub.publish` (the exchange's ``on_user_event``) and :meth:`publish_market` run
  inside the exchange's call stack, so they never await: each payload is encoded once and the
  frame appended to every subscriber's bounded queue; a writer task per connection drains it.
  A connection whose queue overflows is closed (a slow reader must not grow memory unbounded).
* ``listenKeyExpired`` goes only to subscriptions of that key, after which the subscription is
  dropped and a connection left with nothing is closed. :meth:`sweep` also drops subscriptions
  whose key the exchange no longer knows (deleted, or expired without an event).
* An unknown listenKey at connect time gets an error frame, then close code 1008.
* The hub reports the set of feeds with subscribers (``on_market_feeds``) so the exchange
  builds only the partial books and candles someone reads.
* Faults (:mod:`mmoms.sim.faults`): user-data events may be dropped, duplicated or reordered per
  connection (:mod:`mmoms.sim.stream_faults`); every outbound frame may be delayed (on the
  simulator's clock, :mod:`mmoms.sim.timers`) or end the connection. :meth:`StreamHub.disconnect`
  drops connections on demand: ``abort`` cuts the TCP connection without a close frame (what a
  network failure looks like), ``close`` sends 1001 "going away".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from aiohttp import WSMsgType, web

from mmoms.sim.clock import SimClock
from mmoms.sim.faults import FaultInjector
from mmoms.sim.stream_conn import StreamConnection, redact_target, short_key
from mmoms.sim.stream_faults import Held
from mmoms.sim.stream_names import (
    INVALID_STREAM,
    canonical_stream,
    classify_ws_path,
    is_listen_key,
)
from mmoms.sim.timers import LiveSleeper, Sleeper

__all__ = ["StreamHub", "canonical_stream", "classify_ws_path"]

log = logging.getLogger(__name__)

_NO_KEY_MSG = "This listenKey does not exist."
_ERR_NO_KEY = {"code": -1125, "msg": _NO_KEY_MSG}
_CLOSE_NORMAL, _CLOSE_GOING_AWAY, _CLOSE_POLICY = 1000, 1001, 1008
_DRAIN_TIMEOUT_S = 1.0


class StreamHub:
    """Every stream connection, indexed by account (user data) and by market feed."""

    def __init__(
        self,
        listen_key_owner: Callable[[str], str | None],
        *,
        on_market_interest: Callable[[bool], None] | None = None,
        on_market_feeds: Callable[[frozenset[str]], None] | None = None,
        ping_interval_s: float = 180.0,
        queue_size: int = 10_000,
        faults: FaultInjector | None = None,
        clock: SimClock | None = None,
        sleeper: Sleeper | None = None,
    ) -> None:
        self._owner = listen_key_owner
        self._on_market_interest = on_market_interest
        self._on_market_feeds = on_market_feeds
        self.faults = faults
        self._clock = clock
        self._sleeper: Sleeper = sleeper or LiveSleeper()
        self._next_conn_id = 0
        self._ping_interval_s = ping_interval_s
        self._queue_size = queue_size
        self._encode = msgspec.json.Encoder().encode
        # Insertion-ordered sets as dicts with None values.
        self._by_account: dict[str, dict[StreamConnection, None]] = {}
        self._by_feed: dict[str, dict[tuple[StreamConnection, str], None]] = {}
        self._connections: set[StreamConnection] = set()

    @property
    def connection_count(self) -> int:
        return len(self._connections)

    # -- the exchange's callbacks -----------------------------------------------------------------

    def publish(self, api_key: str, event: dict[str, Any]) -> None:
        """Deliver one user-data event to every connection subscribed to ``api_key``'s keys."""
        connections = self._by_account.get(api_key)
        if not connections:
            return
        raw = self._encode(event)
        event_type = event.get("e")
        expired_key = event.get("listenKey") if event_type == "listenKeyExpired" else None
        faults = (
            self.faults if self.faults is not None and self.faults.has_user_event_rules else None
        )
        for conn in list(connections):
            for key, (owner, events) in list(conn.subs.items()):
                if owner != api_key or (expired_key is not None and key != expired_key):
                    continue
                if events is not None and event_type not in events:
                    continue
                frame = (
                    b'{"stream":"%s","data":%s}' % (key.encode(), raw) if conn.stream_mode else raw
                )
                frames = [frame] if faults is None else self._shape(conn, event, frame, faults)
                if not all(conn.send(f) for f in frames):
                    self._drop(conn)
                    break
            if expired_key is not None and expired_key in conn.subs:
                self._unsubscribe_key(conn, expired_key, api_key)
                if not conn.subs and not conn.market:
                    conn.close_later(_CLOSE_NORMAL, b"listenKey expired")

    def _shape(
        self, conn: StreamConnection, event: dict[str, Any], frame: bytes, faults: FaultInjector
    ) -> list[bytes]:
        """Apply drop / duplicate / reorder faults to one event on one connection."""
        now = self._now()
        event_type = event.get("e")
        inner = event.get("o")
        order = inner.get("i") if event_type == "ORDER_TRADE_UPDATE" and inner else None
        item = Held(frame, event_type, order)
        decision = faults.user_event(conn.conn_id, event, now)
        action, hold_ms = decision if decision is not None else (None, 0)
        frames, overtaken = conn.shaper.push(item, action, now + hold_ms)
        if overtaken is not None:
            faults.record(
                "user_event_reorder",
                now,
                conn=conn.conn_id,
                held=overtaken.event_type,
                held_order=overtaken.order,
                overtaken_by=event_type,
                overtaken_by_order=order,
            )
        return frames

    def flush_held(self) -> None:
        """Release events a reorder fault held longer than its hold time (nothing overtook
        them)."""
        now = self._now()
        for conn in list(self._connections):
            if conn.shaper.held is not None:
                for frame in conn.shaper.flush(now):
                    if not conn.send(frame):
                        self._drop(conn)
                        break

    def disconnect(self, target: str, mode: str = "abort", api_key: str | None = None) -> int:
        """Drop connections of ``target`` (user / market / all), optionally one account's;
        returns how many. ``abort`` cuts TCP, ``close`` sends 1001."""
        chosen = [
            c
            for c in self._connections
            if target in ("all", c.kind)
            and (api_key is None or any(owner == api_key for owner, _ in c.subs.values()))
        ]
        for conn in chosen:
            self._cut(conn, mode)
        return len(chosen)

    def _cut(self, conn: StreamConnection, mode: str) -> None:
        self._forget(conn)
        conn.frames.clear()
        if mode == "abort" and conn.transport is not None:
            conn.transport.abort()
        conn.close_later(_CLOSE_GOING_AWAY, b"disconnected")

    async def drain(self, high_water: int) -> None:
        """Wait (bounded) until no connection has more than ``high_water`` frames queued, so a
        long virtual-time advance does not overflow the queues of readers that keep up."""
        for conn in list(self._connections):
            if len(conn.frames) > high_water and conn.close_request is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(conn.drained.wait(), _DRAIN_TIMEOUT_S)

    def _now(self) -> int:
        return self._clock.time_ms() if self._clock is not None else 0

    def publish_market(self, stream: str, payload: dict[str, Any]) -> None:
        """Deliver one market payload to the subscribers of feed ``stream``."""
        subscribers = self._by_feed.get(stream)
        if not subscribers:
            return
        raw = self._encode(payload)
        for conn, name in list(subscribers):
            if not conn.send(_wrap(name, raw) if conn.stream_mode else raw):
                self._drop(conn)

    def sweep(self) -> None:
        """Drop subscriptions whose listenKey the exchange no longer knows (deleted/expired)."""
        for api_key, connections in list(self._by_account.items()):
            for conn in list(connections):
                for key, (owner, _) in list(conn.subs.items()):
                    if owner == api_key and self._owner(key) != api_key:
                        self._unsubscribe_key(conn, key, api_key)
                if not conn.subs and not conn.market:
                    conn.close_later(_CLOSE_NORMAL, b"listenKey closed")

    async def close_all(self) -> None:
        for conn in list(self._connections):
            conn.close_request = (_CLOSE_GOING_AWAY, b"server shutdown")
            with contextlib.suppress(Exception):
                await conn.ws.close(code=_CLOSE_GOING_AWAY, message=b"server shutdown")

    # -- connection handling ----------------------------------------------------------------------

    async def serve(
        self, request: web.BaseRequest, stream_mode: bool, path_item: str | None, query: str
    ) -> web.StreamResponse:
        """Upgrade ``request`` and run the connection until either side closes it; a stream
        name no feed serves is refused with HTTP 400 before the upgrade."""
        keys, streams = _initial_items(path_item, query)
        self._next_conn_id += 1
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "stream connection #%d %s from %s",
                self._next_conn_id,
                redact_target(request.raw_path),
                request.remote,
            )
        invalid = next((s for s in streams if self._feed_of(s) is None), None)
        if invalid is not None:
            log.info("stream connection refused: %r is no stream served here", invalid[:80])
            body = self._encode(INVALID_STREAM)
            return web.Response(status=400, body=body, content_type="application/json")
        ws = web.WebSocketResponse(heartbeat=self._ping_interval_s, autoping=True)
        conn = StreamConnection(ws, stream_mode, self._queue_size, self._next_conn_id)
        conn.transport = request.transport
        self._connections.add(conn)
        writer: asyncio.Task[None] | None = None
        try:
            # Subscribe before the handshake completes, so that no event published after the
            # client sees "101 Switching Protocols" can be missed.
            subscribed = self._subscribe_initial(conn, keys, streams)
            await ws.prepare(request)
            writer = asyncio.create_task(self._write_loop(conn))
            if subscribed:
                await self._read_loop(conn)
            else:
                await writer  # the error frame, then the close
        finally:
            self._forget(conn)
            if writer is not None and not writer.done():
                writer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await writer
            if ws.prepared and not ws.closed:
                await ws.close()
        return ws

    def _feed_of(self, name: str) -> str | None:
        return canonical_stream(name)

    def _subscribe_initial(
        self, conn: StreamConnection, keys: list[_KeySub], streams: list[str]
    ) -> bool:
        for key, events in keys:
            if not self._subscribe_key(conn, key, events):
                log.info(
                    "stream connection #%d: unknown listenKey %s", conn.conn_id, short_key(key)
                )
                conn.send(self._encode({"error": _ERR_NO_KEY}))
                conn.close_later(_CLOSE_POLICY, _NO_KEY_MSG.encode())
                return False
        for stream in streams:
            self._subscribe_market(conn, stream)
        if log.isEnabledFor(logging.DEBUG) and (keys or streams):
            names = [short_key(k) for k, _ in keys] + streams
            log.debug("stream connection #%d subscribes %s", conn.conn_id, " ".join(names))
        return True

    def _subscribe_key(
        self, conn: StreamConnection, key: str, events: frozenset[str] | None
    ) -> bool:
        owner = self._owner(key)
        if owner is None:
            return False
        conn.subs[key] = (owner, events)
        self._by_account.setdefault(owner, {})[conn] = None
        return True

    def _unsubscribe_key(self, conn: StreamConnection, key: str, owner: str | None) -> None:
        conn.subs.pop(key, None)
        if owner is None or any(o == owner for o, _ in conn.subs.values()):
            return
        connections = self._by_account.get(owner)
        if connections is not None:
            connections.pop(conn, None)
            if not connections:
                del self._by_account[owner]

    def _subscribe_market(self, conn: StreamConnection, name: str) -> None:
        feed = self._feed_of(name)
        if name in conn.market or feed is None:
            return
        conn.market[name] = feed
        was_idle = not self._by_feed
        is_new = feed not in self._by_feed
        self._by_feed.setdefault(feed, {})[(conn, name)] = None
        if was_idle and self._on_market_interest is not None:
            self._on_market_interest(True)
        if is_new and self._on_market_feeds is not None:
            self._on_market_feeds(frozenset(self._by_feed))

    def _unsubscribe_market(self, conn: StreamConnection, name: str) -> None:
        feed = conn.market.pop(name, None)
        subscribers = self._by_feed.get(feed) if feed is not None else None
        if subscribers is None:
            return
        subscribers.pop((conn, name), None)
        if not subscribers:
            del self._by_feed[feed]  # type: ignore[arg-type]
            if self._on_market_feeds is not None:
                self._on_market_feeds(frozenset(self._by_feed))
            if not self._by_feed and self._on_market_interest is not None:
                self._on_market_interest(False)

    def _drop(self, conn: StreamConnection) -> None:
        log.warning("stream connection too slow; closing it")
        self._forget(conn)
        conn.frames.clear()
        conn.close_later(_CLOSE_POLICY, b"slow consumer")

    def _forget(self, conn: StreamConnection) -> None:
        self._connections.discard(conn)
        for key, (owner, _) in list(conn.subs.items()):
            self._unsubscribe_key(conn, key, owner)
        for name in list(conn.market):
            self._unsubscribe_market(conn, name)

    async def _write_loop(self, conn: StreamConnection) -> None:
        ws, frames = conn.ws, conn.frames
        try:
            while True:
                await conn.wakeup.wait()
                conn.wakeup.clear()
                while frames:
                    if self.faults is not None and self.faults.has_ws_rules:
                        if not await self._frame_faults(conn):
                            return
                        if not frames:  # cut while we waited
                            break
                    await ws.send_frame(frames.popleft(), WSMsgType.TEXT)
                conn.drained.set()
                if conn.close_request is not None:
                    code, reason = conn.close_request
                    await ws.close(code=code, message=reason)
                    return
        except (ConnectionError, RuntimeError):  # the peer went away; the reader sees it too
            log.debug("stream connection lost while sending")

    async def _frame_faults(self, conn: StreamConnection) -> bool:
        """Latency and random disconnects for the next frame; False once the connection is cut."""
        assert self.faults is not None
        delay, disconnect = self.faults.ws_frame(conn.kind, conn.conn_id, self._now())
        if delay:
            await self._sleeper.sleep_ms(delay)
        if disconnect is not None:
            self._cut(conn, disconnect)
            if disconnect == "close":
                code, reason = conn.close_request or (_CLOSE_GOING_AWAY, b"")
                await conn.ws.close(code=code, message=reason)
            return False
        return True

    async def _read_loop(self, conn: StreamConnection) -> None:
        async for msg in conn.ws:
            if msg.type is WSMsgType.TEXT:
                self._on_request(conn, msg.data)
            elif msg.type is WSMsgType.ERROR:
                return

    def _on_request(self, conn: StreamConnection, text: str) -> None:
        """Answer SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS like Binance's stream servers."""
        try:
            request = msgspec.json.decode(text)
        except (msgspec.DecodeError, RecursionError, UnicodeError):  # deep nesting, not UTF-8
            conn.send(self._encode({"error": {"code": 3, "msg": "Invalid JSON"}, "id": None}))
            return
        request_id = request.get("id") if isinstance(request, dict) else None
        if not isinstance(request, dict) or not _valid_id(request_id):
            conn.send(self._error(None, 2, "Invalid request"))
            return
        method, params = request.get("method"), request.get("params", [])
        if method == "LIST_SUBSCRIPTIONS":
            names = [*conn.subs, *conn.market]
            conn.send(self._encode({"result": names, "id": request_id}))
            return
        if method not in ("SUBSCRIBE", "UNSUBSCRIBE") or not isinstance(params, list):
            conn.send(self._error(request_id, 2, "Invalid request"))
            return
        if not all(isinstance(p, str) and p for p in params):
            conn.send(self._error(request_id, 1, "Invalid value type: expected String"))
            return
        if log.isEnabledFor(logging.DEBUG):
            shown = " ".join(short_key(p) if is_listen_key(p) else p[:80] for p in params)
            log.debug("stream connection #%d %s %s", conn.conn_id, method, shown)
        if method == "UNSUBSCRIBE":
            for name in params:
                if name in conn.subs:
                    self._unsubscribe_key(conn, name, conn.subs[name][0])
                self._unsubscribe_market(conn, name)
            conn.send(self._encode({"result": None, "id": request_id}))
            return
        invalid = next(
            (p for p in params if not is_listen_key(p) and self._feed_of(p) is None), None
        )
        if invalid is not None:  # Binance's answer to a name it does not stream; none is taken
            log.info("stream connection #%d: %r is no stream served here", conn.conn_id, invalid)
            conn.send(self._encode({"error": INVALID_STREAM, "id": request_id}))
            return
        unknown = False
        for name in params:
            if not is_listen_key(name):
                self._subscribe_market(conn, name)
            elif not self._subscribe_key(conn, name, None):
                log.info(
                    "stream connection #%d: unknown listenKey %s", conn.conn_id, short_key(name)
                )
                unknown = True
        if unknown:
            conn.send(self._encode({"error": _ERR_NO_KEY, "id": request_id}))
            if not conn.subs and not conn.market:
                conn.close_later(_CLOSE_POLICY, _NO_KEY_MSG.encode())
            return
        conn.send(self._encode({"result": None, "id": request_id}))

    def _error(self, request_id: Any, code: int, msg: str) -> bytes:
        return self._encode({"error": {"code": code, "msg": msg}, "id": request_id})


_KeySub = tuple[str, frozenset[str] | None]  # listenKey, its event filter (None: every event)


def _initial_items(path_item: str | None, query: str) -> tuple[list[_KeySub], list[str]]:
    """The listenKeys and stream names a connection's URL asks for, in its path and query."""
    keys: list[_KeySub] = []
    streams: list[str] = []

    def add(item: str) -> None:
        if is_listen_key(item):
            keys.append((item, None))
        elif item:
            streams.append(item)

    for item in (path_item or "").split("/"):
        add(item)
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name == "listenKey" and value:
            keys.append((value, None))
        elif name == "events" and keys:
            keys[-1] = (keys[-1][0], frozenset(e for e in value.split("/") if e))
        elif name == "streams":  # a combined stream may carry listenKeys among the streams
            for item in value.split("/"):
                add(item)
    return keys, streams


def _wrap(stream: str, raw: bytes) -> bytes:
    """The combined-stream envelope, built without re-encoding the payload."""
    return b'{"stream":"%s","data":%s}' % (stream.encode(), raw)


def _valid_id(request_id: Any) -> bool:
    return request_id is None or (
        isinstance(request_id, (int, str)) and not isinstance(request_id, bool)
    )
