"""Properties over random sequences of orders, amendments, cancels, market moves and time.

After every step: the book is consistent and uncrossed, each open order is on the book with its
remaining size (closing orders: at most that), margin exposure equals what the open orders imply,
positions equal the sum of the account's fills, wallets equal start + realized PnL - fees, and
the last stream event of every order agrees with what REST reports.
"""

from __future__ import annotations

import contextlib
from decimal import Decimal
from typing import Any

from _exchange_kit import KEY, OTHER_KEY, Kit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmoms.sim.account import Account
from mmoms.sim.api import SimApiError
from mmoms.sim.config_model import AccountConfig, SimConfig

START_BALANCE = Decimal(100000)

accounts = st.sampled_from([KEY, OTHER_KEY])
sides = st.sampled_from(["BUY", "SELL"])
reduce_only = st.sampled_from([False, False, False, True])
actions = st.one_of(
    st.tuples(
        st.just("limit"),
        accounts,
        sides,
        st.integers(-25, 25),
        st.integers(1, 60),
        st.sampled_from(["GTC", "GTC", "IOC", "FOK", "GTX"]),
        st.booleans(),
        st.sampled_from(["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"]),
    ),
    st.tuples(st.just("market"), accounts, sides, st.integers(1, 80), reduce_only),
    st.tuples(st.just("cancel"), accounts, st.integers(0, 50)),
    st.tuples(
        st.just("modify"), accounts, st.integers(0, 50), st.integers(-25, 25), st.integers(1, 60)
    ),
    st.tuples(st.just("take"), sides, st.integers(1, 400)),
    st.tuples(st.just("advance"), st.integers(0, 1500)),
    st.tuples(st.just("cancel_all"), accounts),
)


def fmt_lots(lots: int) -> str:
    return f"{Decimal(lots) / 1000:.3f}"


def run(kit: Kit, action: tuple[Any, ...]) -> None:
    kind = action[0]
    market = kit.ex.markets["BTCUSDC"]
    who = lambda key: kit.ex.account_for_key(key)  # noqa: E731
    if kind == "limit":
        _, key, side, offset, lots, tif, reduce_only, stp = action
        kit.limit(
            side,
            f"{Decimal(market.mid + offset) / 10:.2f}",
            fmt_lots(lots),
            tif=tif,
            account=who(key),
            reduceOnly=reduce_only,
            selfTradePreventionMode=stp,
        )
    elif kind == "market":
        _, key, side, lots, reduce_only = action
        kit.market(side, fmt_lots(lots), account=who(key), reduceOnly=reduce_only)
    elif kind in ("cancel", "modify"):
        account = who(action[1])
        open_orders = list(account.open_orders_of("BTCUSDC"))
        if not open_orders:
            return
        order = open_orders[action[2] % len(open_orders)]
        if kind == "cancel":
            kit.call("DELETE /fapi/v1/order", account, symbol="BTCUSDC", orderId=order.order_id)
        else:
            kit.call(
                "PUT /fapi/v1/order",
                account,
                symbol="BTCUSDC",
                orderId=order.order_id,
                side=order.side,
                quantity=fmt_lots(action[4]),
                price=f"{Decimal(market.mid + action[3]) / 10:.2f}",
            )
    elif kind == "take":
        kit.ex.inject_trade("BTCUSDC", action[1], fmt_lots(action[2]))
    elif kind == "advance":
        kit.advance(action[1])
    else:
        kit.call("DELETE /fapi/v1/allOpenOrders", who(action[1]), symbol="BTCUSDC")


def check_book(kit: Kit) -> None:
    for state in kit.ex.engine.states.values():
        book = state.book
        for is_bid in (True, False):
            for level in book.levels(is_bid):
                entries = list(level.entries.values())
                assert entries
                assert level.lots == sum(e.lots for e in entries)
                assert all(
                    e.lots > 0 and e.ticks == level.ticks and e.is_buy == is_bid for e in entries
                )
        best_bid, best_ask = book.best_bid(), book.best_ask()
        assert best_bid is None or best_ask is None or best_bid < best_ask


def check_account(kit: Kit, account: Account) -> None:
    book = kit.ex.engine.states["BTCUSDC"].book
    buy_tl = sell_tl = count = 0
    visible: dict[tuple[str, bool], int] = {}
    for order in account.open_orders_of("BTCUSDC"):
        count += 1
        assert order.is_open
        assert 0 <= order.executed < order.orig_lots
        if order.closing:
            assert order.entry is not None
            assert order.entry.entry_id in book
            assert order.entry.lots <= order.remaining
            key = (order.position_side, order.is_buy)
            visible[key] = visible.get(key, 0) + order.entry.lots
        else:
            assert order.entry is not None
            assert order.entry.lots == order.remaining
            assert order.entry.entry_id in book
            if order.is_buy:
                buy_tl += order.ticks * order.remaining
            else:
                sell_tl += order.ticks * order.remaining
    exposure = account.exposure.get("BTCUSDC")
    if exposure is not None:
        assert (exposure.count, exposure.buy_tl, exposure.sell_tl) == (count, buy_tl, sell_tl)
    position = account.positions.get(("BTCUSDC", "BOTH"))
    lots = position.lots if position is not None else 0
    for (_, is_buy), shown in visible.items():
        assert shown <= (max(-lots, 0) if is_buy else max(lots, 0))

    trades = list(account.trades.get("BTCUSDC", ()))
    filled = sum((1 if t["buyer"] else -1) * int(Decimal(t["qty"]) * 1000) for t in trades)
    assert filled == lots
    expected = START_BALANCE + sum(
        (Decimal(t["realizedPnl"]) - Decimal(t["commission"]) for t in trades), Decimal(0)
    )
    assert abs(account.wallets["USDC"] - expected) < Decimal("0.000001")

    last_event: dict[int, dict[str, Any]] = {}
    for key, event in kit.events:
        if key == account.api_key and event["e"] == "ORDER_TRADE_UPDATE":
            last_event[event["o"]["i"]] = event["o"]
    for order in account.history.get("BTCUSDC", {}).values():
        rest = order.rest_dict()
        stream = last_event[order.order_id]
        assert (stream["X"], stream["z"], stream["q"]) == (
            rest["status"],
            rest["executedQty"],
            rest["origQty"],
        )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(actions, min_size=5, max_size=40), seed=st.integers(0, 3))
def test_invariants_hold_after_every_step(steps: list[tuple[Any, ...]], seed: int) -> None:
    kit = Kit(
        SimConfig(accounts=(AccountConfig(KEY, "s"), AccountConfig(OTHER_KEY, "s")), seed=seed)
    )
    for action in steps:
        with contextlib.suppress(SimApiError):
            run(kit, action)
        check_book(kit)
        check_account(kit, kit.account)
        check_account(kit, kit.other)
