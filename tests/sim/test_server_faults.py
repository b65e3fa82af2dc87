"""Fault injection, seen from a client: every fault kind is observable over the wire and shows in
the fault log with a sequence number. The real exchange runs on a virtual clock with a static
market, so nothing here waits on the wall clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

if TYPE_CHECKING:
    from conftest import RealSim, VirtualSim

pytestmark = pytest.mark.asyncio

ORDER = {
    "symbol": "BTCUSDC",
    "side": "BUY",
    "type": "LIMIT",
    "timeInForce": "GTC",
    "quantity": "0.010",
    "price": "94000.00",
}
CLOSED = (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)


async def _until(condition: Callable[[], bool]) -> None:
    """Yield to the event loop (no timed sleep) until the server reaches a state."""
    for _ in range(10_000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the server never got there")


async def _faults(sim: VirtualSim, *rules: dict[str, Any]) -> list[int]:
    reply = await sim.admin("POST", "/admin/faults", list(rules))
    return [rule["id"] for rule in reply["rules"]]


async def _next(ws: aiohttp.ClientWebSocketResponse) -> Any:
    msg = await ws.receive(timeout=10)
    assert msg.type is aiohttp.WSMsgType.TEXT, msg
    return msg.json()


async def test_latency_follows_the_virtual_clock(quiet_sim: VirtualSim) -> None:
    sim = quiet_sim
    sleeper: Any = sim.server.sleeper
    await _faults(
        sim,
        {"kind": "latency", "match": "POST /fapi/v1/order", "latency": 50, "count": 1},
        {"kind": "latency", "match": "GET /fapi/v1/time", "latency": "uniform:20:20",
         "phase": "response", "count": 1},
    )  # fmt: skip
    start = sim.clock.time_ms()
    placing = asyncio.create_task(sim.signed("POST", "/fapi/v1/order", **ORDER))
    await _until(lambda: sleeper.waiting == 1)
    await sim.advance(49)
    assert (sleeper.waiting, placing.done()) == (1, False)  # still in flight
    await sim.advance(1)
    status, order = await placing
    assert (status, order["updateTime"]) == (200, start + 50)  # it reached the exchange late

    timing = asyncio.create_task(sim.public("/fapi/v1/time"))
    await _until(lambda: sleeper.waiting == 1)
    await sim.advance(20)
    assert (await timing)[1] == {"serverTime": start + 50}  # executed at once, answered late
    log = await sim.fault_log()
    assert [(e["seq"], e["kind"], e["phase"], e["ms"]) for e in log] == [
        (1, "latency", "request", 50),
        (2, "latency", "response", 20),
    ]


async def test_unknown_503_executes_or_not_by_a_seeded_coin(quiet_sim: VirtualSim) -> None:
    sim = quiet_sim
    await _faults(sim, {"kind": "http_error", "match": "POST /fapi/v1/order", "count": 8})
    for n in range(8):
        status, reply = await sim.signed("POST", "/fapi/v1/order", **ORDER,
                                         newClientOrderId=f"coin-{n}")  # fmt: skip
        assert (status, reply) == (
            503,
            {"code": -1000, "msg": "Unknown error, please check your request or try again later."},
        )
    executed = [entry["executed"] for entry in await sim.fault_log()]
    assert set(executed) == {True, False}  # this seed gives both outcomes
    for n, placed in enumerate(executed):
        status, reply = await sim.signed("GET", "/fapi/v1/order", symbol="BTCUSDC",
                                         origClientOrderId=f"coin-{n}")  # fmt: skip
        assert (status == 200) is placed, reply
        assert placed or reply["code"] == -2013


@pytest.mark.parametrize(
    ("variant", "status", "body"),
    [
        ("unavailable", 503, {"code": -1001, "msg": "Service Unavailable."}),
        ("internal", 503, {"code": -1001, "msg": "Internal error; unable to process your "
                                                  "request. Please try again."}),
        ("throttled", 503, {"code": -1008}),
        ("server_error", 500, {"code": -1000}),
        ("unknown_nocode", 503, {"path": "/fapi/v1/order"}),
        ("timeout", 408, {"code": -1007}),
    ],
)  # fmt: skip
async def test_refusals_are_never_executed(
    quiet_sim: VirtualSim, variant: str, status: int, body: dict[str, Any]
) -> None:
    sim = quiet_sim
    rule = {"kind": "http_error", "match": "POST /fapi/v1/order", "variant": variant, "count": 1}
    await _faults(sim, {**rule, "placed_probability": 0})
    got, reply = await sim.signed("POST", "/fapi/v1/order", **ORDER, newClientOrderId="refused")
    assert got == status
    assert body.items() <= reply.items()
    if variant == "unknown_nocode":
        assert "code" not in reply
    status, reply = await sim.signed(
        "GET", "/fapi/v1/order", symbol="BTCUSDC", origClientOrderId="refused"
    )
    assert (status, reply["code"]) == (400, -2013)
    retried, _ = await sim.signed("POST", "/fapi/v1/order", **ORDER, newClientOrderId="refused")
    assert retried == 200  # count: 1 -- the next attempt goes through


async def test_429_burst_then_418_ban(quiet_sim: VirtualSim) -> None:
    sim = quiet_sim
    await _faults(sim, {"kind": "rate_limit", "count": 2, "retry_after_s": 3})
    for _ in range(2):
        async with sim.http.get(f"{sim.server.rest_url}/fapi/v1/time") as response:
            assert (response.status, response.headers["Retry-After"]) == (429, "3")
            assert (await response.json())["code"] == -1003
    assert (await sim.public("/fapi/v1/time"))[0] == 200
    until = sim.clock.time_ms() + 5000
    await _faults(sim, {"kind": "ban", "for_ms": 5000})
    async with sim.http.get(f"{sim.server.rest_url}/fapi/v1/time") as response:
        assert (response.status, response.headers["Retry-After"]) == (418, "5")
        assert f"banned until {until}" in (await response.json())["msg"]
    await sim.advance(5000)
    assert (await sim.public("/fapi/v1/time"))[0] == 200
    assert [e["status"] for e in await sim.fault_log()] == [429, 429, 418]


async def test_stale_reads_hide_a_fresh_order(quiet_sim: VirtualSim) -> None:
    sim = quiet_sim
    await _faults(sim, {"kind": "stale_reads", "window_ms": 300})
    _, order = await sim.signed("POST", "/fapi/v1/order", **ORDER)
    query = {"symbol": "BTCUSDC", "orderId": order["orderId"]}
    for path in ("/fapi/v1/order", "/fapi/v1/openOrder"):
        status, reply = await sim.signed("GET", path, **query)
        assert (status, reply["code"], reply["msg"]) == (400, -2013, "Order does not exist.")
    await sim.advance(300)
    status, reply = await sim.signed("GET", "/fapi/v1/order", **query)
    assert (status, reply["status"]) == (200, "NEW")
    log = await sim.fault_log()
    assert [(e["kind"], e["order"]) for e in log] == [("stale_reads", order["orderId"])] * 2


async def test_clock_skew_provokes_1021_until_the_client_resyncs(quiet_sim: VirtualSim) -> None:
    sim = quiet_sim
    [rule] = await _faults(sim, {"kind": "clock_skew", "skew_ms": 10_000})
    status, reply = await sim.signed("GET", "/fapi/v2/balance")
    assert (status, reply["code"]) == (400, -1021)
    _, server_time = await sim.public("/fapi/v1/time")
    assert server_time["serverTime"] == sim.clock.time_ms() + 10_000
    status, _ = await sim.signed("GET", "/fapi/v2/balance", timestamp=server_time["serverTime"])
    assert status == 200  # a client that syncs to /fapi/v1/time gets through
    await sim.admin("DELETE", f"/admin/faults?id={rule}")
    assert (await sim.signed("GET", "/fapi/v2/balance"))[0] == 200
    assert (await sim.fault_log())[0]["kind"] == "clock_skew"


async def test_listen_key_expiry_on_demand(quiet_sim: VirtualSim) -> None:
    sim = quiet_sim
    key = await sim.listen_key()
    async with sim.http.ws_connect(f"{sim.server.ws_url}/private/ws/{key}") as ws:
        reply = await sim.admin("POST", "/admin/listen-keys/expire", {})
        assert reply["expired"] == [key]
        assert await _next(ws) == {
            "e": "listenKeyExpired", "E": sim.clock.time_ms(), "listenKey": key
        }  # fmt: skip
        assert (await ws.receive(timeout=10)).type in CLOSED
    silent = await sim.listen_key()
    assert silent != key
    async with sim.http.ws_connect(f"{sim.server.ws_url}/private/ws/{silent}") as ws:
        await sim.admin("POST", "/admin/listen-keys/expire", {"announce": False})
        assert (await ws.receive(timeout=10)).type in CLOSED  # gone without a word
    async with sim.http.put(
        f"{sim.server.rest_url}/fapi/v1/listenKey", headers={"X-MBX-APIKEY": sim.api_key}
    ) as response:
        assert (await response.json())["code"] == -1125


async def test_disconnects_on_demand(quiet_sim: VirtualSim) -> None:
    sim = quiet_sim
    ws_url = sim.server.ws_url
    user = await sim.http.ws_connect(f"{ws_url}/private/ws/{await sim.listen_key()}")
    market = await sim.http.ws_connect(f"{ws_url}/market/ws/btcusdc@markPrice")
    api = await sim.http.ws_connect(f"{ws_url}/ws-fapi/v1")
    async with user, market, api:
        cut = await sim.admin("POST", "/admin/ws/disconnect", {"target": "user"})
        assert cut["disconnected"] == 1
        assert (await user.receive(timeout=10)).type in CLOSED  # aborted: no close frame
        await api.send_json({"id": 1, "method": "ticker.price", "params": {"symbol": "BTCUSDC"}})
        assert (await api.receive_json(timeout=10))["status"] == 200  # the others live on
        await sim.admin("POST", "/admin/ws/disconnect", {"target": "market", "mode": "close"})
        assert (await market.receive(timeout=10)).type is aiohttp.WSMsgType.CLOSE
        assert market.close_code == 1001
        await sim.admin("POST", "/admin/ws/disconnect", {"target": "wsapi"})
        assert (await api.receive(timeout=10)).type in CLOSED
    log = await sim.fault_log()
    assert [(e["kind"], e["target"], e["connections"]) for e in log] == [
        ("ws_disconnect", "user", 1),
        ("ws_disconnect", "market", 1),
        ("ws_disconnect", "wsapi", 1),
    ]


async def test_random_disconnects_and_frame_latency(quiet_sim: VirtualSim) -> None:
    sim = quiet_sim
    sleeper: Any = sim.server.sleeper
    await _faults(sim, {"kind": "ws_disconnect", "target": "market", "count": 1})
    async with sim.http.ws_connect(f"{sim.server.ws_url}/market/ws/btcusdc@markPrice") as ws:
        await sim.advance(1000)  # the first mark price frame is the fatal one
        assert (await ws.receive(timeout=10)).type in CLOSED
    await _faults(sim, {"kind": "ws_latency", "target": "user", "latency": 30, "count": 1})
    key = await sim.listen_key()
    async with sim.http.ws_connect(f"{sim.server.ws_url}/private/ws/{key}") as ws:
        await sim.signed("POST", "/fapi/v1/order", **ORDER)
        await _until(lambda: sleeper.waiting == 1)  # the event waits for the clock
        await sim.advance(30)
        assert (await _next(ws))["e"] == "ORDER_TRADE_UPDATE"
    kinds = [(e["kind"], e["target"]) for e in await sim.fault_log()]
    assert kinds == [("ws_disconnect", "market"), ("ws_latency", "user")]


async def test_user_events_dropped_duplicated_and_reordered(quiet_sim: VirtualSim) -> None:
    sim = quiet_sim
    key = await sim.listen_key()

    async def place(client_id: str) -> int:
        _, order = await sim.signed("POST", "/fapi/v1/order", **ORDER, newClientOrderId=client_id)
        return int(order["orderId"])

    async with sim.http.ws_connect(f"{sim.server.ws_url}/private/ws/{key}") as ws:

        async def seen() -> tuple[str, str]:
            event = await _next(ws)
            return event["o"]["c"], event["o"]["X"]

        otu = ["ORDER_TRADE_UPDATE"]
        await _faults(sim, {"kind": "user_event", "action": "reorder", "event_types": otu,
                            "count": 1})  # fmt: skip
        first, second = await place("a"), await place("b")
        assert [await seen(), await seen()] == [("b", "NEW"), ("a", "NEW")]

        await _faults(sim, {"kind": "user_event", "action": "reorder", "count": 1})
        third = await place("c")  # held back, but its own cancel may not overtake it
        await sim.signed("DELETE", "/fapi/v1/order", symbol="BTCUSDC", orderId=third)
        assert [await seen(), await seen()] == [("c", "NEW"), ("c", "CANCELED")]

        await _faults(sim, {"kind": "user_event", "action": "duplicate", "count": 1})
        await place("d")
        assert [await seen(), await seen()] == [("d", "NEW"), ("d", "NEW")]

        await _faults(sim, {"kind": "user_event", "action": "drop", "count": 1})
        dropped = await place("e")
        await place("f")
        assert await seen() == ("f", "NEW")

        await _faults(sim, {"kind": "user_event", "action": "reorder", "count": 1})
        await place("g")  # nothing comes to overtake it: its hold time runs out
        await sim.advance(100)
        assert await seen() == ("g", "NEW")
    log = [e for e in await sim.fault_log() if e["kind"].startswith("user_event")]
    assert [(e["kind"], e.get("order", e.get("held_order"))) for e in log] == [
        ("user_event_reorder", first),
        ("user_event_duplicate", log[1]["order"]),
        ("user_event_drop", dropped),
    ]
    assert log[0]["overtaken_by_order"] == second


async def test_admin_rules_log_and_errors(quiet_sim: VirtualSim) -> None:
    sim = quiet_sim
    url = f"{sim.server.rest_url}/admin/faults"
    async with sim.http.post(url, json={"kind": "latency"}) as response:
        assert (response.status, await response.json()) == (400, {"error": "latency is required"})
    async with sim.http.post(url, json=[{"kind": "rate_limit"}, {"kind": "nope"}]) as response:
        assert response.status == 400
    assert (await sim.admin("GET", "/admin/faults"))["rules"] == []  # all or nothing
    ids = await _faults(sim, {"kind": "rate_limit", "match": "GET /fapi/v1/ping", "count": 3})
    async with sim.http.get(f"{sim.server.rest_url}/fapi/v1/ping") as response:
        assert response.status == 429
    state = await sim.admin("GET", "/admin/faults")
    assert [(r["id"], r["fired"], r["remaining"]) for r in state["rules"]] == [(ids[0], 1, 2)]
    assert (await sim.admin("GET", "/admin/faults/log?since=1"))["entries"] == []
    assert (await sim.admin("DELETE", "/admin/faults")) == {"removed": 1}
    async with sim.http.get(f"{sim.server.rest_url}/admin/nothing") as response:
        assert response.status == 404


async def test_time_control_needs_a_virtual_clock(real_sim: RealSim) -> None:
    async with aiohttp.ClientSession() as http:
        url = f"{real_sim.rest_url}/admin/time/advance"
        async with http.post(url, json={"ms": 1000}) as response:
            assert response.status == 409
        async with http.get(f"{real_sim.rest_url}/admin/time") as response:
            assert (await response.json())["virtual"] is False
