"""The simulator as a separate process (a kill -9 of the OMS must not touch it), its admin
endpoints, and the pump that drives its clock.

The simulator runs on virtual time and :class:`TimePump` advances that clock to the wall clock
every few tens of milliseconds, so the OMS sees an exchange living in real time. The point is
:meth:`TimePump.freeze`: a checkpoint stops the exchange's time, and with it every fill, trigger
and expiry, so the OMS's book and the venue can be compared exactly, not approximately.

The account's key pair is generated per run and handed to the simulator through its environment
(``MMOMS_SIM_API_KEY`` / ``MMOMS_SIM_API_SECRET``): never on a command line, never printed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

__all__ = ["AdminClient", "SimProcess", "SoakSetupError", "TimePump", "sim_config_text"]

_READY = re.compile(r"mmoms-sim ready rest=(\S+) ws=(\S+)")


class SoakSetupError(Exception):
    """The soak could not set up its processes (exit status 2)."""


def sim_config_text(seed: int) -> str:
    """Lively markets (fills within seconds), long histories (the truth reads all of them)."""
    markets = "\n".join(
        f'[[symbols]]\nsymbol = "{symbol}"\n[symbols.market]\n'
        f'level_qty = "{level}"\ntrade_qty_mean = "{trade}"\ntrade_probability = 0.5\n'
        for symbol, level, trade in (
            ("BTCUSDC", "0.040", "0.060"),
            ("ETHUSDC", "0.800", "1.200"),
            ("BTCUSDT", "0.040", "0.060"),
        )
    )
    # A higher rate tier than Binance's default (2400 weight, 1200 orders a minute): the quoter
    # runs at ~50 actions/s, about 1 weight each. After a 429 burst the gateway throttles every
    # pool to 1/8 for a minute, reconciliation and listenKey requests included; with a weight
    # budget near what the quoter spends, that leaves the OMS blind for up to a minute (finding
    # F5 of the soak's first 30-minute run). A weight budget well above the quoter's keeps the
    # run about the invariants; order counts stay tight, so 429s still throttle the quoting.
    limits = "request_weight_per_minute = 60000\norders_per_10s = 600\norders_per_minute = 3000"
    return (
        f"seed = {seed}\norder_history_limit = 1000000\ntrade_history_limit = 1000000\n\n"
        f'[server]\nvirtual_time = true\nlog_level = "WARNING"\n\n'
        f"[rate_limits]\n{limits}\n\n[faults]\nseed = {seed}\n\n{markets}"
    )


@dataclass
class SimProcess:
    proc: asyncio.subprocess.Process
    rest_url: str
    ws_url: str
    api_key: str
    api_secret: str

    @classmethod
    async def start(cls, workdir: Path, seed: int) -> SimProcess:
        """Raises SoakSetupError when the simulator does not come up within 30 s."""
        config = workdir / "sim.toml"
        config.write_text(sim_config_text(seed))
        key, secret = secrets.token_hex(32), secrets.token_hex(32)
        env = {**os.environ, "MMOMS_SIM_API_KEY": key, "MMOMS_SIM_API_SECRET": secret}
        with (workdir / "sim.log").open("ab") as log:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "mmoms.sim.cli", "--config", str(config), "--port", "0",
                stdout=asyncio.subprocess.PIPE, stderr=log, env=env,
            )  # fmt: skip
        assert proc.stdout is not None
        try:
            line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        except TimeoutError:
            line = ""
        found = _READY.search(line)
        if found is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            raise SoakSetupError(f"the simulator did not start (see {workdir / 'sim.log'})")
        return cls(proc, found.group(1), found.group(2), key, secret)

    async def close(self) -> None:
        if self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


class AdminClient:
    """The simulator's ``/admin/*`` endpoints (documented in :mod:`mmoms.sim.server`)."""

    def __init__(self, rest_url: str) -> None:
        self._base = rest_url
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))

    async def close(self) -> None:
        await self._http.close()

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        """Raises SoakSetupError on a refused request (the soak's own bug, not the OMS's)."""
        async with self._http.request(method, f"{self._base}{path}", json=body) as reply:
            data = await reply.json()
            if reply.status != 200:
                raise SoakSetupError(f"admin {method} {path}: {reply.status} {data}")
            return data

    async def read(self, api_key: str, endpoint: str, **params: str) -> Any:
        body = {"apiKey": api_key, "endpoint": endpoint, "params": params}
        return (await self.call("POST", "/admin/read", body))["result"]

    async def fault_log(self, since: int) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = (
            await self.call("GET", f"/admin/faults/log?since={since}")
        )["entries"]
        return entries


class TimePump:
    """Moves the simulator's virtual clock along with the wall clock, until frozen."""

    def __init__(self, admin: AdminClient, interval_s: float = 0.05, step_ms: int = 100) -> None:
        self._admin = admin
        self._interval_s = interval_s
        self._step_ms = step_ms
        self._running = asyncio.Event()
        self._running.set()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self.frozen_s = 0.0
        self._frozen_at = 0.0
        self._virtual_ms: int | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="time-pump")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def freeze(self) -> None:
        """Stop the exchange's time; returns once no advance is in progress."""
        self._running.clear()
        async with self._lock:
            self._frozen_at = time.monotonic()

    def resume(self) -> None:
        if not self._running.is_set():
            self.frozen_s += time.monotonic() - self._frozen_at
            self._running.set()

    async def _run(self) -> None:
        while True:
            await self._running.wait()
            async with self._lock:
                if self._running.is_set():
                    await self._advance()
            await asyncio.sleep(self._interval_s)  # pacing of the clock, not synchronisation

    async def _advance(self) -> None:
        if self._virtual_ms is None:
            self._virtual_ms = int((await self._admin.call("GET", "/admin/time"))["serverTime"])
        behind = time.time_ns() // 1_000_000 - self._virtual_ms
        if behind > 0:
            body = {"ms": behind, "stepMs": self._step_ms}
            reply = await self._admin.call("POST", "/admin/time/advance", body)
            self._virtual_ms = int(reply["serverTime"])

    def failure(self) -> BaseException | None:
        """The pump's error if it died (the exchange's clock then stands still)."""
        task = self._task
        if task is None or not task.done() or task.cancelled():
            return None
        return task.exception()
