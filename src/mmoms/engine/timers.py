"""The engine's timers, acted on in the loop: each arrives as a :class:`TimerMsg` (posted by
:class:`~mmoms.engine.background.Background`) and is handled here like any other input.

``flush``      the quoting window closed: decide and send
``reconcile``  the periodic reconciliation (re-armed while the engine runs)
``retry``      retry what waits: deferred cancels, queries of unknown outcomes, group follow-ups
``budget``     the order-rate budget grows: quotes deferred for it are planned again
``heartbeat``  the dead-man switch (``countdownCancelAll``), re-armed at a third of its span
``stop`` / ``journal``  wake the loop (stopping; a commit failed): nothing to do here
"""

from __future__ import annotations

from collections.abc import Callable

from mmoms.engine.background import Background
from mmoms.engine.book_writer import BookWriter
from mmoms.engine.config import OmsConfig
from mmoms.engine.followups import Followups
from mmoms.engine.messages import TimerMsg
from mmoms.engine.outgoing import Outgoing
from mmoms.engine.planner import ActionPlanner
from mmoms.engine.reconciler import Reconciler
from mmoms.venues.gateway import ExchangeGateway

__all__ = ["TimerHandler"]


class TimerHandler:
    def __init__(
        self,
        bw: BookWriter,
        planner: ActionPlanner,
        outgoing: Outgoing,
        reconciler: Reconciler,
        followups: Followups,
        background: Background,
        gateway: ExchangeGateway,
        config: OmsConfig,
        running: Callable[[], bool],
    ) -> None:
        self._bw = bw
        self._planner = planner
        self._outgoing = outgoing
        self._reconciler = reconciler
        self._followups = followups
        self._background = background
        self._gw = gateway
        self._cfg = config
        self._running = running

    def on_timer(self, msg: TimerMsg) -> None:
        kind = msg.kind
        if kind == "flush":
            self._outgoing.flush()
        elif kind == "reconcile":
            self._reconciler.start("periodic")
            if self._running():
                self._background.arm_timer(self._cfg.reconcile_interval_s, "reconcile")
        elif kind == "budget":
            self._outgoing.budget_timer_fired()
            self._planner.budget_returned()
            self._outgoing.after_planning()
        elif kind == "retry":
            self._planner.retry_deferred(self._bw.now)
            self._outgoing.after_planning()
            self._reconciler.query_unknown()
            self._followups.retry()
        elif kind == "heartbeat" and self._running():
            heartbeat = getattr(self._gw, "countdown_cancel_all", None)
            if heartbeat is not None:
                for symbol in self._cfg.symbols:
                    self._background.spawn(heartbeat(symbol, self._cfg.dead_man_switch_ms))
            self._background.arm_timer(self._cfg.dead_man_switch_ms / 3000, "heartbeat")
