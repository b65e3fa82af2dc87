"""The order state machine, as data.

One table maps ``(status, trigger)`` to the next status. A reader can check every rule at a
glance; rows that look odd carry a one-line reason. :func:`next_status` is pure. Pairs not in
the table are invalid: :func:`next_status` raises :class:`InvalidTransitionError`, which the local
book records as an anomaly instead of corrupting the order.

``WORKING`` is a placeholder target: "back to the live status the fills imply" (NEW when nothing
is filled, PARTIALLY_FILLED otherwise). It is how a failed cancel or amend returns an order to
where it was without remembering the previous status separately.

"Unknown order" in answer to a cancel (Binance -2011) is not a refused cancel: it means the order
is not open on the venue — it ended (filled, most often, before the cancel landed), or it never
existed (an order of unknown outcome that was never placed). Either way it must not go back to a
live status on our word: it becomes UNKNOWN (:data:`Trigger.CANCEL_NOT_FOUND`) and the venue's
answer about its client id settles it — the fill or final report, or, for an order the venue
never acknowledged, a "not found" from the resolving query (which waits out the window in which
the original request could still land): REJECTED (:data:`Trigger.NOT_FOUND`). That query's
"not found" is the only way an order becomes REJECTED without the venue saying so.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final, TypeAlias

from mmoms.core.enums import OrderStatus as S
from mmoms.core.errors import MmomsError


class Trigger(StrEnum):
    """What happened to an order: a venue's word, or one of our own requests."""

    SUBMIT = "SUBMIT"  # we send the new-order request (INACTIVE child activated, or resend)
    ACCEPTED = "ACCEPTED"  # venue: order is live (NEW)
    REJECTED = "REJECTED"  # venue: definitely not placed
    PARTIALLY_FILLED = "PARTIALLY_FILLED"  # venue: a fill, quantity remains
    FILLED = "FILLED"  # venue: completely filled
    CANCEL_SENT = "CANCEL_SENT"  # we send a cancel
    CANCEL_FAILED = "CANCEL_FAILED"  # venue refused the cancel; the order is still live
    CANCEL_NOT_FOUND = "CANCEL_NOT_FOUND"  # venue: not open (-2011): ended, or never placed
    CANCELED = "CANCELED"  # venue: canceled (ours, or unsolicited: STP, dead-man switch)
    EXPIRED = "EXPIRED"  # venue: expired (IOC/FOK remainder, GTD, STP)
    AMEND_SENT = "AMEND_SENT"  # we send a modify
    AMEND_FAILED = "AMEND_FAILED"  # venue refused the modify; the order is unchanged
    AMENDED = "AMENDED"  # venue: modify applied
    OUTCOME_UNKNOWN = "OUTCOME_UNKNOWN"  # a request may or may not have executed
    NOT_FOUND = "NOT_FOUND"  # venue: a query finds no order under this client id


class _Working(StrEnum):
    WORKING = "WORKING"


WORKING: Final = _Working.WORKING
Target: TypeAlias = S | _Working

T = Trigger

# fmt: off
TRANSITIONS: Final[dict[tuple[S, Trigger], Target]] = {
    # -- a contingent child waiting for its trigger ----------------------------------------
    (S.INACTIVE, T.SUBMIT):                 S.PENDING_NEW,
    (S.INACTIVE, T.CANCELED):               S.CANCELED,          # group canceled before trigger
    # -- new-order request in flight -------------------------------------------------------
    (S.PENDING_NEW, T.ACCEPTED):            S.NEW,
    (S.PENDING_NEW, T.REJECTED):            S.REJECTED,
    (S.PENDING_NEW, T.PARTIALLY_FILLED):    S.PARTIALLY_FILLED,  # stream fill beat the REST ack
    (S.PENDING_NEW, T.FILLED):              S.FILLED,
    (S.PENDING_NEW, T.CANCELED):            S.CANCELED,
    (S.PENDING_NEW, T.EXPIRED):             S.EXPIRED,           # IOC/FOK that did not rest
    (S.PENDING_NEW, T.OUTCOME_UNKNOWN):     S.UNKNOWN,
    (S.PENDING_NEW, T.CANCEL_SENT):         S.PENDING_CANCEL,    # kill switch: cancel by client id
    (S.PENDING_NEW, T.SUBMIT):              S.PENDING_NEW,       # safe resend, same client id
    (S.PENDING_NEW, T.AMENDED):             WORKING,             # an amend report overtook the ack; it says the fills
    # -- live ------------------------------------------------------------------------------
    (S.NEW, T.ACCEPTED):                    S.NEW,               # duplicate ack
    (S.NEW, T.PARTIALLY_FILLED):            S.PARTIALLY_FILLED,
    (S.NEW, T.FILLED):                      S.FILLED,
    (S.NEW, T.CANCEL_SENT):                 S.PENDING_CANCEL,
    (S.NEW, T.AMEND_SENT):                  S.PENDING_REPLACE,
    (S.NEW, T.AMENDED):                     WORKING,             # amend seen on the stream only; it says the fills
    (S.NEW, T.CANCELED):                    S.CANCELED,          # unsolicited: STP, countdown
    (S.NEW, T.EXPIRED):                     S.EXPIRED,           # GTD, STP
    (S.PARTIALLY_FILLED, T.PARTIALLY_FILLED): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, T.FILLED):         S.FILLED,
    (S.PARTIALLY_FILLED, T.CANCEL_SENT):    S.PENDING_CANCEL,
    (S.PARTIALLY_FILLED, T.AMEND_SENT):     S.PENDING_REPLACE,
    (S.PARTIALLY_FILLED, T.AMENDED):        S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, T.CANCELED):       S.CANCELED,
    (S.PARTIALLY_FILLED, T.EXPIRED):        S.EXPIRED,
    # -- cancel in flight ------------------------------------------------------------------
    (S.PENDING_CANCEL, T.CANCELED):         S.CANCELED,
    (S.PENDING_CANCEL, T.EXPIRED):          S.EXPIRED,
    (S.PENDING_CANCEL, T.FILLED):           S.FILLED,            # the fill raced our cancel
    (S.PENDING_CANCEL, T.PARTIALLY_FILLED): S.PENDING_CANCEL,    # filled a bit before the cancel landed
    (S.PENDING_CANCEL, T.ACCEPTED):         S.PENDING_CANCEL,    # late ack of the original new order
    (S.PENDING_CANCEL, T.AMENDED):          S.PENDING_CANCEL,    # late report of an earlier amend
    (S.PENDING_CANCEL, T.CANCEL_FAILED):    WORKING,
    (S.PENDING_CANCEL, T.CANCEL_NOT_FOUND): S.UNKNOWN,           # -2011: not open on the venue, never live again on our word
    (S.PENDING_CANCEL, T.CANCEL_SENT):      S.PENDING_CANCEL,    # retried cancel
    (S.PENDING_CANCEL, T.REJECTED):         S.REJECTED,          # the new order it chased was rejected
    (S.PENDING_CANCEL, T.OUTCOME_UNKNOWN):  S.UNKNOWN,
    # -- amend in flight -------------------------------------------------------------------
    (S.PENDING_REPLACE, T.AMENDED):         WORKING,
    (S.PENDING_REPLACE, T.AMEND_FAILED):    WORKING,
    (S.PENDING_REPLACE, T.ACCEPTED):        S.PENDING_REPLACE,   # late report of the pre-amend order
    (S.PENDING_REPLACE, T.PARTIALLY_FILLED): S.PENDING_REPLACE,
    (S.PENDING_REPLACE, T.FILLED):          S.FILLED,            # filled before the amend landed
    (S.PENDING_REPLACE, T.CANCELED):        S.CANCELED,          # Binance cancels if new qty <= filled
    (S.PENDING_REPLACE, T.EXPIRED):         S.EXPIRED,
    (S.PENDING_REPLACE, T.CANCEL_SENT):     S.PENDING_CANCEL,    # kill switch overrides the amend
    (S.PENDING_REPLACE, T.OUTCOME_UNKNOWN): S.UNKNOWN,
    # -- outcome unknown: resolved only by what the venue says about this client id ---------
    (S.UNKNOWN, T.ACCEPTED):                S.NEW,
    (S.UNKNOWN, T.AMENDED):                 WORKING,
    (S.UNKNOWN, T.PARTIALLY_FILLED):        S.PARTIALLY_FILLED,
    (S.UNKNOWN, T.FILLED):                  S.FILLED,
    (S.UNKNOWN, T.CANCELED):                S.CANCELED,
    (S.UNKNOWN, T.EXPIRED):                 S.EXPIRED,
    (S.UNKNOWN, T.REJECTED):                S.REJECTED,          # the venue's own word
    (S.UNKNOWN, T.NOT_FOUND):               S.REJECTED,          # query after the window: it never reached the venue
    (S.UNKNOWN, T.CANCEL_SENT):             S.PENDING_CANCEL,    # cancel by client id is safe
    (S.UNKNOWN, T.OUTCOME_UNKNOWN):         S.UNKNOWN,
    # -- terminal: only late facts about fills are accepted --------------------------------
    (S.FILLED, T.FILLED):                   S.FILLED,            # duplicate
    (S.FILLED, T.PARTIALLY_FILLED):         S.FILLED,            # late report of an earlier fill
    (S.CANCELED, T.CANCELED):               S.CANCELED,          # duplicate
    (S.CANCELED, T.PARTIALLY_FILLED):       S.CANCELED,          # a fill from before the cancel, reported late
    (S.CANCELED, T.FILLED):                 S.FILLED,            # a complete fill is a fact; the cancel was inferred
    (S.CANCELED, T.CANCEL_FAILED):          S.CANCELED,          # -2011 for an order already canceled
    (S.EXPIRED, T.EXPIRED):                 S.EXPIRED,
    (S.EXPIRED, T.PARTIALLY_FILLED):        S.EXPIRED,           # IOC remainder expired; its fill came late
    (S.EXPIRED, T.FILLED):                  S.FILLED,            # a complete fill is a fact
    (S.FILLED, T.CANCEL_FAILED):            S.FILLED,            # -2011: it filled before our cancel
    (S.FILLED, T.CANCEL_NOT_FOUND):         S.FILLED,            # -2011 after its fill: it stays filled
    (S.CANCELED, T.CANCEL_NOT_FOUND):       S.CANCELED,          # -2011 after its cancel (ours, or unsolicited)
    (S.EXPIRED, T.CANCEL_NOT_FOUND):        S.EXPIRED,           # -2011 after its expiry
    (S.REJECTED, T.CANCEL_NOT_FOUND):       S.REJECTED,          # -2011 for a new order that was rejected
    (S.REJECTED, T.REJECTED):               S.REJECTED,
    (S.REJECTED, T.ACCEPTED):               S.NEW,               # the venue holds it after all: never orphan a live order
    (S.REJECTED, T.PARTIALLY_FILLED):       S.PARTIALLY_FILLED,  # ...and fills it: its remainder is live
    (S.REJECTED, T.FILLED):                 S.FILLED,            # a complete fill is a fact
}
# fmt: on


class InvalidTransitionError(MmomsError):
    """A ``(status, trigger)`` pair that the table does not allow."""

    def __init__(self, status: S, trigger: Trigger) -> None:
        super().__init__(f"no transition from {status.value} on {trigger.value}")
        self.status = status
        self.trigger = trigger


def next_status(status: S, trigger: Trigger, *, partially_filled: bool) -> S:
    """The status after ``trigger``; ``partially_filled`` resolves ``WORKING``.

    Raises:
        InvalidTransitionError: the pair is not in :data:`TRANSITIONS`.
    """
    target = TRANSITIONS.get((status, trigger))
    if target is None:
        raise InvalidTransitionError(status, trigger)
    if target is WORKING:
        return S.PARTIALLY_FILLED if partially_filled else S.NEW
    assert isinstance(target, S)
    return target


def is_allowed(status: S, trigger: Trigger) -> bool:
    return (status, trigger) in TRANSITIONS
