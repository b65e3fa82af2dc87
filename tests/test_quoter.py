from decimal import Decimal as D

from mmoms.app.quoter import QuoterConfig, SkewedQuoter
from mmoms.core.enums import Side

Q = SkewedQuoter(
    QuoterConfig(
        levels=2,
        half_spread_bps=D(2),
        level_step_bps=D(2),
        size=D("0.01"),
        max_inventory=D("0.02"),
        skew_bps=D(4),
    )
)


def test_flat_quotes_are_symmetric_and_never_cross() -> None:
    levels = Q.levels(D(99_990), D(100_010), D(0))
    bids = sorted((lv.price for lv in levels if lv.side is Side.BUY), reverse=True)
    asks = sorted(lv.price for lv in levels if lv.side is Side.SELL)
    assert len(bids) == len(asks) == 2
    assert bids[0] <= D(99_990)
    assert asks[0] >= D(100_010)
    assert (D(100_000) - bids[1]) == (asks[1] - D(100_000))
    assert {lv.tag for lv in levels} == {"b0", "b1", "a0", "a1"}


def test_long_inventory_skews_down_and_stops_buying_at_the_limit() -> None:
    flat = Q.levels(D(100_000), D("100000.2"), D(0))
    long = Q.levels(D(100_000), D("100000.2"), D("0.01"))
    worst_bid = lambda ls: min(lv.price for lv in ls if lv.side is Side.BUY)  # noqa: E731
    assert worst_bid(long) < worst_bid(flat)
    full = Q.levels(D(100_000), D("100000.2"), D("0.02"))
    assert all(lv.side is Side.SELL for lv in full)


def test_crossed_or_empty_book_pulls_quotes() -> None:
    assert Q.levels(D(100), D(99), D(0)) == []
    assert Q.levels(D(0), D(99), D(0)) == []
