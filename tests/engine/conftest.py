"""The engine tests run against the fake venue ``MMOMS_TEST_VENUE`` names (see
:func:`tests.engine.fake_gateway.default_venue`); the test script runs them against both. A
test of amend-in-place itself (``amend_venue``) has nothing to test on a venue without amend,
nor a test of stops held by the venue (``venue_stops``) on a venue that holds none."""

from __future__ import annotations

import pytest

from .fake_gateway import default_venue


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    venue = default_venue()
    lacks = {
        "amend_venue": None if venue.supports_amend else "does not amend in place",
        "venue_stops": None if venue.holds_stops else "holds no stops",
    }
    for item in items:
        for marker, reason in lacks.items():
            if reason is not None and item.get_closest_marker(marker) is not None:
                item.add_marker(pytest.mark.skip(reason=f"{venue.venue} {reason}"))
