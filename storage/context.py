"""The per-message read: a user's patient row, latest session and conversation states.

`patient_context` runs for every chat message, so it is one prebuilt Core statement on a plain
connection (no ORM session, identity map or per-call statement building), and the result is
kept for a few seconds in the database's ``PatientContextCache``, which this process's writes
to patients, sessions, reports or states empty. Read only: it writes no table.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, Select, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.chat_state import PATIENT_KINDS, ChatStateStore, StoredState, decode
from storage.clock import Clock, utcnow
from storage.context_cache import CACHE_KEY
from storage.models import ChatState, Patient, Report, TreatmentSession, UTCDateTime
from storage.patients import PATIENT_FIELDS, PatientInfo, aware_now
from storage.sessions import SESSION_FIELDS, SessionInfo


@dataclass(frozen=True, slots=True)
class PatientContext:
    """What handling one chat message needs: the patient row, their latest session and their
    short-lived conversation states (kind -> state, see storage/chat_state.py)."""

    patient: PatientInfo | None
    session: SessionInfo | None
    states: dict[str, StoredState]

    def state(self, kind: str, now: dt.datetime) -> dict[str, Any] | None:
        """The payload of the state of this kind, None when absent or expired."""
        found = self.states.get(kind)
        return found.payload if found is not None and found.live(now) else None


def _statement() -> Select[Any]:
    patients, sessions = Patient.__table__, TreatmentSession.__table__
    latest = (
        select(sessions.c.id)
        .where(sessions.c.patient_id == patients.c.id, sessions.c.cancelled_at.is_(None))
        .order_by(sessions.c.session_date.desc(), sessions.c.id.desc())
        .limit(1)
        .correlate(patients)
        .scalar_subquery()
    )
    reports = Report.__table__
    unresolved = (
        select(func.count(reports.c.id))
        .where(reports.c.patient_id == patients.c.id, reports.c.status != "resolved")
        .correlate(patients)
        .scalar_subquery()
    )
    columns = [patients.c[f].label(f"p_{f}") for f in PATIENT_FIELDS]
    columns.append(unresolved.label("p_open_reports"))
    columns += [sessions.c[f].label(f"s_{f}") for f in SESSION_FIELDS]
    states = ChatState.__table__
    for kind in PATIENT_KINDS:  # the user's conversation states, in the same round trip
        for column in ("payload", "expires_at"):
            columns.append(
                select(states.c[column])
                .where(states.c.telegram_id == bindparam("telegram_id"),
                       states.c.kind == kind.value,
                       states.c.expires_at > bindparam("now", type_=UTCDateTime()))
                .scalar_subquery().label(f"c_{kind.value}_{column}"))
    return (
        select(*columns)
        .select_from(patients.outerjoin(sessions, sessions.c.id == latest))
        .where(patients.c.telegram_id == bindparam("telegram_id"))
    )


_PATIENT_AND_SESSION = _statement()


def _from_row(row: Row[Any] | None) -> PatientContext:
    if row is None:
        return PatientContext(None, None, {})
    values = row._mapping
    patient = PatientInfo(**{f: values[f"p_{f}"] for f in PATIENT_FIELDS},
                          open_reports=int(values["p_open_reports"] or 0))
    states: dict[str, StoredState] = {}
    for kind in PATIENT_KINDS:
        payload = decode(values[f"c_{kind.value}_payload"])
        if payload is not None:
            states[kind.value] = StoredState(payload, values[f"c_{kind.value}_expires_at"])
    session = (None if values["s_id"] is None else
               SessionInfo(**{f: values[f"s_{f}"] for f in SESSION_FIELDS}))
    return PatientContext(patient, session, states)


def is_shared(sessions: async_sessionmaker[AsyncSession]) -> bool:
    """True when other processes may write this database (anything but SQLite)."""
    return bool(sessions.kw["bind"].dialect.name != "sqlite")


async def patient_context(sessions: async_sessionmaker[AsyncSession], telegram_id: int,
                          now: dt.datetime) -> PatientContext:
    """The user's patient row, latest not-cancelled session and conversation states.

    On a database other processes share (PostgreSQL replicas), a cached answer gets its states
    read again (one primary-key query): another replica may have just changed them. A user
    without a patient row gets their states from a second query (rare: /start makes one).
    """
    cache = sessions.kw.get("info", {}).get(CACHE_KEY)
    cached = cache.get(telegram_id) if cache is not None else None
    if isinstance(cached, PatientContext):  # the cache holds nothing else
        if not is_shared(sessions):
            return cached
        states = await ChatStateStore(sessions).get_many(telegram_id, PATIENT_KINDS, now)
        return PatientContext(cached.patient, cached.session, states)
    async with sessions.kw["bind"].connect() as conn:
        row = (await conn.execute(_PATIENT_AND_SESSION,
                                  {"telegram_id": telegram_id, "now": now})).first()
    found = _from_row(row)
    if found.patient is None:
        states = await ChatStateStore(sessions).get_many(telegram_id, PATIENT_KINDS, now)
        return PatientContext(None, None, states)
    if cache is not None:
        cache.put(telegram_id, found)
    return found


class ContextReader:
    """`patient_context` over one database with its clock: what bot/compose.py hands the
    flows as their `PatientContexts` (bot/core/ports.py)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock = utcnow) -> None:
        self.sessions = sessions
        self.clock = clock

    async def patient_context(self, telegram_id: int,
                              now: dt.datetime | None = None) -> PatientContext:
        """The user's patient row, latest session and conversation states (at `now`,
        default: the clock)."""
        return await patient_context(self.sessions, telegram_id, aware_now(self.clock, now))


__all__ = ["ContextReader", "PatientContext", "is_shared", "patient_context"]
