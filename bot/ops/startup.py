"""Start-up that waits for what it needs: retry an attempt with capped exponential backoff.

``aftercare run`` needs the database and the Telegram Bot API. When either is unreachable at
start (the database container is still booting, the network is down), the bot logs one line per
attempt, saying what failed, why (in one line, never the SQL, its parameters or the token) and
when it tries again, then waits 1, 2, 4 … up to 60 seconds between attempts, until the attempt
succeeds or the process is asked to stop. A problem that waiting cannot fix (a refused token, a
database file that cannot be opened) ends start-up with one line instead (`StartupFailed`).

The classification of errors belongs to the caller (the Telegram layer knows Telegram's
errors); this module only retries, so it is tested with an injected sleep. The line of a
`StartupFailed` comes from bot/ops/texts.yaml (`text`), as does the one for a second run on
one SQLite database (`dispatcher_locked`, from the scheduler's `DispatcherLockError`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from bot.ops.texts import text

if TYPE_CHECKING:
    from scheduler.guard import DispatcherLockError

log = logging.getLogger(__name__)
T = TypeVar("T")


class StartupFailed(Exception):
    """Start-up cannot go on; ``str(exc)`` is the one line to show the operator."""


@dataclass(frozen=True)
class Transient:
    """A failure worth waiting out: ``reason`` is one line; ``wait`` overrides the backoff
    (e.g. Telegram's retry_after)."""

    reason: str
    wait: float | None = None


Classify = Callable[[BaseException], "Transient | StartupFailed | None"]


@dataclass(frozen=True)
class Backoff:
    """1, 2, 4 … seconds, never more than ``cap``."""

    first: float = 1.0
    cap: float = 60.0

    def delay(self, attempt: int) -> float:
        """The wait after the ``attempt``-th failure (1-based)."""
        return float(min(self.cap, self.first * 2 ** (attempt - 1)))


async def wait_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep up to ``seconds``; True when ``stop`` was set meanwhile."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        return False
    return True


def one_line(exc: BaseException) -> str:
    """The first line of an error's own message (SQLAlchemy appends the SQL and a link)."""
    cause = getattr(exc, "orig", None) or exc
    text = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {text[0]}" if text else type(cause).__name__


async def with_retry(what: str, attempt: Callable[[], Awaitable[T]], classify: Classify,
                     stop: asyncio.Event, *, backoff: Backoff = Backoff(),
                     sleep: Callable[[asyncio.Event, float], Awaitable[bool]] = wait_or_stop,
                     ) -> T | None:
    """Run ``attempt`` until it succeeds (its result) or ``stop`` is set (None).

    ``classify`` turns an error into `Transient` (log one line, wait, try again), a
    `StartupFailed` (raised at once) or None (not ours: re-raised as it is).
    """
    failures = 0
    while not stop.is_set():
        try:
            return await attempt()
        except Exception as exc:  # noqa: BLE001 - classified just below
            verdict = classify(exc)
            if verdict is None:
                raise
            if isinstance(verdict, StartupFailed):
                raise verdict from None
            failures += 1
            delay = verdict.wait if verdict.wait is not None else backoff.delay(failures)
            log.warning("%s unreachable (%s); attempt %d failed, retrying in %g s",
                        what, verdict.reason, failures, delay)
            if await sleep(stop, delay):
                break
    return None


def database_error(exc: BaseException) -> Transient | StartupFailed | None:
    """Connection refused, a server still starting, a dropped connection or a timeout are
    worth waiting out; a SQLite file that cannot be opened, a refused password or a missing
    database are not."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    reason = one_line(exc)
    if isinstance(exc, (OSError, TimeoutError)):
        return Transient(reason)
    if isinstance(exc, (OperationalError, InterfaceError)):
        if "sqlite" in type(getattr(exc, "orig", exc)).__module__:
            return StartupFailed(text("startup.sqlite_unopenable", reason=reason))
        return Transient(reason)
    if isinstance(exc, DBAPIError):
        return StartupFailed(text("startup.database_refused", reason=reason))
    return None


def dispatcher_locked(exc: DispatcherLockError) -> StartupFailed:
    """Another `aftercare run` already sends check-ins from this SQLite file, as the operator
    reads it: the file and, when the lock file names it, the holder's process id."""
    holder = text("startup.holder", pid=exc.holder) if exc.holder else ""
    return StartupFailed(text("startup.dispatcher_locked", holder=holder, database=exc.database))


__all__ = ["Backoff", "StartupFailed", "Transient", "database_error", "dispatcher_locked",
           "one_line", "wait_or_stop", "with_retry"]
