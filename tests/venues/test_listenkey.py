"""The listenKey lifecycle state machine."""

from __future__ import annotations

from mmoms.core.clock import NANOS_PER_SECOND
from mmoms.venues.binance.listenkey import (
    KEY_VALIDITY_NS,
    CloseKey,
    CreateKey,
    KeepAlive,
    KeyState,
    ListenKeyLifecycle,
    UseKey,
)

S = NANOS_PER_SECOND
MIN = 60 * S


def active(now: int = 0, key: str = "k1") -> ListenKeyLifecycle:
    lk = ListenKeyLifecycle()
    assert lk.tick(now) == [CreateKey()]
    assert lk.created(key, now) == [UseKey(key)]
    return lk


def test_create_then_keepalive_every_30_minutes() -> None:
    lk = active()
    assert lk.state is KeyState.ACTIVE
    assert lk.next_deadline_ns() == 30 * MIN
    assert lk.tick(30 * MIN - 1) == []
    assert lk.tick(30 * MIN) == [KeepAlive("k1")]
    assert lk.tick(30 * MIN + 1) == []  # one keepalive in flight at a time
    assert lk.keepalive_ok(30 * MIN + 5) == []
    assert lk.next_deadline_ns() == 60 * MIN + 5


def test_keepalive_returning_another_key_switches_to_it() -> None:
    lk = active()
    lk.tick(30 * MIN)
    assert lk.keepalive_ok(30 * MIN, returned_key="k2") == [UseKey("k2")]
    assert lk.key == "k2"


def test_minus_1125_recreates() -> None:
    lk = active()
    lk.tick(30 * MIN)
    assert lk.keepalive_failed(30 * MIN, -1125) == [CreateKey()]
    assert lk.state is KeyState.CREATING
    assert lk.created("k2", 30 * MIN) == [UseKey("k2")]


def test_transient_keepalive_failure_retries_sooner_then_recreates_when_lapsed() -> None:
    lk = active()
    lk.tick(30 * MIN)
    assert lk.keepalive_failed(30 * MIN, None) == []
    assert lk.state is KeyState.ACTIVE
    assert lk.next_deadline_ns() == 31 * MIN
    now = 31 * MIN
    while now < KEY_VALIDITY_NS:
        assert lk.tick(now) == [KeepAlive("k1")]
        lk.keepalive_failed(now, -1001)
        now += MIN
    assert lk.tick(KEY_VALIDITY_NS) == [CreateKey()]


def test_expired_event_recreates_only_for_our_key() -> None:
    lk = active()
    assert lk.expired("some-old-key") == []
    assert lk.expired("k1") == [CreateKey()]
    assert lk.expired("k1") == []  # already creating


def test_stream_refused_recreates() -> None:
    lk = active()
    assert lk.stream_refused() == [CreateKey()]


def test_create_failures_back_off() -> None:
    lk = ListenKeyLifecycle()
    assert lk.tick(0) == [CreateKey()]
    lk.create_failed(0)
    assert lk.state is KeyState.IDLE
    assert lk.next_deadline_ns() == 1 * S
    assert lk.tick(S - 1) == []
    assert lk.tick(S) == [CreateKey()]
    lk.create_failed(S)
    assert lk.next_deadline_ns() == 3 * S


def test_late_replies_are_ignored() -> None:
    lk = active()
    assert lk.created("k9", 5) == []
    assert lk.keepalive_ok(5) == []
    assert lk.keepalive_failed(5, -1125) == []
    assert lk.create_failed(5) == []
    assert lk.key == "k1"


def test_close() -> None:
    lk = active()
    assert lk.close() == [CloseKey("k1")]
    assert lk.state is KeyState.CLOSED
    assert lk.tick(10 * 60 * MIN) == []
    assert lk.expired(None) == []
    assert ListenKeyLifecycle().close() == []
