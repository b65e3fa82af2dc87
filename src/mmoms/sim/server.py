"""The simulator's transport: one aiohttp port serving Binance REST, the WebSocket streams, the
WebSocket API and the simulator's own admin endpoints.

Design decisions:

* aiohttp's low-level :class:`aiohttp.web.Server` with a single handler: no router, no middleware,
  no access log by default. Dispatch is one dict lookup on ``"METHOD /path"`` in the exchange's
  endpoint table; everything Binance-specific about an endpoint (security, weight, order cost,
  handler) comes from that table (:mod:`mmoms.sim.api`). Auth, limits and post-processing are
  shared with the WebSocket API through :class:`mmoms.sim.gate.Gate`.
* Every reply is JSON with ``Content-Type: application/json``, errors included (the official SDK
  reads ``code``/``msg`` only then). An unexpected exception becomes HTTP 500 ``-1000`` and is
  logged with its traceback — never the request parameters, which carry signatures.
* Order of work per request, like Binance: IP weight (even for refused requests), then API key,
  signature and timestamp, then the account's ORDERS pools, then the handler.
* The market moves on two triggers: before each request (``exchange.advance(now)``) and on a
  background tick, so resting orders fill and listenKeys expire with no traffic.
* Two routes the futures exchange does not own but clients call on start-up are served here when
  the exchange lacks them: spot ``GET /api/v3/ping`` (python-binance's constructor) and signed
  ``GET /sapi/v1/capital/config/getall`` plus ``GET /sapi/v1/margin/allPairs`` (an empty list;
  ccxt's ``load_markets`` calls both when keys are set).
* ``timing_header=True`` adds ``X-Sim-Handling-Us`` (handler time, µs) for the benchmark, so the
  client's own cost is not counted against the simulator.
* Faults (:mod:`mmoms.sim.faults`, rules in :mod:`mmoms.sim.fault_rules`) wrap each request:
  latency before / after execution, refusals (5xx, 429, 418) that skip execution and are not
  charged, the "unknown" 503 that executes first when its coin says so, ``-2013`` for orders
  younger than a stale-read window, clock skew on timestamp checks and ``GET /fapi/v1/time``.
* Virtual time: on a :class:`~mmoms.sim.clock.VirtualSimClock` nothing waits on the wall clock;
  injected latency is released as ``POST /admin/time/advance`` moves the clock. Request
  timestamps pass if they are inside the window of the virtual clock *or* the wall clock
  (third-party clients sign with their own clock).

Admin endpoints (unauthenticated, simulator-only; off with ``ServerOptions(admin=False)`` /
``--no-admin``). Bodies and replies are JSON; errors are ``{"error": "..."}`` with HTTP 400
(404 for an unknown admin path, 409 for time control without ``--virtual-time``):

==============================  =================================================================
``GET /admin/faults``           ``{"seed", "rules": [...], "clockSkewMs", "lastSeq"}``
``POST /admin/faults``          add one rule object or a list (see :mod:`mmoms.sim.fault_rules`)
                                → ``{"rules": [{"id", ...}]}``
``DELETE /admin/faults``        remove all rules, or one with ``?id=N`` → ``{"removed": n}``
``GET /admin/faults/log``       injected faults with ``seq > since`` (``?since=N``)
                                → ``{"entries": [{"seq", "time", "kind", ...}], "lastSeq"}``
``POST /admin/ws/disconnect``   ``{"target": "user"|"market"|"wsapi"|"all", "mode": "abort"|
                                "close", "apiKey"?}`` → ``{"disconnected": n, "seq"}``
``POST /admin/listen-keys/      ``{"listenKey"?, "apiKey"?, "announce": true}`` (none: every key)
expire``                        → ``{"expired": [keys], "seq"}``
``GET /admin/time``             ``{"serverTime", "virtual"}``
``POST /admin/time/advance``    ``{"ms": N, "stepMs"?: S}`` (virtual time only): moves the clock,
                                stopping at every expiry deadline (and every ``stepMs``), running
                                market steps, expiries and delayed replies → ``{"serverTime"}``
``POST /admin/market``          ``{"symbol", "mid": "96000.0"}`` moves the synthetic mid;
                                ``{"symbol", "side", "quantity"}`` trades at market now
``POST /admin/read``            ``{"apiKey", "endpoint": "GET /fapi/v1/openOrders", "params"}``:
                                a signed GET run for that account with no auth, weight or
                                fault → ``{"result": ...}`` (a truth for chaos tests)
==============================  =================================================================
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn, Protocol

import msgspec
from aiohttp import web

from mmoms.sim.admin import AdminApi
from mmoms.sim.api import Endpoint, Params, Security, SimApiError
from mmoms.sim.auth import RequestAuthenticator, parse_params
from mmoms.sim.clock import LiveSimClock, SimClock, VirtualSimClock
from mmoms.sim.faults import FaultInjector, RequestPlan
from mmoms.sim.gate import Gate, SkewedClock
from mmoms.sim.ratelimit import RateLimitConfig, RateLimiter, RateLimitError
from mmoms.sim.stream_conn import redact_target
from mmoms.sim.timers import sleeper_for
from mmoms.sim.userstream import StreamHub, classify_ws_path
from mmoms.sim.wsapi import WsApi, WsCall
from mmoms.sim.wsapi_conn import WsApiHub

__all__ = ["ServerOptions", "SimExchangeLike", "SimServer", "start_server"]

log = logging.getLogger(__name__)

_JSON = "application/json"
_UNKNOWN = b'{"code":-1000,"msg":"An unknown error occured while processing the request."}'
_SWEEP_EVERY_S = 1.0
_WS_API_PATH = "/ws-fapi/v1"


class SimExchangeLike(Protocol):
    """What the transport needs from :class:`mmoms.sim.exchange.SimExchange`."""

    @property
    def endpoints(self) -> Mapping[str, Endpoint]: ...
    @property
    def on_user_event(self) -> Callable[[str, dict[str, Any]], None] | None: ...
    @on_user_event.setter
    def on_user_event(self, sink: Callable[[str, dict[str, Any]], None]) -> None: ...

    def advance(self, now_ms: int) -> None: ...
    def listen_key_owner(self, key: str) -> str | None: ...
    def account_for_key(self, api_key: str) -> Any | None: ...
    def secret_for_key(self, api_key: str) -> str | None: ...


@dataclass(frozen=True, slots=True)
class ServerOptions:
    """Transport settings (the exchange has its own configuration)."""

    rate_limits: RateLimitConfig = field(default_factory=RateLimitConfig)
    tick_ms: int = 25  # background exchange.advance() period
    ws_ping_interval_s: float = 180.0  # Binance pings every 3 minutes
    ws_queue_size: int = 10_000  # frames buffered per user-data connection before it is dropped
    timing_header: bool = False  # add X-Sim-Handling-Us to every response
    access_log: bool = False
    admin: bool = True  # serve /admin/* (fault injection, time control)


class SimServer:
    """A running simulator endpoint: ``rest_url``, ``ws_url``, ``port`` and :meth:`close`."""

    def __init__(
        self,
        exchange: SimExchangeLike,
        clock: SimClock,
        options: ServerOptions | None = None,
        faults: FaultInjector | None = None,
    ) -> None:
        self.exchange = exchange
        self.clock = clock
        self.options = options or ServerOptions()
        self.faults = faults if faults is not None else FaultInjector()
        self.virtual = isinstance(clock, VirtualSimClock)
        self.sleeper = sleeper_for(clock)
        self.limiter = RateLimiter(self.options.rate_limits)
        self.auth = RequestAuthenticator(
            SkewedClock(clock, self.faults),
            key_exists=lambda key: exchange.account_for_key(key) is not None,
            secret_for_key=exchange.secret_for_key,
            public_key_for_key=_public_key_lookup(exchange),
            alt_clock=SkewedClock(LiveSimClock(), self.faults) if self.virtual else None,
        )
        self.hub = StreamHub(
            exchange.listen_key_owner,
            on_market_interest=self._market_interest,
            on_market_feeds=getattr(exchange, "set_market_feeds", None),
            ping_interval_s=self.options.ws_ping_interval_s,
            queue_size=self.options.ws_queue_size,
            faults=self.faults,
            clock=clock,
            sleeper=self.sleeper,
        )
        exchange.on_user_event = self.hub.publish
        self._endpoints: dict[str, Endpoint] = dict(_extra_endpoints(exchange))
        self._endpoints.update(exchange.endpoints)
        self.gate = Gate(self.limiter, self.faults, self._endpoints)
        self.wsapi = WsApiHub(
            WsApi(self._endpoints, self.gate, self.auth, exchange.account_for_key),
            clock,
            self.faults,
            self.sleeper,
            advance=exchange.advance,
            after_call=self._after_ws_call,
            ping_interval_s=self.options.ws_ping_interval_s,
        )
        self.admin = AdminApi(self) if self.options.admin else None
        self._encode = msgspec.json.Encoder().encode
        self._runner: web.ServerRunner | None = None
        self._ticker: asyncio.Task[None] | None = None
        self.host = ""
        self.port = 0

    def _market_interest(self, active: bool) -> None:
        """Market payloads cost the exchange work: ask for them only while someone listens."""
        if hasattr(self.exchange, "on_market_event"):
            self.exchange.on_market_event = self.hub.publish_market if active else None

    @property
    def rest_url(self) -> str:
        return f"http://{self._authority}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self._authority}"

    @property
    def _authority(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host  # IPv6 literal
        return f"{host}:{self.port}"

    async def start(self, host: str, port: int) -> None:
        """Bind and serve; ``port=0`` picks a free port (read it from :attr:`port`)."""
        kwargs: dict[str, Any] = {} if self.options.access_log else {"access_log": None}
        self._runner = web.ServerRunner(web.Server(self._handle, **kwargs), handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        self.host, self.port = host, self._runner.addresses[0][1]
        self._ticker = asyncio.create_task(self._tick_loop(), name="sim-ticker")

    async def close(self) -> None:
        """Stop ticking, close WebSockets, then the listening socket and connections."""
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        self.sleeper.cancel_all()
        await self.hub.close_all()
        await self.wsapi.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _tick_loop(self) -> None:
        interval = self.options.tick_ms / 1000
        sweep_every = max(1, round(_SWEEP_EVERY_S / interval))
        ticks = 0
        while True:
            await asyncio.sleep(interval)
            try:
                self.tick(self.clock.time_ms())
            except Exception:  # a bug in the exchange: keep serving, but make it loud
                log.exception("exchange.advance failed")
            ticks += 1
            if ticks % sweep_every == 0:
                self.hub.sweep()

    def tick(self, now: int) -> None:
        """Bring everything time-driven up to ``now`` (the ticker, and virtual-time advances)."""
        self.exchange.advance(now)
        self.sleeper.release(now)
        self.hub.flush_held()

    # -- request handling -------------------------------------------------------------------------

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        started = time.perf_counter_ns()
        path, _, query = request.raw_path.partition("?")
        method = request.method
        endpoint = self._endpoints.get(f"{method} {path}")
        if endpoint is None:
            if self.admin is not None and path.startswith("/admin/"):
                try:
                    status, reply = await self.admin.handle(
                        method, path, query, await request.read()
                    )
                except Exception:  # a bug in the simulator: say so, keep serving
                    log.exception("unhandled error serving %s %s", method, path)
                    status, reply = 500, {"error": "internal error, see the simulator's log"}
                return self._reply(status, self._encode(reply), {}, started)
            if method == "GET" and request.headers.get("Upgrade", "").lower() == "websocket":
                if path == _WS_API_PATH:
                    return await self.wsapi.serve(request)
                shape = classify_ws_path(path)
                if shape is not None:
                    return await self.hub.serve(request, shape[0], shape[1], query)
            used = self.limiter.used_weight(request.remote or "unknown", self.clock.time_ms())
            body = self._encode(_not_found(method, path))
            if log.isEnabledFor(logging.DEBUG):
                self._log_request(request, 404, body)
            return self._reply(404, body, {"X-MBX-USED-WEIGHT-1M": str(used)}, started)
        headers: dict[str, str] = {}
        ip = request.remote or "unknown"
        plan = self.faults.plan_request(endpoint.key, path, self.clock.time_ms(), "rest")
        try:
            body = await request.read() if request.body_exists else b""
            if plan is not None and plan.delay_before_ms:
                await self.sleeper.sleep_ms(plan.delay_before_ms)
            now = self.clock.time_ms()
            status, payload = self._dispatch(endpoint, request, query, body, ip, now, headers, plan)
        except RateLimitError as exc:
            status, payload = exc.http_status, self._encode(exc.body())
            headers["Retry-After"] = str(exc.retry_after_s)
        except SimApiError as exc:
            status, payload = exc.http_status, self._encode(exc.body())
        except Exception:
            log.exception("unhandled error serving %s %s", method, path)
            status, payload = 500, _UNKNOWN
        if plan is not None and plan.delay_after_ms:
            await self.sleeper.sleep_ms(plan.delay_after_ms)
        if "X-MBX-USED-WEIGHT-1M" not in headers:
            used = self.limiter.used_weight(ip, self.clock.time_ms())
            headers["X-MBX-USED-WEIGHT-1M"] = str(used)
        if log.isEnabledFor(logging.DEBUG):
            self._log_request(request, status, payload)
        return self._reply(status, payload, headers, started)

    def _dispatch(
        self,
        endpoint: Endpoint,
        request: web.BaseRequest,
        query: str,
        body: bytes,
        ip: str,
        now: int,
        headers: dict[str, str],
        plan: RequestPlan | None = None,
    ) -> tuple[int, bytes]:
        """Authenticate, charge and run one endpoint; raises :class:`SimApiError` to refuse."""
        if plan is not None and plan.refuse is not None:
            raise plan.refuse  # an injected refusal: not executed, not charged
        self.exchange.advance(now)
        params = parse_params(query, body)
        used = self.gate.charge_weight(endpoint, params, ip, now)
        headers["X-MBX-USED-WEIGHT-1M"] = str(used)
        account = None
        security = endpoint.security
        if security is not Security.NONE:
            api_key = self.auth.check_api_key(request.headers.get("X-MBX-APIKEY"))
            if security is Security.SIGNED:
                raw_query = query.encode("utf-8", "surrogateescape")
                self.auth.check_signed(api_key, raw_query, body, params)
            account = self.exchange.account_for_key(api_key)
            if endpoint.order_count:
                try:
                    self.gate.charge_orders(endpoint, api_key, now)
                finally:  # the counts go out on refusals too
                    ten, minute = self.limiter.order_counts(api_key, now)
                    headers["X-MBX-ORDER-COUNT-10S"] = str(ten)
                    headers["X-MBX-ORDER-COUNT-1M"] = str(minute)
        if plan is not None and plan.fail_after is not None:
            self._execute_unseen(endpoint, account, params, now, plan)
        result = self.gate.call(endpoint, account, params, now, "rest")
        if security is Security.USER_STREAM and endpoint.method == "DELETE":
            self.hub.sweep()  # a deleted listenKey closes its streams at once
        return 200, self._encode(result)

    def _execute_unseen(
        self, endpoint: Endpoint, account: Any, params: Params, now: int, plan: RequestPlan
    ) -> NoReturn:
        """The "unknown" 503 whose coin said executed: run it, note how it went, answer 503."""
        assert plan.fail_after is not None
        try:
            self.gate.call(endpoint, account, params, now, "rest")
            outcome = 200
        except SimApiError as exc:
            outcome = exc.code
        self.faults.note_outcome(plan.fail_seq, outcome)
        raise plan.fail_after

    def _after_ws_call(self, call: WsCall) -> None:
        if call.method == "userDataStream.stop":
            self.hub.sweep()

    @staticmethod
    def _log_request(request: web.BaseRequest, status: int, payload: bytes) -> None:
        """At DEBUG, one line per request: method, target (signature and listenKey cut), status
        and Binance code. Never a header (the API key) nor a body (signed form parameters)."""
        code = ""
        if status >= 400 and payload.startswith(b'{"code":'):
            code = " " + payload[8:].split(b",", 1)[0].decode("ascii", "replace")
        target = redact_target(request.raw_path)
        log.debug("%s %s -> %d%s", request.method, target[:300], status, code)

    def _reply(
        self, status: int, payload: bytes, headers: dict[str, str], started: int
    ) -> web.Response:
        if self.options.timing_header:
            headers["X-Sim-Handling-Us"] = str((time.perf_counter_ns() - started) // 1000)
        return web.Response(body=payload, status=status, headers=headers, content_type=_JSON)


def _not_found(method: str, path: str) -> dict[str, Any]:
    """Binance's answer to an unknown path (a captured testnet reply; code -5000)."""
    shown = path if len(path) <= 200 else path[:200]
    return {"code": -5000, "msg": f"Path {shown}, Method {method} is invalid"}


def _public_key_lookup(exchange: Any) -> Callable[[str], Any] | None:
    for name in ("ed25519_public_key_for", "public_key_for_key"):
        lookup = getattr(exchange, name, None)
        if callable(lookup):
            return lookup  # type: ignore[no-any-return]
    return None


def _extra_endpoints(exchange: SimExchangeLike) -> dict[str, Endpoint]:
    """Spot/SAPI routes some futures clients call during start-up (see module docstring)."""

    def ping(_account: Any, _params: Params) -> dict[str, Any]:
        return {}

    def capital_config(_account: Any, _params: Params) -> list[dict[str, Any]]:
        return [_coin_record(asset) for asset in _known_assets(exchange)]

    def no_margin_pairs(_account: Any, _params: Params) -> list[Any]:
        return []  # no spot margin here: ccxt then marks no currency as borrowable

    extras = [
        Endpoint("GET", "/api/v3/ping", Security.NONE, ping),
        Endpoint("GET", "/sapi/v1/capital/config/getall", Security.SIGNED, capital_config),
        Endpoint("GET", "/sapi/v1/margin/allPairs", Security.MARKET_DATA, no_margin_pairs),
    ]
    return {e.key: e for e in extras}


def _known_assets(exchange: SimExchangeLike) -> list[str]:
    """Margin and base assets from the exchange's own exchangeInfo, in a stable order."""
    assets = {"USDT": None, "USDC": None}
    info_endpoint = exchange.endpoints.get("GET /fapi/v1/exchangeInfo")
    if info_endpoint is not None:
        try:
            info = info_endpoint.handler(None, {})
            for entry in info.get("assets", []):
                assets[entry["asset"]] = None
            for symbol in info.get("symbols", []):
                assets[symbol["baseAsset"]] = None
        except (SimApiError, AttributeError, KeyError, TypeError):
            log.warning("could not read exchangeInfo for the SAPI coin list")
    return list(assets)


def _coin_record(asset: str) -> dict[str, Any]:
    """A minimal ``/sapi/v1/capital/config/getall`` item: trading on, no wallet transfers."""
    return {
        "coin": asset,
        "name": asset,
        "free": "0",
        "locked": "0",
        "freeze": "0",
        "withdrawing": "0",
        "ipoing": "0",
        "ipoable": "0",
        "storage": "0",
        "isLegalMoney": False,
        "trading": True,
        "depositAllEnable": False,
        "withdrawAllEnable": False,
        "networkList": [],
    }


def _options_from(exchange: SimExchangeLike) -> ServerOptions:
    """Default options, with the rate limits the exchange advertises in exchangeInfo."""
    config: Any = getattr(exchange, "config", None)
    try:
        limits = RateLimitConfig(
            request_weight_per_minute=config.request_weight_per_minute,
            orders_per_10s=config.orders_per_10s,
            orders_per_minute=config.orders_per_minute,
        )
    except (AttributeError, ValueError):
        return ServerOptions()
    return ServerOptions(rate_limits=limits)


async def start_server(
    host: str,
    port: int,
    exchange: SimExchangeLike,
    clock: SimClock | None = None,
    options: ServerOptions | None = None,
    faults: FaultInjector | None = None,
) -> SimServer:
    """Start serving ``exchange`` on ``host:port`` (0 = any free port) and return the server.

    ``clock`` defaults to the exchange's own (``exchange.clock``) or the wall clock; ``options``
    default to :class:`ServerOptions` with the rate limits of ``exchange.config`` when it has
    them; ``faults`` to an injector with no rules (add them through ``server.faults`` or
    ``POST /admin/faults``). Raises ``OSError`` when the address cannot be bound.
    """
    if clock is None:
        clock = getattr(exchange, "clock", None) or LiveSimClock()
    server = SimServer(exchange, clock, options or _options_from(exchange), faults)
    await server.start(host, port)
    return server
