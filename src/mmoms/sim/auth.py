"""Binance request security, sans-I/O: parameter parsing, API-key, signature and timestamp checks.

Design decisions (binance-usdm.md §2):

* The signature covers ``totalParams`` = the raw query string followed by the raw body, exactly
  as they arrived on the wire: no re-encoding, no re-ordering, no ``&`` inserted between them.
  The ``signature`` parameter is cut out of whichever part carries it (the official SDK puts it
  at the end of the query string even for POST; ccxt and python-binance at the end of a form
  body). Re-encoding would break ccxt, which sends ``batchOrders`` JSON raw and signs it so.
* HMAC-SHA256 signatures are hex and compared case-insensitively in constant time. Accounts
  configured with an Ed25519 public key are verified with Ed25519 instead (base64 signature,
  URL-encoded on the wire).
* Parameters are the form-decoded union of body and query string; the query string wins.
* Checks run in Binance's order of cheapness: key, presence of ``signature``/``timestamp``,
  the signature itself, then the time window — so an unsigned caller learns nothing about time.
* ``recvWindow`` above 60000 is rejected with ``-1130`` (the exact fapi code is UNCONFIRMED).
* WebSocket API requests (:meth:`RequestAuthenticator.check_ws_signed`) sign the parameters
  sorted by name; the caller passes the candidate payloads (ccxt signs the raw values, the
  official SDK percent-encodes them) and the signature exactly as sent (no form decoding).
* ``alt_clock``: a second reference time a timestamp may also be inside. The server uses it in
  virtual-time mode, where clients sign with their own wall clock while the exchange's business
  time is virtual (an in-process test may also sign with the virtual clock).
* Nothing here ever puts a key, secret or signature into an error message.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import unquote_plus, unquote_to_bytes

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from mmoms.sim.api import SimApiError
from mmoms.sim.clock import SimClock

__all__ = [
    "DEFAULT_RECV_WINDOW_MS",
    "MAX_RECV_WINDOW_MS",
    "RequestAuthenticator",
    "parse_params",
    "split_signature",
]

DEFAULT_RECV_WINDOW_MS = 5000
MAX_RECV_WINDOW_MS = 60000
_AHEAD_TOLERANCE_MS = 1000

# Real keys are 64 alphanumerics; we also accept the characters people use in test keys.
_API_KEY_RE = re.compile(r"[A-Za-z0-9_.\-]{1,128}")
_SIGNATURE_TAG = b"signature="

_MSG_INVALID_KEY = "Invalid API-key, IP, or permissions for action."
_MSG_KEY_FORMAT = "API-key format invalid."
_MSG_BAD_SIGNATURE = "Signature for this request is not valid."
_MSG_OUTSIDE_WINDOW = "Timestamp for this request is outside of the recvWindow."
_MSG_AHEAD = "Timestamp for this request was 1000ms ahead of the server's time."
_MSG_ILLEGAL_CHARS = "Illegal characters found in a parameter."


def _mandatory(name: str) -> SimApiError:
    return SimApiError(
        400, -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


def _parse_into(out: dict[str, str], text: str) -> None:
    for pair in text.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        # Most parameters need no decoding; skip the unquote call for them (hot path).
        if "%" in name or "+" in name:
            name = unquote_plus(name, errors="strict")
        if "%" in value or "+" in value:
            value = unquote_plus(value, errors="strict")
        out[name] = value


def parse_params(raw_query: str, raw_body: bytes) -> dict[str, str]:
    """Form-decode body and query string into one dict; the query string wins on conflicts.

    Raises :class:`SimApiError` ``-1100`` when a part is not valid UTF-8 after decoding.
    """
    params: dict[str, str] = {}
    try:
        if raw_body:
            _parse_into(params, raw_body.decode("utf-8"))
        if raw_query:
            _parse_into(params, raw_query)
    except UnicodeDecodeError:
        raise SimApiError(400, -1100, _MSG_ILLEGAL_CHARS) from None
    return params


def _cut_signature(part: bytes) -> tuple[bytes, bytes | None]:
    """Remove the ``signature=`` parameter from one raw part; return (rest, raw value)."""
    if part.startswith(_SIGNATURE_TAG):
        start = 0
    else:
        start = part.rfind(b"&" + _SIGNATURE_TAG)
        if start < 0:
            return part, None
    value_start = part.index(b"=", start) + 1
    end = part.find(b"&", value_start)
    if end < 0:  # the usual case: signature is the last parameter
        return part[:start], part[value_start:]
    if start == 0:
        return part[end + 1 :], part[value_start:end]
    return part[:start] + part[end:], part[value_start:end]


def split_signature(raw_query: bytes, raw_body: bytes) -> tuple[bytes, bytes | None]:
    """Return ``(totalParams, raw signature value or None)`` for a request as received.

    ``totalParams`` is query + body with the signature parameter removed from whichever part
    carries it (the query string's wins if both do).
    """
    query, query_sig = _cut_signature(raw_query)
    body, body_sig = _cut_signature(raw_body) if raw_body else (raw_body, None)
    return query + body, query_sig if query_sig is not None else body_sig


def _load_ed25519(key: Any) -> Ed25519PublicKey | None:
    """Accept an Ed25519 public key as an object, PEM text/bytes or 32 raw bytes."""
    if isinstance(key, Ed25519PublicKey):
        return key
    if isinstance(key, str):
        key = key.encode()
    if isinstance(key, bytes):
        if len(key) == 32:
            return Ed25519PublicKey.from_public_bytes(key)
        loaded = load_pem_public_key(key)
        if isinstance(loaded, Ed25519PublicKey):
            return loaded
    raise ValueError("Ed25519 public key must be PEM, 32 raw bytes or an Ed25519PublicKey")


class RequestAuthenticator:
    """Checks ``X-MBX-APIKEY`` and signed requests against the accounts the exchange knows.

    ``secret_for_key`` returns an account's HMAC secret (or ``None``); ``public_key_for_key``
    returns its Ed25519 public key (PEM, raw bytes or key object; ``None`` for HMAC accounts);
    ``key_exists`` says whether an API key belongs to an account at all. Loaded secrets and keys
    are cached per API key; call :meth:`forget` if an account's credentials change.
    """

    def __init__(
        self,
        clock: SimClock,
        key_exists: Callable[[str], bool],
        secret_for_key: Callable[[str], str | None],
        public_key_for_key: Callable[[str], Any] | None = None,
        alt_clock: SimClock | None = None,
    ) -> None:
        self._clock = clock
        self._alt_clock = alt_clock
        self._key_exists = key_exists
        self._secret_for_key = secret_for_key
        self._public_key_for_key = public_key_for_key
        self._hmac_keys: dict[str, bytes] = {}
        self._ed_keys: dict[str, Ed25519PublicKey] = {}

    def forget(self, api_key: str) -> None:
        self._hmac_keys.pop(api_key, None)
        self._ed_keys.pop(api_key, None)

    def check_api_key(self, header: str | None, missing: int = -2014) -> str:
        """Return the API key from the header value; raises ``-2014`` (malformed, or missing:
        Binance's REST answer to a request without the header; the WebSocket API passes
        ``missing=-2015``) / ``-2015`` (unknown), HTTP 401."""
        if not header:
            raise SimApiError(
                401, missing, _MSG_KEY_FORMAT if missing == -2014 else _MSG_INVALID_KEY
            )
        if _API_KEY_RE.fullmatch(header) is None:
            raise SimApiError(401, -2014, _MSG_KEY_FORMAT)
        if not self._key_exists(header):
            raise SimApiError(401, -2015, _MSG_INVALID_KEY)
        return header

    def check_signed(
        self, api_key: str, raw_query: bytes, raw_body: bytes, params: Mapping[str, str]
    ) -> None:
        """Verify signature and timestamp of a SIGNED request; raises :class:`SimApiError`.

        ``-1102`` missing/malformed ``signature``, ``timestamp`` or ``recvWindow``; ``-1130``
        ``recvWindow`` out of range; ``-1022`` bad signature; ``-1021`` outside the time window.
        """
        payload, raw_signature = split_signature(raw_query, raw_body)
        if not raw_signature:
            raise _mandatory("signature")
        timestamp, recv_window = self._time_params(params)
        if not self._signature_ok(api_key, payload, raw_signature, form_encoded=True):
            raise SimApiError(400, -1022, _MSG_BAD_SIGNATURE)
        self._check_window(timestamp, recv_window)

    def check_ws_signed(
        self,
        api_key: str,
        payloads: Sequence[bytes],
        signature: str | None,
        params: Mapping[str, str],
    ) -> None:
        """A WebSocket API request: like :meth:`check_signed`, the signature taken as sent
        and any of ``payloads`` accepted (see the module docstring)."""
        if not signature:
            raise _mandatory("signature")
        timestamp, recv_window = self._time_params(params)
        raw = signature.encode()
        if not any(self._signature_ok(api_key, p, raw, form_encoded=False) for p in payloads):
            raise SimApiError(400, -1022, _MSG_BAD_SIGNATURE)
        self._check_window(timestamp, recv_window)

    def check_timestamp(self, params: Mapping[str, str]) -> None:
        """Only the time window (requests on an authenticated WebSocket API session)."""
        self._check_window(*self._time_params(params))

    def verify_ed25519(self, api_key: str, payload: bytes, signature: str) -> bool:
        """An Ed25519 signature over ``payload`` (``session.logon`` accepts nothing else)."""
        public_key = self._ed25519_key(api_key)
        if public_key is None:
            return False
        try:
            public_key.verify(base64.b64decode(signature, validate=True), payload)
        except (InvalidSignature, binascii.Error, ValueError):
            return False
        return True

    def _time_params(self, params: Mapping[str, str]) -> tuple[int, int]:
        timestamp = _int_param(params, "timestamp")
        if timestamp is None:
            raise _mandatory("timestamp")
        recv_window = _int_param(params, "recvWindow")
        if recv_window is None:
            if "recvWindow" in params:
                raise _mandatory("recvWindow")
            recv_window = DEFAULT_RECV_WINDOW_MS
        elif recv_window > MAX_RECV_WINDOW_MS:
            raise SimApiError(400, -1130, "Data sent for parameter 'recvWindow' is not valid.")
        return timestamp, recv_window

    def _check_window(self, timestamp: int, recv_window: int) -> None:
        error = _window_error(timestamp, recv_window, self._clock.time_ms())
        if error is None:
            return
        alt = self._alt_clock
        if alt is None or _window_error(timestamp, recv_window, alt.time_ms()) is not None:
            raise error

    def _signature_ok(
        self, api_key: str, payload: bytes, raw_signature: bytes, form_encoded: bool
    ) -> bool:
        secret = self._hmac_keys.get(api_key)
        if secret is None:
            text = self._secret_for_key(api_key)
            if text is not None:
                secret = self._hmac_keys[api_key] = text.encode()
        if secret is not None:
            expected = hmac.digest(secret, payload, "sha256").hex().encode()
            return hmac.compare_digest(expected, raw_signature.lower())
        public_key = self._ed25519_key(api_key)
        if public_key is None:
            return False
        try:
            if form_encoded:
                # Form decoding: '+' is a space, so an unescaped base64 '+' fails, as on Binance.
                raw_signature = unquote_to_bytes(raw_signature.replace(b"+", b" "))
            signature = base64.b64decode(raw_signature, validate=True)
            public_key.verify(signature, payload)
        except (InvalidSignature, binascii.Error, ValueError):
            return False
        return True

    def _ed25519_key(self, api_key: str) -> Ed25519PublicKey | None:
        cached = self._ed_keys.get(api_key)
        if cached is not None or self._public_key_for_key is None:
            return cached
        raw = self._public_key_for_key(api_key)
        if raw is None:
            return None
        key = self._ed_keys[api_key] = _load_ed25519(raw)  # type: ignore[assignment]
        return key


def _window_error(timestamp: int, recv_window: int, server_time: int) -> SimApiError | None:
    if timestamp >= server_time + _AHEAD_TOLERANCE_MS:
        return SimApiError(400, -1021, _MSG_AHEAD)
    if server_time - timestamp > recv_window:
        return SimApiError(400, -1021, _MSG_OUTSIDE_WINDOW)
    return None


def _int_param(params: Mapping[str, str], name: str) -> int | None:
    """1-20 ASCII digits (like every integer parameter), else None: ``int()`` of more than
    4300 digits raises, and no timestamp or recvWindow needs more than 20."""
    text = params.get(name)
    if not text or len(text) > 20 or not text.isdigit() or not text.isascii():
        return None
    return int(text)
