"""One code table, three kinds: every code of the notes' §6.2 table and the HTTP-only answers."""

from __future__ import annotations

import pytest

from mmoms.venues.binance.errors import CODE_TO_ERROR, classify
from mmoms.venues.errors import (
    DuplicateClientOrderId,
    IpBanned,
    OrderNotFound,
    OutcomeUnknown,
    RateLimited,
    Rejected,
    VenueError,
)

# Expected classification, written from the notes' wording (§6.1 / §6.2), independently of the
# table under test: "R" definite rejection, "R+" not executed and safe to repeat,
# "U" outcome unknown, plus the special rejections.
EXPECTED: dict[int, str] = {
    -1000: "U", -1001: "R+", -1002: "R", -1003: "RATE", -1006: "U", -1007: "U", -1008: "R+",
    -1014: "R", -1015: "RATE", -1016: "R", -1021: "R+", -1022: "R", -1099: "R", -1100: "R",
    -1102: "R", -1106: "R", -1111: "R", -1116: "R", -1117: "R", -1121: "R", -1125: "R",
    -1128: "R", -1130: "R", -2010: "R", -2011: "NOTFOUND", -2013: "NOTFOUND", -2014: "R",
    -2015: "R", -2018: "R", -2019: "R", -2020: "R", -2021: "R", -2022: "R", -2025: "R",
    -4003: "R", -4004: "R", -4005: "R", -4013: "R", -4014: "R", -4015: "R", -4016: "R",
    -4023: "R", -4024: "R", -4045: "R", -4046: "R", -4047: "R", -4048: "R", -4059: "R",
    -4061: "R", -4067: "R", -4068: "R", -4082: "R", -4116: "DUP", -4118: "R", -4120: "R",
    -4131: "R", -4137: "R", -4138: "R", -4142: "R", -4164: "R", -4167: "R", -4168: "R",
    -4171: "R", -4400: "R", -4401: "R", -4531: "R", -5021: "R", -5022: "R", -5024: "R",
    -5025: "R", -5026: "R", -5027: "R", -5028: "R+", -5029: "R", -5037: "R", -5038: "R",
    -5039: "R", -5040: "R", -5041: "R", -5043: "R",
}  # fmt: skip


def check_kind(error: VenueError, expected: str) -> None:
    if expected == "U":
        assert type(error) is OutcomeUnknown
        assert error.may_have_executed
    elif expected in ("R", "R+"):
        assert type(error) is Rejected
        assert error.retryable is (expected == "R+")
        assert not error.may_have_executed
    elif expected == "RATE":
        assert type(error) is RateLimited
    elif expected == "NOTFOUND":
        assert type(error) is OrderNotFound
    elif expected == "DUP":
        assert type(error) is DuplicateClientOrderId
    else:  # pragma: no cover
        raise AssertionError(expected)


def test_table_covers_exactly_the_documented_codes() -> None:
    assert set(CODE_TO_ERROR) == set(EXPECTED)


@pytest.mark.parametrize(("code", "expected"), sorted(EXPECTED.items()))
@pytest.mark.parametrize("status", [400, 503])
def test_every_code_maps_to_its_kind(code: int, expected: str, status: int) -> None:
    error = classify(status, code, "whatever text", endpoint="POST /fapi/v1/order")
    check_kind(error, expected)
    assert error.code == code
    assert error.http_status == status
    assert error.endpoint == "POST /fapi/v1/order"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Unknown error, please check your request or try again later.", "U"),
        ("Service Unavailable.", "R+"),
        ("Internal error; unable to process your request. Please try again.", "R+"),
        (
            "Request throttled by system-level protection. Reduce-only/close-position orders "
            "are exempt. Please try again.",
            "R+",
        ),
        ("Request occur unknown error.", "U"),
        ("", "U"),
    ],
)
def test_503_without_code_is_classified_by_documented_text(text: str, expected: str) -> None:
    check_kind(classify(503, None, text, endpoint="e"), expected)


def test_code_wins_over_text() -> None:
    # -1000 with the "unknown" text and -1001 with the "internal error" text.
    check_kind(classify(503, -1000, "Unknown error, please check...", endpoint="e"), "U")
    check_kind(classify(503, -1001, "Unknown error, please check...", endpoint="e"), "R+")


def test_text_is_not_read_for_4xx() -> None:
    error = classify(
        400, None, "Unknown error, please check your request or try again later.", endpoint="e"
    )
    check_kind(error, "R")


@pytest.mark.parametrize("code", [None, -1003, -2010])
def test_http_429_is_rate_limited_with_retry_after(code: int | None) -> None:
    error = classify(429, code, "Too many requests", endpoint="e", retry_after_ms=1500)
    assert isinstance(error, RateLimited)
    assert not isinstance(error, IpBanned)
    assert error.retry_after_ms == 1500
    assert not error.may_have_executed


def test_http_418_is_a_ban() -> None:
    error = classify(418, -1003, "Way too many requests; IP banned until 1.", endpoint="e")
    assert isinstance(error, IpBanned)


@pytest.mark.parametrize(
    ("status", "expected"), [(408, "U"), (500, "U"), (502, "U"), (403, "R"), (404, "R")]
)
def test_http_status_without_code(status: int, expected: str) -> None:
    check_kind(classify(status, None, "", endpoint="e"), expected)


def test_unknown_code_follows_http_class() -> None:
    check_kind(classify(400, -9999, "new code", endpoint="e"), "R")
    check_kind(classify(500, -9999, "new code", endpoint="e"), "U")


def test_message_names_endpoint_code_and_venue_text_only() -> None:
    error = classify(400, -2019, "Margin is insufficient.", endpoint="POST /fapi/v1/order",
                     client_order_id="abc")  # fmt: skip
    assert str(error) == "POST /fapi/v1/order: Margin is insufficient. (-2019)"
    assert error.client_order_id == "abc"
    assert "-2019" in repr(error)
