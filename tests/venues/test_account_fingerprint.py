"""``account_fingerprint``: the account's stable, non-secret name, which the journal records.

Binance answers ``accountAlias`` on every balance entry; the gateway names the account by it
(``alias:SgsR``) and falls back to a hash of the public API key only when there is none. Against
the simulator, two accounts give two fingerprints and a restart gives the same one.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import pytest

from mmoms.core.clock import TestClock
from mmoms.venues.binance import BinanceConfig, BinanceGateway, Credentials
from mmoms.venues.errors import MissingCredentialsError, ProtocolError
from mmoms.venues.testing import FakeHttpTransport, FakeWsConnector, json_reply
from tests.venues.conftest import API_KEY, SECRET, START_NS
from tests.venues.fakevenue import FakeBinance

BALANCE = ("GET", "/fapi/v3/balance")
KEY_FINGERPRINT = "key:" + hashlib.sha256(API_KEY.encode()).hexdigest()[:16]


def entry(asset: str, alias: str | None) -> dict[str, Any]:
    item: dict[str, Any] = {"asset": asset, "balance": "1.0", "updateTime": 1}
    if alias is not None:
        item["accountAlias"] = alias
    return item


@asynccontextmanager
async def faked(
    venue: FakeBinance, credentials: Credentials | None = None
) -> AsyncIterator[BinanceGateway]:
    config = BinanceConfig(
        rest_url="https://fapi.test",
        stream_url="wss://fstream.test",
        ws_api_url="wss://ws.test/ws-fapi/v1",
        user_stream=False,
    )
    gw = BinanceGateway(
        config,
        credentials,
        clock=TestClock(start_ns=START_NS),
        http=FakeHttpTransport(venue),
        ws=FakeWsConnector(),
    )
    await gw.start()
    try:
        yield gw
    finally:
        await gw.close()


@pytest.mark.asyncio
async def test_the_fingerprint_is_the_accounts_alias() -> None:
    venue = FakeBinance()  # answers the documented balance payload: accountAlias "SgsR"
    async with faked(venue, Credentials.hmac(API_KEY, SECRET)) as gw:
        assert await gw.account_fingerprint() == "alias:SgsR"
    assert len(venue.calls(*BALANCE)) == 1


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "balances",
    [[], [entry("USDT", None)], [entry("USDT", ""), entry("USDC", "")]],
    ids=["no-entries", "no-alias", "blank-alias"],
)
async def test_without_an_alias_the_fingerprint_is_a_hash_of_the_public_key(
    balances: Sequence[dict[str, Any]],
) -> None:
    venue = FakeBinance()
    venue.script(*BALANCE, json_reply(200, balances))
    async with faked(venue, Credentials.hmac(API_KEY, SECRET)) as gw:
        fingerprint = await gw.account_fingerprint()
    assert fingerprint == KEY_FINGERPRINT
    assert API_KEY not in fingerprint
    assert SECRET not in fingerprint


@pytest.mark.asyncio
async def test_entries_naming_different_aliases_are_not_guessed_between() -> None:
    venue = FakeBinance()
    venue.script(*BALANCE, json_reply(200, [entry("USDT", "SgsR"), entry("USDC", "WxYz")]))
    async with faked(venue, Credentials.hmac(API_KEY, SECRET)) as gw:
        with pytest.raises(ProtocolError, match="2 different account aliases"):
            await gw.account_fingerprint()


@pytest.mark.asyncio
async def test_without_credentials_nothing_is_asked() -> None:
    venue = FakeBinance()
    async with faked(venue) as gw:
        with pytest.raises(MissingCredentialsError):
            await gw.account_fingerprint()
    assert venue.calls(*BALANCE) == []


# -- against the simulator ---------------------------------------------------------------------


@pytest.mark.asyncio
async def test_each_simulated_account_has_its_own_fingerprint() -> None:
    from mmoms.sim.clock import LiveSimClock
    from mmoms.sim.config_model import AccountConfig, SimConfig, default_alias
    from mmoms.sim.exchange import SimExchange
    from mmoms.sim.server import start_server

    accounts = {"fp-key-one": "fp-secret-one", "fp-key-two": "fp-secret-two"}
    configs = [AccountConfig(key, secret) for key, secret in accounts.items()]
    configs.append(AccountConfig("fp-key-three", "fp-secret-three", alias="SgsR"))
    clock = LiveSimClock()
    server = await start_server(
        "127.0.0.1", 0, SimExchange(clock, SimConfig(accounts=tuple(configs), seed=7)), clock
    )
    try:

        async def fingerprint(key: str, secret: str) -> str:
            config = BinanceConfig.local(server.rest_url, server.ws_url, user_stream=False)
            gw = BinanceGateway(config, Credentials.hmac(key, secret))
            await gw.start()
            try:
                return await gw.account_fingerprint()
            finally:
                await gw.close()

        one = await fingerprint("fp-key-one", "fp-secret-one")
        two = await fingerprint("fp-key-two", "fp-secret-two")
        assert one == f"alias:{default_alias('fp-key-one')}"
        assert two == f"alias:{default_alias('fp-key-two')}"
        assert one != two
        assert await fingerprint("fp-key-one", "fp-secret-one") == one  # the same next time
        assert await fingerprint("fp-key-three", "fp-secret-three") == "alias:SgsR"
    finally:
        await server.close()
