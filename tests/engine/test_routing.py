"""The routing table: the one a newcomer reads (routing.py's docstring) is the one the engine
runs, every message type has exactly one route, and a cascade is breadth first: what a
handler decides is routed after it returns, after the book's own reactions to its changes."""

from __future__ import annotations

import re

import pytest

from mmoms.core.clock import LiveClock
from mmoms.engine import routing
from mmoms.engine.messages import TimerMsg
from mmoms.engine.oms import OrderManager
from mmoms.journal.memory import InMemoryJournalStore

from .fake_gateway import FakeGateway
from .test_oms import config


def _documented() -> dict[str, str]:
    doc = routing.__doc__ or ""
    rows = re.findall(r"^(\w+)(?: \(effect\))?\s{2,}(\S+)", doc, flags=re.MULTILINE)
    return {name: where for name, where in rows if name not in ("message",)}


def test_the_documented_table_is_the_table_the_engine_runs() -> None:
    oms = OrderManager(FakeGateway(LiveClock()), InMemoryJournalStore(), config())
    router = oms._router
    routed = {t.__name__ for t in router._routes} | {t.__name__ for t in router._effects}
    documented = set(_documented())
    documented.discard("Fetch")  # "Fetch* (effect)": the three fetches on one row
    fetches = {"FetchOrder", "FetchTruth", "FetchFills"}
    assert fetches <= routed
    assert routed - fetches == documented - {"Fetch"}


class _Probe:
    """Handlers that record the order they ran in; the 'book' reacts to the first."""

    def __init__(self) -> None:
        self.ran: list[str] = []
        self.reactions: list[object] = []

    def first(self, _: object) -> list[object]:
        self.ran.append("first")
        self.reactions.append(_Reaction())  # what the book does while the handler runs
        return [_Decided(), _Effect()]

    def reaction(self, _: object) -> list[object]:
        self.ran.append("reaction")
        return []

    def decided(self, _: object) -> list[object]:
        self.ran.append("decided")
        return [_Later()]

    def later(self, _: object) -> list[object]:
        self.ran.append("later")
        return []

    def effect(self, _: object) -> None:
        self.ran.append("effect")


class _First: ...


class _Reaction: ...


class _Decided: ...


class _Later: ...


class _Effect: ...


def test_a_cascade_routes_reactions_then_decisions_breadth_first_and_never_re_enters() -> None:
    probe = _Probe()
    router = routing.Router(
        routes={
            _First: probe.first,
            _Reaction: probe.reaction,
            _Decided: probe.decided,
            _Later: probe.later,
        },
        effects={_Effect: probe.effect},
        timers={"tick": lambda: [_Later()]},
        reactions=probe.reactions,
    )
    router.dispatch(_First())
    assert probe.ran == ["first", "reaction", "decided", "effect", "later"]
    assert probe.reactions == []
    router.dispatch(TimerMsg("tick"))
    router.dispatch(TimerMsg("stop"))  # a wake-up only: routed to nothing
    assert probe.ran[-1] == "later"
    assert probe.ran.count("later") == 2


def test_handlers_feeding_each_other_stop_the_engine_loudly_instead_of_spinning() -> None:
    class _Ping: ...

    def ping(_: object) -> list[object]:
        return [_Ping()]

    router = routing.Router(routes={_Ping: ping}, effects={}, timers={}, reactions=[])
    try:
        routing.MAX_CASCADE, saved = 1_000, routing.MAX_CASCADE
        with pytest.raises(routing.CascadeError, match=r"_Ping set off more than 1000"):
            router.dispatch(_Ping())
    finally:
        routing.MAX_CASCADE = saved
