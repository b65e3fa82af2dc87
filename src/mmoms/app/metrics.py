"""Prometheus ``/metrics`` and a JSON ``/status`` for a running OMS, on one local HTTP port.

``handle = await start_metrics_server(oms, port)`` ... ``await handle.close()`` — used by
``mmoms run`` and available to ``mmoms demo``. ``port=0`` picks a free port (``handle.port``).

Design decisions:

* **Read on scrape, never on the hot path.** A custom collector reads the engine's own counters
  (:class:`~mmoms.engine.metrics.OmsMetrics`), book and rate pools when Prometheus asks; the
  engine loop pays nothing per event.
* **Served from the event loop** (aiohttp), not from prometheus-client's thread server: the
  collector then reads the single writer's state from the writer's own thread, between two
  batches, so a scrape never sees a dict change size under it. A scrape costs a few hundred
  microseconds of loop time.
* **A registry per server**, not the global default: several OMS in one process (tests) do not
  collide, and nothing else leaks into the output.
* **Latency as gauges of quantiles.** The engine keeps log-linear histograms (about 2 %
  resolution) since start; they are exported as ``mmoms_latency_seconds{stage, quantile}`` for
  0.5 / 0.99 / 0.999, with ``mmoms_latency_observations_total{stage}`` and
  ``mmoms_latency_max_seconds{stage}``. Quantiles cover the whole run (not a sliding window);
  rates of change come from the observation counter.
* **``/status`` is what ``mmoms status`` reads**: open orders, positions, balances and health as
  JSON (decimals as strings). ``mmoms run --dry-run`` renders the same document locally, so there
  is one description of "the state of an instance".

Series (all prefixed ``mmoms_``): ``info{venue,dry_run}``, ``uptime_seconds``,
``orders{symbol,state}``, ``actions_total{kind}``, ``requests_total``, ``actions_saved_total``,
``netted_total``, ``risk_rejections_total{check}``, ``api_errors_total{code}``,
``unknown_outcomes_total``, ``reconciliations_total``, ``reconciliation_differences_total``,
``stream_gaps_total`` (user-data stream connects, the first included),
``rate_limit_used{pool}``, ``rate_limit_limit{pool}``, ``latency_*{stage}``,
``position{symbol}``, ``kill_switch``, ``book_anomalies``, ``market_data_updates_total``, and
per strategy (:mod:`.strategy_metrics`) callback errors, state, position, PnL and fees;
``user_stream_ignored_total{kind}`` (events the user-stream decoder could not use).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
)

from mmoms.app.strategy_metrics import strategy_metrics, strategy_status
from mmoms.core.enums import OrderStatus
from mmoms.core.ids import Symbol
from mmoms.core.reports import BalanceReport
from mmoms.engine.metrics import STAGES
from mmoms.engine.oms import OrderManager
from mmoms.strategy.host import StrategyHost

__all__ = ["MetricsServer", "OmsCollector", "RunInfo", "start_metrics_server", "status_document"]

QUANTILES = (("0.5", 50.0), ("0.99", 99.0), ("0.999", 99.9))
STATUS_VERSION = 1
_RATE_WARN = 0.9  # a rate pool above 90 % of its limit makes the instance "degraded"


@dataclass(slots=True)
class RunInfo:
    """What the OMS does not know about itself: the venue, the market, the start time."""

    venue: str = "unknown"
    dry_run: bool = False
    started_ns: int = field(default_factory=time.time_ns)
    tops: Mapping[Symbol, tuple[Decimal, Decimal]] = field(default_factory=dict)  # live view
    market_updates: Callable[[], int] | None = None
    balances: Mapping[str, BalanceReport] = field(default_factory=dict)  # fetched at startup
    symbols: tuple[Symbol, ...] = ()  # empty: every symbol the book holds orders on
    strategies: Sequence[StrategyHost] = ()  # the node's strategies (per-strategy figures)
    # the user stream's messages the decoder could not use, per kind (venue-specific names)
    stream_ignored: Callable[[], Mapping[str, int]] | None = None


class OmsCollector:
    """A prometheus-client collector reading the OMS state at scrape time."""

    def __init__(self, oms: OrderManager, info: RunInfo) -> None:
        self._oms = oms
        self._info = info

    def collect(self) -> Iterator[Metric]:
        oms, info, m = self._oms, self._info, self._oms.metrics
        meta = InfoMetricFamily("mmoms", "the running instance")
        meta.add_metric([], {"venue": info.venue, "dry_run": str(info.dry_run).lower()})
        yield meta
        yield GaugeMetricFamily(
            "mmoms_uptime_seconds", "seconds since start", value=_uptime_s(info)
        )
        orders = GaugeMetricFamily(
            "mmoms_orders", "orders in the local book by state", labels=["symbol", "state"]
        )
        for (symbol, state), n in sorted(_orders_by_state(oms).items()):
            orders.add_metric([symbol, state], n)
        yield orders
        yield _labelled_counter("mmoms_actions", "exchange actions by kind", "kind", m.actions)
        yield CounterMetricFamily("mmoms_requests", "requests sent", value=m.requests)
        yield CounterMetricFamily(
            "mmoms_actions_saved",
            "actions the quote diff saved versus cancel-all + replace-all",
            value=m.actions_saved,
        )
        yield CounterMetricFamily("mmoms_netted", "actions netted in the window", value=m.netted)
        yield _labelled_counter(
            "mmoms_risk_rejections", "pre-trade risk rejections", "check", m.risk_rejections
        )
        yield _labelled_counter(
            "mmoms_api_errors", "API errors by exchange code or kind", "code", m.api_errors
        )
        yield CounterMetricFamily(
            "mmoms_unknown_outcomes", "requests whose outcome was unknown", value=m.unknown_outcomes
        )
        yield CounterMetricFamily(
            "mmoms_reconciliations", "reconciliations done", value=m.reconciliations
        )
        yield CounterMetricFamily(
            "mmoms_reconciliation_differences",
            "differences found by reconciliation",
            value=m.reconciliation_differences,
        )
        yield CounterMetricFamily(
            "mmoms_stream_gaps",
            "user-data stream (re)connects, the first one included",
            value=m.stream_gaps,
        )
        yield from self._rate_limits()
        yield from self._latency()
        position = GaugeMetricFamily(
            "mmoms_position", "position from our fills (base units)", labels=["symbol"]
        )
        for symbol in _symbols(oms, info):
            position.add_metric([symbol], float(oms.position(symbol)))
        yield position
        yield GaugeMetricFamily(
            "mmoms_kill_switch", "1 when the kill switch is engaged", value=int(_killed(oms))
        )
        yield GaugeMetricFamily(
            "mmoms_book_anomalies",
            "reports the book found inconsistent",
            value=oms.book.anomaly_count,
        )
        yield from strategy_metrics(info.strategies)
        if info.stream_ignored is not None:
            yield _labelled_counter(
                "mmoms_user_stream_ignored",
                "user-stream messages not used (unknown event types, malformed ones), per kind",
                "kind",
                info.stream_ignored(),
            )
        if info.market_updates is not None:
            yield CounterMetricFamily(
                "mmoms_market_data_updates",
                "top-of-book updates received",
                value=info.market_updates(),
            )

    def _rate_limits(self) -> Iterator[Metric]:
        used = GaugeMetricFamily("mmoms_rate_limit_used", "rate-limit pool usage", labels=["pool"])
        limit = GaugeMetricFamily("mmoms_rate_limit_limit", "rate-limit pool size", labels=["pool"])
        for name, u, lim in self._oms.rate_pools():
            used.add_metric([name], u)
            limit.add_metric([name], lim)
        yield used
        yield limit

    def _latency(self) -> Iterator[Metric]:
        quantiles = GaugeMetricFamily(
            "mmoms_latency_seconds",
            "latency per stage since start (quantile of a ~2 % log-linear histogram)",
            labels=["stage", "quantile"],
        )
        count = CounterMetricFamily(
            "mmoms_latency_observations", "latency samples per stage", labels=["stage"]
        )
        worst = GaugeMetricFamily("mmoms_latency_max_seconds", "worst sample", labels=["stage"])
        for stage in STAGES:
            h = self._oms.metrics.latency[stage]
            for label, p in QUANTILES:
                quantiles.add_metric([stage, label], h.percentile(p) / 1e9)
            count.add_metric([stage], h.total)
            worst.add_metric([stage], h.max_ns / 1e9)
        yield quantiles
        yield count
        yield worst


def status_document(oms: OrderManager, info: RunInfo) -> dict[str, Any]:
    """The state of the instance as JSON-ready data (decimals as strings)."""
    m = oms.metrics
    balances = dict(info.balances)
    balances.update(oms.book.balances)  # the stream's updates are newer than the start fetch
    return {
        "version": STATUS_VERSION,
        "venue": info.venue,
        "dry_run": info.dry_run,
        "pid": os.getpid(),
        "uptime_s": round(_uptime_s(info), 1),
        "symbols": list(_symbols(oms, info)),
        "health": _health(oms, info),
        "strategies": strategy_status(info.strategies),
        "market": {s: {"bid": str(b), "ask": str(a)} for s, (b, a) in sorted(info.tops.items())},
        "open_orders": [
            {
                "symbol": o.symbol,
                "client_order_id": o.client_order_id,
                "side": o.side.value,
                "price": None if o.price is None else str(o.price),
                "quantity": str(o.quantity),
                "filled": str(o.filled_qty),
                "status": o.status.value,
                "tag": o.tag,
                "external": o.external,
            }
            for o in sorted(oms.book.open_orders(), key=lambda o: (o.symbol, o.side, o.price or 0))
        ],
        "positions": _positions(oms, info),
        "balances": {
            asset: {
                "wallet": str(b.wallet_balance),
                "available": None if b.available_balance is None else str(b.available_balance),
            }
            for asset, b in sorted(balances.items())
        },
        "engine": {
            "requests": m.requests,
            "actions": dict(m.actions),
            "actions_saved": m.actions_saved,
            "reconciliations": m.reconciliations,
            "reconciliation_differences": m.reconciliation_differences,
            "stream_gaps": m.stream_gaps,
            "unknown_outcomes": m.unknown_outcomes,
            "risk_rejections": dict(m.risk_rejections),
            "api_errors": dict(m.api_errors),
            "rate_limits": [{"pool": n, "used": u, "limit": lim} for n, u, lim in oms.rate_pools()],
            "latency_us": {
                stage: {
                    "p50": m.latency[stage].percentile(50) // 1000,
                    "p99": m.latency[stage].percentile(99) // 1000,
                    "n": m.latency[stage].total,
                }
                for stage in STAGES
            },
        },
    }


def _positions(oms: OrderManager, info: RunInfo) -> dict[str, dict[str, str | None]]:
    out: dict[str, dict[str, str | None]] = {}
    venue = oms.book.venue_positions
    symbols = sorted(set(_symbols(oms, info)) | {s for s, _ in venue})
    for symbol in symbols:
        reports = [r for (s, _), r in venue.items() if s == symbol]
        out[symbol] = {
            "ours": str(oms.position(symbol)),
            "venue": str(sum((r.quantity for r in reports), Decimal(0))) if reports else None,
            "entry_price": str(reports[0].entry_price) if len(reports) == 1 else None,
            "unrealized_pnl": str(sum((r.unrealized_pnl for r in reports), Decimal(0)))
            if reports
            else None,
        }
    return out


def _health(oms: OrderManager, info: RunInfo) -> dict[str, Any]:
    problems: list[str] = []
    if oms.risk.kill_reason:
        problems.append(f"kill switch engaged: {oms.risk.kill_reason}")
    if oms.book.anomaly_count:
        problems.append(f"{oms.book.anomaly_count} book anomalies")
    unknown = [o.client_order_id for o in oms.book.orders() if o.status is OrderStatus.UNKNOWN]
    if unknown:
        problems.append(f"{len(unknown)} orders in UNKNOWN state (being resolved)")
    for name, used, limit in oms.rate_pools():
        if limit and used >= _RATE_WARN * limit:
            problems.append(f"rate limit {name} at {used}/{limit}")
    if oms.metrics.reconciliations == 0:
        problems.append("not reconciled yet")
    if info.market_updates is not None and not info.dry_run:  # a feed is wired
        missing = [s for s in _symbols(oms, info) if s not in info.tops]
        if missing:
            problems.append(f"no market data for {', '.join(missing)}")
    return {"status": "degraded" if problems else "ok", "problems": problems}


def _orders_by_state(oms: OrderManager) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    for order in oms.book.orders():
        key = (order.symbol, order.status.value)
        counts[key] = counts.get(key, 0) + 1
    return counts


def _labelled_counter(name: str, doc: str, label: str, table: Mapping[str, int]) -> Metric:
    family = CounterMetricFamily(name, doc, labels=[label])
    for key, value in sorted(table.items()):
        family.add_metric([key], value)
    return family


def _symbols(oms: OrderManager, info: RunInfo) -> tuple[Symbol, ...]:
    if info.symbols:
        return info.symbols
    return tuple(sorted({o.symbol for o in oms.book.orders()}))


def _killed(oms: OrderManager) -> bool:
    return oms.risk.kill_reason is not None


def _uptime_s(info: RunInfo) -> float:
    return max(time.time_ns() - info.started_ns, 0) / 1e9


# -- the HTTP server ----------------------------------------------------------------------------


@dataclass(slots=True)
class MetricsServer:
    """A running ``/metrics`` + ``/status`` server; ``await close()`` stops it."""

    host: str
    port: int
    _runner: web.AppRunner

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def close(self) -> None:
        await self._runner.cleanup()


async def start_metrics_server(
    oms: OrderManager, port: int, *, host: str = "127.0.0.1", info: RunInfo | None = None
) -> MetricsServer:
    """Serve ``/metrics`` (Prometheus text) and ``/status`` (JSON) on ``host:port``.

    Raises:
        OSError: the port cannot be bound (in use, or privileged).
    """
    info = info or RunInfo()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(OmsCollector(oms, info))

    async def metrics(_: web.Request) -> web.Response:
        body = generate_latest(registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def status(_: web.Request) -> web.Response:
        return web.json_response(status_document(oms, info))

    async def index(_: web.Request) -> web.Response:
        return web.Response(text="mmoms: /metrics (Prometheus), /status (JSON)\n")

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/status", status)
    app.router.add_get("/", index)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError:
        await runner.cleanup()
        raise
    bound = runner.addresses[0][1] if runner.addresses else port
    return MetricsServer(host, bound, runner)
