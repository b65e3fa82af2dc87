"""One stream WebSocket of :class:`mmoms.sim.userstream.StreamHub`: its subscriptions, its
bounded queue of outbound frames, and how it logs without giving a credential away."""

from __future__ import annotations

import asyncio
import re
from collections import deque

from aiohttp import web

from .stream_faults import EventShaper

__all__ = ["StreamConnection", "redact_target", "short_key"]

_LISTEN_KEY_PARAM = re.compile(r"(listenKey=)([^&]*)")
_SIGNATURE_PARAM = re.compile(r"(signature=)([^&]*)")
_PATH_ITEM = re.compile(r"(?<=[/=])([A-Za-z0-9]{40,})(?=[/&?]|$)")  # listenKeys: 60-64 chars


def short_key(key: str) -> str:
    """A listenKey (a credential: whoever has it reads the account's stream) as logs show it."""
    return f"{key[:4]}…({len(key)})"


def redact_target(target: str) -> str:
    """A request path and query fit for a log: signatures cut, listenKeys shortened."""
    target = _SIGNATURE_PARAM.sub(r"\1…", target)
    target = _LISTEN_KEY_PARAM.sub(lambda m: m.group(1) + short_key(m.group(2)), target)
    return _PATH_ITEM.sub(lambda m: short_key(m.group(1)), target)


class StreamConnection:
    """One WebSocket: its subscriptions and outbound frames."""

    __slots__ = (
        "close_request",
        "conn_id",
        "drained",
        "frames",
        "limit",
        "market",
        "shaper",
        "stream_mode",
        "subs",
        "transport",
        "wakeup",
        "ws",
    )

    def __init__(
        self, ws: web.WebSocketResponse, stream_mode: bool, limit: int, conn_id: int = 0
    ) -> None:
        self.ws = ws
        self.conn_id = conn_id
        self.transport: asyncio.Transport | None = None
        self.shaper = EventShaper()
        self.drained = asyncio.Event()
        self.stream_mode = stream_mode
        # listenKey -> (owning API key at subscribe time, event filter or None for all)
        self.subs: dict[str, tuple[str, frozenset[str] | None]] = {}
        self.market: dict[str, str] = {}  # requested stream name -> canonical feed
        self.frames: deque[bytes] = deque()
        self.limit = limit
        self.wakeup = asyncio.Event()
        self.close_request: tuple[int, bytes] | None = None

    @property
    def kind(self) -> str:
        """``user`` when it carries a listenKey, else ``market`` (the fault targets)."""
        return "user" if self.subs else "market"

    def send(self, frame: bytes) -> bool:
        """Queue a text frame; ``False`` when the queue is full (the caller closes us)."""
        if self.close_request is not None:
            return True
        if len(self.frames) >= self.limit:
            return False
        self.frames.append(frame)
        self.drained.clear()
        self.wakeup.set()
        return True

    def close_later(self, code: int, reason: bytes) -> None:
        """Ask the writer to close the socket once the frames already queued are sent."""
        if self.close_request is None:
            self.close_request = (code, reason)
            self.wakeup.set()
