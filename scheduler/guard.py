"""One dispatcher per SQLite database: an OS file lock beside the database file.

The start-up of a dispatcher on SQLite puts every claimed row back in the queue (a row
claimed by a dead run would otherwise wait for its lease). That is only safe when no other
process is sending from the same file, so `aftercare run` takes an exclusive, non-blocking
``fcntl.flock`` on ``<database>.dispatcher.lock`` first; a second run on the same file stops
with `DispatcherLockError` carrying the file and the holder's process id (the words the
operator reads are the bot's: bot/ops/texts.yaml, `bot.ops.startup.dispatcher_locked`). The
kernel drops the lock when its holder exits, however it exits (SIGKILL included), so a crash
never leaves a stale lock. PostgreSQL needs no such lock: several replicas are safe there (leases).
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path
from typing import Protocol

from sqlalchemy.engine import URL, make_url

log = logging.getLogger(__name__)
LOCK_SUFFIX = ".dispatcher.lock"


class DispatcherLockError(RuntimeError):
    """Another process already dispatches check-ins from this SQLite database: `database`,
    and `holder`, the process id the lock file names (None when it names none)."""

    def __init__(self, database: Path, holder: int | None) -> None:
        # for logs and tracebacks; the operator's line is chosen by the bot (see above)
        super().__init__(f"{database}: dispatcher lock held"
                         + (f" by process {holder}" if holder else ""))
        self.database = database
        self.holder = holder


class DispatcherGuard(Protocol):
    """What `CheckinService` holds while it dispatches (`SingleDispatcherLock`)."""

    def acquire(self) -> None: ...

    def try_acquire(self) -> bool: ...

    def release(self) -> None: ...


def sqlite_file(url: str | URL) -> Path | None:
    """The database file of an SQLite URL; None for other databases and in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return Path(database).expanduser().resolve()


class SingleDispatcherLock:
    """An exclusive lock on ``<database>.dispatcher.lock`` held while the dispatcher runs."""

    def __init__(self, database: Path) -> None:
        self.path = database.with_name(database.name + LOCK_SUFFIX)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """True while this object holds the lock."""
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock or raise `DispatcherLockError` at once (never waits)."""
        if self._fd is not None:
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            database = self.path.with_name(self.path.name.removesuffix(LOCK_SUFFIX))
            raise DispatcherLockError(database, holder) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        log.info("dispatcher lock taken: %s", self.path)

    def try_acquire(self) -> bool:
        """Take the lock if no other process holds it (never waits, never raises for that)."""
        try:
            self.acquire()
        except DispatcherLockError:
            return False
        return True

    def release(self) -> None:
        """Let go of the lock (also happens when the process exits)."""
        if self._fd is None:
            return
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode().strip()
        return int(text) if text else None
    except (OSError, ValueError):
        return None


def dispatcher_lock(url: str | URL) -> SingleDispatcherLock | None:
    """The single-dispatcher lock of an SQLite database file; None for other databases
    (replicas are safe there) and for in-memory SQLite."""
    database = sqlite_file(url)
    return SingleDispatcherLock(database) if database else None
