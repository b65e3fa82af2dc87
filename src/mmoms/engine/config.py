"""Settings of the OrderManager. Loaded and validated by the app layer (TOML); plain data here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from mmoms.core.ids import StrategyId, Symbol
from mmoms.engine.diff import Tolerance
from mmoms.engine.risk import RiskConfig
from mmoms.engine.strategy_limits import StrategyLimits


@dataclass(frozen=True, slots=True)
class OmsConfig:
    risk: RiskConfig
    symbols: tuple[Symbol, ...]  # what the OMS trades and reconciles
    tolerance: Mapping[Symbol, Tolerance] = field(default_factory=dict)
    batch_window_s: float = 0.010  # collect actions this long before sending
    reconcile_interval_s: float = 30.0
    allow_amend: bool = True
    client_id_prefix: str = "mm"
    queue_size: int = 10_000  # bounded inbound queue: backpressure, not unbounded memory
    snapshot_every: int = 50_000  # journal records between snapshots
    dead_man_switch_ms: int = 0  # countdownCancelAll heartbeat; 0 = off
    retry_unknown_s: float = 0.5  # re-query an order still unknown after this long
    stop_timeout_s: float = 5.0
    # Contingent groups: flatten a fill beyond the design (both OCO legs filled before the
    # cancel landed) with a reduce-only MARKET order. False: alert only, for every group.
    flatten_overfill: bool = True
    # A group's protective stop refused by the venue while the group holds a position: cancel
    # the group and flatten with a reduce-only MARKET order (False: alert only). See
    # mmoms.engine.protection.
    flatten_unprotected: bool = True
    # A group follow-up order whose outcome was unknown and that a query proves the venue never
    # saw is re-sent under the same client id, at most this many times; then it counts as
    # rejected (and the rule above applies to a protective stop).
    followup_resends: int = 3
    # A strategy's own limits on a symbol, inside the account's (see engine.strategy_limits).
    strategy_limits: Mapping[tuple[StrategyId, Symbol], StrategyLimits] = field(
        default_factory=dict
    )

    def tolerance_for(self, symbol: Symbol) -> Tolerance:
        return self.tolerance.get(symbol, Tolerance())
