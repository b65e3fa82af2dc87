"""The live view's tables: our open orders per symbol (age, distance from the touch), PnL per
strategy and symbol, and the tape of recent fills.

Each table is a function of what the caller reads from the engine at one moment; nothing here
changes state. Client order ids are never shortened: they are what ``mmoms replay --order``
takes, so a person can paste one from the screen.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from rich import box
from rich.table import Table
from rich.text import Text

from mmoms.core.enums import OrderType, Side
from mmoms.core.ids import StrategyId, Symbol
from mmoms.core.ledger import Fill, PnL
from mmoms.core.market import MarketUpdate
from mmoms.core.order import Order

__all__ = [
    "Distance",
    "PnLRow",
    "fmt_age",
    "orders_table",
    "pnl_table",
    "tape_table",
    "touch_distance",
]

_ZERO = Decimal(0)
_BPS = Decimal(10_000)
# Which way the mark must move for a conditional order to trigger (trailing stops: their
# trigger follows the price, so no fixed distance is shown).
_TRIGGERS_ON_RISE = {
    (OrderType.STOP, Side.BUY),
    (OrderType.STOP_MARKET, Side.BUY),
    (OrderType.TAKE_PROFIT, Side.SELL),
    (OrderType.TAKE_PROFIT_MARKET, Side.SELL),
}
_TRIGGERS_ON_FALL = {
    (OrderType.STOP, Side.SELL),
    (OrderType.STOP_MARKET, Side.SELL),
    (OrderType.TAKE_PROFIT, Side.BUY),
    (OrderType.TAKE_PROFIT_MARKET, Side.BUY),
}


@dataclass(frozen=True, slots=True)
class Distance:
    """How far an order is from trading (positive: behind the touch, or not triggered yet)."""

    ticks: Decimal
    bps: Decimal
    reference: str  # "touch" (best bid / ask) or "mark" (a trigger against the mark price)

    def __str__(self) -> str:
        whole = self.ticks == self.ticks.to_integral_value()
        ticks = f"{self.ticks:.0f}" if whole else f"{self.ticks:.1f}"
        where = "" if self.reference == "touch" else " (mark)"
        return f"{ticks} t  {self.bps:.2f} bps{where}"


def touch_distance(
    order: Order, top: MarketUpdate | None, mark: Decimal | None, tick: Decimal
) -> Distance | None:
    """A bid's distance below the best bid, an ask's above the best ask; a stop's or
    take-profit's trigger from the mark price (how far the mark must travel). None when
    there is nothing to measure from."""
    if order.order_type.is_conditional:
        trigger = order.trigger_price
        if trigger is None or not mark:
            return None
        key = (order.order_type, order.side)
        if key in _TRIGGERS_ON_RISE:
            gap = trigger - mark
        elif key in _TRIGGERS_ON_FALL:
            gap = mark - trigger
        else:
            return None
        return Distance(gap / tick, gap / mark * _BPS, "mark")
    if order.price is None or top is None:
        return None
    touch = top.bid if order.side is Side.BUY else top.ask
    if not touch:
        return None
    gap = touch - order.price if order.side is Side.BUY else order.price - touch
    return Distance(gap / tick, gap / touch * _BPS, "touch")


def fmt_age(ns: int) -> str:
    seconds = max(ns, 0) / 1e9
    if seconds < 1:
        return f"{max(ns, 0) // 1_000_000} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"
    return f"{int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}m"


def _ladder(orders: Iterable[Order]) -> list[Order]:
    """Asks high to low, then bids high to low (as a price ladder reads), then conditionals and
    market orders."""
    plain = [o for o in orders if not o.order_type.is_conditional and o.price is not None]
    asks = sorted((o for o in plain if o.side is Side.SELL), key=lambda o: -(o.price or _ZERO))
    bids = sorted((o for o in plain if o.side is Side.BUY), key=lambda o: -(o.price or _ZERO))
    rest = sorted(
        (o for o in orders if o not in plain),
        key=lambda o: (o.trigger_price or o.price or _ZERO, o.client_order_id),
    )
    return asks + bids + rest


def _table(title: str) -> Table:
    # Natural width, one space between columns: a price ladder reads across, not stretched.
    return Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, padding=(0, 1))


def _side(side: Side) -> Text:
    return Text(side.value, style="green" if side is Side.BUY else "red")


def orders_table(
    symbol: Symbol,
    orders: Sequence[Order],
    *,
    top: MarketUpdate | None,
    mark: Decimal | None,
    tick: Decimal,
    now_ns: int,
    position: Decimal,
) -> Table:
    """Our open orders on one symbol, titled with its market and our position."""
    market = f"bid {top.bid} / ask {top.ask}" if top is not None else "no price yet"
    title = (
        f"{symbol}  {market}  mark {'-' if mark is None else f'{mark.normalize():f}'}  "
        f"position {position}  open orders {len(orders)}"
    )
    table = _table(title)
    width = max((len(o.client_order_id) for o in orders), default=9)
    table.add_column("client id", no_wrap=True, min_width=width, overflow="fold")
    for name in ("strategy", "tag", "side", "type"):
        table.add_column(name)
    table.add_column("price / trigger", justify="right")
    table.add_column("left", justify="right")
    table.add_column("status")
    table.add_column("age", justify="right")
    table.add_column("from touch / to trigger", justify="right", no_wrap=True)
    for o in _ladder(orders):
        if o.order_type.is_conditional:
            price = f"trigger {o.trigger_price if o.trigger_price is not None else '?'}"
            if o.price is not None:
                price += f" limit {o.price}"
        else:
            price = "market" if o.price is None else str(o.price)
        dist = touch_distance(o, top, mark, tick)
        table.add_row(
            o.client_order_id,
            o.strategy_id or "-",
            o.tag or "",
            _side(o.side),
            o.order_type.value,
            price,
            str(o.leaves_qty),
            o.status.value,
            fmt_age(now_ns - o.created_ns),
            "-" if dist is None else str(dist),
        )
    if not orders:
        table.add_row("(none)", *[""] * 9)
    return table


@dataclass(frozen=True, slots=True)
class PnLRow:
    strategy: str  # "" for external fills
    pnl: PnL


def _money(value: Decimal, places: int = 4) -> Text:
    style = "green" if value > 0 else "red" if value < 0 else ""
    return Text(f"{value:.{places}f}", style=style)


def pnl_table(rows: Sequence[PnLRow]) -> Table:
    """Position, realized (before fees), unrealized (at the mark), fees and net, per strategy
    and symbol, in the symbol's quote asset."""
    table = _table("PnL per strategy and symbol (realized before fees, unrealized at the mark)")
    for col in ("strategy", "symbol"):
        table.add_column(col)
    for col in ("position", "entry", "mark", "realized", "unrealized", "fees", "net", "fills"):
        table.add_column(col, justify="right")
    for row in rows:
        p = row.pnl
        table.add_row(
            row.strategy or "(external)",
            p.symbol,
            str(p.position),
            f"{p.entry_price:.2f}" if p.position else "-",
            "-" if p.mark is None else f"{p.mark:.2f}",
            _money(p.realized),
            _money(p.unrealized),
            f"{p.fees:.4f}",
            _money(p.net),
            str(p.fills),
        )
    if not rows:
        table.add_row("(no strategy)", *[""] * 9)
    return table


def _clock(ts_ns: int) -> str:
    t = time.localtime(ts_ns // 1_000_000_000)
    return time.strftime("%H:%M:%S", t) + f".{ts_ns // 1_000_000 % 1000:03d}"


def tape_table(fills: Sequence[Fill], total: int) -> Table:
    """The recent fills, newest first: who, what, at what fee, what it realized, the position
    it left."""
    title = f"tape: last {len(fills)} of {total} fills" if total else "tape: no fill yet"
    table = _table(title)
    table.add_column("time")
    for col in ("strategy", "symbol", "side"):
        table.add_column(col)
    for col in ("qty", "price", "fee", "realized", "position"):
        table.add_column(col, justify="right")
    table.add_column("liq")
    width = max((len(f.client_order_id) for f in fills), default=9)
    table.add_column("client id", no_wrap=True, min_width=width, overflow="fold")
    for f in fills:
        table.add_row(
            _clock(f.ts_ns),
            f.strategy_id or StrategyId("(external)"),
            f.symbol,
            _side(f.side),
            str(f.quantity),
            str(f.price),
            f"{f.fee:.4f}",
            _money(f.realized_pnl),
            str(f.position),
            f.liquidity.value[:1],
            f.client_order_id,
        )
    return table
