"""Benchmark: the contingency planner's share of "fill read → sibling cancel on the wire".

Times one ``plan(event, state)`` call (pure, so the same state and event are re-used) for:

1. OCO fill → sibling cancel: leg ``a`` completely filled, the plan cancels ``b``;
2. OCO cancel-on-first-fill: a partial fill of ``a`` cancels ``b``;
3. OUO partial fill → sibling amend (new total quantity);
4. bracket entry fill → stop-loss (algo STOP_MARKET) and take-profit in the same plan;
5. a duplicate fill: nothing new, the state is returned as is.

Prints p50 / p99 / max in microseconds (the garbage collector stays on, as in the engine). The
end-to-end goal (fill report read → cancel on the wire, p99 ≤ 200 µs) is measured through the
whole engine by ``bench/group_wire_bench.py``; this part should cost a few µs.

    .venv/bin/python bench/contingent_bench.py [--quick] [--iterations 100000]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from decimal import Decimal as D

from mmoms.contingent import GroupState, bracket, limit, oco, ouo, plan, start
from mmoms.core.enums import OrderStatus, Side
from mmoms.core.events import OrderAccepted, OrderEvent, OrderFilled
from mmoms.core.ids import ClientOrderId, Symbol, TradeId, VenueOrderId

SYM = Symbol("BTCUSDC")


def _accepted(cid: str) -> OrderAccepted:
    return OrderAccepted(
        ts_ns=1,
        client_order_id=ClientOrderId(cid),
        symbol=SYM,
        status=OrderStatus.NEW,
        venue_order_id=VenueOrderId(7),
    )


def _fill(cid: str, cum: str, status: OrderStatus) -> OrderFilled:
    return OrderFilled(
        ts_ns=2,
        client_order_id=ClientOrderId(cid),
        symbol=SYM,
        status=status,
        trade_id=TradeId(1),
        side=Side.BUY,
        last_qty=D(cum),
        last_price=D(100),
        filled_qty=D(cum),
    )


def _live(state: GroupState, *cids: str) -> GroupState:
    for cid in cids:
        state = plan(_accepted(cid), state).state
    return state


def scenarios() -> list[tuple[str, GroupState, OrderEvent, str]]:
    """(name, state before, event, what the plan must contain)."""
    legs = [limit(Side.BUY, D(1), D(100)), limit(Side.BUY, D(1), D(99))]
    oco_state = _live(start(oco("g", SYM, legs), 1).state, "g-a", "g-b")
    first_state = _live(
        start(oco("f", SYM, legs, cancel_on_first_fill=True), 1).state, "f-a", "f-b"
    )
    ouo_state = _live(start(ouo("u", SYM, legs), 1).state, "u-a", "u-b")
    group = bracket(
        "br", SYM, Side.BUY, D(1), entry_price=D(100), take_profit_price=D(110), stop_price=D(95)
    )
    bracket_state = _live(start(group, 1).state, "br-entry")
    filled = _fill("g-a", "1", OrderStatus.FILLED)
    after_fill = plan(filled, oco_state).state
    return [
        ("OCO fill -> sibling cancel", oco_state, filled, "CancelOrder"),
        (
            "OCO first partial -> cancel",
            first_state,
            _fill("f-a", "0.25", OrderStatus.PARTIALLY_FILLED),
            "CancelOrder",
        ),
        (
            "OUO partial -> sibling amend",
            ouo_state,
            _fill("u-a", "0.25", OrderStatus.PARTIALLY_FILLED),
            "AmendOrder",
        ),
        (
            "bracket entry fill -> SL+TP",
            bracket_state,
            _fill("br-entry", "1", OrderStatus.FILLED),
            "SubmitOrder",
        ),
        ("duplicate fill (no-op)", after_fill, filled, ""),
    ]


def _percentile(values: Sequence[int], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1_000


def measure(state: GroupState, event: OrderEvent, iterations: int) -> list[int]:
    clock = time.perf_counter_ns
    samples = []
    for _ in range(iterations):
        t0 = clock()
        plan(event, state)
        samples.append(clock() - t0)
    return samples


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--iterations", type=int, default=100_000)
    args = parser.parse_args(argv)
    iterations = 2_000 if args.quick else args.iterations
    print(f"contingency planner: plan() per event, {iterations:,} iterations each")
    for name, state, event, must in scenarios():
        commands = plan(event, state).commands
        if must and not any(type(c).__name__ == must for c in commands):
            print(f"{name}: the plan lacks a {must}: {commands}", file=sys.stderr)
            return 1
        measure(state, event, min(iterations, 1_000))  # warm up
        samples = measure(state, event, iterations)
        print(
            f"{name:<30} p50 {_percentile(samples, 0.5):6.1f} µs   "
            f"p99 {_percentile(samples, 0.99):6.1f} µs   max {max(samples) / 1_000:8.1f} µs"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
