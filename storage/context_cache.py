"""A short-lived, in-process cache of ``patient_context`` results (storage/context.py).

That read is the one query every chat message needs, and a patient usually sends several
messages in a row. Entries live ``ttl`` seconds. Any transaction of this process that writes
the ``patients``, ``treatment_sessions``, ``reports`` or ``chat_state`` tables through a
session of the ``Database`` empties the cache when it commits (the events on ``TrackedSession``), so
this process never answers from data it has itself changed; changes made by other processes (the
CLI, another replica) are seen within ``ttl`` seconds.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from itertools import chain

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

WATCHED_TABLES = frozenset({"patients", "treatment_sessions", "reports"})
_CHANGED = "patient_rows_changed"
CACHE_KEY = "patient_cache"


class PatientContextCache:
    """Telegram user id → cached value, each kept for ``ttl`` seconds, at most ``size``."""

    def __init__(self, ttl: float = 10.0, size: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.size = size
        self.clock = clock
        self._items: OrderedDict[int, tuple[float, object]] = OrderedDict()

    def get(self, telegram_id: int) -> object | None:
        item = self._items.get(telegram_id)
        if item is None:
            return None
        if item[0] <= self.clock():
            del self._items[telegram_id]
            return None
        return item[1]

    def put(self, telegram_id: int, value: object) -> None:
        self._items.pop(telegram_id, None)
        self._items[telegram_id] = (self.clock() + self.ttl, value)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def forget(self, telegram_id: int) -> None:
        """Drop one user's entry (after a write that concerns only them)."""
        self._items.pop(telegram_id, None)

    def clear(self) -> None:
        self._items.clear()


class TrackedSession(Session):
    """The sync session behind each AsyncSession; its events keep the cache honest."""


def _table_name(obj: object) -> str | None:
    table = getattr(obj, "__table__", None)
    return getattr(table, "name", None)


@event.listens_for(TrackedSession, "after_flush")
def _after_flush(session: Session, _context: object) -> None:
    touched = chain(session.new, session.dirty, session.deleted)
    if any(_table_name(obj) in WATCHED_TABLES for obj in touched):
        session.info[_CHANGED] = True


@event.listens_for(TrackedSession, "do_orm_execute")
def _on_execute(state: ORMExecuteState) -> None:
    if state.is_select:
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in WATCHED_TABLES:
        state.session.info[_CHANGED] = True


@event.listens_for(TrackedSession, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_CHANGED, False):
        cache = session.info.get(CACHE_KEY)
        if cache is not None:
            cache.clear()


@event.listens_for(TrackedSession, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_CHANGED, None)
