"""The run's plan: when to inject which fault, when to kill -9, when to check. Pure and seeded.

* Faults: every fault kind once, in a shuffled order, early in the run (so even a 2-minute CI
  run meets them all), then kinds drawn at random until shortly before the end. A 429 burst is
  drawn a third as often as the others: the gateway answers one by throttling itself for a
  minute (by design), and drawn as often it would keep the quoter throttled all the time.
* Kills: the first after a random share of the kill interval, then one per interval drawn in
  its range: 25–45 s for runs up to 5 minutes (a CI run sees three or four), 3–5 minutes beyond.
* Checkpoints: at random intervals (12–20 s, or 40–70 s for long runs). After every restart the
  orchestrator adds one of its own, a few seconds in, to check that what the dead process left
  open is known and managed.

Nothing is planned in the last 15 s: the end belongs to the final checkpoint and the clean stop.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from mmoms.soak.chaos import KINDS

__all__ = ["LONG_RUN_S", "Planned", "plan"]

LONG_RUN_S = 300.0  # beyond this, a run is paced like the 30-minute soak
_QUIET_END_S = 15.0
_WEIGHTS = [1.0 / 3 if kind == "rate_limit_429" else 1.0 for kind in KINDS]


@dataclass(frozen=True, slots=True, order=True)
class Planned:
    at_s: float  # seconds after the start of trading
    what: str  # "fault" | "kill" | "checkpoint"
    kind: str = ""  # the fault kind


def plan(duration_s: float, rng: random.Random) -> list[Planned]:
    long_run = duration_s > LONG_RUN_S
    end = duration_s - _QUIET_END_S
    events: list[Planned] = []
    gap = (3.0, 8.0) if long_run else (1.5, 3.5)
    t = 3.0
    order = list(KINDS)
    rng.shuffle(order)
    while t < end:
        kind = order.pop(0) if order else rng.choices(KINDS, weights=_WEIGHTS)[0]
        events.append(Planned(round(t, 3), "fault", kind))
        t += rng.uniform(*gap)
    kill_every = (180.0, 300.0) if long_run else (25.0, 45.0)
    t = rng.uniform(0.5, 1.0) * kill_every[0]
    while t < end:
        events.append(Planned(round(t, 3), "kill"))
        t += rng.uniform(*kill_every)
    check_every = (40.0, 70.0) if long_run else (12.0, 20.0)
    t = rng.uniform(*check_every)
    while t < end:
        events.append(Planned(round(t, 3), "checkpoint"))
        t += rng.uniform(*check_every)
    return sorted(events)
