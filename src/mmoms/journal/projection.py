"""The ``orders`` projection: one row per order, for people and dashboards.

The engine puts a row for every order a batch touched into that batch, so the table is always
consistent with the journal. Recovery never reads it: the journal is the truth.
"""

from __future__ import annotations

from mmoms.core.order import Order
from mmoms.journal.store import OrderRow


def order_row(order: Order) -> OrderRow:
    """The projection row of ``order`` as it is now."""
    return OrderRow(
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        side=order.side.value,
        order_type=order.order_type.value,
        status=order.status.value,
        price=order.price,
        quantity=order.quantity,
        filled_qty=order.filled_qty,
        venue_order_id=order.venue_order_id,
        updated_ns=order.updated_ns,
    )
