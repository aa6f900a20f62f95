"""Test helpers that write records the way production does."""

from __future__ import annotations

import datetime as dt

from storage import LogEntry
from storage.sessions import cancel
from tests.stores import Stores


async def log_message(repo: Stores, telegram_id: int, direction: str, text: str, *,
                      now: dt.datetime, topic: str | None = None,
                      outcome: str | None = None) -> bool:
    """Log one chat message through the production path (the batched log); True if stored."""
    stored = await repo.messages.log_batch(
        [LogEntry(telegram_id, direction, text, topic, outcome, now)])
    return stored == 1


async def cancel_session(repo: Stores, session_id: int, now: dt.datetime) -> bool:
    """Cancel a session row alone (the check-in manager does this together with its rows)."""
    async with repo.sessions.begin() as s:
        return await cancel(s, session_id, now)
