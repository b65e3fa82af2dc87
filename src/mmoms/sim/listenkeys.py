"""listenKeys: one per account, 60 minutes of validity, driven by the exchange clock.

Binance rules (``binance-usdm.md`` §3.7, §8.1): POST returns the account's *active* key (and
extends it) or creates one; PUT extends it (-1125 if there is none); DELETE invalidates it. An
expired key is announced with ``listenKeyExpired`` and forgotten. Pure: no timers, the exchange
calls :meth:`ListenKeys.expire` from ``advance``.
"""

from __future__ import annotations

import random
import string

from . import errors

__all__ = ["ListenKeys"]

_KEY_CHARS = string.ascii_letters + string.digits
_KEY_LENGTH = 64


class ListenKeys:
    def __init__(self, seed: int, validity_ms: int) -> None:
        self._rng = random.Random(f"listen-keys:{seed}")
        self._validity_ms = validity_ms
        self._by_account: dict[str, str] = {}  # api key -> listen key
        self._owner: dict[str, str] = {}  # listen key -> api key
        self._expires: dict[str, int] = {}  # listen key -> expiry (ms)

    def owner(self, listen_key: str) -> str | None:
        """The API key a live listenKey belongs to, or ``None``."""
        return self._owner.get(listen_key)

    def expires_at(self, listen_key: str) -> int | None:
        return self._expires.get(listen_key)

    def start(self, api_key: str, now_ms: int) -> str:
        """POST: the active key, extended, or a new one."""
        key = self._by_account.get(api_key)
        if key is None:
            key = "".join(self._rng.choices(_KEY_CHARS, k=_KEY_LENGTH))
            self._by_account[api_key] = key
            self._owner[key] = api_key
        self._expires[key] = now_ms + self._validity_ms
        return key

    def _active(self, api_key: str, listen_key: str | None) -> str:
        key = self._by_account.get(api_key)
        if key is None or (listen_key is not None and listen_key != key):
            raise errors.invalid_listen_key()
        return key

    def keepalive(self, api_key: str, listen_key: str | None, now_ms: int) -> str:
        """PUT; raises ``SimApiError`` -1125 when the account has no such active key."""
        key = self._active(api_key, listen_key)
        self._expires[key] = now_ms + self._validity_ms
        return key

    def close(self, api_key: str, listen_key: str | None) -> None:
        """DELETE; raises ``SimApiError`` -1125 when the account has no such active key."""
        self._forget(self._active(api_key, listen_key))

    def expire(self, now_ms: int) -> list[tuple[str, str]]:
        """Forget keys whose validity ended; returns ``(api_key, listen_key)`` pairs."""
        due = [key for key, at in self._expires.items() if at <= now_ms]
        out = []
        for key in due:
            out.append((self._owner[key], key))
            self._forget(key)
        return out

    def next_expiry(self) -> int | None:
        return min(self._expires.values(), default=None)

    def force_expire(
        self, listen_key: str | None = None, api_key: str | None = None
    ) -> list[tuple[str, str]]:
        """Expire now: one key, one account's key, or (neither given) every key."""
        out = []
        for key, owner in list(self._owner.items()):
            if listen_key not in (None, key) or api_key not in (None, owner):
                continue
            out.append((owner, key))
            self._forget(key)
        return out

    def _forget(self, key: str) -> None:
        api_key = self._owner.pop(key)
        del self._by_account[api_key]
        del self._expires[key]
