"""The listenKey lifecycle as a pure state machine: fed clock ticks and replies, returns actions.

Binance rules (research notes §3.7, §8.1): a key lives 60 min; ``PUT`` extends it by 60 min; a
``POST`` while one is active returns the same key; ``-1125`` on keepalive means the key is gone
and must be recreated with ``POST``; the stream pushes ``listenKeyExpired`` when it lapses.

::

    IDLE ──tick(due)──▶ CREATING ──created──▶ ACTIVE ──tick(keepalive due)──▶ KEEPING_ALIVE
      ▲                    │ create_failed (backoff)         ▲        │ keepalive_ok
      └────────────────────┘                                 └────────┘
    ACTIVE / KEEPING_ALIVE ── -1125 · listenKeyExpired · stream refused · key lapsed ──▶ CREATING
    any ──close──▶ CLOSED

A transient keepalive failure keeps the key (it is valid until ``valid_until``) and retries
sooner; only once the key has certainly lapsed is it recreated. Every successful create emits
:class:`UseKey`; the stream shell reconnects only if the key differs from the one it uses.
Inputs that do not fit the current state (a late reply) are ignored and return no action.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from mmoms.core.clock import NANOS_PER_SECOND

KEY_VALIDITY_NS = 60 * 60 * NANOS_PER_SECOND
CREATE_BACKOFF_NS = tuple(seconds * NANOS_PER_SECOND for seconds in (0, 1, 2, 5, 10, 30))


class KeyState(StrEnum):
    IDLE = "IDLE"
    CREATING = "CREATING"
    ACTIVE = "ACTIVE"
    KEEPING_ALIVE = "KEEPING_ALIVE"
    CLOSED = "CLOSED"


@dataclass(frozen=True, slots=True)
class CreateKey:
    """POST /fapi/v1/listenKey, then call :meth:`ListenKeyLifecycle.created` / ``create_failed``."""


@dataclass(frozen=True, slots=True)
class KeepAlive:
    """PUT /fapi/v1/listenKey, then ``keepalive_ok`` / ``keepalive_failed``."""

    key: str


@dataclass(frozen=True, slots=True)
class UseKey:
    """The stream must be connected with this key (reconnect if it uses another)."""

    key: str


@dataclass(frozen=True, slots=True)
class CloseKey:
    """DELETE /fapi/v1/listenKey (best effort, on shutdown)."""

    key: str


Action = CreateKey | KeepAlive | UseKey | CloseKey

INVALID_LISTEN_KEY = -1125


class ListenKeyLifecycle:
    """State of one account's listenKey. All times are monotonic nanoseconds."""

    def __init__(
        self,
        *,
        keepalive_interval_ns: int = 30 * 60 * NANOS_PER_SECOND,
        keepalive_retry_ns: int = 60 * NANOS_PER_SECOND,
        create_backoff_ns: tuple[int, ...] = CREATE_BACKOFF_NS,
    ) -> None:
        self.state = KeyState.IDLE
        self.key: str | None = None
        self._keepalive_interval_ns = keepalive_interval_ns
        self._keepalive_retry_ns = keepalive_retry_ns
        self._create_backoff_ns = create_backoff_ns
        self._create_failures = 0
        self._due_ns = 0  # next create (IDLE) or keepalive (ACTIVE)
        self.valid_until_ns = 0

    # -- clock ---------------------------------------------------------------------------------

    def tick(self, now_ns: int) -> list[Action]:
        if self.state is KeyState.IDLE and now_ns >= self._due_ns:
            self.state = KeyState.CREATING
            return [CreateKey()]
        if self.state is KeyState.ACTIVE and self.key is not None:
            if now_ns >= self.valid_until_ns:  # keepalives kept failing: the key has lapsed
                return self._recreate()
            if now_ns >= self._due_ns:
                self.state = KeyState.KEEPING_ALIVE
                return [KeepAlive(self.key)]
        return []

    def next_deadline_ns(self) -> int | None:
        """When :meth:`tick` next has something to do (None: waiting for a reply, or closed)."""
        if self.state is KeyState.IDLE:
            return self._due_ns
        if self.state is KeyState.ACTIVE:
            return min(self._due_ns, self.valid_until_ns)
        return None

    # -- replies -------------------------------------------------------------------------------

    def created(self, key: str, now_ns: int) -> list[Action]:
        if self.state is not KeyState.CREATING:
            return []
        self.state = KeyState.ACTIVE
        self.key = key
        self._create_failures = 0
        self._due_ns = now_ns + self._keepalive_interval_ns
        self.valid_until_ns = now_ns + KEY_VALIDITY_NS
        return [UseKey(key)]

    def create_failed(self, now_ns: int) -> list[Action]:
        if self.state is not KeyState.CREATING:
            return []
        self._create_failures += 1
        step = min(self._create_failures, len(self._create_backoff_ns) - 1)
        self.state = KeyState.IDLE
        self._due_ns = now_ns + self._create_backoff_ns[step]
        return []

    def keepalive_ok(self, now_ns: int, returned_key: str | None = None) -> list[Action]:
        if self.state is not KeyState.KEEPING_ALIVE:
            return []
        self.state = KeyState.ACTIVE
        self._due_ns = now_ns + self._keepalive_interval_ns
        self.valid_until_ns = now_ns + KEY_VALIDITY_NS
        if returned_key and returned_key != self.key:
            self.key = returned_key
            return [UseKey(returned_key)]
        return []

    def keepalive_failed(self, now_ns: int, code: int | None) -> list[Action]:
        if self.state is not KeyState.KEEPING_ALIVE:
            return []
        if code == INVALID_LISTEN_KEY:
            return self._recreate()
        self.state = KeyState.ACTIVE  # still valid until valid_until_ns: try again sooner
        self._due_ns = now_ns + self._keepalive_retry_ns
        return []

    # -- stream signals ----------------------------------------------------------------------

    def expired(self, key: str | None) -> list[Action]:
        """The stream said ``listenKeyExpired`` (for ``key``; None: assume ours)."""
        if key is not None and key != self.key:
            return []  # about a key we no longer use
        return self._recreate()

    def stream_refused(self) -> list[Action]:
        """The stream endpoint refused our key (handshake rejected): make a new one."""
        return self._recreate()

    def close(self) -> list[Action]:
        key, self.key = self.key, None
        self.state = KeyState.CLOSED
        return [CloseKey(key)] if key else []

    def _recreate(self) -> list[Action]:
        if self.state in (KeyState.CREATING, KeyState.CLOSED):
            return []
        self.state = KeyState.CREATING
        return [CreateKey()]
