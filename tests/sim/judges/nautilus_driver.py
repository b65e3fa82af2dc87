"""A full order lifecycle through NautilusTrader's Binance USDⓈ-M adapter, against a simulator.

Run by ``tests/sim/test_clients_nautilus.py`` with ``.venv-nautilus/bin/python`` (NautilusTrader
lives in its own virtual environment; mmoms never imports it)::

    nautilus_driver.py REST_URL WS_URL API_KEY API_SECRET

Only the adapter's base URLs change (``base_url_http``, ``base_url_ws`` for the WebSocket API,
``base_url_ws_stream`` for user data); everything else is the adapter as shipped. The strategy
waits for a quote, then: a limit bid below the market (accepted), moved (updated), cancelled; a
market buy (filled) and a reduce-only market sell (filled). Each step waits for the event the
adapter derives from the user-data stream. A stdout line is the JSON report:
``{"ok": bool, "events": [...], "error": str | null}``; the exit status is 0 only when ok.
"""

from __future__ import annotations

import json
import sys
import threading
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
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.identifiers import InstrumentId, TraderId
from nautilus_trader.trading.strategy import Strategy

INSTRUMENT = "BTCUSDT-PERP.BINANCE"
TIMEOUT_S = 120.0


class LifecycleConfig(StrategyConfig, frozen=True):
    instrument_id: str = INSTRUMENT


class Lifecycle(Strategy):
    """limit accepted -> modified -> cancelled -> market in -> reduce-only market out."""

    def __init__(self, config: LifecycleConfig) -> None:
        super().__init__(config)
        self.instrument_id = InstrumentId.from_str(config.instrument_id)
        self.events: list[str] = []
        self.step = "wait-quote"
        self.limit: Any = None
        self.entry: Any = None
        self.done = threading.Event()
        self.error: str | None = None

    def on_start(self) -> None:
        self.subscribe_quote_ticks(self.instrument_id)

    def _note(self, what: str) -> None:
        self.events.append(what)
        self.log.info(f"lifecycle: {what}")

    def _fail(self, why: str) -> None:
        self.error = why
        self.done.set()

    def on_quote_tick(self, tick: QuoteTick) -> None:
        if self.step != "wait-quote":
            return
        instrument = self.cache.instrument(self.instrument_id)
        price = instrument.make_price(tick.bid_price.as_decimal() * Decimal("0.98"))
        self.limit = self.order_factory.limit(
            self.instrument_id, OrderSide.BUY, instrument.make_qty(Decimal("0.010")), price
        )
        self.step = "limit-sent"
        self._note(f"quote {tick.bid_price}/{tick.ask_price}; limit BUY at {price}")
        self.submit_order(self.limit)

    def on_order_accepted(self, event: Any) -> None:
        if self.limit is not None and event.client_order_id == self.limit.client_order_id:
            self._note("limit accepted")
            instrument = self.cache.instrument(self.instrument_id)
            new_price = instrument.make_price(self.limit.price.as_decimal() - Decimal("10"))
            self.step = "modify-sent"
            self.modify_order(self.limit, price=new_price)

    def on_order_updated(self, event: Any) -> None:
        if self.step == "modify-sent" and event.client_order_id == self.limit.client_order_id:
            self._note(f"limit modified to {event.price}")
            self.step = "cancel-sent"
            self.cancel_order(self.cache.order(self.limit.client_order_id))

    def on_order_canceled(self, event: Any) -> None:
        if self.step == "cancel-sent" and event.client_order_id == self.limit.client_order_id:
            self._note("limit cancelled")
            instrument = self.cache.instrument(self.instrument_id)
            self.entry = self.order_factory.market(
                self.instrument_id, OrderSide.BUY, instrument.make_qty(Decimal("0.010"))
            )
            self.step = "entry-sent"
            self.submit_order(self.entry)

    def on_order_filled(self, event: Any) -> None:
        if self.step == "entry-sent" and event.client_order_id == self.entry.client_order_id:
            if self.cache.order(event.client_order_id).is_closed:
                self._note(f"market entry filled at {event.last_px}")
                instrument = self.cache.instrument(self.instrument_id)
                exit_order = self.order_factory.market(
                    self.instrument_id,
                    OrderSide.SELL,
                    instrument.make_qty(Decimal("0.010")),
                    reduce_only=True,
                )
                self.step = "exit-sent"
                self.submit_order(exit_order)
        elif self.step == "exit-sent" and self.cache.order(event.client_order_id).is_closed:
            self._note(f"reduce-only exit filled at {event.last_px}")
            self.step = "done"
            self.done.set()

    def on_order_rejected(self, event: Any) -> None:
        self._fail(f"order rejected: {event.reason}")

    def on_order_modify_rejected(self, event: Any) -> None:
        self._fail(f"modify rejected: {event.reason}")

    def on_order_cancel_rejected(self, event: Any) -> None:
        self._fail(f"cancel rejected: {event.reason}")


def main(rest_url: str, ws_url: str, api_key: str, api_secret: str) -> int:
    common: dict[str, Any] = {
        "api_key": api_key,
        "api_secret": api_secret,
        "account_type": BinanceAccountType.USDT_FUTURES,
        "base_url_http": rest_url,
        "instrument_provider": BinanceInstrumentProviderConfig(
            load_ids=frozenset({InstrumentId.from_str(INSTRUMENT)})
        ),
    }
    config = TradingNodeConfig(
        trader_id=TraderId("JUDGE-001"),
        logging=LoggingConfig(log_level="INFO", use_pyo3=False),
        exec_engine=LiveExecEngineConfig(reconciliation=True),
        data_clients={BINANCE: BinanceDataClientConfig(**common, base_url_ws=ws_url)},
        exec_clients={
            BINANCE: BinanceExecClientConfig(
                **common,
                base_url_ws=f"{ws_url}/ws-fapi/v1",
                base_url_ws_stream=f"{ws_url}/private",
            )
        },
        timeout_connection=30.0,
        timeout_reconciliation=10.0,
        timeout_portfolio=10.0,
        timeout_disconnection=5.0,
        timeout_post_stop=1.0,
    )
    node = TradingNode(config=config)
    strategy = Lifecycle(LifecycleConfig())
    node.trader.add_strategy(strategy)
    node.add_data_client_factory(BINANCE, BinanceLiveDataClientFactory)
    node.add_exec_client_factory(BINANCE, BinanceLiveExecClientFactory)
    node.build()

    def watch() -> None:
        if not strategy.done.wait(TIMEOUT_S):
            strategy.error = f"timed out at step {strategy.step}"
        node.stop()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        node.run()
    finally:
        node.dispose()
    ok = strategy.error is None and strategy.step == "done"
    report = {"ok": ok, "events": strategy.events, "error": strategy.error}
    print(json.dumps(report), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
