"""Binance rate limits, sans-I/O: REQUEST_WEIGHT per IP, ORDERS per account, 429 then 418.

Design decisions (binance-usdm.md §7, §6.1):

* Fixed windows aligned to the clock like Binance's counters (a minute window starts at a whole
  minute, a 10-second window at a multiple of 10 s), not sliding windows: that is what the
  ``X-MBX-USED-WEIGHT-1M`` / ``X-MBX-ORDER-COUNT-10S`` / ``-1M`` headers report.
* A request over the weight limit gets HTTP 429 ``-1003`` and ``Retry-After`` (seconds to the end
  of the window). A further request from the same IP in the same window, after it was told 429,
  gets the IP banned: HTTP 418 ``-1003 Way too many requests; IP banned until <ms>`` until the
  ban expires (``ban_ms``, 2 minutes by default; Binance escalates bans up to 3 days — we do not).
* The ORDERS pools are per account; exceeding them gives 429 ``-1015``. They never ban the IP.
* Weight and order counts are charged even when the request is then refused, as Binance's
  counters do, so the headers always show what was consumed.
"""

from __future__ import annotations

from dataclasses import dataclass

from mmoms.sim.api import SimApiError

__all__ = ["RateLimitConfig", "RateLimitError", "RateLimiter"]

_MINUTE_MS = 60_000
_TEN_SECONDS_MS = 10_000


@dataclass(frozen=True, slots=True)
class RateLimitConfig:
    """Limits as configured; defaults are Binance USDⓈ-M mainnet's."""

    request_weight_per_minute: int = 2400
    orders_per_10s: int = 300
    orders_per_minute: int = 1200
    ban_ms: int = 120_000

    def __post_init__(self) -> None:
        for name in ("request_weight_per_minute", "orders_per_10s", "orders_per_minute", "ban_ms"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"rate limit {name} must be a positive integer, got {value!r}")


class RateLimitError(SimApiError):
    """A 429/418 refusal; ``retry_after_s`` goes into the ``Retry-After`` header."""

    def __init__(self, http_status: int, code: int, msg: str, retry_after_s: int) -> None:
        super().__init__(http_status, code, msg)
        self.retry_after_s = retry_after_s


def _ceil_seconds(ms: int) -> int:
    return max(1, -(-ms // 1000))


class _Window:
    """One fixed window counter: which window it is, and how much was used in it."""

    __slots__ = ("index", "limited", "used")

    def __init__(self) -> None:
        self.index = -1
        self.used = 0
        self.limited = False  # a 429 was already sent in this window

    def roll(self, index: int) -> None:
        if index != self.index:
            self.index = index
            self.used = 0
            self.limited = False


class _IpState:
    __slots__ = ("banned_until_ms", "weight")

    def __init__(self) -> None:
        self.weight = _Window()
        self.banned_until_ms = 0


class _AccountState:
    __slots__ = ("minute", "ten_seconds")

    def __init__(self) -> None:
        self.ten_seconds = _Window()
        self.minute = _Window()


class RateLimiter:
    """Counters for every IP and account seen; all methods take the current time explicitly."""

    def __init__(self, config: RateLimitConfig | None = None) -> None:
        self.config = config or RateLimitConfig()
        self._ips: dict[str, _IpState] = {}
        self._accounts: dict[str, _AccountState] = {}

    def used_weight(self, ip: str, now_ms: int) -> int:
        """Weight used by ``ip`` in the current minute (for the header on any response)."""
        state = self._ips.get(ip)
        if state is None or state.weight.index != now_ms // _MINUTE_MS:
            return 0
        return state.weight.used

    def charge_weight(self, ip: str, weight: int, now_ms: int) -> int:
        """Charge ``weight`` to ``ip``; return the minute's used weight.

        Raises :class:`RateLimitError`: 418 while banned or when sending on after a 429 in the
        same window (which starts the ban), 429 when this request goes over the limit.
        """
        state = self._ips.get(ip)
        if state is None:
            state = self._ips[ip] = _IpState()
        if state.banned_until_ms > now_ms:
            raise self._banned(state.banned_until_ms, now_ms)
        window = state.weight
        window.roll(now_ms // _MINUTE_MS)
        if window.limited:
            state.banned_until_ms = now_ms + self.config.ban_ms
            raise self._banned(state.banned_until_ms, now_ms)
        window.used += weight
        limit = self.config.request_weight_per_minute
        if window.used > limit:
            window.limited = True
            raise RateLimitError(
                429,
                -1003,
                f"Too many requests; current limit is {limit} requests per minute. Please use "
                "the websocket for live updates to avoid polling the API.",
                _ceil_seconds((window.index + 1) * _MINUTE_MS - now_ms),
            )
        return window.used

    def order_counts(self, account: str, now_ms: int) -> tuple[int, int]:
        """(orders in the current 10 s window, orders in the current minute) for ``account``."""
        state = self._accounts.get(account)
        if state is None:
            return 0, 0
        ten = state.ten_seconds.used if state.ten_seconds.index == now_ms // _TEN_SECONDS_MS else 0
        minute = state.minute.used if state.minute.index == now_ms // _MINUTE_MS else 0
        return ten, minute

    def charge_orders(
        self, account: str, count: int, now_ms: int, count_1m: int | None = None
    ) -> tuple[int, int]:
        """Charge ``count`` orders to the 10 s pool and ``count_1m`` (default ``count``) to the
        1 min pool of ``account``; return (used in 10 s, used in 1 min).

        Raises :class:`RateLimitError` (HTTP 429, ``-1015``) when either pool is exceeded.
        """
        state = self._accounts.get(account)
        if state is None:
            state = self._accounts[account] = _AccountState()
        ten, minute = state.ten_seconds, state.minute
        ten.roll(now_ms // _TEN_SECONDS_MS)
        minute.roll(now_ms // _MINUTE_MS)
        ten.used += count
        minute.used += count if count_1m is None else count_1m
        if ten.used > self.config.orders_per_10s:
            raise self._too_many_orders(
                self.config.orders_per_10s, "10 SECOND", (ten.index + 1) * _TEN_SECONDS_MS - now_ms
            )
        if minute.used > self.config.orders_per_minute:
            raise self._too_many_orders(
                self.config.orders_per_minute, "MINUTE", (minute.index + 1) * _MINUTE_MS - now_ms
            )
        return ten.used, minute.used

    @staticmethod
    def _banned(until_ms: int, now_ms: int) -> RateLimitError:
        return RateLimitError(
            418,
            -1003,
            f"Way too many requests; IP banned until {until_ms}. Please use the websocket for "
            "live updates to avoid bans.",
            _ceil_seconds(until_ms - now_ms),
        )

    @staticmethod
    def _too_many_orders(limit: int, interval: str, remaining_ms: int) -> RateLimitError:
        return RateLimitError(
            429,
            -1015,
            f"Too many new orders; current limit is {limit} orders per {interval}.",
            _ceil_seconds(remaining_ms),
        )
