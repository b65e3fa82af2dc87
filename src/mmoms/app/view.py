"""What a person sees of a running node: the live view (``mmoms demo``, ``mmoms run --view``)
and the end-of-run summary.

The live view shows, per symbol, our open orders with their whole client ids (what ``mmoms
replay --order`` takes), age and distance from the touch (a stop: its trigger against the
mark); PnL per strategy and symbol; a tape of the last fills; and the engine: latency per stage
(the "decide" stage is intent → decided, so it includes the batching window and any wait for
order-rate budget, and says so), requests against actions saved, rate-limit pools,
reconciliations, contingent groups leg by leg, and alerts.

Everything is read from the node's own state (book, ledger, metrics, risk, gateway rate state,
the tape); the view never changes anything. ``summary_lines`` gives figures as plain text for
headless runs and tests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from mmoms.app.tape import FillTape
from mmoms.app.view_tables import PnLRow, orders_table, pnl_table, tape_table
from mmoms.core.ids import Symbol
from mmoms.core.market import MarketState
from mmoms.engine.metrics import STAGES
from mmoms.engine.oms import OrderManager
from mmoms.strategy.host import StrategyHost

__all__ = [
    "SymbolStats",
    "Watched",
    "node_summary",
    "render",
    "stage_label",
    "summary_lines",
    "symbol_stats",
]

_ZERO = Decimal(0)
_GROUPS_SHOWN = 8  # active groups first; the finished ones beyond this are counted


class Watched(Protocol):
    """What the live view reads of a node (:class:`~mmoms.app.node.Node` has all of it)."""

    @property
    def oms(self) -> OrderManager | None: ...
    @property
    def market(self) -> MarketState: ...
    @property
    def hosts(self) -> Sequence[StrategyHost]: ...
    @property
    def tape(self) -> FillTape: ...
    @property
    def symbols(self) -> tuple[Symbol, ...]: ...
    @property
    def batch_window_s(self) -> float: ...
    @property
    def failures(self) -> Sequence[str]: ...


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


def stage_label(stage: str, batch_window_s: float) -> str:
    """A latency stage as people should read it."""
    if stage == "decide":  # measured from the intent's arrival: the window wait is in it
        return f"decide (incl. {batch_window_s * 1000:g} ms batching window)"
    return _STAGE_LABELS.get(stage, stage)


_STAGE_LABELS = {
    "journal": "journal (→ committed)",
    "wire": "wire (→ sent)",
    "ack": "ack (→ venue reply)",
    "stream": "stream (reply → stream)",
    "total": "total (intent → reply)",
    "protect": "protect (fill → stop acked)",
}


def render(node: Watched, elapsed_s: float, *, title: str = "mmoms demo") -> RenderableType:
    oms = node.oms
    if oms is None:
        return Text(f"{title}: starting")
    now = oms.now_ns()
    tables: list[RenderableType] = [_header(node, oms, elapsed_s, title)]
    for symbol in node.symbols:
        mine = [o for o in oms.book.open_orders(symbol) if not o.external]
        tables.append(
            orders_table(
                symbol,
                mine,
                top=node.market.top.get(symbol),
                mark=node.market.valuation_price(symbol),
                tick=oms.instrument(symbol).tick_size,
                now_ns=now,
                position=oms.position(symbol),
            )
        )
    tape = tape_table(node.tape.recent(), node.tape.total)
    trading = Group(pnl_table(_pnl_rows(node, oms)), tape)
    tables.append(_SideBySide(trading, _engine_table(node, oms)))
    return Group(*tables)


class _SideBySide:
    """Two renderables next to each other when both fit whole, one above the other otherwise
    (a squeezed table would cut client ids and figures short)."""

    def __init__(self, left: RenderableType, right: RenderableType) -> None:
        self.left, self.right = left, right

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        left = Measurement.get(console, options, self.left).maximum
        right = Measurement.get(console, options, self.right).maximum
        if left + right + 2 > options.max_width:
            yield self.left
            yield self.right
            return
        grid = Table.grid(padding=(0, 2))
        grid.add_column()
        grid.add_column()
        grid.add_row(self.left, self.right)
        yield grid


def _header(node: Watched, oms: OrderManager, elapsed_s: float, title: str) -> Text:
    states = "  ".join(f"{h.strategy_id} {h.state}" for h in node.hosts) or "none"
    mine = sum(1 for o in oms.book.open_orders() if not o.external)
    return Text.assemble(
        (f"{title} — {elapsed_s:6.1f} s", "bold"),
        f"   strategies: {states}   open orders {mine}   fills {node.tape.total}",
    )


def _pnl_rows(node: Watched, oms: OrderManager) -> list[PnLRow]:
    """Every hosted strategy on each of its symbols, then whatever else the ledger holds
    (external fills, strategies of an earlier run recovered from the journal)."""
    rows: list[PnLRow] = []
    seen: set[tuple[str, Symbol]] = set()
    for host in node.hosts:
        for symbol in host.symbols:
            seen.add((host.strategy_id, symbol))
            rows.append(PnLRow(host.strategy_id, host.pnl(symbol)))
    for (strategy_id, symbol), book in oms.ledger.items():
        if (strategy_id, symbol) not in seen:
            rows.append(PnLRow(strategy_id, book.view(symbol, node.market.valuation_price(symbol))))
    return rows


def _engine_table(node: Watched, oms: OrderManager) -> Table:
    m = oms.metrics
    table = Table(
        title="engine", title_justify="left", show_header=False, box=box.SIMPLE, padding=(0, 1)
    )
    table.add_column("what", no_wrap=True)
    table.add_column("value")
    actions = sum(m.actions.values())
    table.add_row("requests", f"{m.requests} carried {actions} actions {dict(m.actions)}")
    table.add_row("saved", f"{m.actions_saved} actions by the diff (netted {m.netted})")
    table.add_row("latency", _latency(oms, node.batch_window_s))
    pools = oms.rate_pools()
    table.add_row(
        "rate limits", "\n".join(f"{name} {used}/{limit}" for name, used, limit in pools) or "-"
    )
    table.add_row(
        "reconciled",
        f"{m.reconciliations} times (differences {m.reconciliation_differences})\n"
        f"stream gaps {m.stream_gaps}, unknown outcomes {m.unknown_outcomes}",
    )
    table.add_row("groups", _groups_lines(oms))
    alerts = _alerts(node, oms)
    table.add_row("alerts", Text("\n".join(alerts), style="bold red") if alerts else "none")
    return table


def _latency(oms: OrderManager, batch_window_s: float) -> RenderableType:
    m = oms.metrics
    table = Table(box=None, padding=(0, 1), show_edge=False)
    table.add_column("stage")
    for col in ("p50 µs", "p99 µs", "n"):
        table.add_column(col, justify="right")
    for stage in STAGES:
        h = m.latency[stage]
        if h.total or stage != "protect":  # protect: only with contingent groups
            table.add_row(
                stage_label(stage, batch_window_s),
                f"{h.percentile(50) / 1000:.0f}",
                f"{h.percentile(99) / 1000:.0f}",
                str(h.total),
            )
    if not m.quotes_deferred:
        return table
    # Deferred quotes wait in "decide" for the order-rate budget: say why it exceeds the window.
    note = Text(f"decide also holds waits for order-rate budget ({m.quotes_deferred} deferred)")
    return Group(table, note)


def _groups_lines(oms: OrderManager) -> str:
    groups = oms.groups()
    active = [g for g in groups if not g.status.is_terminal]
    done = [g for g in groups if g.status.is_terminal]
    shown = (active + done[::-1])[:_GROUPS_SHOWN]  # the latest finished ones after the active
    lines = []
    for g in shown:
        legs = ", ".join(f"{leg.name} {leg.phase.value}" for leg in g.legs)
        owner = oms.group_strategy(g.spec.group_id) or "-"
        lines.append(f"{g.spec.group_id} ({owner}) {g.status.value}: {legs}")
    if len(groups) > len(shown):
        lines.append(f"… and {len(groups) - len(shown)} more finished")
    return "\n".join(lines) or "none"


def _alerts(node: Watched, oms: OrderManager) -> list[str]:
    m = oms.metrics
    alerts = []
    if oms.risk.kill_reason:
        alerts.append(f"KILL SWITCH: {oms.risk.kill_reason}")
    if m.risk_rejections:
        alerts.append(f"risk rejections {dict(m.risk_rejections)}")
    if m.api_errors:
        alerts.append(f"API errors {dict(m.api_errors)}")
    if oms.book.anomaly_count:
        alerts.append(f"book anomalies {oms.book.anomaly_count}")
    stats = oms.group_stats()
    if stats.unprotected_now:
        alerts.append(f"unprotected groups {sorted(stats.unprotected_now)}")
    if stats.overfills or stats.flatten_failures or stats.protection_failures:
        alerts.append(
            f"groups: overfills {stats.overfills}, flatten failures {stats.flatten_failures}, "
            f"protective stops refused {stats.protection_failures}"
        )
    for host in node.hosts:
        if host.errors:
            alerts.append(f"strategy {host.strategy_id} callback errors {dict(host.errors)}")
        if host.state == "halted":
            alerts.append(f"strategy {host.strategy_id} HALTED")
    alerts += node.failures
    return alerts


def node_summary(node: Watched) -> list[str]:
    """The end-of-run summary of a node that traded (empty if it never started trading)."""
    if node.oms is None or not node.hosts:
        return []
    return summary_lines(
        node.oms, node.market.pairs(), node.symbols, node.hosts,
        batch_window_s=node.batch_window_s,
    )  # fmt: skip


def summary_lines(
    oms: OrderManager,
    tops: Mapping[Symbol, tuple[Decimal, Decimal]],
    symbols: Sequence[Symbol],
    hosts: Sequence[StrategyHost] = (),
    *,
    batch_window_s: float | None = None,
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
    if batch_window_s is not None:
        lines.append(
            f"  (decide = intent → decided: includes the {batch_window_s * 1000:g} ms batching "
            "window and any wait for order-rate budget)"
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
