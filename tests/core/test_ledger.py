"""Positions and realized PnL by average cost, as Binance computes them in one-way mode."""

from __future__ import annotations

from decimal import Decimal as D

from mmoms.core.enums import Side
from mmoms.core.ids import Symbol
from mmoms.core.ledger import PositionBook

BUY, SELL = Side.BUY, Side.SELL


def test_adding_moves_the_average_and_reducing_realizes_against_it() -> None:
    book = PositionBook()
    assert book.apply(BUY, D(1), D(100), D("0.01")) == 0
    assert book.apply(BUY, D(3), D(104), D("0.03")) == 0
    assert (book.position, book.entry_price) == (D(4), D(103))  # (100 + 3 × 104) / 4
    assert book.apply(SELL, D(1), D(110), D("0.01")) == D(7)  # 1 × (110 − 103)
    assert (book.position, book.entry_price) == (D(3), D(103))  # a reduction keeps the entry
    assert (book.realized, book.fees, book.fills) == (D(7), D("0.05"), 3)


def test_a_fill_through_zero_closes_then_opens_at_its_price() -> None:
    book = PositionBook()
    book.apply(SELL, D(2), D(50), D(0))  # short 2 @ 50
    assert book.apply(BUY, D(5), D(40), D(0)) == D(20)  # covers 2: 2 × (50 − 40)
    assert (book.position, book.entry_price) == (D(3), D(40))  # long 3, opened at the fill
    assert book.apply(SELL, D(3), D(39), D(0)) == D(-3)
    assert (book.position, book.entry_price) == (0, 0)  # flat: no entry


def test_the_view_values_the_position_at_the_mark() -> None:
    book = PositionBook()
    book.apply(SELL, D(2), D(50), D("0.5"))
    view = book.view(Symbol("X"), D(45))
    assert (view.unrealized, view.net) == (D(10), D("9.5"))  # −2 × (45 − 50), minus the fee
    assert book.view(Symbol("X"), None).unrealized == 0  # no price yet
