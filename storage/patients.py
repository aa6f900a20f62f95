"""The patients aggregate: the only module that writes the ``patients`` table.

`PatientStore` is the async API (one short transaction per call, frozen `PatientInfo`
results). The session-level functions (`by_telegram`, `set_paused`, `deactivate`,
`merge_patients`) let another aggregate's transaction change a patient row in the same
commit (the check-in outbox pauses or deactivates a patient together with their rows; an
invite redemption merges two records).

Privacy rule enforced here: until a patient has consented (`record_consent`), nothing beyond
the Telegram ids is stored; `set_timezone` raises `ConsentRequired` without consent.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Select, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.alert_rows import forget_patient
from storage.chat_state import delete_user_states
from storage.clock import Clock, utcnow
from storage.erasures import count_erasure
from storage.models import (
    CheckIn,
    InactiveReason,
    Invite,
    Message,
    Patient,
    Report,
    TreatmentSession,
)
from storage.results import affected, empty_wal

log = logging.getLogger(__name__)


class ConsentRequired(PermissionError):
    """Raised when storing personal data for a patient who has not consented."""


@dataclass(frozen=True, slots=True)
class PatientInfo:
    """A patient row, detached from the database."""

    id: int
    telegram_id: int | None
    chat_id: int | None
    name: str | None
    timezone: str | None
    consent_at: dt.datetime | None
    active: bool
    inactive_reason: str | None
    checkins_paused: bool
    created_at: dt.datetime
    open_reports: int = 0  # unresolved reports (filled by `patient_context` only)

    @property
    def has_consent(self) -> bool:
        """True once the patient agreed to their data being stored."""
        return self.consent_at is not None


PATIENT_FIELDS = ("id", "telegram_id", "chat_id", "name", "timezone", "consent_at", "active",
                  "inactive_reason", "checkins_paused", "created_at")


def patient_info(row: Patient) -> PatientInfo:
    """The frozen view of an ORM patient row."""
    return PatientInfo(**{f: getattr(row, f) for f in PATIENT_FIELDS})


def by_telegram(telegram_id: int) -> Select[Patient]:
    """The patient linked to a Telegram user."""
    return select(Patient).where(Patient.telegram_id == telegram_id)


def aware_now(clock: Clock, now: dt.datetime | None) -> dt.datetime:
    """The given time or the clock's; naive datetimes are refused (ambiguous)."""
    value = now if now is not None else clock()
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: pass a timezone-aware datetime")
    return value


async def require_patient(s: AsyncSession, telegram_id: int) -> Patient:
    """The user's patient row; LookupError when there is none."""
    row = await s.scalar(by_telegram(telegram_id))
    if row is None:
        raise LookupError(f"no patient with telegram id {telegram_id}")
    return row


async def new_patient(s: AsyncSession, now: dt.datetime, *, telegram_id: int | None = None,
                      chat_id: int | None = None, name: str | None = None) -> Patient:
    """Insert a patient row (flushed, so it has its id)."""
    row = Patient(telegram_id=telegram_id, chat_id=chat_id,
                  name=name.strip()[:200] if name else None, created_at=now)
    s.add(row)
    await s.flush()
    return row


def link_telegram(row: Patient, telegram_id: int, chat_id: int) -> None:
    """Link a loaded patient row (an invite's record) to a Telegram user and chat."""
    row.telegram_id = telegram_id
    row.chat_id = chat_id


async def set_paused(s: AsyncSession, patient_id: int, paused: bool) -> bool:
    """Set the patient's check-in pause flag; False when there is no such patient."""
    result = await s.execute(update(Patient).where(Patient.id == patient_id)
                             .values(checkins_paused=paused))
    return bool(affected(result))


async def deactivate(s: AsyncSession, patient_id: int, reason: str) -> None:
    """Stop messaging the patient (Telegram says they are unreachable)."""
    await s.execute(update(Patient).where(Patient.id == patient_id)
                    .values(active=False, inactive_reason=reason))


async def merge_patients(s: AsyncSession, *, source: Patient, target: Patient,
                         chat_id: int) -> None:
    """Move everything of `source` (an invite's record) to `target`, then delete `source`.

    The one write that spans aggregates: an identity merge re-points every row that names
    the absorbed record, in the same transaction as the redemption.
    """
    for model in (TreatmentSession, Report, Message, Invite, CheckIn):
        await s.execute(
            update(model).where(model.patient_id == source.id).values(patient_id=target.id))
    if not target.name and source.name:
        target.name = source.name
    target.chat_id = chat_id
    await s.delete(source)
    await s.flush()
    log.info("merged invited patient %d into patient %d", source.id, target.id)


class PatientStore:
    """Async access to patient rows."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock = utcnow) -> None:
        self.sessions = sessions
        self.clock = clock

    def _now(self, now: dt.datetime | None) -> dt.datetime:
        return aware_now(self.clock, now)

    async def get(self, telegram_id: int) -> PatientInfo | None:
        """The patient linked to this Telegram user, or None."""
        async with self.sessions.begin() as s:
            row = await s.scalar(by_telegram(telegram_id))
            return patient_info(row) if row else None

    async def get_by_id(self, patient_id: int) -> PatientInfo | None:
        """The patient with this database id, or None."""
        async with self.sessions.begin() as s:
            row = await s.get(Patient, patient_id)
            return patient_info(row) if row else None

    async def ensure(self, telegram_id: int, chat_id: int,
                     now: dt.datetime | None = None) -> PatientInfo:
        """Return the user's patient row, creating a bare one (ids only) if missing."""
        try:
            async with self.sessions.begin() as s:
                row = await s.scalar(by_telegram(telegram_id))
                if row is None:
                    row = await new_patient(s, self._now(now), telegram_id=telegram_id,
                                            chat_id=chat_id)
                elif row.chat_id != chat_id:
                    row.chat_id = chat_id
                await s.flush()
                return patient_info(row)
        except IntegrityError:  # a concurrent update created it first
            existing = await self.get(telegram_id)
            if existing is None:
                raise
            return existing

    async def record_consent(self, telegram_id: int, name: str | None,
                             now: dt.datetime | None = None) -> PatientInfo:
        """Record consent (and the name given, if any); creates the row if needed."""
        async with self.sessions.begin() as s:
            row = await s.scalar(by_telegram(telegram_id))
            if row is None:
                row = await new_patient(s, self._now(now), telegram_id=telegram_id)
            row.consent_at = self._now(now)
            if name:
                row.name = name.strip()[:200]
            await s.flush()
            return patient_info(row)

    async def set_timezone(self, telegram_id: int, timezone: str) -> PatientInfo:
        """Store the patient's IANA timezone. Raises ValueError for unknown zones."""
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {timezone!r}") from exc
        async with self.sessions.begin() as s:
            row = await require_patient(s, telegram_id)
            if row.consent_at is None:
                raise ConsentRequired("timezone needs consent first")
            row.timezone = timezone
            return patient_info(row)

    async def set_checkins_paused(self, telegram_id: int, paused: bool) -> bool:
        """Set the pause flag of a patient who has no check-in outbox wired (the outbox's
        `pause_patient` sets it together with the rows); False when the patient is unknown."""
        async with self.sessions.begin() as s:
            row = await s.scalar(by_telegram(telegram_id))
            return row is not None and await set_paused(s, row.id, paused)

    async def mark_inactive(self, reason: InactiveReason | str, *, telegram_id: int | None = None,
                            chat_id: int | None = None) -> int:
        """Stop messaging a patient (by telegram id or chat id); returns rows changed."""
        reason = InactiveReason(reason)
        if (telegram_id is None) == (chat_id is None):
            raise ValueError("pass exactly one of telegram_id, chat_id")
        condition = (Patient.telegram_id == telegram_id if telegram_id is not None
                     else Patient.chat_id == chat_id)
        async with self.sessions.begin() as s:
            result = await s.execute(
                update(Patient).where(condition).values(active=False, inactive_reason=reason.value))
        count = affected(result)
        log.info("marked %d patient(s) inactive: %s", count, reason.value)
        return count

    async def reactivate(self, telegram_id: int) -> bool:
        """Resume messaging a patient (e.g. they wrote again after blocking); False if unknown."""
        async with self.sessions.begin() as s:
            result = await s.execute(update(Patient).where(Patient.telegram_id == telegram_id)
                                     .values(active=True, inactive_reason=None))
            return bool(affected(result))

    async def active(self) -> list[PatientInfo]:
        """Consenting, active patients linked to a Telegram chat (check-in candidates)."""
        async with self.sessions.begin() as s:
            rows = await s.scalars(
                select(Patient).where(Patient.active.is_(True), Patient.consent_at.is_not(None),
                                      Patient.chat_id.is_not(None)).order_by(Patient.id))
            return [patient_info(r) for r in rows]

    async def erase(self, telegram_id: int) -> bool:
        """Delete the patient and everything about them (database cascades, and their
        conversation states in ``chat_state``), counting the erasure in the same transaction
        (storage/erasures.py: every replica then forgets the words it read), then, on
        SQLite, empty the write-ahead log that still held their rows
        (`storage.results.empty_wal`); False if there was no patient row (the erasure is
        counted all the same: a user without one may have written too)."""
        async with self.sessions.begin() as s:
            patient_id = await s.scalar(select(Patient.id)
                                        .where(Patient.telegram_id == telegram_id))
            if patient_id is not None:  # "[erased]" edits of their cards; staff states go
                await forget_patient(s, patient_id, self._now(None))
            result = await s.execute(delete(Patient).where(Patient.telegram_id == telegram_id))
            erased = bool(affected(result))
            states = await delete_user_states(s, telegram_id)
            await count_erasure(s)
        if erased or states:  # (SQLite: the write-ahead log kept the rows' old pages)
            await empty_wal(self.sessions)
        if erased:
            log.info("erased a patient record on request")
        return erased


__all__ = ["ConsentRequired", "PatientInfo", "PatientStore", "by_telegram", "deactivate",
           "link_telegram", "merge_patients", "new_patient", "patient_info", "require_patient",
           "set_paused"]
