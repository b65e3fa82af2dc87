"""What a person sees of a running OMS: a live terminal view and the end-of-run summary (rich).

Everything shown is read from the engine's own state (book, metrics, risk, gateway rate state);
the view never changes anything. ``summary_lines`` gives the same figures as plain text for
headless runs and tests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table

from mmoms.core.enums import Side
from mmoms.core.ids import Symbol
from mmoms.core.order import Order
from mmoms.engine.metrics import STAGES
from mmoms.engine.oms import OrderManager
from mmoms.strategy.host import StrategyHost

if TYPE_CHECKING:
    from mmoms.app.node import Node

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class SymbolStats:
    fills: int
    volume: Decimal  # quote-asset notional traded
    fees: Decimal
    pnl: Decimal  # marked at ``mid``: cash from fills + position × mid − fees


def symbol_stats(oms: OrderManager, symbol: Symbol, mid: Decimal | None) -> SymbolStats:
    cash = volume = fees = _ZERO
    fills = 0
    for order in oms.book.orders(symbol):
        for f in order.fills:
            fills += 1
            cash -= order.side.sign * f.qty * f.price
            volume += f.qty * f.price
            fees += f.commission
    mark = (mid or _ZERO) * oms.position(symbol)
    return SymbolStats(fills, volume, fees, cash + mark - fees)


def render(node: Node, elapsed_s: float) -> Group:
    assert node.oms is not None
    oms = node.oms
    return Group(
        _quotes_table(oms, node.market.pairs(), node.symbols, elapsed_s), _engine_table(oms)
    )


def _quotes_table(
    oms: OrderManager,
    tops: Mapping[Symbol, tuple[Decimal, Decimal]],
    symbols: Sequence[Symbol],
    elapsed_s: float,
) -> Table:
    table = Table(title=f"mmoms demo — {elapsed_s:5.1f} s", expand=True)
    for col in ("symbol", "bid / ask", "our bids", "our asks", "position", "fills", "PnL"):
        table.add_column(col)
    for symbol in symbols:
        bid, ask = tops.get(symbol, (_ZERO, _ZERO))
        mid = (bid + ask) / 2 if bid and ask else None
        stats = symbol_stats(oms, symbol, mid)
        mine = oms.book.open_orders(symbol)
        bids = sorted((o for o in mine if o.side is Side.BUY), key=lambda o: -(o.price or 0))
        asks = sorted((o for o in mine if o.side is Side.SELL), key=lambda o: o.price or 0)
        table.add_row(
            symbol,
            f"{bid} / {ask}",
            "\n".join(_quote_line(o) for o in bids),
            "\n".join(_quote_line(o) for o in asks),
            str(oms.position(symbol)),
            str(stats.fills),
            f"{stats.pnl:.4f}",
        )
    return table


def _quote_line(order: Order) -> str:
    # A stop has no limit price here: it waits in the venue's algo service for its trigger.
    price = order.order_type.value if order.price is None else str(order.price)
    return f"{price} x {order.leaves_qty} {order.status.value[:7]}"


def _engine_table(oms: OrderManager) -> Table:
    m = oms.metrics
    table = Table(title="engine", expand=True, show_header=False)
    table.add_column("what")
    table.add_column("value")
    actions = sum(m.actions.values())
    table.add_row("requests sent / actions", f"{m.requests} / {actions} {dict(m.actions)}")
    table.add_row("actions saved by the diff", str(m.actions_saved))
    table.add_row(
        "latency p50 / p99 (µs)",
        "  ".join(
            f"{s} {m.latency[s].percentile(50) / 1000:.0f}/{m.latency[s].percentile(99) / 1000:.0f}"
            for s in STAGES
        ),
    )
    table.add_row(
        "reconciliations (differences)", f"{m.reconciliations} ({m.reconciliation_differences})"
    )
    pools = oms.rate_pools()
    table.add_row("rate limits", "  ".join(f"{name} {used}/{limit}" for name, used, limit in pools))
    alerts = []
    if oms.risk.kill_reason:
        alerts.append(f"KILL SWITCH: {oms.risk.kill_reason}")
    if m.risk_rejections:
        alerts.append(f"risk rejections {dict(m.risk_rejections)}")
    if m.api_errors:
        alerts.append(f"API errors {dict(m.api_errors)}")
    if oms.book.anomaly_count:
        alerts.append(f"book anomalies {oms.book.anomaly_count}")
    groups = oms.groups()
    table.add_row(
        "contingent groups",
        "  ".join(f"{g.spec.group_id} {g.status.value}" for g in groups) or "none",
    )
    table.add_row("alerts", "\n".join(alerts) or "none")
    return table


def summary_lines(
    oms: OrderManager,
    tops: Mapping[Symbol, tuple[Decimal, Decimal]],
    symbols: Sequence[Symbol],
    hosts: Sequence[StrategyHost] = (),
) -> list[str]:
    m = oms.metrics
    orders = list(oms.book.orders())
    lines = [
        f"orders: {len(orders)}  open: {len(oms.book.open_orders())}  "
        f"requests: {m.requests}  actions: {dict(m.actions)}  saved by diff: {m.actions_saved}",
    ]
    for symbol in symbols:
        bid, ask = tops.get(symbol, (_ZERO, _ZERO))
        stats = symbol_stats(oms, symbol, (bid + ask) / 2 if bid and ask else None)
        lines.append(
            f"{symbol}: fills {stats.fills}  volume {stats.volume:.2f}  fees {stats.fees:.6f}  "
            f"position {oms.position(symbol)}  PnL {stats.pnl:.4f}"
        )
    for host in hosts:
        for symbol in host.symbols:
            p = host.pnl(symbol)
            lines.append(
                f"strategy {host.strategy_id} {symbol}: position {p.position}  fills {p.fills}  "
                f"realized {p.realized:.4f}  unrealized {p.unrealized:.4f}  fees {p.fees:.6f}  "
                f"net {p.net:.4f}"
            )
        if host.errors:
            lines.append(f"strategy {host.strategy_id}: callback errors {dict(host.errors)}")
    for stage in STAGES:
        h = m.latency[stage]
        lines.append(
            f"latency {stage:8s} p50 {h.percentile(50) / 1000:8.1f} µs  "
            f"p99 {h.percentile(99) / 1000:8.1f} µs  (n={h.total})"
        )
    for g in oms.groups():
        legs = ", ".join(f"{leg.name} {leg.phase.value}" for leg in g.legs)
        lines.append(f"group {g.spec.group_id}: {g.status.value} ({legs})")
    lines.append(
        f"reconciliations {m.reconciliations} (differences {m.reconciliation_differences}), "
        f"stream gaps {m.stream_gaps}, unknown outcomes {m.unknown_outcomes}, "
        f"risk rejections {dict(m.risk_rejections)}, API errors {dict(m.api_errors)}"
    )
    return lines
