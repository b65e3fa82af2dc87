"""Enter passively, every entry protected by a bracket; widen after each fill.

Run it::

    mmoms run --config examples/sim.toml \\
        --strategy examples/strategies/widen_and_protect.py:WidenAndProtect

What it shows:
* contingent groups: each entry is a ``bracket`` — a LIMIT entry below the touch; the moment it
  fills (even partly) the engine sends a reduce-only take-profit (LIMIT) and a stop-loss
  (STOP_MARKET, held by the venue, triggered by the mark price), one cancelling the other;
  the strategy never places an exit itself and is never unprotected by its own slowness;
* ``on_group``: a bracket that completed or was canceled frees the strategy for the next one;
* ``on_fill``: each entry fill widens the next entry's distance from the touch (adverse
  selection: a fill says the market may be moving through us), and a timer decays it back;
* rounding with ``self.instrument(symbol).round_price``: group prices go out as given, so they
  are snapped to the tick grid here, away from the touch.

One bracket at a time: two brackets on opposite sides would net against each other in one-way
mode and their reduce-only exits could be refused.
"""

from __future__ import annotations

from decimal import Decimal

import mmoms

BPS = Decimal("0.0001")
TICK_S = 0.5  # how often the strategy looks again: decay, re-entry, chase


class WidenAndProtect(mmoms.Strategy):
    symbols = ("BTCUSDT",)

    def __init__(
        self,
        *,
        quantity: Decimal = Decimal("0.002"),
        spread_bps: Decimal = Decimal(0),  # the first entry joins the best bid
        widen_bps: Decimal = Decimal("0.5"),  # each entry fill moves the next one this far back
        max_extra_bps: Decimal = Decimal(5),
        decay_s: float = 10.0,  # ... and the widening fades over this long
        take_profit_bps: Decimal = Decimal(2),
        stop_bps: Decimal = Decimal(4),
        chase_bps: Decimal = Decimal(2),  # re-enter when the bid ran this far above the entry
    ) -> None:
        self.quantity = quantity
        self.spread_bps = spread_bps
        self.widen_bps = widen_bps
        self.max_extra_bps = max_extra_bps
        self.decay_per_tick = widen_bps * Decimal(str(TICK_S / decay_s))
        self.take_profit_bps = take_profit_bps
        self.stop_bps = stop_bps
        self.chase_bps = chase_bps
        self.extra_bps = Decimal(0)  # added by fills, decays over time
        self.group_id: str | None = None  # the working bracket
        self.entry_price: Decimal | None = None
        self.entries_filled = 0
        self.brackets = 0

    def on_start(self) -> None:
        self.set_timer("tick", TICK_S)

    def on_timer(self, name: str) -> None:
        self.extra_bps = max(self.extra_bps - self.decay_per_tick, Decimal(0))
        symbol = self.trading_symbols()[0]
        top = self.book(symbol)
        if top is None:
            return
        if self.group_id is None:
            self.enter(symbol, top.bid)
            return
        group = self.group(self.group_id)
        entry_waiting = group is not None and not any(
            leg.name != "entry" and leg.slots for leg in group.legs
        )
        ran_away = (
            self.entry_price is not None
            and top.bid - self.entry_price > self.entry_price * self.chase_bps * BPS
        )
        if entry_waiting and ran_away:  # an unfilled entry left behind: cancel, re-enter
            self.cancel_group(self.group_id)

    def enter(self, symbol: str, bid: Decimal) -> None:
        inst = self.instrument(symbol)
        down, up = mmoms.PriceRounding.DOWN, mmoms.PriceRounding.UP
        entry = inst.round_price(bid * (1 - (self.spread_bps + self.extra_bps) * BPS), down)
        take_profit = inst.round_price(entry * (1 + self.take_profit_bps * BPS), up)
        stop = inst.round_price(entry * (1 - self.stop_bps * BPS), down)
        group = mmoms.bracket(
            self.new_group_id(), mmoms.Symbol(symbol), mmoms.Side.BUY, self.quantity,
            entry_price=entry, take_profit_price=take_profit, stop_price=stop,
        )  # fmt: skip
        self.group_id = self.place_group(group)
        self.entry_price = entry
        self.brackets += 1

    def on_fill(self, fill: mmoms.Fill) -> None:
        if fill.client_order_id.endswith("-entry"):
            self.entries_filled += 1
            self.extra_bps = min(self.extra_bps + self.widen_bps, self.max_extra_bps)

    def on_group(self, event: mmoms.GroupEvent) -> None:
        done = isinstance(event, (mmoms.GroupCompleted, mmoms.GroupCanceled))
        if done and event.group_id == self.group_id:
            self.group_id = None  # the next tick places a new bracket
            self.entry_price = None

    def on_risk_rejected(self, rejection: mmoms.RiskRejection) -> None:
        self.log.warning("refused: %s (%s)", rejection.check, rejection.reason)
        if self.group_id is not None and self.group(self.group_id) is None:
            self.group_id = None  # the whole group was refused: try again next tick
