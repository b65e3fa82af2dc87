"""Stops on a venue that holds none: the engine holds them (INACTIVE in the book), sends each as
the order it becomes at its trigger when the reference price crosses it, cancels it without a
request, arms it again after a restart, and refuses at the call what it cannot hold. Also the
INACTIVE life of a group's waiting legs, on any venue. Against the in-memory venue."""

from __future__ import annotations

from decimal import Decimal as D

import msgspec
import pytest

from mmoms.contingent import limit, oco
from mmoms.core.clock import LiveClock
from mmoms.core.enums import OrderStatus, OrderType, Side
from mmoms.core.errors import InvalidOrderError
from mmoms.core.ids import ClientOrderId, GroupId
from mmoms.engine.local_stops import triggers
from mmoms.journal.memory import MemoryJournal

from .fake_gateway import FAKE_VENUE, OTHER_VENUE, SYM, FakeGateway
from .test_groups_oms import _crash, a_bracket, group_status, live, status
from .test_oms import Harness, S, shutdown, start

ENTRY, SL, TP = ClientOrderId("b-entry"), ClientOrderId("b-sl"), ClientOrderId("b-tp")
NO_STOPS = msgspec.structs.replace(FAKE_VENUE, venue="no-stops", holds_stops=False)


def no_stops_venue() -> FakeGateway:
    return FakeGateway(LiveClock(), capabilities=NO_STOPS)


async def _entry_filled(h: Harness) -> None:
    h.oms.place_group(S, a_bracket())
    await h.until(lambda: live(h, "b-entry"))
    h.venue.fill(ENTRY, D(1))
    await h.until(lambda: live(h, "b-tp") and status(h, "b-sl") is OrderStatus.INACTIVE)


@pytest.mark.parametrize(
    ("order_type", "side", "price", "fires"),
    [
        (OrderType.STOP_MARKET, Side.SELL, "93000", True),  # a sell stop: the price fell to it
        (OrderType.STOP_MARKET, Side.SELL, "93000.1", False),
        (OrderType.STOP, Side.BUY, "96000", True),  # a buy stop: the price rose to it
        (OrderType.STOP, Side.BUY, "95999.9", False),
        (OrderType.TAKE_PROFIT_MARKET, Side.SELL, "96000", True),  # take profit: the other way
        (OrderType.TAKE_PROFIT_MARKET, Side.SELL, "95999.9", False),
        (OrderType.TAKE_PROFIT, Side.BUY, "93000", True),
        (OrderType.TAKE_PROFIT, Side.BUY, "93000.1", False),
    ],
)
def test_the_trigger_direction_of_each_kind(
    order_type: OrderType, side: Side, price: str, fires: bool
) -> None:
    trigger = D(93_000) if side is Side.SELL else D(96_000)
    if order_type in (OrderType.TAKE_PROFIT_MARKET, OrderType.TAKE_PROFIT):
        trigger = D(96_000) if side is Side.SELL else D(93_000)
    assert triggers(order_type, side, trigger, D(price)) is fires


@pytest.mark.asyncio
async def test_a_bracket_stop_is_held_and_sent_as_a_market_order_when_the_price_reaches_it() -> (
    None
):
    venue = no_stops_venue()
    h = await start(venue, MemoryJournal())
    try:
        await _entry_filled(h)
        assert SL not in venue.submitted  # held here: the venue would refuse it
        h.oms.set_reference_price(SYM, D("93000.5"))  # not there yet
        h.oms.set_reference_price(SYM, D(93_000))
        await h.until(lambda: SL in venue.orders)
        assert venue.order_types[SL] is OrderType.MARKET
        assert venue.orders[SL].side is Side.SELL
        venue.fill(SL, D(1))
        await h.until(lambda: group_status(h, "b") is not None and status(h, "b-tp") is not None)
        await h.until(lambda: status(h, "b-tp") is OrderStatus.CANCELED)
        assert venue.position == 0
        assert venue.capability_violations == []
    finally:
        await shutdown(h)


@pytest.mark.asyncio
async def test_a_held_stop_cancelled_with_its_group_never_reaches_the_venue() -> None:
    venue = no_stops_venue()
    h = await start(venue, MemoryJournal())
    try:
        await _entry_filled(h)
        h.oms.cancel_group(S, GroupId("b"))
        await h.until(lambda: status(h, "b-sl") is OrderStatus.CANCELED)
        h.oms.set_reference_price(SYM, D(90_000))  # past its trigger: nothing left to send
        await h.until(lambda: status(h, "b-tp") is OrderStatus.CANCELED)
        assert SL not in venue.submitted
        assert venue.capability_violations == []
    finally:
        await shutdown(h)


@pytest.mark.asyncio
async def test_cancel_all_ends_a_held_stop_without_a_request() -> None:
    venue = no_stops_venue()
    h = await start(venue, MemoryJournal())
    try:
        await _entry_filled(h)
        h.oms.cancel_all(S)
        await h.until(lambda: status(h, "b-sl") is OrderStatus.CANCELED)
        await h.until(lambda: status(h, "b-tp") is OrderStatus.CANCELED)
        h.oms.set_reference_price(SYM, D(90_000))
        assert SL not in venue.submitted
    finally:
        await shutdown(h)


@pytest.mark.asyncio
async def test_a_held_stop_is_armed_again_after_a_restart() -> None:
    venue, journal = no_stops_venue(), MemoryJournal()
    first = await start(venue, journal)
    await _entry_filled(first)
    await _crash(first)
    second = await start(venue, journal)
    try:
        assert status(second, "b-sl") is OrderStatus.INACTIVE
        second.oms.set_reference_price(SYM, D(92_000))
        await second.until(lambda: SL in venue.orders)
        assert venue.order_types[SL] is OrderType.MARKET
        assert venue.submitted.count(SL) == 1
    finally:
        await shutdown(second)


@pytest.mark.asyncio
async def test_a_groups_waiting_legs_are_booked_inactive_and_end_when_discarded() -> None:
    """On any venue: a bracket's exits are in the book from the start, INACTIVE, and told to
    the strategy; the entry cancelled unfilled discards them (CANCELED, never sent)."""
    venue = FakeGateway(LiveClock(), capabilities=FAKE_VENUE)
    h = await start(venue, MemoryJournal())
    try:
        h.oms.place_group(S, a_bracket())
        await h.until(lambda: live(h, "b-entry"))
        assert status(h, "b-sl") is OrderStatus.INACTIVE
        assert status(h, "b-tp") is OrderStatus.INACTIVE
        h.oms.cancel_group(S, GroupId("b"))
        await h.until(lambda: status(h, "b-entry") is OrderStatus.CANCELED)
        await h.until(lambda: status(h, "b-sl") is OrderStatus.CANCELED)
        assert status(h, "b-tp") is OrderStatus.CANCELED
        assert SL not in venue.submitted
        assert TP not in venue.submitted
    finally:
        await shutdown(h)


def test_the_second_venue_holds_no_stops() -> None:
    assert OTHER_VENUE.holds_stops is False
    assert FAKE_VENUE.holds_stops is True


@pytest.mark.asyncio
async def test_a_group_whose_ids_the_venue_would_refuse_is_refused_at_the_call() -> None:
    """32 characters at most on the second venue: a 24-character group id leaves no room for
    a leg's re-placements (``<group>-<leg>.999``). Refused now, not when a re-placement or a
    flatten is sent minutes later."""
    h = await start(FakeGateway(LiveClock(), capabilities=OTHER_VENUE), MemoryJournal())
    try:
        with pytest.raises(InvalidOrderError, match="does not fit"):
            h.oms.place_group(S, a_bracket("g" * 24))
        h.oms.place_group(S, a_bracket("g" * 12))  # fits: accepted
    finally:
        await shutdown(h)


@pytest.mark.asyncio
async def test_on_a_venue_without_amend_an_explicit_amend_is_refused_at_the_call() -> None:
    h = await start(FakeGateway(LiveClock(), capabilities=OTHER_VENUE), MemoryJournal())
    try:
        cid = h.oms.place(S, SYM, Side.BUY, D(1), D(94_000))
        await h.until(lambda: live(h, cid))
        with pytest.raises(InvalidOrderError, match="does not amend"):
            h.oms.amend(S, SYM, cid, D(94_100), D(1))
        assert h.venue.capability_violations == []
    finally:
        await shutdown(h)


@pytest.mark.asyncio
async def test_on_a_venue_without_amend_an_oco_sibling_is_resized_by_replacing_it() -> None:
    """A partial fill of one OCO leg shrinks the other: in place where the venue amends, else a
    new order under the leg's next id, then a cancel of the old one (make before break)."""
    h = await start(FakeGateway(LiveClock(), capabilities=OTHER_VENUE), MemoryJournal())
    try:
        legs = [limit(Side.BUY, D(1), D(94_000)), limit(Side.BUY, D(1), D(93_900))]
        h.oms.place_group(S, oco("o", SYM, legs))
        await h.until(lambda: live(h, "o-a", "o-b"))
        h.venue.fill(ClientOrderId("o-a"), D("0.4"))
        await h.until(lambda: live(h, "o-b.2") and status(h, "o-b") is OrderStatus.CANCELED)
        assert h.venue.orders[ClientOrderId("o-b.2")].qty == D("0.6")
        assert h.venue.capability_violations == []
    finally:
        await shutdown(h)
