"""The OrderManager's intake: every intent is built from checked arguments, at the caller.

Whatever calls the engine — a :class:`~mmoms.Strategy`, a test, a bus adapter — gets an
:class:`~mmoms.core.errors.InvalidOrderError` at the call for a float price, a wrong type, a
symbol the engine does not trade or a non-positive size, and nothing is queued. The engine loop
then never meets a value it cannot handle: one bad argument must not kill the engine for every
strategy (it did: a float price reached ``Decimal.is_finite`` inside the loop).

Checks here are types and signs only; grid rounding, minimums and risk stay in the engine, where
the instrument and the book are (a quote off the tick grid is snapped passively, not refused).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from mmoms.contingent.spec import MAX_SLOTS, Group, flatten_client_order_id, slot_client_order_id
from mmoms.core.enums import OrderType, Side, TimeInForce
from mmoms.core.errors import InvalidOrderError
from mmoms.core.ids import ClientOrderId, GroupId, StrategyId, Symbol
from mmoms.core.intents import AmendOrderIntent, PlaceOrder, QuoteLevel
from mmoms.core.validation import (
    ANY_VENUE_CLIENT_ID,
    ClientIdRule,
    check_enum,
    check_money,
    check_symbol,
    check_tag,
)
from mmoms.engine.protection import flatten_id

__all__ = ["amend_intent", "group", "place_intent", "quote_levels", "strategy_id"]

_PLACEABLE = (OrderType.LIMIT, OrderType.MARKET)


def strategy_id(value: object) -> StrategyId:
    """Raises InvalidOrderError: not a non-empty string of at most 32 characters."""
    if not isinstance(value, str) or not 0 < len(value) <= 32:
        raise InvalidOrderError(f"strategy id must be a string of 1-32 characters: {value!r:.40}")
    return StrategyId(value)


def quote_levels(levels: Iterable[QuoteLevel]) -> tuple[QuoteLevel, ...]:
    """The levels, checked; a level whose side was given as a string is rebuilt with the enum.

    Raises:
        InvalidOrderError: not iterable, an item that is no QuoteLevel, or a bad field.
    """
    if isinstance(levels, (str, bytes)) or not isinstance(levels, Iterable):
        raise InvalidOrderError("levels must be a list of mmoms.QuoteLevel")
    out: list[QuoteLevel] = []
    for i, level in enumerate(levels):
        if not isinstance(level, QuoteLevel):
            raise InvalidOrderError(
                f"levels[{i}] must be a mmoms.QuoteLevel, not {type(level).__name__}"
            )
        side = check_enum(f"levels[{i}].side", level.side, Side)
        check_money(f"levels[{i}].price", level.price)
        check_money(f"levels[{i}].quantity", level.quantity)
        check_tag(level.tag)
        if not isinstance(level.post_only, bool):
            raise InvalidOrderError(f"levels[{i}].post_only must be True or False")
        out.append(level if side is level.side else _with_side(level, side))
    return tuple(out)


def _with_side(level: QuoteLevel, side: Side) -> QuoteLevel:
    return QuoteLevel(
        side=side, price=level.price, quantity=level.quantity, tag=level.tag,
        post_only=level.post_only,
    )  # fmt: skip


def place_intent(
    symbols: tuple[Symbol, ...],
    *,
    strategy: StrategyId,
    symbol: object,
    side: object,
    quantity: object,
    price: object,
    order_type: object,
    time_in_force: object,
    reduce_only: object,
    tag: object,
    client_order_id: ClientOrderId,
) -> PlaceOrder:
    """A PlaceOrder from checked arguments.

    Raises:
        InvalidOrderError: a bad argument, a LIMIT order without a price, a MARKET order with
            one, or an order type this call does not place (stops go in groups).
    """
    kind = check_enum("order_type", order_type, OrderType)
    if kind not in _PLACEABLE:
        raise InvalidOrderError(
            f"order_type {kind.value}: place() sends LIMIT and MARKET orders; conditional "
            "orders (stops, take-profits) go in a contingent group (mmoms.contingent)"
        )
    checked_price: Decimal | None = None
    if kind is OrderType.LIMIT:
        if price is None:
            raise InvalidOrderError("a LIMIT order needs a price")
        checked_price = check_money("price", price)
    elif price is not None:
        raise InvalidOrderError("a MARKET order takes no price")
    tif = None if time_in_force is None else check_enum("time_in_force", time_in_force, TimeInForce)
    if tif is not None and kind is OrderType.MARKET:
        raise InvalidOrderError("a MARKET order takes no time_in_force")
    if tif is TimeInForce.GTD:
        raise InvalidOrderError("time_in_force GTD needs an expiry time, which place() has not")
    if not isinstance(reduce_only, bool):
        raise InvalidOrderError("reduce_only must be True or False")
    return PlaceOrder(
        strategy_id=strategy,
        symbol=check_symbol(symbol, symbols),
        side=check_enum("side", side, Side),
        order_type=kind,
        quantity=check_money("quantity", quantity),
        price=checked_price,
        time_in_force=tif,
        reduce_only=reduce_only,
        client_order_id=client_order_id,
        tag=check_tag(tag),
    )


def amend_intent(
    symbols: tuple[Symbol, ...],
    *,
    strategy: StrategyId,
    symbol: object,
    client_order_id: ClientOrderId,
    price: object,
    quantity: object,
) -> AmendOrderIntent:
    """An AmendOrderIntent from checked arguments (``quantity`` is the new total).

    Raises:
        InvalidOrderError: a bad argument.
    """
    return AmendOrderIntent(
        strategy_id=strategy,
        symbol=check_symbol(symbol, symbols),
        client_order_id=client_order_id,
        price=check_money("price", price),
        quantity=check_money("quantity", quantity),
    )


def group(
    symbols: tuple[Symbol, ...], value: object, rule: ClientIdRule = ANY_VENUE_CLIENT_ID
) -> Group:
    """A contingent group whose symbol is traded, whose legs hold Decimal money, and whose
    every client order id — a leg's re-placements and the flattens included — fits the venue's
    ``rule`` (refused now, not when a re-placement or a flatten is sent).

    The builders (:mod:`mmoms.contingent`) check the graph; they do not check types, and a
    float in a leg would reach the engine only when that leg is sent — maybe minutes later.

    Raises:
        InvalidOrderError: not a Group, a symbol not traded, a leg with bad money, ids the
            venue would refuse.
    """
    if not isinstance(value, Group):
        raise InvalidOrderError(
            f"place_group() takes a group built by mmoms.contingent (oco, oto, otoco, bracket, "
            f"ouo, graph), not {type(value).__name__}"
        )
    check_symbol(value.symbol, symbols)
    for leg in value.legs:
        spec = leg.order
        check_money(f"leg {leg.name} quantity", spec.quantity)
        for name in ("price", "trigger_price"):
            amount = getattr(spec, name)
            if amount is not None:
                check_money(f"leg {leg.name} {name}", amount)
    longest = [slot_client_order_id(leg.client_order_id, MAX_SLOTS) for leg in value.legs]
    longest += [
        flatten_client_order_id(value.group_id, MAX_SLOTS),
        flatten_id(GroupId(value.group_id), ClientOrderId(f"x.{MAX_SLOTS}")),
    ]
    for cid in longest:
        if not rule.accepts(cid):
            raise InvalidOrderError(
                f"group {value.group_id!r}: an id it may use ({cid!r}) does not fit the venue's "
                f"client order ids (1 to {rule.max_len} of {rule.chars!r})"
            )
    return value
