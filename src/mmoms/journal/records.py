"""What the journal records: tagged structs, encoded as JSON payloads.

Two families:

* **Book inputs** — :class:`BookCreate`, :class:`BookMark`, :class:`BookReport`. Replaying them in
  seq order into a fresh :class:`~mmoms.core.book.LocalOrderBook`, with the clock set to each
  record's ``ts_ns``, rebuilds exactly the state the live engine had (same state hash). The engine
  therefore reads the clock once per input and uses that value both for the book and the record.
* **Audit** — intents, commands sent, events, risk rejections, API errors, reconciliations. They
  explain the session; replay does not need them to rebuild state.

Versioning: add fields with defaults, add new record types; never change a field's meaning.
Old journals stay readable because decoding ignores unknown fields.
"""

from __future__ import annotations

import msgspec

from mmoms.core.commands import AnyCommand, SubmitOrder
from mmoms.core.events import AnyEvent
from mmoms.core.fsm import Trigger
from mmoms.core.ids import ClientOrderId, GroupId, StrategyId, Symbol
from mmoms.core.intents import AnyIntent
from mmoms.core.reports import AnyReport


class Entry(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    """Base of every journal payload."""


class BookCreate(Entry, frozen=True, tag=True, kw_only=True):
    command: SubmitOrder
    inactive: bool = False
    group_id: GroupId | None = None
    tag: str | None = None
    strategy_id: StrategyId | None = None


class BookMark(Entry, frozen=True, tag=True, kw_only=True):
    symbol: Symbol
    client_order_id: ClientOrderId
    trigger: Trigger
    reason: str = ""


class BookReport(Entry, frozen=True, tag=True, kw_only=True):
    report: AnyReport


class IntentReceived(Entry, frozen=True, tag=True, kw_only=True):
    intent: AnyIntent


class CommandSent(Entry, frozen=True, tag=True, kw_only=True):
    """The command as decided, before it leaves (write-ahead). Which wire carried it (REST or
    the WS API) is the gateway's choice at send time, not recorded here; records written
    before this field was dropped carry ``"transport": "rest"``, ignored when read."""

    command: AnyCommand


class EventRecorded(Entry, frozen=True, tag=True, kw_only=True):
    event: AnyEvent


class RiskRejected(Entry, frozen=True, tag=True, kw_only=True):
    intent: AnyIntent | None = None
    command: AnyCommand | None = None
    check: str  # which check said no, e.g. "max_position"
    reason: str
    # Whose intent or quote it was (a quote's rejection has no intent): None in old journals.
    strategy_id: StrategyId | None = None
    symbol: Symbol | None = None


class ApiErrorRecorded(Entry, frozen=True, tag=True, kw_only=True):
    command: AnyCommand | None = None
    kind: str  # "rejected" / "outcome_unknown" / "protocol"
    code: int | None = None
    message: str = ""
    http_status: int | None = None


class GroupRecorded(Entry, frozen=True, tag=True, kw_only=True):
    """A contingent group's intent, new state or event; the payload is the JSON of a struct of
    :mod:`mmoms.contingent` (kept opaque: the journal depends on the core only)."""

    kind: str  # "intent" | "state" | "event"
    group_id: GroupId
    strategy_id: StrategyId | None = None
    payload: msgspec.Raw


class Reconciled(Entry, frozen=True, tag=True, kw_only=True):
    reason: str  # "startup", "periodic", "stream_gap", "unknown_outcome", ...
    symbols: tuple[Symbol, ...] = ()
    differences: tuple[str, ...] = ()


AnyEntry = (
    BookCreate
    | BookMark
    | BookReport
    | IntentReceived
    | CommandSent
    | EventRecorded
    | RiskRejected
    | ApiErrorRecorded
    | GroupRecorded
    | Reconciled
)

BOOK_INPUTS = (BookCreate, BookMark, BookReport)

_encoder = msgspec.json.Encoder()
_decoder: msgspec.json.Decoder[AnyEntry] = msgspec.json.Decoder(AnyEntry)


def encode_entry(entry: Entry) -> bytes:
    return _encoder.encode(entry)


def decode_entry(payload: bytes) -> AnyEntry:
    """Decode one payload.

    Raises:
        msgspec.DecodeError / msgspec.ValidationError: not a journal entry we understand
            (also for a payload that is not UTF-8 or nests deeper than the decoder can follow).
    """
    try:
        return _decoder.decode(payload)
    except (RecursionError, UnicodeError) as exc:
        raise msgspec.DecodeError(f"not a journal entry: {type(exc).__name__}") from None


def kind_of(entry: Entry) -> str:
    return type(entry).__name__
