"""The skewed quoter's ladder (pure): symmetric when flat, never crossing, skewed by inventory,
the side that would grow the position empty at the limit."""

from __future__ import annotations

import sys
from collections.abc import Callable
from decimal import Decimal as D

from mmoms.core.enums import Side
from mmoms.core.intents import QuoteLevel
from mmoms.strategy.loader import default_strategy_entry, load_strategy_class

_module = sys.modules[load_strategy_class(default_strategy_entry()).__module__]
ladder: Callable[..., list[QuoteLevel]] = _module.ladder
PARAMS = {
    "levels": 2,
    "half_spread_bps": D(2),
    "level_step_bps": D(2),
    "size": D("0.01"),
    "max_inventory": D("0.02"),
    "skew_bps": D(4),
}


def levels(bid: str, ask: str, position: str) -> list[QuoteLevel]:
    return ladder(D(bid), D(ask), D(position), **PARAMS)


def test_flat_quotes_are_symmetric_and_never_cross() -> None:
    quotes = levels("99990", "100010", "0")
    bids = sorted((lv.price for lv in quotes if lv.side is Side.BUY), reverse=True)
    asks = sorted(lv.price for lv in quotes if lv.side is Side.SELL)
    assert len(bids) == len(asks) == 2
    assert bids[0] <= D(99_990)
    assert asks[0] >= D(100_010)
    assert (D(100_000) - bids[1]) == (asks[1] - D(100_000))
    assert {lv.tag for lv in quotes} == {"b0", "b1", "a0", "a1"}


def test_long_inventory_skews_down_and_stops_buying_at_the_limit() -> None:
    def worst_bid(quotes: list[QuoteLevel]) -> D:
        return min(lv.price for lv in quotes if lv.side is Side.BUY)

    assert worst_bid(levels("100000", "100000.2", "0.01")) < worst_bid(
        levels("100000", "100000.2", "0")
    )
    assert all(lv.side is Side.SELL for lv in levels("100000", "100000.2", "0.02"))


def test_crossed_or_empty_book_pulls_quotes() -> None:
    assert levels("100", "99", "0") == []
    assert levels("0", "99", "0") == []
