"""The public surface is pinned, and the package boundaries hold."""

from __future__ import annotations

import ast
from pathlib import Path

import mmoms.venues
import mmoms.venues.binance
import mmoms.venues.testing

VENUES = Path(mmoms.venues.__file__).parent


def test_venues_all() -> None:
    assert sorted(mmoms.venues.__all__) == [
        "AccountConfigReport", "AlgoOrderReport", "AlgoStatus", "BatchResult", "CommissionRates",
        "DuplicateClientOrderId", "ExchangeGateway", "GatewayCapabilities", "GatewayClosedError",
        "IpBanned", "LiteFillReport", "MarginCallPosition", "MarginCallReport",
        "MissingCredentialsError", "NotSent", "OrderNotFound", "OutcomeUnknown", "PoolUsage",
        "ProtocolError", "RateBudgetExceededError", "RateLimitState", "RateLimited", "Rejected",
        "SendingHaltedError", "StreamGap", "StreamItem", "StreamMessage", "StreamReport",
        "VenueError",
    ]  # fmt: skip
    for name in mmoms.venues.__all__:
        assert hasattr(mmoms.venues, name)


def test_binance_all() -> None:
    assert sorted(mmoms.venues.binance.__all__) == [
        "BinanceConfig", "BinanceGateway", "BinanceMarketData", "Credentials", "Ed25519Signer",
        "HmacSigner", "MarketSubscription", "OrderTransport", "RouteMode",
    ]  # fmt: skip


def test_testing_all() -> None:
    assert sorted(mmoms.venues.testing.__all__) == [
        "FakeHttpTransport", "FakeRequest", "FakeWsConnector", "FakeWsPeer", "json_reply",
    ]  # fmt: skip


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_gateway_never_imports_the_simulator() -> None:
    for path in VENUES.rglob("*.py"):
        assert not any(n == "mmoms.sim" or n.startswith("mmoms.sim.") for n in imports_of(path)), (
            path
        )


def test_io_libraries_stay_in_the_transport_module() -> None:
    for path in VENUES.rglob("*.py"):
        names = imports_of(path)
        if path.name != "transport.py":
            assert not any(n.split(".")[0] in ("aiohttp", "websockets", "yarl") for n in names), (
                path
            )


def test_the_pure_parts_do_no_io() -> None:
    pure = ["signing", "errors", "endpoints", "schemas", "codec", "streamcodec", "ratecontrol",
            "timesync", "listenkey", "config", "marketcodec"]  # fmt: skip
    for name in pure:
        names = imports_of(VENUES / "binance" / f"{name}.py")
        assert "asyncio" not in names, name
        assert "mmoms.venues.transport" not in names, name
