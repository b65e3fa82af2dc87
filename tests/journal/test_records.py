"""Journal records only gain fields with defaults: a record written before a field existed
still decodes, with the default."""

from __future__ import annotations

from mmoms.core.ids import StrategyId, Symbol
from mmoms.core.intents import PlaceOrder
from mmoms.journal.records import RiskRejected, decode_entry, encode_entry

# As journals written before RiskRejected named its strategy and symbol hold them.
OLD_QUOTE_REJECTION = (
    b'{"type":"RiskRejected","intent":null,"command":null,'
    b'"check":"order_rate","reason":"20 orders in the last second"}'
)
OLD_PLACE_REJECTION = (
    b'{"type":"RiskRejected","intent":{"type":"PlaceOrder","strategy_id":"mm","ts_ns":0,'
    b'"symbol":"BTCUSDC","side":"BUY","order_type":"LIMIT","quantity":"0.01",'
    b'"price":"80000"},"command":null,"check":"price_band","reason":"too far"}'
)


def test_an_old_risk_rejection_still_decodes() -> None:
    entry = decode_entry(OLD_QUOTE_REJECTION)
    assert entry == RiskRejected(check="order_rate", reason="20 orders in the last second")
    assert (entry.strategy_id, entry.symbol) == (None, None)
    old = decode_entry(OLD_PLACE_REJECTION)
    assert isinstance(old, RiskRejected)
    assert isinstance(old.intent, PlaceOrder)
    assert old.intent.strategy_id == "mm"
    assert old.strategy_id is None


def test_a_risk_rejection_names_whose_it_was() -> None:
    entry = RiskRejected(
        check="max_position", reason="x", strategy_id=StrategyId("mm"), symbol=Symbol("ETHUSDC")
    )
    assert decode_entry(encode_entry(entry)) == entry
