"""Snapshots of the local book: a plain, versioned struct that encodes to bytes and back.

Recovery is "latest snapshot + replay of the journal tail"; a snapshot therefore has to restore
*everything* the merge rules depend on: fills (trade ids count once), venue ranks, the
tie-break timestamps, orphan fills and positions. :func:`state_hash` fingerprints the state so a
replay can prove it rebuilt exactly what the live engine had.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

import msgspec

from mmoms.core.enums import OrderStatus, OrderType, PositionSide, Side, TimeInForce
from mmoms.core.ids import ClientOrderId, GroupId, StrategyId, Symbol, TradeId, VenueOrderId
from mmoms.core.reports import FillReport

SNAPSHOT_VERSION = 2  # 2: seen trades are (trade id, side) pairs


class FillState(msgspec.Struct, frozen=True, array_like=True):
    trade_id: TradeId
    qty: Decimal
    price: Decimal
    commission: Decimal
    commission_asset: str
    ts_ns: int


class OrderState(msgspec.Struct, frozen=True):
    client_order_id: ClientOrderId
    symbol: Symbol
    side: Side
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None
    status: OrderStatus
    time_in_force: TimeInForce | None
    reduce_only: bool
    position_side: PositionSide
    venue_order_id: VenueOrderId | None
    filled_qty: Decimal
    fills: list[FillState]
    venue_rank: int
    last_event_ns: int
    external: bool
    group_id: GroupId | None
    tag: str | None
    created_ns: int
    updated_ns: int
    strategy_id: StrategyId | None = None
    trigger_price: Decimal | None = None  # stops / take-profits; absent in older snapshots


class PositionState(msgspec.Struct, frozen=True, array_like=True):
    symbol: Symbol
    position_side: PositionSide
    quantity: Decimal


class BookSnapshot(msgspec.Struct, frozen=True):
    version: int
    orders: list[OrderState]
    positions: list[PositionState]
    seen_trades: dict[Symbol, list[tuple[TradeId, Side]]]  # (trade id, side): see book.py
    orphan_fills: list[FillReport]
    anomaly_count: int
    # State of layers above the book (e.g. contingent groups), kept opaque here so that a
    # snapshot restores the whole engine in one read. Not part of the book's state hash.
    extensions: dict[str, msgspec.Raw] = {}


_encoder = msgspec.json.Encoder(order="sorted")
_decoder = msgspec.json.Decoder(BookSnapshot)


def encode_snapshot(snapshot: BookSnapshot) -> bytes:
    return _encoder.encode(snapshot)


def decode_snapshot(data: bytes) -> BookSnapshot:
    """Decode a snapshot.

    Raises:
        msgspec.ValidationError / msgspec.DecodeError: the bytes are not a snapshot.
        ValueError: the snapshot's version is newer than this code understands.
    """
    snapshot = _decoder.decode(data)
    if snapshot.version > SNAPSHOT_VERSION:
        raise ValueError(f"snapshot version {snapshot.version} is newer than {SNAPSHOT_VERSION}")
    return snapshot


def state_hash(snapshot: BookSnapshot) -> str:
    """A fingerprint of the book's state, independent of dict and insertion order."""
    orders = sorted(snapshot.orders, key=lambda o: (o.symbol, o.client_order_id))
    canonical = msgspec.structs.replace(
        snapshot,
        orders=[_hashed_order(o) for o in orders],
        positions=sorted(snapshot.positions, key=lambda p: (p.symbol, p.position_side)),
        seen_trades={k: sorted(v) for k, v in snapshot.seen_trades.items()},
        orphan_fills=sorted(snapshot.orphan_fills, key=lambda f: (f.symbol, f.trade_id)),
        extensions={},
    )
    return hashlib.sha256(_encoder.encode(canonical)).hexdigest()


def _hashed_order(order: OrderState) -> OrderState | dict[str, object]:
    """The order as hashed: a field added later is left out while it holds its default, so a
    book that does not use it hashes exactly as it did before the field existed (hashes that
    replays printed stay comparable)."""
    if order.trigger_price is None:
        fields = msgspec.structs.asdict(order)  # sorted keys encode as the struct's fields do
        del fields["trigger_price"]
        return fields
    return order
