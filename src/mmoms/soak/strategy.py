"""The soak's trading load: a quoter on one symbol and a stream of contingent groups on others.

* The quoter is the demo's (``ladder`` of ``examples/strategies/skewed_quoter.py``), re-quoted
  on every top-of-book change at most every ``refresh_s``, quotes at the touch with a tight
  tolerance, so the OMS amends, cancels and replaces tens of times a second.
* A *lane* per group symbol runs one group at a time: brackets (MARKET or LIMIT entry), OTOs and
  OCOs, chosen by the worker's seeded RNG. One group per symbol keeps a group's exposure equal to
  the symbol's position (in one-way mode, two groups on one symbol would trade each other's
  reduce-only exits), which is what lets the invariants judge a group from the venue alone.
  A group that never starts (nothing filled after ``stale_s``), or runs longer than
  ``max_age_s`` (an exit the market wandered away from), is canceled: the stream must keep
  flowing. Whatever position a finished group leaves (an OCO's filled leg, a canceled group's
  entry) is the strategy's, flattened by a reduce-only MARKET order before the next group.
* :meth:`SoakStrategy.pause` stops every new intent (checkpoints need a quiet OMS); the lanes and
  the quoter pick up where they were on :meth:`SoakStrategy.resume`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import random
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from mmoms.contingent import Group, GroupSpecError, bracket, limit, oco, oto
from mmoms.core.enums import OrderType, Side
from mmoms.core.errors import MmomsError
from mmoms.core.ids import GroupId, StrategyId, Symbol
from mmoms.core.intents import QuoteLevel
from mmoms.core.market import AnyMarketData, MarketUpdate
from mmoms.engine.oms import OmsNotRunningError, OmsOverloadedError, OrderManager
from mmoms.strategy.loader import default_strategy_entry, load_strategy_class

__all__ = ["GROUP_KINDS", "LaneConfig", "SoakStrategy", "StrategyConfig"]

log = logging.getLogger("mmoms.soak.strategy")

QUOTER = StrategyId("mm")
GROUPS = StrategyId("grp")
GROUP_KINDS = ("bracket_market", "bracket_limit", "oto", "oco")
BTCUSDC, ETHUSDC, BTCUSDT = Symbol("BTCUSDC"), Symbol("ETHUSDC"), Symbol("BTCUSDT")


@dataclass(frozen=True, slots=True)
class LaneConfig:
    symbol: Symbol
    quantity: Decimal
    kinds: tuple[str, ...]
    profit_ticks: tuple[int, int] = (8, 20)  # take-profit distance, drawn in this range
    # A stop triggers on the mark price, which lags the touch: closer than this and Binance
    # refuses it (-2021, would trigger at once) more often than the soak wants to see.
    stop_ticks: tuple[int, int] = (15, 35)
    stale_s: float = 15.0  # cancel a group that filled nothing in this long
    max_age_s: float = 30.0  # cancel any group still working after this long


@dataclass(frozen=True, slots=True)
class LadderParams:
    """The demo quoter's parameters (see ``ladder`` in the example file)."""

    levels: int = 3
    half_spread_bps: Decimal = Decimal(2)
    level_step_bps: Decimal = Decimal(2)
    size: Decimal = Decimal("0.002")
    max_inventory: Decimal = Decimal("0.02")
    skew_bps: Decimal = Decimal(4)


class _Ladder:
    """The example quoter's pure ``ladder`` function, loaded from its file: the soak quotes
    exactly as the demo does, without a copy of it here."""

    def __init__(self, params: LadderParams) -> None:
        module = sys.modules[load_strategy_class(default_strategy_entry()).__module__]
        self._ladder: Callable[..., list[QuoteLevel]] = module.ladder
        self._params = dataclasses.asdict(params)

    def levels(self, bid: Decimal, ask: Decimal, position: Decimal) -> list[QuoteLevel]:
        return self._ladder(bid, ask, position, **self._params)


@dataclass(frozen=True, slots=True)
class StrategyConfig:
    quote_symbol: Symbol = BTCUSDC
    quoter: LadderParams = field(
        default_factory=lambda: LadderParams(
            levels=5,
            half_spread_bps=Decimal(0),
            level_step_bps=Decimal("0.2"),
            size=Decimal("0.002"),
            max_inventory=Decimal("0.02"),
            skew_bps=Decimal(4),
        )
    )
    refresh_s: float = 0.05
    lanes: tuple[LaneConfig, ...] = (
        LaneConfig(ETHUSDC, Decimal("0.030"), ("bracket_market", "bracket_limit", "oto")),
        LaneConfig(BTCUSDT, Decimal("0.002"), ("oco", "bracket_market", "oco", "oto")),
    )

    @property
    def symbols(self) -> tuple[Symbol, ...]:
        return (self.quote_symbol, *(lane.symbol for lane in self.lanes))


class SoakStrategy:
    """``top`` is the market-data feed's latest top of book per symbol; the feed calls
    :meth:`on_market` for every update (the quoter wakes on its symbol's, and reads ``top``)."""

    def __init__(
        self,
        oms: OrderManager,
        top: Mapping[Symbol, MarketUpdate],
        config: StrategyConfig,
        rng: random.Random,
        session: str,
        canceled: set[str] | None = None,
    ) -> None:
        self._oms, self._top, self._cfg = oms, top, config
        self._quote_changed = asyncio.Event()
        self._running = asyncio.Event()
        self._running.set()
        self._stopped = False
        # groups this strategy asked to cancel (earlier incarnations' too, when handed in)
        self.canceled: set[str] = set() if canceled is None else canceled
        self._lanes = [
            _Lane(oms, top, lane, rng, f"{i}{session}", self.canceled)
            for i, lane in enumerate(config.lanes)
        ]
        self.groups_placed = 0

    def on_market(self, update: AnyMarketData) -> None:
        """The feed's callback: wake the quoter when its top of book moved."""
        if isinstance(update, MarketUpdate) and update.symbol == self._cfg.quote_symbol:
            self._quote_changed.set()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def stop(self) -> None:
        self._stopped = True
        self._running.set()  # wake the loops so they see the stop

    async def run(self) -> None:
        tasks = [asyncio.create_task(self._quote(), name="quoter")]
        tasks += [
            asyncio.create_task(self._lane(lane), name=f"lane-{lane.cfg.symbol}")
            for lane in self._lanes
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _quote(self) -> None:
        quoter = _Ladder(self._cfg.quoter)
        symbol = self._cfg.quote_symbol
        while not self._stopped:
            await self._running.wait()
            self._quote_changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._quote_changed.wait(), 1.0)
            top = self._top.get(symbol)
            if self._stopped or top is None or not self._running.is_set():
                continue
            bid, ask = top.bid, top.ask
            if self._call(functools.partial(self._requote, quoter, symbol, bid, ask)) is None:
                return
            await asyncio.sleep(self._cfg.refresh_s)  # pacing: one refresh per interval at most

    def _requote(self, quoter: _Ladder, symbol: Symbol, bid: Decimal, ask: Decimal) -> None:
        oms = self._oms
        oms.set_reference_price(symbol, (bid + ask) / 2)
        if oms.risk.kill_reason is None:
            oms.set_quotes(QUOTER, symbol, quoter.levels(bid, ask, oms.position(symbol)))
        else:
            oms.set_quotes(QUOTER, symbol, [])

    async def _lane(self, lane: _Lane) -> None:
        while not self._stopped:
            await self._running.wait()
            if self._stopped:
                return
            if self._call(lane.step) is None:
                return
            self.groups_placed = sum(ln.placed for ln in self._lanes)
            await asyncio.sleep(0.2)  # pacing: a lane looks at its group five times a second

    def _call(self, action: Callable[[], None]) -> bool | None:
        """Run one strategy action; False when the OMS refused it for now, None when it is gone."""
        try:
            action()
        except OmsOverloadedError:
            return False
        except OmsNotRunningError:
            return None
        return True


class _Lane:
    """One group at a time on one symbol (see the module docstring)."""

    def __init__(
        self,
        oms: OrderManager,
        top: Mapping[Symbol, MarketUpdate],
        cfg: LaneConfig,
        rng: random.Random,
        session: str,
        canceled: set[str],
    ) -> None:
        self.oms, self.top, self.cfg, self.rng = oms, top, cfg, rng
        self.session = session
        self.canceled = canceled
        self.placed = 0
        self.current: GroupId | None = self._adopt()
        self.since = time.monotonic()
        self.cancel_sent = False
        self.flatten_sent_at = 0.0
        self.rest_until = 0.0  # a pause after a group that never got going

    def _adopt(self) -> GroupId | None:
        """After a restart the unfinished group of this symbol is still ours to follow."""
        for state in self.oms.groups():
            if state.spec.symbol == self.cfg.symbol and not state.status.is_terminal:
                return state.spec.group_id
        return None

    def step(self) -> None:
        top = self.top.get(self.cfg.symbol)
        if top is None:
            return
        bid, ask = top.bid, top.ask
        self.oms.set_reference_price(self.cfg.symbol, top.mid)
        if self.current is not None and self._busy():
            return
        if self._flatten():
            return
        if self.oms.risk.kill_reason is None:
            self._place(bid, ask)

    def _busy(self) -> bool:
        assert self.current is not None
        state = self.oms.group(self.current)
        age = time.monotonic() - self.since
        if state is None:  # not taken yet, or refused by risk (then it never will be)
            return age < 5.0
        if state.status.is_terminal:
            if not any(leg.filled for leg in state.legs) and self.rest_until == 0.0:
                # refused or canceled before anything filled (a throttled gateway refuses
                # entries at once): pause, or the lane would churn out groups back to back
                self.rest_until = time.monotonic() + self.rng.uniform(1.0, 3.0)
            return time.monotonic() < self.rest_until
        filled = any(leg.filled for leg in state.legs)
        too_old = age > self.cfg.max_age_s or (not filled and age > self.cfg.stale_s)
        if too_old and not self.cancel_sent:
            self.oms.cancel_group(GROUPS, self.current)
            self.canceled.add(self.current)
            self.cancel_sent = True
        return True

    def _flatten(self) -> bool:
        """A position left by the last group goes before the next one starts."""
        symbol = self.cfg.symbol
        position = self.oms.position(symbol)
        pending = any(o.status.is_open for o in self.oms.book.open_orders(symbol))
        if position == 0 and not pending:
            return False
        if pending or time.monotonic() - self.flatten_sent_at < 2.0:
            return True  # wait for what is still working, or for the flatten we sent
        side = Side.SELL if position > 0 else Side.BUY
        self.oms.place(
            GROUPS, symbol, side, abs(position), order_type=OrderType.MARKET, reduce_only=True,
            tag="flat",
        )  # fmt: skip
        self.flatten_sent_at = time.monotonic()
        return True

    def _place(self, bid: Decimal, ask: Decimal) -> None:
        kind = self.rng.choice(self.cfg.kinds)
        self.placed += 1
        group_id = f"g{self.session}-{self.placed}"
        try:
            group = self._build(kind, group_id, bid, ask)
        except (GroupSpecError, MmomsError) as exc:
            log.warning("group %s not built: %s", group_id, exc)
            return
        self.oms.place_group(GROUPS, group)
        self.current, self.since, self.cancel_sent = GroupId(group_id), time.monotonic(), False
        self.rest_until = 0.0

    def _build(self, kind: str, group_id: str, bid: Decimal, ask: Decimal) -> Group:
        cfg, rng = self.cfg, self.rng
        tick = self.oms.instrument(cfg.symbol).tick_size
        side = rng.choice((Side.BUY, Side.SELL))
        sign = side.sign
        away = Decimal(rng.randint(*cfg.profit_ticks)) * tick
        stop = Decimal(rng.randint(*cfg.stop_ticks)) * tick
        touch = bid if side is Side.BUY else ask  # a passive entry at the touch
        far = ask if side is Side.BUY else bid
        qty = cfg.quantity
        if kind == "bracket_market":
            return bracket(
                group_id, cfg.symbol, side, qty,
                take_profit_price=far + sign * away, stop_price=far - sign * stop,
            )  # fmt: skip
        if kind == "bracket_limit":
            return bracket(
                group_id, cfg.symbol, side, qty, entry_price=touch,
                take_profit_price=touch + sign * away, stop_price=touch - sign * stop,
            )  # fmt: skip
        if kind == "oto":
            exit_order = limit(side.opposite, qty, touch + sign * away, reduce_only=True)
            return oto(group_id, cfg.symbol, limit(side, qty, touch), [exit_order])
        gap = Decimal(rng.randint(0, 3)) * tick
        return oco(
            group_id, cfg.symbol,
            [limit(Side.BUY, qty, bid - gap), limit(Side.SELL, qty, ask + gap)],
        )  # fmt: skip
