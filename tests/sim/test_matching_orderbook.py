"""The order book on its own: price-time priority, levels, update ids, self-trade prevention."""

from __future__ import annotations

import pytest

from mmoms.sim.orderbook import OrderBook, Resting

ALICE, BOB = object(), object()


def entry(entry_id: int, is_buy: bool, ticks: int, lots: int, owner: object = None) -> Resting:
    return Resting(entry_id, is_buy, ticks, lots, owner)


def test_best_prices_and_aggregated_depth() -> None:
    book = OrderBook()
    for i, (is_buy, ticks, lots) in enumerate(
        [(True, 100, 5), (True, 99, 3), (True, 100, 2), (False, 102, 4), (False, 101, 1)]
    ):
        book.add(entry(i, is_buy, ticks, lots))
    assert (book.best_bid(), book.best_ask()) == (100, 101)
    assert book.depth(10) == ([(100, 7), (99, 3)], [(101, 1), (102, 4)])
    assert book.depth(1) == ([(100, 7)], [(101, 1)])
    assert book.level_price(is_bid=True, n=2) == 99
    assert book.level_price(is_bid=False, n=3) is None


def test_match_walks_levels_in_price_then_time_order() -> None:
    book = OrderBook()
    book.add(entry(1, False, 101, 2))
    book.add(entry(2, False, 101, 3))
    book.add(entry(3, False, 100, 1))
    result = book.match(True, 101, 4)
    assert [(m.entry_id, lots, ticks) for m, lots, ticks in result.fills] == [
        (3, 1, 100),
        (1, 2, 101),
        (2, 1, 101),
    ]
    assert result.remaining == 0
    assert book.depth(5) == ([], [(101, 2)])
    assert 1 not in book
    assert 2 in book


def test_match_respects_the_limit_and_reports_the_rest() -> None:
    book = OrderBook()
    book.add(entry(1, True, 100, 2))
    book.add(entry(2, True, 98, 2))
    result = book.match(False, 99, 5)
    assert [(m.entry_id, lots) for m, lots, _ in result.fills] == [(1, 2)]
    assert result.remaining == 3
    assert book.best_bid() == 98


def test_remove_and_shrink_keep_levels_consistent() -> None:
    book = OrderBook()
    book.add(entry(1, True, 100, 2))
    book.add(entry(2, True, 100, 5))
    removed = book.remove(1)
    assert removed is not None
    assert removed.entry_id == 1
    assert book.remove(1) is None
    e2 = book.remove(2)
    assert e2 is not None
    assert book.best_bid() is None
    book.add(e2)
    book.add(entry(3, True, 100, 1))
    book.shrink(e2, 2)
    assert book.depth(1) == ([(100, 3)], [])
    first = book.match(False, None, 2).fills
    assert [(m.entry_id, lots) for m, lots, _ in first] == [(2, 2)]  # kept its place in line
    with pytest.raises(ValueError, match="smaller positive size"):
        book.shrink(entry(3, True, 100, 1), 5)


def test_update_id_grows_on_every_change_and_changes_are_drained() -> None:
    book = OrderBook(track_changes=True)
    ids = [book.update_id]
    book.add(entry(1, True, 100, 2))
    ids.append(book.update_id)
    book.add(entry(2, False, 101, 2))
    ids.append(book.update_id)
    book.match(True, None, 1)
    ids.append(book.update_id)
    book.remove(1)
    ids.append(book.update_id)
    assert ids == sorted(set(ids))
    assert book.drain_changes() == ([(100, 0)], [(101, 1)])
    assert book.drain_changes() == ([], [])


def test_fok_precheck_and_cross_detection() -> None:
    book = OrderBook()
    book.add(entry(1, False, 101, 2))
    book.add(entry(2, False, 102, 2))
    assert book.can_fill(True, 102, 4)
    assert not book.can_fill(True, 101, 3)
    assert not book.can_fill(True, None, 5)
    assert book.would_cross(True, 101)
    assert not book.would_cross(True, 100)
    assert not book.would_cross(False, 200)  # no bids at all
    assert book.volume_through(False, 101) == 2
    assert book.volume_through(False, 105) == 4


@pytest.mark.parametrize(
    ("stp", "fills", "expired_makers", "taker_expired"),
    [
        ("NONE", [(1, 1), (2, 1)], [], False),
        ("EXPIRE_TAKER", [], [], True),
        ("EXPIRE_MAKER", [(2, 2)], [1], False),
        ("EXPIRE_BOTH", [], [1], True),
    ],
)
def test_self_trade_prevention(
    stp: str, fills: list[tuple[int, int]], expired_makers: list[int], taker_expired: bool
) -> None:
    book = OrderBook()
    book.add(entry(1, False, 101, 1, ALICE))
    book.add(entry(2, False, 101, 3, BOB))
    result = book.match(True, 101, 2, ALICE, stp)
    assert [(m.entry_id, lots) for m, lots, _ in result.fills] == fills
    assert [m.entry_id for m in result.stp_expired_makers] == expired_makers
    assert result.taker_stp_expired is taker_expired
    assert (1 in book) is (stp in ("NONE", "EXPIRE_TAKER") and not fills)


def test_synthetic_makers_never_trigger_self_trade_prevention() -> None:
    book = OrderBook()
    book.add(entry(-1, False, 101, 1, None))
    result = book.match(True, 101, 1, None, "EXPIRE_BOTH")
    assert [m.entry_id for m, _, _ in result.fills] == [-1]
