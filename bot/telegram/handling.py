"""Did the update being handled get handled? One flag per update, shared by its handlers.

The webhook server (bot/telegram/webhook.py) and the polling loop (`ConfirmingPoller` in
bot/telegram/leader.py) run each update inside `handling()`; the error handler calls
`not_handled()` when the database was unavailable and nothing could be spooled. The update is
then not confirmed to Telegram (webhook: 503; polling: the offset stays below it and it is
fetched and handled again, with backoff), so it is handled once the database is back.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass
class Handling:
    """How the update being handled ended: `complete` stays True unless `not_handled()`."""

    complete: bool = True


_HANDLING: contextvars.ContextVar[Handling | None] = contextvars.ContextVar(
    "aftercare_handling", default=None)


@contextlib.contextmanager
def handling() -> Iterator[Handling]:
    """Track one update's handling (in this task and the tasks it starts)."""
    state = Handling()
    token = _HANDLING.set(state)
    try:
        yield state
    finally:
        _HANDLING.reset(token)


def not_handled() -> None:
    """The update being handled was neither handled nor spooled (database down): it must
    not be confirmed to Telegram. Outside `handling()` this does nothing."""
    state = _HANDLING.get()
    if state is not None:
        state.complete = False
