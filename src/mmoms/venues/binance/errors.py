"""Binance's error answers, classified from ONE table.

:data:`CODE_TO_ERROR` maps every documented USDⓈ-M error code to the kind the OMS acts on
(see :mod:`mmoms.venues.errors`). :func:`classify` turns one reply (HTTP status, optional
``{"code", "msg"}``) into an exception, in this order:

1. a code listed in the table decides;
2. HTTP 418 / 429 are rate-limit answers whatever the body says;
3. no usable code and a 5xx: the documented 503 *texts* decide (Binance documents these only
   by their text, and some arrive without a code) — the only place message text is read;
4. otherwise the HTTP class: 408 and other 5xx → outcome unknown (we cannot tell), any other
   4xx → rejected (the request was malformed: it did not execute).

"Definitely not executed, safe to repeat" answers carry ``retryable=True``; the retry policy
(:mod:`.retry`) decides *whether* repeating is safe for the operation at hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mmoms.venues.errors import (
    DuplicateClientOrderId,
    IpBanned,
    OrderNotFound,
    OutcomeUnknown,
    RateLimited,
    Rejected,
    VenueError,
)

INVALID_TIMESTAMP = -1021
INVALID_LISTEN_KEY = -1125
CANCEL_REJECTED = -2011
NO_SUCH_ORDER = -2013
DUPLICATED_CLIENT_ORDER_ID = -4116
NO_NEED_TO_MODIFY = -5027


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    """How one Binance code is treated: exception class, Binance's name, safe-to-repeat flag."""

    kind: type[VenueError]
    name: str
    retryable: bool = False


def _rej(name: str) -> ErrorSpec:
    return ErrorSpec(Rejected, name)


def _again(name: str) -> ErrorSpec:
    """Definitely not executed; the venue says try again."""
    return ErrorSpec(Rejected, name, retryable=True)


CODE_TO_ERROR: Mapping[int, ErrorSpec] = {
    # -10xx: general server / network
    -1000: ErrorSpec(OutcomeUnknown, "UNKNOWN"),  # ambiguous: treat an order as possibly placed
    -1001: _again("DISCONNECTED"),  # "Internal error; unable to process your request."
    -1002: _rej("UNAUTHORIZED"),
    -1003: ErrorSpec(RateLimited, "TOO_MANY_REQUESTS"),
    -1006: ErrorSpec(OutcomeUnknown, "UNEXPECTED_RESP"),  # "Execution status unknown."
    -1007: ErrorSpec(OutcomeUnknown, "TIMEOUT"),  # "Send status unknown; execution status unknown."
    -1008: _again("SERVER_BUSY"),  # system-level throttle: "100% failure", not counted
    -1014: _rej("UNKNOWN_ORDER_COMPOSITION"),
    -1015: ErrorSpec(RateLimited, "TOO_MANY_ORDERS"),
    -1016: _rej("SERVICE_SHUTTING_DOWN"),
    -1021: _again("INVALID_TIMESTAMP"),  # resync the clock, then one re-signed retry
    -1022: _rej("INVALID_SIGNATURE"),
    -1099: _rej("NOT_FOUND"),  # "Not found, unauthenticated, or unauthorized."
    # -11xx: request issues
    -1100: _rej("ILLEGAL_CHARS"),
    -1102: _rej("MANDATORY_PARAM_EMPTY_OR_MALFORMED"),
    -1106: _rej("PARAM_NOT_REQUIRED"),
    -1111: _rej("BAD_PRECISION"),
    -1116: _rej("INVALID_ORDER_TYPE"),
    -1117: _rej("INVALID_SIDE"),
    -1121: _rej("BAD_SYMBOL"),
    -1125: _rej("INVALID_LISTEN_KEY"),  # recreate the listenKey
    -1128: _rej("OPTIONAL_PARAMS_BAD_COMBO"),
    -1130: _rej("INVALID_PARAMETER"),
    # -20xx: order processing
    -2010: _rej("NEW_ORDER_REJECTED"),
    -2011: ErrorSpec(OrderNotFound, "CANCEL_REJECTED"),  # live text "Unknown order sent."
    -2013: ErrorSpec(OrderNotFound, "NO_SUCH_ORDER"),
    -2014: _rej("BAD_API_KEY_FMT"),
    -2015: _rej("REJECTED_MBX_KEY"),
    -2018: _rej("BALANCE_NOT_SUFFICIENT"),
    -2019: _rej("MARGIN_NOT_SUFFICIEN"),  # sic, Binance's spelling
    -2020: _rej("UNABLE_TO_FILL"),
    -2021: _rej("ORDER_WOULD_IMMEDIATELY_TRIGGER"),
    -2022: _rej("REDUCE_ONLY_REJECT"),
    -2025: _rej("MAX_OPEN_ORDER_EXCEEDED"),
    # -40xx: filters and account settings
    -4003: _rej("QTY_LESS_THAN_ZERO"),
    -4004: _rej("QTY_LESS_THAN_MIN_QTY"),
    -4005: _rej("QTY_GREATER_THAN_MAX_QTY"),
    -4013: _rej("PRICE_LESS_THAN_MIN_PRICE"),
    -4014: _rej("PRICE_NOT_INCREASED_BY_TICK_SIZE"),
    -4015: _rej("INVALID_CL_ORD_ID_LEN"),
    -4016: _rej("PRICE_HIGHTER_THAN_MULTIPLIER_UP"),
    -4023: _rej("QTY_NOT_INCREASED_BY_STEP_SIZE"),
    -4024: _rej("PRICE_LOWER_THAN_MULTIPLIER_DOWN"),
    -4045: _rej("MAX_STOP_ORDER_EXCEEDED"),
    -4046: _rej("NO_NEED_TO_CHANGE_MARGIN_TYPE"),
    -4047: _rej("THERE_EXISTS_OPEN_ORDERS"),
    -4048: _rej("THERE_EXISTS_QUANTITY"),
    -4059: _rej("NO_NEED_TO_CHANGE_POSITION_SIDE"),
    -4061: _rej("POSITION_SIDE_NOT_MATCH"),
    -4067: _rej("POSITION_SIDE_CHANGE_EXISTS_OPEN_ORDERS"),
    -4068: _rej("POSITION_SIDE_CHANGE_EXISTS_QUANTITY"),
    -4082: _rej("INVALID_BATCH_PLACE_ORDER_SIZE"),
    -4116: ErrorSpec(DuplicateClientOrderId, "DUPLICATED_CLIENT_ORDER_ID"),
    -4118: _rej("REDUCE_ONLY_MARGIN_CHECK_FAILED"),
    -4120: _rej("STOP_ORDER_SWITCH_ALGO"),  # conditional type sent to /fapi/v1/order: our bug
    -4131: _rej("MARKET_ORDER_REJECT"),
    -4137: _rej("QTY_NOT_ZERO_WITH_CLOSE_POSITION"),
    -4138: _rej("REDUCE_ONLY_MUST_BE_TRUE_WITH_CLOSE_POSITION"),
    -4142: _rej("STRATEGY_INVALID_TRIGGER_PRICE"),
    -4164: _rej("MIN_NOTIONAL"),
    -4167: _rej("MULTI_ASSETS_WITH_ISOLATED"),
    -4168: _rej("ISOLATED_UNDER_MULTI_ASSETS"),
    -4171: _rej("NO_NEED_TO_CHANGE_JOINT_MARGIN"),
    -4400: _rej("QUANTITATIVE_RULES_REDUCE_ONLY"),
    -4401: _rej("LARGE_POSITION_REDUCE_ONLY"),
    -4531: _rej("DUAL_SIDE_POSITION_SYNC_REJECT"),
    # -50xx: matching-engine / order-type rules
    -5021: _rej("FOK_ORDER_REJECT"),
    -5022: _rej("GTX_ORDER_REJECT"),  # post-only would take: no order created
    -5024: _rej("SYMBOL_NOT_TRADING"),
    -5025: _rej("ONLY_LIMIT_ORDER_MODIFY"),
    -5026: _rej("EXCEED_MAXIMUM_MODIFY_ORDER_LIMIT"),
    -5027: _rej("SAME_ORDER"),  # "No need to modify the order."
    -5028: _again("ME_RECVWINDOW_REJECT"),  # stale in the matching engine: not executed
    -5029: _rej("MODIFY_MIN_NOTIONAL"),
    -5037: _rej("INVALID_PRICE_MATCH"),
    -5038: _rej("UNSUPPORTED_ORDER_TYPE_PRICE_MATCH"),
    -5039: _rej("INVALID_SELF_TRADE_PREVENTION_MODE"),
    -5040: _rej("FUTURE_GTD"),
    -5041: _rej("NO_DEPTH_MATCHES_BBO"),
    -5043: _rej("EXISTING_PENDING_MODIFICATION"),
}

# The documented 503 texts (General Info). Binance documents these by text only and the
# "unknown" one has been seen without a code, so they are matched on the text.
_UNKNOWN_503_TEXT = "Unknown error, please check your request or try again later."
_NOT_EXECUTED_503_TEXTS = (
    "Service Unavailable.",
    "Internal error; unable to process your request. Please try again.",
    "Request throttled by system-level protection.",
)


def classify(
    http_status: int,
    code: int | None,
    msg: str,
    *,
    endpoint: str,
    retry_after_ms: int | None = None,
    client_order_id: str | None = None,
) -> VenueError:
    """Turn one error reply into the exception the OMS acts on (returned, not raised)."""
    text = msg.strip()
    shown = text if len(text) <= 200 else f"{text[:200]}…"  # the message stays one short line
    summary = f"{endpoint}: {shown or 'no message'}" + (f" ({code})" if code is not None else "")

    def make(kind: type[VenueError], retryable: bool = False) -> VenueError:
        if issubclass(kind, RateLimited):
            return kind(
                summary,
                retry_after_ms=retry_after_ms,
                code=code,
                http_status=http_status,
                venue_message=text,
                endpoint=endpoint,
                client_order_id=client_order_id,
            )
        if issubclass(kind, OutcomeUnknown):
            return kind(
                summary,
                code=code,
                http_status=http_status,
                venue_message=text,
                endpoint=endpoint,
                client_order_id=client_order_id,
            )
        return kind(
            summary,
            code=code,
            http_status=http_status,
            venue_message=text,
            endpoint=endpoint,
            retryable=retryable,
            client_order_id=client_order_id,
        )

    if http_status == 418:
        return make(IpBanned)
    spec = CODE_TO_ERROR.get(code) if code is not None else None
    if http_status == 429:
        return make(RateLimited)
    if spec is not None:
        return make(spec.kind, spec.retryable)
    if http_status >= 500:
        if text.startswith(_UNKNOWN_503_TEXT):
            return make(OutcomeUnknown)
        if text.startswith(_NOT_EXECUTED_503_TEXTS):
            return make(Rejected, retryable=True)
        return make(OutcomeUnknown)  # an unexplained 5xx: we cannot tell whether it executed
    if http_status == 408:  # the backend did not answer in time: status unknown
        return make(OutcomeUnknown)
    return make(Rejected)  # any other 4xx: the request was refused as malformed
