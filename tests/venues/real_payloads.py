"""The real Binance USDⓈ-M payloads kept in the repository (``tests/data/binance-real-payloads``:
captures from the live exchange and Binance's documentation examples, each with its source in
``SOURCES.md``; copied from ``../shared/binance-real-payloads`` so the suite needs nothing
outside the repository).

:func:`payload` hands out a deep copy, so a test that adapts one (a triggered stop is a waiting
stop's capture with the values of a triggered one) never changes what the next test reads.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

PATH = Path(__file__).parents[1] / "data" / "binance-real-payloads" / "payloads.jsonl"


@cache
def entries() -> dict[str, dict[str, Any]]:
    """Every entry by id: ``id``, ``kind``, ``tier``, ``source``, ``payload`` (and, for errors,
    ``http_status`` and ``expect``). A missing file is a broken checkout: it raises."""
    out: dict[str, dict[str, Any]] = {}
    for line in PATH.read_text(encoding="utf-8").splitlines():
        if line.strip():
            entry = json.loads(line)
            out[entry["id"]] = entry
    return out


def payload(payload_id: str) -> Any:
    """A fresh copy of one payload (a dict or a list, as the venue sent it)."""
    return copy.deepcopy(entries()[payload_id]["payload"])


def raw(payload_id: str) -> bytes:
    """One payload as the bytes on the wire (JSON, key order kept)."""
    return json.dumps(entries()[payload_id]["payload"]).encode()


def of_kind(*kinds: str) -> list[dict[str, Any]]:
    """Every entry of the given kinds, in file order."""
    return [e for e in entries().values() if e["kind"] in kinds]


# What the gateway reads, by payload kind, and where (tested in test_real_payloads_rest.py and
# test_real_payloads_stream.py), and what it deliberately does not read, with the reason.
READ: dict[str, str] = {
    "rest.order": "new / cancel / query order replies (codec.order_report)",
    "rest.orders": "openOrders (reconciliation) and allOrders",
    "rest.batch": "batchOrders place / modify / cancel, error items included",
    "rest.userTrades": "fills backfill (codec.user_trade_fill)",
    "rest.positionRisk": "positions at reconciliation",
    "rest.balance": "balances and the account's alias (journal ownership)",
    "rest.account": "BinanceAdmin.account",
    "rest.exchangeInfo": "instruments and the venue's rate limits",
    "rest.listenKey": "the user stream's key",
    "rest.time": "clock offset",
    "rest.algoOrder": "conditional orders: place / query / openAlgoOrders (codec.algo_report)",
    "rest.algoCancel": "conditional order cancel (its code is a string)",
    "rest.error": "every error reply, through the one code table",
    "rest.commissionRate": "BinanceAdmin.commission_rate",
    "rest.leverage": "BinanceAdmin.set_leverage",
    "rest.countdown": "dead-man switch (countdownCancelAll)",
    "rest.positionMode": "BinanceAdmin.position_mode_is_hedge",
    "rest.codeMsg": "cancel-all and settings acknowledgements",
    "wsapi.reply.order": "the WS API envelope around an order reply",
    "wsapi.reply.algo": "the WS API envelope around an algo reply (the gateway places "
    "conditional orders over REST; the envelope parses alike)",
    "ws.ORDER_TRADE_UPDATE": "user stream",
    "ws.ACCOUNT_UPDATE": "user stream",
    "ws.ALGO_UPDATE": "user stream",
    "ws.TRADE_LITE": "user stream",
    "ws.ACCOUNT_CONFIG_UPDATE": "user stream",
    "ws.MARGIN_CALL": "user stream",
    "ws.listenKeyExpired": "user stream (renews the key)",
    "md.bookTicker": "market data: top of book",
    "md.markPriceUpdate": "market data: the risk reference price",
    "md.aggTrade": "market data: trades, where a strategy asks",
    "md.depthUpdate": "market data: partial books (depth5/10/20), where a strategy asks",
}
NOT_READ: dict[str, str] = {
    "rest.symbolConfig": "leverage and margin type are set (POST leverage / marginType), never "
    "read back",
    "rest.accountConfig": "the position mode is read from GET positionSide/dual",
    "rest.depth": "books come from partial-book streams, which need no REST snapshot",
    "rest.bookTickerRest": "prices come from the bookTicker stream",
    "rest.tickerPrice": "prices come from the bookTicker stream",
    "rest.premiumIndex": "the mark price comes from the markPrice stream",
    "rest.aggTrades": "history: an execution layer does not need it",
    "rest.klines": "history: an execution layer does not need it",
}
NOT_READ_IDS: dict[str, str] = {
    "md.depthUpdate.diff.testnet2026": "a diff-depth stream (btcusdt@depth@100ms): the node "
    "subscribes to partial books only, so the decoder refuses it as not subscribed",
}
