"""Fault rules and the injector without a network: parsing, distributions, seeded decisions,
counts and windows, the reorder rules, and configuration from TOML and flags."""

from __future__ import annotations

import random
from typing import Any

import pytest

from mmoms.sim.cli import _parser, build_settings
from mmoms.sim.config import ConfigError, parse_settings
from mmoms.sim.fault_rules import Latency, RuleError, parse_rule
from mmoms.sim.faults import FaultInjector
from mmoms.sim.stream_faults import EventShaper, Held

ORDER_KEY = "POST /fapi/v1/order"


@pytest.mark.parametrize(
    ("spec", "low", "high"),
    [(25, 25, 25), ("7.5", 7.5, 7.5), ("uniform:5:20", 5, 20), ("exp:10", 0, 1e9),
     ("normal:50:10", 0, 1e9)],
)  # fmt: skip
def test_latency_distributions(spec: Any, low: float, high: float) -> None:
    latency = Latency.parse(spec)
    rng = random.Random(1)
    samples = [latency.sample(rng) for _ in range(200)]
    assert all(low <= s <= high for s in samples)
    assert Latency.parse(latency.text()) == latency


@pytest.mark.parametrize("spec", [-1, True, "", "uniform:9:1", "exp", "gauss:1", "uniform:a:b"])
def test_bad_latencies(spec: Any) -> None:
    with pytest.raises(RuleError):
        Latency.parse(spec)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"kind": "flood"}, "kind must be one of"),
        ({"kind": "latency", "latency": 1, "variant": "x"}, "unknown key(s) for kind latency"),
        ({"kind": "http_error", "variant": "teapot"}, "variant must be one of"),
        ({"kind": "http_error", "probability": 2}, "probability must be"),
        ({"kind": "rate_limit", "count": 0}, "count must be an integer >= 1"),
        ({"kind": "stale_reads"}, "window_ms is required"),
        ({"kind": "clock_skew", "skew_ms": "1"}, "skew_ms must be an integer"),
        ({"kind": "user_event", "action": "shuffle"}, "action must be one of"),
        ({"kind": "ws_latency", "latency": 1, "target": "moon"}, "target must be one of"),
        ({"kind": "user_event", "action": "drop", "event_types": "X"}, "event_types must be"),
    ],
)
def test_rule_errors_name_the_key(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(RuleError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_rule(spec, 1, 0, 0)


def _decisions(seed: int) -> list[tuple[bool, bool]]:
    faults = FaultInjector(seed)
    faults.add([{"kind": "http_error", "match": ORDER_KEY, "probability": 0.5}], 0)
    out = []
    for _ in range(40):
        plan = faults.plan_request(ORDER_KEY, "/fapi/v1/order", 0, "rest")
        out.append((plan is not None and plan.refuse is not None, plan is not None
                    and plan.fail_after is not None))  # fmt: skip
    return out


def test_the_same_seed_makes_the_same_decisions() -> None:
    first = _decisions(7)
    assert first == _decisions(7)
    assert first != _decisions(8)
    fired = [refused or executed for refused, executed in first]
    assert 0 < sum(fired) < 40  # probability 0.5 fires sometimes
    assert any(executed for _, executed in first)  # the unknown 503's coin: executed ...
    assert any(refused for refused, _ in first)  # ... and not


def test_match_count_and_window() -> None:
    faults = FaultInjector()
    faults.add(
        [
            {"kind": "rate_limit", "match": "GET /fapi/v1/*|DELETE *", "count": 2},
            {"kind": "ban", "match": "PUT *", "for_ms": 1000},
        ],
        now_ms=0,
    )
    assert faults.plan_request(ORDER_KEY, "/", 0, "rest") is None
    hits = [faults.plan_request("GET /fapi/v1/time", "/", 0, "rest") for _ in range(3)]
    assert [p is not None and p.refuse is not None for p in hits] == [True, True, False]
    assert faults.plan_request("PUT /fapi/v1/order", "/", 999, "rest") is not None
    plan = faults.plan_request("PUT /fapi/v1/order", "/", 1000, "rest")
    assert plan is None or plan.refuse is None  # the ban is over
    assert [e["seq"] for e in faults.entries()] == [1, 2, 3]
    assert [e["seq"] for e in faults.entries(since=2)] == [3]


def test_clock_skew_adds_up_while_active() -> None:
    faults = FaultInjector()
    faults.add([{"kind": "clock_skew", "skew_ms": 500}], 0)
    faults.add([{"kind": "clock_skew", "skew_ms": -200, "for_ms": 10}], 0)
    assert (faults.skew_ms(5), faults.skew_ms(10)) == (300, 500)


@pytest.mark.parametrize(
    ("first", "second", "overtakes"),
    [
        (("ORDER_TRADE_UPDATE", 1), ("ORDER_TRADE_UPDATE", 2), True),  # different orders
        (("ORDER_TRADE_UPDATE", 1), ("ORDER_TRADE_UPDATE", 1), False),  # one order's history
        (("ORDER_TRADE_UPDATE", 1), ("ACCOUNT_UPDATE", None), True),  # different types
        (("ACCOUNT_UPDATE", None), ("ACCOUNT_UPDATE", None), False),  # one type: in order
        (("TRADE_LITE", 1), ("ORDER_TRADE_UPDATE", 1), True),
    ],
)
def test_reorder_only_where_binance_promises_nothing(
    first: tuple[str, Any], second: tuple[str, Any], overtakes: bool
) -> None:
    shaper = EventShaper()
    a, b = Held(b"a", *first), Held(b"b", *second)
    assert shaper.push(a, "reorder") == ([], None)
    frames, overtaken = shaper.push(b, None)
    assert frames == ([b"b", b"a"] if overtakes else [b"a", b"b"])
    assert (overtaken is a) is overtakes
    assert shaper.flush() == []


def test_drop_duplicate_and_flush() -> None:
    shaper = EventShaper()
    event = Held(b"x", "ORDER_TRADE_UPDATE", 1)
    assert shaper.push(event, "drop") == ([], None)
    assert shaper.push(event, "duplicate") == ([b"x", b"x"], None)
    shaper.push(event, "reorder")
    assert shaper.flush() == [b"x"]


def test_faults_from_toml_and_flags() -> None:
    settings = parse_settings(
        {
            "faults": {
                "seed": 4,
                "rules": [{"kind": "latency", "match": ORDER_KEY, "latency": "uniform:1:2"}],
            },
            "server": {"virtual_time": True, "start_time_ms": 5, "admin": False},
        }
    )
    server = settings.server
    assert (server.faults.seed, server.virtual_time, server.start_time_ms) == (4, True, 5)
    assert server.options.admin is False
    with pytest.raises(ConfigError, match=r"faults\.rules\[0\]: latency is required"):
        parse_settings({"faults": {"rules": [{"kind": "latency"}]}})
    with pytest.raises(ConfigError, match=r"unknown key 'faults\.speed'"):
        parse_settings({"faults": {"speed": 1}})

    args = _parser().parse_args(
        ["--fault", '{"kind": "rate_limit"}', "--latency", "GET /fapi/v1/*=exp:3",
         "--clock-skew-ms", "-700", "--stale-read-ms", "250", "--fault-seed", "2"]
    )  # fmt: skip
    built, _ = build_settings(args, {})
    kinds = [r["kind"] for r in built.server.faults.rules]
    assert kinds == ["rate_limit", "latency", "clock_skew", "stale_reads"]
    assert built.server.faults.rules[1]["match"] == "GET /fapi/v1/*"
    assert built.server.faults.seed == 2
    for bad in (["--fault", "{oops"], ["--fault", '{"kind": "x"}'], ["--latency", "fast"]):
        with pytest.raises(ConfigError):
            build_settings(_parser().parse_args(bad), {})
