"""The user-data stream shell: listenKey upkeep, connection, reconnection, gap signals.

The decisions live in pure parts (:class:`~.listenkey.ListenKeyLifecycle` decides what to do
with the key, :class:`~.streamcodec.UserStreamDecoder` turns bytes into reports); this shell
only carries out their actions and moves bytes. Two tasks, both owned by :meth:`UserStream.run`:

* the *key task* ticks the lifecycle at its deadlines and performs its actions (POST / PUT /
  DELETE listenKey through :class:`ListenKeyApi`);
* the *connection task* connects ``{stream_url}/private/ws?listenKey=…``, emits a
  :class:`StreamGap` carrying the new epoch once the connection is up, then emits every report
  as a :class:`StreamItem` of that epoch, until the connection ends.

Reconnection: at once after a drop (no REST call in between: the key is still valid), so the
gap on loopback is one TCP + WebSocket handshake. Only repeated failures back off
(``reconnect_backoff_ns``); a connection that lived ``stable_after_ns`` resets the count. A
refused handshake or ``listenKeyExpired`` makes the lifecycle create a new key first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from mmoms.core.clock import NANOS_PER_MILLI, NANOS_PER_SECOND, Clock
from mmoms.core.errors import MmomsError
from mmoms.venues.binance.listenkey import (
    INVALID_LISTEN_KEY,
    Action,
    CloseKey,
    CreateKey,
    KeepAlive,
    ListenKeyLifecycle,
    UseKey,
)
from mmoms.venues.binance.streamcodec import (
    ListenKeyExpiredNotice,
    StreamErrorNotice,
    UserStreamDecoder,
)
from mmoms.venues.errors import NotSent, Rejected, VenueError
from mmoms.venues.gateway import StreamGap, StreamItem, StreamMessage
from mmoms.venues.transport import WsClosedError, WsConnection, WsConnector, WsHandshakeError

log = logging.getLogger("mmoms.venues.binance.userstream")

RENEW_AFTER_SHORT_CONNECTIONS = 3
RECONNECT_BACKOFF_NS: tuple[int, ...] = tuple(
    ms * NANOS_PER_MILLI for ms in (0, 0, 50, 100, 250, 500, 1000, 2000, 5000)
)


class ListenKeyApi(Protocol):
    async def create_listen_key(self) -> str:
        """POST /fapi/v1/listenKey. Raises a venue error kind on failure."""
        ...

    async def keepalive_listen_key(self) -> str | None:
        """PUT /fapi/v1/listenKey; the key if the venue returned one."""
        ...

    async def close_listen_key(self) -> None:
        """DELETE /fapi/v1/listenKey."""
        ...


class UserStream:
    """One account's user-data stream. ``emit`` receives gaps and items in order."""

    def __init__(
        self,
        *,
        api: ListenKeyApi,
        connector: WsConnector,
        stream_url: str,
        clock: Clock,
        emit: Callable[[StreamMessage], Awaitable[None]],
        lifecycle: ListenKeyLifecycle | None = None,
        connect_timeout_s: float = 5.0,
        reconnect_backoff_ns: tuple[int, ...] = RECONNECT_BACKOFF_NS,
        stable_after_ns: int = 2 * NANOS_PER_SECOND,
        close_key_on_shutdown: bool = False,
    ) -> None:
        self._api = api
        self._connector = connector
        self._base = stream_url.rstrip("/")
        self._clock = clock
        self._emit = emit
        self.lifecycle = lifecycle or ListenKeyLifecycle()
        self._connect_timeout_s = connect_timeout_s
        self._backoff = reconnect_backoff_ns
        self._stable_after_ns = stable_after_ns
        self._close_key_on_shutdown = close_key_on_shutdown
        self.decoder = UserStreamDecoder()
        self.epoch = 0
        self._key: str | None = None
        self._key_ready = asyncio.Event()
        self._wake = asyncio.Event()
        self._pending: list[Action] = []
        self._ws: WsConnection | None = None
        self._connected = asyncio.Event()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def wait_connected(self) -> None:
        await self._connected.wait()

    async def run(self) -> None:
        """Run until cancelled. Raises only on a programming or configuration error."""
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._key_task(), name="listenkey")
                tg.create_task(self._connection_task(), name="userstream")
        finally:
            await self._shutdown()

    def wake(self) -> None:
        """Let the key task look at the lifecycle now (after a clock jump in tests)."""
        self._wake.set()

    async def drop_connection(self) -> None:
        """Close the current connection (it reconnects at once); for tests and operators."""
        if self._ws is not None:
            await self._ws.close()

    # -- key task ------------------------------------------------------------------------------

    async def _key_task(self) -> None:
        while True:
            self._wake.clear()
            actions, self._pending = self._pending, []
            actions += self.lifecycle.tick(self._clock.monotonic_ns())
            await self._perform(actions)
            if self._wake.is_set() or self._pending:
                continue
            deadline = self.lifecycle.next_deadline_ns()
            timeout = None
            if deadline is not None:
                timeout = max(0, deadline - self._clock.monotonic_ns()) / NANOS_PER_SECOND
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def _perform(self, actions: list[Action]) -> None:
        while actions:
            action = actions.pop(0)
            if isinstance(action, CreateKey):
                actions += await self._create_key()
            elif isinstance(action, KeepAlive):
                actions += await self._keepalive()
            elif isinstance(action, UseKey):
                await self._use_key(action.key)
            elif isinstance(action, CloseKey):
                await self._close_key()

    async def _create_key(self) -> list[Action]:
        try:
            key = await self._api.create_listen_key()
        except (VenueError, MmomsError) as exc:
            log.warning("listenKey create failed: %s", exc)
            return self.lifecycle.create_failed(self._clock.monotonic_ns())
        log.info("listenKey created")
        return self.lifecycle.created(key, self._clock.monotonic_ns())

    async def _keepalive(self) -> list[Action]:
        try:
            returned = await self._api.keepalive_listen_key()
        except Rejected as exc:
            log.warning("listenKey keepalive rejected: %s", exc)
            return self.lifecycle.keepalive_failed(self._clock.monotonic_ns(), exc.code)
        except (VenueError, MmomsError) as exc:
            log.warning("listenKey keepalive failed: %s", exc)
            return self.lifecycle.keepalive_failed(self._clock.monotonic_ns(), None)
        return self.lifecycle.keepalive_ok(self._clock.monotonic_ns(), returned)

    async def _use_key(self, key: str) -> None:
        if key == self._key:
            return
        previous, self._key = self._key, key
        self._key_ready.set()
        if previous is not None and self._ws is not None:
            await self._ws.close()  # the connection task reconnects with the new key

    async def _close_key(self) -> None:
        try:
            await self._api.close_listen_key()
        except (VenueError, MmomsError) as exc:
            log.info("listenKey close failed: %s", exc)

    def _signal(self, actions: list[Action]) -> None:
        """Hand lifecycle actions raised by the stream to the key task."""
        if actions:
            self._pending += actions
            self._wake.set()

    # -- connection task -------------------------------------------------------------------------

    async def _connection_task(self) -> None:
        failures = 0
        reason = "initial connect"
        down_since_ns: int | None = None
        while True:
            await self._key_ready.wait()
            key = self._key
            assert key is not None
            try:
                ws = await self._connector.connect(
                    f"{self._base}/private/ws?listenKey={key}", timeout_s=self._connect_timeout_s
                )
            except WsHandshakeError as exc:
                log.warning("user stream refused (HTTP %s); renewing the listenKey", exc.status)
                self._forget_key(key)
                self._signal(self.lifecycle.stream_refused())
                failures += 1
                reason = f"stream refused (HTTP {exc.status})"
                await self._backoff_sleep(failures)
                continue
            except NotSent as exc:
                log.warning("user stream connect failed: %s", exc)
                failures += 1
                await self._backoff_sleep(failures)
                continue
            self.epoch += 1
            self._ws = ws
            up_mono = self._clock.monotonic_ns()
            self._connected.set()
            log.info("user stream connected (epoch %d, after: %s)", self.epoch, reason)
            await self._emit(
                StreamGap(
                    epoch=self.epoch,
                    ts_ns=self._clock.time_ns(),
                    reason=reason,
                    down_since_ns=down_since_ns,
                )
            )
            try:
                reason = await self._read(ws, key)
            finally:
                self._connected.clear()
                self._ws = None
                await ws.close()
            down_since_ns = self._clock.time_ns()
            log.warning("user stream lost (epoch %d): %s", self.epoch, reason)
            stable = self._clock.monotonic_ns() - up_mono >= self._stable_after_ns
            failures = 0 if stable else failures + 1
            if failures and failures % RENEW_AFTER_SHORT_CONNECTIONS == 0 and self._key == key:
                # Connections that keep dying at once may mean the venue dislikes our key
                # without saying so: get a fresh one (a POST returns the active key if valid).
                self._forget_key(key)
                self._signal(self.lifecycle.stream_refused())
            await self._backoff_sleep(failures)

    async def _read(self, ws: WsConnection, key: str) -> str:
        epoch = self.epoch
        while True:
            try:
                data = await ws.recv()
            except WsClosedError as exc:
                return str(exc)
            for item in self.decoder.decode(data, self._clock.time_ns()):
                if isinstance(item, ListenKeyExpiredNotice):
                    actions = self.lifecycle.expired(item.key or None)
                    if actions:
                        self._forget_key(key)
                        self._signal(actions)
                        return "listenKeyExpired"
                    continue
                if isinstance(item, StreamErrorNotice):
                    if item.code == INVALID_LISTEN_KEY:
                        self._forget_key(key)
                        self._signal(self.lifecycle.stream_refused())
                        return "listenKey refused (-1125)"
                    continue
                await self._emit(StreamItem(epoch, item))

    def _forget_key(self, key: str) -> None:
        if self._key == key:
            self._key = None
            self._key_ready.clear()

    async def _backoff_sleep(self, failures: int) -> None:
        if failures <= 0:
            return
        delay = self._backoff[min(failures, len(self._backoff)) - 1]
        if delay:
            await asyncio.sleep(delay / NANOS_PER_SECOND)

    async def _shutdown(self) -> None:
        self._connected.clear()
        if self._ws is not None:
            await self._ws.close()
        actions = self.lifecycle.close()
        if self._close_key_on_shutdown:
            await self._perform(actions)
