"""The order state machine against a table written out here, row by row, from the domain.

``EXPECTED`` is not read from :mod:`mmoms.core.fsm`: each row was decided on its own (Binance
USDⓈ-M semantics and the FSM's docstring). Every pair it lists must lead to its target, every
pair it does not list must be refused. So deleting, adding or changing a row of ``TRANSITIONS``
fails :func:`test_every_listed_pair_leads_to_its_target` or
:func:`test_every_unlisted_pair_is_refused`.

``W`` is "back to the live status the fills imply": NEW when nothing is filled, PARTIALLY_FILLED
otherwise. Every other target is the same whatever the fills.
"""

import itertools

import pytest

from mmoms.core.enums import OrderStatus as S
from mmoms.core.fsm import InvalidTransitionError, Trigger, is_allowed, next_status

T = Trigger
W = "W"  # back to NEW / PARTIALLY_FILLED, as the fills say

EXPECTED: dict[tuple[S, Trigger], S | str] = {
    # A contingent child waiting for its trigger: we send it, or its group is canceled first.
    (S.INACTIVE, T.SUBMIT): S.PENDING_NEW,
    (S.INACTIVE, T.CANCELED): S.CANCELED,
    # New-order request in flight: any venue outcome is taken as it comes.
    (S.PENDING_NEW, T.ACCEPTED): S.NEW,
    (S.PENDING_NEW, T.REJECTED): S.REJECTED,
    (S.PENDING_NEW, T.PARTIALLY_FILLED): S.PARTIALLY_FILLED,  # the stream beat the REST ack
    (S.PENDING_NEW, T.FILLED): S.FILLED,
    (S.PENDING_NEW, T.CANCELED): S.CANCELED,
    (S.PENDING_NEW, T.EXPIRED): S.EXPIRED,  # IOC/FOK that did not rest, GTX that would take
    (S.PENDING_NEW, T.OUTCOME_UNKNOWN): S.UNKNOWN,  # timeout, 5xx: resolved by query
    (S.PENDING_NEW, T.CANCEL_SENT): S.PENDING_CANCEL,  # kill switch cancels by client id
    (S.PENDING_NEW, T.SUBMIT): S.PENDING_NEW,  # safe resend under the same client id
    # An amend report (not ours: none is sent before the ack) carries the fills so far.
    (S.PENDING_NEW, T.AMENDED): W,
    # Live.
    (S.NEW, T.ACCEPTED): S.NEW,  # duplicate ack
    (S.NEW, T.PARTIALLY_FILLED): S.PARTIALLY_FILLED,
    (S.NEW, T.FILLED): S.FILLED,
    (S.NEW, T.CANCEL_SENT): S.PENDING_CANCEL,
    (S.NEW, T.AMEND_SENT): S.PENDING_REPLACE,
    (S.NEW, T.AMENDED): W,  # an amend seen on the stream only: its report says the fills
    (S.NEW, T.CANCELED): S.CANCELED,  # unsolicited: STP, countdown
    (S.NEW, T.EXPIRED): S.EXPIRED,  # GTD, STP
    (S.PARTIALLY_FILLED, T.PARTIALLY_FILLED): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, T.FILLED): S.FILLED,
    (S.PARTIALLY_FILLED, T.CANCEL_SENT): S.PENDING_CANCEL,
    (S.PARTIALLY_FILLED, T.AMEND_SENT): S.PENDING_REPLACE,
    (S.PARTIALLY_FILLED, T.AMENDED): S.PARTIALLY_FILLED,  # fills never go away
    (S.PARTIALLY_FILLED, T.CANCELED): S.CANCELED,
    (S.PARTIALLY_FILLED, T.EXPIRED): S.EXPIRED,
    # Cancel in flight: the order is on its way out; only a final word or a failure moves it.
    (S.PENDING_CANCEL, T.CANCELED): S.CANCELED,
    (S.PENDING_CANCEL, T.EXPIRED): S.EXPIRED,
    (S.PENDING_CANCEL, T.FILLED): S.FILLED,  # the fill raced our cancel
    (S.PENDING_CANCEL, T.PARTIALLY_FILLED): S.PENDING_CANCEL,  # the cancel is still coming
    (S.PENDING_CANCEL, T.ACCEPTED): S.PENDING_CANCEL,  # late ack of the new order
    (S.PENDING_CANCEL, T.AMENDED): S.PENDING_CANCEL,  # late report of an earlier amend
    (S.PENDING_CANCEL, T.CANCEL_FAILED): W,  # refused: still live, as before
    # -2011: not open on the venue (ended, or never placed): settled by the venue's answer,
    # never live again on our word.
    (S.PENDING_CANCEL, T.CANCEL_NOT_FOUND): S.UNKNOWN,
    (S.PENDING_CANCEL, T.CANCEL_SENT): S.PENDING_CANCEL,  # retried cancel
    (S.PENDING_CANCEL, T.REJECTED): S.REJECTED,  # the new order it chased was rejected
    (S.PENDING_CANCEL, T.OUTCOME_UNKNOWN): S.UNKNOWN,
    # Amend in flight.
    (S.PENDING_REPLACE, T.AMENDED): W,
    (S.PENDING_REPLACE, T.AMEND_FAILED): W,  # the order is unchanged, still live
    (S.PENDING_REPLACE, T.ACCEPTED): S.PENDING_REPLACE,  # late report of the pre-amend order
    # A partial fill does not answer the amend: still in flight (not FILLED: quantity remains).
    (S.PENDING_REPLACE, T.PARTIALLY_FILLED): S.PENDING_REPLACE,
    (S.PENDING_REPLACE, T.FILLED): S.FILLED,  # filled before the amend landed
    (S.PENDING_REPLACE, T.CANCELED): S.CANCELED,  # Binance cancels an amend to qty <= filled
    (S.PENDING_REPLACE, T.EXPIRED): S.EXPIRED,
    (S.PENDING_REPLACE, T.CANCEL_SENT): S.PENDING_CANCEL,  # kill switch overrides the amend
    (S.PENDING_REPLACE, T.OUTCOME_UNKNOWN): S.UNKNOWN,
    # Outcome unknown: resolved only by what the venue says about this client id.
    (S.UNKNOWN, T.ACCEPTED): S.NEW,
    (S.UNKNOWN, T.AMENDED): W,
    (S.UNKNOWN, T.PARTIALLY_FILLED): S.PARTIALLY_FILLED,
    (S.UNKNOWN, T.FILLED): S.FILLED,
    (S.UNKNOWN, T.CANCELED): S.CANCELED,
    (S.UNKNOWN, T.EXPIRED): S.EXPIRED,
    (S.UNKNOWN, T.REJECTED): S.REJECTED,
    (S.UNKNOWN, T.NOT_FOUND): S.REJECTED,  # a query after the window: it never reached the venue
    (S.UNKNOWN, T.CANCEL_SENT): S.PENDING_CANCEL,  # a cancel by client id is safe
    (S.UNKNOWN, T.OUTCOME_UNKNOWN): S.UNKNOWN,
    # Terminal: only duplicates and late facts; a complete fill outranks an inferred end.
    (S.FILLED, T.FILLED): S.FILLED,
    (S.FILLED, T.PARTIALLY_FILLED): S.FILLED,
    (S.FILLED, T.CANCEL_FAILED): S.FILLED,
    (S.FILLED, T.CANCEL_NOT_FOUND): S.FILLED,
    (S.CANCELED, T.CANCELED): S.CANCELED,
    (S.CANCELED, T.PARTIALLY_FILLED): S.CANCELED,  # a fill from before the cancel, late
    (S.CANCELED, T.FILLED): S.FILLED,
    (S.CANCELED, T.CANCEL_FAILED): S.CANCELED,
    (S.CANCELED, T.CANCEL_NOT_FOUND): S.CANCELED,
    (S.EXPIRED, T.EXPIRED): S.EXPIRED,
    (S.EXPIRED, T.PARTIALLY_FILLED): S.EXPIRED,  # IOC remainder expired; its fill came late
    (S.EXPIRED, T.FILLED): S.FILLED,
    (S.EXPIRED, T.CANCEL_NOT_FOUND): S.EXPIRED,
    (S.REJECTED, T.REJECTED): S.REJECTED,
    (S.REJECTED, T.CANCEL_NOT_FOUND): S.REJECTED,
    # The venue holds it after all (a rejection we inferred): never orphan a live order.
    (S.REJECTED, T.ACCEPTED): S.NEW,
    # ...or fills it (a rejection we inferred): the remainder is live, the fill a fact.
    (S.REJECTED, T.PARTIALLY_FILLED): S.PARTIALLY_FILLED,
    (S.REJECTED, T.FILLED): S.FILLED,
}


def resolved(target: S | str, *, partially_filled: bool) -> S:
    if target == W:
        return S.PARTIALLY_FILLED if partially_filled else S.NEW
    assert isinstance(target, S)
    return target


@pytest.mark.parametrize("partially_filled", [False, True])
@pytest.mark.parametrize(("pair", "target"), list(EXPECTED.items()), ids=str)
def test_every_listed_pair_leads_to_its_target(
    pair: tuple[S, Trigger], target: S | str, partially_filled: bool
) -> None:
    status, trigger = pair
    assert is_allowed(status, trigger)
    got = next_status(status, trigger, partially_filled=partially_filled)
    assert got is resolved(target, partially_filled=partially_filled)


UNLISTED = [p for p in itertools.product(S, Trigger) if p not in EXPECTED]


@pytest.mark.parametrize(("status", "trigger"), UNLISTED, ids=str)
def test_every_unlisted_pair_is_refused(status: S, trigger: Trigger) -> None:
    assert not is_allowed(status, trigger)
    with pytest.raises(InvalidTransitionError) as caught:
        next_status(status, trigger, partially_filled=False)
    assert (caught.value.status, caught.value.trigger) == (status, trigger)
    assert str(caught.value) == f"no transition from {status.value} on {trigger.value}"


def test_the_table_covers_every_status_and_trigger() -> None:
    """Each status has a way in or out, each trigger a use: a new member needs its rows."""
    assert {s for s, _ in EXPECTED} == set(S)
    assert {t for _, t in EXPECTED} == set(Trigger)


# -- invariants of the expected table itself (guards against a careless edit of EXPECTED) ----


def test_no_request_is_sent_for_a_terminal_order() -> None:
    local = (T.SUBMIT, T.CANCEL_SENT, T.AMEND_SENT)
    assert not [p for p in EXPECTED if p[0].is_terminal and p[1] in local]


def test_terminal_states_stay_terminal_except_a_live_order_the_venue_holds() -> None:
    leaving = [
        p
        for p, t in EXPECTED.items()
        if p[0].is_terminal and not resolved(t, partially_filled=True).is_terminal
    ]
    assert leaving == [(S.REJECTED, T.ACCEPTED), (S.REJECTED, T.PARTIALLY_FILLED)]


def test_cancel_not_found_never_makes_an_order_live() -> None:
    for (status, trigger), target in EXPECTED.items():
        if trigger is T.CANCEL_NOT_FOUND:
            assert target == (status if status.is_terminal else S.UNKNOWN), status


def test_in_flight_states_never_accept_a_second_amend() -> None:
    for status in (S.PENDING_NEW, S.PENDING_CANCEL, S.PENDING_REPLACE, S.UNKNOWN):
        assert not is_allowed(status, T.AMEND_SENT)


def test_every_state_can_reach_a_terminal_one() -> None:
    for start in S:
        seen, frontier = {start}, [start]
        while frontier:
            current = frontier.pop()
            for (status, _), target in EXPECTED.items():
                if status is current:
                    for nxt in (S.NEW, S.PARTIALLY_FILLED) if target == W else (target,):
                        if nxt not in seen:
                            seen.add(S(nxt))
                            frontier.append(S(nxt))
        assert any(s.is_terminal for s in seen), start
