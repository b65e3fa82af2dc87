"""Benchmark: place → ack, amend → ack and cancel → ack, mmoms against its peers (not a test).

Every client talks to ONE simulator (``bench/_simproc.py``: ``mmoms sim`` with handling-time
probes) in a subprocess pinned to core 0; all clients run in this process, pinned to core 1, on
one uvloop event loop. Each client has an account (API key) of its own, so the simulator's
handling time is attributed to the client that caused it, and shown apart.

Clients (each pointed at the simulator by base URL only, as in ``tests/sim/test_clients_*``):

=====================  ==========================================================================
``mmoms REST``         :class:`BinanceGateway`, ``OrderTransport.REST``: submit / amend / cancel
``mmoms WS API``       the same gateway with ``OrderTransport.WS_API`` (``/ws-fapi/v1``)
``ccxt REST``          ``ccxt.async_support.binanceusdm``: create_order / edit_order / cancel_order
``ccxt.pro WS API``    ``ccxt.pro.binanceusdm``: create_order_ws / edit_order_ws / cancel_order_ws
``SDK REST``           official ``binance-sdk-derivatives-trading-usds-futures`` REST (blocking,
                       ``requests``): new_order / modify_order / cancel_order, then ``.data()``
``SDK WS API``         the official SDK's ``websocket_api``: the same three, then ``.data()``
``python-binance``     ``binance.AsyncClient``: futures_create_order / _modify_order / _cancel_order
``floor: ...``         not a peer: bare aiohttp doing the least any client must (sign, send, read,
                       decode the JSON), over REST and over the WS API — the floor under every
                       row; "above floor" is a library's own cost
``mmoms Strategy       the whole OMS: a ``mmoms.Node`` (venue kind ``binance`` at the simulator's
(whole OMS)``          URLs; defaults: SQLite journal with durability ``process``, batching
                       window, risk, user stream) driven from a ``mmoms.Strategy``: place /
                       amend / cancel → ``on_order`` with OrderAccepted / OrderAmended /
                       OrderCanceled
``mmoms Strategy       the same node with ``[journal] durability = "fsync"`` (not the default:
(durability fsync)``   a commit waits for its fsync; what that durability costs)
``NautilusTrader       NautilusTrader's TradingNode, Binance USDⓈ-M data + exec clients (base URLs
Strategy``             only), driven from its Strategy in a process of its own, in its own venv
                       (``bench/_nautilus_peer.py``; ``scripts/nautilus_env.sh`` makes the venv,
                       else the row is skipped and says why): submit_order / modify_order /
                       cancel_order → on_order_accepted / _updated / _canceled
=====================  ==========================================================================

"ack" is the call returning the parsed reply (every library's normal return value); for the
three strategy-API rows it is the strategy's callback with the venue's confirmation, timed
inside the callback, the next action taken there (post-only LIMITs). A cycle is place (a LIMIT
BUY 3 % under the mark: it rests) → amend (a tick lower) → cancel. Interleaving: the clients
take turns in batches of ``--batch`` cycles, and the turn order rotates every round, so drift on
a shared machine falls on all of them alike. Warm-up cycles first (not measured). Each repeat
builds every client (and node) afresh; reported: pooled p50 / p99 / p999 over all repeats and
min / median / max of the per-repeat p50s. Ratios compare a peer with mmoms on the same transport
(REST peers with mmoms REST, WebSocket API peers with mmoms WS API; the strategy-API rows with
mmoms Strategy (whole OMS)).

Fairness settings: ccxt's own throttle is off (``enableRateLimit: False``: it would otherwise
sleep between calls, which is not latency); mmoms's rate controller adopts the simulator's
(huge) limits from exchangeInfo, so it never waits; the SDK's REST client blocks the loop for
the duration of its call (it is synchronous; a thread hop would only add to its cost).

    .venv/bin/python bench/peers.py [--cycles 2000] [--batch 10] [--repeats 3] [--quick]
        [--clients "mmoms REST,ccxt REST"] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import gc
import itertools
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any, ClassVar

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import Account, Figures, SimProcess, run_loop, sim_toml, summarize
from mmoms import (
    OrderAccepted,
    OrderAmended,
    OrderAmendRejected,
    OrderCanceled,
    OrderCancelRejected,
    OrderEvent,
    OrderOutcomeUnknown,
    OrderRejected,
    Side,
    TimeInForce,
)
from mmoms.strategy.base import Strategy as MmomsStrategy

FAILED_EVENTS = (OrderRejected, OrderAmendRejected, OrderCancelRejected, OrderOutcomeUnknown)

SYMBOL = "BTCUSDC"
BIG_LIMITS = [("REQUEST_WEIGHT", "MINUTE", 1, 10**9), ("ORDERS", "SECOND", 10, 10**9),
              ("ORDERS", "MINUTE", 1, 10**9)]  # fmt: skip
CCXT_SYMBOL = "BTC/USDC:USDC"
OPS = ("place", "amend", "cancel")
# The simulator operation each of ours maps to, per transport (for the server-side figures).
SIM_OPS = {
    "rest": {"place": "POST /fapi/v1/order", "amend": "PUT /fapi/v1/order",
             "cancel": "DELETE /fapi/v1/order"},
    "ws": {"place": "ws order.place", "amend": "ws order.modify", "cancel": "ws order.cancel"},
}  # fmt: skip


@dataclass(frozen=True)
class Market:
    price: Decimal  # 3 % under the mark: rests
    tick: Decimal
    qty: Decimal

    def prices(self, i: int) -> tuple[Decimal, Decimal]:
        """The placed price and the amended one (never equal: an amend must change something)."""
        placed = self.price - self.tick * (i % 50)
        return placed, placed - self.tick * 60


# -- the clients ------------------------------------------------------------------------------


class Client:
    label = ""
    transport = "rest"
    baseline = "mmoms REST"  # the mmoms variant on the same transport

    def __init__(self, sim: SimProcess, account: Account, market: Market) -> None:
        self.sim = sim
        self.account = account
        self.market = market

    async def setup(self) -> None: ...

    async def place(self, i: int, price: Decimal) -> Any:
        raise NotImplementedError

    async def amend(self, ref: Any, i: int, price: Decimal) -> None:
        raise NotImplementedError

    async def cancel(self, ref: Any, i: int) -> None:
        raise NotImplementedError

    async def cycles(self, indices: Sequence[int], out: Samples | None) -> None:
        """One cycle per index, timed here; the strategy-API peers time their own."""
        for i in indices:
            await cycle(self, i, out)

    async def close(self) -> None: ...


class MmomsClient(Client):
    label = "mmoms REST"

    def _transport(self) -> Any:
        from mmoms.venues.binance import OrderTransport

        return OrderTransport.REST

    async def setup(self) -> None:
        from mmoms.core.commands import AmendOrder, CancelOrder, SubmitOrder
        from mmoms.core.enums import OrderType, Side, TimeInForce
        from mmoms.core.ids import ClientOrderId, Symbol
        from mmoms.venues.binance import BinanceConfig, BinanceGateway, Credentials

        self._types = (SubmitOrder, AmendOrder, CancelOrder, OrderType, Side, TimeInForce)
        self._cid, self._symbol = ClientOrderId, Symbol(SYMBOL)
        config = BinanceConfig.local(
            self.sim.rest, self.sim.ws, order_transport=self._transport(), user_stream=False
        )
        creds = Credentials.hmac(self.account.api_key, self.account.api_secret)
        self.gw = BinanceGateway(config, creds)
        # The simulator's limits (what start() reads from exchangeInfo), adopted up front: all
        # clients share 127.0.0.1, so the IP's used weight reported on the first reply (the time
        # sync) is far beyond Binance's default 2,400 and the gateway's own rate controller
        # would refuse its exchangeInfo request until the minute is over.
        self.gw.rate.set_limits(BIG_LIMITS)
        await self.gw.start()
        self._run = f"{time.time_ns() % 10**9:x}"

    async def place(self, i: int, price: Decimal) -> Any:
        submit, _, _, order_type, side, tif = self._types
        cid = self._cid(f"b{self._run}-{i}")
        report = await self.gw.submit(
            submit(
                ts_ns=0, client_order_id=cid, symbol=self._symbol, side=side.BUY,
                order_type=order_type.LIMIT, quantity=self.market.qty, price=price,
                time_in_force=tif.GTC,
            )
        )  # fmt: skip
        return cid, getattr(report, "venue_order_id", None)

    async def amend(self, ref: Any, i: int, price: Decimal) -> None:
        _, amend, _, _, side, _ = self._types
        cid, venue_id = ref
        await self.gw.amend(
            amend(
                ts_ns=0, client_order_id=cid, symbol=self._symbol, side=side.BUY,
                quantity=self.market.qty, price=price, venue_order_id=venue_id,
            )
        )  # fmt: skip

    async def cancel(self, ref: Any, i: int) -> None:
        _, _, cancel, _, _, _ = self._types
        cid, venue_id = ref
        await self.gw.cancel(
            cancel(ts_ns=0, client_order_id=cid, symbol=self._symbol, venue_order_id=venue_id)
        )

    async def close(self) -> None:
        await self.gw.close()


class MmomsWsClient(MmomsClient):
    label = "mmoms WS API"
    transport = "ws"
    baseline = "mmoms WS API"

    def _transport(self) -> Any:
        from mmoms.venues.binance import OrderTransport

        return OrderTransport.WS_API

    async def setup(self) -> None:
        await super().setup()
        if self.gw.wsapi is None or not self.gw.wsapi.connected:
            raise RuntimeError("the mmoms gateway did not connect to the WS API")


def _point_ccxt(exchange: Any, rest: str, ws: str) -> None:
    """The base-URL change of tests/sim/test_clients_ccxt.py."""
    api = exchange.urls["api"]
    for name, suffix in (
        ("fapiPublic", "/fapi/v1"), ("fapiPublicV2", "/fapi/v2"), ("fapiPublicV3", "/fapi/v3"),
        ("fapiPrivate", "/fapi/v1"), ("fapiPrivateV2", "/fapi/v2"),
        ("fapiPrivateV3", "/fapi/v3"), ("fapiData", "/futures/data"), ("sapi", "/sapi/v1"),
    ):  # fmt: skip
        api[name] = rest + suffix
    if "ws" in api:
        api["ws"]["linear"] = ws + "/ws"
        api["ws"]["ws-api"]["linear"] = ws + "/ws-fapi/v1"


class CcxtClient(Client):
    label = "ccxt REST"

    def _make(self) -> Any:
        import ccxt.async_support as ccxt

        return ccxt.binanceusdm

    async def setup(self) -> None:
        options = {
            "apiKey": self.account.api_key,
            "secret": self.account.api_secret,
            "enableRateLimit": False,
        }
        self.ex = self._make()(options)
        _point_ccxt(self.ex, self.sim.rest, self.sim.ws)
        await self.ex.load_markets()
        self.qty = float(self.market.qty)

    async def place(self, i: int, price: Decimal) -> Any:
        order = await self.ex.create_order(CCXT_SYMBOL, "limit", "buy", self.qty, float(price))
        return order["id"]

    async def amend(self, ref: Any, i: int, price: Decimal) -> None:
        await self.ex.edit_order(ref, CCXT_SYMBOL, "limit", "buy", self.qty, float(price))

    async def cancel(self, ref: Any, i: int) -> None:
        await self.ex.cancel_order(ref, CCXT_SYMBOL)

    async def close(self) -> None:
        await self.ex.close()


class CcxtProClient(CcxtClient):
    label = "ccxt.pro WS API"
    transport = "ws"
    baseline = "mmoms WS API"

    def _make(self) -> Any:
        import ccxt.pro as ccxtpro

        return ccxtpro.binanceusdm

    async def place(self, i: int, price: Decimal) -> Any:
        order = await self.ex.create_order_ws(CCXT_SYMBOL, "limit", "buy", self.qty, float(price))
        return order["id"]

    async def amend(self, ref: Any, i: int, price: Decimal) -> None:
        await self.ex.edit_order_ws(ref, CCXT_SYMBOL, "limit", "buy", self.qty, float(price))

    async def cancel(self, ref: Any, i: int) -> None:
        await self.ex.cancel_order_ws(ref, CCXT_SYMBOL)


class SdkRestClient(Client):
    label = "SDK REST"

    async def setup(self) -> None:
        from binance_common.configuration import ConfigurationRestAPI
        from binance_sdk_derivatives_trading_usds_futures import DerivativesTradingUsdsFutures
        from binance_sdk_derivatives_trading_usds_futures.rest_api import models

        self.m = models
        self.client = DerivativesTradingUsdsFutures(
            config_rest_api=ConfigurationRestAPI(
                api_key=self.account.api_key,
                api_secret=self.account.api_secret,
                base_path=self.sim.rest,
            )
        )
        self.rest = self.client.rest_api
        self.rest.mark_price(symbol=SYMBOL).data()  # opens the keep-alive connection
        self.qty = float(self.market.qty)

    async def place(self, i: int, price: Decimal) -> Any:
        m = self.m
        reply = self.rest.new_order(
            symbol=SYMBOL, side=m.NewOrderSideEnum.BUY, type=m.NewOrderTypeEnum.LIMIT,
            time_in_force=m.NewOrderTimeInForceEnum.GTC, quantity=self.qty, price=float(price),
        ).data()  # fmt: skip
        return reply.order_id

    async def amend(self, ref: Any, i: int, price: Decimal) -> None:
        self.rest.modify_order(
            symbol=SYMBOL, side=self.m.ModifyOrderSideEnum.BUY, quantity=self.qty,
            price=float(price), order_id=ref,
        ).data()  # fmt: skip

    async def cancel(self, ref: Any, i: int) -> None:
        self.rest.cancel_order(symbol=SYMBOL, order_id=ref).data()


class SdkWsClient(Client):
    label = "SDK WS API"
    transport = "ws"
    baseline = "mmoms WS API"

    async def setup(self) -> None:
        from binance_common.configuration import ConfigurationWebSocketAPI
        from binance_sdk_derivatives_trading_usds_futures import DerivativesTradingUsdsFutures
        from binance_sdk_derivatives_trading_usds_futures.websocket_api import models

        self.m = models
        self.client = DerivativesTradingUsdsFutures(
            config_ws_api=ConfigurationWebSocketAPI(
                api_key=self.account.api_key,
                api_secret=self.account.api_secret,
                stream_url=self.sim.ws + "/ws-fapi/v1",
            )
        )
        api: Any = self.client.websocket_api
        self.conn = await api.create_connection()
        self.qty = float(self.market.qty)

    @staticmethod
    def _result(response: Any) -> Any:
        data = response.data()
        return getattr(data, "actual_instance", None) or data

    async def place(self, i: int, price: Decimal) -> Any:
        m = self.m
        reply = await self.conn.new_order(
            symbol=SYMBOL, side=m.NewOrderSideEnum.BUY, type=m.NewOrderTypeEnum.LIMIT,
            time_in_force=m.NewOrderTimeInForceEnum.GTC, quantity=self.qty, price=float(price),
        )  # fmt: skip
        return self._result(reply).result.order_id

    async def amend(self, ref: Any, i: int, price: Decimal) -> None:
        self._result(
            await self.conn.modify_order(
                symbol=SYMBOL, side=self.m.ModifyOrderSideEnum.BUY, quantity=self.qty,
                price=float(price), order_id=ref,
            )
        )  # fmt: skip

    async def cancel(self, ref: Any, i: int) -> None:
        self._result(await self.conn.cancel_order(symbol=SYMBOL, order_id=ref))

    async def close(self) -> None:
        await self.client.websocket_api.close_connection()


class PythonBinanceClient(Client):
    label = "python-binance"

    async def setup(self) -> None:
        from binance import AsyncClient

        client = AsyncClient(self.account.api_key, self.account.api_secret)
        client.API_URL = self.sim.rest + "/api"
        client.FUTURES_URL = self.sim.rest + "/fapi"
        client.FUTURES_DATA_URL = self.sim.rest + "/futures/data"
        self.client = client
        await client.futures_mark_price(symbol=SYMBOL)  # opens the keep-alive connection
        self.qty = str(self.market.qty)

    async def place(self, i: int, price: Decimal) -> Any:
        order = await self.client.futures_create_order(
            symbol=SYMBOL, side="BUY", type="LIMIT", timeInForce="GTC", quantity=self.qty,
            price=str(price),
        )  # fmt: skip
        return order["orderId"]

    async def amend(self, ref: Any, i: int, price: Decimal) -> None:
        await self.client.futures_modify_order(
            symbol=SYMBOL, orderId=ref, side="BUY", quantity=self.qty, price=str(price)
        )

    async def cancel(self, ref: Any, i: int) -> None:
        await self.client.futures_cancel_order(symbol=SYMBOL, orderId=ref)

    async def close(self) -> None:
        await self.client.close_connection()


class FloorClient(Client):
    """Not a peer: the least any Python client must do (sign, send, read, decode the JSON) with
    bare aiohttp — the floor under every other row."""

    label = "floor: bare aiohttp REST"

    async def setup(self) -> None:
        import hashlib
        import hmac
        from urllib.parse import urlencode

        self._hmac, self._sha, self._urlencode = hmac.new, hashlib.sha256, urlencode
        self._secret = self.account.api_secret.encode()
        self.http = aiohttp.ClientSession(headers={"X-MBX-APIKEY": self.account.api_key})
        self.qty = str(self.market.qty)

    async def _signed(self, method: str, params: dict[str, Any]) -> Any:
        params["timestamp"] = time.time_ns() // 1_000_000
        query = self._urlencode(params)
        signature = self._hmac(self._secret, query.encode(), self._sha).hexdigest()
        url = f"{self.sim.rest}/fapi/v1/order?{query}&signature={signature}"
        async with self.http.request(method, url) as reply:
            body = await reply.json()
            if reply.status != 200:
                raise RuntimeError(f"{reply.status} {body}")
            return body

    async def place(self, i: int, price: Decimal) -> Any:
        params = {"symbol": SYMBOL, "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                  "quantity": self.qty, "price": str(price)}  # fmt: skip
        return (await self._signed("POST", params))["orderId"]

    async def amend(self, ref: Any, i: int, price: Decimal) -> None:
        params = {"symbol": SYMBOL, "orderId": ref, "side": "BUY", "quantity": self.qty,
                  "price": str(price)}  # fmt: skip
        await self._signed("PUT", params)

    async def cancel(self, ref: Any, i: int) -> None:
        await self._signed("DELETE", {"symbol": SYMBOL, "orderId": ref})

    async def close(self) -> None:
        await self.http.close()


class FloorWsClient(FloorClient):
    label = "floor: bare aiohttp WS API"
    transport = "ws"
    baseline = "mmoms WS API"
    _METHODS: ClassVar[dict[str, str]] = {
        "POST": "order.place",
        "PUT": "order.modify",
        "DELETE": "order.cancel",
    }

    async def setup(self) -> None:
        await super().setup()
        self.ws = await self.http.ws_connect(self.sim.ws + "/ws-fapi/v1")
        self._ids = itertools.count()

    async def _signed(self, method: str, params: dict[str, Any]) -> Any:
        params["apiKey"] = self.account.api_key
        params["timestamp"] = time.time_ns() // 1_000_000
        payload = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
        params["signature"] = self._hmac(self._secret, payload.encode(), self._sha).hexdigest()
        await self.ws.send_json(
            {"id": str(next(self._ids)), "method": self._METHODS[method], "params": params}
        )
        reply = await self.ws.receive_json()
        if reply["status"] != 200:
            raise RuntimeError(str(reply))
        return reply["result"]

    async def close(self) -> None:
        await self.ws.close()
        await super().close()


# -- the strategy-API peers: the whole OMS, timed where a strategy acts and hears --------------

ROOT = Path(__file__).resolve().parent.parent
NAUTILUS_PYTHON = ROOT / ".venv-nautilus" / "bin" / "python"
NAUTILUS_ENV = ROOT / "scripts" / "nautilus_env.sh"
NAUTILUS_PEER = Path(__file__).resolve().parent / "_nautilus_peer.py"
NAUTILUS_PREFIX = "BENCH "  # bench/_nautilus_peer.py's reply lines
BATCH_TIMEOUT_S = 60.0
STRATEGY_LABEL = "mmoms Strategy (whole OMS)"
NAUTILUS_LABEL = "NautilusTrader Strategy"
BatchSamples = dict[str, Any]  # {"place": [ns...], "amend": [...], "cancel": [...], "error": ...}


def _add_batch(out: Samples | None, batch: BatchSamples) -> None:
    if batch.get("error"):
        raise RuntimeError(batch["error"])
    if out is not None:
        for op in OPS:
            out.ops[op] += batch[op]


class StrategyPeer(MmomsStrategy):
    """mmoms's side of the strategy-API comparison, the twin of ``_nautilus_peer.Cycler``: per
    price pair a post-only LIMIT BUY placed (→ accepted), amended (→ amended), cancelled (→
    canceled); each clock from just before the action to the entry of ``on_order`` with the
    event it waits for, the next action taken inside that callback."""

    symbols = (SYMBOL,)

    def __init__(self) -> None:
        self._prices: list[tuple[Decimal, Decimal]] = []
        self._qty = Decimal(0)
        self._cid = ""
        self._t0 = 0
        self._step = "idle"
        self._out: BatchSamples = {}
        self._done: asyncio.Future[BatchSamples] | None = None

    def run_batch(
        self, prices: Sequence[tuple[Decimal, Decimal]], qty: Decimal
    ) -> asyncio.Future[BatchSamples]:
        self._prices, self._qty = list(reversed(prices)), qty
        self._out = {"place": [], "amend": [], "cancel": [], "error": None}
        self._done = asyncio.get_running_loop().create_future()
        self._next()
        return self._done

    def _finish(self, error: str | None = None) -> None:
        self._step = "idle"
        self._out["error"] = error
        if self._done is not None and not self._done.done():
            self._done.set_result(self._out)

    def _next(self) -> None:
        if not self._prices:
            self._finish()
            return
        self._step = "place"
        self._t0 = time.perf_counter_ns()
        self._cid = self.place(
            symbol=SYMBOL, side=Side.BUY, quantity=self._qty, price=self._prices[-1][0],
            time_in_force=TimeInForce.GTX,
        )  # fmt: skip

    def on_order(self, event: OrderEvent) -> None:
        t1 = time.perf_counter_ns()
        if event.client_order_id != self._cid or self._step == "idle":
            return
        if self._step == "place" and isinstance(event, OrderAccepted):
            self._out["place"].append(t1 - self._t0)
            self._step = "amend"
            self._t0 = time.perf_counter_ns()
            self.amend(self._cid, price=self._prices[-1][1])
        elif self._step == "amend" and isinstance(event, OrderAmended):
            self._out["amend"].append(t1 - self._t0)
            self._step = "cancel"
            self._t0 = time.perf_counter_ns()
            self.cancel(self._cid)
        elif self._step == "cancel" and isinstance(event, OrderCanceled):
            self._out["cancel"].append(t1 - self._t0)
            self._prices.pop()
            self._next()
        elif isinstance(event, FAILED_EVENTS):
            self._finish(f"{type(event).__name__} at {self._step}: {event!r}"[:300])

    def on_risk_rejected(self, rejection: Any) -> None:
        self._finish(f"risk rejected at {self._step}: {rejection!r}"[:300])


def _node_config(sim: SimProcess, durability: str | None = None) -> Any:
    """A node of the kind ``binance`` pointed at the simulator by its URLs, as a user would
    configure one; every default kept (the SQLite journal with durability "process" unless
    ``durability`` says otherwise, the 10 ms batching window — a
    lone action leaves at once, leading-edge) except the dead-man switch (off, the simulator's
    default: its heartbeats are no order traffic) and the limits (wide: the benchmark measures
    the engine, not its refusals)."""
    from mmoms.app.config import parse_config

    doc = {
        "venue": {
            "kind": "binance", "rest_url": sim.rest, "stream_url": sim.ws,
            "ws_api_url": f"{sim.ws}/ws-fapi/v1", "market_data_url": sim.ws,
        },
        "strategy": {"id": "bench", "symbols": [SYMBOL]},
        "oms": {"dead_man_switch_ms": 0},
        "risk": {
            "max_orders_per_second": 10**6,
            SYMBOL: {"max_order_qty": "1", "max_order_notional": "1000000000",
                     "max_open_orders": 10_000, "max_position": "1000", "price_band_pct": "10"},
        },
    }  # fmt: skip
    if durability is not None:
        doc["journal"] = {"durability": durability}
    return parse_config(doc)


@contextlib.contextmanager
def _replaced(module: Any, **names: Any) -> Iterator[None]:
    """Module attributes replaced for the ``with`` block, then put back."""
    saved = {name: getattr(module, name) for name in names}
    for name, value in names.items():
        setattr(module, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(module, name, value)


# The strategy nodes' engine stages, µs, of the last repeat (every action, warm-up included):
# decide = intent → planned, journal = the write-ahead commit, wire = to the bytes sent, ack =
# the venue's reply, total = intent → reply.
STAGES: dict[str, dict[str, dict[str, float]]] = {}
JOURNALS: dict[str, str] = {}  # strategy node label → its journal, as the node opened it


class MmomsStrategyClient(Client):
    """The whole OMS (journal, risk, engine, gateway, user stream) in a :class:`mmoms.Node`,
    driven from a :class:`mmoms.Strategy`; in this process, on this loop."""

    label = STRATEGY_LABEL
    baseline = STRATEGY_LABEL
    durability: str | None = None  # the node's default journal (SQLite, durability "process")

    async def setup(self) -> None:
        from dataclasses import replace

        import mmoms.app.node as node_module
        from mmoms.app.node import Node, NodeOptions
        from mmoms.core.ids import StrategyId
        from mmoms.venues.binance import BinanceGateway, Credentials

        config = _node_config(self.sim, self.durability)
        JOURNALS[self.label] = f"SQLite, durability {config.journal.durability}"
        self.strategy = StrategyPeer()
        spec = replace(
            config.strategies[0], strategy_id=StrategyId("bench"), entry="bench/peers.py",
            cls=StrategyPeer,
        )  # fmt: skip
        self._dir = tempfile.TemporaryDirectory(prefix="mmoms-peer-")
        options = NodeOptions(journal_path=f"{self._dir.name}/journal.sqlite", ready_line=False)
        creds = Credentials.hmac(self.account.api_key, self.account.api_secret)
        self.node = Node(config, [(spec, self.strategy)], options, credentials=creds)

        class Gateway(BinanceGateway):
            # The simulator's limits up front, as MmomsClient does (see there): every client's
            # weight counts against 127.0.0.1, beyond Binance's default before exchangeInfo.
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                self.rate.set_limits(BIG_LIMITS)

        # The node builds its gateway as it starts: replaced only until it trades. Its journal
        # is the node's own (app/node_parts.py open_store, from the config's durability).
        with _replaced(node_module, BinanceGateway=Gateway):
            self.task = asyncio.create_task(self.node.run())
            trading = asyncio.create_task(self.node.trading.wait())
            await asyncio.wait({self.task, trading}, timeout=60, return_when="FIRST_COMPLETED")
        if not self.node.trading.is_set():
            trading.cancel()
            why = f"exit {self.task.result()}" if self.task.done() else "not within 60 s"
            raise RuntimeError(f"the node did not start trading ({why}): {self.node.failures}")

    async def cycles(self, indices: Sequence[int], out: Samples | None) -> None:
        prices = [self.market.prices(i) for i in indices]
        batch = self.strategy.run_batch(prices, self.market.qty)
        _add_batch(out, await asyncio.wait_for(batch, BATCH_TIMEOUT_S))

    async def close(self) -> None:
        if self.node.oms is not None:  # where the engine's time went (its own histograms)
            latency = self.node.oms.metrics.latency
            STAGES[self.label] = {
                stage: {"p50": latency[stage].percentile(50) / 1000,
                        "p99": latency[stage].percentile(99) / 1000}
                for stage in ("decide", "journal", "wire", "ack", "total")
            }  # fmt: skip
        self.node.stop()
        status = await asyncio.wait_for(self.task, 30)
        self._dir.cleanup()
        if status != 0:
            raise RuntimeError(f"the node stopped with {status}: {self.node.failures}")


class MmomsStrategyFsyncClient(MmomsStrategyClient):
    """Not the default: the same node with ``[journal] durability = "fsync"`` (SQLite
    ``synchronous=FULL``: a commit returns once on disk), to show what that durability costs."""

    label = "mmoms Strategy (durability fsync)"
    durability = "fsync"


def nautilus_python() -> tuple[Path | None, str]:
    """NautilusTrader's interpreter, its environment made or checked by
    ``scripts/nautilus_env.sh`` (the judge's); else None and why."""
    try:
        done = subprocess.run(
            [str(NAUTILUS_ENV)], capture_output=True, text=True, timeout=900, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"scripts/nautilus_env.sh: {exc!r}"
    if done.returncode != 0:
        tail = (done.stderr.strip() or done.stdout.strip()).splitlines()[-1:]
        return None, f"scripts/nautilus_env.sh exit {done.returncode}: {' '.join(tail)}"
    return NAUTILUS_PYTHON, done.stdout.strip()


class NautilusClient(Client):
    """NautilusTrader's TradingNode with its Binance USDⓈ-M adapter, driven from its Strategy
    API in a process of its own (``bench/_nautilus_peer.py``, its own venv), batch by batch."""

    label = NAUTILUS_LABEL
    baseline = STRATEGY_LABEL
    python: ClassVar[Path | None] = None  # set by run() once its environment is there
    info: ClassVar[dict[str, Any]] = {}  # what the peer said when ready (its version, loop)

    async def setup(self) -> None:
        if self.python is None:
            raise RuntimeError("no NautilusTrader environment")
        env = {
            **os.environ, "NAUTILUS_BENCH_KEY": self.account.api_key,
            "NAUTILUS_BENCH_SECRET": self.account.api_secret, "PYTHONUNBUFFERED": "1",
        }  # fmt: skip
        self.chatter: collections.deque[str] = collections.deque(maxlen=20)
        self.proc = await asyncio.create_subprocess_exec(
            str(self.python), str(NAUTILUS_PEER), self.sim.rest, self.sim.ws, SYMBOL,
            str(self.market.qty), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT, env=env,
        )  # fmt: skip
        ready = await self._reply(120)
        if not ready.get("ready"):
            raise RuntimeError(f"the NautilusTrader node did not start: {ready.get('error')}")
        NautilusClient.info = {k: v for k, v in ready.items() if k != "ready"}

    async def _reply(self, within_s: float) -> BatchSamples:
        """The peer's next reply line; its other output kept for the error message."""
        assert self.proc.stdout is not None
        async with asyncio.timeout(within_s):
            while line := (await self.proc.stdout.readline()).decode():
                if line.startswith(NAUTILUS_PREFIX):
                    return dict(json.loads(line[len(NAUTILUS_PREFIX) :]))
                self.chatter.append(line.rstrip())
        raise RuntimeError(f"the peer exited: {' | '.join(self.chatter)}"[:600])

    async def cycles(self, indices: Sequence[int], out: Samples | None) -> None:
        assert self.proc.stdin is not None
        prices = [[str(p) for p in self.market.prices(i)] for i in indices]
        self.proc.stdin.write((json.dumps({"prices": prices}) + "\n").encode())
        await self.proc.stdin.drain()
        _add_batch(out, await self._reply(BATCH_TIMEOUT_S))

    async def close(self) -> None:
        if self.proc.returncode is None and self.proc.stdin is not None:
            with contextlib.suppress(ConnectionError):
                self.proc.stdin.write(b'{"stop": true}\n')
                await self.proc.stdin.drain()
        try:
            await asyncio.wait_for(self.proc.wait(), 30)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()


CLIENTS: dict[str, type[Client]] = {
    c.label: c
    for c in (
        MmomsClient, MmomsWsClient, CcxtClient, CcxtProClient, SdkRestClient, SdkWsClient,
        PythonBinanceClient, FloorClient, FloorWsClient, MmomsStrategyClient,
        MmomsStrategyFsyncClient, NautilusClient,
    )
}  # fmt: skip


# -- the run ------------------------------------------------------------------------------------


@dataclass
class Samples:
    ops: dict[str, list[int]] = field(default_factory=lambda: {op: [] for op in OPS})
    error: str | None = None


async def market_of(rest: str) -> Market:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{rest}/fapi/v1/exchangeInfo") as reply:
            info = await reply.json()
        async with http.get(f"{rest}/fapi/v1/premiumIndex", params={"symbol": SYMBOL}) as reply:
            mark = Decimal((await reply.json())["markPrice"])
    spec = next(s for s in info["symbols"] if s["symbol"] == SYMBOL)
    filters = {f["filterType"]: f for f in spec["filters"]}
    tick = Decimal(filters["PRICE_FILTER"]["tickSize"])
    step = Decimal(filters["LOT_SIZE"]["stepSize"])
    price = (mark * Decimal("0.97") / tick).to_integral_value(ROUND_DOWN) * tick
    min_notional = Decimal(filters.get("MIN_NOTIONAL", {}).get("notional", "5"))
    qty = max(Decimal(filters["LOT_SIZE"]["minQty"]), min_notional * 2 / price)
    qty = (qty / step).to_integral_value() * step + step
    return Market(price, tick, qty)


async def cycle(client: Client, i: int, out: Samples | None) -> None:
    placed_at, amended_at = client.market.prices(i)
    clock = time.perf_counter_ns
    t0 = clock()
    ref = await client.place(i, placed_at)
    t1 = clock()
    await client.amend(ref, i, amended_at)
    t2 = clock()
    await client.cancel(ref, i)
    t3 = clock()
    if out is not None:
        out.ops["place"].append(t1 - t0)
        out.ops["amend"].append(t2 - t1)
        out.ops["cancel"].append(t3 - t2)


async def one_repeat(
    sim: SimProcess,
    accounts: dict[str, Account],
    labels: Sequence[str],
    cycles: int,
    batch: int,
    warmup: int,
    log: Callable[[str], None],
) -> tuple[dict[str, Samples], dict[str, Any]]:
    market = await market_of(sim.rest)
    clients: list[Client] = []
    results: dict[str, Samples] = {label: Samples() for label in labels}
    for label in labels:
        client = CLIENTS[label](sim, accounts[label], market)
        try:
            await client.setup()
            clients.append(client)
        except Exception as exc:  # a peer that cannot start is reported, not fatal
            results[label].error = f"setup failed: {exc!r}"
            log(f"  {label}: setup failed: {exc!r}")
    counter = itertools.count()
    live = list(clients)

    async def turn(client: Client, n: int, measured: bool) -> None:
        out = results[client.label] if measured else None
        try:
            await client.cycles([next(counter) for _ in range(n)], out)
        except Exception as exc:
            results[client.label].error = f"{type(exc).__name__}: {exc}"[:300]
            log(f"  {client.label}: failed: {exc!r}")
            live.remove(client)

    for client in list(live):  # warm-up: connections, caches, the JIT-less interpreter's
        await turn(client, warmup, measured=False)
    await sim.reset_stats()
    gc.collect()
    rounds = -(-cycles // batch)
    for r in range(rounds):
        order = live[r % len(live) :] + live[: r % len(live)] if live else []
        for client in order:
            if client in live:
                await turn(client, min(batch, cycles - r * batch), measured=True)
    server = await sim.stats(reset=True)
    for client in clients:
        with contextlib.suppress(Exception):
            await client.close()
    return results, server


def _server_ops(
    server: dict[str, Any], accounts: dict[str, Account], label: str, transport: str
) -> dict[str, dict[str, float]]:
    """This client's server-side summaries per op (µs); plus anything else it asked for."""
    mine = server.get(accounts[label].api_key, {})
    out = {op: mine[key] for op, key in SIM_OPS[transport].items() if key in mine}
    wanted = set(SIM_OPS[transport].values())
    out.update({f"other: {key}": v for key, v in mine.items() if key not in wanted})
    return out


async def run(args: argparse.Namespace, figures: Figures) -> None:
    labels = [label.strip() for label in args.clients.split(",") if label.strip()]
    unknown = [label for label in labels if label not in CLIENTS]
    if unknown:
        raise SystemExit(f"unknown clients {unknown}; known: {list(CLIENTS)}")
    accounts = {label: Account.make(str(i)) for i, label in enumerate(labels)}
    pooled: dict[str, Samples] = {label: Samples() for label in labels}
    p50s: dict[str, dict[str, list[float]]] = {label: {op: [] for op in OPS} for label in labels}
    server_p50s: dict[str, dict[str, list[float]]] = {}
    server_last: dict[str, Any] = {}
    running = list(labels)
    if NAUTILUS_LABEL in labels:  # its own venv, made (or checked) before the clock starts
        NautilusClient.python, said = nautilus_python()
        if NautilusClient.python is None:  # skipped, and said so: never silently
            print(f"{NAUTILUS_LABEL}: skipped: {said}")
            pooled[NAUTILUS_LABEL].error = f"skipped: {said}"
            running.remove(NAUTILUS_LABEL)
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "sim.toml"
        config.write_text(sim_toml(list(accounts.values())))
        with SimProcess(config) as sim:
            print(f"simulator {sim.rest} ({sim.pinning})")
            figures.extra["pinning"] = sim.pinning
            for repeat in range(args.repeats):
                started = time.perf_counter()
                results, server = await one_repeat(
                    sim, accounts, running, args.cycles, args.batch, args.warmup, print
                )
                for label, samples in results.items():
                    if samples.error:
                        pooled[label].error = samples.error
                    for op in OPS:
                        pooled[label].ops[op] += samples.ops[op]
                        if samples.ops[op]:
                            p50s[label][op].append(summarize(samples.ops[op])["p50"])
                    transport = CLIENTS[label].transport
                    ops = _server_ops(server, accounts, label, transport)
                    server_last[label] = ops
                    for op, summary in ops.items():
                        if summary.get("n"):
                            server_p50s.setdefault(label, {}).setdefault(op, []).append(
                                summary["p50"]
                            )
                print(f"repeat {repeat + 1}/{args.repeats}: {time.perf_counter() - started:.1f} s")
    if NautilusClient.info:
        figures.extra["nautilus"] = NautilusClient.info
    report(labels, pooled, p50s, server_p50s, server_last, figures)
    if JOURNALS:
        figures.extra["strategy_journals"] = JOURNALS
    if STAGES:
        figures.extra["strategy_stages"] = STAGES
        print("\nthe strategy nodes' engine stages, p50/p99 µs (last repeat, every action):")
        for label, stages in STAGES.items():
            shown = "  ".join(f"{k} {v['p50']:.0f}/{v['p99']:.0f}" for k, v in stages.items())
            print(f"  {label}: {shown}")


def _spread(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def report(
    labels: Sequence[str],
    pooled: dict[str, Samples],
    p50s: dict[str, dict[str, list[float]]],
    server_p50s: dict[str, dict[str, list[float]]],
    server_last: dict[str, Any],
    figures: Figures,
) -> None:
    table: dict[str, Any] = {}
    for label in labels:
        entry: dict[str, Any] = {
            "transport": CLIENTS[label].transport,
            "baseline": CLIENTS[label].baseline,
            "error": pooled[label].error,
            "ops": {},
        }
        for op in OPS:
            summary = summarize(pooled[label].ops[op])
            server = _spread(server_p50s.get(label, {}).get(op, []))
            item: dict[str, Any] = {
                "round_trip": summary,
                "p50_over_repeats": _spread(p50s[label][op]),
                "sim_handling": server_last.get(label, {}).get(op, {}),
                "sim_handling_p50_over_repeats": server,
            }
            if summary.get("n") and server:
                item["net_p50"] = summary["p50"] - server["median"]
            entry["ops"][op] = item
            figures.series[f"{label} {op}"] = summary
        entry["other_requests"] = {
            k: v for k, v in server_last.get(label, {}).items() if k.startswith("other")
        }
        table[label] = entry
    floors = {"rest": FloorClient.label, "ws": FloorWsClient.label}
    for label in labels:  # ratios against mmoms on the same transport
        base = table.get(table[label]["baseline"])
        floor = table.get(floors[table[label]["transport"]])
        for op in OPS:
            item = table[label]["ops"][op]
            mine = item["round_trip"]
            if not mine.get("n"):
                continue
            if floor is not None and floor["ops"][op]["round_trip"].get("n"):
                item["above_floor_p50"] = mine["p50"] - floor["ops"][op]["round_trip"]["p50"]
            if base is None or not base["ops"][op]["round_trip"].get("n"):
                continue
            ref = base["ops"][op]
            item["ratio_p50"] = mine["p50"] / ref["round_trip"]["p50"]
            item["ratio_p99"] = mine["p99"] / ref["round_trip"]["p99"]
            if "net_p50" in item and ref.get("net_p50", 0) > 0:
                item["ratio_net_p50"] = item["net_p50"] / ref["net_p50"]
    figures.extra["clients"] = table
    print_table(labels, table)
    errors = {label: e["error"] for label, e in table.items() if e["error"]}
    for label, error in errors.items():
        print(f"{label}: {error}")
        figures.notes.append(f"{label}: {error}")


def print_table(labels: Sequence[str], table: dict[str, Any]) -> None:
    width = max(len(label) for label in labels) + 1

    def f(x: float | None, fmt: str = ".0f") -> str:
        return "-" if x is None else format(x, fmt)

    print()
    print("round trip per operation, µs, pooled over repeats. sim: the simulator's handling;")
    print("net: p50 - sim p50; >floor: p50 - the bare-aiohttp floor's p50 (the library's own")
    print("cost); x: this / mmoms on the same transport")
    print(
        f"{'client':<{width}}{'op':<7}{'p50':>7}{'p99':>8}{'p999':>8}{'n':>7}"
        f"{'p50 min/med/max':>18}{'sim':>5}{'net':>6}{'>floor':>7}"
        f"{'x p50':>7}{'x p99':>7}{'x net':>7}"
    )
    for label in labels:
        for op in OPS:
            item = table[label]["ops"][op]
            rt = item["round_trip"]
            if not rt.get("n"):
                print(f"{label:<{width}}{op:<7}  no samples ({table[label]['error']})")
                continue
            spread = item["p50_over_repeats"]
            spread_text = f"{spread['min']:.0f}/{spread['median']:.0f}/{spread['max']:.0f}"
            sim = item["sim_handling_p50_over_repeats"]
            print(
                f"{label:<{width}}{op:<7}{rt['p50']:7.0f}{rt['p99']:8.0f}{rt['p999']:8.0f}"
                f"{rt['n']:7d}{spread_text:>18}{f(sim.get('median')):>5}"
                f"{f(item.get('net_p50')):>6}{f(item.get('above_floor_p50')):>7}"
                f"{f(item.get('ratio_p50'), '.2f'):>7}{f(item.get('ratio_p99'), '.2f'):>7}"
                f"{f(item.get('ratio_net_p50'), '.2f'):>7}"
            )
        others = table[label]["other_requests"]
        if others:
            sent = ", ".join(f"{k[7:]} x{v['n']}" for k, v in others.items())
            print(f"{'':<{width}}also sent: {sent}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=2000, help="measured cycles per client")
    parser.add_argument("--batch", type=int, default=10, help="cycles per turn")
    parser.add_argument("--warmup", type=int, default=50, help="unmeasured cycles per client")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--clients", default=",".join(CLIENTS), help="comma-separated labels")
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    parser.add_argument("--json", metavar="PATH", help="write the figures here")
    args = parser.parse_args(argv)
    if args.quick:
        args.cycles, args.batch, args.warmup, args.repeats = 20, 5, 3, 2
    logging.basicConfig(level=logging.CRITICAL)  # the peers' connection chatter
    warnings.simplefilter("ignore")  # the peers' deprecation warnings: not ours to fix
    figures = Figures("peers")
    figures.extra["settings"] = {
        "cycles": args.cycles, "batch": args.batch, "warmup": args.warmup,
        "repeats": args.repeats,
    }  # fmt: skip
    run_loop(lambda: run(args, figures))
    figures.write(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
