"""Client order ids fit the rule the venue's gateway declares, or fail at construction."""

import re
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmoms.core.validation import ANY_VENUE_CLIENT_ID, ClientIdRule
from mmoms.engine.client_ids import ClientOrderIdFactory, is_valid

SESSION_MS = 1_767_225_600_000  # 2026-01-01
BINANCE_LIKE = ClientIdRule(36, string.ascii_letters + string.digits + ".:/_-")
ALNUM_32 = ClientIdRule(32, string.ascii_letters + string.digits)  # no separator at all
UPPER_20 = ClientIdRule(20, string.ascii_uppercase + string.digits + "_")


def test_ids_are_prefix_session_counter_and_unique() -> None:
    ids = ClientOrderIdFactory("mm", SESSION_MS, BINANCE_LIKE)
    first, second = ids.next(), ids.next()
    assert re.fullmatch(r"mm-[0-9a-z]+-1", first)
    assert second == first[:-1] + "2"
    assert ids.owns(first)
    assert not ids.owns("mm-other-1")
    restarted = ClientOrderIdFactory("mm", SESSION_MS + 1, BINANCE_LIKE)
    assert restarted.next() != first
    assert not restarted.owns(first)


@pytest.mark.parametrize("rule", [BINANCE_LIKE, ALNUM_32, UPPER_20, ANY_VENUE_CLIENT_ID])
def test_every_id_fits_the_declared_rule(rule: ClientIdRule) -> None:
    ids = ClientOrderIdFactory("MM", SESSION_MS, rule)
    made = [ids.next() for _ in range(2000)]
    assert all(rule.accepts(cid) and is_valid(cid, rule) for cid in made)
    assert len(set(made)) == len(made)


def test_without_a_separator_the_session_has_one_width() -> None:
    early = ClientOrderIdFactory("mm", 36**5, ALNUM_32).next()
    late = ClientOrderIdFactory("mm", SESSION_MS, ALNUM_32).next()
    assert len(early) == len(late)
    assert re.fullmatch(r"mm[0-9a-z]{9}1", late)


def test_uppercase_only_venue_gets_uppercase_digits() -> None:
    cid = ClientOrderIdFactory("MM", SESSION_MS, UPPER_20).next()
    assert re.fullmatch(r"MM_[0-9A-Z]+_1", cid)


@pytest.mark.parametrize(
    ("prefix", "rule", "message"),
    [
        ("", BINANCE_LIKE, "prefix"),
        ("toolongpx", BINANCE_LIKE, "prefix"),
        ("a-b", BINANCE_LIKE, "prefix"),  # the separator would make ids parse two ways
        ("a b", BINANCE_LIKE, "prefix"),
        ("mm", UPPER_20, "prefix"),  # lowercase refused by the venue
        ("mm2", ALNUM_32, "prefix"),  # no separator: a digit would run into the session
        ("mm", ClientIdRule(20, string.ascii_letters + "-"), "no digits"),
        ("mmoms", ClientIdRule(20, BINANCE_LIKE.chars), "do not fit"),  # 5+1+8+1 + 6 > 20
    ],
)
def test_a_prefix_or_rule_the_format_cannot_fit_is_refused_at_construction(
    prefix: str, rule: ClientIdRule, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        ClientOrderIdFactory(prefix, SESSION_MS, rule)


def test_running_out_of_length_is_an_error_not_a_bad_id() -> None:
    ids = ClientOrderIdFactory("m", SESSION_MS, ClientIdRule(17, BINANCE_LIKE.chars))
    ids._counter = 36**6 - 2  # skip ahead to the last ids that fit
    assert len(ids.next()) == 17
    with pytest.raises(OverflowError):
        ids.next()


@given(st.text(max_size=40))
def test_rule_accepts_exactly_its_characters_and_length(value: str) -> None:
    expected = bool(re.fullmatch(r"[.A-Z:/a-z0-9_-]{1,36}", value))
    assert BINANCE_LIKE.accepts(value) is expected


def test_the_call_time_check_is_not_a_venues_rule() -> None:
    from mmoms.core.errors import InvalidOrderError
    from mmoms.core.validation import check_client_order_id

    long_but_ours = "mm-" + "x" * 40  # longer than Binance's 36: fine until a venue says no
    assert check_client_order_id(long_but_ours) == long_but_ours
    for bad in ("", "has spaces", "x" * 65, "tab\t", 42):
        with pytest.raises(InvalidOrderError, match="not a client order id"):
            check_client_order_id(bad)
    with pytest.raises(InvalidOrderError):
        check_client_order_id(long_but_ours, BINANCE_LIKE)


def test_an_id_of_an_earlier_run_is_told_from_this_runs_and_from_strangers() -> None:
    earlier = ClientOrderIdFactory("mm", 1_700_000_000_000)
    now = ClientOrderIdFactory("mm", 1_700_000_005_000)
    old = earlier.next()
    assert now.made_before(old)
    assert not now.made_before(now.next())  # this run's own
    assert not now.made_before("mmx-abc-1")  # another prefix
    assert not now.made_before("mm-abc")  # no counter
    assert not now.made_before("mm-ab!-1")  # not the format's digits
    assert not now.made_before("web_manual_1")
