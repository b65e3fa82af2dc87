"""NautilusTrader as a peer of ``bench/peers.py``: its Binance USDⓈ-M adapter (data + exec
clients, unchanged but for their base URLs) in a TradingNode, driven from a Strategy, against the
benchmark's simulator. Run by ``bench/peers.py`` with NautilusTrader's own interpreter
(``.venv-nautilus/bin/python``, see ``scripts/nautilus_env.sh``); mmoms is never imported here.

    _nautilus_peer.py REST_URL WS_URL SYMBOL QTY [--log-level ERROR]
    (API key and secret in NAUTILUS_BENCH_KEY / NAUTILUS_BENCH_SECRET: not on the command line)

The bench drives it over stdin / stdout, one JSON line each way, so its batches interleave with
the other clients' turns:

* it prints ``BENCH {"ready": ...}`` once the node has started (connected, reconciled);
* for each line ``{"prices": [[placed, amended], ...]}`` on stdin it runs one cycle per pair —
  a post-only LIMIT BUY submitted, modified, cancelled — and prints
  ``BENCH {"place": [ns...], "amend": [ns...], "cancel": [ns...], "error": null}``;
* ``{"stop": true}`` or the end of stdin stops the node.

Each latency is taken at the strategy API, with ``time.perf_counter_ns()``: from just before
``submit_order`` / ``modify_order`` / ``cancel_order`` to the entry of ``on_order_accepted`` /
``on_order_updated`` / ``on_order_canceled`` (the order is built by the factory before the clock
starts). The next action is taken inside that callback, as a strategy would.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import threading
import time
from decimal import Decimal
from typing import Any

from nautilus_trader.adapters.binance import (
    BINANCE,
    BinanceAccountType,
    BinanceDataClientConfig,
    BinanceExecClientConfig,
    BinanceInstrumentProviderConfig,
    BinanceLiveDataClientFactory,
    BinanceLiveExecClientFactory,
)
from nautilus_trader.config import (
    LiveExecEngineConfig,
    LoggingConfig,
    StrategyConfig,
    TradingNodeConfig,
)
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.identifiers import InstrumentId, TraderId
from nautilus_trader.trading.strategy import Strategy

PREFIX = "BENCH "  # the node's own log lines share stdout: ours are found by this


def say(doc: dict[str, Any]) -> None:
    sys.stdout.write(PREFIX + json.dumps(doc) + "\n")
    sys.stdout.flush()


class CyclerConfig(StrategyConfig, frozen=True):
    instrument_id: str
    quantity: str


class Cycler(Strategy):
    """Runs the batches the bench asks for: submit → accepted, modify → updated, cancel →
    canceled, one order at a time."""

    def __init__(self, config: CyclerConfig) -> None:
        super().__init__(config)
        self.instrument_id = InstrumentId.from_str(config.instrument_id)
        self.qty_text = config.quantity
        self.started = threading.Event()
        self._prices: list[tuple[Any, Any]] = []
        self._order: Any = None
        self._t0 = 0
        self._step = "idle"
        self._out: dict[str, Any] = {}

    def on_start(self) -> None:
        instrument = self.cache.instrument(self.instrument_id)
        if instrument is None:
            say({"ready": False, "error": f"no instrument {self.instrument_id}"})
            return
        self.instrument = instrument
        self.qty = instrument.make_qty(Decimal(self.qty_text))
        self.started.set()

    # -- the bench's batches (called on the node's loop) -------------------------------------

    def run_batch(self, prices: list[list[str]]) -> None:
        make = self.instrument.make_price
        self._prices = [(make(Decimal(p)), make(Decimal(a))) for p, a in reversed(prices)]
        self._out = {"place": [], "amend": [], "cancel": [], "error": None}
        self._next()

    def _next(self) -> None:
        if not self._prices:
            self._step = "idle"
            say(self._out)
            return
        placed = self._prices[-1][0]
        self._order = self.order_factory.limit(
            self.instrument_id, OrderSide.BUY, self.qty, placed, post_only=True
        )
        self._step = "place"
        self._t0 = time.perf_counter_ns()
        self.submit_order(self._order)

    def _fail(self, why: str) -> None:
        if self._step == "idle":
            return
        self._step = "idle"
        self._out["error"] = why
        say(self._out)

    def on_order_accepted(self, event: Any) -> None:
        t1 = time.perf_counter_ns()
        if self._step != "place" or event.client_order_id != self._order.client_order_id:
            return
        self._out["place"].append(t1 - self._t0)
        self._step = "amend"
        amended = self._prices[-1][1]
        self._t0 = time.perf_counter_ns()
        self.modify_order(self._order, price=amended)

    def on_order_updated(self, event: Any) -> None:
        t1 = time.perf_counter_ns()
        if self._step != "amend" or event.client_order_id != self._order.client_order_id:
            return
        self._out["amend"].append(t1 - self._t0)
        self._step = "cancel"
        self._t0 = time.perf_counter_ns()
        self.cancel_order(self._order)

    def on_order_canceled(self, event: Any) -> None:
        t1 = time.perf_counter_ns()
        if self._step != "cancel" or event.client_order_id != self._order.client_order_id:
            return
        self._out["cancel"].append(t1 - self._t0)
        self._prices.pop()
        self._next()

    def on_order_rejected(self, event: Any) -> None:
        self._fail(f"order rejected: {event.reason}")

    def on_order_modify_rejected(self, event: Any) -> None:
        self._fail(f"modify rejected: {event.reason}")

    def on_order_cancel_rejected(self, event: Any) -> None:
        self._fail(f"cancel rejected: {event.reason}")

    def on_order_denied(self, event: Any) -> None:
        self._fail(f"order denied: {event.reason}")


def build(args: argparse.Namespace) -> tuple[TradingNode, Cycler]:
    instrument = f"{args.symbol}-PERP.BINANCE"
    common: dict[str, Any] = {
        "api_key": os.environ["NAUTILUS_BENCH_KEY"],
        "api_secret": os.environ["NAUTILUS_BENCH_SECRET"],
        "account_type": BinanceAccountType.USDT_FUTURES,
        "base_url_http": args.rest,
        "instrument_provider": BinanceInstrumentProviderConfig(
            load_ids=frozenset({InstrumentId.from_str(instrument)})
        ),
    }
    config = TradingNodeConfig(
        trader_id=TraderId("BENCH-001"),
        logging=LoggingConfig(log_level=args.log_level, use_pyo3=False),
        exec_engine=LiveExecEngineConfig(reconciliation=True),
        data_clients={BINANCE: BinanceDataClientConfig(**common, base_url_ws=args.ws)},
        exec_clients={
            BINANCE: BinanceExecClientConfig(
                **common,
                base_url_ws=f"{args.ws}/ws-fapi/v1",
                base_url_ws_stream=f"{args.ws}/private",
            )
        },
        timeout_connection=30.0,
        timeout_reconciliation=10.0,
        timeout_portfolio=10.0,
        timeout_disconnection=5.0,
        timeout_post_stop=1.0,
    )
    node = TradingNode(config=config)
    strategy = Cycler(CyclerConfig(instrument_id=instrument, quantity=args.qty))
    node.trader.add_strategy(strategy)
    node.add_data_client_factory(BINANCE, BinanceLiveDataClientFactory)
    node.add_exec_client_factory(BINANCE, BinanceLiveExecClientFactory)
    node.build()
    return node, strategy


def serve(node: TradingNode, strategy: Cycler) -> None:
    """The stdin side (a thread): hand each batch to the node's loop, stop at the end."""
    loop = node.get_event_loop()
    assert loop is not None
    if not strategy.started.wait(90):
        say({"ready": False, "error": "the node did not start within 90 s"})
        loop.call_soon_threadsafe(node.stop)
        return
    import nautilus_trader

    say({
        "ready": True, "version": nautilus_trader.__version__, "loop": type(loop).__module__,
        "python": platform.python_version(),
    })  # fmt: skip
    for line in sys.stdin:
        command = json.loads(line)
        if command.get("stop"):
            break
        loop.call_soon_threadsafe(strategy.run_batch, command["prices"])
    loop.call_soon_threadsafe(node.stop)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("rest")
    parser.add_argument("ws")
    parser.add_argument("symbol")
    parser.add_argument("qty")
    parser.add_argument("--log-level", default="ERROR")
    args = parser.parse_args()
    node, strategy = build(args)
    threading.Thread(target=serve, args=(node, strategy), daemon=True).start()
    try:
        node.run()
    finally:
        node.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
