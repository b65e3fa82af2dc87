"""A synthetic market-making session: realistic journals for benchmarks, tools and tests.

It plays the engine's part without a venue: quotes go out, are acknowledged, amended, filled
in pieces, canceled; some requests end in an unknown outcome that a later query resolves, a
few are rejected, and some reports arrive twice (stream and REST). Every book input is applied
to a live :class:`~mmoms.core.book.LocalOrderBook` at the record's time, exactly as the engine
does, so :meth:`SyntheticSession.state_hash` is what a replay of the journal must reproduce.

The session is deterministic for a seed. Wall time mostly advances but sometimes steps back
(an NTP correction), which replay must tolerate. Requests still unanswered when the session
stops leave orders in flight and outbox entries pending, as a crash would.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import cast

import msgspec

from mmoms.core.book import LocalOrderBook
from mmoms.core.commands import AmendOrder, CancelOrder, Command, SubmitOrder
from mmoms.core.enums import OrderType, PositionSide, Side, TimeInForce, VenueOrderStatus
from mmoms.core.events import AnyEvent, Event
from mmoms.core.fsm import Trigger
from mmoms.core.ids import ClientOrderId, StrategyId, Symbol, TradeId, VenueOrderId
from mmoms.core.reports import (
    AnyReport,
    BalanceReport,
    FillReport,
    OrderNotFoundReport,
    OrderStatusReport,
    PositionReport,
    ReportSource,
)
from mmoms.journal.projection import order_row
from mmoms.journal.records import (
    BookCreate,
    BookMark,
    BookReport,
    CommandSent,
    Entry,
    EventRecorded,
    encode_entry,
    kind_of,
)
from mmoms.journal.recovery import ReplayClock
from mmoms.journal.store import Batch, OutboxEntry, Record

_MS = 1_000_000
_STRATEGY = StrategyId("mm1")
_AnyCommand = SubmitOrder | CancelOrder | AmendOrder
_MID = {"BTCUSDC": Decimal("100000.0"), "ETHUSDC": Decimal("3000.00")}
_TICK = {"BTCUSDC": Decimal("0.1"), "ETHUSDC": Decimal("0.01")}
_LOT = {"BTCUSDC": Decimal("0.001"), "ETHUSDC": Decimal("0.01")}


class _Sim:
    """What the fake venue knows about one order."""

    __slots__ = ("cid", "filled", "price", "qty", "side", "symbol", "vid")

    def __init__(
        self, symbol: Symbol, cid: ClientOrderId, side: Side, qty: Decimal, price: Decimal
    ):
        self.symbol, self.cid, self.side, self.qty, self.price = symbol, cid, side, qty, price
        self.vid = VenueOrderId(0)
        self.filled = Decimal(0)


class SyntheticSession:
    """Generates journal batches of a plausible session; see the module docstring."""

    def __init__(
        self,
        seed: int = 1,
        *,
        symbols: tuple[str, ...] = ("BTCUSDC", "ETHUSDC"),
        start_ns: int = 1_700_000_000_000_000_000,
        audit: bool = True,
    ) -> None:
        self.clock = ReplayClock(start_ns)
        self.book = LocalOrderBook(self.clock)
        self.seq = 0
        self._rng = random.Random(seed)
        self._symbols = [Symbol(s) for s in symbols]
        self._audit = audit
        self._now = start_ns
        self._orders: dict[ClientOrderId, _Sim] = {}
        self._idle: list[ClientOrderId] = []  # live, no request in flight: free to act on
        self._responses: deque[Callable[[], None]] = deque()  # the venue's pending answers
        self._fills: list[FillReport] = []  # recent fills, for duplicate deliveries
        self._next_cid = self._next_vid = self._next_trade = 1
        self._batch = Batch()
        self._touched: set[tuple[Symbol, ClientOrderId]] = set()
        self._unsent: list[tuple[OutboxEntry, _AnyCommand]] = []  # committed, not yet sent
        self._sent: list[tuple[OutboxEntry, _AnyCommand]] = []  # sent since the last batch

    # -- output ----------------------------------------------------------------------------

    def batches(self, n_records: int, batch_size: int = 100) -> Iterator[Batch]:
        """Batches of about ``batch_size`` records until at least ``n_records`` are made."""
        made = 0
        while made < n_records:
            batch = self.next_batch(min(batch_size, n_records - made))
            made += len(batch.records)
            yield batch

    def next_batch(self, min_records: int = 100) -> Batch:
        """The next engine batch: at least ``min_records`` records (a step is never split)."""
        self._start_batch()
        while len(self._batch.records) < min_records:
            self._step()
        return self._finish_batch()

    def state_hash(self) -> str:
        return self.book.state_hash()

    def client_order_ids(self) -> list[ClientOrderId]:
        return list(self._orders)

    # -- batch bookkeeping -----------------------------------------------------------------

    def _start_batch(self) -> None:
        self._batch = Batch()
        # The relay sent last batch's commands: record that, and mark them done.
        for entry, command in self._sent:
            self._record(CommandSent(command=command), command.client_order_id)
            self._batch.outbox_done.append(entry.id)
        self._sent = []

    def _finish_batch(self) -> Batch:
        for symbol, cid in sorted(self._touched):
            order = self.book.get(symbol, cid)
            if order is not None:
                self._batch.orders.append(order_row(order))
        self._touched.clear()
        self._unsent += [
            (e, msgspec.json.decode(e.payload, type=_AnyCommand)) for e in self._batch.outbox_add
        ]
        if self._rng.random() < 0.9:  # else the relay is slow: these stay pending a while
            self._sent, self._unsent = self._unsent, []
        return self._batch

    def _tick(self) -> int:
        self._now += self._rng.randint(1_000, 2 * _MS)
        if self._rng.random() < 0.002:
            self._now -= self._rng.randint(0, 3 * _MS)  # wall clock stepped back
        return self._now

    def _record(self, entry: Entry, key: str, ts_ns: int | None = None) -> int:
        self.seq += 1
        ts = self._now if ts_ns is None else ts_ns
        self._batch.records.append(Record(self.seq, ts, kind_of(entry), key, encode_entry(entry)))
        return self.seq

    def _input(self, entry: BookCreate | BookMark | BookReport, symbol: Symbol, cid: str) -> None:
        """Journal one book input and apply it live, at the same time; journal its events."""
        ts = self._tick()
        self.clock.set(ts)
        self._record(entry, cid, ts)
        events: list[Event]
        if isinstance(entry, BookCreate):
            events = self.book.create(entry.command, tag=entry.tag, strategy_id=entry.strategy_id)
        elif isinstance(entry, BookMark):
            events = self.book.mark(
                entry.symbol, entry.client_order_id, entry.trigger, entry.reason
            )
        else:
            events = self.book.apply(entry.report)
        if self._audit:
            for event in events:
                self._record(EventRecorded(event=cast(AnyEvent, event)), cid, ts)
        if cid:
            self._touched.add((symbol, ClientOrderId(cid)))

    def _outbox(self, action: str, command: Command, cid: str) -> None:
        entry = OutboxEntry(f"{self.seq}:{cid}:{action}", self._now, msgspec.json.encode(command))
        self._batch.outbox_add.append(entry)

    # -- the session -----------------------------------------------------------------------

    def _step(self) -> None:
        r = self._rng.random()
        if self._responses and (r < 0.40 or len(self._responses) > 20):
            self._responses.popleft()()
        elif r < 0.55 or len(self._idle) < 4:
            self._new_order()
        elif r < 0.72:
            self._fill(self._pick())
        elif r < 0.84:
            self._amend(self._pick())
        elif r < 0.94:
            self._cancel(self._pick())
        elif r < 0.98 and self._fills:
            f = self._fills[self._rng.randrange(len(self._fills))]
            self._report(
                msgspec.structs.replace(f, source=ReportSource.RECONCILIATION), f.client_order_id
            )
        else:
            self._account_report()

    def _pick(self) -> _Sim:
        i = self._rng.randrange(len(self._idle))
        self._idle[i], self._idle[-1] = self._idle[-1], self._idle[i]
        return self._orders[self._idle.pop()]

    def _report(self, report: AnyReport, cid: str = "") -> None:
        symbol = getattr(report, "symbol", Symbol(""))
        self._input(BookReport(report=report), symbol, cid)

    def _status(self, o: _Sim, st: VenueOrderStatus, *, amended: bool = False) -> OrderStatusReport:
        return OrderStatusReport(
            ts_event_ns=self._now // _MS * _MS,  # Binance stamps in milliseconds
            ts_recv_ns=self._now,
            source=ReportSource.REST
            if st is VenueOrderStatus.NEW and not amended
            else ReportSource.STREAM,
            symbol=o.symbol,
            client_order_id=o.cid,
            venue_order_id=o.vid,
            side=o.side,
            order_type=OrderType.LIMIT,
            status=st,
            quantity=o.qty,
            price=o.price,
            filled_qty=o.filled,
            time_in_force=TimeInForce.GTX,
            amended=amended,
        )

    def _new_order(self) -> None:
        symbol = self._rng.choice(self._symbols)
        side = self._rng.choice((Side.BUY, Side.SELL))
        offset = _TICK[symbol] * self._rng.randint(1, 50)
        price = _MID[symbol] - offset if side is Side.BUY else _MID[symbol] + offset
        o = _Sim(
            symbol,
            ClientOrderId(f"mm-{self._next_cid}"),
            side,
            _LOT[symbol] * self._rng.randint(1, 20),
            price,
        )
        self._next_cid += 1
        self._orders[o.cid] = o
        cmd = SubmitOrder(
            ts_ns=self._now,
            client_order_id=o.cid,
            symbol=symbol,
            side=side,
            order_type=OrderType.LIMIT,
            quantity=o.qty,
            price=price,
            time_in_force=TimeInForce.GTX,
        )
        self._input(
            BookCreate(command=cmd, tag=f"L{self._rng.randint(1, 5)}", strategy_id=_STRATEGY),
            symbol,
            o.cid,
        )
        self._outbox("submit", cmd, o.cid)
        r = self._rng.random()
        answer = self._ack if r < 0.93 else self._reject if r < 0.96 else self._unknown
        self._responses.append(lambda: answer(o))

    def _ack(self, o: _Sim) -> None:
        o.vid = VenueOrderId(self._next_vid)
        self._next_vid += 1
        self._report(self._status(o, VenueOrderStatus.NEW), o.cid)
        self._idle.append(o.cid)

    def _reject(self, o: _Sim) -> None:
        self._input(
            BookMark(
                symbol=o.symbol,
                client_order_id=o.cid,
                trigger=Trigger.REJECTED,
                reason="-5022 post only",
            ),
            o.symbol,
            o.cid,
        )

    def _unknown(self, o: _Sim) -> None:
        self._input(
            BookMark(
                symbol=o.symbol,
                client_order_id=o.cid,
                trigger=Trigger.OUTCOME_UNKNOWN,
                reason="503 unknown",
            ),
            o.symbol,
            o.cid,
        )
        if self._rng.random() < 0.5:  # the query finds it live
            self._responses.append(lambda: self._ack(o))
        else:
            self._responses.append(
                lambda: self._report(
                    OrderNotFoundReport(
                        ts_event_ns=self._now,
                        ts_recv_ns=self._now,
                        source=ReportSource.RECONCILIATION,
                        symbol=o.symbol,
                        client_order_id=o.cid,
                    ),
                    o.cid,
                )
            )

    def _fill(self, o: _Sim) -> None:
        lot = _LOT[o.symbol]
        qty = min(o.qty - o.filled, lot * self._rng.randint(1, 10))
        o.filled += qty
        fill = FillReport(
            ts_event_ns=self._now // _MS * _MS,
            ts_recv_ns=self._now,
            symbol=o.symbol,
            client_order_id=o.cid,
            venue_order_id=o.vid,
            trade_id=TradeId(self._next_trade),
            side=o.side,
            last_qty=qty,
            last_price=o.price,
            cum_filled_qty=o.filled,
            commission=(qty * o.price * Decimal("0.0001")).quantize(Decimal("0.00000001")),
            commission_asset="USDC",
        )
        self._next_trade += 1
        self._fills.append(fill)
        if len(self._fills) > 200:
            del self._fills[:100]
        self._report(fill, o.cid)
        done = o.filled >= o.qty
        self._report(
            self._status(o, VenueOrderStatus.FILLED if done else VenueOrderStatus.PARTIALLY_FILLED),
            o.cid,
        )
        if not done:
            self._idle.append(o.cid)

    def _amend(self, o: _Sim) -> None:
        cid = o.cid
        self._input(
            BookMark(symbol=o.symbol, client_order_id=cid, trigger=Trigger.AMEND_SENT),
            o.symbol,
            cid,
        )
        o.price += _TICK[o.symbol] * self._rng.choice((-2, -1, 1, 2))
        cmd = AmendOrder(
            ts_ns=self._now,
            client_order_id=cid,
            symbol=o.symbol,
            side=o.side,
            quantity=o.qty,
            price=o.price,
            venue_order_id=o.vid,
        )
        self._outbox("amend", cmd, cid)

        def amended() -> None:
            st = VenueOrderStatus.PARTIALLY_FILLED if o.filled else VenueOrderStatus.NEW
            self._report(self._status(o, st, amended=True), cid)
            self._idle.append(cid)

        self._responses.append(amended)

    def _cancel(self, o: _Sim) -> None:
        self._input(
            BookMark(symbol=o.symbol, client_order_id=o.cid, trigger=Trigger.CANCEL_SENT),
            o.symbol,
            o.cid,
        )
        self._outbox(
            "cancel",
            CancelOrder(
                ts_ns=self._now, client_order_id=o.cid, symbol=o.symbol, venue_order_id=o.vid
            ),
            o.cid,
        )
        self._responses.append(
            lambda: self._report(self._status(o, VenueOrderStatus.CANCELED), o.cid)
        )

    def _account_report(self) -> None:
        if self._rng.random() < 0.5:
            symbol = self._rng.choice(self._symbols)
            report: AnyReport = PositionReport(
                ts_event_ns=self._now,
                ts_recv_ns=self._now,
                source=ReportSource.RECONCILIATION,
                symbol=symbol,
                position_side=PositionSide.BOTH,
                quantity=self.book.position(symbol),
                entry_price=_MID[symbol],
            )
        else:
            report = BalanceReport(
                ts_event_ns=self._now,
                ts_recv_ns=self._now,
                asset="USDC",
                wallet_balance=Decimal(self._rng.randint(9_000, 11_000)),
            )
        self._report(report)
