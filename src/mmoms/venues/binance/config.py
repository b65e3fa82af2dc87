"""Configuration of the Binance USDⓈ-M gateway. Secrets are *not* here: see
:class:`~mmoms.venues.binance.signing.Credentials` (environment variables)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Literal


class OrderTransport(StrEnum):
    REST = "rest"  # POST/PUT/DELETE /fapi/v1/order
    WS_API = "ws"  # order.place / order.modify / order.cancel / order.status over /ws-fapi/v1


@dataclass(frozen=True, slots=True)
class BinanceConfig:
    rest_url: str = "https://fapi.binance.com"
    stream_url: str = "wss://fstream.binance.com"  # user data at {stream_url}/private/ws?listenKey=
    ws_api_url: str = "wss://ws-fapi.binance.com/ws-fapi/v1"
    order_transport: OrderTransport = OrderTransport.REST
    recv_window_ms: int = 5000
    request_timeout_s: float = 5.0
    connect_timeout_s: float = 5.0
    time_sync_interval_s: float = 60.0
    listen_key_keepalive_s: float = 30 * 60.0
    user_stream: bool = True  # off: request/reply only (tools, tests)
    new_order_response: str = "ACK"  # or "RESULT": final state of IOC / FOK / MARKET orders
    retry_schedule_ms: tuple[int, ...] = (0, 30, 100, 300)
    exit_reserve: float = 0.10  # share of every rate pool kept for cancels / reduce-only
    stream_queue_size: int = 10_000
    ws_heartbeat_s: float = 20.0
    http_pool_size: int = 16
    # "fast": mmoms.venues.http_pool (raw asyncio + httptools); "aiohttp": the fallback.
    http_transport: Literal["fast", "aiohttp"] = "fast"
    # A standby OMS on the same account shares the listenKey (POST returns the active key), so
    # deleting it on shutdown would cut the other process off: off by default.
    close_listen_key_on_shutdown: bool = False
    cancel_all_includes_algo: bool = True  # cancel_all also clears conditional orders

    def __post_init__(self) -> None:
        """Raises:
        ValueError: an unknown ``http_transport`` (a typo must not pick a transport silently).
        """
        if self.http_transport not in ("fast", "aiohttp"):
            raise ValueError(
                f"http_transport must be 'fast' or 'aiohttp', not {self.http_transport!r}"
            )

    @classmethod
    def testnet(cls, **overrides: object) -> BinanceConfig:
        """Binance's futures testnet / demo hosts."""
        base = cls(
            rest_url="https://demo-fapi.binance.com",
            stream_url="wss://fstream.binancefuture.com",
            ws_api_url="wss://testnet.binancefuture.com/ws-fapi/v1",
        )
        return replace(base, **overrides)  # type: ignore[arg-type]

    @classmethod
    def local(cls, http_base: str, ws_base: str, **overrides: object) -> BinanceConfig:
        """A local simulator at ``http_base`` (REST) and ``ws_base`` (streams and WS API)."""
        base = cls(
            rest_url=http_base,
            stream_url=ws_base,
            ws_api_url=f"{ws_base.rstrip('/')}/ws-fapi/v1",
        )
        return replace(base, **overrides)  # type: ignore[arg-type]
