"""Client order ids that never repeat, across restarts too, and fit the venue's id rule.

Format: ``<prefix>-<session>-<counter>``, the numbers in base 36. The session part is the start
time in milliseconds, so a restarted OMS cannot reissue an id from an earlier run even before it
has read its journal; recovery also raises the counter past every id it finds.

The venue's rule (``GatewayCapabilities.client_id_rule``: longest id, allowed characters) shapes
the format once, at construction: the separator is the first of ``-_.:/`` the rule allows, the
digits lowercase base 36, else uppercase, else decimal. A venue that allows no separator gets
``<prefix><session><counter>`` with a letters-only prefix and a fixed-width session, which still
parses one way. A prefix or a rule that cannot hold the format is a clear error before anything
is sent.
"""

from __future__ import annotations

import string

from mmoms.core.ids import ClientOrderId
from mmoms.core.validation import ANY_VENUE_CLIENT_ID, ClientIdRule

PREFIX_MAX = 8
COUNTER_ROOM = 6  # characters left for the counter at least: 36**6 ≈ 2e9 ids per session
_SEPARATORS = "-_.:/"
_SESSION_MAX_MS = 10**14 - 1  # the year 5138
_ALPHABETS = (
    string.digits + string.ascii_lowercase,
    string.digits + string.ascii_uppercase,
    string.digits,
)


def _encode(n: int, digits: str) -> str:
    if n == 0:
        return digits[0]
    base = len(digits)
    out = []
    while n:
        n, r = divmod(n, base)
        out.append(digits[r])
    return "".join(reversed(out))


class ClientOrderIdFactory:
    def __init__(
        self, prefix: str, session_ms: int, rule: ClientIdRule = ANY_VENUE_CLIENT_ID
    ) -> None:
        """
        Raises:
            ValueError: the prefix is empty, longer than 8 characters, holds a character the rule
                refuses or the separator; or the rule leaves no separator, no digits, or not
                enough length for prefix, session and a counter.
        """
        digits = next((d for d in _ALPHABETS if rule.allows(d)), None)
        if digits is None:
            raise ValueError(
                f"the venue's client id rule (characters {rule.chars!r}) allows no digits: "
                f"the engine's id format does not fit it"
            )
        sep = next((c for c in _SEPARATORS if rule.allows(c)), "")
        # Without a separator the prefix ends at its first digit and the session has one width.
        banned = sep or string.digits
        if (
            not prefix
            or len(prefix) > PREFIX_MAX
            or not rule.allows(prefix)
            or any(c in banned for c in prefix)
        ):
            raise ValueError(
                f"client id prefix must be 1-{PREFIX_MAX} characters of the venue's "
                f"{rule.chars!r} and none of {banned!r}, got {prefix!r}"
            )
        session = _encode(session_ms, digits)
        if not sep:
            session = session.rjust(len(_encode(_SESSION_MAX_MS, digits)), digits[0])
        self._head = f"{prefix}{sep}{session}{sep}"
        self._mark, self._sep, self._session_width = f"{prefix}{sep}", sep, len(session)
        if len(self._head) + COUNTER_ROOM > rule.max_len:
            raise ValueError(
                f"client ids {self._head}<counter> do not fit the venue's {rule.max_len} "
                f"characters (a shorter prefix, or a venue that allows longer ids)"
            )
        self._digits = digits
        self._max_len = rule.max_len
        self._counter = 0

    def next(self) -> ClientOrderId:
        """
        Raises:
            OverflowError: the session has used up every id that fits the venue's length.
        """
        self._counter += 1
        cid = self._head + _encode(self._counter, self._digits)
        if len(cid) > self._max_len:
            raise OverflowError(f"client id counter exhausted: {cid!r} exceeds {self._max_len}")
        return ClientOrderId(cid)

    def owns(self, client_order_id: str) -> bool:
        """True for ids of this factory's session."""
        return client_order_id.startswith(self._head)

    def made_before(self, client_order_id: str) -> bool:
        """True for an id this format made in an earlier session (an earlier run of this
        engine under the same prefix): ``<prefix><sep><session><sep><counter>``, all digits."""
        if not client_order_id.startswith(self._mark) or self.owns(client_order_id):
            return False
        rest, digits = client_order_id[len(self._mark) :], self._digits
        if self._sep:
            session, sep, counter = rest.partition(self._sep)
        else:
            session, sep, counter = rest[: self._session_width], "", rest[self._session_width :]
        if not session or not counter or (self._sep and not sep):
            return False
        return all(c in digits for c in session) and all(c in digits for c in counter)


def is_valid(client_order_id: str, rule: ClientIdRule = ANY_VENUE_CLIENT_ID) -> bool:
    return rule.accepts(client_order_id)
