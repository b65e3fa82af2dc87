"""Edges of the planning step that the semantics tables do not reach: a flatten that ends short,
the exact amend a resize sends, and a discard that must reach a leg planned earlier."""

from decimal import Decimal as D

from mmoms.contingent import (
    Edge,
    EdgeKind,
    EdgeOn,
    FlattenFailed,
    GroupCanceled,
    GroupCompleted,
    GroupOptions,
    GroupStatus,
    GroupTriggered,
    LegPhase,
    OrderSpec,
    OverfillDetected,
    graph,
    limit,
    oco,
    oto,
    stop_market,
)
from mmoms.core.commands import AmendOrder, SubmitOrder
from mmoms.core.enums import OrderType, PositionSide, Side, TimeInForce, WorkingType

from .helpers import SYM, Run, canceled, cancels, cid, filled, full, rejected, submits

BUY, SELL = Side.BUY, Side.SELL


def overfilled() -> Run:
    """An OCO whose two legs both filled: 1 too many, flattened by g-flat-1 (a SELL of 1)."""
    run = Run.of(oco("g", SYM, [limit(BUY, D(1), D(100)), limit(BUY, D(1), D(99))]))
    run.feed(full("g-a", "1"))
    run.feed(full("g-b", "1"))
    assert [f.client_order_id for f in run.state.flattens] == ["g-flat-1"]
    return run


def failures(run: Run) -> list[FlattenFailed]:
    return [e for e in run.events if isinstance(e, FlattenFailed)]


def test_a_flatten_that_ends_short_is_reported_once_with_what_it_left() -> None:
    run = overfilled()
    run.feed(filled("g-flat-1", "0.3"))  # part of it: not an end, nothing to report yet
    assert failures(run) == []
    run.feed(canceled("g-flat-1", ts=30))
    assert failures(run) == [
        FlattenFailed(ts_ns=30, group_id="g", client_order_id=cid("g-flat-1"), unfilled=D("0.7"))
    ]
    run.feed(filled("g-flat-1", "0.5", ts=40))  # a late fill of the ended flatten
    assert len(failures(run)) == 1
    assert run.state.flattens[0].filled == D("0.5")


def test_a_flatten_that_fills_completely_is_no_failure() -> None:
    run = overfilled()
    run.feed(full("g-flat-1", "1"))
    assert failures(run) == []
    assert run.state.status is GroupStatus.COMPLETED


def test_a_rejected_flatten_reports_all_of_it() -> None:
    run = overfilled()
    run.feed(rejected("g-flat-1"))
    assert [f.unfilled for f in failures(run)] == [D(1)]


def test_a_resize_amends_the_order_at_its_own_terms() -> None:
    run = Run.of(oco("g", SYM, [limit(BUY, D(2), D(100)), limit(BUY, D(2), D(99))]))
    p = run.feed(filled("g-a", "0.5", ts=15))
    (amend,) = [c for c in p.commands if isinstance(c, AmendOrder)]
    assert amend == AmendOrder(
        ts_ns=15, client_order_id=cid("g-b"), symbol=SYM, side=BUY, quantity=D("1.5"), price=D(99)
    )


def test_a_discard_reaches_a_leg_planned_before_the_one_discarded() -> None:
    # c (planned first) waits for b's fill; b waits for a's. a rejected: b is dead, so is c.
    legs = {
        "c": limit(SELL, D(1), D(110)),
        "b": limit(BUY, D(1), D(99)),
        "a": limit(BUY, D(1), D(100)),
    }
    edges = [
        Edge("a", "b", EdgeKind.TRIGGER, EdgeOn.FILL),
        Edge("b", "c", EdgeKind.TRIGGER, EdgeOn.FILL),
    ]
    run = Run.of(graph("g", SYM, legs, edges))
    p = run.feed(rejected("g-a"))
    assert sorted(p.discarded) == ["g-b", "g-c"]
    assert [leg.phase for leg in run.state.legs] == [LegPhase.DISCARDED] * 2 + [LegPhase.DONE]
    assert run.state.status is GroupStatus.CANCELED
    assert [type(e) for e in p.events] == [GroupCanceled]


def test_an_overfill_is_reported_and_flattened_by_a_market_order_of_the_excess() -> None:
    run = Run.of(oco("g", SYM, [limit(BUY, D(1), D(100)), limit(BUY, D(1), D(99))]))
    run.feed(full("g-a", "1"))
    p = run.feed(full("g-b", "1", ts=50))
    assert [e for e in p.events if isinstance(e, OverfillDetected)] == [
        OverfillDetected(
            ts_ns=50,
            group_id="g",
            leg="b",
            client_order_id=cid("g-b"),
            excess=D(1),
            flatten_client_order_id=cid("g-flat-1"),
        )
    ]
    assert [c for c in p.commands if isinstance(c, SubmitOrder)] == [
        SubmitOrder(
            ts_ns=50,
            client_order_id=cid("g-flat-1"),
            symbol=SYM,
            side=SELL,
            order_type=OrderType.MARKET,
            quantity=D(1),
            reduce_only=True,
            position_side=PositionSide.BOTH,
        )
    ]


def flatten_of(legs: list[OrderSpec], options: GroupOptions | None = None) -> SubmitOrder:
    run = Run.of(oco("g", SYM, legs, options=options))
    run.feed(full("g-a", "1"))
    p = run.feed(full("g-b", "1"))
    (flat,) = [c for c in p.commands if isinstance(c, SubmitOrder)]
    return flat


def test_a_hedge_mode_flatten_is_not_reduce_only_and_keeps_the_position_side() -> None:
    long = PositionSide.LONG
    legs = [
        limit(BUY, D(1), D(100), position_side=long),
        limit(BUY, D(1), D(99), position_side=long),
    ]
    flat = flatten_of(legs)
    assert (flat.reduce_only, flat.position_side, flat.side) == (False, long, SELL)


def test_a_flatten_is_reduce_only_only_if_the_group_says_so() -> None:
    legs = [limit(BUY, D(1), D(100)), limit(BUY, D(1), D(99))]
    assert flatten_of(legs, GroupOptions(flatten_reduce_only=False)).reduce_only is False
    assert flatten_of(legs).reduce_only is True


def test_a_second_replacement_counts_what_the_first_order_filled() -> None:
    run = Run.of(
        oto(
            "o",
            SYM,
            limit(BUY, D(3), D(100)),
            [stop_market(SELL, D(3), D(90))],
            partial_trigger=True,
        )
    )
    run.feed(filled("o-parent", "1"))  # o-c1 for 1
    run.feed(filled("o-c1", "0.4"))
    run.feed(filled("o-parent", "2"))  # o-c1.2 for 1.6, o-c1 canceled
    run.feed(canceled("o-c1"))  # o-c1 ends with its 0.4
    p = run.feed(full("o-parent", "3"))  # 3 wanted in all: 0.4 done, so o-c1.3 is for 2.6
    assert submits(p.commands) == [("o-c1.3", D("2.6"))]
    assert cancels(p.commands) == ["o-c1.2"]


def test_a_fill_of_a_replacement_is_found_when_the_group_id_has_a_dot() -> None:
    run = Run.of(oco("g.1", SYM, [limit(BUY, D(1), D(100)), stop_market(BUY, D(1), D(110))]))
    run.feed(filled("g.1-a", "0.4"))  # the stop leg is re-placed: g.1-b.2 for 0.6
    assert [s.client_order_id for s in run.state.legs[1].slots] == ["g.1-b", "g.1-b.2"]
    assert run.feed(filled("g.1-b.2", "0.2")).state.legs[1].slots[1].filled == D("0.2")


def test_a_child_is_sent_with_every_term_of_its_spec_and_the_group_says_so() -> None:
    child = stop_market(
        SELL,
        D(1),
        D(90),
        reduce_only=True,
        working_type=WorkingType.MARK_PRICE,
        position_side=PositionSide.LONG,
    )
    parent = limit(
        BUY,
        D(1),
        D(100),
        time_in_force=TimeInForce.GTD,
        good_till_ms=1_900_000_000_000,
        position_side=PositionSide.LONG,
    )
    run = Run.of(oto("o", SYM, parent, [child]))
    (sent_parent,) = run.last.commands
    assert sent_parent == SubmitOrder(
        ts_ns=1,
        client_order_id=cid("o-parent"),
        symbol=SYM,
        side=BUY,
        order_type=OrderType.LIMIT,
        quantity=D(1),
        price=D(100),
        time_in_force=TimeInForce.GTD,
        position_side=PositionSide.LONG,
        good_till_ms=1_900_000_000_000,
    )
    p = run.feed(full("o-parent", "1", ts=60))
    assert list(p.commands) == [
        SubmitOrder(
            ts_ns=60,
            client_order_id=cid("o-c1"),
            symbol=SYM,
            side=SELL,
            order_type=OrderType.STOP_MARKET,
            quantity=D(1),
            reduce_only=True,
            position_side=PositionSide.LONG,
            trigger_price=D(90),
            working_type=WorkingType.MARK_PRICE,
        )
    ]
    assert list(p.events) == [
        GroupTriggered(ts_ns=60, group_id="o", legs=("c1",), client_order_ids=(cid("o-c1"),))
    ]
    p = run.feed(full("o-c1", "1", ts=70))
    assert list(p.events) == [GroupCompleted(ts_ns=70, group_id="o")]


def test_a_group_that_ends_with_nothing_filled_is_canceled_with_its_id() -> None:
    run = Run.of(oco("g", SYM, [limit(BUY, D(1), D(100)), limit(BUY, D(1), D(99))]))
    run.feed(canceled("g-a", ts=20))
    p = run.feed(canceled("g-b", ts=21))
    assert list(p.events) == [GroupCanceled(ts_ns=21, group_id="g")]


def test_a_canceled_group_that_fills_late_is_completed_with_its_id() -> None:
    run = Run.of(oco("g", SYM, [limit(BUY, D(1), D(100)), limit(BUY, D(1), D(99))]))
    run.feed(canceled("g-a", ts=20))
    run.feed(canceled("g-b", ts=21))
    p = run.feed(filled("g-a", "0.3", ts=22))
    assert [e for e in p.events if isinstance(e, GroupCompleted)] == [
        GroupCompleted(ts_ns=22, group_id="g")
    ]


def test_a_waiting_leg_whose_cancel_edge_fires_is_discarded() -> None:
    legs = {
        "p": limit(BUY, D(1), D(100)),
        "x": limit(BUY, D(1), D(99)),
        "c": limit(SELL, D(1), D(110)),
    }
    edges = [
        Edge("p", "c", EdgeKind.TRIGGER, EdgeOn.FILL),
        Edge("x", "c", EdgeKind.CANCEL, EdgeOn.PARTIAL_FILL),
    ]
    run = Run.of(graph("g", SYM, legs, edges))
    p = run.feed(filled("g-x", "0.1"))
    assert p.discarded == ("g-c",)
    assert submits(run.feed(full("g-p", "1")).commands) == []
