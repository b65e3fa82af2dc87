"""Identifiers. ``NewType``s so that a symbol is never passed where a client order id belongs."""

from __future__ import annotations

from typing import NewType

Symbol = NewType("Symbol", str)
"""Exchange symbol, e.g. ``BTCUSDC``."""

ClientOrderId = NewType("ClientOrderId", str)
"""Our id for an order; Binance's ``newClientOrderId`` (``^[.A-Z:/a-z0-9_-]{1,36}$``)."""

VenueOrderId = NewType("VenueOrderId", int)
"""The exchange's order id. Binance ids are int64 and are not assumed small."""

TradeId = NewType("TradeId", int)
"""The exchange's trade id (unique per symbol)."""

StrategyId = NewType("StrategyId", str)
GroupId = NewType("GroupId", str)
"""Id of a contingent-order group (OCO, OTO, bracket...)."""
