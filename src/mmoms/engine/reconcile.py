"""What a reconciliation found: differences between the book before and after a snapshot, and
between the positions we computed from fills and the venue's positions. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

from mmoms.core.book import LocalOrderBook
from mmoms.core.ids import ClientOrderId, Symbol
from mmoms.core.reports import PositionReport

Fingerprint = tuple[str, Decimal, Decimal | None, Decimal]


def order_fingerprints(book: LocalOrderBook) -> dict[tuple[Symbol, ClientOrderId], Fingerprint]:
    """Status, filled quantity, price and quantity of every order, keyed by symbol and id."""
    return {
        (o.symbol, o.client_order_id): (o.status.value, o.filled_qty, o.price, o.quantity)
        for o in book.orders()
    }


def describe_changes(
    before: dict[tuple[Symbol, ClientOrderId], Fingerprint],
    after: dict[tuple[Symbol, ClientOrderId], Fingerprint],
) -> list[str]:
    """One line per order the snapshot created or changed."""
    lines = []
    for key, now in after.items():
        was = before.get(key)
        if was is None:
            lines.append(f"{key[1]}: adopted from venue as {now[0]}")
        elif was != now:
            lines.append(f"{key[1]}: {_fmt(was)} -> {_fmt(now)}")
    return lines


def compare_positions(
    book: LocalOrderBook, positions: Sequence[PositionReport], symbols: Iterable[Symbol]
) -> list[str]:
    """Positions where the sum of our fills differs from the venue's position."""
    venue: dict[Symbol, Decimal] = {}
    for p in positions:
        venue[p.symbol] = venue.get(p.symbol, Decimal(0)) + p.quantity
    lines = []
    for symbol in symbols:
        ours, theirs = book.position(symbol), venue.get(symbol, Decimal(0))
        if ours != theirs:
            lines.append(f"{symbol}: position {ours} from our fills, {theirs} on venue")
    return lines


def _fmt(fp: Fingerprint) -> str:
    status, filled, price, qty = fp
    return f"{status} {filled}/{qty}@{price}"
