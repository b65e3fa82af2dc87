"""The transition table, walked pair by pair, plus the invariants every row must respect.

The expectations here are written independently of the table: break a row in
``mmoms/core/fsm.py`` and one of these tests goes red.
"""

import itertools

import pytest

from mmoms.core.enums import OrderStatus as S
from mmoms.core.fsm import TRANSITIONS, WORKING, InvalidTransitionError, Trigger, next_status

T = Trigger
LIVE = (S.NEW, S.PARTIALLY_FILLED)
LOCAL_TRIGGERS = (T.SUBMIT, T.CANCEL_SENT, T.AMEND_SENT)

# Rows a reader would check first, restated on their own.
EXPECTED = {
    (S.INACTIVE, T.SUBMIT): S.PENDING_NEW,
    (S.PENDING_NEW, T.ACCEPTED): S.NEW,
    (S.PENDING_NEW, T.REJECTED): S.REJECTED,
    (S.PENDING_NEW, T.OUTCOME_UNKNOWN): S.UNKNOWN,
    (S.PENDING_NEW, T.FILLED): S.FILLED,
    (S.NEW, T.PARTIALLY_FILLED): S.PARTIALLY_FILLED,
    (S.NEW, T.CANCEL_SENT): S.PENDING_CANCEL,
    (S.NEW, T.AMEND_SENT): S.PENDING_REPLACE,
    (S.PENDING_CANCEL, T.CANCELED): S.CANCELED,
    (S.PENDING_CANCEL, T.FILLED): S.FILLED,  # the fill raced our cancel
    (S.PENDING_CANCEL, T.PARTIALLY_FILLED): S.PENDING_CANCEL,
    # -2011 on a cancel: not open on the venue (ended, or never placed), so resolved by query,
    # never returned to a live status on our word.
    (S.PENDING_CANCEL, T.CANCEL_NOT_FOUND): S.UNKNOWN,
    (S.PENDING_REPLACE, T.CANCELED): S.CANCELED,  # amend to qty <= filled cancels
    (S.UNKNOWN, T.ACCEPTED): S.NEW,
    (S.UNKNOWN, T.REJECTED): S.REJECTED,
    (S.CANCELED, T.PARTIALLY_FILLED): S.CANCELED,
    (S.FILLED, T.PARTIALLY_FILLED): S.FILLED,
}


def all_pairs() -> list[tuple[S, Trigger]]:
    return list(itertools.product(S, Trigger))


@pytest.mark.parametrize(("status", "trigger"), all_pairs())
def test_every_pair_is_either_listed_or_refused(status: S, trigger: Trigger) -> None:
    if (status, trigger) in TRANSITIONS:
        result = next_status(status, trigger, partially_filled=False)
        assert isinstance(result, S)
    else:
        with pytest.raises(InvalidTransitionError):
            next_status(status, trigger, partially_filled=False)


@pytest.mark.parametrize(("pair", "expected"), list(EXPECTED.items()))
def test_key_rows(pair: tuple[S, Trigger], expected: S) -> None:
    assert next_status(*pair, partially_filled=False) is expected


def test_working_resolves_from_fills() -> None:
    assert TRANSITIONS[(S.PENDING_CANCEL, T.CANCEL_FAILED)] is WORKING
    assert next_status(S.PENDING_CANCEL, T.CANCEL_FAILED, partially_filled=False) is S.NEW
    assert next_status(S.PENDING_CANCEL, T.CANCEL_FAILED, partially_filled=True) is (
        S.PARTIALLY_FILLED
    )
    assert next_status(S.PENDING_REPLACE, T.AMENDED, partially_filled=True) is S.PARTIALLY_FILLED


def test_a_cancel_answered_unknown_order_never_makes_an_order_live() -> None:
    rows = {st: t for (st, tr), t in TRANSITIONS.items() if tr is T.CANCEL_NOT_FOUND}
    assert rows, "the trigger has rows"
    for status, target in rows.items():
        assert target is not WORKING, status
        assert target not in LIVE, status
        assert target is (status if status.is_terminal else S.UNKNOWN), status


@pytest.mark.parametrize("status", [s for s in S if s.is_terminal])
def test_terminal_states_stay_terminal(status: S) -> None:
    for trigger in Trigger:
        target = TRANSITIONS.get((status, trigger))
        if target is None or (status, trigger) == (S.REJECTED, T.ACCEPTED):
            continue  # the one documented exception: never orphan a live order
        assert target is not WORKING
        assert isinstance(target, S)
        assert target.is_terminal, f"{status} + {trigger} leaves a terminal state"


@pytest.mark.parametrize("status", [s for s in S if s.is_terminal])
def test_no_request_is_sent_for_a_terminal_order(status: S) -> None:
    for trigger in LOCAL_TRIGGERS:
        assert (status, trigger) not in TRANSITIONS


def test_venue_outcomes_are_respected_from_every_state() -> None:
    for (status, trigger), target in TRANSITIONS.items():
        if trigger is T.FILLED:
            assert target is S.FILLED, status
        if trigger is T.CANCELED and status is not S.FILLED:
            assert target is S.CANCELED, status
        if trigger is T.OUTCOME_UNKNOWN:
            assert target is S.UNKNOWN, status


def test_in_flight_states_never_accept_a_second_amend() -> None:
    for status in (S.PENDING_NEW, S.PENDING_CANCEL, S.PENDING_REPLACE, S.UNKNOWN):
        assert (status, T.AMEND_SENT) not in TRANSITIONS


def test_every_non_terminal_state_can_reach_a_terminal_one() -> None:
    for start in S:
        seen, frontier = {start}, [start]
        while frontier:
            current = frontier.pop()
            for (status, _trigger), target in TRANSITIONS.items():
                if status is not current:
                    continue
                for nxt in LIVE if target is WORKING else (target,):
                    assert isinstance(nxt, S)
                    if nxt not in seen:
                        seen.add(nxt)
                        frontier.append(nxt)
        assert any(s.is_terminal for s in seen), start
