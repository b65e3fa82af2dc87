"""Failpoints: named places in the engine where a test can make the process die with SIGKILL.

Why: a crash test that kills at a random moment rarely lands in the microseconds that matter —
for example between "a fill and its follow-up are committed to the journal" and "the follow-up
is on the wire". A failpoint kills exactly there, with a real ``kill -9`` (the process sends
SIGKILL to itself: no ``finally``, no flush, no atexit), so recovery is tested against the
moment it exists for.

Arming: the environment variable ``MMOMS_FAILPOINTS``, read once at import, is a comma-separated
list of names, each optionally ``name:N`` to die at the N-th time the point is reached
(default 1). Unset or empty: nothing is armed and :func:`hit` costs one dict lookup. A name that
is not in :data:`POINTS` is refused at import, so a typo cannot make a crash test pass vacuously.

**Never set it in production.** It exists only for crash tests (``tests/e2e/test_group_crash.py``).

Points:

``group-followup-committed``
    After the engine's batch commit, before any request of that batch is handed to the gateway,
    when the batch holds a contingent group's follow-up (a sibling cancel, protective orders,
    a flatten) decided from an order event.
``group-followup-replied``
    After a group follow-up's request was answered by the venue, before the answer reaches the
    engine (the venue has acted; the journal does not know it yet).
"""

from __future__ import annotations

import os
import signal
import sys

ENV = "MMOMS_FAILPOINTS"
GROUP_FOLLOWUP_COMMITTED = "group-followup-committed"
GROUP_FOLLOWUP_REPLIED = "group-followup-replied"
POINTS = frozenset({GROUP_FOLLOWUP_COMMITTED, GROUP_FOLLOWUP_REPLIED})


class FailpointError(ValueError):
    """``MMOMS_FAILPOINTS`` names a point that does not exist, or a bad count."""


def parse(raw: str) -> dict[str, int]:
    """``"a,b:3"`` → ``{"a": 1, "b": 3}``.

    Raises:
        FailpointError: an unknown name or a count that is not a positive integer.
    """
    armed: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        name, _, count = item.partition(":")
        if name not in POINTS:
            raise FailpointError(f"{ENV}: unknown failpoint {name!r}; known: {sorted(POINTS)}")
        if count and (not count.isdigit() or int(count) < 1):
            raise FailpointError(f"{ENV}: {item!r}: the count must be a positive integer")
        armed[name] = int(count or 1)
    return armed


_armed = parse(os.environ.get(ENV, ""))


def hit(name: str) -> None:
    """Reach failpoint ``name``: if it is armed and its count runs out, die by SIGKILL now."""
    if name not in _armed:
        return
    _armed[name] -= 1
    if _armed[name] > 0:
        return
    sys.stderr.write(f"failpoint {name}: SIGKILL\n")
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def armed() -> dict[str, int]:
    """The armed points and the hits each still needs (for tests and startup logs)."""
    return dict(_armed)
