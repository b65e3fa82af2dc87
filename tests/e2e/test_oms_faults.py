"""The whole stack — OMS, Binance gateway, journal — against the simulator with injected faults
(issue 7): user-data events dropped / duplicated / reordered while quoting and filling, unknown
outcomes on placement, a stream disconnect, clock skew and 429 bursts. After each, the local
book must equal what the venue holds.

The simulator's synthetic market stands still here; the test moves it (``/admin/market``: a new
mid, aggressive trades that fill our quotes), so every run does the same things. Nothing sleeps
to synchronise: the tests wait on the engine's batch listener, with a deadline.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from decimal import Decimal as D
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from mmoms.app.stack import EmbeddedStack, demo_oms_config, start_embedded
from mmoms.core.enums import OrderStatus, Side
from mmoms.core.ids import StrategyId, Symbol
from mmoms.core.intents import QuoteLevel
from mmoms.engine.config import OmsConfig
from mmoms.engine.diff import Tolerance
from mmoms.engine.risk import RiskConfig, SymbolLimits
from mmoms.sim.config_model import MarketParams, SimConfig, default_symbols
from mmoms.sim.faults import FaultInjector
from tests.venues.simfaults import SimAdmin, Venue
from tests.waiting import until

BTC = Symbol("BTCUSDC")
S = StrategyId("chaos")
TICK = D("0.1")
QTY = D("0.003")
WAIT_S = 10.0

pytestmark = pytest.mark.asyncio


def still_market(seed: int) -> SimConfig:
    """The default symbols, BTCUSDC with a market that moves only when the test moves it."""
    still = MarketParams(level_qty="0.040", volatility_ticks=0.0, trade_probability=0.0)
    symbols = tuple(replace(s, market=still) if s.symbol == BTC else s for s in default_symbols())
    return SimConfig(symbols=symbols, seed=seed)


def oms_config() -> OmsConfig:
    limits = SymbolLimits(
        max_order_qty=D("0.05"),
        max_order_notional=D(10_000),
        max_open_orders=40,
        max_position=D("0.2"),
        price_band_pct=D(2),
    )
    return demo_oms_config(
        (BTC,),
        risk=RiskConfig(limits={BTC: limits}, max_orders_per_second=200),
        tolerance={BTC: Tolerance()},  # exact: every move is an action
        reconcile_interval_s=3600.0,  # reconciliations here come from gaps, on purpose
        retry_unknown_s=0.1,
    )


class Harness:
    def __init__(self, stack: EmbeddedStack) -> None:
        self.stack = stack
        self.oms = stack.oms
        self.admin = SimAdmin(stack.server)
        self.venue = Venue(stack.exchange, stack.api_key)
        self.changed = asyncio.Event()
        stack.oms.add_batch_listener(self.changed.set)

    async def until(self, cond: Callable[[], bool], why: Callable[[], object] = str) -> None:
        """Re-check ``cond`` after every engine batch; fail with ``why()`` after WAIT_S."""
        await until(self.changed, cond, timeout_s=WAIT_S, why=why)

    def mid(self) -> D:
        bid, ask = self.venue.book_ticker(BTC)
        return (bid + ask) / 2

    async def quote(self, levels: list[QuoteLevel], reference: D) -> None:
        """Set the quotes and wait until the book shows them with nothing in flight."""
        self.oms.set_reference_price(BTC, reference)
        self.oms.set_quotes(S, BTC, levels)
        want = {(lv.side, lv.price) for lv in levels}
        await self.until(
            lambda: self.settled() and self.quoted() == want,
            lambda: (sorted(self.quoted()), sorted(want), self.book_statuses()),
        )

    def quoted(self) -> set[tuple[Side, D | None]]:
        return {(o.side, o.price) for o in self.oms.book.open_orders(BTC)}

    def settled(self) -> bool:
        return not any(o.status.is_in_flight for o in self.oms.book.orders(BTC))

    def book_statuses(self) -> dict[str, tuple[str, D]]:
        return {
            o.client_order_id: (o.status.value, o.filled_qty) for o in self.oms.book.orders(BTC)
        }

    def venue_statuses(self) -> dict[str, tuple[str, D]]:
        return {
            o["clientOrderId"]: (o["status"], D(o["executedQty"]))
            for o in self.venue.all_orders(BTC)
        }

    def differences(self) -> list[str]:
        """How the book differs from the venue: open sets, then each venue order's status and
        filled quantity; empty when they agree."""
        out = []
        venue_open = {o["clientOrderId"] for o in self.venue.open_orders(BTC)}
        book_open = {o.client_order_id for o in self.oms.book.open_orders(BTC)}
        if venue_open != book_open:
            out.append(f"open on venue only {venue_open - book_open}, here only "
                       f"{book_open - venue_open}")  # fmt: skip
        book = self.book_statuses()
        for cid, theirs in self.venue_statuses().items():
            ours = book.get(cid)
            if ours != theirs:
                out.append(f"{cid}: venue {theirs}, book {ours}")
        return out

    def sent_since(self, requests: int) -> bool:
        """The engine sent a request since it had sent ``requests``, and all have settled."""
        return self.oms.metrics.requests > requests and self.settled()

    def converged(self) -> bool:
        return self.settled() and not self.differences()

    async def reconcile_now(self) -> None:
        """Cut the user stream: the gap makes the OMS reconcile; wait until it has."""
        before = self.oms.metrics.reconciliations
        gaps = self.oms.metrics.stream_gaps
        assert await self.admin.disconnect("user") == 1
        await self.until(
            lambda: (
                self.oms.metrics.stream_gaps > gaps and self.oms.metrics.reconciliations > before
            ),
            lambda: self.oms.metrics,
        )


def ladder(mid: D, levels: int = 2, away: int = 1) -> list[QuoteLevel]:
    """``levels`` quotes a side, the first ``away`` ticks from ``mid``."""
    out = []
    for i in range(levels):
        gap = (away + i) * TICK
        # Not post-only: a quote placed before the market re-centres on a new mid takes
        # liquidity instead of bouncing with -5022.
        for side, price, tag in ((Side.BUY, mid - gap, "b"), (Side.SELL, mid + gap, "a")):
            out.append(QuoteLevel(side=side, price=price, quantity=QTY, tag=f"{tag}{i}",
                                  post_only=False))  # fmt: skip
    return out


def far(mid: D) -> list[QuoteLevel]:
    """Quotes 1 % away: they rest, nothing fills them."""
    return ladder(mid, away=int(mid / 100 / TICK))


@pytest_asyncio.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    stack = await start_embedded(
        journal_path=tmp_path / "journal.sqlite",
        sim_config=still_market(7),
        oms_config=oms_config(),
        faults=FaultInjector(seed=3),
    )
    harness = Harness(stack)
    await harness.until(lambda: stack.oms.metrics.reconciliations >= 1)
    try:
        yield harness
    finally:
        await harness.admin.remove()
        await stack.close()


# -- 1. dropped, duplicated and reordered user-data events -----------------------------------------

ROUNDS = 11  # the last round buys: the fills it loses are all of our asks
SWEEP = "0.30"  # an aggressive trade this size reaches our levels wherever the ladder is


async def quote_through_chaos(h: Harness, drop: list[str] | None = None) -> None:
    """Quote around a moving mid for ROUNDS rounds while the market trades through the quotes
    and the simulator drops (events of the ``drop`` types, default all), duplicates and
    reorders user-data events; in one round every ORDER_TRADE_UPDATE is dropped, so fills are
    lost on the stream for sure: the last, so the reconciliation has stale orders to find.
    Then stop the faults and reconcile."""
    walk = random.Random(42)
    mid = h.mid()
    last_round = 0  # fault log position when the last round began
    await h.admin.add(
        {"kind": "user_event", "action": "drop", "probability": 0.2}
        | ({} if drop is None else {"event_types": drop}),
        {"kind": "user_event", "action": "duplicate", "probability": 0.25},
        {"kind": "user_event", "action": "reorder", "probability": 0.25, "hold_ms": 50},
    )
    for n in range(ROUNDS):
        mid += walk.choice((-3, -2, -1, 0, 1, 2, 3)) * TICK
        await h.admin.set_mid(BTC, mid)
        await h.quote(ladder(mid), mid)
        if n == ROUNDS - 1:  # alone: the first rule that fires decides an event's fate
            last_round = await h.admin.last_seq()
            await h.admin.remove()
            await h.admin.add(
                {"kind": "user_event", "action": "drop", "event_types": ["ORDER_TRADE_UPDATE"]}
            )
        await h.admin.trade(BTC, "SELL" if n % 2 else "BUY", SWEEP)
    await h.admin.remove()
    chaos = {e["kind"] for e in await h.admin.log() if e["seq"] <= last_round}
    for kind in ("user_event_drop", "user_event_duplicate", "user_event_reorder"):
        require(kind in chaos, f"no {kind} while quoting")
    require(bool(await h.admin.log(last_round, "user_event_drop")), "the last round lost nothing")
    require(len(h.venue.trades(BTC)) >= ROUNDS, "the market did not fill our quotes")

    # The quotes stay where they are: the asks whose fills were lost in the last round look
    # live here until the reconciliation finds them missing from the venue's open orders.
    await h.reconcile_now()
    want = {(lv.side, lv.price) for lv in ladder(mid)}
    await h.until(lambda: h.converged() and h.quoted() == want, h.differences)


def require(condition: bool, what: str) -> None:
    """A precondition of the scenario (a failed one is not the failure a test expects)."""
    if not condition:
        pytest.fail(f"scenario precondition: {what}")


def lost_fills(h: Harness) -> list[dict[str, Any]]:
    """Our trades on the venue that the book never counted."""
    # (trade id, side): a self-trade (our bid meets our ask) is one id with two fills of ours.
    counted = {(f.trade_id, o.side.value) for o in h.oms.book.orders(BTC) for f in o.fills}
    return [t for t in h.venue.trades(BTC) if (t["id"], t["side"]) not in counted]


async def test_book_converges_to_the_venue_despite_lost_and_repeated_events(h: Harness) -> None:
    await quote_through_chaos(h)

    assert h.differences() == []
    assert len(h.oms.book.open_orders(BTC)) == 4
    assert h.oms.metrics.reconciliations >= 2
    assert h.oms.metrics.reconciliation_differences > 0  # the reconciliation had work to do
    # Every fill in the book is a venue trade, counted once (duplicates did not double it) ...
    trades = {(t["id"], t["side"]): t for t in h.venue.trades(BTC)}
    fills = [(o, f) for o in h.oms.book.orders(BTC) for f in o.fills]
    assert len({(f.trade_id, o.side) for o, f in fills}) == len(fills)
    assert h.oms.book.anomaly_count == 0  # nor was a repeated trade seen as an overfill
    for order, fill in fills:
        trade = trades[(fill.trade_id, order.side.value)]
        assert (trade["orderId"], D(trade["qty"])) == (order.venue_order_id, fill.qty)
    # ... so our position is the venue's less exactly the fills the stream lost.
    lost = sum(D(t["qty"]) * (1 if t["side"] == "BUY" else -1) for t in lost_fills(h))
    assert h.oms.position(BTC) == h.venue.position(BTC) - lost


async def test_position_converges_despite_lost_fills(h: Harness) -> None:
    """Fills lost on the stream come back through the reconciliation's userTrades backfill."""
    # Random drops spare ORDER_TRADE_UPDATE here, so lost buys and sells cannot cancel out:
    # the fills lost are those of the last round, which drops them all.
    await quote_through_chaos(h, drop=["ACCOUNT_UPDATE", "TRADE_LITE"])

    # The reconciliation saw orders filled beyond the fills we hold and fetched the trades.
    await h.until(
        lambda: h.oms.position(BTC) == h.venue.position(BTC),
        lambda: f"position {h.oms.position(BTC)} here, {h.venue.position(BTC)} on the venue",
    )
    assert lost_fills(h) == []
    assert h.oms.metrics.fills_backfilled > 0  # they came back through the trade list


async def test_amending_an_order_whose_fill_was_lost_finds_it_filled(h: Harness) -> None:
    # One ask; the market lifts it while its ORDER_TRADE_UPDATE is lost; the quote then
    # moves, so the OMS amends an order the venue no longer has open (-2013).
    mid = h.mid()
    await h.quote(asks(mid), mid)
    [lose] = await h.admin.add(
        {"kind": "user_event", "action": "drop", "event_types": ["ORDER_TRADE_UPDATE"]}
    )
    await h.admin.trade(BTC, "BUY", "0.12")
    await h.admin.remove(lose)
    [stale] = h.oms.book.open_orders(BTC)
    require(h.venue.orders_with_id(BTC, stale.client_order_id)[0]["status"] == "FILLED", "fill")

    mid += 2 * TICK
    await h.admin.set_mid(BTC, mid)
    await h.quote(asks(mid), mid)

    found = h.oms.book.get(BTC, stale.client_order_id)
    assert found is not None
    assert found.status is OrderStatus.FILLED
    assert h.differences() == []
    assert h.oms.metrics.actions.get("amend", 0) <= 2, h.oms.metrics.actions  # not a loop


def asks(mid: D) -> list[QuoteLevel]:
    return [lv for lv in ladder(mid, levels=1) if lv.side is Side.SELL]


# -- 2. unknown outcome on placement ---------------------------------------------------------------


@pytest.mark.parametrize("placed", [True, False], ids=["placed", "not-placed"])
async def test_unknown_outcome_on_placement_leaves_one_order_or_none(
    h: Harness, placed: bool
) -> None:
    mid = h.mid()
    h.oms.set_reference_price(BTC, mid)
    await h.admin.add(
        {"kind": "http_error", "match": "POST /fapi/v1/order", "variant": "unknown", "count": 1,
         "placed_probability": 1.0 if placed else 0.0},
        # The stream's NEW is lost as well: only resolving by query can tell.
        {"kind": "user_event", "action": "drop", "event_types": ["ORDER_TRADE_UPDATE"],
         "count": 1},
    )  # fmt: skip

    cid = h.oms.place(S, BTC, Side.BUY, QTY, mid - 50 * TICK)

    await h.until(lambda: h.oms.metrics.unknown_outcomes == 1, lambda: h.oms.metrics)
    await h.until(h.settled, h.book_statuses)
    [fault] = await h.admin.log(kind="http_error")
    assert fault["executed"] is placed
    order = h.oms.book.get(BTC, cid)
    assert order is not None
    on_venue = h.venue.orders_with_id(BTC, cid)
    if placed:
        [theirs] = on_venue
        assert order.status is OrderStatus.NEW
        assert order.venue_order_id == theirs["orderId"]
    else:
        assert on_venue == []
        assert order.status is OrderStatus.REJECTED
    assert len(h.venue.all_orders(BTC)) == (1 if placed else 0)  # nothing re-sent
    assert h.differences() == []


async def test_unknown_outcome_of_a_quote_batch_is_resolved_order_by_order(h: Harness) -> None:
    mid = h.mid()
    await h.admin.add(
        {"kind": "http_error", "match": "POST /fapi/v1/batchOrders", "variant": "unknown_nocode",
         "count": 1, "placed_probability": 1.0},
        {"kind": "user_event", "action": "drop", "event_types": ["ORDER_TRADE_UPDATE"],
         "count": 4},
    )  # fmt: skip

    await h.quote(far(mid), mid)

    assert h.oms.metrics.unknown_outcomes == 4
    assert [f["executed"] for f in await h.admin.log(kind="http_error")] == [True]
    assert len(await h.admin.log(kind="user_event_drop")) == 4
    assert len(h.venue.all_orders(BTC)) == 4  # the four quotes, once each
    assert h.differences() == []


# -- 3. user-stream disconnect while quoting -------------------------------------------------------


async def test_stream_gap_while_quoting_reconciles_and_quoting_continues(h: Harness) -> None:
    mid = h.mid()
    await h.quote(ladder(mid), mid)
    # Events lost while the stream is down: the market fills a quote just as we cut it.
    [cut] = await h.admin.add({"kind": "ws_disconnect", "target": "user", "count": 1})
    metrics = h.oms.metrics
    gaps, recs, diffs = (
        metrics.stream_gaps,
        metrics.reconciliations,
        metrics.reconciliation_differences,
    )
    await h.admin.trade(BTC, "BUY", "0.12")
    await h.admin.remove(cut)
    assert len(await h.admin.log(kind="ws_disconnect")) == 1

    await h.until(
        lambda: h.oms.metrics.stream_gaps == gaps + 1 and h.oms.metrics.reconciliations > recs,
        lambda: h.oms.metrics,
    )
    await h.until(h.converged, h.differences)
    # The fills the stream never delivered reached the book through the reconciliation.
    assert any(s == "FILLED" for s, _ in h.venue_statuses().values())
    assert metrics.reconciliation_differences > diffs

    # Quoting goes on: new levels are placed, and the new stream's events arrive.
    mid += 5 * TICK
    await h.admin.set_mid(BTC, mid)
    await h.quote(ladder(mid), mid)
    await h.until(h.converged, h.differences)
    assert h.stack.gateway.userstream is not None
    assert h.stack.gateway.userstream.epoch == 2
    fills_before = sum(len(o.fills) for o in h.oms.book.orders(BTC))
    await h.admin.trade(BTC, "SELL", "0.12")
    # Fills reach the book only through the stream: events flow again.
    await h.until(lambda: sum(len(o.fills) for o in h.oms.book.orders(BTC)) > fills_before)


# -- 4. clock skew and 429 bursts while quoting ----------------------------------------------------


async def test_clock_skew_and_429_bursts_leave_no_order_untracked(h: Harness) -> None:
    walk = random.Random(7)
    mid = h.mid()
    await h.quote(ladder(mid), mid)
    await h.admin.add(
        {"kind": "clock_skew", "skew_ms": -2500},  # our timestamps 2.5 s ahead: -1021
        {"kind": "rate_limit", "match": "* /fapi/v1/order|* /fapi/v1/batchOrders", "count": 2,
         "retry_after_s": 1},
    )  # fmt: skip
    for n in range(6):
        mid += walk.choice((-3, -2, 2, 3)) * TICK
        await h.admin.set_mid(BTC, mid)
        h.oms.set_reference_price(BTC, mid)
        h.oms.set_quotes(S, BTC, ladder(mid))
        await h.until(partial(h.sent_since, h.oms.metrics.requests), h.book_statuses)
        await h.admin.trade(BTC, "SELL" if n % 2 else "BUY", "0.12")
    await h.admin.remove()

    # Once the cool-downs are over the OMS has its quotes back, and the book is the venue's.
    await h.until(
        lambda: h.settled() and h.quoted() == {(lv.side, lv.price) for lv in ladder(mid)},
        lambda: (h.quoted(), h.oms.metrics.risk_rejections, h.oms.metrics.api_errors),
    )
    await h.until(h.converged, h.differences)
    # A refused request is re-decided after the cool-down, not in a loop of new orders that
    # are refused at once (nothing is sent while cooling down).
    errors = h.oms.metrics.api_errors
    assert errors.get("LOCAL", 0) <= 16, errors
    assert len(await h.admin.log(kind="rate_limit")) == 2  # both 429s reached the OMS
    assert errors.get("-1003", 0) >= 2, errors  # (counted per action of the refused request)
    assert h.stack.gateway.timesync.offset_ms < -2000  # re-synced after -1021
