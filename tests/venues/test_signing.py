"""Signing: the official HMAC vector, Ed25519, credentials from the environment, no leaks."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)

from mmoms.venues.binance.signing import (
    ENV_API_KEY,
    ENV_API_SECRET,
    ENV_PRIVATE_KEY,
    Credentials,
    Ed25519Signer,
    HmacSigner,
)
from mmoms.venues.errors import MissingCredentialsError

# General Info, "SIGNED endpoint examples" (research notes §2).
API_KEY = "dbefbc809e3e83c283a984c3a1459732ea7db1360ca80c5c2c8867408d28cc83"
SECRET = "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9"
PAYLOAD = (
    "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC"
    "&recvWindow=5000&timestamp=1591702613943"
)
SIGNATURE = "3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9"


def ed25519_pem() -> tuple[str, Ed25519PrivateKey]:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    return pem, key


def test_hmac_official_vector() -> None:
    assert HmacSigner(SECRET).sign(PAYLOAD) == SIGNATURE


def test_hmac_signer_is_reusable() -> None:
    signer = HmacSigner(SECRET)
    assert signer.sign("a=1") == signer.sign("a=1")
    assert signer.sign(PAYLOAD) == SIGNATURE  # the keyed copy is not consumed by earlier calls


def test_ed25519_signature_verifies_and_needs_url_encoding() -> None:
    pem, key = ed25519_pem()
    signer = Ed25519Signer(pem)
    signature = signer.sign(PAYLOAD)
    key.public_key().verify(base64.b64decode(signature), PAYLOAD.encode())  # raises if wrong
    assert signer.url_safe is False
    assert HmacSigner(SECRET).url_safe is True


@pytest.mark.parametrize("bad", ["", "not a pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END"])
def test_ed25519_rejects_bad_keys_without_echoing_them(bad: str) -> None:
    with pytest.raises(MissingCredentialsError) as info:
        Ed25519Signer(bad)
    if bad:
        assert bad not in str(info.value)


def test_credentials_from_env_hmac() -> None:
    creds = Credentials.from_env({ENV_API_KEY: API_KEY, ENV_API_SECRET: SECRET})
    assert creds.api_key == API_KEY
    assert creds.signer.sign(PAYLOAD) == SIGNATURE


def test_credentials_from_env_prefers_ed25519() -> None:
    pem, _ = ed25519_pem()
    creds = Credentials.from_env({ENV_API_KEY: "k", ENV_API_SECRET: SECRET, ENV_PRIVATE_KEY: pem})
    assert isinstance(creds.signer, Ed25519Signer)


@pytest.mark.parametrize(
    "env",
    [{}, {ENV_API_KEY: "k"}, {ENV_API_SECRET: SECRET}, {ENV_API_KEY: "", ENV_API_SECRET: SECRET}],
)
def test_credentials_from_env_missing(env: dict[str, str]) -> None:
    with pytest.raises(MissingCredentialsError) as info:
        Credentials.from_env(env)
    assert SECRET not in str(info.value)


def test_reprs_hide_secrets() -> None:
    pem, _ = ed25519_pem()
    for obj in (
        Credentials.hmac(API_KEY, SECRET),
        HmacSigner(SECRET),
        Ed25519Signer(pem),
        Credentials.ed25519(API_KEY, pem),
    ):
        text = repr(obj) + str(obj)
        assert API_KEY not in text
        assert SECRET not in text
        assert "PRIVATE KEY" not in text
