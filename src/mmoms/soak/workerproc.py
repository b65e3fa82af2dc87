"""The orchestrator's handle on one worker process (one incarnation of the OMS).

Commands go down its stdin, one per line; its stdout is read line by line as JSON: ``ready``,
``reconnect`` and ``stats`` are events (handed to a callback), anything else is the reply to
the command in progress. Its stderr (the OMS's log) goes to ``worker-<n>.log`` in the run's
directory: the evidence when something breaches.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mmoms.soak.simproc import SoakSetupError

__all__ = ["WorkerProcess"]

EventSink = Callable[[int, dict[str, Any]], None]
_EVENTS = frozenset({"ready", "reconnect", "stats"})
# A checkpoint's view lists every group of the incarnation: megabytes after a long run, far
# beyond asyncio's default 64 KiB line limit (a line over the limit would end the reading).
_LINE_LIMIT = 256 * 1024 * 1024


class WorkerProcess:
    def __init__(self, proc: asyncio.subprocess.Process, incarnation: int, log: Path) -> None:
        self.proc = proc
        self.incarnation = incarnation
        self.log = log
        self.started = time.monotonic()
        self.ready_at: float | None = None
        self.killed = False
        self.failpoint = ""  # MMOMS_FAILPOINTS of this incarnation: it may SIGKILL itself
        self.reader_error: BaseException | None = None
        self._ready = asyncio.Event()
        self._replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None

    @classmethod
    async def start(
        cls,
        *,
        rest_url: str,
        ws_url: str,
        api_key: str,
        api_secret: str,
        journal: Path,
        workdir: Path,
        seed: int,
        incarnation: int,
        on_event: EventSink,
        failpoint: str = "",
    ) -> WorkerProcess:
        env = {
            **os.environ,
            "MMOMS_BINANCE_API_KEY": api_key,
            "MMOMS_BINANCE_API_SECRET": api_secret,
            "MMOMS_FAILPOINTS": failpoint,
        }
        log = workdir / f"worker-{incarnation}.log"
        with log.open("ab") as err:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "mmoms.soak.worker", "--rest", rest_url, "--ws", ws_url,
                "--journal", str(journal), "--seed", str(seed), "--incarnation", str(incarnation),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=err,
                env=env, limit=_LINE_LIMIT,
            )  # fmt: skip
        worker = cls(proc, incarnation, log)
        worker.failpoint = failpoint
        worker._reader = asyncio.create_task(worker._read(on_event), name=f"worker-{incarnation}")
        return worker

    async def _read(self, on_event: EventSink) -> None:
        assert self.proc.stdout is not None
        try:
            await self._read_lines(self.proc.stdout, on_event)
        except (ValueError, OSError) as exc:  # the soak's own failure: say so, loudly
            self.reader_error = exc

    async def _read_lines(self, stdout: asyncio.StreamReader, on_event: EventSink) -> None:
        while line := await stdout.readline():
            try:
                message = json.loads(line)
            except ValueError:
                continue  # not ours (a library printing to stdout)
            kind = message.get("type")
            if kind == "ready":
                self.ready_at = time.monotonic()
                self._ready.set()
            if kind in _EVENTS:
                on_event(self.incarnation, message)
            else:
                self._replies.put_nowait(message)

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None

    @property
    def failpoint_fired(self) -> bool:
        """Dead by its own armed failpoint (a planned kill -9, not a crash)."""
        return bool(self.failpoint) and self.proc.returncode == -signal.SIGKILL

    async def wait_ready(self, timeout_s: float) -> bool:
        """True once the worker reconciled and trades; False if it died or timed out."""
        waiter = asyncio.create_task(self._ready.wait())
        exited = asyncio.create_task(self.proc.wait())
        await asyncio.wait({waiter, exited}, timeout=timeout_s, return_when="FIRST_COMPLETED")
        for task in (waiter, exited):
            task.cancel()
        await asyncio.gather(waiter, exited, return_exceptions=True)
        return self._ready.is_set() and self.alive

    async def request(self, command: str, reply: str, timeout_s: float) -> dict[str, Any] | None:
        """Send one command; its reply, or None (timeout, or the process is gone).

        Raises:
            SoakSetupError: the worker's output can no longer be read (the soak's own bug).
        """
        if self.reader_error is not None:
            raise SoakSetupError(f"reading OMS {self.incarnation} failed: {self.reader_error!r}")
        if not self.alive or self.proc.stdin is None:
            return None
        try:
            self.proc.stdin.write(f"{command}\n".encode())
            await self.proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            return None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        exited = asyncio.ensure_future(self.proc.wait())
        try:
            while (left := deadline - loop.time()) > 0:
                getting = asyncio.ensure_future(self._replies.get())
                await asyncio.wait({getting, exited}, timeout=left, return_when="FIRST_COMPLETED")
                if not getting.done():  # timed out, or the process died: no answer will come
                    getting.cancel()
                    await asyncio.gather(getting, return_exceptions=True)
                    return await self._last_words(reply) if exited.done() else None
                message = getting.result()
                if message.get("type") == reply:
                    return message
            return None  # stale replies of timed-out commands were skipped until the deadline
        finally:
            exited.cancel()
            await asyncio.gather(exited, return_exceptions=True)

    async def _last_words(self, reply: str) -> dict[str, Any] | None:
        """The process is gone: its reply may still be in the pipe (a reply, then exit)."""
        if self._reader is not None:
            await asyncio.wait({self._reader}, timeout=5)
        while not self._replies.empty():
            message = self._replies.get_nowait()
            if message.get("type") == reply:
                return message
        return None

    def kill9(self) -> None:
        self.killed = True
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGKILL)

    async def wait(self, timeout_s: float) -> int | None:
        try:
            code = await asyncio.wait_for(self.proc.wait(), timeout_s)
        except TimeoutError:
            return None
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
        return code

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
