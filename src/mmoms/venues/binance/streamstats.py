"""What the user-data stream decoder could not use: counted per kind, logged once per kind.

A venue that starts sending a new event type, or a shape we misread, sends it on every
message: one log line per message would drown the log (and cost a formatted line per event on
the hot path). So the first message of each kind is logged at its level and the rest at DEBUG;
the counters say how many there were, for ``/metrics`` (:attr:`BinanceGateway.stream_stats`).

Kinds are short fixed names, never payload text (a payload may carry the listenKey):
``unknown <event type>`` (an event we do not decode; the type is cut to 64 characters),
``malformed <event type>`` (a known event we cannot read), ``unusable <event type>`` (read, but
holding a value we cannot use), ``not-json``, ``too-deep``, ``bad-wrapper``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

__all__ = ["DecoderStats"]


@dataclass(slots=True)
class DecoderStats:
    """Counters of one user stream's decoder."""

    messages: int = 0  # every message handed to the decoder
    reports: int = 0  # reports and notices it produced
    wrapped: int = 0  # events that came in a combined-stream wrapper {"stream", "data"}
    unknown: int = 0  # events of a type we do not decode
    malformed: int = 0  # messages we could not read, or not use
    unknown_types: set[str] = field(default_factory=set)
    by_kind: dict[str, int] = field(default_factory=dict)  # unknown + malformed, per kind

    def complain(
        self, logger: logging.Logger, level: int, kind: str, msg: str, *args: object
    ) -> None:
        """Count one ignored message of ``kind`` and log it: at ``level`` the first time the
        kind is seen, at DEBUG after that. ``msg`` and ``args`` must not carry the payload."""
        seen = self.by_kind.get(kind, 0)
        self.by_kind[kind] = seen + 1
        if kind.startswith("unknown "):
            self.unknown += 1
            self.unknown_types.add(kind.removeprefix("unknown "))
        else:
            self.malformed += 1
        if seen:
            logger.debug(msg + " (%s: %d so far)", *args, kind, seen + 1)
        else:
            logger.log(level, msg + " (logged once per kind; counted after)", *args)
