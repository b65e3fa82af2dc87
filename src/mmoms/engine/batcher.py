"""Collect actions over a short window, net out the ones that cancel each other, and send
cancels first in as few requests as the venue allows.

Quotes are netted before they get here: the engine keeps only the latest desired set per symbol
and diffs once per window, so a burst of quote updates costs one diff. This module nets the
imperative actions, keyed by client order id:

* a new order and its cancel in the same window: neither is sent;
* a second amend of the same order replaces the first;
* a cancel supersedes a pending amend of the same order;
* a duplicate cancel is dropped.

:meth:`ActionBatcher.drain` returns :class:`Flight`s: cancels first (getting out of the market is
never delayed behind new risk), then amends, then new orders, grouped per symbol into the batch
sizes the venue declares (:class:`BatchLimits` from ``GatewayCapabilities``; a venue without a
batch endpoint gets one action per request).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from mmoms.core.commands import AmendOrder, CancelOrder, SubmitOrder
from mmoms.core.enums import Side
from mmoms.core.ids import ClientOrderId, Symbol
from mmoms.engine.risk import NOTHING_QUEUED, Queued
from mmoms.venues.gateway import GatewayCapabilities

Action = SubmitOrder | AmendOrder | CancelOrder


@dataclass(frozen=True, slots=True)
class BatchLimits:
    """Most actions of one kind per request. 0 or 1: one request per action (no batching)."""

    cancels: int = 1
    amends: int = 1
    news: int = 1

    @classmethod
    def of(cls, capabilities: GatewayCapabilities) -> BatchLimits:
        """The batch sizes the venue's gateway declares."""
        return cls(
            cancels=capabilities.max_batch_cancel,
            amends=capabilities.max_batch_amend,
            news=capabilities.max_batch_submit,
        )


@dataclass(frozen=True, slots=True)
class Flight:
    """One request's worth of same-kind actions on one symbol."""

    symbol: Symbol
    actions: tuple[Action, ...]

    @property
    def kind(self) -> type[Action]:
        return type(self.actions[0])


@dataclass(slots=True)
class ActionBatcher:
    limits: BatchLimits = field(default_factory=BatchLimits)
    _news: dict[ClientOrderId, SubmitOrder] = field(default_factory=dict)
    _queued: dict[Symbol, Queued] = field(default_factory=dict)  # _news summed, for risk
    _amends: dict[ClientOrderId, AmendOrder] = field(default_factory=dict)
    _cancels: dict[ClientOrderId, CancelOrder] = field(default_factory=dict)
    netted: int = 0  # actions that never had to be sent

    def __len__(self) -> int:
        return len(self._news) + len(self._amends) + len(self._cancels)

    def add(self, action: Action) -> None:
        cid = action.client_order_id
        if isinstance(action, SubmitOrder):
            replaced = self._news.get(cid)
            if replaced is not None:
                self._count(replaced, -1)
            self._news[cid] = action
            self._count(action, 1)
        elif isinstance(action, AmendOrder):
            if cid in self._cancels:
                self.netted += 1  # the order is being canceled anyway
                return
            if self._amends.pop(cid, None) is not None:
                self.netted += 1
            self._amends[cid] = action
        else:
            if (placed := self._news.pop(cid, None)) is not None:
                self._count(placed, -1)
                self.netted += 2  # placed and canceled within one window: send neither
                return
            if self._amends.pop(cid, None) is not None:
                self.netted += 1
            if cid in self._cancels:
                self.netted += 1
                return
            self._cancels[cid] = action

    @property
    def has_cancels(self) -> bool:
        return bool(self._cancels)

    def symbols(self) -> set[Symbol]:
        """The symbols with an action waiting here."""
        return {a.symbol for d in (self._news, self._amends, self._cancels) for a in d.values()}

    def pending_new(self, client_order_id: ClientOrderId) -> SubmitOrder | None:
        """The new order collected under this id in this window, if any."""
        return self._news.get(client_order_id)

    def queued(self, symbol: Symbol) -> Queued:
        """The new orders on ``symbol`` collected and not sent yet, for the risk checks."""
        return self._queued.get(symbol, NOTHING_QUEUED)

    def _count(self, cmd: SubmitOrder, sign: int) -> None:
        """Keep :meth:`queued` in step with ``_news`` (a burst is O(n), not O(n²))."""
        q = self._queued.get(cmd.symbol, NOTHING_QUEUED)
        qty = Decimal(0) if cmd.reduce_only else sign * cmd.quantity  # cannot add exposure
        buy, sell = (qty, Decimal(0)) if cmd.side is Side.BUY else (Decimal(0), qty)
        self._queued[cmd.symbol] = Queued(q.orders + sign, q.buy_qty + buy, q.sell_qty + sell)

    def drain(self) -> list[Flight]:
        """Everything collected, as flights: cancels, then amends, then new orders."""
        flights: list[Flight] = []
        for actions, size in (
            (self._cancels, self.limits.cancels),
            (self._amends, self.limits.amends),
            (self._news, self.limits.news),
        ):
            size = max(size, 1)  # 0: the venue has no batch request; each action goes alone
            by_symbol: dict[Symbol, list[Action]] = {}
            for action in actions.values():
                by_symbol.setdefault(action.symbol, []).append(action)
            for symbol, items in by_symbol.items():
                for i in range(0, len(items), size):
                    flights.append(Flight(symbol, tuple(items[i : i + size])))
            actions.clear()
        self._queued.clear()
        return flights
