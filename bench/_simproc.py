"""The simulator's CLI (``python -m mmoms.sim.cli``) with handling-time probes, for benchmarks.

The probes time the simulator's own work per request, so it can be shown apart from what the
clients cost: REST from the start of the server's request handler to the built response (what
``X-Sim-Handling-Us`` reports), WebSocket API from a text frame handed to the API to its reply
queued for sending. aiohttp's HTTP / WebSocket parsing and the socket writes are not in it.
Samples are kept per API key and operation (``"POST /fapi/v1/order"``, ``"order.place"``) and
served as µs summaries by ``GET /admin/bench/stats[?reset=1]``, an admin route added here.

Each probe costs two clock reads and an append; the reply is not held up by any parsing (the
WebSocket frames are decoded for their key and method only when the stats are asked for).

    python bench/_simproc.py [the options of mmoms sim]
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import summarize
from mmoms.sim import cli
from mmoms.sim.admin import AdminApi
from mmoms.sim.server import SimServer
from mmoms.sim.wsapi_conn import WsApiHub

_rest: list[tuple[str, str, int]] = []  # (api key, "METHOD /path", ns)
_ws: list[tuple[str | bytes, int]] = []  # (frame, ns): decoded lazily


def _install() -> None:
    handle = SimServer._handle
    on_text = WsApiHub._on_text
    admin = AdminApi.handle

    async def timed_handle(self: SimServer, request: Any) -> Any:
        started = time.perf_counter_ns()
        response = await handle(self, request)
        took = time.perf_counter_ns() - started
        path = request.raw_path.partition("?")[0]
        key = f"{request.method} {path}"
        if key in self._endpoints:
            _rest.append((request.headers.get("X-MBX-APIKEY", ""), key, took))
        return response

    def timed_on_text(self: WsApiHub, conn: Any, text: str) -> None:
        started = time.perf_counter_ns()
        on_text(self, conn, text)
        _ws.append((text, time.perf_counter_ns() - started))

    async def bench_admin(self: AdminApi, method: str, path: str, query: str, body: bytes) -> Any:
        if path != "/admin/bench/stats":
            return await admin(self, method, path, query, body)
        return 200, _stats(reset="reset=1" in query)

    SimServer._handle = timed_handle  # type: ignore[method-assign]
    WsApiHub._on_text = timed_on_text  # type: ignore[method-assign]
    AdminApi.handle = bench_admin  # type: ignore[method-assign]


def _stats(reset: bool) -> dict[str, dict[str, dict[str, float]]]:
    samples: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for api_key, key, took in _rest:
        samples[api_key][key].append(took)
    decode = msgspec.json.decode
    for frame, took in _ws:
        try:
            request = decode(frame)
            params = request.get("params") or {}
            samples[str(params.get("apiKey", ""))][f"ws {request.get('method')}"].append(took)
        except (msgspec.DecodeError, AttributeError):
            samples[""]["ws ?"].append(took)
    if reset:
        _rest.clear()
        _ws.clear()
    return {
        api_key: {op: summarize(values) for op, values in ops.items()}
        for api_key, ops in samples.items()
    }


if __name__ == "__main__":
    _install()
    sys.exit(cli.main(sys.argv[1:]))
