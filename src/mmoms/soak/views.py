"""What the soak compares: the OMS's view and the venue's truth, as plain serialisable structs.

The worker builds a :class:`BookView` from its live OrderManager at a checkpoint and writes it
to stdout as JSON; the orchestrator builds a :class:`VenueTruth` from the simulator's admin read
endpoint. Both sides use the same shapes, so :mod:`mmoms.soak.invariants` compares like with
like and stays pure (no process, no network), which is what makes it unit-testable.

Orders are keyed ``SYMBOL/clientOrderId``: a client order id is unique per symbol on Binance.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

ZERO = Decimal(0)


def order_key(symbol: str, client_order_id: str) -> str:
    return f"{symbol}/{client_order_id}"


class OrderView(msgspec.Struct, frozen=True, kw_only=True):
    """One open order, as the OMS believes it or as the venue holds it."""

    client_order_id: str
    symbol: str
    side: str  # BUY / SELL
    order_type: str  # LIMIT / MARKET / STOP_MARKET ...
    quantity: Decimal
    price: Decimal | None = None  # limit price; None when the type has none
    filled: Decimal = ZERO
    status: str = "NEW"
    external: bool = False  # adopted from a venue report: not created by this OMS
    conditional: bool = False  # waiting in the venue's algo service (a stop not yet triggered)

    @property
    def key(self) -> str:
        return order_key(self.symbol, self.client_order_id)


class LegView(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    side: str
    order_type: str
    quantity: Decimal  # as designed (the spec's quantity)
    reduce_only: bool = False
    slots: tuple[str, ...] = ()  # client order ids of every venue order the leg used or may use


class FlattenView(msgspec.Struct, frozen=True, kw_only=True):
    client_order_id: str
    side: str


class GroupView(msgspec.Struct, frozen=True, kw_only=True):
    """A contingent group as the OMS holds it; the quantities to judge it come from the venue."""

    group_id: str
    kind: str  # oco / oto / otoco / ouo / graph
    symbol: str
    status: str  # ACTIVE / TRIGGERED / COMPLETED / CANCELED
    canceling: bool = False  # being canceled (by the strategy, or by the engine itself)
    strategy_canceled: bool = False  # the strategy asked: the exposure is its own to flatten
    legs: tuple[LegView, ...] = ()
    flattens: tuple[FlattenView, ...] = ()
    excess: Decimal = ZERO  # the OMS's own count of fills beyond the design

    @property
    def terminal(self) -> bool:
        return self.status in ("COMPLETED", "CANCELED")


class BookView(msgspec.Struct, frozen=True, kw_only=True):
    """The OMS at a checkpoint, right after a reconciliation that found no difference."""

    checkpoint: int
    seq: int  # the journal's last committed record when the view was taken
    state_hash: str
    open_orders: tuple[OrderView, ...] = ()
    positions: dict[str, Decimal] = {}
    fees: dict[str, Decimal] = {}  # by commission asset
    fills: int = 0
    groups: tuple[GroupView, ...] = ()
    reconciliations: int = 0  # this incarnation's count so far
    in_flight: int = 0  # orders with a request outstanding (the view is not quiet then)
    converge_rounds: int = 0  # reconciliations it took to reach one without differences


class VenueOrder(msgspec.Struct, frozen=True, kw_only=True):
    """One order of the account, ever (``allOrders`` / ``allAlgoOrders``)."""

    order_id: int
    client_order_id: str
    symbol: str
    side: str
    order_type: str
    executed: Decimal = ZERO
    status: str = "NEW"
    algo: bool = False

    @property
    def key(self) -> str:
        return order_key(self.symbol, self.client_order_id)


class VenueTruth(msgspec.Struct, frozen=True, kw_only=True):
    """What the simulator holds for the account, read where no fault can touch it."""

    open_orders: tuple[OrderView, ...] = ()
    positions: dict[str, Decimal] = {}
    fees: dict[str, Decimal] = {}
    fills: int = 0
    executed: dict[str, Decimal] = {}  # order key -> executed quantity, regular orders ever


class Breach(msgspec.Struct, frozen=True, kw_only=True):
    invariant: str  # book / position / fills / duplicate / orphan / group / replay / ...
    detail: str

    def __str__(self) -> str:
        return f"[{self.invariant}] {self.detail}"
