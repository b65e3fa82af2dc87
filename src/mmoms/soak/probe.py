"""The worker's eyes: a journal store that says what it committed last, a gateway that times
its reconnects, and the :class:`~mmoms.soak.views.BookView` of a live OrderManager.

Both wrappers subclass the production classes and only observe: the OMS under test runs the
same code paths as in production.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection, Iterable, Mapping, Sequence
from decimal import Decimal

from mmoms.contingent import GroupState
from mmoms.core.ids import Symbol
from mmoms.engine.oms import OrderManager
from mmoms.journal.sqlite import SqliteJournalStore
from mmoms.journal.store import Batch
from mmoms.soak.views import ZERO, BookView, FlattenView, GroupView, LegView, OrderView
from mmoms.venues.binance.gateway import BinanceGateway
from mmoms.venues.gateway import StreamGap, StreamMessage

__all__ = ["TrackingStore", "WatchedGateway", "book_view", "flatten_orders", "group_view"]


class TrackingStore(SqliteJournalStore):
    """The SQLite journal, remembering the last seq it committed: a view taken in a batch
    listener (right after a commit) is then pinned to an exact point of the journal."""

    last_committed_seq = 0

    async def commit(self, batch: Batch) -> None:
        await super().commit(batch)
        if batch.records:
            self.last_committed_seq = batch.records[-1].seq


class WatchedGateway(BinanceGateway):
    """The Binance gateway; every user-stream reconnect is reported (downtime in seconds)."""

    on_reconnect: Callable[[float, str], None] | None = None

    async def stream(self) -> AsyncIterator[StreamMessage]:
        async for message in super().stream():
            if isinstance(message, StreamGap) and message.down_since_ns is not None:
                down_s = max(message.ts_ns - message.down_since_ns, 0) / 1e9
                if self.on_reconnect is not None:
                    self.on_reconnect(down_s, message.reason)
            yield message


def book_view(
    oms: OrderManager,
    symbols: Iterable[Symbol],
    *,
    checkpoint: int,
    seq: int,
    converge_rounds: int,
    canceled: Collection[str] = (),
) -> BookView:
    """What the OMS holds now. Call it from a batch listener so the book matches ``seq``."""
    book = oms.book
    open_orders = tuple(
        OrderView(
            client_order_id=o.client_order_id,
            symbol=o.symbol,
            side=o.side.value,
            order_type=o.order_type.value,
            quantity=o.quantity,
            price=o.price,
            filled=o.filled_qty,
            status=o.status.value,
            external=o.external,
        )
        for o in book.open_orders()
    )
    fees: dict[str, Decimal] = {}
    fills = 0
    flattens = flatten_orders(oms)
    for order in book.orders():
        for fill in order.fills:
            fills += 1
            fees[fill.commission_asset] = fees.get(fill.commission_asset, ZERO) + fill.commission
    for orphan in book.snapshot().orphan_fills:  # counted in the position, order not seen yet
        fills += 1
        fees[orphan.commission_asset] = fees.get(orphan.commission_asset, ZERO) + orphan.commission
    return BookView(
        checkpoint=checkpoint,
        seq=seq,
        state_hash=book.state_hash(),
        open_orders=open_orders,
        positions={s: book.position(s) for s in symbols},
        fees={a: v for a, v in fees.items() if a},
        fills=fills,
        groups=tuple(group_view(g, canceled, flattens) for g in oms.groups()),
        reconciliations=oms.metrics.reconciliations,
        in_flight=sum(1 for o in book.open_orders() if o.status.is_in_flight),
        converge_rounds=converge_rounds,
    )


def flatten_orders(oms: OrderManager) -> dict[str, list[FlattenView]]:
    """Every flatten order of a group, by group id: ``<group>-flat-<n>`` for an overfill (also
    in the group's state) and ``<group>-flat-p<n>`` for a refused stop (only in the book)."""
    out: dict[str, list[FlattenView]] = {}
    for order in oms.book.orders():
        group, sep, _ = order.client_order_id.rpartition("-flat-")
        if sep and not order.external:
            view = FlattenView(client_order_id=order.client_order_id, side=order.side.value)
            out.setdefault(group, []).append(view)
    return out


def group_view(
    state: GroupState,
    canceled: Collection[str] = (),
    flattens: Mapping[str, Sequence[FlattenView]] | None = None,
) -> GroupView:
    """``canceled``: the groups the strategy asked to cancel; ``flattens``: every flatten order
    by group (:func:`flatten_orders`), else the group state's own."""
    spec = state.spec
    own = [
        FlattenView(client_order_id=f.client_order_id, side=f.side.value) for f in state.flattens
    ]
    legs = []
    for leg_spec, leg in zip(spec.legs, state.legs, strict=True):
        slots = tuple(s.client_order_id for s in leg.slots) or (leg_spec.client_order_id,)
        legs.append(
            LegView(
                name=leg.name,
                side=leg_spec.order.side.value,
                order_type=leg_spec.order.order_type.value,
                quantity=leg_spec.order.quantity,
                reduce_only=leg_spec.order.reduce_only,
                slots=slots,
            )
        )
    return GroupView(
        group_id=spec.group_id,
        kind=spec.kind,
        symbol=spec.symbol,
        status=state.status.value,
        canceling=state.canceling,
        strategy_canceled=spec.group_id in canceled,
        legs=tuple(legs),
        flattens=tuple(own if flattens is None else flattens.get(spec.group_id, ())),
        excess=sum((leg.excess for leg in state.legs), ZERO),
    )
