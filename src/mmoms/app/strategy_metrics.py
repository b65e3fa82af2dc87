"""Per-strategy figures for ``/metrics`` and ``/status``: callback errors, state, and each
strategy's position, PnL and fees per symbol (from the engine's ledger).

Series (prefix ``mmoms_strategy_``): ``callback_errors_total{strategy,callback}``,
``running{strategy}`` (1 running, 0 stopped or halted), ``position{strategy,symbol}``,
``realized_pnl{strategy,symbol}`` (before fees), ``unrealized_pnl{strategy,symbol}`` (at the
mark price, else the mid), ``fees{strategy,symbol}``, ``fills_total{strategy,symbol}``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from mmoms.strategy.host import StrategyHost

__all__ = ["strategy_metrics", "strategy_status"]


def strategy_metrics(hosts: Sequence[StrategyHost]) -> Iterator[Metric]:
    errors = CounterMetricFamily(
        "mmoms_strategy_callback_errors",
        "exceptions raised by a strategy's callbacks (the engine carries on)",
        labels=["strategy", "callback"],
    )
    running = GaugeMetricFamily(
        "mmoms_strategy_running", "1 while the strategy runs", labels=["strategy"]
    )
    gauges = {
        name: GaugeMetricFamily(f"mmoms_strategy_{name}", doc, labels=["strategy", "symbol"])
        for name, doc in (
            ("position", "the strategy's position from its own fills (base units)"),
            ("realized_pnl", "realized PnL before fees (quote asset)"),
            ("unrealized_pnl", "unrealized PnL at the mark price, else the mid"),
            ("fees", "fees paid (fee asset)"),
        )
    }
    fills = CounterMetricFamily(
        "mmoms_strategy_fills", "fills of the strategy's orders", labels=["strategy", "symbol"]
    )
    for host in hosts:
        sid = host.strategy_id
        running.add_metric([sid], int(host.running))
        for callback, count in sorted(host.errors.items()):
            errors.add_metric([sid, callback], count)
        for symbol in host.symbols:
            p = host.pnl(symbol)
            gauges["position"].add_metric([sid, symbol], float(p.position))
            gauges["realized_pnl"].add_metric([sid, symbol], float(p.realized))
            gauges["unrealized_pnl"].add_metric([sid, symbol], float(p.unrealized))
            gauges["fees"].add_metric([sid, symbol], float(p.fees))
            fills.add_metric([sid, symbol], p.fills)
    yield errors
    yield running
    yield from gauges.values()
    yield fills


def strategy_status(hosts: Sequence[StrategyHost]) -> list[dict[str, Any]]:
    """The strategies' part of ``/status`` (decimals as strings)."""
    out = []
    for host in hosts:
        symbols = {}
        for symbol in host.symbols:
            p = host.pnl(symbol)
            symbols[symbol] = {
                "position": str(p.position),
                "entry_price": str(p.entry_price),
                "realized_pnl": str(p.realized),
                "unrealized_pnl": str(p.unrealized),
                "fees": str(p.fees),
                "fills": p.fills,
                "open_orders": len(host.open_orders(symbol)),
            }
        out.append(
            {
                "id": host.strategy_id,
                "class": type(host.strategy).__name__,
                "state": host.state,
                "callback_errors": dict(host.errors),
                "symbols": symbols,
            }
        )
    return out
