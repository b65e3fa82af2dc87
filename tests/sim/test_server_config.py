"""The TOML / command-line configuration loader and the extra start-up routes."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from mmoms.sim.cli import _parser, build_settings
from mmoms.sim.config import ConfigError, load_settings, parse_settings

if TYPE_CHECKING:
    from conftest import FakeSim

GOOD = """
seed = 7
step_ms = 50

[server]
host = "0.0.0.0"
port = 8123
tick_ms = 10
log_level = "debug"

[rate_limits]
request_weight_per_minute = 100
orders_per_10s = 10
orders_per_minute = 50
ban_seconds = 30

[fees]
maker = "-0.0001"
taker = "0.0004"

[[accounts]]
api_key = "k1"
api_secret = "s1"
balances = { USDC = "5000" }

[[symbols]]
symbol = "BTCUSDC"
tick_size = "0.10"
[symbols.market]
volatility_ticks = 1.5
"""


def test_full_file(tmp_path: Path) -> None:
    path = tmp_path / "sim.toml"
    path.write_text(GOOD)
    settings = load_settings(path)
    exchange, server = settings.exchange, settings.server
    assert (exchange.seed, exchange.step_ms) == (7, 50)
    assert (exchange.orders_per_10s, exchange.request_weight_per_minute) == (10, 100)
    assert [s.symbol for s in exchange.symbols] == ["BTCUSDC"]
    btc = exchange.symbols[0]
    assert (btc.maker_fee, btc.taker_fee, btc.market.volatility_ticks) == ("-0.0001", "0.0004", 1.5)
    assert btc.step_size == "0.001"  # untouched fields keep the default symbol's values
    assert exchange.accounts[0].balances == {"USDC": "5000"}
    assert (server.host, server.port, server.log_level) == ("0.0.0.0", 8123, "DEBUG")
    assert server.options.tick_ms == 10
    assert server.options.rate_limits.ban_ms == 30_000


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"sede": 1}, "unknown top-level key 'sede'"),
        ({"server": {"prot": 1}}, "server.prot"),
        ({"server": {"port": "80"}}, "server.port must be an integer"),
        ({"rate_limits": {"orders_per_10s": 0}}, "orders_per_10s"),
        ({"fees": {"maker": 0.0002}}, "fees.maker must be a string"),
        ({"accounts": [{"api_key": "k"}]}, "accounts[0] needs api_secret"),
        ({"accounts": [{"api_key": "k", "api_secret": "s", "balances": {"USDC": "x"}}]}, "USDC"),
        ({"symbols": [{"symbol": "NEWUSDC"}]}, "symbols[0] (NEWUSDC) is missing"),
        ({"symbols": [{"symbol": "BTCUSDC", "tick_size": 0.1}]}, "symbols[0].tick_size"),
        ({"symbols": [{"symbol": "BTCUSDC", "market": {"bogus": 1}}]}, "symbols[0].market.bogus"),
    ],
)
def test_errors_name_the_key(document: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings(document)
    assert message in str(info.value)


def test_secrets_never_in_errors() -> None:
    accounts = [{"api_key": "k", "api_secret": "TOPSECRET"}, {"api_key": "k", "api_secret": "x"}]
    with pytest.raises(ConfigError) as info:
        parse_settings({"accounts": accounts})
    assert "duplicated" in str(info.value)
    assert "TOPSECRET" not in str(info.value)


def test_bad_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("seed = \n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_settings(path)
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "missing.toml")


def _args(**overrides: object) -> argparse.Namespace:
    """The parser's defaults (so new flags need no update here), then ``overrides``."""
    args = _parser().parse_args([])
    vars(args).update(overrides)
    return args


def test_cli_credentials_precedence() -> None:
    settings, generated = build_settings(_args(api_key="a", api_secret="b"), {})
    assert generated is None
    assert settings.exchange.accounts[0].api_key == "a"
    env = {"MMOMS_SIM_API_KEY": "envkey", "MMOMS_SIM_API_SECRET": "envsecret"}
    settings, _ = build_settings(_args(), env)
    assert settings.exchange.accounts[0].api_secret == "envsecret"
    settings, generated = build_settings(_args(balance=["USDC=42.5"], seed=3, port=0), {})
    account = settings.exchange.accounts[0]
    assert generated == account.api_secret
    assert len(account.api_key) == 64
    assert account.balances["USDC"] == "42.5"
    assert settings.exchange.seed == 3
    with pytest.raises(ConfigError, match="both"):
        build_settings(_args(api_key="only"), {})
    with pytest.raises(ConfigError, match="--balance"):
        build_settings(_args(balance=["USDC"]), {})
    with pytest.raises(ConfigError, match="--port"):
        build_settings(_args(port=70000), {})


@pytest.mark.asyncio
async def test_spot_ping_and_sapi_coin_list(fake_sim: FakeSim) -> None:
    async with fake_sim.http.get(f"{fake_sim.url}/api/v3/ping") as response:
        assert (response.status, await response.json()) == (200, {})
    query = fake_sim.signed_query({"timestamp": fake_sim.clock.time_ms()})
    url = f"{fake_sim.url}/sapi/v1/capital/config/getall?{query}"
    async with fake_sim.http.get(url, headers=fake_sim.headers()) as response:
        coins = await response.json()
        assert response.status == 200
        assert {"USDT", "USDC"} <= {c["coin"] for c in coins}
    async with fake_sim.http.get(url) as response:  # signed: the key is required
        assert response.status == 401


@pytest.mark.asyncio
async def test_unexpected_exception_is_500_json(
    fake_sim: FakeSim, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="mmoms.sim.server"):
        async with fake_sim.http.get(f"{fake_sim.url}/fapi/v1/boom") as response:
            assert response.status == 500
            assert response.headers["Content-Type"] == "application/json"
            assert await response.json() == {
                "code": -1000,
                "msg": "An unknown error occured while processing the request.",
            }
    assert "a bug in the exchange" in caplog.text


@pytest.mark.asyncio
async def test_requests_advance_the_exchange_and_report_timing(fake_sim: FakeSim) -> None:
    fake_sim.clock.advance(1234)
    async with fake_sim.http.get(f"{fake_sim.url}/fapi/v1/time") as response:
        assert (await response.json())["serverTime"] == fake_sim.clock.time_ms()
        assert int(response.headers["X-Sim-Handling-Us"]) >= 0
    assert fake_sim.exchange.advanced_to == fake_sim.clock.time_ms()
