"""Carry one flight to the gateway and bring back one result per action.

This is the engine's only boundary with the gateway's request methods. Whatever happens, every
action comes back with a report or an exception; nothing is swallowed. An exception the gateway
did not classify (a bug, a library error that leaked) is wrapped as :class:`OutcomeUnknown`:
the request may have left, so the engine resolves the order by client order id rather than
guessing that it failed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from mmoms.core.commands import AmendOrder, CancelOrder, SubmitOrder
from mmoms.core.errors import MmomsError
from mmoms.engine.batcher import Flight
from mmoms.venues.errors import OutcomeUnknown
from mmoms.venues.gateway import ExchangeGateway

log = logging.getLogger(__name__)


async def send_flight(gateway: ExchangeGateway, flight: Flight) -> Sequence[object]:
    actions = flight.actions
    try:
        if len(actions) == 1:
            return [await _send_one(gateway, actions[0])]
        kind = flight.kind
        if kind is SubmitOrder:
            return list(
                await gateway.submit_batch([a for a in actions if isinstance(a, SubmitOrder)])
            )
        if kind is AmendOrder:
            return list(
                await gateway.amend_batch([a for a in actions if isinstance(a, AmendOrder)])
            )
        return list(await gateway.cancel_batch([a for a in actions if isinstance(a, CancelOrder)]))
    except MmomsError as exc:
        return [exc] * len(actions)
    except Exception as exc:  # the boundary: classify, never drop
        log.exception("gateway raised an unclassified error for %s", flight.kind.__name__)
        unknown = OutcomeUnknown(f"unclassified gateway error: {type(exc).__name__}")
        return [unknown] * len(actions)


async def _send_one(
    gateway: ExchangeGateway, action: SubmitOrder | AmendOrder | CancelOrder
) -> object:
    if isinstance(action, SubmitOrder):
        return await gateway.submit(action)
    if isinstance(action, AmendOrder):
        return await gateway.amend(action)
    return await gateway.cancel(action)
