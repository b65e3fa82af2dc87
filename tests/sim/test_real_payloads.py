"""Every real payload of a kind the simulator serves against the simulator's own payload of that
kind, produced in a real scenario (:mod:`_payload_samples`): the same keys, recursively, with the
same JSON types. Each difference must be one the simulator's module docstring lists with its
reason (:func:`_payload_shapes.deliberate_exceptions`), and each listed exception must still be
needed: a fix that makes one obsolete fails here until the list is updated.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from _payload_samples import Samples, collect
from _payload_shapes import (
    Difference,
    deliberate_exceptions,
    differences,
    load_payloads,
)

# real payload id -> the simulator's sample of the same kind (None: a kind it does not serve)
SAMPLE_OF: dict[str, str | None] = {
    "rest.order.new.market_ack.AAPLUSDT.2026": "order.new.market_ack",
    "rest.order.new.limit.BTCUSDT.2024": "order.new.limit",
    "rest.order.new.market_filled.BTCUSDT.testnet2025": "order.new.market_result",
    "rest.order.cancel.BTCUSDT.2024": "order.cancel",
    "rest.order.cancel.XRPUSDT.2022": "order.cancel",
    "rest.order.cancel.trailing.docs": "order.cancel",
    "rest.openOrder.LTCUSDT.GTX": "order.openOrder",
    "rest.openOrders.trailing.docs": "order.openOrders",
    "rest.allOrders.WOOUSDT.2023": "allOrders",
    "rest.batch.place.BTCUSDT.2025": "batch.place",
    "rest.batch.modify.BTCUSDT.2025": "batch.modify",
    "rest.batch.cancel.with_error.docs": "batch.cancel",
    "rest.userTrades.AAPLUSDT.2026": "userTrades",
    "rest.userTrades.BTCUSDT.2023": "userTrades",
    "rest.userTrades.ETHUSDT.2022": "userTrades",
    "rest.positionRisk.v2.AAPLUSDT.open.2026": "positionRisk.v2.open",
    "rest.positionRisk.v2.AAPLUSDT.flat.2026": "positionRisk.v2.flat",
    "rest.positionRisk.v2.hedge.docs": "positionRisk.v2.hedge",
    "rest.positionRisk.v3.BTCUSDT.2024": "positionRisk.v3",
    "rest.account.v2.2023": "account.v2",
    "rest.account.v2.docs": "account.v2",
    "rest.account.v3.2024": "account.v3",
    "rest.balance.v2.USDT.2026": "balance.v2",
    "rest.balance.v2.docs": "balance.v2",
    "rest.exchangeInfo.trimmed": "exchangeInfo",
    "rest.leverage.BTCUSDT": "leverage",
    "rest.listenKey.docs": "listenKey",
    "rest.countdownCancelAll.LPTUSDT": "countdown",
    "rest.commissionRate.AAPLUSDT.2026": "commissionRate",
    "rest.commissionRate.BTCUSDT.2026": "commissionRate",
    "rest.positionSide.dual": "positionSide.dual",
    "rest.cancelAll.codemsg": "cancelAll",
    "rest.symbolConfig.AAPLUSDT.2026": "symbolConfig",
    "rest.accountConfig.2026": "accountConfig",
    "rest.depth.BTCUSDT.testnet2026": "depth",
    "rest.exchangeInfo.BTCUSDT.live2026": "exchangeInfo",
    "rest.depth.BTCUSDT.live2026": "depth",
    "rest.ticker.bookTicker.live2026": "bookTicker",
    "rest.ticker.price.v1.live2026": "tickerPrice.v1",
    "rest.ticker.price.v2.live2026": "tickerPrice.v2",
    "rest.premiumIndex.live2026": "premiumIndex",
    "rest.aggTrades.live2026": "aggTrades",
    "rest.klines.live2026": "klines",
    "rest.time.live2026": "time",
    "rest.algoOrder.open.ETHUSDC.2025": "algo.open.item",
    "rest.algoOrder.new.wsapi.docs": "algo.new",
    "rest.algoOrder.new.rest.docs": "algo.new",
    "rest.algoOrder.open.um_docs": "algo.open.item",
    "rest.algoOrder.cancel.docs": "algo.cancel",
    "wsapi.order.modify.docs": "wsapi.order.modify",
    "wsapi.algoOrder.new.docs": "wsapi.algoOrder.place",
    "rest.error.-4164.min_notional": "error.-4164",
    "rest.error.-1022.signature": "error.-1022",
    "rest.error.-2011.unknown_order": "error.-2011",
    "rest.error.-2013.no_such_order": "error.-2013",
    "rest.error.-1021.timestamp": "error.-1021",
    "rest.error.-5022.post_only": "error.-5022",
    "rest.error.-4120.algo_switch": "error.-4120",
    "rest.error.-2015.api_key": "error.-2015",
    "rest.error.-4061.position_side": "error.-4061",
    "rest.error.-1102.mandatory_param": "error.-1102",
    "rest.error.-4059.no_need_position_side": "error.-4059",
    "rest.error.-5000.bad_path.testnet": "error.path",
    "rest.error.-1121.bad_symbol": "error.-1121",
    "rest.error.-2014.key_format": "error.-2014",
    "rest.error.-1130.bad_limit": "error.-1130",
    "rest.error.-1000.unknown": "error.-1000",
    "otu.NEW.limit.BTCUSDT.2024": "otu.NEW.limit",
    "otu.CANCELED.limit.BTCUSDT.2024": "otu.CANCELED.limit",
    "otu.CANCELED.limit.1000PEPEUSDT.2025": "otu.CANCELED.limit",
    "otu.NEW.limit.ETHBUSD.2022": "otu.NEW.limit",
    "otu.FILLED.maker_rebate.ETHBUSD.2022": "otu.FILLED.maker",
    "otu.FILLED.market_reduce.ETHBUSD.2022": "otu.FILLED.market_close",
    "otu.PARTIALLY_FILLED.market.SEIUSDT.2024": "otu.PARTIALLY_FILLED.market",
    "otu.NEW.limit.BTCUSDT.android.2024": "otu.NEW.limit",
    "otu.FILLED.limit.BTCUSDT.android.2024": "otu.FILLED.maker",
    "otu.FILLED.market_close.BTCUSDT.android.2024": "otu.FILLED.market_close",
    "otu.FILLED.market.BTCUSDT.2025": "otu.FILLED.market",
    "otu.NEW.market.SOLUSDT.er.2026": "otu.NEW.market",
    "otu.NEW.gtx.ETHUSDC.2026": "otu.NEW.gtx",
    "otu.EXPIRED.ioc.ACEUSDT.2024": "otu.EXPIRED.ioc",
    "otu.EXPIRED.stop_triggered.TRXUSDT.2021": None,
    "otu.NEW.stop_to_market.TRXUSDT.2021": None,
    "otu.FILLED.stop_to_market.TRXUSDT.2021": None,
    "otu.AMENDMENT.BTCUSDT.2026": "otu.AMENDMENT",
    "otu.NEW.trailing.docs": None,
    "au.ORDER.ETHBUSD.2022": "au.ORDER.open",
    "au.DEPOSIT.ETHBUSD.2022": "au.ORDER.open",
    "au.ORDER.isolated.TRXUSDT.2021": "au.ORDER.open",
    "au.ORDER.BTCUSDT.open.2024": "au.ORDER.open",
    "au.ORDER.BTCUSDT.closed.2024": "au.ORDER.closed",
    "au.ORDER.SOLUSDT.2026": "au.ORDER.open",
    "au.ORDER.BNFCR.2026": "au.ORDER.open",
    "au.ORDER.hedge.docs": "au.ORDER.hedge",
    "algo.TRIGGERING.DOGEUSDT.2025": "algo.TRIGGERING",
    "algo.TRIGGERED.DOGEUSDT.2025": "algo.TRIGGERED",
    "algo.FINISHED.DOGEUSDT.2025": "algo.FINISHED",
    "algo.FINISHED_CANCELED.DOGEUSDT.2025": "algo.FINISHED_CANCELED",
    "algo.NEW.DOTUSDT.2026": "algo.NEW",
    "algo.CANCELED.DOTUSDT.2026": "algo.CANCELED",
    "algo.NEW.docs": "algo.NEW",
    "tl.BUY.BTCUSDT.2024": "tl.taker",
    "tl.SELL.market.BTCUSDT.2024": "tl.taker",
    "tl.BUY.ETHUSDT.bigid.2024": "tl.taker",
    "tl.SELL.maker.ETHUSDC.2026": "tl.maker",
    "lke.2022": "lke",
    "lke.docs.string_E": "lke",
    "mc.docs": None,
    "acu.leverage.2021": "acu.leverage",
    "acu.multiassets.docs": "acu.multiassets",
    "md.bookTicker.testnet2026": "md.bookTicker.combined",
    "md.bookTicker.XRPUSDT.2025": "md.bookTicker.combined",
    "md.bookTicker.docs": "md.bookTicker",
    "md.depthUpdate.diff.testnet2026": "md.depthUpdate.combined",
    "md.depthUpdate.docs": "md.depthUpdate",
    "md.aggTrade.testnet2026": "md.aggTrade.combined",
    "md.aggTrade.docs": "md.aggTrade",
    "md.markPriceUpdate.testnet2026": "md.markPriceUpdate.combined",
    "md.markPriceUpdate.docs": "md.markPriceUpdate",
}

PAYLOADS = load_payloads()
EXCEPTIONS = deliberate_exceptions()


@pytest.fixture(scope="module")
def samples() -> Samples:
    return asyncio.run(collect())


def _uncovered(payload_id: str, diffs: list[Difference]) -> list[Difference]:
    return [d for d in diffs if not any(e.covers(payload_id, d) for e in EXCEPTIONS)]


def _code(payload: Any) -> Any:
    return payload.get("code") if isinstance(payload, dict) else None


def test_every_real_payload_is_mapped() -> None:
    assert set(SAMPLE_OF) == set(PAYLOADS)


@pytest.mark.parametrize("payload_id", sorted(PAYLOADS))
def test_simulator_payload_has_the_real_shape(samples: Samples, payload_id: str) -> None:
    name = SAMPLE_OF[payload_id]
    if name is None:
        reasons = [e.reason for e in EXCEPTIONS if e.covers(payload_id, None)]
        assert reasons, f"{payload_id}: a kind the simulator does not serve needs a reason"
        return
    real = PAYLOADS[payload_id]["payload"]
    simulated = samples[name]
    if payload_id.startswith("rest.error."):
        assert _code(simulated) == _code(real), simulated
    left = _uncovered(payload_id, differences(real, simulated))
    assert not left, "\n".join(f"{d.kind} {d.path}: {d.detail}" for d in left)


def test_every_listed_exception_is_still_needed(samples: Samples) -> None:
    used: set[int] = set()
    for payload_id, name in SAMPLE_OF.items():
        if name is None:
            used |= {i for i, e in enumerate(EXCEPTIONS) if e.covers(payload_id, None)}
            continue
        for diff in differences(PAYLOADS[payload_id]["payload"], samples[name]):
            used |= {i for i, e in enumerate(EXCEPTIONS) if e.covers(payload_id, diff)}
    stale = [f"{e.ids} {e.paths} {e.kind}" for i, e in enumerate(EXCEPTIONS) if i not in used]
    assert not stale, f"exceptions no payload needs any more: {stale}"


def test_exceptions_all_have_reasons() -> None:
    assert EXCEPTIONS, "the simulator's docstring lists no exception: the parser lost them"
    assert all(len(e.reason) > 20 for e in EXCEPTIONS), [e for e in EXCEPTIONS if not e.reason]
