import dataclasses
from decimal import Decimal as D

import msgspec
import pytest

from mmoms.core.book import LocalOrderBook, UnknownOrderError
from mmoms.core.clock import TestClock
from mmoms.core.enums import OrderStatus, OrderType, PositionSide, Side, TimeInForce
from mmoms.core.enums import VenueOrderStatus as V
from mmoms.core.events import (
    OrderAccepted,
    OrderAdopted,
    OrderAmended,
    OrderAmendRejected,
    OrderAnomaly,
    OrderCanceled,
    OrderCancelRejected,
    OrderCreated,
    OrderExpired,
    OrderFilled,
    OrderOutcomeUnknown,
    OrderPendingAmend,
    OrderPendingCancel,
    OrderRejected,
    OrderSubmitted,
    OrderUpdated,
)
from mmoms.core.fsm import InvalidTransitionError, Trigger
from mmoms.core.ids import ClientOrderId, Symbol, VenueOrderId
from mmoms.core.reports import (
    BalanceReport,
    OpenOrdersSnapshot,
    OrderNotFoundReport,
    PositionReport,
    ReportSource,
)

from .factories import MS, SYM, fill, status, stop_loss, submit

A = ClientOrderId("a")


@pytest.fixture
def book() -> LocalOrderBook:
    return LocalOrderBook(TestClock())


def order_a(book: LocalOrderBook):  # type: ignore[no-untyped-def]
    order = book.get(SYM, A)
    assert order is not None
    return order


def test_create_tracks_a_pending_order(book: LocalOrderBook) -> None:
    events = book.create(submit("a"))
    assert [type(e) for e in events] == [OrderCreated]
    assert order_a(book).status is OrderStatus.PENDING_NEW
    with pytest.raises(ValueError, match="already used"):
        book.create(submit("a"))


def test_lifecycle_new_partial_filled(book: LocalOrderBook) -> None:
    book.create(submit("a", qty="2"))
    assert isinstance(book.apply(status("a", 7, V.NEW, qty="2"))[0], OrderAccepted)
    assert book.by_venue_id(SYM, VenueOrderId(7)) is order_a(book)
    events = book.apply(fill("a", 7, 1, "0.5", cum="0.5"))
    assert isinstance(events[0], OrderFilled)
    assert order_a(book).status is OrderStatus.PARTIALLY_FILLED
    book.apply(fill("a", 7, 2, "1.5", cum="2", price="101"))
    order = order_a(book)
    assert order.status is OrderStatus.FILLED
    assert order.filled_qty == D(2)
    assert order.avg_price == (D("0.5") * 100 + D("1.5") * 101) / 2
    assert book.position(SYM) == D(2)


def test_duplicate_reports_change_nothing(book: LocalOrderBook) -> None:
    book.create(submit("a", qty="2"))
    book.apply(status("a", 7, V.NEW, qty="2"))
    first = book.apply(fill("a", 7, 1, "1", cum="1"))
    assert first
    assert book.apply(fill("a", 7, 1, "1", cum="1")) == []
    assert book.apply(status("a", 7, V.PARTIALLY_FILLED, "1", qty="2")) == []
    assert book.apply(status("a", 7, V.NEW, qty="2")) == []  # stale: ranks below what we know
    assert order_a(book).filled_qty == D(1)
    assert book.position(SYM) == D(1)


def test_a_trade_counts_once_whatever_its_source(book: LocalOrderBook) -> None:
    book.create(submit("a", qty="2"))
    book.apply(fill("a", 7, 42, "1", cum="1"))
    # The same trade again from userTrades during reconciliation (no cum there).
    assert book.apply(fill("a", 7, 42, "1")) == []
    assert book.position(SYM) == D(1)


def test_status_never_moves_backwards(book: LocalOrderBook) -> None:
    book.create(submit("a", qty="2"))
    book.apply(status("a", 7, V.CANCELED, "1", qty="2", ts_ms=5))
    assert order_a(book).status is OrderStatus.CANCELED
    assert book.apply(status("a", 7, V.PARTIALLY_FILLED, "1", qty="2", ts_ms=3)) == []
    assert book.apply(status("a", 7, V.NEW, ts_ms=2)) == []
    # ... but the fill behind the late partial report still counts.
    book.apply(fill("a", 7, 9, "1", cum="1", ts_ms=3))
    assert order_a(book).status is OrderStatus.CANCELED
    assert book.position(SYM) == D(1)


def test_filled_quantity_never_exceeds_order_quantity(book: LocalOrderBook) -> None:
    book.create(submit("a", qty="1"))
    book.apply(fill("a", 7, 1, "1", cum="1"))
    events = book.apply(fill("a", 7, 2, "0.5", cum="1.5"))
    assert isinstance(events[0], OrderAnomaly)
    assert order_a(book).filled_qty == D(1)
    assert book.position(SYM) == D(1)
    assert book.anomaly_count == 1
    book.create(submit("b", qty="2"))
    bad = book.apply(status("b", 8, V.PARTIALLY_FILLED, "3", qty="2"))
    assert isinstance(bad[0], OrderAnomaly)
    order_b = book.get(SYM, ClientOrderId("b"))
    assert order_b is not None
    assert order_b.filled_qty == D(0)


def test_unknown_order_is_adopted_not_dropped(book: LocalOrderBook) -> None:
    events = book.apply(status("ext", 99, V.NEW, side=Side.SELL))
    assert isinstance(events[0], OrderAdopted)
    order = book.get(SYM, ClientOrderId("ext"))
    assert order is not None
    assert order.external
    assert order.status is OrderStatus.NEW


def test_fill_before_adoption_counts_at_once_and_attaches_later(book: LocalOrderBook) -> None:
    assert book.apply(fill("ext", 99, 5, "0.3", side=Side.SELL)) == []
    assert book.position(SYM) == D("-0.3")
    events = book.apply(status("ext", 99, V.PARTIALLY_FILLED, "0.3", side=Side.SELL))
    assert [type(e) for e in events] == [OrderAdopted, OrderFilled]
    order = book.get(SYM, ClientOrderId("ext"))
    assert order is not None
    assert [f.trade_id for f in order.fills] == [5]
    assert book.position(SYM) == D("-0.3")  # not counted twice


def test_cancel_race_fill_wins(book: LocalOrderBook) -> None:
    book.create(submit("a"))
    book.apply(status("a", 7, V.NEW))
    assert isinstance(book.mark(SYM, A, Trigger.CANCEL_SENT)[0], OrderPendingCancel)
    book.apply(fill("a", 7, 1, "1", cum="1"))
    assert order_a(book).status is OrderStatus.FILLED
    # The cancel then fails with -2011: the order stays filled.
    book.mark(SYM, A, Trigger.CANCEL_FAILED, "-2011 Unknown order sent.")
    assert order_a(book).status is OrderStatus.FILLED


def test_failed_cancel_returns_to_working_status(book: LocalOrderBook) -> None:
    book.create(submit("a", qty="2"))
    book.apply(status("a", 7, V.NEW, qty="2"))
    book.apply(fill("a", 7, 1, "1", cum="1"))
    book.mark(SYM, A, Trigger.CANCEL_SENT)
    book.mark(SYM, A, Trigger.CANCEL_FAILED, "timeout budget")
    assert order_a(book).status is OrderStatus.PARTIALLY_FILLED


def test_amend_flow(book: LocalOrderBook) -> None:
    book.create(submit("a"))
    book.apply(status("a", 7, V.NEW, ts_ms=1))
    book.mark(SYM, A, Trigger.AMEND_SENT)
    assert order_a(book).status is OrderStatus.PENDING_REPLACE
    events = book.apply(status("a", 7, V.NEW, price="99", ts_ms=2, amended=True))
    assert isinstance(events[0], OrderAmended)
    assert order_a(book).price == D(99)
    assert order_a(book).status is OrderStatus.NEW
    # An older amendment arriving late does not undo the newer price.
    book.apply(status("a", 7, V.NEW, price="98", ts_ms=1, amended=True))
    assert order_a(book).price == D(99)


def test_amend_that_cancels(book: LocalOrderBook) -> None:
    book.create(submit("a", qty="2"))
    book.apply(status("a", 7, V.NEW, qty="2"))
    book.apply(fill("a", 7, 1, "1", cum="1"))
    book.mark(SYM, A, Trigger.AMEND_SENT)
    events = book.apply(status("a", 7, V.CANCELED, "1", qty="2", ts_ms=2))
    assert isinstance(events[0], OrderCanceled)


def test_unknown_outcome_resolved_by_query(book: LocalOrderBook) -> None:
    book.create(submit("a"))
    assert isinstance(book.mark(SYM, A, Trigger.OUTCOME_UNKNOWN, "timeout")[0], OrderOutcomeUnknown)
    assert order_a(book).status is OrderStatus.UNKNOWN
    book.apply(status("a", 7, V.NEW))
    assert order_a(book).status is OrderStatus.NEW


def test_unknown_outcome_not_found_means_rejected(book: LocalOrderBook) -> None:
    book.create(submit("a"))
    book.mark(SYM, A, Trigger.OUTCOME_UNKNOWN)
    events = book.apply(
        OrderNotFoundReport(ts_event_ns=1, ts_recv_ns=1, symbol=SYM, client_order_id=A)
    )
    assert isinstance(events[0], OrderRejected)
    assert order_a(book).status is OrderStatus.REJECTED


def test_a_never_placed_order_whose_cancel_is_answered_unknown_order_is_resolved(
    book: LocalOrderBook,
) -> None:
    book.create(submit("a"))
    book.mark(SYM, A, Trigger.OUTCOME_UNKNOWN, "timeout")
    book.mark(SYM, A, Trigger.CANCEL_SENT)  # a group cancels it before it is resolved
    events = book.mark(SYM, A, Trigger.CANCEL_NOT_FOUND, "-2011 Unknown order sent.")
    assert isinstance(events[0], OrderCancelRejected)
    assert order_a(book).status is OrderStatus.UNKNOWN  # not NEW: the venue does not hold it
    events = book.apply(
        OrderNotFoundReport(ts_event_ns=1, ts_recv_ns=1, symbol=SYM, client_order_id=A)
    )
    assert isinstance(events[0], OrderRejected)
    assert order_a(book).status is OrderStatus.REJECTED


def test_a_live_order_whose_cancel_is_answered_unknown_order_waits_for_its_fill(
    book: LocalOrderBook,
) -> None:
    book.create(submit("a"))
    book.apply(status("a", 7, V.NEW))
    book.mark(SYM, A, Trigger.CANCEL_SENT)
    book.mark(SYM, A, Trigger.CANCEL_NOT_FOUND, "-2011 Unknown order sent.")
    assert order_a(book).status is OrderStatus.UNKNOWN
    book.apply(fill("a", 7, 1, "1", cum="1"))
    assert order_a(book).status is OrderStatus.FILLED


def test_not_found_for_an_acknowledged_order_of_unknown_outcome_is_an_anomaly(
    book: LocalOrderBook,
) -> None:
    book.create(submit("a"))
    book.apply(status("a", 7, V.NEW))
    book.mark(SYM, A, Trigger.AMEND_SENT)
    book.mark(SYM, A, Trigger.OUTCOME_UNKNOWN, "timeout")
    events = book.apply(
        OrderNotFoundReport(ts_event_ns=1, ts_recv_ns=1, symbol=SYM, client_order_id=A)
    )
    assert isinstance(events[0], OrderAnomaly)  # it existed: "not found" is not "never placed"
    assert order_a(book).status is OrderStatus.UNKNOWN
    book.apply(status("a", 7, V.FILLED, "1"))  # the venue's next answer settles it
    assert order_a(book).status is OrderStatus.FILLED


def test_not_found_for_a_live_order_is_an_anomaly(book: LocalOrderBook) -> None:
    book.create(submit("a"))
    book.apply(status("a", 7, V.NEW))
    events = book.apply(
        OrderNotFoundReport(ts_event_ns=1, ts_recv_ns=1, symbol=SYM, client_order_id=A)
    )
    assert isinstance(events[0], OrderAnomaly)
    assert order_a(book).status is OrderStatus.NEW


def test_invalid_venue_transition_is_recorded_not_applied(book: LocalOrderBook) -> None:
    book.create(submit("a"))
    book.apply(status("a", 7, V.CANCELED, ts_ms=2))
    events = book.apply(status("a", 7, V.EXPIRED, ts_ms=3))
    assert isinstance(events[0], OrderAnomaly)
    assert order_a(book).status is OrderStatus.CANCELED


def test_mark_refuses_unknown_orders_and_invalid_triggers(book: LocalOrderBook) -> None:
    with pytest.raises(UnknownOrderError):
        book.mark(SYM, A, Trigger.CANCEL_SENT)
    book.create(submit("a"))
    book.apply(status("a", 7, V.FILLED, "1"))
    with pytest.raises(InvalidTransitionError):
        book.mark(SYM, A, Trigger.AMEND_SENT)


def test_snapshot_lists_what_is_missing(book: LocalOrderBook) -> None:
    book.create(submit("a"))
    book.create(submit("b"))
    book.create(submit("c"))
    book.apply(status("a", 1, V.NEW))
    book.apply(status("b", 2, V.NEW))
    snapshot = OpenOrdersSnapshot(
        ts_event_ns=5, ts_recv_ns=5, symbols=(SYM,), orders=(status("b", 2, V.NEW),)
    )
    book.apply(snapshot)
    missing = book.missing_from(snapshot)
    # "a" is live locally but absent: query it. "c" is still in flight: not missing yet.
    assert [o.client_order_id for o in missing] == ["a"]


def test_positions_are_kept_per_position_side(book: LocalOrderBook) -> None:
    book.apply(fill("x", 1, 1, "2"))
    assert book.position(SYM, PositionSide.BOTH) == D(2)
    assert book.position(Symbol("ETHUSDC")) == D(0)


def test_state_hash_sees_every_change(book: LocalOrderBook) -> None:
    book.create(submit("a", qty="2"))
    h0 = book.state_hash()
    book.apply(status("a", 7, V.NEW, qty="2"))
    h1 = book.state_hash()
    book.apply(fill("a", 7, 1, "1", cum="1"))
    h2 = book.state_hash()
    assert len({h0, h1, h2}) == 3
    assert book.state_hash() == h2  # deterministic


def test_snapshot_version_from_the_future_is_refused(book: LocalOrderBook) -> None:
    import msgspec

    from mmoms.core.snapshot import decode_snapshot, encode_snapshot

    future = msgspec.structs.replace(book.snapshot(), version=99)
    with pytest.raises(ValueError, match="newer"):
        decode_snapshot(encode_snapshot(future))


def test_a_self_trade_counts_both_of_our_fills(book: LocalOrderBook) -> None:
    """Our bid met our ask: one trade id, two fills of ours (a buy and a sell)."""
    book.create(submit("bid", side=Side.BUY))
    book.create(submit("ask", side=Side.SELL))
    book.apply(fill("bid", 1, 77, "1", cum="1", side=Side.BUY))
    book.apply(fill("ask", 2, 77, "1", cum="1", side=Side.SELL))
    assert [o.filled_qty for o in book.orders(SYM)] == [D(1), D(1)]
    assert book.position(SYM) == D(0)
    assert book.apply(fill("ask", 2, 77, "1", cum="1", side=Side.SELL)) == []  # still once


# -- the rules that keep money right (each written to fail on one wrong line of the book) ------


def not_found(cid: ClientOrderId = A) -> OrderNotFoundReport:
    return OrderNotFoundReport(ts_event_ns=1, ts_recv_ns=3, symbol=SYM, client_order_id=cid)


def test_orders_are_read_only_outside_the_book(book: LocalOrderBook) -> None:
    book.create(submit("a"))
    order = order_a(book)
    with pytest.raises(dataclasses.FrozenInstanceError):
        order.status = OrderStatus.FILLED  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        order.filled_qty = D(1)  # type: ignore[misc]
    assert isinstance(order.fills, tuple)  # nothing to append to either
    assert order.status is OrderStatus.PENDING_NEW


def test_a_fill_for_an_order_not_known_yet_counts_once_by_its_trade_id(
    book: LocalOrderBook,
) -> None:
    assert book.apply(fill("ext", 99, 5, "0.3")) == []
    assert book.apply(fill("ext", 99, 5, "0.3", source=ReportSource.REST)) == []  # userTrades
    assert book.position(SYM) == D("0.3")
    book.apply(status("ext", 99, V.PARTIALLY_FILLED, "0.3"))
    order = book.get(SYM, ClientOrderId("ext"))
    assert order is not None
    assert [f.trade_id for f in order.fills] == [5]  # attached once
    assert book.apply(fill("ext", 99, 5, "0.3")) == []  # and counted once, after adoption too
    assert book.position(SYM) == D("0.3")
    assert order.filled_qty == D("0.3")


def test_a_late_new_after_the_venues_rejected_does_not_resurrect_the_order(
    book: LocalOrderBook,
) -> None:
    book.create(submit("a"))
    events = book.apply(status("a", 7, V.REJECTED, ts_ms=2))
    assert isinstance(events[0], OrderRejected)
    assert book.apply(status("a", 7, V.NEW, ts_ms=1)) == []  # older news
    assert order_a(book).status is OrderStatus.REJECTED
    assert book.open_orders(SYM) == []
    assert book.open_count(SYM) == 0


def test_an_order_we_inferred_rejected_that_the_venue_holds_is_live_again(
    book: LocalOrderBook,
) -> None:
    book.create(submit("a"))
    book.mark(SYM, A, Trigger.REJECTED, "-1001 disconnected")  # our inference, not the venue's
    assert book.open_count(SYM) == 0
    book.apply(status("a", 7, V.NEW))
    assert order_a(book).status is OrderStatus.NEW  # never orphan a live order
    assert book.open_orders(SYM) == [order_a(book)]


def test_not_found_after_unknown_outcome_rejects_through_the_state_machine(
    book: LocalOrderBook,
) -> None:
    book.create(submit("a"))
    book.mark(SYM, A, Trigger.OUTCOME_UNKNOWN, "timeout")
    assert book.open_count(SYM) == 1
    (event,) = book.apply(not_found())
    assert isinstance(event, OrderRejected)
    assert (event.status, event.ts_ns, event.client_order_id) == (OrderStatus.REJECTED, 3, A)
    assert "not found" in event.reason
    order = order_a(book)
    assert (order.status, order.updated_ns) == (OrderStatus.REJECTED, 3)
    assert book.open_count(SYM) == 0
    (again,) = book.apply(not_found())  # REJECTED has no NOT_FOUND row: an anomaly
    assert isinstance(again, OrderAnomaly)
    assert book.anomaly_count == 1


@pytest.mark.parametrize("trigger", [None, Trigger.CANCEL_SENT])
def test_not_found_for_an_order_in_flight_is_an_anomaly_not_a_rejection(
    book: LocalOrderBook, trigger: Trigger | None
) -> None:
    """PENDING_NEW / PENDING_CANCEL without a venue id: the request may still land."""
    book.create(submit("a"))
    if trigger is not None:
        book.mark(SYM, A, trigger)
    before = order_a(book).status
    (event,) = book.apply(not_found())
    assert isinstance(event, OrderAnomaly)
    assert "does not know an order in" in event.reason
    assert order_a(book).status is before
    assert book.open_count(SYM) == 1


def test_not_found_for_an_order_we_do_not_hold_changes_nothing(book: LocalOrderBook) -> None:
    assert book.apply(not_found()) == []
    assert book.anomaly_count == 0


def test_an_amend_report_with_fills_leaves_the_order_partially_filled(
    book: LocalOrderBook,
) -> None:
    book.create(submit("a", qty="2"))
    book.apply(status("a", 7, V.NEW, qty="2", ts_ms=1))
    events = book.apply(
        status("a", 7, V.PARTIALLY_FILLED, "0.5", qty="3", price="99", ts_ms=2, amended=True)
    )
    assert isinstance(events[0], OrderAmended)
    order = order_a(book)
    assert (order.status, order.filled_qty) == (OrderStatus.PARTIALLY_FILLED, D("0.5"))
    assert (order.quantity, order.price) == (D(3), D(99))


def test_an_older_amend_report_does_not_undo_a_newer_one(book: LocalOrderBook) -> None:
    book.create(submit("a", qty="2"))
    book.apply(status("a", 7, V.NEW, qty="2", ts_ms=1))
    book.apply(status("a", 7, V.NEW, qty="3", price="99", ts_ms=5, amended=True))
    book.apply(status("a", 7, V.NEW, qty="4", price="98", ts_ms=4, amended=True))  # older
    order = order_a(book)
    assert (order.quantity, order.price, order.last_event_ns) == (D(3), D(99), 5 * MS)
    book.apply(status("a", 7, V.NEW, qty="4", price="98", ts_ms=5, amended=True))  # same ms
    assert (order.quantity, order.price) == (D(4), D(98))  # a tie goes to the later report


def test_every_change_is_stamped_with_the_time_it_was_received(book: LocalOrderBook) -> None:
    book.create(submit("a", qty="2"))
    book.apply(status("a", 7, V.NEW, qty="2", ts_ms=3))
    assert order_a(book).updated_ns == 3 * MS
    book.apply(fill("a", 7, 1, "1", cum="1", ts_ms=4))
    assert order_a(book).updated_ns == 4 * MS
    assert order_a(book).venue_rank == 2
    book.apply(fill("a", 7, 2, "1", cum="2", ts_ms=6))
    assert (order_a(book).updated_ns, order_a(book).venue_rank) == (6 * MS, 3)


def test_an_adopted_order_clashing_with_ours_is_kept_apart(book: LocalOrderBook) -> None:
    book.create(submit("a"))
    book.apply(status("a", 7, V.NEW))
    (adopted,) = book.apply(status("a", 8, V.NEW, side=Side.SELL))  # same id, another order
    assert isinstance(adopted, OrderAdopted)
    assert adopted.client_order_id == "a#8"
    other = book.get(SYM, ClientOrderId("a#8"))
    assert other is not None
    assert (other.external, other.side, other.venue_order_id) == (True, Side.SELL, 8)
    assert book.by_venue_id(SYM, VenueOrderId(8)) is other
    assert order_a(book).side is Side.BUY
    assert book.open_count(SYM) == 2


def test_a_fill_that_would_overfill_is_an_anomaly_and_not_counted(book: LocalOrderBook) -> None:
    book.create(submit("a", qty="1"))
    book.apply(fill("a", 7, 1, "0.6"))
    (event,) = book.apply(fill("a", 7, 2, "0.5"))
    assert isinstance(event, OrderAnomaly)
    assert book.position(SYM) == D("0.6")
    book.apply(fill("a", 7, 3, "0.4"))  # exactly the rest: fine
    assert (order_a(book).status, book.position(SYM)) == (OrderStatus.FILLED, D(1))


# -- which event each change is told as ---------------------------------------------------------

_LOCAL_STEPS: list[tuple[str, list[Trigger], Trigger, OrderStatus, type]] = [
    # (where it starts: INACTIVE / PENDING_NEW / NEW, triggers before, the trigger, status
    # after, the event it is told as)
    ("inactive", [], Trigger.SUBMIT, OrderStatus.PENDING_NEW, OrderSubmitted),
    ("inactive", [], Trigger.CANCELED, OrderStatus.CANCELED, OrderCanceled),
    ("pending", [], Trigger.OUTCOME_UNKNOWN, OrderStatus.UNKNOWN, OrderOutcomeUnknown),
    ("pending", [], Trigger.REJECTED, OrderStatus.REJECTED, OrderRejected),
    ("live", [], Trigger.CANCEL_SENT, OrderStatus.PENDING_CANCEL, OrderPendingCancel),
    ("live", [], Trigger.AMEND_SENT, OrderStatus.PENDING_REPLACE, OrderPendingAmend),
    ("live", [Trigger.CANCEL_SENT], Trigger.CANCEL_FAILED, OrderStatus.NEW, OrderCancelRejected),
    (
        "live",
        [Trigger.CANCEL_SENT],
        Trigger.CANCEL_NOT_FOUND,
        OrderStatus.UNKNOWN,
        OrderCancelRejected,
    ),
    ("live", [Trigger.AMEND_SENT], Trigger.AMEND_FAILED, OrderStatus.NEW, OrderAmendRejected),
]


@pytest.mark.parametrize(("start", "before", "trigger", "after", "event"), _LOCAL_STEPS)
def test_each_of_our_own_steps_is_told_as_its_event(
    book: LocalOrderBook,
    start: str,
    before: list[Trigger],
    trigger: Trigger,
    after: OrderStatus,
    event: type,
) -> None:
    book.create(submit("a"), inactive=start == "inactive")
    if start == "live":
        book.apply(status("a", 7, V.NEW))
    for t in before:
        book.mark(SYM, A, t)
    (told,) = book.mark(SYM, A, trigger, "why")
    assert type(told) is event
    assert (told.client_order_id, told.symbol, told.status) == (A, SYM, after)
    assert getattr(told, "reason", "why") == "why"
    assert order_a(book).status is after
    assert book.open_count(SYM) == (1 if after.is_open else 0)


@pytest.mark.parametrize(
    ("venue", "after", "event"),
    [
        (V.CANCELED, OrderStatus.CANCELED, OrderCanceled),
        (V.EXPIRED, OrderStatus.EXPIRED, OrderExpired),
        (V.EXPIRED_IN_MATCH, OrderStatus.EXPIRED, OrderExpired),  # self-trade prevention
        (V.REJECTED, OrderStatus.REJECTED, OrderRejected),
        (V.PARTIALLY_FILLED, OrderStatus.PARTIALLY_FILLED, OrderUpdated),
        (V.FILLED, OrderStatus.FILLED, OrderUpdated),
    ],
)
def test_each_venue_status_is_told_as_its_event(
    book: LocalOrderBook, venue: V, after: OrderStatus, event: type
) -> None:
    book.create(submit("a"))
    filled = {V.PARTIALLY_FILLED: "0.5", V.FILLED: "1"}.get(venue, "0")
    (told,) = book.apply(status("a", 7, venue, filled, ts_ms=2))
    assert type(told) is event
    assert told.status is after
    assert order_a(book).status is after


@pytest.mark.parametrize(
    ("venue", "after"),
    [
        (V.NEW, OrderStatus.NEW),
        (V.PARTIALLY_FILLED, OrderStatus.PARTIALLY_FILLED),
        (V.FILLED, OrderStatus.FILLED),
        (V.CANCELED, OrderStatus.CANCELED),
        (V.EXPIRED, OrderStatus.EXPIRED),
        (V.EXPIRED_IN_MATCH, OrderStatus.EXPIRED),
        (V.REJECTED, OrderStatus.REJECTED),
    ],
)
def test_an_adopted_order_takes_the_venues_status(
    book: LocalOrderBook, venue: V, after: OrderStatus
) -> None:
    filled = {V.PARTIALLY_FILLED: "0.5", V.FILLED: "1"}.get(venue, "0")
    (adopted,) = book.apply(status("ext", 9, venue, filled))
    assert isinstance(adopted, OrderAdopted)
    assert adopted.status is after
    order = book.get(SYM, ClientOrderId("ext"))
    assert order is not None
    assert (order.status, order.external, order.venue_rank) == (after, True, venue.rank)
    assert book.open_count(SYM) == (1 if after.is_open else 0)


def test_an_adopted_order_keeps_every_term_the_venue_reported(book: LocalOrderBook) -> None:
    report = msgspec.structs.replace(
        status("ext", 9, V.PARTIALLY_FILLED, "0.5", qty="2", price="101", ts_ms=4, side=Side.SELL),
        time_in_force=TimeInForce.GTX,
        reduce_only=True,
        position_side=PositionSide.SHORT,
    )
    (adopted,) = book.apply(report)
    assert adopted == OrderAdopted(
        ts_ns=4 * MS,
        client_order_id=ClientOrderId("ext"),
        symbol=SYM,
        status=OrderStatus.PARTIALLY_FILLED,
        venue_order_id=VenueOrderId(9),
        side=Side.SELL,
        order_type=OrderType.LIMIT,
        quantity=D(2),
        price=D(101),
    )
    order = book.get(SYM, ClientOrderId("ext"))
    assert order is not None
    assert (order.time_in_force, order.reduce_only, order.position_side) == (
        TimeInForce.GTX,
        True,
        PositionSide.SHORT,
    )
    assert (order.filled_qty, order.quantity, order.price, order.side) == (
        D("0.5"),
        D(2),
        D(101),
        Side.SELL,
    )
    assert (order.created_ns, order.updated_ns, order.last_event_ns) == (4 * MS,) * 3


def test_each_anomaly_is_counted_and_names_its_order() -> None:
    clock = TestClock()
    book = LocalOrderBook(clock)
    book.create(submit("a"))
    book.apply(status("a", 7, V.CANCELED))
    clock.advance(123)
    now = clock.time_ns()
    first = book.apply(status("a", 7, V.EXPIRED))  # CANCELED has no EXPIRED row
    second = book.apply(not_found())
    assert first == [
        OrderAnomaly(
            ts_ns=now,
            client_order_id=A,
            symbol=SYM,
            reason="no transition from CANCELED on EXPIRED",
        )
    ]
    assert second == [
        OrderAnomaly(
            ts_ns=now,
            client_order_id=A,
            symbol=SYM,
            reason="venue does not know an order in CANCELED",
        )
    ]
    assert book.anomaly_count == 2


def test_not_found_rejection_reason_is_exact(book: LocalOrderBook) -> None:
    book.create(submit("a"))
    book.mark(SYM, A, Trigger.OUTCOME_UNKNOWN)
    (event,) = book.apply(not_found())
    assert event == OrderRejected(
        ts_ns=3,
        client_order_id=A,
        symbol=SYM,
        status=OrderStatus.REJECTED,
        reason="not found on venue after unknown outcome",
    )


def test_an_order_live_without_a_venue_id_is_missing_from_a_snapshot_that_lacks_it(
    book: LocalOrderBook,
) -> None:
    """Only a conditional order not triggered yet is kept apart from the open-orders list."""
    book.create(submit("a"))
    book.mark(SYM, A, Trigger.CANCEL_SENT)
    book.mark(SYM, A, Trigger.CANCEL_FAILED)  # live again, no venue id known yet
    book.create(stop_loss("95", cid="sl"))
    book.mark(SYM, ClientOrderId("sl"), Trigger.CANCEL_SENT)
    book.mark(SYM, ClientOrderId("sl"), Trigger.CANCEL_FAILED)
    empty = OpenOrdersSnapshot(ts_event_ns=5, ts_recv_ns=5, symbols=(SYM,), orders=())
    assert [o.client_order_id for o in book.missing_from(empty, apart=True)] == ["a"]
    assert [o.client_order_id for o in book.missing_from(empty)] == ["a", "sl"]


def test_a_venue_trigger_marked_by_us_is_told_as_an_update_with_the_fills(
    book: LocalOrderBook,
) -> None:
    book.create(submit("a", qty="2"))
    book.apply(fill("a", 7, 1, "0.5"))
    (told,) = book.mark(SYM, A, Trigger.EXPIRED)
    assert told == OrderUpdated(
        ts_ns=order_a(book).updated_ns,
        client_order_id=A,
        symbol=SYM,
        status=OrderStatus.EXPIRED,
        filled_qty=D("0.5"),
    )


def test_a_mark_without_a_reason_has_an_empty_one(book: LocalOrderBook) -> None:
    book.create(submit("a"))
    (told,) = book.mark(SYM, A, Trigger.OUTCOME_UNKNOWN)
    assert isinstance(told, OrderOutcomeUnknown)
    assert told.reason == ""
    with pytest.raises(UnknownOrderError, match="BTCUSDC/zz"):
        book.mark(SYM, ClientOrderId("zz"), Trigger.CANCEL_SENT)


def test_a_fill_before_any_status_gives_the_order_its_venue_id(book: LocalOrderBook) -> None:
    book.create(submit("a", qty="2"))
    book.apply(fill("a", 7, 1, "0.5"))
    assert order_a(book).venue_order_id == 7
    assert book.by_venue_id(SYM, VenueOrderId(7)) is order_a(book)


def test_a_fills_cumulative_quantity_counts_a_fill_we_missed(book: LocalOrderBook) -> None:
    book.create(submit("a", qty="2"))
    book.apply(fill("a", 7, 2, "0.5", cum="1.5"))  # trade 1 (1.0) never reached us
    assert (order_a(book).filled_qty, order_a(book).status) == (
        D("1.5"),
        OrderStatus.PARTIALLY_FILLED,
    )


def test_missing_from_looks_only_at_the_snapshots_symbols(book: LocalOrderBook) -> None:
    eth = Symbol("ETHUSDC")
    book.create(msgspec.structs.replace(submit("e"), symbol=eth))
    book.apply(msgspec.structs.replace(status("e", 3, V.NEW), symbol=eth))
    book.create(submit("a"))
    book.apply(status("a", 7, V.NEW))
    empty = OpenOrdersSnapshot(ts_event_ns=5, ts_recv_ns=5, symbols=(SYM,), orders=())
    assert [o.client_order_id for o in book.missing_from(empty)] == ["a"]


def test_a_new_order_is_tracked_with_every_term_of_its_command(book: LocalOrderBook) -> None:
    cmd = msgspec.structs.replace(
        submit("a", qty="2", price="99", side=Side.SELL),
        time_in_force=TimeInForce.GTX,
        reduce_only=True,
        position_side=PositionSide.SHORT,
    )
    (created,) = book.create(cmd, tag="ask1")
    assert created == OrderCreated(
        ts_ns=created.ts_ns,
        client_order_id=A,
        symbol=SYM,
        status=OrderStatus.PENDING_NEW,
        side=Side.SELL,
        order_type=OrderType.LIMIT,
        quantity=D(2),
        price=D(99),
        time_in_force=TimeInForce.GTX,
        reduce_only=True,
        position_side=PositionSide.SHORT,
        tag="ask1",
    )
    order = order_a(book)
    assert (order.price, order.time_in_force, order.reduce_only, order.position_side) == (
        D(99),
        TimeInForce.GTX,
        True,
        PositionSide.SHORT,
    )


def test_an_inactive_order_is_not_open(book: LocalOrderBook) -> None:
    (created,) = book.create(submit("a"), inactive=True)
    assert created.status is OrderStatus.INACTIVE
    assert order_a(book).status is OrderStatus.INACTIVE
    assert book.open_count(SYM) == 0


def test_a_report_that_is_not_an_amend_is_not_told_as_one(book: LocalOrderBook) -> None:
    book.create(submit("a", price="100"))
    (event,) = book.apply(status("a", 7, V.NEW, price="101"))  # the venue's price wins
    assert event == OrderAccepted(
        ts_ns=MS, client_order_id=A, symbol=SYM, status=OrderStatus.NEW, venue_order_id=7
    )
    assert order_a(book).price == D(101)


def test_the_venues_rejection_and_fills_are_told_exactly(book: LocalOrderBook) -> None:
    book.create(submit("a"))
    assert book.apply(status("a", 7, V.REJECTED, ts_ms=2)) == [
        OrderRejected(
            ts_ns=2 * MS,
            client_order_id=A,
            symbol=SYM,
            status=OrderStatus.REJECTED,
            reason="by venue",
        )
    ]
    book.create(submit("b", qty="2"))
    f = msgspec.structs.replace(
        fill("b", 8, 1, "0.5", price="99", ts_ms=3), commission=D("0.01"), commission_asset="BNB"
    )
    (filled,) = book.apply(f)
    assert filled == OrderFilled(
        ts_ns=3 * MS,
        client_order_id=ClientOrderId("b"),
        symbol=SYM,
        status=OrderStatus.PARTIALLY_FILLED,
        trade_id=f.trade_id,
        side=Side.BUY,
        last_qty=D("0.5"),
        last_price=D(99),
        filled_qty=D("0.5"),
        commission=D("0.01"),
        commission_asset="BNB",
        liquidity=f.liquidity,
    )


def test_anomaly_reasons_say_what_was_refused(book: LocalOrderBook) -> None:
    book.create(submit("a", qty="1"))
    (over,) = book.apply(status("a", 7, V.PARTIALLY_FILLED, "2"))
    assert isinstance(over, OrderAnomaly)
    assert over.reason == "report filled 2 > quantity 1"
    book.apply(fill("a", 7, 1, "0.6"))
    (fill_over,) = book.apply(fill("a", 7, 2, "0.5"))
    assert isinstance(fill_over, OrderAnomaly)
    assert fill_over.reason == "trade 2 would overfill the order"


def test_position_and_balance_reports_are_kept_as_they_came(book: LocalOrderBook) -> None:
    pos = PositionReport(
        ts_event_ns=1,
        ts_recv_ns=1,
        symbol=SYM,
        position_side=PositionSide.LONG,
        quantity=D(2),
        entry_price=D(100),
    )
    bal = BalanceReport(ts_event_ns=1, ts_recv_ns=1, asset="USDC", wallet_balance=D(10))
    assert book.apply(pos) == []
    assert book.apply(bal) == []
    assert book.venue_positions == {(SYM, PositionSide.LONG): pos}
    assert book.balances == {"USDC": bal}


def test_a_restored_book_finds_its_orders_by_venue_id_and_keeps_their_terms(
    book: LocalOrderBook,
) -> None:
    cmd = msgspec.structs.replace(submit("a"), position_side=PositionSide.LONG)
    book.create(cmd)
    book.apply(status("a", 7, V.NEW))
    book.create(submit("b"))  # no venue id yet
    restored = LocalOrderBook.restore(book.snapshot(), TestClock())
    order = restored.get(SYM, A)
    assert order is not None
    assert restored.by_venue_id(SYM, VenueOrderId(7)) is order
    assert order.position_side is PositionSide.LONG
    assert restored.state_hash() == book.state_hash()


def test_a_new_order_is_stamped_with_its_creation_time() -> None:
    clock = TestClock()
    book = LocalOrderBook(clock)
    book.create(submit("a"))
    assert (order_a(book).created_ns, order_a(book).updated_ns) == (clock.time_ns(),) * 2


def test_a_restored_book_still_attaches_a_fill_that_came_before_its_order(
    book: LocalOrderBook,
) -> None:
    book.apply(fill("ext", 99, 5, "0.3"))
    restored = LocalOrderBook.restore(book.snapshot(), TestClock())
    events = restored.apply(status("ext", 99, V.PARTIALLY_FILLED, "0.3"))
    assert [type(e) for e in events] == [OrderAdopted, OrderFilled]
    assert restored.position(SYM) == D("0.3")


def test_a_fill_of_an_order_we_inferred_rejected_makes_it_live_again(
    book: LocalOrderBook,
) -> None:
    book.create(submit("a", qty="2"))
    book.mark(SYM, A, Trigger.REJECTED, "refused")  # our inference: the venue fills it anyway
    (filled,) = book.apply(fill("a", 7, 1, "0.5"))
    assert isinstance(filled, OrderFilled)
    assert order_a(book).status is OrderStatus.PARTIALLY_FILLED  # its remainder rests
    assert book.open_orders(SYM) == [order_a(book)]
    assert (order_a(book).filled_qty, book.position(SYM)) == (D("0.5"), D("0.5"))


def test_a_fill_the_state_machine_refuses_is_kept_and_reported(book: LocalOrderBook) -> None:
    book.create(submit("a", qty="2"), inactive=True)  # never sent: a fill is not possible
    filled, anomaly = book.apply(fill("a", 7, 1, "0.5"))
    assert isinstance(filled, OrderFilled)
    assert isinstance(anomaly, OrderAnomaly)
    assert anomaly.reason == (
        "fill kept, status left as is: no transition from INACTIVE on PARTIALLY_FILLED"
    )
    assert (order_a(book).status, book.position(SYM)) == (OrderStatus.INACTIVE, D("0.5"))


def test_a_duplicate_ack_with_new_terms_is_an_update_not_an_acceptance(
    book: LocalOrderBook,
) -> None:
    book.create(submit("a", qty="2"))
    book.apply(status("a", 7, V.NEW, qty="2", ts_ms=1))
    (event,) = book.apply(status("a", 7, V.NEW, qty="3", ts_ms=2))
    assert type(event) is OrderUpdated
    assert order_a(book).quantity == D(3)


def test_a_report_that_states_no_quantity_is_read_with_the_books(book: LocalOrderBook) -> None:
    """Quantity 0 means "not stated" (a venue's view of a conditional order read back after a
    restart): the order keeps its quantity, and a fill that reaches it is FILLED."""
    book.create(submit("a", qty="2"))
    book.apply(status("a", 7, V.NEW, qty="2", ts_ms=1))
    book.apply(status("a", 7, V.NEW, qty="0", ts_ms=2))
    assert (order_a(book).quantity, order_a(book).status) == (D(2), OrderStatus.NEW)
    book.apply(status("a", 7, V.PARTIALLY_FILLED, "2", qty="0", ts_ms=3))
    order = order_a(book)
    assert (order.quantity, order.filled_qty, order.status) == (D(2), D(2), OrderStatus.FILLED)
