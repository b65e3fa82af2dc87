"""The after-run audit of a journal: counts, pinned hashes, orders created and the time a
bracket's entry stood unprotected."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import msgspec
import pytest

from mmoms.contingent import PlaceGroup, bracket
from mmoms.core.book import LocalOrderBook
from mmoms.core.commands import CancelOrder, SubmitOrder
from mmoms.core.enums import OrderStatus, OrderType, Side
from mmoms.core.events import OrderCreated, OrderFilled, OrderUpdated
from mmoms.core.ids import ClientOrderId, GroupId, StrategyId, Symbol, TradeId
from mmoms.journal.records import (
    BookCreate,
    CommandSent,
    Entry,
    EventRecorded,
    GroupRecorded,
    Reconciled,
    encode_entry,
    kind_of,
)
from mmoms.journal.recovery import ReplayClock
from mmoms.journal.sqlite import SqliteJournalStore
from mmoms.journal.store import Batch, Record
from mmoms.soak.audit import audit_journal

ETH = Symbol("ETHUSDC")
SECOND = 1_000_000_000


def submit(cid: str) -> SubmitOrder:
    return SubmitOrder(
        ts_ns=0, client_order_id=ClientOrderId(cid), symbol=ETH, side=Side.BUY,
        order_type=OrderType.MARKET, quantity=D("0.03"),
    )  # fmt: skip


def filled(cid: str, trade: int) -> OrderFilled:
    return OrderFilled(
        ts_ns=0, client_order_id=ClientOrderId(cid), symbol=ETH, status=OrderStatus.FILLED,
        trade_id=TradeId(trade), side=Side.BUY, last_qty=D("0.03"), last_price=D(3500),
        filled_qty=D("0.03"),
    )  # fmt: skip


def status(cid: str, value: OrderStatus) -> OrderUpdated:
    return OrderUpdated(
        ts_ns=0, client_order_id=ClientOrderId(cid), symbol=ETH, status=value, filled_qty=D(0)
    )


def created(cid: str) -> OrderCreated:
    return OrderCreated(
        ts_ns=0, client_order_id=ClientOrderId(cid), symbol=ETH, status=OrderStatus.PENDING_NEW,
        side=Side.SELL, order_type=OrderType.STOP_MARKET, quantity=D("0.03"), price=None,
    )  # fmt: skip


async def write(path: Path, entries: list[tuple[float, str, Entry]]) -> None:
    store = SqliteJournalStore(path)
    await store.open()
    records = [
        Record(seq, int(at * SECOND), kind_of(entry), key, encode_entry(entry))
        for seq, (at, key, entry) in enumerate(entries, start=1)
    ]
    await store.commit(Batch(records=records))
    await store.close()


@pytest.mark.asyncio
async def test_the_audit_counts_and_times_what_the_journal_holds(tmp_path: Path) -> None:
    group = bracket("g1", ETH, Side.BUY, D("0.03"), take_profit_price=D(3600), stop_price=D(3400))
    intent = PlaceGroup(strategy_id=StrategyId("s"), group=group)
    entries: list[tuple[float, str, Entry]] = [
        (0.5, "g1", GroupRecorded(kind="intent", group_id=GroupId("g1"),
                                  payload=msgspec.Raw(msgspec.json.encode(intent)))),
        (0.5, "g1-entry", BookCreate(command=submit("g1-entry"))),
        (0.5, "g1-entry", CommandSent(command=submit("g1-entry"))),
        (1.0, "g1-entry", EventRecorded(event=filled("g1-entry", 7))),  # exposed from here
        (1.1, "g1-sl", EventRecorded(event=created("g1-sl"))),  # created is not protected
        (1.25, "g1-sl", EventRecorded(event=status("g1-sl", OrderStatus.NEW))),  # live: 0.25 s
        (1.5, "", Reconciled(reason="periodic", differences=("a", "b"))),
        (2.0, "g2-entry", BookCreate(command=submit("g2-entry"))),
        (2.0, "g2-entry", EventRecorded(event=filled("g2-entry", 8))),  # never protected
        (2.2, "g3-entry", EventRecorded(event=filled("g3-entry", 9))),
        (2.6, "g3-flat-p1", EventRecorded(event=filled("g3-flat-p1", 10))),  # flattened: 0.4 s
        (2.5, "g2-entry", CommandSent(command=CancelOrder(
            ts_ns=0, client_order_id=ClientOrderId("g2-entry"), symbol=ETH))),
        (3.0, "", Reconciled(reason="periodic")),
    ]  # fmt: skip
    path = tmp_path / "journal.sqlite"
    await write(path, entries)

    audit = await audit_journal(path, pinned={2})

    assert audit.records == len(entries)
    assert dict(audit.actions) == {"SubmitOrder": 1, "CancelOrder": 1}
    assert (audit.reconciliations, audit.differences) == (2, 2)
    assert dict(audit.groups) == {"otoco": 1}
    assert audit.created == ["ETHUSDC/g1-entry", "ETHUSDC/g2-entry"]
    assert audit.unprotected_s["g1"] == pytest.approx(0.25)
    assert audit.unprotected_s["g2"] == pytest.approx(1.0)  # to the journal's end
    assert audit.unprotected_s["g3"] == pytest.approx(0.4)
    assert audit.never_protected == ["g2"]

    clock = ReplayClock(int(0.5 * SECOND))
    book = LocalOrderBook(clock)
    book.create(submit("g1-entry"))
    assert audit.hashes == {2: book.state_hash()}
    assert audit.final_hash == audit.recovered_hash
    assert audit.final_hash != book.state_hash()  # g2-entry was created after seq 2
