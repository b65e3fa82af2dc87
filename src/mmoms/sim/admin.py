"""The simulator's admin endpoints: fault rules and their log, on-demand faults, virtual time.

The routes and their JSON are listed in the :mod:`mmoms.sim.server` docstring. They exist only
on the simulator, need no credentials, and are not subject to faults or rate limits.

Time control (``POST /admin/time/advance``) needs a :class:`~mmoms.sim.clock.VirtualSimClock`.
It moves the clock in jumps that stop at every expiry the exchange reports
(``exchange.next_deadline()``: GTD orders, conditional orders, countdowns, listenKeys) and at
every ``stepMs`` when given, so each expiry happens at its own instant. Within one jump at most
``max_catchup_steps`` market steps run (the rest are skipped, see :mod:`mmoms.sim.exchange`); ask
for ``stepMs`` ≤ that span to run every step. Between jumps the call yields so stream writers
can drain their queues.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import msgspec

from mmoms.sim.api import SimApiError
from mmoms.sim.clock import VirtualSimClock
from mmoms.sim.fault_rules import RuleError

if TYPE_CHECKING:
    from mmoms.sim.server import SimServer

__all__ = ["AdminApi"]

_WS_TARGETS = ("user", "market", "wsapi", "all")
Reply = tuple[int, Any]


class _BadRequestError(Exception):
    pass


class AdminApi:
    def __init__(self, server: SimServer) -> None:
        self._server = server

    async def handle(self, method: str, path: str, query: str, body: bytes) -> Reply:
        """Answer one admin request; never raises for bad input (400 with ``error``)."""
        routes = {
            ("GET", "/admin/faults"): self._get_faults,
            ("POST", "/admin/faults"): self._add_faults,
            ("DELETE", "/admin/faults"): self._delete_faults,
            ("GET", "/admin/faults/log"): self._fault_log,
            ("POST", "/admin/ws/disconnect"): self._disconnect,
            ("POST", "/admin/listen-keys/expire"): self._expire_keys,
            ("GET", "/admin/time"): self._time,
            ("POST", "/admin/market"): self._market,
            ("POST", "/admin/read"): self._read,
        }
        try:
            args = dict(parse_qsl(query))
            data = msgspec.json.decode(body) if body.strip() else {}
            if (method, path) == ("POST", "/admin/time/advance"):
                return await self._advance(data)
            handler = routes.get((method, path))
            if handler is None:
                return 404, {"error": f"no admin route {method} {path}"}
            return handler(data, args)
        except (_BadRequestError, RuleError, SimApiError, msgspec.DecodeError) as exc:
            text = exc.msg if isinstance(exc, SimApiError) else str(exc)
            return 400, {"error": text}
        except (RecursionError, UnicodeError):  # msgspec on deep nesting / a string not UTF-8
            return 400, {"error": "the body is not readable JSON"}

    # -- faults -----------------------------------------------------------------------------

    def _get_faults(self, _data: Any, _args: dict[str, str]) -> Reply:
        faults = self._server.faults
        now = self._server.clock.time_ms()
        return 200, {
            "seed": faults.seed,
            "rules": faults.rules(),
            "clockSkewMs": faults.skew_ms(now),
            "lastSeq": faults.last_seq,
        }

    def _add_faults(self, data: Any, _args: dict[str, str]) -> Reply:
        specs = data if isinstance(data, list) else [data]
        rules = self._server.faults.add(specs, self._server.clock.time_ms())
        return 200, {"rules": [rule.view() for rule in rules]}

    def _delete_faults(self, _data: Any, args: dict[str, str]) -> Reply:
        faults = self._server.faults
        if "id" in args:
            return 200, {"removed": int(faults.remove(_int(args["id"], "id")))}
        count = len(faults.rules())
        faults.clear()
        return 200, {"removed": count}

    def _fault_log(self, _data: Any, args: dict[str, str]) -> Reply:
        faults = self._server.faults
        since = _int(args.get("since", "0"), "since")
        return 200, {"entries": faults.entries(since), "lastSeq": faults.last_seq}

    # -- on-demand faults -------------------------------------------------------------------

    def _disconnect(self, data: Any, _args: dict[str, str]) -> Reply:
        data = _object(data)
        target = data.get("target", "all")
        mode = data.get("mode", "abort")
        api_key = data.get("apiKey")
        if target not in _WS_TARGETS or mode not in ("abort", "close"):
            raise _BadRequestError("target must be user/market/wsapi/all and mode abort/close")
        server = self._server
        count = 0
        if target != "wsapi":
            count += server.hub.disconnect(target, mode, api_key)
        if target in ("wsapi", "all"):
            count += server.wsapi.disconnect(mode)
        seq = server.faults.record(
            "ws_disconnect", server.clock.time_ms(), target=target, mode=mode, connections=count
        )
        return 200, {"disconnected": count, "seq": seq}

    def _expire_keys(self, data: Any, _args: dict[str, str]) -> Reply:
        data = _object(data)
        server = self._server
        expire = getattr(server.exchange, "expire_listen_key", None)
        if expire is None:
            raise _BadRequestError("this exchange cannot expire listenKeys on demand")
        announce = data.get("announce", True)
        if not isinstance(announce, bool):
            raise _BadRequestError("announce must be true or false")
        expired = expire(data.get("listenKey"), data.get("apiKey"), announce)
        server.hub.sweep()  # streams of a silently dropped key close too
        seq = server.faults.record(
            "listen_key_expired", server.clock.time_ms(), count=len(expired), announced=announce
        )
        return 200, {"expired": expired, "seq": seq}

    def _market(self, data: Any, _args: dict[str, str]) -> Reply:
        data = _object(data)
        exchange: Any = self._server.exchange
        symbol = data.get("symbol")
        if not isinstance(symbol, str) or symbol not in getattr(exchange, "specs", {}):
            raise _BadRequestError("symbol must be one of the simulator's symbols")
        if "mid" in data:
            exchange.set_mid(symbol, str(data["mid"]))
            return 200, {}
        if data.get("side") in ("BUY", "SELL") and "quantity" in data:
            self._server.exchange.advance(self._server.clock.time_ms())
            return 200, {
                "filled": exchange.inject_trade(symbol, data["side"], str(data["quantity"]))
            }
        raise _BadRequestError('give "mid", or "side" and "quantity"')

    def _read(self, data: Any, _args: dict[str, str]) -> Reply:
        """A signed GET endpoint run in-process for one account: what the exchange holds,
        without auth, weights or faults (chaos tests need a truth the faults cannot touch)."""
        data = _object(data)
        key, endpoint_key = data.get("apiKey"), data.get("endpoint")
        params = data.get("params", {})
        exchange = self._server.exchange
        endpoint = exchange.endpoints.get(endpoint_key) if isinstance(endpoint_key, str) else None
        if endpoint is None or endpoint.method != "GET":
            raise _BadRequestError("endpoint must name one of the exchange's GET endpoints")
        account = exchange.account_for_key(key) if isinstance(key, str) else None
        if account is None:
            raise _BadRequestError("apiKey must name an account")
        if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
            raise _BadRequestError("params must be an object of strings")
        exchange.advance(self._server.clock.time_ms())
        return 200, {"result": endpoint.handler(account, params)}

    # -- time -------------------------------------------------------------------------------

    def _time(self, _data: Any, _args: dict[str, str]) -> Reply:
        server = self._server
        return 200, {"serverTime": server.clock.time_ms(), "virtual": server.virtual}

    async def _advance(self, data: Any) -> Reply:
        server = self._server
        clock = server.clock
        if not isinstance(clock, VirtualSimClock):
            return 409, {"error": "time control needs --virtual-time"}
        data = _object(data)
        ms = data.get("ms")
        step = data.get("stepMs")
        if isinstance(ms, bool) or not isinstance(ms, int) or ms < 0:
            raise _BadRequestError("ms must be a non-negative integer")
        if step is not None and (isinstance(step, bool) or not isinstance(step, int) or step <= 0):
            raise _BadRequestError("stepMs must be a positive integer")
        target = clock.time_ms() + ms
        next_deadline = getattr(server.exchange, "next_deadline", None)
        high_water = server.options.ws_queue_size // 2
        while (now := clock.time_ms()) < target:
            stop = target if step is None else min(target, now + step)
            deadline = next_deadline() if next_deadline is not None else None
            if deadline is not None and now < deadline < stop:
                stop = deadline
            clock.set(stop)
            server.tick(stop)
            await server.hub.drain(high_water)
            await asyncio.sleep(0)  # let delayed replies and stream writers run
        server.tick(clock.time_ms())
        return 200, {"serverTime": clock.time_ms()}


def _object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise _BadRequestError("the body must be a JSON object")
    return data


def _int(text: str, name: str) -> int:
    # ASCII digits only: "²".isdigit() is true but int("²") raises; 20 digits is plenty.
    if not (text.isascii() and text.isdigit() and len(text) <= 20):
        raise _BadRequestError(f"{name} must be a non-negative integer")
    return int(text)
