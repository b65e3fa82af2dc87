"""Group specs: fixed ids, validation, the JSON form, the pinned public surface."""

from decimal import Decimal as D

import pytest

import mmoms.contingent
from mmoms.contingent import (
    Edge,
    EdgeKind,
    EdgeOn,
    GroupSpecError,
    OrderSpec,
    decode_state,
    encode_state,
    graph,
    limit,
    market,
    oco,
    oto,
    plan,
    start,
    stop_market,
)
from mmoms.core.enums import OrderType, Side, TimeInForce

from .helpers import SYM, filled

BUY, SELL = Side.BUY, Side.SELL
K, On = EdgeKind, EdgeOn
A = limit(BUY, D(1), D(100))
B = limit(SELL, D(1), D(110))


def test_client_order_ids_are_fixed_at_creation() -> None:
    group = oto("G.7_x", SYM, A, [B, B])
    assert [leg.client_order_id for leg in group.legs] == ["G.7_x-parent", "G.7_x-c1", "G.7_x-c2"]


def test_a_generic_graph_keeps_leg_order_and_edges() -> None:
    edges = [Edge("in", "out", K.TRIGGER, On.FILL), Edge("out", "in", K.CANCEL, On.PARTIAL_FILL)]
    group = graph("g", SYM, {"in": A, "out": B}, edges)
    assert [leg.name for leg in group.legs] == ["in", "out"]
    assert group.edges == tuple(edges)
    assert group.kind == "graph"


@pytest.mark.parametrize(
    ("legs", "edges"),
    [
        ({"a": A}, [Edge("a", "zz", K.CANCEL, On.FILL)]),  # unknown leg
        ({"a": A, "b": B}, [Edge("a", "a", K.CANCEL, On.FILL)]),  # self edge
        ({"a": A, "b": B}, [Edge("a", "b", K.REDUCE, On.CANCEL)]),  # REDUCE needs a fill
        ({"a": A, "b": B}, [Edge("a", "b", K.CANCEL, On.FILL)] * 2),  # duplicate
        (  # every leg waits
            {"a": A, "b": B},
            [Edge("a", "b", K.TRIGGER, On.FILL), Edge("b", "a", K.TRIGGER, On.FILL)],
        ),
        (  # a trigger cycle below a root
            {"r": A, "a": A, "b": B},
            [
                Edge("r", "a", K.TRIGGER, On.FILL),
                Edge("a", "b", K.TRIGGER, On.FILL),
                Edge("b", "a", K.TRIGGER, On.FILL),
            ],
        ),
        ({"Bad": A}, []),  # leg names are lower case
        ({"toolong1": A}, []),
        ({"flat": A}, []),  # reserved for flatten orders
        ({}, []),
    ],
)
def test_invalid_graphs_are_refused(legs: dict[str, OrderSpec], edges: list[Edge]) -> None:
    with pytest.raises(GroupSpecError):
        graph("g", SYM, legs, edges)


@pytest.mark.parametrize("group_id", ["", "has space", "x" * 25, "ü"])
def test_group_ids_must_leave_room_in_binances_36_characters(group_id: str) -> None:
    with pytest.raises(GroupSpecError):
        graph(group_id, SYM, {"a": A}, [])


def test_every_id_a_group_can_use_fits_binance() -> None:
    group = graph("x" * 24, SYM, {"abcdefg": A}, [])
    longest = f"{group.legs[0].client_order_id}.999"
    assert len(longest) <= 36
    assert len(f"{group.group_id}-flat-999999") <= 36


@pytest.mark.parametrize(
    "order",
    [
        OrderSpec(side=BUY, order_type=OrderType.LIMIT, quantity=D(1)),  # no price
        OrderSpec(side=BUY, order_type=OrderType.LIMIT, quantity=D(0), price=D(1)),
        OrderSpec(side=BUY, order_type=OrderType.LIMIT, quantity=D("NaN"), price=D(1)),
        OrderSpec(side=BUY, order_type=OrderType.MARKET, quantity=D(1), price=D(1)),
        OrderSpec(side=BUY, order_type=OrderType.STOP_MARKET, quantity=D(1)),  # no trigger
        OrderSpec(
            side=BUY, order_type=OrderType.LIMIT, quantity=D(1), price=D(1), trigger_price=D(1)
        ),
        OrderSpec(side=BUY, order_type=OrderType.TRAILING_STOP_MARKET, quantity=D(1)),
        OrderSpec(
            side=BUY, order_type=OrderType.LIMIT, quantity=D(1), price=D(1), good_till_ms=1
        ),  # GTD time without GTD
    ],
)
def test_invalid_orders_are_refused(order: OrderSpec) -> None:
    with pytest.raises(GroupSpecError):
        graph("g", SYM, {"a": order}, [])


def test_order_spec_helpers() -> None:
    assert market(SELL, D(1), reduce_only=True).order_type is OrderType.MARKET
    gtd = limit(BUY, D(1), D(1), time_in_force=TimeInForce.GTD, good_till_ms=5)
    assert graph("g", SYM, {"a": gtd}, []).legs[0].order.good_till_ms == 5
    assert stop_market(SELL, D(1), D(90)).trigger_price == D(90)


@pytest.mark.parametrize("n", [0, 1, 27])
def test_oco_needs_two_to_26_legs(n: int) -> None:
    with pytest.raises(GroupSpecError):
        oco("g", SYM, [A] * n)


def test_oto_needs_a_child() -> None:
    with pytest.raises(GroupSpecError):
        oto("g", SYM, A, [])


def test_a_group_state_is_plain_json_and_round_trips() -> None:
    first = start(oco("g", SYM, [A, stop_market(BUY, D(1), D(120))]), 1)
    state = plan(filled("g-a", "0.25"), first.state).state
    data = encode_state(state)
    assert b'"version":1' in data
    assert b'"allowed":"0.25"' in data  # money as decimal strings, never floats
    assert decode_state(data) == state


def test_the_public_surface_is_pinned() -> None:
    assert sorted(mmoms.contingent.__all__) == sorted(
        [
            "STATE_VERSION",
            "AnyGroupEvent",
            "CancelGroup",
            "Edge",
            "EdgeKind",
            "EdgeOn",
            "FlattenFailed",
            "FlattenState",
            "Group",
            "GroupCanceled",
            "GroupCompleted",
            "GroupEvent",
            "GroupExposure",
            "GroupOptions",
            "GroupSpecError",
            "GroupState",
            "GroupStatus",
            "GroupTriggered",
            "LegPhase",
            "LegSpec",
            "LegState",
            "OrderSpec",
            "OverfillDetected",
            "PlaceGroup",
            "Plan",
            "PlanCommand",
            "SlotState",
            "StateVersionError",
            "bracket",
            "cancel_group",
            "decode_state",
            "encode_state",
            "graph",
            "group_exposure",
            "limit",
            "market",
            "new_state",
            "oco",
            "oto",
            "otoco",
            "ouo",
            "plan",
            "start",
            "stop_market",
            "waiting_orders",
        ]
    )
    assert all(hasattr(mmoms.contingent, name) for name in mmoms.contingent.__all__)
