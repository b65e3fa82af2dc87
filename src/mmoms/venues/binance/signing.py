"""Request signing and credentials (pure).

Binance signs ``totalParams`` — the query string exactly as sent — with either

* HMAC-SHA256 over the secret: lowercase hex (case-insensitive on the venue), or
* Ed25519 over a PKCS#8 private key: base64, which must be URL-encoded in a query string
  (base64 contains ``/ + =``); in a WS API JSON request it is sent as is.

Signers return the raw signature; the caller encodes it for its transport. The HMAC signer keeps
one keyed ``hmac`` object and copies it per request, which skips re-deriving the key pads.

Credentials come from the environment (never from files in the repo):

* ``MMOMS_BINANCE_API_KEY`` — the API key (sent in the ``X-MBX-APIKEY`` header);
* ``MMOMS_BINANCE_API_SECRET`` — an HMAC secret, or
* ``MMOMS_BINANCE_PRIVATE_KEY`` — an Ed25519 private key, PEM text (used if set).

No secret, key or signature ever appears in a ``repr``, a log line or an exception message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Mapping
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from mmoms.venues.errors import MissingCredentialsError

ENV_API_KEY = "MMOMS_BINANCE_API_KEY"
ENV_API_SECRET = "MMOMS_BINANCE_API_SECRET"
ENV_PRIVATE_KEY = "MMOMS_BINANCE_PRIVATE_KEY"


class Signer(Protocol):
    """Signs a payload string; ``url_safe`` says whether the signature needs URL-encoding."""

    url_safe: bool

    def sign(self, payload: str) -> str:
        """Return the signature of ``payload`` (UTF-8)."""
        ...


class HmacSigner:
    """HMAC-SHA256, hex digest."""

    url_safe = True  # hex needs no encoding
    __slots__ = ("_keyed",)

    def __init__(self, secret: str) -> None:
        """Raises:
        MissingCredentialsError: the secret is empty.
        """
        if not secret:
            raise MissingCredentialsError("HMAC secret is empty")
        self._keyed = hmac.new(secret.encode(), digestmod=hashlib.sha256)

    def sign(self, payload: str) -> str:
        mac = self._keyed.copy()
        mac.update(payload.encode())
        return mac.hexdigest()

    def __repr__(self) -> str:
        return "HmacSigner(<secret hidden>)"


class Ed25519Signer:
    """Ed25519, base64 signature."""

    url_safe = False  # base64: '+', '/', '=' must be percent-encoded in a query string
    __slots__ = ("_key",)

    def __init__(self, private_key_pem: str | bytes) -> None:
        """Raises:
        MissingCredentialsError: the PEM is empty, unreadable, or not an Ed25519 key (the
            message never includes the key material).
        """
        data = private_key_pem.encode() if isinstance(private_key_pem, str) else private_key_pem
        if not data.strip():
            raise MissingCredentialsError("Ed25519 private key is empty")
        try:
            key = load_pem_private_key(data, password=None)
        except (ValueError, TypeError):
            # ``from None``: the library's message is not ours to vouch for; keep key bytes out.
            raise MissingCredentialsError("Ed25519 private key could not be read as PEM") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise MissingCredentialsError("private key is not an Ed25519 key")
        self._key = key

    def sign(self, payload: str) -> str:
        return base64.b64encode(self._key.sign(payload.encode())).decode()

    def __repr__(self) -> str:
        return "Ed25519Signer(<key hidden>)"


class Credentials:
    """An API key and its signer. Never printed."""

    __slots__ = ("_api_key", "signer")

    def __init__(self, api_key: str, signer: Signer) -> None:
        """Raises:
        MissingCredentialsError: the API key is empty.
        """
        if not api_key:
            raise MissingCredentialsError("API key is empty")
        self._api_key = api_key
        self.signer = signer

    @property
    def api_key(self) -> str:
        return self._api_key

    @classmethod
    def hmac(cls, api_key: str, secret: str) -> Credentials:
        return cls(api_key, HmacSigner(secret))

    @classmethod
    def ed25519(cls, api_key: str, private_key_pem: str | bytes) -> Credentials:
        return cls(api_key, Ed25519Signer(private_key_pem))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Credentials:
        """Read the key and either the Ed25519 PEM (preferred) or the HMAC secret from the
        environment (``MMOMS_BINANCE_API_KEY``, ``MMOMS_BINANCE_PRIVATE_KEY``,
        ``MMOMS_BINANCE_API_SECRET``).

        Raises:
            MissingCredentialsError: the key, or both the secret and the private key, are unset.
        """
        env = os.environ if environ is None else environ
        api_key = env.get(ENV_API_KEY, "")
        if not api_key:
            raise MissingCredentialsError(f"{ENV_API_KEY} is not set")
        pem = env.get(ENV_PRIVATE_KEY, "")
        if pem:
            return cls.ed25519(api_key, pem)
        secret = env.get(ENV_API_SECRET, "")
        if not secret:
            raise MissingCredentialsError(f"neither {ENV_PRIVATE_KEY} nor {ENV_API_SECRET} is set")
        return cls.hmac(api_key, secret)

    def __repr__(self) -> str:
        return f"Credentials(api_key=<hidden>, signer={type(self.signer).__name__})"
