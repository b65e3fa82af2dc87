"""User-data stream events, field for field as Binance sends them (``binance-usdm.md`` §8.3–8.7).

Pure builders: they read an order, account or position and return the wire dict. Who receives
an event and in which order is the matching engine's business.

Choices where Binance is silent or unconfirmed: ``N``/``n`` are always present (margin asset and
``"0"`` when nothing was charged); ``b``/``a`` are the account's margin-bearing open buy/sell
notional on the symbol; ``M`` (modifyId) appears only on AMENDMENT events that carried one.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .specs import fmt8

if TYPE_CHECKING:
    from .account import Account, Position
    from .orders import SimOrder
    from .specs import SymbolSpec

__all__ = [
    "ZERO",
    "account_config_leverage",
    "account_config_multi_assets",
    "account_update",
    "listen_key_expired",
    "order_trade_update",
    "position_wire",
    "trade_lite",
]

ZERO = Decimal(0)

# expire reasons ("er"), binance-usdm.md §5
ER_NONE = "0"
ER_STP = "1"
ER_IOC = "2"
ER_IOC_STP = "3"
ER_REDUCE_ONLY = "4"
ER_MARKET = "9"


def order_trade_update(
    order: SimOrder,
    now_ms: int,
    exec_type: str,
    *,
    last_lots: int = 0,
    last_ticks: int = 0,
    trade_id: int = 0,
    maker: bool = False,
    fee: Decimal = ZERO,
    realized: Decimal = ZERO,
    expire_reason: str = ER_NONE,
    modify_id: int | None = None,
) -> dict[str, Any]:
    spec = order.spec
    exposure = order.account.exposure.get(spec.symbol)
    body: dict[str, Any] = {
        "s": spec.symbol,
        "c": order.client_id,
        "S": order.side,
        "o": order.order_type,
        "f": order.tif,
        "q": spec.fmt_qty(order.orig_lots),
        "p": spec.fmt_price(order.ticks),
        "ap": spec.fmt_avg(order.cum_tl, order.executed),
        "sp": spec.fmt_price(0),
        "x": exec_type,
        "X": order.status,
        "i": order.order_id,
        "l": spec.fmt_qty(last_lots),
        "z": spec.fmt_qty(order.executed),
        "L": spec.fmt_price(last_ticks),
        "N": spec.margin_asset,
        "n": fmt8(fee),
        "T": now_ms,
        "t": trade_id,
        "b": spec.fmt_quote(exposure.buy_tl if exposure is not None else 0),
        "a": spec.fmt_quote(exposure.sell_tl if exposure is not None else 0),
        "m": maker,
        "R": order.reduce_only,
        "wt": "CONTRACT_PRICE",
        "ot": order.order_type,
        "ps": order.position_side,
        "cp": False,
        "rp": fmt8(realized),
        "pP": False,
        "si": 0,
        "ss": 0,
        "V": order.stp,
        "pm": order.price_match,
        "gtd": order.gtd,
        "er": expire_reason,
    }
    if modify_id is not None:
        body["M"] = modify_id
    return {"e": "ORDER_TRADE_UPDATE", "E": now_ms, "T": now_ms, "o": body}


def trade_lite(
    order: SimOrder, now_ms: int, last_lots: int, last_ticks: int, trade_id: int, maker: bool
) -> dict[str, Any]:
    spec = order.spec
    return {
        "e": "TRADE_LITE",
        "E": now_ms,
        "T": now_ms,
        "s": spec.symbol,
        "q": spec.fmt_qty(order.orig_lots),
        "p": spec.fmt_price(order.ticks),
        "m": maker,
        "c": order.client_id,
        "S": order.side,
        "L": spec.fmt_price(last_ticks),
        "l": spec.fmt_qty(last_lots),
        "t": trade_id,
        "i": order.order_id,
    }


def position_wire(
    account: Account, spec: SymbolSpec, pos: Position, mark: Decimal
) -> dict[str, Any]:
    """One ``ACCOUNT_UPDATE.a.P`` entry."""
    qty = pos.lots * spec.step
    settings = account.settings_for(spec.symbol)
    taker = spec.taker_fee
    if pos.lots > 0:
        breakeven = pos.entry * (1 + taker)
    elif pos.lots < 0:
        breakeven = pos.entry * (1 - taker)
    else:
        breakeven = ZERO
    isolated_wallet = abs(qty) * mark / settings.leverage if settings.isolated else ZERO
    return {
        "s": spec.symbol,
        "pa": spec.fmt_qty(pos.lots),
        "ep": fmt8(pos.entry),
        "bep": fmt8(breakeven),
        "cr": fmt8(pos.realized),
        "up": fmt8(qty * (mark - pos.entry)),
        "mt": "isolated" if settings.isolated else "cross",
        "iw": fmt8(isolated_wallet),
        "ps": pos.side,
        "ma": spec.margin_asset,
    }


def account_update(
    account: Account,
    now_ms: int,
    reason: str,
    assets: list[str],
    positions: list[dict[str, Any]],
) -> dict[str, Any]:
    balances = []
    for asset in assets:
        wallet = fmt8(account.wallets.get(asset, ZERO))
        balances.append({"a": asset, "wb": wallet, "cw": wallet, "bc": "0"})
    return {
        "e": "ACCOUNT_UPDATE",
        "E": now_ms,
        "T": now_ms,
        "a": {"m": reason, "B": balances, "P": positions},
    }


def account_config_leverage(now_ms: int, symbol: str, leverage: int) -> dict[str, Any]:
    return {
        "e": "ACCOUNT_CONFIG_UPDATE",
        "E": now_ms,
        "T": now_ms,
        "ac": {"s": symbol, "l": leverage},
    }


def account_config_multi_assets(now_ms: int, enabled: bool) -> dict[str, Any]:
    return {"e": "ACCOUNT_CONFIG_UPDATE", "E": now_ms, "T": now_ms, "ai": {"j": enabled}}


def listen_key_expired(now_ms: int, listen_key: str) -> dict[str, Any]:
    return {"e": "listenKeyExpired", "E": now_ms, "listenKey": listen_key}
