"""The contract between the sans-I/O exchange (:mod:`mmoms.sim.exchange`) and its transport
(:mod:`mmoms.sim.server`).

The exchange owns Binance's semantics: which endpoints exist, their parameters, validation and
error codes, matching, accounts, and the user-data events they cause. The server owns the wire:
HTTP and WebSocket framing, API-key and signature checks, timestamp windows, rate-limit counters
and headers, listenKey connections. The server looks an endpoint up in
:data:`SimExchange.endpoints` (``"POST /fapi/v1/order"`` → :class:`Endpoint`), authenticates per
its ``security``, charges its weights, then calls ``handler(account, params)`` with the merged
string parameters exactly as received (query string wins over body, as on Binance).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Security(StrEnum):
    NONE = "NONE"  # public
    USER_STREAM = "USER_STREAM"  # API key header only (listenKey endpoints)
    MARKET_DATA = "MARKET_DATA"  # API key header only
    SIGNED = "SIGNED"  # TRADE / USER_DATA: API key + timestamp + signature


class SimApiError(Exception):
    """A Binance error reply: HTTP status plus ``{"code": code, "msg": msg}``."""

    def __init__(self, http_status: int, code: int, msg: str) -> None:
        super().__init__(f"{http_status} {code} {msg}")
        self.http_status = http_status
        self.code = code
        self.msg = msg

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "msg": self.msg}


Params = Mapping[str, str]
"""Request parameters as received: names and values are strings, not yet parsed."""

Handler = Callable[[Any, Params], Any]
"""``handler(account_or_None, params) -> JSON-serialisable body``; raises :class:`SimApiError`."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    method: str  # GET / POST / PUT / DELETE
    path: str  # e.g. /fapi/v1/order
    security: Security
    handler: Handler
    weight: Callable[[Params], int] = lambda _p: 1  # REQUEST_WEIGHT cost
    order_count: int = 0  # ORDERS cost in the 10 s pool; 0 for non-order endpoints
    order_count_1m: int = -1  # ORDERS cost in the 1 min pool; -1 = same as order_count

    def __post_init__(self) -> None:
        if self.order_count_1m < 0:  # batch endpoints cost 5 (10 s) but 1 (1 min) on Binance
            object.__setattr__(self, "order_count_1m", self.order_count)

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"
