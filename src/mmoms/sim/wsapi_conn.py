"""The WebSocket API's transport: aiohttp connections around :class:`mmoms.sim.wsapi.WsApi`.

Requests of one connection are answered in arrival order, except those an injected latency
delays: each of those runs in a task of its own (owned by the connection, cancelled with it), so
a slow request does not hold up the next one — replies may then arrive out of order, as they may
from Binance. Outbound frames pass the same per-frame faults as the streams (latency, random
disconnect, target ``wsapi``), and :meth:`WsApiHub.disconnect` drops connections on demand.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable

from aiohttp import WSMsgType, web

from mmoms.sim.clock import SimClock
from mmoms.sim.faults import FaultInjector, RequestPlan
from mmoms.sim.timers import Sleeper
from mmoms.sim.wsapi import WsApi, WsApiSession, WsCall

__all__ = ["WsApiHub"]

log = logging.getLogger(__name__)

_CLOSE_GOING_AWAY = 1001


class _ApiConn:
    __slots__ = (
        "closing",
        "conn_id",
        "frames",
        "ip",
        "session",
        "tasks",
        "transport",
        "wakeup",
        "ws",
    )

    def __init__(self, ws: web.WebSocketResponse, conn_id: int, ip: str, now: int) -> None:
        self.ws = ws
        self.conn_id = conn_id
        self.ip = ip
        self.session = WsApiSession(connected_since=now)
        self.transport: asyncio.Transport | None = None
        self.frames: deque[bytes] = deque()
        self.wakeup = asyncio.Event()
        self.tasks: set[asyncio.Task[None]] = set()
        self.closing = False

    def send(self, frame: bytes) -> None:
        if not self.closing:
            self.frames.append(frame)
            self.wakeup.set()


class WsApiHub:
    def __init__(
        self,
        api: WsApi,
        clock: SimClock,
        faults: FaultInjector,
        sleeper: Sleeper,
        advance: Callable[[int], None],
        after_call: Callable[[WsCall], None],
        ping_interval_s: float = 180.0,
    ) -> None:
        self._api = api
        self._clock = clock
        self._faults = faults
        self._sleeper = sleeper
        self._advance = advance
        self._after_call = after_call
        self._ping_interval_s = ping_interval_s
        self._connections: set[_ApiConn] = set()
        self._next_id = 0

    @property
    def connection_count(self) -> int:
        return len(self._connections)

    async def serve(self, request: web.BaseRequest) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=self._ping_interval_s, autoping=True)
        self._next_id += 1
        conn = _ApiConn(ws, self._next_id, request.remote or "unknown", self._clock.time_ms())
        conn.transport = request.transport
        log.debug("WebSocket API connection #%d %s from %s", conn.conn_id, request.path, conn.ip)
        await ws.prepare(request)
        self._connections.add(conn)
        writer = asyncio.create_task(self._write_loop(conn))
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    self._on_text(conn, msg.data)
                elif msg.type is WSMsgType.ERROR:
                    break
        finally:
            self._connections.discard(conn)
            for task in [*conn.tasks, writer]:
                task.cancel()
            for task in [*conn.tasks, writer]:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if not ws.closed:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await ws.close()
        return ws

    def _on_text(self, conn: _ApiConn, text: str) -> None:
        call = self._api.parse(text)
        if isinstance(call, dict):
            conn.send(self._api.encode(call))
            return
        now = self._clock.time_ms()
        plan = None
        if call.endpoint is not None:
            plan = self._faults.plan_request(call.endpoint.key, call.method, now, "wsapi")
        if plan is not None and (plan.delay_before_ms or plan.delay_after_ms):
            task = asyncio.create_task(self._delayed(conn, call, plan))
            conn.tasks.add(task)
            task.add_done_callback(conn.tasks.discard)
        else:
            self._answer(conn, call, plan)

    async def _delayed(self, conn: _ApiConn, call: WsCall, plan: RequestPlan) -> None:
        await self._sleeper.sleep_ms(plan.delay_before_ms)
        reply = self._execute(conn, call, plan)
        await self._sleeper.sleep_ms(plan.delay_after_ms)
        conn.send(reply)

    def _answer(self, conn: _ApiConn, call: WsCall, plan: RequestPlan | None) -> None:
        conn.send(self._execute(conn, call, plan))

    def _execute(self, conn: _ApiConn, call: WsCall, plan: RequestPlan | None) -> bytes:
        now = self._clock.time_ms()
        self._advance(now)
        try:
            reply = self._api.execute(conn.session, call, conn.ip, now, plan)
        except Exception:  # a bug in the exchange: answer like REST does, keep the connection
            log.exception("unhandled error serving WebSocket API method %s", call.method)
            reply = {
                "id": call.request_id,
                "status": 500,
                "error": {
                    "code": -1000,
                    "msg": "An unknown error occured while processing the request.",
                },
            }
        self._after_call(call)
        if log.isEnabledFor(logging.DEBUG):  # the method and outcome; never the parameters
            error = reply.get("error")
            code = f" {error.get('code')}" if isinstance(error, dict) else ""
            log.debug(
                "WebSocket API #%d %s -> %s%s", conn.conn_id, call.method, reply.get("status"), code
            )
        return self._api.encode(reply)

    async def _write_loop(self, conn: _ApiConn) -> None:
        try:
            while True:
                await conn.wakeup.wait()
                conn.wakeup.clear()
                while conn.frames:
                    if self._faults.has_ws_rules:
                        delay, cut = self._faults.ws_frame(
                            "wsapi", conn.conn_id, self._clock.time_ms()
                        )
                        await self._sleeper.sleep_ms(delay)
                        if cut is not None:
                            self._cut(conn, cut)
                    if not conn.frames:
                        break
                    await conn.ws.send_frame(conn.frames.popleft(), WSMsgType.TEXT)
                if conn.closing:
                    await conn.ws.close(code=_CLOSE_GOING_AWAY, message=b"going away")
                    return
        except (ConnectionError, RuntimeError):
            log.debug("WebSocket API connection lost while sending")

    def disconnect(self, mode: str = "abort") -> int:
        """Drop every WebSocket API connection; returns how many."""
        chosen = list(self._connections)
        for conn in chosen:
            self._cut(conn, mode)
        return len(chosen)

    def _cut(self, conn: _ApiConn, mode: str) -> None:
        """``abort`` cuts TCP at once; ``close`` has the writer send 1001 and close."""
        conn.frames.clear()
        conn.closing = True
        if mode == "abort" and conn.transport is not None:
            conn.transport.abort()
        conn.wakeup.set()

    async def close_all(self) -> None:
        for conn in list(self._connections):
            with contextlib.suppress(Exception):
                await conn.ws.close(code=_CLOSE_GOING_AWAY, message=b"server shutdown")
