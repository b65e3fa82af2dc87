"""What every call of an exchange endpoint goes through, whichever transport brought it.

REST (:mod:`mmoms.sim.server`) and the WebSocket API (:mod:`mmoms.sim.wsapi`) authenticate
differently but share the rest, in Binance's order: IP weight (charged even when the request is
then refused), the account's ORDERS pools (10 s and 1 min, counted separately: batch endpoints
cost 5 and 1), the handler, then the post-processing faults need (eventual consistency hides a
fresh order; clock skew shifts ``GET /fapi/v1/time``). Pure and synchronous.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mmoms.sim import errors
from mmoms.sim.api import Endpoint, Params
from mmoms.sim.clock import SimClock
from mmoms.sim.faults import FaultInjector
from mmoms.sim.ratelimit import RateLimiter

__all__ = ["Gate", "SkewedClock"]

_TIME = "GET /fapi/v1/time"


class SkewedClock:
    """A clock shifted by the active ``clock_skew`` faults (what timestamp checks compare to)."""

    __slots__ = ("_base", "_faults")

    def __init__(self, base: SimClock, faults: FaultInjector) -> None:
        self._base, self._faults = base, faults

    def time_ms(self) -> int:
        now = self._base.time_ms()
        return now + self._faults.skew_ms(now)


class Gate:
    def __init__(
        self, limiter: RateLimiter, faults: FaultInjector, endpoints: Mapping[str, Endpoint]
    ) -> None:
        self.limiter = limiter
        self.faults = faults
        self.endpoints = endpoints

    def charge_weight(self, endpoint: Endpoint, params: Params, ip: str, now: int) -> int:
        """Charge the request's IP weight; returns the minute's use. Raises ``RateLimitError``."""
        try:
            weight = int(endpoint.weight(params))
        except (ValueError, TypeError, KeyError):
            weight = 1  # a malformed parameter the handler will reject with its own error
        return self.limiter.charge_weight(ip, weight, now)

    def charge_orders(self, endpoint: Endpoint, api_key: str, now: int) -> None:
        """Charge the account's ORDERS pools; raises ``RateLimitError`` (429 ``-1015``)."""
        if endpoint.order_count or endpoint.order_count_1m:
            self.limiter.charge_orders(
                api_key, endpoint.order_count, now, count_1m=endpoint.order_count_1m
            )

    def call(self, endpoint: Endpoint, account: Any, params: Params, now: int, via: str) -> Any:
        """Run the handler and the post-processing faults; raises ``SimApiError``."""
        result = endpoint.handler(account, params)
        key = endpoint.key
        if self.faults.hide_fresh(key, result, now, via):
            raise errors.no_such_order()
        if key == _TIME:
            skew = self.faults.skew_ms(now)
            if skew:
                result = {"serverTime": result["serverTime"] + skew}
        return result

    def rate_limits(self, ip: str, api_key: str | None, now: int, orders: bool) -> list[Any]:
        """The WebSocket API's ``rateLimits`` array for one reply."""
        config = self.limiter.config
        out: list[dict[str, Any]] = [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": config.request_weight_per_minute,
                "count": self.limiter.used_weight(ip, now),
            }
        ]
        if orders and api_key is not None:
            ten, minute = self.limiter.order_counts(api_key, now)
            out.append(
                {
                    "rateLimitType": "ORDERS",
                    "interval": "SECOND",
                    "intervalNum": 10,
                    "limit": config.orders_per_10s,
                    "count": ten,
                }
            )
            out.append(
                {
                    "rateLimitType": "ORDERS",
                    "interval": "MINUTE",
                    "intervalNum": 1,
                    "limit": config.orders_per_minute,
                    "count": minute,
                }
            )
        return out
