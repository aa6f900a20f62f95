"""Did the update being handled get handled? One flag per update, shared by its handlers.

The webhook server (bot/telegram/webhook.py) and the polling loop (`ConfirmingPoller` in
bot/telegram/polling/poller.py) run each update inside `handling()`; the error handler calls
`not_handled()` when the database was unavailable and nothing could be spooled. The update is
then not confirmed to Telegram (webhook: 503; polling: the offset stays below it and it is
fetched and handled again, with backoff), so it is handled once the database is back.

`may_answer()` fences a polling leader's answers: a leader that lost its lease while an
update was in hand (frozen, then woken) sends nothing for it, since the next leader answers
it. Only an answer already on its way to Telegram at the freeze can arrive twice.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

StillOurs = Callable[[], Awaitable[bool]]


@dataclass
class Handling:
    """How the update being handled ended: `complete` stays True unless `not_handled()`.
    `still_ours` (polling): does this replica still hold the polling lease?"""

    complete: bool = True
    still_ours: StillOurs | None = None


_HANDLING: contextvars.ContextVar[Handling | None] = contextvars.ContextVar(
    "aftercare_handling", default=None)


@contextlib.contextmanager
def handling(still_ours: StillOurs | None = None) -> Iterator[Handling]:
    """Track one update's handling (in this task and the tasks it starts)."""
    state = Handling(still_ours=still_ours)
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


async def may_answer() -> bool:
    """May the update being handled be answered from here? False when the polling leader
    that fetched it has lost its lease since (frozen and woken, say): the next leader gets
    the update again from Telegram and answers it, so this replica must not (the update is
    then marked not handled: it is neither confirmed nor recorded as handled here)."""
    state = _HANDLING.get()
    if state is None or state.still_ours is None or await state.still_ours():
        return True
    state.complete = False
    return False
