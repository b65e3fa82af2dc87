"""Properties of the local book over event sequences (Hypothesis).

A valid venue history is generated for a few orders (acks, trades, amends, cancels, expiries),
as the stream would report it. It is then delivered shuffled, with duplicates and losses, and
followed by a final reconciliation (status of every order plus every trade, as ``userTrades``
would give it). The book must end exactly where in-order delivery ends, and along the way
filled quantity is monotone and bounded and the position equals the sum of fills.
"""

from dataclasses import dataclass
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from mmoms.core.book import LocalOrderBook
from mmoms.core.clock import TestClock
from mmoms.core.enums import Side
from mmoms.core.enums import VenueOrderStatus as V
from mmoms.core.ids import ClientOrderId
from mmoms.core.reports import FillReport, OrderStatusReport, ReportSource

from .factories import SYM, fill, status, submit


@dataclass
class History:
    orders: list[tuple[str, int, Side, int, int]]  # cid, vid, side, qty, price
    reports: list[OrderStatusReport | FillReport]  # in venue order
    final: list[OrderStatusReport | FillReport]  # the reconciliation snapshot


@st.composite
def histories(draw: st.DrawFn) -> History:
    n_orders = draw(st.integers(1, 4))
    per_order: list[list[OrderStatusReport | FillReport]] = []
    orders = []
    final: list[OrderStatusReport | FillReport] = []
    trade_id = 1000
    for i in range(n_orders):
        cid, vid = f"o{i}", 9_000_000_000_000 + i  # ids beyond 32 bits on purpose
        side = draw(st.sampled_from(Side))
        qty = draw(st.integers(1, 5))
        price = draw(st.integers(90, 110))
        orders.append((cid, vid, side, qty, price))
        seq: list[OrderStatusReport | FillReport] = [
            status(cid, vid, V.NEW, qty=str(qty), price=str(price), side=side)
        ]
        trades: list[FillReport] = []
        filled = 0
        for _ in range(draw(st.integers(0, 4))):
            step = draw(st.sampled_from(["amend", "trade"]))
            if step == "amend" and filled < qty:
                price = draw(st.integers(90, 110))
                st_now = V.PARTIALLY_FILLED if filled else V.NEW
                seq.append(
                    status(
                        cid,
                        vid,
                        st_now,
                        str(filled),
                        qty=str(qty),
                        price=str(price),
                        amended=True,
                        side=side,
                    )
                )
            elif step == "trade" and filled < qty:
                last = draw(st.integers(1, qty - filled))
                filled += last
                trade_id += 1
                trade = fill(
                    cid, vid, trade_id, str(last), cum=str(filled), price=str(price), side=side
                )
                trades.append(trade)
                st_now = V.FILLED if filled == qty else V.PARTIALLY_FILLED
                seq += [
                    trade,
                    status(
                        cid, vid, st_now, str(filled), qty=str(qty), price=str(price), side=side
                    ),
                ]
        end = (
            V.FILLED
            if filled == qty
            else draw(
                st.sampled_from(
                    [V.NEW if not filled else V.PARTIALLY_FILLED, V.CANCELED, V.EXPIRED]
                )
            )
        )
        if end in (V.CANCELED, V.EXPIRED):
            seq.append(
                status(cid, vid, end, str(filled), qty=str(qty), price=str(price), side=side)
            )
        per_order.append(seq)
        final.append(
            status(
                cid,
                vid,
                end,
                str(filled),
                qty=str(qty),
                price=str(price),
                side=side,
                source=ReportSource.RECONCILIATION,
            )
        )
        final += [
            fill(
                cid,
                vid,
                t.trade_id,
                str(t.last_qty),
                price=str(t.last_price),
                side=side,
                source=ReportSource.RECONCILIATION,
            )
            for t in trades
        ]
    # Interleave the orders' histories, keeping each order's own sequence, with ms timestamps
    # that often collide (Binance stamps in milliseconds).
    merged: list[OrderStatusReport | FillReport] = []
    cursors = [0] * n_orders
    ts = 1
    while any(c < len(s) for c, s in zip(cursors, per_order, strict=True)):
        live = [i for i, s in enumerate(per_order) if cursors[i] < len(s)]
        i = draw(st.sampled_from(live))
        ts += draw(st.integers(0, 1))
        merged.append(_at(per_order[i][cursors[i]], ts))
        cursors[i] += 1
    final = [_at(r, ts + 1) for r in final]
    return History(orders, merged, final)


def _at(report: OrderStatusReport | FillReport, ts_ms: int) -> OrderStatusReport | FillReport:
    import msgspec

    return msgspec.structs.replace(
        report, ts_event_ns=ts_ms * 1_000_000, ts_recv_ns=ts_ms * 1_000_000
    )


def new_book(history: History) -> LocalOrderBook:
    book = LocalOrderBook(TestClock())
    for cid, _vid, side, qty, price in history.orders:
        book.create(submit(cid, qty=str(qty), price=str(price), side=side))
    return book


def state(book: LocalOrderBook) -> dict[str, object]:
    return {
        "orders": {
            o.client_order_id: (
                o.status,
                o.filled_qty,
                o.quantity,
                o.price,
                o.venue_order_id,
                sorted(f.trade_id for f in o.fills),
            )
            for o in book.orders()
        },
        "positions": {k: v for k, v in book.positions.items() if v},
    }


def check_invariants(book: LocalOrderBook, last_filled: dict[str, D]) -> None:
    total = D(0)
    for order in book.orders():
        assert order.filled_qty >= last_filled.get(order.client_order_id, D(0)), "filled shrank"
        assert order.filled_qty <= order.quantity, "filled beyond quantity"
        last_filled[order.client_order_id] = order.filled_qty
        total += order.side.sign * order.fills_qty
    assert book.position(SYM) == total, "position differs from the sum of fills"
    indexed = {o.client_order_id for o in book.open_orders()}
    assert indexed == {o.client_order_id for o in book.orders() if o.status.is_open}


@settings(max_examples=300, deadline=None)
@given(history=histories(), data=st.data())
def test_any_delivery_converges_after_reconciliation(history: History, data: st.DataObject) -> None:
    reference = new_book(history)
    for r in history.reports + history.final:
        reference.apply(r)

    delivered: list[OrderStatusReport | FillReport] = []
    for r in history.reports:
        copies = data.draw(st.sampled_from([0, 1, 1, 1, 2]), label="copies")
        delivered += [r] * copies
    delivered = data.draw(st.permutations(delivered), label="order")

    book = new_book(history)
    last_filled: dict[str, D] = {}
    for r in delivered:
        book.apply(r)
        check_invariants(book, last_filled)
    for r in history.final:
        book.apply(r)
        check_invariants(book, last_filled)

    assert state(book) == state(reference)


@settings(max_examples=200, deadline=None)
@given(history=histories())
def test_in_order_delivery_needs_no_reconciliation(history: History) -> None:
    live = new_book(history)
    for r in history.reports:
        live.apply(r)
    reconciled = new_book(history)
    for r in history.reports + history.final:
        reconciled.apply(r)
    assert state(live) == state(reconciled)
    assert live.anomaly_count == 0


@settings(max_examples=100, deadline=None)
@given(history=histories())
def test_replaying_twice_is_idempotent(history: History) -> None:
    book = new_book(history)
    for r in history.reports:
        book.apply(r)
    once = state(book)
    for r in history.reports:
        assert book.apply(r) == [] or all(type(e).__name__ == "OrderAnomaly" for e in book.apply(r))
    assert state(book) == once
    assert book.get(SYM, ClientOrderId("o0")) is not None


@settings(max_examples=150, deadline=None)
@given(history=histories(), data=st.data())
def test_snapshot_restore_is_exact(history: History, data: st.DataObject) -> None:
    """Stop anywhere, snapshot, restore, continue: the same end state as never stopping."""
    from mmoms.core.snapshot import decode_snapshot, encode_snapshot

    reports = history.reports + history.final
    cut = data.draw(st.integers(0, len(reports)), label="cut")
    book = new_book(history)
    for r in reports[:cut]:
        book.apply(r)
    restored = LocalOrderBook.restore(
        decode_snapshot(encode_snapshot(book.snapshot())), TestClock()
    )
    assert restored.state_hash() == book.state_hash()
    for r in reports[cut:]:
        assert restored.apply(r) == book.apply(r)
    assert restored.state_hash() == book.state_hash()
    assert state(restored) == state(book)
    assert restored.open_orders() == book.open_orders()
