"""Journal records stay readable across versions of the record types."""

from __future__ import annotations

import msgspec

from mmoms.core.commands import CancelOrder
from mmoms.core.ids import ClientOrderId, Symbol
from mmoms.journal.records import CommandSent, decode_entry, encode_entry


def test_a_command_sent_record_with_the_dropped_transport_field_still_decodes() -> None:
    cmd = CancelOrder(ts_ns=1, client_order_id=ClientOrderId("mm-1"), symbol=Symbol("BTCUSDC"))
    raw = msgspec.json.decode(encode_entry(CommandSent(command=cmd)))
    assert "transport" not in raw
    raw["transport"] = "rest"  # as written before the field was dropped
    old = decode_entry(msgspec.json.encode(raw))
    assert old == CommandSent(command=cmd)
