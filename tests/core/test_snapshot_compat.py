"""Snapshots only gain fields with defaults: a snapshot written before ``trigger_price`` existed
still loads, and a book without stops hashes exactly as it did then (hashes printed by earlier
replays stay comparable). A stop's trigger survives snapshot and restore, and is hashed."""

from __future__ import annotations

from decimal import Decimal as D

from mmoms.core.book import LocalOrderBook
from mmoms.core.clock import TestClock
from mmoms.core.enums import VenueOrderStatus as V
from mmoms.core.ids import ClientOrderId, StrategyId
from mmoms.core.snapshot import decode_snapshot, encode_snapshot

from .factories import SYM, fill, status, stop_loss, submit

# Written by the code before Order.trigger_price existed, from pinned_book() below.
OLD_SNAPSHOT = (
    b'{"anomaly_count":0,"extensions":{},"orders":[{"client_order_id":"a","created_ns":'
    b'1700000000000000000,"external":false,"filled_qty":"0.5","fills":[[1,"0.5","100","0","",'
    b'2000000]],"group_id":null,"last_event_ns":1000000,"order_type":"LIMIT","position_side":'
    b'"BOTH","price":"100","quantity":"2","reduce_only":false,"side":"BUY","status":'
    b'"PARTIALLY_FILLED","strategy_id":"mm","symbol":"BTCUSDC","tag":"bid1","time_in_force":'
    b'"GTC","updated_ns":2000000,"venue_order_id":7,"venue_rank":2},{"client_order_id":"x",'
    b'"created_ns":1000000,"external":true,"filled_qty":"0","fills":[],"group_id":null,'
    b'"last_event_ns":1000000,"order_type":"LIMIT","position_side":"BOTH","price":"101",'
    b'"quantity":"1","reduce_only":false,"side":"BUY","status":"NEW","strategy_id":null,'
    b'"symbol":"BTCUSDC","tag":null,"time_in_force":null,"updated_ns":1000000,'
    b'"venue_order_id":9,"venue_rank":1}],"orphan_fills":[{"client_order_id":"z","commission":'
    b'"0","commission_asset":"","cum_filled_qty":null,"last_price":"100","last_qty":"1",'
    b'"liquidity":"TAKER","position_side":"BOTH","realized_pnl":"0","side":"BUY","source":'
    b'"STREAM","symbol":"BTCUSDC","trade_id":3,"ts_event_ns":3000000,"ts_recv_ns":3000000,'
    b'"type":"FillReport","venue_order_id":11}],"positions":[["BTCUSDC","BOTH","1.5"]],'
    b'"seen_trades":{"BTCUSDC":[[1,"BUY"],[3,"BUY"]]},"version":2}'
)
# Its state hash, as the code before the field computed it.
OLD_HASH = "c6af83b2d65dd2e8d2099f03e0daa7b31673686afd44c5ccdf5869c14433bf57"


def pinned_book() -> LocalOrderBook:
    book = LocalOrderBook(TestClock())
    book.create(submit("a", qty="2"), strategy_id=StrategyId("mm"), tag="bid1")
    book.apply(status("a", 7, V.NEW, qty="2"))
    book.apply(fill("a", 7, 1, "0.5", cum="0.5", ts_ms=2))
    book.apply(status("x", 9, V.NEW, price="101"))  # adopted: external
    book.apply(fill("z", 11, 3, "1", ts_ms=3))  # orphan fill
    return book


def test_a_book_without_stops_hashes_as_before_the_field_existed() -> None:
    assert pinned_book().state_hash() == OLD_HASH


def test_an_old_snapshot_loads_restores_and_hashes_as_it_did() -> None:
    snapshot = decode_snapshot(OLD_SNAPSHOT)
    assert [o.trigger_price for o in snapshot.orders] == [None, None]
    restored = LocalOrderBook.restore(snapshot, TestClock())
    assert restored.state_hash() == OLD_HASH
    order = restored.get(SYM, ClientOrderId("a"))
    assert order is not None
    assert order.trigger_price is None
    assert order.filled_qty == D("0.5")


def test_a_stops_trigger_comes_from_its_command_and_survives_snapshot_and_restore() -> None:
    book = pinned_book()
    book.create(stop_loss("93000.0"), strategy_id=StrategyId("mm"))
    order = book.get(SYM, ClientOrderId("sl"))
    assert order is not None
    assert order.trigger_price == D("93000.0")
    assert order.price is None
    restored = LocalOrderBook.restore(
        decode_snapshot(encode_snapshot(book.snapshot())), TestClock()
    )
    again = restored.get(SYM, ClientOrderId("sl"))
    assert again is not None
    assert again.trigger_price == D("93000.0")
    assert restored.state_hash() == book.state_hash()


def test_the_trigger_price_is_part_of_the_state_hash() -> None:
    low, high = pinned_book(), pinned_book()
    low.create(stop_loss("93000.0"))
    high.create(stop_loss("93100.0"))
    assert low.state_hash() != high.state_hash()
    assert OLD_HASH not in (low.state_hash(), high.state_hash())
