"""The simulator's own table of Binance USDⓈ-M error replies.

Every client error the exchange raises is built here, so codes and texts live in one place and
match Binance's (``binance-usdm.md`` §6.2; where live Binance says more than the docs, the live
text wins: ``-2011``, ``-4120``, ``-5022``). All of them are HTTP 400, the "definitely not
executed" family; transport-level errors (signature, timestamp, rate limits) belong to the server.

Messages never echo parameter *values*, only parameter names, so nothing a client sent (and
certainly no secret) ends up in an error text.
"""

from __future__ import annotations

from .api import SimApiError

__all__ = [
    "DECIMAL_RANGE",
    "bad_interval",
    "bad_precision",
    "bad_symbol",
    "batch_size",
    "cancel_rejected",
    "client_id_duplicated",
    "client_id_invalid",
    "close_position_quantity",
    "fok_rejected",
    "gtd_invalid",
    "gtx_rejected",
    "illegal_chars",
    "invalid_listen_key",
    "invalid_order_type",
    "invalid_param",
    "invalid_price_match",
    "invalid_side",
    "invalid_stp_mode",
    "isolated_multi_assets",
    "mandatory",
    "margin_insufficient",
    "margin_type_open_orders",
    "margin_type_position",
    "market_take_bound",
    "max_open_orders",
    "max_stop_orders",
    "min_notional",
    "modify_limit_exceeded",
    "modify_min_notional",
    "modify_needless",
    "modify_only_limit",
    "multi_assets_isolated",
    "no_need_margin_type",
    "no_need_multi_assets",
    "no_need_position_side",
    "no_such_order",
    "not_required",
    "one_of_mandatory",
    "position_side_mismatch",
    "position_side_open_orders",
    "position_side_positions",
    "price_above_max",
    "price_above_multiplier",
    "price_below_min",
    "price_below_multiplier",
    "price_match_no_depth",
    "price_match_type",
    "price_not_tick",
    "qty_above_max",
    "qty_below_min",
    "qty_not_positive",
    "qty_not_step",
    "reduce_only_covered",
    "reduce_only_rejected",
    "rejected",
    "stop_order_use_algo",
    "would_trigger_immediately",
]

DECIMAL_RANGE = "^([0-9]{1,20})(\\.[0-9]{1,20})?$"
"""The legal-range pattern Binance quotes in ``-1100`` replies for decimal parameters."""


def _e(code: int, msg: str) -> SimApiError:
    return SimApiError(400, code, msg)


# -- parameters -----------------------------------------------------------------------------


def illegal_chars(name: str, legal: str = DECIMAL_RANGE) -> SimApiError:
    return _e(-1100, f"Illegal characters found in parameter '{name}'; legal range is '{legal}'.")


def mandatory(name: str) -> SimApiError:
    return _e(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def one_of_mandatory(first: str, second: str) -> SimApiError:
    return _e(-1102, f"Param '{first}' or '{second}' must be sent, but both were empty/null!")


def not_required(name: str) -> SimApiError:
    return _e(-1106, f"Parameter '{name}' sent when not required.")


def bad_precision() -> SimApiError:
    return _e(-1111, "Precision is over the maximum defined for this asset.")


def invalid_order_type() -> SimApiError:
    return _e(-1116, "Invalid orderType.")


def invalid_side() -> SimApiError:
    return _e(-1117, "Invalid side.")


def bad_interval() -> SimApiError:
    return _e(-1120, "Invalid interval.")


def bad_symbol() -> SimApiError:
    return _e(-1121, "Invalid symbol.")


def invalid_listen_key() -> SimApiError:
    return _e(-1125, "This listenKey does not exist.")


def invalid_param(name: str) -> SimApiError:
    return _e(-1130, f"Data sent for parameter '{name}' is not valid.")


# -- orders ---------------------------------------------------------------------------------


def rejected() -> SimApiError:
    return _e(-2010, "NEW_ORDER_REJECTED")


def cancel_rejected() -> SimApiError:
    return _e(-2011, "Unknown order sent.")


def no_such_order() -> SimApiError:
    return _e(-2013, "Order does not exist.")


def margin_insufficient() -> SimApiError:
    return _e(-2019, "Margin is insufficient.")


def would_trigger_immediately() -> SimApiError:
    """For the algo (conditional order) service."""
    return _e(-2021, "Order would immediately trigger.")


def reduce_only_rejected() -> SimApiError:
    return _e(-2022, "ReduceOnly Order is rejected.")


def reduce_only_covered() -> SimApiError:
    return _e(-4118, "ReduceOnly Order Failed. Please check your existing position and open orders")


def max_open_orders() -> SimApiError:
    return _e(-2025, "Reach max open order limit.")


def qty_not_positive() -> SimApiError:
    return _e(-4003, "Quantity less than zero.")


def qty_below_min() -> SimApiError:
    return _e(-4004, "Quantity less than min quantity.")


def qty_above_max() -> SimApiError:
    return _e(-4005, "Quantity greater than max quantity.")


def price_above_max() -> SimApiError:
    return _e(-4002, "Price greater than max price.")


def price_below_min() -> SimApiError:
    return _e(-4013, "Price less than min price.")


def price_not_tick() -> SimApiError:
    return _e(-4014, "Price not increased by tick size.")


def client_id_invalid() -> SimApiError:
    return _e(-4015, "Client order id is not valid.")


def price_above_multiplier() -> SimApiError:
    return _e(-4016, "Price is higher than mark price multiplier cap.")


def qty_not_step() -> SimApiError:
    return _e(-4023, "Quantity not increased by step size.")


def price_below_multiplier() -> SimApiError:
    return _e(-4024, "Price is lower than mark price multiplier floor.")


def batch_size() -> SimApiError:
    return _e(-4082, "Invalid number of batch place orders.")


def client_id_duplicated() -> SimApiError:
    return _e(-4116, "clientOrderId is duplicated")


def close_position_quantity() -> SimApiError:
    return _e(-4137, "Quantity must be zero with closePosition equals true")


def stop_order_use_algo() -> SimApiError:
    return _e(
        -4120,
        "Order type not supported for this endpoint. "
        "Please use the Algo Order API endpoints instead.",
    )


def market_take_bound() -> SimApiError:
    return _e(-4131, "The counterparty's best price does not meet the PERCENT_PRICE filter limit")


def min_notional(notional: str) -> SimApiError:
    return _e(
        -4164,
        f"Order's notional must be no smaller than {notional} (unless you choose reduce only).",
    )


def fok_rejected() -> SimApiError:
    return _e(
        -5021, "Due to the order could not be filled immediately, the FOK order has been rejected."
    )


def gtx_rejected() -> SimApiError:
    return _e(
        -5022,
        "Due to the order could not be executed as maker, the Post Only order will be rejected. "
        "The order will not be recorded in the order history",
    )


def modify_only_limit() -> SimApiError:
    return _e(-5025, "Only limit order is supported.")


def modify_limit_exceeded() -> SimApiError:
    return _e(-5026, "Exceed maximum modify order limit.")


def modify_needless() -> SimApiError:
    return _e(-5027, "No need to modify the order.")


def modify_min_notional(notional: str) -> SimApiError:
    return _e(-5029, f"Order's notional must be no smaller than {notional}")


def gtd_invalid() -> SimApiError:
    return _e(
        -5040,
        "The goodTillDate timestamp must be greater than the current time plus 600 seconds and "
        "smaller than 253402300799000 (UTC 9999-12-31 23:59:59)",
    )


def invalid_price_match() -> SimApiError:
    return _e(-5037, "Invalid price match")


def price_match_type() -> SimApiError:
    return _e(-5038, "Price match only supports order type: LIMIT, STOP AND TAKE_PROFIT")


def invalid_stp_mode() -> SimApiError:
    return _e(-5039, "Invalid self trade prevention mode")


def price_match_no_depth() -> SimApiError:
    return _e(-5041, "No depth matches this BBO order")


# -- account settings -----------------------------------------------------------------------


def max_stop_orders() -> SimApiError:
    """For the algo (conditional order) service."""
    return _e(-4045, "Reach max stop order limit.")


def no_need_margin_type() -> SimApiError:
    return _e(-4046, "No need to change margin type.")


def no_need_position_side() -> SimApiError:
    return _e(-4059, "No need to change position side.")


def position_side_mismatch() -> SimApiError:
    return _e(-4061, "Order's position side does not match user's setting.")


def position_side_open_orders() -> SimApiError:
    return _e(-4067, "Position side cannot be changed if there exists open orders.")


def position_side_positions() -> SimApiError:
    return _e(-4068, "Position side cannot be changed if there exists position.")


def no_need_multi_assets() -> SimApiError:
    return _e(
        -4171, "Adjusted asset mode is currently set and does not need to be adjusted repeatedly."
    )


def margin_type_open_orders() -> SimApiError:
    return _e(-4047, "Margin type cannot be changed if there exists open orders.")


def margin_type_position() -> SimApiError:
    return _e(-4048, "Margin type cannot be changed if there exists position.")


def multi_assets_isolated() -> SimApiError:
    return _e(
        -4167,
        "Unable to adjust to Multi-Assets mode with symbols of USDⓈ-M Futures under "
        "isolated-margin mode.",
    )


def isolated_multi_assets() -> SimApiError:
    return _e(-4168, "Unable to adjust to isolated-margin mode under the Multi-Assets mode.")
