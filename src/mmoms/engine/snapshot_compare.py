"""What a reconciliation found: differences between the book before and after a snapshot, and
between the positions we computed from fills and the venue's positions; which conditional
orders to look for in the venue's list of waiting ones, and which it does not list. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

from mmoms.core.book import LocalOrderBook, is_waiting
from mmoms.core.enums import OrderStatus
from mmoms.core.ids import ClientOrderId, Symbol
from mmoms.core.order import Order
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


def waiting_symbols(book: LocalOrderBook, symbols: Iterable[Symbol]) -> tuple[Symbol, ...]:
    """The symbols on which we hold a conditional order waiting for its trigger (worth asking
    the venue's list of those: the others cost a request for nothing)."""
    return tuple(s for s in symbols if any(is_waiting(o) for o in book.open_orders(s)))


def missing_waiting(
    book: LocalOrderBook, symbols: Iterable[Symbol], listed: Iterable[ClientOrderId]
) -> list[Order]:
    """Our waiting conditional orders on ``symbols`` (NEW: acknowledged) that the venue's list
    of waiting conditional orders does not name: triggered or ended since we last heard."""
    named = set(listed)
    return [
        o
        for s in symbols
        for o in book.open_orders(s)
        if o.status is OrderStatus.NEW and is_waiting(o) and o.client_order_id not in named
    ]


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
