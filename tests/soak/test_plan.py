"""The soak's plan and fault episodes: seeded, complete, and aimed at endpoints that exist."""

from __future__ import annotations

import itertools
import random

import pytest

from mmoms.sim.clock import VirtualSimClock
from mmoms.sim.config_model import SimConfig
from mmoms.sim.exchange import SimExchange
from mmoms.sim.fault_rules import parse_rule
from mmoms.soak.chaos import FIRED_KINDS, KINDS, classify, episode, fired_enough
from mmoms.soak.schedule import plan


def test_the_same_seed_plans_the_same_run() -> None:
    assert plan(150, random.Random(7)) == plan(150, random.Random(7))
    assert plan(150, random.Random(7)) != plan(150, random.Random(8))


@pytest.mark.parametrize("seed", range(5))
def test_a_ci_run_meets_every_fault_kind_early_and_kills_a_few_times(seed: int) -> None:
    events = plan(150, random.Random(seed))
    faults = [e for e in events if e.what == "fault"]
    first_round = faults[: len(KINDS)]
    assert sorted(e.kind for e in first_round) == sorted(KINDS)
    assert first_round[-1].at_s < 60  # well inside a 2-minute run
    kills = [e.at_s for e in events if e.what == "kill"]
    assert 3 <= len(kills) <= 5
    assert all(25 <= b - a <= 45 for a, b in itertools.pairwise(kills))
    assert sum(e.what == "checkpoint" for e in events) >= 5
    assert max(e.at_s for e in events) < 150 - 15  # the end belongs to the final checks


def test_a_long_run_kills_every_few_minutes() -> None:
    events = plan(1800, random.Random(1))
    kills = [e.at_s for e in events if e.what == "kill"]
    assert 5 <= len(kills) <= 10
    assert all(180 <= b - a <= 300 for a, b in itertools.pairwise(kills))
    faults = [e for e in events if e.what == "fault"]
    assert {e.kind for e in faults} == set(KINDS)
    later = [e.kind for e in faults[len(KINDS) :]]
    assert later.count("rate_limit_429") < later.count("ws_drop")  # drawn a third as often


def endpoint_keys() -> set[str]:
    exchange = SimExchange(VirtualSimClock(), SimConfig())
    return set(exchange.endpoints)


@pytest.mark.parametrize("kind", KINDS)
def test_every_episode_is_a_valid_rule_set_aimed_at_real_endpoints(kind: str) -> None:
    known = endpoint_keys()
    for seed in range(20):
        chosen = episode(kind, random.Random(seed), "key")
        assert chosen.rules or chosen.action
        for i, rule in enumerate(chosen.rules):
            parse_rule(rule, i + 1, 0, 0)  # the simulator accepts it (raises if not)
            for pattern in str(rule.get("match", "")).split("|"):
                if pattern and pattern != "*":
                    assert pattern in known, f"{kind}: no endpoint {pattern!r}"


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        episode("meteor", random.Random(1), "key")


@pytest.mark.parametrize(
    ("entry", "kind"),
    [
        ({"kind": "ws_disconnect", "target": "user"}, "ws_drop"),
        ({"kind": "ws_disconnect", "target": "market"}, None),
        ({"kind": "listen_key_expired", "count": 1}, "listen_key_expiry"),
        ({"kind": "user_event_drop"}, "event_drop"),
        ({"kind": "user_event_duplicate"}, "event_duplicate"),
        ({"kind": "user_event_reorder"}, "event_reorder"),
        ({"kind": "http_error", "status": 503, "code": -1000, "executed": True}, "http_503_placed"),
        ({"kind": "http_error", "status": 503, "code": None, "executed": False},
         "http_503_not_placed"),
        ({"kind": "http_error", "status": 503, "code": -1001, "executed": False}, "http_5xx"),
        ({"kind": "http_error", "status": 500, "code": -1000, "executed": False}, "http_5xx"),
        ({"kind": "rate_limit", "status": 429}, "rate_limit_429"),
        ({"kind": "clock_skew", "skew_ms": 10}, "clock_skew"),
        ({"kind": "stale_reads"}, "stale_reads"),
        ({"kind": "latency"}, None),
    ],
)  # fmt: skip
def test_fault_log_entries_are_counted_by_kind(entry: dict[str, object], kind: str | None) -> None:
    assert classify(entry) == kind
    assert kind is None or kind in FIRED_KINDS


def test_the_unknown_503_has_fired_only_once_both_coins_came_up() -> None:
    assert not fired_enough("http_503_unknown", {"http_503_placed": 3})
    assert fired_enough("http_503_unknown", {"http_503_placed": 3, "http_503_not_placed": 1})
    assert fired_enough("ws_drop", {"ws_drop": 1})
    assert not fired_enough("ws_drop", {})
