"""Short-lived conversation state in the database, so every replica (and a restarted one)
sees it: `ChatStateStore` with `get` / `put` / `clear`.

A state is a small JSON object per Telegram user and `StateKind`, with an expiry; a row past
its expiry counts as absent everywhere (reads filter on ``expires_at``) and `purge_expired`
deletes such rows, so texts kept in a state (the patient's last question, for "ask the
clinic") do not outlive their time. `PatientStore.erase` deletes a user's states too
(`delete_user_states`, in its transaction).

The per-message read (`storage.context.patient_context`) fetches the patient kinds in the same
query as the patient row; writes go through the ORM session, so they empty this process's
`PatientContextCache` (``chat_state`` is one of its watched tables).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.clock import Clock, utcnow
from storage.context_cache import CACHE_KEY
from storage.models import ChatState
from storage.results import affected

log = logging.getLogger(__name__)

Payload = dict[str, Any]


class StateKind(StrEnum):
    """Which conversation a state belongs to."""

    PATIENT = "patient"  # awaiting a typed date / zone; last question for "ask the clinic"
    REPORT = "report"  # a patient's /report in progress
    STAFF = "staff"  # a staff member's next message answers or resolves a report
    FLOW = "flow"  # the patient's multi-step flow (bot/core/flowstate.py)


# read with every patient message
PATIENT_KINDS = (StateKind.PATIENT, StateKind.REPORT, StateKind.FLOW)


@dataclass(frozen=True, slots=True)
class StoredState:
    """A state as read, with its expiry (a cached read is checked again when used)."""

    payload: Payload
    expires_at: dt.datetime

    def live(self, now: dt.datetime) -> bool:
        """True while the state has not expired."""
        return self.expires_at > now


def encode(payload: Mapping[str, Any]) -> str:
    """The payload as compact JSON."""
    return json.dumps(dict(payload), separators=(",", ":"), sort_keys=True)


def decode(text: str | None) -> Payload | None:
    """A stored payload (None for no row or unreadable JSON, which is logged)."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        log.warning("unreadable chat state ignored")
        return None
    return value if isinstance(value, dict) else None


def _upsert(dialect: str, values: dict[str, Any]) -> Any:
    """INSERT ... ON CONFLICT (telegram_id, kind) DO UPDATE, for SQLite or PostgreSQL."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(ChatState).values(**values)
    return stmt.on_conflict_do_update(
        index_elements=[ChatState.telegram_id, ChatState.kind],
        set_={"payload": stmt.excluded.payload, "expires_at": stmt.excluded.expires_at,
              "updated_at": stmt.excluded.updated_at})


async def drop_staff_states_naming(s: AsyncSession, report_ids: Iterable[int]) -> int:
    """In the caller's transaction: every staff member's pending Reply / Resolve that names
    one of these reports goes (the patient was erased). Returns how many."""
    ids = set(report_ids)
    rows = (await s.execute(select(ChatState.telegram_id, ChatState.payload)
                            .where(ChatState.kind == StateKind.STAFF.value))).all()
    dropped = 0
    for staff_id, payload in rows:
        if (decode(payload) or {}).get("report_id") in ids:
            dropped += affected(await s.execute(delete(ChatState).where(
                ChatState.telegram_id == staff_id, ChatState.kind == StateKind.STAFF.value)))
    return dropped


async def delete_user_states(s: AsyncSession, telegram_id: int) -> int:
    """Delete every state of this user inside the caller's transaction; returns how many."""
    return affected(await s.execute(delete(ChatState).where(ChatState.telegram_id == telegram_id)))


class ChatStateStore:
    """Read and write users' short-lived states (times come from the caller or `clock`)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession],
                 clock: Clock = utcnow) -> None:
        self.sessions = sessions
        self.clock = clock

    def _now(self, now: dt.datetime | None) -> dt.datetime:
        return now if now is not None else self.clock()

    async def get(self, telegram_id: int, kind: StateKind,
                  now: dt.datetime | None = None) -> Payload | None:
        """The user's unexpired state of this kind, or None."""
        found = (await self.get_many(telegram_id, (kind,), now)).get(StateKind(kind).value)
        return found.payload if found is not None else None

    async def get_many(self, telegram_id: int, kinds: Iterable[StateKind],
                       now: dt.datetime | None = None) -> dict[str, StoredState]:
        """kind -> the user's unexpired states of these kinds (one query)."""
        query = select(ChatState.kind, ChatState.payload, ChatState.expires_at).where(
            ChatState.telegram_id == telegram_id,
            ChatState.kind.in_([StateKind(k).value for k in kinds]),
            ChatState.expires_at > self._now(now))
        async with self.sessions() as s:
            rows = list(await s.execute(query))
        found: dict[str, StoredState] = {}
        for kind, text, expires_at in rows:
            payload = decode(text)
            if payload is not None:
                found[kind] = StoredState(payload, expires_at)
        return found

    async def all_of_kind(self, kind: StateKind,
                          now: dt.datetime | None = None) -> dict[int, Payload]:
        """telegram id -> payload of every unexpired state of this kind (kept small: staff)."""
        query = select(ChatState.telegram_id, ChatState.payload).where(
            ChatState.kind == StateKind(kind).value, ChatState.expires_at > self._now(now))
        async with self.sessions() as s:
            rows = list(await s.execute(query))
        found = {int(tid): decode(text) for tid, text in rows}
        return {tid: payload for tid, payload in found.items() if payload is not None}

    async def put(self, telegram_id: int, kind: StateKind, payload: Mapping[str, Any],
                  ttl: dt.timedelta, now: dt.datetime | None = None) -> None:
        """Store (replace) the user's state of this kind; it expires `ttl` from now."""
        now = self._now(now)
        values = {"telegram_id": telegram_id, "kind": StateKind(kind).value,
                  "payload": encode(payload), "expires_at": now + ttl, "updated_at": now}
        async with self.sessions.begin() as s:
            await s.execute(_upsert(self.sessions.kw["bind"].dialect.name, values))
        self._forget_cached(telegram_id)

    async def clear(self, telegram_id: int, kind: StateKind | None = None) -> bool:
        """Forget the user's state of this kind (every kind when None); True if one existed."""
        stmt = delete(ChatState).where(ChatState.telegram_id == telegram_id)
        if kind is not None:
            stmt = stmt.where(ChatState.kind == StateKind(kind).value)
        async with self.sessions.begin() as s:
            result = await s.execute(stmt)
        self._forget_cached(telegram_id)
        return bool(affected(result))

    def _forget_cached(self, telegram_id: int) -> None:
        """States are part of the cached per-message read: drop this user's entry only
        (chat_state is not a table whose writes empty the whole cache)."""
        cache = self.sessions.kw.get("info", {}).get(CACHE_KEY)
        if cache is not None:
            cache.forget(telegram_id)

    async def purge_expired(self, now: dt.datetime | None = None) -> int:
        """Delete every expired state; returns how many."""
        async with self.sessions.begin() as s:
            result = await s.execute(
                delete(ChatState).where(ChatState.expires_at <= self._now(now)))
        count = affected(result)
        if count:
            log.info("deleted %d expired conversation state(s)", count)
        return count


__all__ = ["PATIENT_KINDS", "ChatStateStore", "Payload", "StateKind", "StoredState", "decode",
           "delete_user_states", "encode"]
