"""Client order ids that never repeat, across restarts too.

Format: ``<prefix>-<session>-<counter>`` in base 36, at most 36 characters and within Binance's
``^[.A-Z:/a-z0-9_-]{1,36}$``. The session part is the start time in milliseconds, so a restarted
OMS cannot reissue an id from an earlier run even before it has read its journal; recovery also
raises the counter past every id it finds.
"""

from __future__ import annotations

import re

from mmoms.core.ids import ClientOrderId

VALID_ID = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def _b36(n: int) -> str:
    if n == 0:
        return "0"
    out = []
    while n:
        n, r = divmod(n, 36)
        out.append(_DIGITS[r])
    return "".join(reversed(out))


class ClientOrderIdFactory:
    def __init__(self, prefix: str, session_ms: int) -> None:
        """
        Raises:
            ValueError: the prefix is empty, too long or has characters Binance refuses.
        """
        if not prefix or len(prefix) > 8 or not VALID_ID.match(prefix) or "-" in prefix:
            raise ValueError(
                f"client id prefix must be 1-8 chars of [.A-Za-z0-9:/_], got {prefix!r}"
            )
        self._head = f"{prefix}-{_b36(session_ms)}-"
        self._counter = 0

    def next(self) -> ClientOrderId:
        self._counter += 1
        return ClientOrderId(self._head + _b36(self._counter))

    def owns(self, client_order_id: str) -> bool:
        """True for ids of this factory's session."""
        return client_order_id.startswith(self._head)


def is_valid(client_order_id: str) -> bool:
    return bool(VALID_ID.match(client_order_id))
