"""The engine tests run against the fake venue ``MMOMS_TEST_VENUE`` names (see
:func:`tests.engine.fake_gateway.default_venue`); the test script runs them against both. A
test of amend-in-place itself (``amend_venue``) has nothing to test on a venue without amend."""

from __future__ import annotations

import pytest

from .fake_gateway import default_venue


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    venue = default_venue()
    if venue.supports_amend:
        return
    skip = pytest.mark.skip(reason=f"{venue.venue} does not amend in place")
    for item in items:
        if item.get_closest_marker("amend_venue") is not None:
            item.add_marker(skip)
