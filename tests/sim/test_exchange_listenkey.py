"""listenKey lifecycle: one key per account, 60 minutes, keepalive, close, expiry event."""

from __future__ import annotations

from _exchange_kit import KEY, OTHER_KEY, Kit

from mmoms.sim.api import Security

START, KEEP, CLOSE = (
    "POST /fapi/v1/listenKey",
    "PUT /fapi/v1/listenKey",
    "DELETE /fapi/v1/listenKey",
)
HOUR = 3_600_000


def test_endpoints_need_only_the_api_key() -> None:
    kit = Kit()
    assert {kit.ex.endpoints[r].security for r in (START, KEEP, CLOSE)} == {Security.USER_STREAM}


def test_post_returns_the_same_active_key_and_extends_it() -> None:
    kit = Kit()
    key = kit.call(START)["listenKey"]
    assert len(key) == 64
    assert kit.ex.listen_key_owner(key) == KEY
    kit.advance(HOUR - 1000)
    assert kit.call(START) == {"listenKey": key}
    kit.advance(HOUR - 1000)  # alive only because the second POST extended it
    assert kit.ex.listen_key_owner(key) == KEY
    other = kit.call(START, kit.other)["listenKey"]
    assert other != key
    assert kit.ex.listen_key_owner(other) == OTHER_KEY


def test_keepalive_extends_and_unknown_key_is_rejected() -> None:
    kit = Kit()
    none = kit.error(KEEP)
    assert (none.code, none.msg) == (-1125, "This listenKey does not exist.")
    key = kit.call(START)["listenKey"]
    kit.advance(HOUR - 1)
    assert kit.call(KEEP, listenKey=key) == {"listenKey": key}
    assert kit.call(KEEP) == {"listenKey": key}  # the parameter is optional
    assert kit.error(KEEP, listenKey="not-" + key[4:]).code == -1125
    kit.advance(HOUR - 1)
    assert kit.ex.listen_key_owner(key) == KEY


def test_expiry_emits_listen_key_expired_and_forgets_the_key() -> None:
    kit = Kit()
    key = kit.call(START)["listenKey"]
    kit.advance(HOUR - 1)
    assert kit.events == []
    kit.advance(1)
    assert kit.events == [(KEY, {"e": "listenKeyExpired", "E": kit.clock.now_ms, "listenKey": key})]
    assert kit.ex.listen_key_owner(key) is None
    assert kit.error(KEEP, listenKey=key).code == -1125
    fresh = kit.call(START)["listenKey"]
    assert fresh != key


def test_delete_invalidates_the_key_silently() -> None:
    kit = Kit()
    key = kit.call(START)["listenKey"]
    assert kit.call(CLOSE, listenKey=key) == {}
    assert kit.ex.listen_key_owner(key) is None
    assert kit.error(CLOSE).code == -1125
    kit.advance(2 * HOUR)
    assert kit.events == []
