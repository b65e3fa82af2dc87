"""Quotes within the order-rate budget: what a window wants, who goes first, what waits.

:class:`OrderRate` is our own budget of new orders and amends per second
(``RiskConfig.max_orders_per_second``), a sliding one-second window; the risk engine charges it
last, after every other check passed (see :mod:`mmoms.engine.risk`). :class:`QuoteWindow` is
the quote planner's half: it diffs a (strategy, symbol)'s quotes into cancels and wanted
:class:`QuoteAction` s, ranked best level first, and spends the budget on them fairly
(:class:`RoundRobin`), deferring what it cannot pay for and telling a repeated refusal once
(:class:`RepeatFilter`). The rules are stated in :mod:`mmoms.engine.quote_planner`'s docstring.

Pure: no clock (times are passed in), no I/O.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from operator import attrgetter
from typing import TYPE_CHECKING, NamedTuple

from mmoms.core.clock import NANOS_PER_SECOND
from mmoms.core.enums import OrderType, Side
from mmoms.core.ids import ClientOrderId, StrategyId, Symbol
from mmoms.core.instrument import Instrument, PriceRounding
from mmoms.core.intents import QuoteLevel
from mmoms.core.order import Order
from mmoms.engine.diff import Tolerance, diff_side
from mmoms.engine.metrics import OmsMetrics

if TYPE_CHECKING:  # risk charges the budget defined here: no import back at run time
    from mmoms.engine.risk import RiskRejection

ORDER_RATE = "order_rate"  # the risk check that charges the budget
EMPTY = -1  # the rank of the best new quote on a side that has no quote left

SIDES = tuple(Side)  # iterating the enum itself is slow, and this is per window

Key = tuple[StrategyId, Symbol]  # one strategy's quotes on one symbol
Who = tuple[StrategyId, Symbol, Side]  # one side of them


@dataclass(slots=True)
class OrderRate:
    """New orders and amends sent in the last second (the limit is passed in: the config's)."""

    _sends: deque[int] = field(default_factory=deque)  # monotonic ns of each send, oldest first

    @property
    def used(self) -> int:
        return len(self._sends)

    def room(self, now: int, per_second: int) -> int:
        """How many more sends a budget of ``per_second`` allows at ``now``."""
        sends = self._sends
        while sends and sends[0] <= now - NANOS_PER_SECOND:
            sends.popleft()
        return max(per_second - len(sends), 0)

    def take(self, now: int, per_second: int, orders: int = 1) -> bool:
        """Charge ``orders`` sends at ``now`` if they fit; False (nothing charged) if not."""
        sends = self._sends  # room() inlined: this runs for every order and amend
        while sends and sends[0] <= now - NANOS_PER_SECOND:
            sends.popleft()
        if len(sends) + orders > per_second:
            return False
        sends.extend([now] * orders)
        return True

    def free_at(self) -> int | None:
        """When the oldest send leaves the window and the budget grows (monotonic ns)."""
        return self._sends[0] + NANOS_PER_SECOND if self._sends else None


class QuoteAction(NamedTuple):  # a tuple: dozens are made per window, and it is read-only
    """A new quote (``order`` None) or an amend of ``order`` to ``level`` the diff wants."""

    who: Who  # (strategy, symbol, the level's side)
    level: QuoteLevel
    rank: int  # 0 = the best level on its side; EMPTY: the best, on a side with none live
    order: Order | None = None
    new_quantity: Decimal = Decimal(0)  # amends: the total quantity to send

    @property
    def strategy_id(self) -> StrategyId:
        return self.who[0]

    @property
    def symbol(self) -> Symbol:
        return self.who[1]


def snap_levels(inst: Instrument, levels: Iterable[QuoteLevel]) -> tuple[QuoteLevel, ...]:
    """Quotes snapped passively to the tick grid (a bid down, an ask up), quantities down.

    Raises:
        UnrepresentableValueError: a level cannot be represented.
    """
    return tuple(
        QuoteLevel(
            side=lv.side,
            price=inst.round_price(lv.price, PriceRounding.PASSIVE, lv.side),
            quantity=inst.round_qty(lv.quantity),
            tag=lv.tag,
            post_only=lv.post_only,
        )
        for lv in levels
    )


def ranks(levels: Iterable[QuoteLevel]) -> dict[int, int]:
    """id(level) → its rank on its side: 0 for the best price (highest bid, lowest ask)."""
    out: dict[int, int] = {}
    for side in SIDES:
        mine = [lv for lv in levels if lv.side is side]
        mine.sort(key=_price, reverse=side is Side.BUY)  # no Decimal arithmetic: it is hot
        out.update((id(lv), i) for i, lv in enumerate(mine))
    return out


_price = attrgetter("price")


@dataclass(slots=True)
class RoundRobin:
    """The order in which a window spends the budget: best rank first; within a rank, the side
    whose level of that rank was last sent longest ago (never sent: first); ties go to the side
    seen first."""

    _window: int = 0
    _served: dict[tuple[Who, int], int] = field(default_factory=dict)  # (side, rank) → window
    _seen: dict[Who, int] = field(default_factory=dict)

    def order(self, actions: list[QuoteAction], room: int) -> list[QuoteAction]:
        """This window's actions in spending order (call once per window); ``room``: how many
        the budget pays for. If it pays for all, only the ranks matter (risk's other checks
        still see the best levels first): turns are looked at, and taken, only in windows the
        budget cannot cover."""
        self._window += 1
        if room >= len(actions):
            return sorted(actions, key=_rank)
        seen, served = self._seen, self._served
        for action in actions:
            seen.setdefault(action.who, len(seen))
        return sorted(actions, key=lambda a: (a.rank, served.get((a.who, a.rank), 0), seen[a.who]))

    def served(self, action: QuoteAction) -> None:
        # Per rank: a side always served at rank 0 must not win every tie at rank 2 for it.
        self._served[(action.who, action.rank)] = self._window


_rank = attrgetter("rank")

_NUMBER = re.compile(r"\d+(?:\.\d+)?(?:E[+-]?\d+)?")


def reason_shape(reason: str) -> str:
    """The reason without its numbers: 'worst case 20.5 beyond ±20' and 'worst case 21 beyond
    ±20' say the same thing; 'no reference price yet' and '... is more than 5% from ...' don't."""
    return _NUMBER.sub("#", reason)


@dataclass(slots=True)
class RepeatFilter:
    """Which quote refusals (other than the budget) are journaled and told.

    A refusal is tracked per (strategy, symbol, side, check) and told when it *starts*: the
    first time, or when the shape of its reason (:func:`reason_shape`) differs from the one last
    told. It goes on while every window that tries quotes on that side is refused by that check
    again; the repeats are only counted (``OmsMetrics.rejections_repeated``). It ends — and the
    next refusal is told again — after a window that tried that side (a quote risk-checked, or
    none wanted: every level kept) without a refusal by that check. A window whose quotes on
    that side were all deferred for budget tried nothing there: it neither ends nor extends it.
    """

    _told: dict[Who, dict[str, str]] = field(default_factory=dict)  # check → reason shape
    _window: dict[Who, dict[str, str]] = field(default_factory=dict)
    _tried: set[Who] = field(default_factory=set)

    def tried(self, *who: Who) -> None:
        """This window tried a quote on each ``who`` (or wanted none there)."""
        self._tried.update(who)

    def refused(self, who: Who, check: str, reason: str) -> bool:
        """A quote on ``who`` was refused: True if it is to be told, False for a repeat."""
        self._tried.add(who)
        shape = reason_shape(reason)
        now = self._window.setdefault(who, {})
        if now.get(check) == shape:
            return False  # another level of the same side, same window, same reason
        now[check] = shape
        return self._told.get(who, {}).get(check) != shape

    def end_window(self) -> None:
        for who in self._tried:
            refused = self._window.get(who)
            if refused:
                self._told[who] = refused
            else:
                self._told.pop(who, None)
        self._tried.clear()
        self._window.clear()


Quote = Callable[[QuoteAction], "RiskRejection | None"]
"""Risk-check one wanted quote and add it to the window if it passes; else the refusal."""


@dataclass(slots=True)
class QuoteWindow:
    """The quoting half of each planner window (its rules: :mod:`mmoms.engine.quote_planner`)."""

    metrics: OmsMetrics
    waiting: set[Key] = field(default_factory=set)  # keys with quotes deferred for budget
    _turns: RoundRobin = field(default_factory=RoundRobin)
    _repeats: RepeatFilter = field(default_factory=RepeatFilter)
    # key → (its levels, their ranks): a key is re-diffed more often than its quotes change
    _ranks: dict[Key, tuple[tuple[QuoteLevel, ...], dict[int, int]]] = field(default_factory=dict)

    def diff(
        self,
        key: Key,
        levels: tuple[QuoteLevel, ...],
        book_orders: Iterable[Order],
        leaving: set[tuple[Symbol, ClientOrderId]],
        tick_size: Decimal,
        tolerance: Tolerance,
        allow_amend: bool,
    ) -> tuple[list[Order], list[QuoteAction]]:
        """The key's quotes against its open plain limit orders (those not ``leaving``: a
        cancel is wanted for them): what to cancel, and what it wants sent."""
        strategy_id, symbol = key
        orders = [
            o
            for o in book_orders
            if o.strategy_id == strategy_id
            and o.group_id is None
            and o.status.is_open
            and o.order_type is OrderType.LIMIT
            and (symbol, o.client_order_id) not in leaving
        ]
        cancels: list[Order] = []
        wanted: list[QuoteAction] = []
        for side in SIDES:
            result = diff_side(
                side,
                list(levels),
                [o for o in orders if o.side is side],
                tick_size,
                tolerance,
                allow_amend=allow_amend,
            )
            self.metrics.actions_saved += result.saved
            cancels += (c.order for c in result.cancels)
            who = (strategy_id, symbol, side)
            if not (result.amends or result.places):
                self._repeats.tried(who)  # nothing there to refuse
                continue
            cached = self._ranks.get(key)
            if cached is None or cached[0] is not levels:  # the tuple keeps the ids valid
                cached = self._ranks[key] = (levels, ranks(levels))
            rank = cached[1]
            wanted += (
                QuoteAction(who, a.level, rank[id(a.level)], a.order, a.new_quantity)
                for a in result.amends
            )
            places = sorted((rank[id(p.level)], i) for i, p in enumerate(result.places))
            live = sum(1 for o in orders if o.side is side) - len(result.cancels)
            for n, (r, i) in enumerate(places):
                # A side left with no quote at all is served before anything else: its best
                # level outranks every other side's best (an amend keeps a quote standing).
                wanted.append(
                    QuoteAction(who, result.places[i].level, EMPTY if n == 0 and live <= 0 else r)
                )
        return cancels, wanted

    def spend(
        self, wanted: list[QuoteAction], room: int, quote: Quote
    ) -> list[tuple[QuoteAction, RiskRejection]]:
        """Try ``wanted`` fairly while ``room`` (the budget left) lasts, defer the rest; return
        the refusals to tell."""
        told: list[tuple[QuoteAction, RiskRejection]] = []
        short = room < len(wanted)  # turns matter (and are kept) only when not all can go
        passed: set[Who] = set()
        for action in self._turns.order(wanted, room):
            if room > 0:
                refusal = quote(action)
                if refusal is None:
                    room -= 1
                    passed.add(action.who)
                    if short:
                        self._turns.served(action)
                    continue
                if refusal.check != ORDER_RATE:
                    if self._repeats.refused(action.who, refusal.check, refusal.reason):
                        told.append((action, refusal))
                    else:
                        self.metrics.count(self.metrics.rejections_repeated, refusal.check)
                    continue
                room = 0  # spent meanwhile (no room was left after all): defer like the rest
            self.metrics.quotes_deferred += 1
            self.waiting.add(action.who[:2])
        self._repeats.tried(*passed)
        self._repeats.end_window()
        return told
