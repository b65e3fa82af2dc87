"""Who holds a journal: this process's description, the SQLite sidecar lock, and how a
PostgreSQL session names its holder.

A writer describes itself as a :class:`~mmoms.journal.store.JournalHolder` (pid, host, program,
since) so that a refused newcomer can say who is in the way. Nothing secret goes into it: the
program is the command's name and at most one sub-command word from ``sys.argv``, never its
other arguments (a key could be one of them).

The SQLite lock (:class:`SidecarLock`) is ``flock(LOCK_EX | LOCK_NB)`` on ``<journal>.lock``
next to the database; why a sidecar and not the database file is in :mod:`mmoms.journal.sqlite`.
The PostgreSQL lock is a session-level advisory lock (:func:`advisory_key`) taken by the store
itself; this module only encodes and decodes the holder in the session's ``application_name``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import socket
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from mmoms.journal.store import JournalError, JournalHolder, JournalLockedError

__all__ = [
    "SidecarLock",
    "advisory_key",
    "application_name",
    "holder_from_application_name",
    "iso_utc",
    "lock_path",
    "program_name",
    "this_process",
]

# A sub-command is a short lower-case word ("run", "soak"): anything else in argv[1] might be a
# value (a path, a key) and stays out of the description.
_SUBCOMMAND = re.compile(r"[a-z][a-z-]{0,15}")
_HOLDER_BYTES = 4096  # a description is ~150 bytes; never read more than this
_APP_NAME_BYTES = 63  # PostgreSQL truncates application_name to NAMEDATALEN - 1
_APP_NAME = re.compile(r"^(?P<program>.+) pid (?P<pid>\d+) on (?P<host>.+)$")
_PRINTABLE = re.compile(r"[^\x20-\x7e]")


def program_name(argv: Sequence[str] | None = None) -> str:
    """What this process is, e.g. ``mmoms run``: argv[0]'s name (the package for ``python -m``)
    and argv[1] if it is a sub-command word."""
    argv = sys.argv if argv is None else argv
    first = Path(argv[0]) if argv and argv[0] not in ("", "-c", "-") else None
    if first is None:
        name = "python"
    else:
        name = first.parent.name if first.name == "__main__.py" else first.name
    if len(argv) > 1 and _SUBCOMMAND.fullmatch(argv[1]):
        name = f"{name} {argv[1]}"
    return name


def iso_utc(ts_ns: int) -> str:
    """``2026-12-07T18:00:01Z`` (seconds are enough to tell one start from another)."""
    return f"{datetime.fromtimestamp(ts_ns // 1_000_000_000, UTC):%Y-%m-%dT%H:%M:%SZ}"


def this_process(now_ns: int, program: str | None = None) -> JournalHolder:
    return JournalHolder(
        pid=os.getpid(),
        host=socket.gethostname(),
        program=program or program_name(),
        since=iso_utc(now_ns),
    )


# -- SQLite: a sidecar file lock -----------------------------------------------------------


def lock_path(db: Path) -> Path:
    """``journal.sqlite`` → ``journal.sqlite.lock`` (no clash with SQLite's -wal/-shm/-journal)."""
    return db.with_name(db.name + ".lock")


class SidecarLock:
    """An exclusive ``flock`` on the journal's sidecar file, holding this process's description.

    The lock belongs to the open file description: it goes when :meth:`release` closes the
    file or the process dies (SIGKILL included). The file is never deleted — unlinking a lock
    file lets two processes lock two different inodes of the same name — only emptied on
    release, while still locked, so a stale description is never read as a live one.
    """

    def __init__(self, fd: int, path: Path) -> None:
        self._fd: int | None = fd
        self.path = path

    @classmethod
    def take(cls, db: Path, holder: JournalHolder) -> SidecarLock:
        """Lock ``db``'s sidecar without waiting and write ``holder`` into it.

        Raises:
            JournalLockedError: another open file holds the lock (in this process or another);
                it names the holder from the sidecar's contents.
            JournalError: the sidecar cannot be created, locked or written (e.g. the journal's
                directory is a regular file, or is not writable); names the journal and the
                OS's reason, on one line.
        """
        path = lock_path(db)
        try:
            # os.open's descriptors are not inherited by exec'd children (PEP 446): a child
            # process never keeps the lock alive after us (a fork without exec would share it).
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise _os_error(db, f"cannot create its lock file {path.name}", exc) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            described = _read_holder(fd)
            os.close(fd)
            raise JournalLockedError(
                str(db), described, "another process (it has not described itself yet)"
            ) from None
        except OSError as exc:
            os.close(fd)
            raise _os_error(db, f"cannot lock {path.name}", exc) from None
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, msgspec.json.encode(holder) + b"\n", 0)
        except OSError as exc:
            os.close(fd)  # releases the lock: we cannot say who we are, so do not hold it
            raise _os_error(db, f"cannot write {path.name}", exc) from None
        return cls(fd, path)

    def release(self) -> None:
        """Empty the description and unlock (idempotent; never raises)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        with contextlib.suppress(OSError):
            os.close(fd)  # the flock goes with the last descriptor of this open file


def _read_holder(fd: int) -> JournalHolder | None:
    try:
        data = os.pread(fd, _HOLDER_BYTES, 0)
        return msgspec.json.decode(data, type=JournalHolder)
    except (OSError, msgspec.DecodeError):  # empty (being written) or not ours: unknown
        return None


def _os_error(db: Path, doing: str, exc: OSError) -> JournalError:
    return JournalError(f"cannot open journal {db}: {doing}: {exc.strerror or exc}")


# -- PostgreSQL: the advisory-lock key and the holder in application_name -------------------


def advisory_key(schema: str) -> int:
    """The journal's advisory-lock key: 64 bits of a hash of its schema (signed, as
    ``pg_try_advisory_lock(bigint)`` takes it). Another application's key colliding with it
    would only make the journal look busy, never let two writers in."""
    digest = hashlib.sha256(f"mmoms-journal:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def application_name(holder: JournalHolder) -> str:
    """``mmoms run pid 1234 on host-a`` within PostgreSQL's 63 bytes (the host is cut first).
    The start time is not in it: the session's ``backend_start`` says when it took the lock."""
    program = _PRINTABLE.sub("?", holder.program)[:24]
    host = _PRINTABLE.sub("?", holder.host)
    return f"{program} pid {holder.pid} on {host}"[:_APP_NAME_BYTES]


def holder_from_application_name(name: str, since: datetime | None) -> JournalHolder | None:
    """The holder a session's ``application_name`` describes; None if it is not one of ours."""
    m = _APP_NAME.match(name)
    if m is None:
        return None
    when = "an unknown time" if since is None else f"{since.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"
    return JournalHolder(pid=int(m["pid"]), host=m["host"], program=m["program"], since=when)
