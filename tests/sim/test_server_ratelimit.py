"""Rate limits: weight and order-count headers, 429 with Retry-After, then a 418 ban."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from mmoms.sim.ratelimit import RateLimitConfig, RateLimiter

if TYPE_CHECKING:
    from conftest import FakeSim, VirtualSim

MINUTE = 60_000


async def _get(sim: FakeSim, path: str) -> tuple[int, dict[str, str], Any]:
    async with sim.http.get(f"{sim.url}{path}") as response:
        return response.status, dict(response.headers), await response.json()


@pytest.mark.asyncio
async def test_weight_header_on_every_response(fake_sim: FakeSim) -> None:
    status, headers, _ = await _get(fake_sim, "/fapi/v1/time")
    assert (status, headers["X-MBX-USED-WEIGHT-1M"]) == (200, "1")
    status, headers, _ = await _get(fake_sim, "/fapi/v1/heavy")
    assert (status, headers["X-MBX-USED-WEIGHT-1M"]) == (200, "11")
    status, headers, body = await _get(fake_sim, "/fapi/v1/nowhere")
    assert (status, headers["X-MBX-USED-WEIGHT-1M"]) == (404, "11")
    assert headers["Content-Type"] == "application/json"
    assert body == {"code": -5000, "msg": "Path /fapi/v1/nowhere, Method GET is invalid"}
    # A new minute starts a new window.
    fake_sim.clock.advance(MINUTE)
    _, headers, _ = await _get(fake_sim, "/fapi/v1/time")
    assert headers["X-MBX-USED-WEIGHT-1M"] == "1"


@pytest.mark.asyncio
async def test_429_with_retry_after_then_418_ban(tiny_limits_sim: FakeSim) -> None:
    sim = tiny_limits_sim
    sim.clock.advance(15_000)  # 45 s before the minute window ends
    for used in ("10", "20"):
        status, headers, _ = await _get(sim, "/fapi/v1/heavy")
        assert (status, headers["X-MBX-USED-WEIGHT-1M"]) == (200, used)
    status, headers, body = await _get(sim, "/fapi/v1/heavy")
    assert status == 429
    assert headers["Retry-After"] == "45"
    assert body["code"] == -1003
    assert "current limit is 20 requests per minute" in body["msg"]
    # Sending on after a 429 gets the IP banned for ban_ms (2 minutes).
    status, headers, body = await _get(sim, "/fapi/v1/time")
    banned_until = sim.clock.time_ms() + 120_000
    assert status == 418
    assert headers["Retry-After"] == "120"
    assert body == {
        "code": -1003,
        "msg": f"Way too many requests; IP banned until {banned_until}. Please use the "
        "websocket for live updates to avoid bans.",
    }
    sim.clock.advance(MINUTE)  # a new window does not lift the ban
    status, headers, _ = await _get(sim, "/fapi/v1/time")
    assert (status, headers["Retry-After"]) == (418, "60")
    sim.clock.advance(MINUTE)
    status, _, _ = await _get(sim, "/fapi/v1/time")
    assert status == 200


@pytest.mark.asyncio
async def test_order_count_headers_and_1015(tiny_limits_sim: FakeSim) -> None:
    sim = tiny_limits_sim

    async def order() -> tuple[int, dict[str, str], Any]:
        query = sim.signed_query({"symbol": "BTCUSDT", "timestamp": sim.clock.time_ms()})
        url = f"{sim.url}/fapi/v1/order?{query}"
        async with sim.http.post(url, headers=sim.headers()) as response:
            return response.status, dict(response.headers), await response.json()

    for count in (1, 2, 3):
        status, headers, _ = await order()
        assert status == 200
        assert headers["X-MBX-ORDER-COUNT-10S"] == str(count)
        assert headers["X-MBX-ORDER-COUNT-1M"] == str(count)
    status, headers, body = await order()
    assert (status, body["code"]) == (429, -1015)
    assert body["msg"] == "Too many new orders; current limit is 3 orders per 10 SECOND."
    assert headers["Retry-After"] == "10"
    sim.clock.advance(10_000)
    status, headers, _ = await order()  # 10 s pool reset; the minute pool holds 5
    assert (status, headers["X-MBX-ORDER-COUNT-10S"], headers["X-MBX-ORDER-COUNT-1M"]) == (
        200,
        "1",
        "5",
    )
    status, _, body = await order()
    assert (status, body["code"]) == (429, -1015)
    assert body["msg"] == "Too many new orders; current limit is 5 orders per MINUTE."
    # Non-order endpoints carry no order-count headers.
    _, headers, _ = await _get(sim, "/fapi/v1/time")
    assert "X-MBX-ORDER-COUNT-10S" not in headers


@pytest.mark.asyncio
async def test_batch_orders_cost_five_in_ten_seconds_and_one_per_minute(
    virtual_sim: VirtualSim,
) -> None:
    item = {"symbol": "BTCUSDC", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
            "quantity": "0.010", "price": "94000.00"}  # fmt: skip
    status, headers, body = await virtual_sim.signed_full(
        "POST", "/fapi/v1/batchOrders", batchOrders=json.dumps([item, item])
    )
    assert status == 200, body
    assert (headers["X-MBX-ORDER-COUNT-10S"], headers["X-MBX-ORDER-COUNT-1M"]) == ("5", "1")
    status, headers, _ = await virtual_sim.signed_full("POST", "/fapi/v1/order", **item)
    assert (headers["X-MBX-ORDER-COUNT-10S"], headers["X-MBX-ORDER-COUNT-1M"]) == ("6", "2")


def test_windows_are_aligned_to_the_clock() -> None:
    limiter = RateLimiter(RateLimitConfig(request_weight_per_minute=5))
    start = 1_767_225_600_000 + 59_000  # one second before a minute boundary
    assert limiter.charge_weight("ip", 5, start) == 5
    assert limiter.charge_weight("ip", 5, start + 1_000) == 5  # the next minute, not 60 s later
    assert limiter.used_weight("other", start) == 0


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="orders_per_10s"):
        RateLimitConfig(orders_per_10s=0)
