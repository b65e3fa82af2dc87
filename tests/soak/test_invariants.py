"""The soak's checks, one by one: each passes on agreeing data and catches a crafted breach."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from mmoms.soak.invariants import (
    check_book,
    check_created_once,
    check_fills,
    check_flat,
    check_groups,
    check_known_orders,
    check_replay,
    check_unique_orders,
)
from mmoms.soak.views import (
    BookView,
    FlattenView,
    GroupView,
    LegView,
    OrderView,
    VenueOrder,
    VenueTruth,
)

SYMBOLS = ("BTCUSDC", "ETHUSDC")


def quote(cid: str = "sk-1", **kw: object) -> OrderView:
    base: dict[str, object] = dict(
        client_order_id=cid,
        symbol="BTCUSDC",
        side="BUY",
        order_type="LIMIT",
        quantity=D("0.002"),
        price=D("95000.0"),
    )
    base.update(kw)
    return OrderView(**base)  # type: ignore[arg-type]


def view(*orders: OrderView, **kw: object) -> BookView:
    base: dict[str, object] = dict(
        checkpoint=1,
        seq=10,
        state_hash="h",
        open_orders=orders,
        positions={"BTCUSDC": D("0.004")},
        fees={"USDC": D("0.1")},
        fills=3,
    )
    base.update(kw)
    return BookView(**base)  # type: ignore[arg-type]


def truth(*orders: OrderView, **kw: object) -> VenueTruth:
    base: dict[str, object] = dict(
        open_orders=orders,
        positions={"BTCUSDC": D("0.004"), "ETHUSDC": D(0)},
        fees={"USDC": D("0.10")},
        fills=3,
    )
    base.update(kw)
    return VenueTruth(**base)  # type: ignore[arg-type]


# -- the book at a quiet point ------------------------------------------------------------------


def test_an_agreeing_book_has_no_breach() -> None:
    venue_side = quote(price=D("95000.00"), status="NEW")  # the venue's notation, same numbers
    stop = OrderView(
        client_order_id="g1-sl", symbol="ETHUSDC", side="SELL", order_type="STOP_MARKET",
        quantity=D("0.03"), conditional=True,
    )  # fmt: skip
    ours_stop = OrderView(
        client_order_id="g1-sl", symbol="ETHUSDC", side="SELL", order_type="STOP_MARKET",
        quantity=D("0.030"),
    )  # fmt: skip
    assert check_book(view(quote(), ours_stop), truth(venue_side, stop), SYMBOLS) == []


@pytest.mark.parametrize(
    ("ours", "venue", "invariant", "words"),
    [
        ((), (quote(),), "book", "open on the venue, not in the OMS"),
        ((quote(),), (), "book", "not open on the venue"),
        ((quote(price=D("94999.9")),), (quote(),), "book", "price 94999.9 vs 95000.0"),
        ((quote(quantity=D("0.003")),), (quote(),), "book", "quantity"),
        ((quote(side="SELL"),), (quote(),), "book", "side"),
        ((quote(filled=D("0.001")),), (quote(),), "book", "filled"),
        ((quote(external=True),), (quote(),), "orphan", "adopted"),
    ],
)
def test_a_differing_order_is_a_breach(
    ours: tuple[OrderView, ...], venue: tuple[OrderView, ...], invariant: str, words: str
) -> None:
    [breach] = check_book(view(*ours), truth(*venue), SYMBOLS)
    assert breach.invariant == invariant
    assert words in breach.detail


def test_position_fill_count_and_fees_must_equal_exactly() -> None:
    found = check_book(
        view(positions={"BTCUSDC": D("0.004"), "ETHUSDC": D("0.001")}, fills=2),
        truth(fees={"USDC": D("0.1000001")}),
        SYMBOLS,
    )
    assert sorted(b.invariant for b in found) == ["fees", "fills", "position"]
    assert "ETHUSDC: OMS 0.001, venue 0" in next(
        b.detail for b in found if b.invariant == "position"
    )


# -- contingent groups --------------------------------------------------------------------------


def bracket(
    *,
    canceling: bool = False,
    strategy_canceled: bool = False,
    status: str = "TRIGGERED",
    excess: str = "0",
) -> GroupView:
    return GroupView(
        group_id="g1",
        kind="otoco",
        symbol="ETHUSDC",
        status=status,
        canceling=canceling,
        strategy_canceled=strategy_canceled,
        legs=(
            LegView(name="entry", side="BUY", order_type="MARKET", quantity=D("0.03"),
                    slots=("g1-entry",)),
            LegView(name="sl", side="SELL", order_type="STOP_MARKET", quantity=D("0.03"),
                    reduce_only=True, slots=("g1-sl", "g1-sl.2")),
            LegView(name="tp", side="SELL", order_type="LIMIT", quantity=D("0.03"),
                    reduce_only=True, slots=("g1-tp",)),
        ),
        flattens=(FlattenView(client_order_id="g1-flat-1", side="BUY"),),
        excess=D(excess),
    )  # fmt: skip


def stop(cid: str, qty: str) -> OrderView:
    return OrderView(
        client_order_id=cid, symbol="ETHUSDC", side="SELL", order_type="STOP_MARKET",
        quantity=D(qty), conditional=True,
    )  # fmt: skip


def executed(fills: dict[str, str]) -> dict[str, D]:
    """Executed quantities of bracket g1's orders, by what follows ``g1-`` in the id."""
    return {f"ETHUSDC/g1-{leg}": D(q) for leg, q in fills.items()}


def test_a_protected_bracket_passes() -> None:
    venue = truth(stop("g1-sl.2", "0.03"), executed=executed({"entry": "0.03"}))
    verdict = check_groups([bracket()], venue)
    assert verdict.breaches == []
    assert verdict.overfills == []


def test_a_filled_entry_without_an_open_stop_is_unprotected() -> None:
    verdict = check_groups([bracket()], truth(executed=executed({"entry": "0.03"})))
    [breach] = verdict.breaches
    assert "exposure 0.03 with only 0 covered" in breach.detail


def test_a_stop_smaller_than_the_exposure_is_unprotected() -> None:
    venue = truth(stop("g1-sl", "0.01"), executed=executed({"entry": "0.03"}))
    assert check_groups([bracket()], venue).breaches


def test_protection_is_not_required_after_a_clean_stop_or_the_strategys_cancel() -> None:
    venue = truth(executed=executed({"entry": "0.03"}))
    assert check_groups([bracket()], venue, open_protection=False).breaches == []
    canceled = bracket(canceling=True, strategy_canceled=True)
    assert check_groups([canceled], venue).breaches == []


def test_a_group_the_engine_gave_up_on_is_still_unprotected() -> None:
    """The engine cancels a bracket whose stop was refused, and flattens: until the flatten
    lands the exposure is unprotected, whoever canceled."""
    venue = truth(executed=executed({"entry": "0.03"}))
    assert check_groups([bracket(canceling=True)], venue).breaches


def test_exits_beyond_the_entry_are_doubled_exposure_unless_flattened() -> None:
    doubled = truth(executed=executed({"entry": "0.03", "tp": "0.03", "sl.2": "0.03"}))
    [breach] = check_groups([bracket(status="COMPLETED")], doubled).breaches
    assert "doubled" in breach.detail
    flattened = truth(
        executed=executed({"entry": "0.03", "tp": "0.03", "sl.2": "0.03", "flat-1": "0.03"})
    )
    verdict = check_groups([bracket(status="COMPLETED", excess="0.03")], flattened)
    assert verdict.breaches == []
    assert verdict.overfills == ["g1"]


def test_a_refused_stop_flattened_by_the_engine_leaves_nothing_exposed() -> None:
    """The engine's flatten of a refused stop (``<group>-flat-p<n>``) closes the exposure; it
    is no overfill."""
    group = GroupView(
        group_id="g1", kind="otoco", symbol="ETHUSDC", status="COMPLETED", canceling=True,
        legs=bracket().legs,
        flattens=(FlattenView(client_order_id="g1-flat-p1", side="SELL"),),
    )  # fmt: skip
    venue = truth(executed=executed({"entry": "0.03", "flat-p1": "0.03"}))
    verdict = check_groups([group], venue)
    assert (verdict.breaches, verdict.overfills) == ([], [])
    assert check_groups([group], truth(executed=executed({"entry": "0.03"}))).breaches


def oco() -> GroupView:
    return GroupView(
        group_id="g2",
        kind="oco",
        symbol="ETHUSDC",
        status="COMPLETED",
        legs=(
            LegView(name="a", side="BUY", order_type="LIMIT", quantity=D("0.03"), slots=("g2-a",)),
            LegView(name="b", side="BUY", order_type="LIMIT", quantity=D("0.03"), slots=("g2-b",)),
        ),
        flattens=(FlattenView(client_order_id="g2-flat-1", side="SELL"),),
    )


def test_an_oco_whose_legs_both_filled_breaches_until_flattened() -> None:
    both = {"ETHUSDC/g2-a": D("0.03"), "ETHUSDC/g2-b": D("0.01")}
    [breach] = check_groups([oco()], truth(executed=both)).breaches
    assert "net exposure 0.04 beyond the design's 0.03" in breach.detail
    flat = {**both, "ETHUSDC/g2-flat-1": D("0.01")}
    verdict = check_groups([oco()], truth(executed=flat))
    assert verdict.breaches == []
    assert verdict.overfills == ["g2"]


def test_an_oto_child_filled_beyond_its_parent_is_doubled() -> None:
    group = GroupView(
        group_id="g3",
        kind="oto",
        symbol="ETHUSDC",
        status="COMPLETED",
        legs=(
            LegView(name="parent", side="BUY", order_type="LIMIT", quantity=D("0.03"),
                    slots=("g3-parent",)),
            LegView(name="c1", side="SELL", order_type="LIMIT", quantity=D("0.03"),
                    reduce_only=True, slots=("g3-c1",)),
        ),
    )  # fmt: skip
    fine = {"ETHUSDC/g3-parent": D("0.03"), "ETHUSDC/g3-c1": D("0.03")}
    assert check_groups([group], truth(executed=fine)).breaches == []
    child_first = {"ETHUSDC/g3-parent": D("0.01"), "ETHUSDC/g3-c1": D("0.03")}
    assert check_groups([group], truth(executed=child_first)).breaches


# -- the whole run ------------------------------------------------------------------------------


def order(cid: str, order_id: int, *, algo: bool = False) -> VenueOrder:
    return VenueOrder(
        order_id=order_id, client_order_id=cid, symbol="BTCUSDC", side="BUY",
        order_type="STOP_MARKET" if algo else "LIMIT", algo=algo,
    )  # fmt: skip


def test_a_client_order_id_twice_on_the_venue_is_a_duplicate() -> None:
    # a triggered stop: one algo order and one regular order under one id is fine
    assert check_unique_orders([order("a", 1), order("b", 2), order("b", 7, algo=True)]) == []
    [breach] = check_unique_orders([order("a", 1), order("a", 2)])
    assert breach.invariant == "duplicate"
    assert "BTCUSDC/a: 2 regular" in breach.detail


def test_every_venue_order_must_come_from_the_journal() -> None:
    created = ["BTCUSDC/a", "BTCUSDC/b"]
    assert check_known_orders([order("a", 1), order("b", 2)], created) == []
    [breach] = check_known_orders([order("a", 1), order("x", 3)], created)
    assert breach.invariant == "orphan"
    assert "BTCUSDC/x" in breach.detail


def test_the_journal_must_not_create_one_id_twice() -> None:
    assert check_created_once(["BTCUSDC/a", "ETHUSDC/a"]) == []
    [breach] = check_created_once(["BTCUSDC/a", "BTCUSDC/a"])
    assert "created 2 times" in breach.detail


def test_fills_are_compared_trade_by_trade() -> None:
    ours = {("BTCUSDC", 1, "BUY"), ("BTCUSDC", 1, "SELL")}  # a self-trade: one id, two fills
    assert check_fills(ours, set(ours)) == []
    found = check_fills({("BTCUSDC", 1, "BUY"), ("BTCUSDC", 9, "SELL")}, ours)
    assert sorted(b.detail.split(":")[0] for b in found) == ["lost fill", "phantom fill"]


def test_anything_open_after_a_clean_stop_is_an_orphan() -> None:
    assert check_flat([]) == []
    [breach] = check_flat([quote()])
    assert breach.invariant == "orphan"


def test_replay_must_reach_every_pinned_hash() -> None:
    assert check_replay({5: "aa", 9: "bb"}, {5: "aa", 9: "bb", 12: "cc"}) == []
    found = check_replay({5: "aa", 9: "bb"}, {5: "aa", 9: "xx"})
    assert [b.detail for b in found] == ["seq 9: live bb, replay xx"]
    assert check_replay({40: "aa"}, {}) != []
