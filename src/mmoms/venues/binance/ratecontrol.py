"""Client-side rate control mirroring Binance's pools (pure, clock-injected).

Pools (defaults; :meth:`RateController.set_limits` takes the live values from exchangeInfo):

* ``REQUEST_WEIGHT_1M`` — 2400 weight per minute, per IP;
* ``ORDERS_10S`` — 300 orders per 10 s, per account;
* ``ORDERS_1M`` — 1200 orders per minute, per account.

Design decisions:

* Fixed windows aligned on the wall clock, as Binance counts (its counters reset on the window
  boundary), not sliding windows: a sliding window would under-use the budget after a reset.
* Self-correcting: the usage Binance reports (``X-MBX-USED-WEIGHT-1M``,
  ``X-MBX-ORDER-COUNT-10S/1M``, WS API ``rateLimits``) raises our count to the venue's when it is
  higher (other processes on the same IP or account spend the same budget). A lower value is not
  trusted: our own requests may still be in flight.
* A reserved share (``exit_reserve``, default 10 %) of every pool is only for getting *out* of
  the market: cancels and reduce-only orders (:attr:`Priority.EXIT`). New exposure can never use
  it, so a full budget never blocks a cancel.
* HTTP 429 → cool down (Retry-After, else ``default_cooldown_ns``) for *every* request (more
  requests during a 429 are what earns a 418 ban), and halve the share of each pool that *new
  exposure* may use; the share returns to 100 % after ``recovery_ns`` without another 429. Exits
  and the reads that keep the book true (reconciliation, queries, listenKey, time) are not
  throttled below the venue's own limit after the cool-down: the venue's used-weight header
  counts the whole IP, so a throttled share could otherwise leave the OMS unable to reconcile or
  reconnect its user stream for a minute after a 429 burst (found by the chaos soak).
* HTTP 418 → halt: :meth:`admit` raises :class:`SendingHaltedError` until Retry-After has passed, or
  until :meth:`resume` when no Retry-After was given. :attr:`halted` is the alert flag.

:meth:`admit` is the hot path: a few integer operations, no allocation when admitted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum

from mmoms.core.clock import NANOS_PER_MILLI, NANOS_PER_SECOND, Clock
from mmoms.venues.binance.endpoints import OpKind
from mmoms.venues.errors import IpBanned, RateLimited, SendingHaltedError, VenueError
from mmoms.venues.gateway import PoolUsage, RateLimitState


class Priority(IntEnum):
    NORMAL = 0  # new exposure: may not touch the exit reserve
    EXIT = 1  # cancels, reduce-only orders, reads of the truth: the whole pool, never throttled

    @staticmethod
    def of(op: OpKind) -> Priority:
        """The default for an operation: only new exposure (place, amend) is throttled."""
        return Priority.NORMAL if op in _EXPOSURE else Priority.EXIT


_EXPOSURE = frozenset({OpKind.PLACE, OpKind.AMEND})


@dataclass(frozen=True, slots=True)
class PoolLimit:
    name: str
    limit: int
    window_ns: int
    header: str | None  # lowercase response header carrying the venue's count

    @property
    def key(self) -> tuple[str, int]:
        return (self.name.split("_")[0], self.window_ns)


WEIGHT_1M = PoolLimit("REQUEST_WEIGHT_1M", 2400, 60 * NANOS_PER_SECOND, "x-mbx-used-weight-1m")
ORDERS_10S = PoolLimit("ORDERS_10S", 300, 10 * NANOS_PER_SECOND, "x-mbx-order-count-10s")
ORDERS_1M = PoolLimit("ORDERS_1M", 1200, 60 * NANOS_PER_SECOND, "x-mbx-order-count-1m")

_INTERVAL_NS = {
    "SECOND": NANOS_PER_SECOND,
    "MINUTE": 60 * NANOS_PER_SECOND,
    "DAY": 86_400 * NANOS_PER_SECOND,
}


class _Pool:
    __slots__ = ("header", "limit", "name", "used", "window_ns", "window_start")

    def __init__(self, spec: PoolLimit) -> None:
        self.name = spec.name
        self.limit = spec.limit
        self.window_ns = spec.window_ns
        self.header = spec.header
        self.used = 0
        self.window_start = -1

    def roll(self, now_ns: int) -> None:
        start = now_ns - now_ns % self.window_ns
        if start != self.window_start:
            self.window_start = start
            self.used = 0


class RateController:
    """Admission control for requests against the venue's pools."""

    def __init__(
        self,
        clock: Clock,
        *,
        weight: PoolLimit = WEIGHT_1M,
        orders_10s: PoolLimit = ORDERS_10S,
        orders_1m: PoolLimit = ORDERS_1M,
        exit_reserve: float = 0.10,
        default_cooldown_ns: int = 500 * NANOS_PER_MILLI,
        recovery_ns: int = 60 * NANOS_PER_SECOND,
        min_throttle: float = 0.125,
    ) -> None:
        """Raises:
        ValueError: ``exit_reserve`` outside [0, 1) or ``min_throttle`` outside (0, 1].
        """
        if not 0 <= exit_reserve < 1 or not 0 < min_throttle <= 1:
            raise ValueError("exit_reserve must be in [0, 1) and min_throttle in (0, 1]")
        self._clock = clock
        self._weight = _Pool(weight)
        self._orders_10s = _Pool(orders_10s)
        self._orders_1m = _Pool(orders_1m)
        self._pools = (self._weight, self._orders_10s, self._orders_1m)
        self._by_header = {p.header: p for p in self._pools if p.header}
        self._exit_reserve = exit_reserve
        self._default_cooldown_ns = default_cooldown_ns
        self._recovery_ns = recovery_ns
        self._min_throttle = min_throttle
        self._throttle = 1.0
        self._last_429_ns = 0
        self._cooldown_until_ns = 0
        self._halted = False
        self._halted_until_ns: int | None = None

    # -- admission ---------------------------------------------------------------------------

    def admit(
        self,
        weight: int,
        orders_10s: int = 0,
        orders_1m: int = 0,
        *,
        priority: Priority = Priority.NORMAL,
    ) -> int:
        """Charge the pools and return 0, or return how many ns to wait (nothing charged).

        Raises:
            SendingHaltedError: sending is halted after an IP ban.
        """
        mono = self._clock.monotonic_ns()
        if self._halted:
            if self._halted_until_ns is not None and mono >= self._halted_until_ns:
                self.resume()
            else:
                raise SendingHaltedError(
                    "sending halted: IP banned (HTTP 418)", until_ns=self._halted_until_ns
                )
        if mono < self._cooldown_until_ns:
            return self._cooldown_until_ns - mono
        if self._throttle < 1.0 and mono - self._last_429_ns >= self._recovery_ns:
            self._throttle = 1.0
        share = 1.0 if priority is Priority.EXIT else self._throttle * (1 - self._exit_reserve)
        now = self._clock.time_ns()
        wait = 0
        for pool, cost in (
            (self._weight, weight),
            (self._orders_10s, orders_10s),
            (self._orders_1m, orders_1m),
        ):
            if cost:
                pool.roll(now)
                if pool.used + cost > int(pool.limit * share):
                    wait = max(wait, pool.window_start + pool.window_ns - now)
        if wait:
            return wait
        self._weight.used += weight
        self._orders_10s.used += orders_10s
        self._orders_1m.used += orders_1m
        return 0

    # -- corrections from the venue ------------------------------------------------------------

    def on_headers(self, headers: Mapping[str, str]) -> None:
        """Raise our counts to the venue's (lowercase header names). Bad values are ignored."""
        now = self._clock.time_ns()
        for name, pool in self._by_header.items():
            value = headers.get(name)
            if value is not None:
                try:
                    count = int(value)
                except ValueError:
                    continue
                pool.roll(now)
                pool.used = max(pool.used, count)

    def on_usage(self, rate_limit_type: str, interval: str, interval_num: int, count: int) -> None:
        """Correct from a WS API ``rateLimits`` entry (``REQUEST_WEIGHT``/``ORDERS``)."""
        window_ns = _INTERVAL_NS.get(interval, 0) * interval_num
        now = self._clock.time_ns()
        for pool in self._pools:
            if pool.window_ns == window_ns and pool.name.startswith(rate_limit_type):
                pool.roll(now)
                pool.used = max(pool.used, count)

    def set_limits(self, limits: Sequence[tuple[str, str, int, int]]) -> None:
        """Adopt the venue's limits: ``(rateLimitType, interval, intervalNum, limit)`` tuples."""
        for kind, interval, num, limit in limits:
            window_ns = _INTERVAL_NS.get(interval, 0) * num
            for pool in self._pools:
                if pool.window_ns == window_ns and pool.name.startswith(kind) and limit > 0:
                    pool.limit = limit

    def on_rate_limited(self, retry_after_ms: int | None) -> None:
        """A 429 (or -1003/-1015): cool down and lower our share of every pool."""
        mono = self._clock.monotonic_ns()
        pause = retry_after_ms * NANOS_PER_MILLI if retry_after_ms else self._default_cooldown_ns
        self._cooldown_until_ns = max(self._cooldown_until_ns, mono + pause)
        self._throttle = max(self._min_throttle, self._throttle / 2)
        self._last_429_ns = mono

    def on_banned(self, retry_after_ms: int | None) -> None:
        """A 418: halt every request until Retry-After (or until :meth:`resume`)."""
        self._halted = True
        self._halted_until_ns = (
            self._clock.monotonic_ns() + retry_after_ms * NANOS_PER_MILLI
            if retry_after_ms
            else None
        )

    def on_error(self, error: VenueError) -> None:
        """Apply what a rate-limit answer implies (418 → halt, 429 / -1003 / -1015 → cool down)."""
        if isinstance(error, IpBanned):
            self.on_banned(error.retry_after_ms)
        elif isinstance(error, RateLimited):
            self.on_rate_limited(error.retry_after_ms)

    def resume(self) -> None:
        """Lift a halt (an operator decision when the ban had no Retry-After)."""
        self._halted = False
        self._halted_until_ns = None

    # -- state ---------------------------------------------------------------------------------

    @property
    def halted(self) -> bool:
        return self._halted

    def state(self) -> RateLimitState:
        now = self._clock.time_ns()
        for pool in self._pools:
            pool.roll(now)
        return RateLimitState(
            halted=self._halted,
            halted_until_ns=self._halted_until_ns,
            cooldown_until_ns=self._cooldown_until_ns,
            throttle_factor=self._throttle,
            pools=tuple(
                PoolUsage(name=p.name, used=p.used, limit=p.limit, window_ns=p.window_ns)
                for p in self._pools
            ),
        )
