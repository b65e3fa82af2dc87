"""The soak's conductor: simulator and OMS processes, the seeded plan, checkpoints, the end.

One seeded RNG draws everything the orchestrator decides (the plan, fault parameters, how long
the OMS stays dead), so a seed names a run. Event times are offsets from the start on a clock
that stands still during checkpoints (the exchange's clock does too), so a checkpoint neither
swallows nor bunches the faults planned after it; faults, kills and checks never interleave.

A checkpoint (see :mod:`mmoms.soak.checkpoint` for the worker's half): freeze the exchange's
clock, remove every fault rule, pause the strategy until nothing is in flight, then take the
OMS's view after a reconciliation and compare it with the venue's truth. The OMS converges in
steps (a reconciliation may start queries and fill backfills that land later), so a mismatch is
retried on the next reconciliation, up to :data:`MAX_ROUNDS`; what still differs then is a
breach. Every view pins a (journal seq, live state hash) pair for the replay check at the end.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

from mmoms.engine.failpoints import POINTS as FAILPOINTS
from mmoms.soak.chaos import KINDS, classify, episode, fired_enough
from mmoms.soak.finale import finish
from mmoms.soak.invariants import check_book, check_groups
from mmoms.soak.report import SoakResult
from mmoms.soak.schedule import plan
from mmoms.soak.simproc import AdminClient, SimProcess, SoakSetupError, TimePump
from mmoms.soak.strategy import StrategyConfig
from mmoms.soak.truth import TruthReader
from mmoms.soak.views import BookView, Breach, OrderView
from mmoms.soak.workerproc import WorkerProcess

__all__ = ["MAX_ROUNDS", "Soak", "SoakOptions"]

log = logging.getLogger("mmoms.soak")

MAX_ROUNDS = 5
READY_S = 60.0
RESTART_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class SoakOptions:
    duration_s: float
    seed: int
    workdir: Path
    inject_breach: bool = False  # doctor the first checkpoint's truth: the soak must fail


class Soak:
    def __init__(self, options: SoakOptions) -> None:
        self.opt = options
        self.rng = random.Random(options.seed)
        self.result = SoakResult(seed=options.seed, planned_s=options.duration_s)
        self.result.workdir = str(options.workdir)
        config = StrategyConfig()
        self.symbols = tuple(str(s) for s in config.symbols)
        self.group_symbols = tuple(str(lane.symbol) for lane in config.lanes)
        self.journal = options.workdir / "journal.sqlite"
        self.pinned: dict[int, str] = {}
        self.judged: set[str] = set()  # finished groups already judged at a checkpoint
        self.overfilled: set[str] = set()  # groups the venue shows filled beyond the design
        self.incarnation = 0
        self.fault_seq = 0
        self.fault_slots = 0
        self.paused_s = 0.0  # spent in checkpoints: the plan's clock stands still meanwhile
        self._worker: WorkerProcess | None = None
        self._sim: SimProcess | None = None
        self._admin: AdminClient | None = None
        self._pump: TimePump | None = None
        self._truth: TruthReader | None = None

    # -- lifecycle ------------------------------------------------------------------------

    async def run(self) -> SoakResult:
        """Raises SoakSetupError when the processes cannot be set up."""
        self.opt.workdir.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        self._sim = await SimProcess.start(self.opt.workdir, self.opt.seed)
        self._admin = AdminClient(self._sim.rest_url)
        self._truth = TruthReader(self._admin, self._sim.api_key, self.symbols)
        self._pump = TimePump(self._admin)
        self._pump.start()
        try:
            self._worker = await self._start_worker()
            if self._worker is None:
                raise SoakSetupError("the OMS worker did not start (see worker-0.log)")
            await self._play()
            await finish(self)
        finally:
            self.result.elapsed_s = time.monotonic() - started
            self.result.frozen_s = self._pump.frozen_s
            await self._close()
        return self.result

    async def _close(self) -> None:
        worker = self._worker
        if worker is not None and worker.alive:
            worker.kill9()
            await worker.wait(10)
        if self._pump is not None:
            await self._pump.close()
        if self._admin is not None:
            await self._admin.close()
        if self._sim is not None:
            await self._sim.close()

    @property
    def admin(self) -> AdminClient:
        assert self._admin is not None
        return self._admin

    @property
    def truth(self) -> TruthReader:
        assert self._truth is not None
        return self._truth

    @property
    def pump(self) -> TimePump:
        assert self._pump is not None
        return self._pump

    @property
    def worker(self) -> WorkerProcess:
        assert self._worker is not None
        return self._worker

    def breach(self, invariant: str, detail: str) -> None:
        log.error("BREACH [%s] %s", invariant, detail)
        self.result.breaches.append(Breach(invariant=invariant, detail=detail))

    # -- the plan -------------------------------------------------------------------------

    async def _play(self) -> None:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        for event in plan(self.opt.duration_s, self.rng):
            delay = t0 + self.paused_s + event.at_s - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)  # the plan's clock: when to act, not a wait for state
            await self._health()
            if event.what == "fault":
                await self._inject(await self._coverage(event.kind))
            elif event.what == "kill":
                await self._kill_and_restart()
            else:
                await self.checkpoint("scheduled")
            await self._health()  # a failpoint may have fired meanwhile: restart at once
        delay = t0 + self.paused_s + self.opt.duration_s - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        await self._health()

    async def _health(self) -> None:
        failure = self.pump.failure()
        if failure is not None:
            raise SoakSetupError(f"the simulator's clock pump failed: {failure!r}")
        worker = self.worker
        if worker.alive or worker.killed:
            return
        if worker.failpoint_fired:  # a planned kill -9, at the moment it names
            self.result.kills += 1
            self.result.failpoint_kills += 1
            log.info("OMS incarnation %d killed itself at %s", worker.incarnation, worker.failpoint)
            await self._restart(time.monotonic())
            await self.checkpoint("after a failpoint")
            return
        self.breach(
            "crash",
            f"OMS incarnation {worker.incarnation} exited with {worker.proc.returncode}: "
            f"{worker.log_tail(5)}",
        )
        await self._restart(time.monotonic())

    async def _coverage(self, planned: str) -> str:
        """After the first round of every kind, a kind that has not fired yet (armed while
        the OMS was dead or throttled, or cleared by a checkpoint) goes before the planned
        one — every third slot at most, so a kind that cannot fire for now does not crowd out
        the others."""
        self.fault_slots += 1
        if self.fault_slots <= len(KINDS) or self.fault_slots % 3:
            return planned
        await self.collect_faults()
        missing = [k for k in KINDS if not fired_enough(k, self.result.faults_fired)]
        return self.rng.choice(missing) if missing else planned

    async def _inject(self, kind: str) -> None:
        chosen = episode(kind, self.rng, self._api_key())
        if chosen.rules:
            await self.admin.call("POST", "/admin/faults", list(chosen.rules))
        if chosen.action:
            await self.admin.call("POST", chosen.action, chosen.body)
        self.result.faults_armed[kind] += 1
        log.info("fault %s: %s", kind, chosen.rules or chosen.action)

    def _api_key(self) -> str:
        assert self._sim is not None
        return self._sim.api_key

    # -- kill -9 and restart --------------------------------------------------------------

    async def _kill_and_restart(self, *, failpoints: bool = True) -> None:
        worker = self.worker
        worker.kill9()
        killed_at = time.monotonic()
        await worker.wait(10)
        self.result.kills += 1
        log.info("kill -9 of OMS incarnation %d", worker.incarnation)
        await asyncio.sleep(self.rng.uniform(0.5, 3.0))  # dead for a while: the market moves on
        await self._restart(killed_at, failpoints=failpoints)
        await asyncio.sleep(self.rng.uniform(2.0, 5.0))  # then check what it adopted
        await self.checkpoint("after restart")

    async def _restart(self, since: float, *, failpoints: bool = True) -> None:
        for _ in range(RESTART_ATTEMPTS):
            self.incarnation += 1
            worker = await self._start_worker(self._failpoint() if failpoints else "")
            if worker is not None:
                self._worker = worker
                self.result.restarts += 1
                log.info("OMS incarnation %d ready", worker.incarnation)
                assert worker.ready_at is not None
                self.result.worst_restart_s = max(
                    self.result.worst_restart_s, worker.ready_at - since
                )
                return
        raise SoakSetupError(f"the OMS did not restart in {RESTART_ATTEMPTS} attempts")

    def _failpoint(self) -> str:
        """Half the restarts arm one of the engine's failpoints: that incarnation kills itself
        with SIGKILL at the N-th time it reaches that moment (see mmoms.engine.failpoints)."""
        if self.rng.random() < 0.5:
            return ""
        return f"{self.rng.choice(sorted(FAILPOINTS))}:{self.rng.randint(1, 3)}"

    async def ensure_plain_worker(self) -> None:
        """Before the end: a live incarnation with no failpoint armed (the clean stop and the
        final checks must not be cut short by a planned self-kill)."""
        await self._health()
        if self.worker.failpoint:
            await self._kill_and_restart(failpoints=False)

    async def _start_worker(self, failpoint: str = "") -> WorkerProcess | None:
        assert self._sim is not None
        sim = self._sim
        worker = await WorkerProcess.start(
            rest_url=sim.rest_url,
            ws_url=sim.ws_url,
            api_key=sim.api_key,
            api_secret=sim.api_secret,
            journal=self.journal,
            workdir=self.opt.workdir,
            seed=self.opt.seed,
            incarnation=self.incarnation,
            on_event=self._on_event,
            failpoint=failpoint,
        )
        if await worker.wait_ready(READY_S):
            return worker
        if worker.failpoint_fired:  # died at its failpoint while starting: that counts too
            self.result.kills += 1
            self.result.failpoint_kills += 1
            return None
        log.warning(
            "OMS incarnation %d did not get ready:\n%s", self.incarnation, worker.log_tail()
        )
        worker.kill9()
        await worker.wait(10)
        return None

    def _on_event(self, _incarnation: int, message: dict[str, Any]) -> None:
        r = self.result
        if message.get("type") == "reconnect":
            r.reconnects += 1
            r.worst_reconnect_s = max(r.worst_reconnect_s, float(message.get("down_s", 0.0)))
        elif message.get("type") == "stats":
            worst = int(message.get("worst_unprotected_ns", 0)) / 1e9
            r.engine_worst_unprotected_s = max(r.engine_worst_unprotected_s, worst)

    # -- checkpoints ----------------------------------------------------------------------

    async def checkpoint(self, reason: str, *, final: bool = False) -> BookView | None:
        self.result.checkpoints += 1
        number = self.result.checkpoints
        where = f"checkpoint {number} ({reason})"
        began = time.monotonic()
        await self.pump.freeze()
        await self.admin.call("DELETE", "/admin/faults")  # a quiet point has no faults
        try:
            return await self._compare(number, where)
        finally:
            await self.collect_faults()
            if not final:
                await self.worker.request("resume", "resumed", 10)
                self.pump.resume()
            self.paused_s += time.monotonic() - began

    async def _compare(self, number: int, where: str) -> BookView | None:
        worker = self.worker
        paused = await worker.request("pause", "paused", 45)
        if paused is None:
            if not await self._planned_death(worker):
                self.breach("liveness", f"{where}: the OMS did not answer 'pause'")
            return None
        if paused["in_flight"]:
            self.breach("liveness", f"{where}: still in flight after 30 s: {paused['in_flight']}")
        view: BookView | None = None
        problems: list[Breach] = []
        for rounds in range(1, MAX_ROUNDS + 1):
            after = 2 if rounds == 1 else 1  # see mmoms.soak.checkpoint
            reply = await worker.request(f"capture {number} {after}", "view", 45)
            if reply is None or reply.get("view") is None:
                if not await self._planned_death(worker):
                    self.breach("liveness", f"{where}: no reconciliation within 30 s")
                return view
            view = msgspec.convert(reply["view"], BookView)
            self._pin(view, where)
            if self.opt.inject_breach and number == 1:
                self.truth.doctor = [_fake_order(self.symbols[0])]
            truth = await self.truth.truth(self.group_symbols)
            confirm = await worker.request("confirm", "confirm", 10)
            quiet = (
                view.in_flight == 0
                and confirm is not None
                and confirm["requests"] == 0
                and not confirm["in_flight"]
            )
            self.result.checks += 1
            problems = check_book(view, truth, self.symbols)
            if not quiet:
                problems.append(Breach(invariant="liveness", detail="the OMS was not quiet"))
            if not problems:
                self._judge_groups(view, truth, where)
                break
        self.result.worst_converge_rounds = max(self.result.worst_converge_rounds, rounds)
        log.info("%s: %d rounds, %d problems", where, rounds, len(problems))
        for problem in problems:
            self.breach(problem.invariant, f"{where}, after {rounds} rounds: {problem.detail}")
        return view

    async def _planned_death(self, worker: WorkerProcess) -> bool:
        """Did the worker just die at its own failpoint? (Then it is no liveness breach.)"""
        if worker.alive:
            return False
        await worker.wait(5)
        return worker.failpoint_fired

    def _pin(self, view: BookView, where: str) -> None:
        known = self.pinned.get(view.seq)
        if known is not None and known != view.state_hash:
            self.breach("replay", f"{where}: two live states at journal seq {view.seq}")
        self.pinned[view.seq] = view.state_hash

    def _judge_groups(self, view: BookView, truth: Any, where: str) -> None:
        groups = [g for g in view.groups if g.group_id not in self.judged]
        verdict = check_groups(groups, truth)
        self.result.checks += 1
        for problem in verdict.breaches:
            self.breach(problem.invariant, f"{where}: {problem.detail}")
        self.judged.update(g.group_id for g in groups if g.terminal)
        self.overfilled.update(verdict.overfills)

    async def collect_faults(self) -> None:
        for entry in await self.admin.fault_log(self.fault_seq):
            self.fault_seq = max(self.fault_seq, int(entry["seq"]))
            kind = classify(entry)
            if kind is not None:
                self.result.faults_fired[kind] += 1


def _fake_order(symbol: str) -> OrderView:
    """What --inject-breach slips into the venue's truth: an open order nobody placed."""
    return OrderView(
        client_order_id="injected-breach",
        symbol=symbol,
        side="BUY",
        order_type="LIMIT",
        quantity=Decimal("0.001"),
        price=Decimal(1),
    )
