"""What the Binance gateway declares to the engine matches what its own codec enforces."""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from mmoms.core.clock import TestClock
from mmoms.engine.client_ids import ClientOrderIdFactory
from mmoms.venues.binance import codec, endpoints
from mmoms.venues.gateway import GatewayCapabilities
from tests.venues.conftest import START_NS
from tests.venues.test_gateway import Env


def _caps() -> GatewayCapabilities:
    return Env(TestClock(start_ns=START_NS)).gw.capabilities


def test_batch_sizes_amend_and_conditional_routing_are_declared() -> None:
    caps = _caps()
    assert (caps.max_batch_submit, caps.max_batch_amend, caps.max_batch_cancel) == (5, 5, 10)
    assert caps.max_batch_submit == endpoints.MAX_BATCH_PLACE
    assert caps.supports_amend
    assert caps.stops_kept_apart  # the Algo Service keeps stops apart


@given(st.text(alphabet=string.printable + "é", max_size=40))
def test_the_declared_id_rule_is_the_codecs(value: str) -> None:
    # fullmatch: the codec's ``$`` also matches before a final newline, which Binance refuses
    assert _caps().client_id_rule.accepts(value) is bool(codec.CLIENT_ID_RE.fullmatch(value))


def test_the_declared_id_rule_refuses_a_final_newline() -> None:
    assert not _caps().client_id_rule.accepts("abc\n")


def test_the_engines_ids_fit_the_declared_rule() -> None:
    ids = ClientOrderIdFactory("mmoms", START_NS // 1_000_000, _caps().client_id_rule)
    for _ in range(100):
        cid = ids.next()
        assert codec.CLIENT_ID_RE.match(cid)
        codec.check_client_order_id(cid)  # the gateway's own check passes
