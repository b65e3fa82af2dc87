"""Each simulated account answers its own ``accountAlias`` (Binance's per-account code), so a
client can tell two accounts apart by it: derived from the API key unless configured."""

from __future__ import annotations

import pytest
from _exchange_kit import KEY, OTHER_KEY, Kit, quiet_config

from mmoms.sim.config import ConfigError, parse_settings
from mmoms.sim.config_model import AccountConfig, default_alias


def aliases(kit: Kit, route: str = "GET /fapi/v3/balance", **who: object) -> set[str]:
    return {entry["accountAlias"] for entry in kit.call(route, **who)}  # type: ignore[arg-type]


def test_each_account_answers_its_own_alias_on_every_balance_entry() -> None:
    kit = Kit()
    mine, theirs = default_alias(KEY), default_alias(OTHER_KEY)
    assert mine != theirs
    assert aliases(kit) == {mine}
    assert aliases(kit, account=kit.other) == {theirs}
    assert aliases(kit, "GET /fapi/v2/balance", account=kit.other) == {theirs}


def test_the_default_alias_is_a_short_code_stable_per_key() -> None:
    alias = default_alias(KEY)
    assert len(alias) == 8
    assert alias.isalpha()
    assert Kit().account.alias == alias  # another exchange (a restart): the same alias
    assert Kit().other.alias != alias


def test_a_configured_alias_is_answered() -> None:
    settings = parse_settings({"accounts": [{"api_key": "k", "api_secret": "s", "alias": "SgsR"}]})
    [account] = settings.exchange.accounts
    assert account.account_alias == "SgsR"
    kit = Kit(quiet_config(accounts=(AccountConfig(KEY, "s", alias="SgsR"),)))
    assert aliases(kit) == {"SgsR"}


@pytest.mark.parametrize(
    ("accounts", "message"),
    [
        (
            [
                {"api_key": "k1", "api_secret": "s", "alias": "SgsR"},
                {"api_key": "k2", "api_secret": "s", "alias": "SgsR"},
            ],
            "accounts[1].alias 'SgsR' is duplicated",
        ),
        (
            [
                {"api_key": "k1", "api_secret": "s"},
                {"api_key": "k2", "api_secret": "s", "alias": default_alias("k1")},
            ],
            "accounts[1].alias",
        ),
        ([{"api_key": "k", "api_secret": "s", "alias": ""}], "accounts[0].alias must be"),
        ([{"api_key": "k", "api_secret": "s", "alias": "a b"}], "accounts[0].alias must be"),
    ],
)
def test_aliases_must_be_plain_and_unique(accounts: list[dict[str, str]], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_settings({"accounts": accounts})


def test_an_account_added_with_a_taken_alias_is_refused() -> None:
    kit = Kit()
    with pytest.raises(ValueError, match="alias"):
        kit.ex.add_account(AccountConfig("third-key", "s", alias=default_alias(KEY)))
