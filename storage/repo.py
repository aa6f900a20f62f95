"""Repository: the typed async API the bot and scheduler use to read and write patient data.

Each method is one short transaction and returns frozen dataclasses, never ORM
objects. "Now" comes from an argument or the injectable `clock`.

Privacy rule enforced here: until a patient has consented (`record_consent`),
nothing beyond the Telegram ids is stored from the chat. `log_message` silently
does nothing, and `set_timezone` / patient-entered sessions raise `ConsentRequired`.
Reports are the one exception, see `create_report`.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Select, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.chat_state import PATIENT_KINDS, ChatStateStore, StoredState, decode
from storage.context_cache import CACHE_KEY
from storage.models import (
    ChatState,
    CheckIn,
    Direction,
    InactiveReason,
    Invite,
    Message,
    Outcome,
    Patient,
    Report,
    ReportKind,
    ReportStatus,
    SessionSource,
    TreatmentSession,
    Urgency,
    UTCDateTime,
)
from storage.results import affected

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]


def utcnow() -> dt.datetime:
    """Current time, timezone-aware UTC (the default clock)."""
    return dt.datetime.now(dt.UTC)


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
    open_reports: int = 0  # unresolved reports (filled by `patient_and_session` only)

    @property
    def has_consent(self) -> bool:
        """True once the patient agreed to their data being stored."""
        return self.consent_at is not None


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A treatment session row."""

    id: int
    patient_id: int
    session_date: dt.date
    source: str
    cancelled_at: dt.datetime | None
    created_at: dt.datetime

    @property
    def cancelled(self) -> bool:
        """True when the session was cancelled."""
        return self.cancelled_at is not None


@dataclass(frozen=True, slots=True)
class InviteInfo:
    """An invite row; `code` goes into the t.me deep link."""

    code: str
    patient_id: int
    created_at: dt.datetime
    expires_at: dt.datetime
    used_at: dt.datetime | None
    used_by_telegram_id: int | None


@dataclass(frozen=True, slots=True)
class ReportInfo:
    """A report row plus who it is about (name may be None before consent)."""

    id: int
    patient_id: int
    session_id: int | None
    kind: str
    status: str
    urgency: str | None
    day: int | None
    text: str
    reason: str | None
    created_at: dt.datetime
    resolved_at: dt.datetime | None
    patient_name: str | None
    telegram_id: int | None


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


class LogEntry(NamedTuple):
    """One chat message to log (see `Repository.log_message_batch`)."""

    telegram_id: int
    direction: str
    text: str
    topic: str | None
    outcome: str | None
    created_at: dt.datetime


class RedeemStatus(StrEnum):
    """Outcome of redeeming an invite code."""

    OK = "ok"  # the invite's patient record is now linked to this Telegram user
    ALREADY_LINKED = "already_linked"  # user already had a record: invite merged into it
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"  # used by someone else


@dataclass(frozen=True, slots=True)
class RedeemResult:
    """Result of `Repository.redeem_invite`; `patient` is set when `ok`."""

    status: RedeemStatus
    patient: PatientInfo | None = None

    @property
    def ok(self) -> bool:
        """True when the Telegram user is now linked to the invited record."""
        return self.status in (RedeemStatus.OK, RedeemStatus.ALREADY_LINKED)


def _patient_info(row: Patient) -> PatientInfo:
    return PatientInfo(
        id=row.id,
        telegram_id=row.telegram_id,
        chat_id=row.chat_id,
        name=row.name,
        timezone=row.timezone,
        consent_at=row.consent_at,
        active=row.active,
        inactive_reason=row.inactive_reason,
        checkins_paused=row.checkins_paused,
        created_at=row.created_at,
    )


def _session_info(row: TreatmentSession) -> SessionInfo:
    return SessionInfo(
        id=row.id,
        patient_id=row.patient_id,
        session_date=row.session_date,
        source=row.source,
        cancelled_at=row.cancelled_at,
        created_at=row.created_at,
    )


def _invite_info(row: Invite) -> InviteInfo:
    return InviteInfo(
        code=row.code,
        patient_id=row.patient_id,
        created_at=row.created_at,
        expires_at=row.expires_at,
        used_at=row.used_at,
        used_by_telegram_id=row.used_by_telegram_id,
    )


def _report_info(row: Report, patient: Patient) -> ReportInfo:
    return ReportInfo(
        id=row.id,
        patient_id=row.patient_id,
        session_id=row.session_id,
        kind=row.kind,
        status=row.status,
        urgency=row.urgency,
        day=row.day,
        text=row.text,
        reason=row.reason,
        created_at=row.created_at,
        resolved_at=row.resolved_at,
        patient_name=patient.name,
        telegram_id=patient.telegram_id,
    )


def _by_telegram(telegram_id: int) -> Select[Patient]:
    return select(Patient).where(Patient.telegram_id == telegram_id)


def _latest_session_query(patient_id: int) -> Select[TreatmentSession]:
    return (
        select(TreatmentSession)
        .where(TreatmentSession.patient_id == patient_id, TreatmentSession.cancelled_at.is_(None))
        .order_by(TreatmentSession.session_date.desc(), TreatmentSession.id.desc())
        .limit(1)
    )


_PATIENT_FIELDS = ("id", "telegram_id", "chat_id", "name", "timezone", "consent_at", "active",
                   "inactive_reason", "checkins_paused", "created_at")
_SESSION_FIELDS = ("id", "patient_id", "session_date", "source", "cancelled_at", "created_at")


def _patient_and_session_statement() -> Select[Any]:
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
    columns = [patients.c[f].label(f"p_{f}") for f in _PATIENT_FIELDS]
    columns.append(unresolved.label("p_open_reports"))
    columns += [sessions.c[f].label(f"s_{f}") for f in _SESSION_FIELDS]
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


_PATIENT_AND_SESSION = _patient_and_session_statement()


def new_invite_code() -> str:
    """A 22-character url-safe random code (fits Telegram's 64-char deep-link payload)."""
    return secrets.token_urlsafe(16)


class Repository:
    """Async data access for patients, sessions, invites, messages and reports."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock = utcnow) -> None:
        self.sessions = sessions
        self.clock = clock

    def _now(self, now: dt.datetime | None) -> dt.datetime:
        """The given time or the clock's; naive datetimes are refused (ambiguous)."""
        value = now if now is not None else self.clock()
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware datetime")
        return value

    async def _require_patient(self, s: AsyncSession, telegram_id: int) -> Patient:
        row = await s.scalar(_by_telegram(telegram_id))
        if row is None:
            raise LookupError(f"no patient with telegram id {telegram_id}")
        return row

    # --- patients -------------------------------------------------------------

    async def get_patient(self, telegram_id: int) -> PatientInfo | None:
        """The patient linked to this Telegram user, or None."""
        async with self.sessions.begin() as s:
            row = await s.scalar(_by_telegram(telegram_id))
            return _patient_info(row) if row else None

    async def patient_and_session(
        self, telegram_id: int
    ) -> tuple[PatientInfo | None, SessionInfo | None]:
        """The user's patient row and latest not-cancelled session (see `patient_context`)."""
        context = await self.patient_context(telegram_id)
        return context.patient, context.session

    @property
    def shared(self) -> bool:
        """True when other processes may write this database (anything but SQLite)."""
        return bool(self.sessions.kw["bind"].dialect.name != "sqlite")

    async def patient_context(self, telegram_id: int,
                              now: dt.datetime | None = None) -> PatientContext:
        """The user's patient row, latest not-cancelled session and conversation states.

        Runs for every chat message, so it is one prebuilt Core statement on a plain
        connection (no ORM session, identity map or per-call statement building), and the
        result is kept for a few seconds in the database's ``PatientContextCache``, which
        this process's writes to patients, sessions, reports or states empty. On a database
        other processes share (PostgreSQL replicas), a cached answer gets its states read
        again (one primary-key query): another replica may have just changed them. A user
        without a patient row gets their states from a second query (rare: /start makes one).
        """
        now = self._now(now)
        cache = self.sessions.kw.get("info", {}).get(CACHE_KEY)
        cached = cache.get(telegram_id) if cache is not None else None
        if cached is not None:
            if not self.shared:
                return cached
            states = await ChatStateStore(self.sessions).get_many(telegram_id, PATIENT_KINDS, now)
            return PatientContext(cached.patient, cached.session, states)
        async with self.sessions.kw["bind"].connect() as conn:
            row = (await conn.execute(_PATIENT_AND_SESSION,
                                      {"telegram_id": telegram_id, "now": now})).first()
        found = self._context_from_row(row)
        if found.patient is None:
            states = await ChatStateStore(self.sessions).get_many(telegram_id, PATIENT_KINDS, now)
            return PatientContext(None, None, states)
        if cache is not None:
            cache.put(telegram_id, found)
        return found

    @staticmethod
    def _context_from_row(row: Any) -> PatientContext:
        if row is None:
            return PatientContext(None, None, {})
        values = row._mapping
        patient = PatientInfo(**{f: values[f"p_{f}"] for f in _PATIENT_FIELDS},
                              open_reports=int(values["p_open_reports"] or 0))
        states: dict[str, StoredState] = {}
        for kind in PATIENT_KINDS:
            payload = decode(values[f"c_{kind.value}_payload"])
            if payload is not None:
                states[kind.value] = StoredState(payload, values[f"c_{kind.value}_expires_at"])
        session = (None if values["s_id"] is None else
                   SessionInfo(**{f: values[f"s_{f}"] for f in _SESSION_FIELDS}))
        return PatientContext(patient, session, states)

    async def get_patient_by_id(self, patient_id: int) -> PatientInfo | None:
        """The patient with this database id, or None."""
        async with self.sessions.begin() as s:
            row = await s.get(Patient, patient_id)
            return _patient_info(row) if row else None

    async def ensure_patient(
        self, telegram_id: int, chat_id: int, now: dt.datetime | None = None
    ) -> PatientInfo:
        """Return the user's patient row, creating a bare one (ids only) if missing."""
        try:
            async with self.sessions.begin() as s:
                row = await s.scalar(_by_telegram(telegram_id))
                if row is None:
                    row = Patient(
                        telegram_id=telegram_id, chat_id=chat_id, created_at=self._now(now)
                    )
                    s.add(row)
                elif row.chat_id != chat_id:
                    row.chat_id = chat_id
                await s.flush()
                return _patient_info(row)
        except IntegrityError:  # a concurrent update created it first
            existing = await self.get_patient(telegram_id)
            if existing is None:
                raise
            return existing

    async def record_consent(
        self, telegram_id: int, name: str | None, now: dt.datetime | None = None
    ) -> PatientInfo:
        """Record consent (and the name given, if any); creates the row if needed."""
        async with self.sessions.begin() as s:
            row = await s.scalar(_by_telegram(telegram_id))
            if row is None:
                row = Patient(telegram_id=telegram_id, created_at=self._now(now))
                s.add(row)
            row.consent_at = self._now(now)
            if name:
                row.name = name.strip()[:200]
            await s.flush()
            return _patient_info(row)

    async def set_timezone(self, telegram_id: int, timezone: str) -> PatientInfo:
        """Store the patient's IANA timezone. Raises ValueError for unknown zones."""
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {timezone!r}") from exc
        async with self.sessions.begin() as s:
            row = await self._require_patient(s, telegram_id)
            if row.consent_at is None:
                raise ConsentRequired("timezone needs consent first")
            row.timezone = timezone
            return _patient_info(row)

    async def set_checkins_paused(self, telegram_id: int, paused: bool) -> bool:
        """Pause or resume scheduled check-ins; False when the patient is unknown."""
        async with self.sessions.begin() as s:
            result = await s.execute(
                update(Patient)
                .where(Patient.telegram_id == telegram_id)
                .values(checkins_paused=paused)
            )
            return bool(affected(result))

    async def mark_inactive(
        self,
        reason: InactiveReason | str,
        *,
        telegram_id: int | None = None,
        chat_id: int | None = None,
    ) -> int:
        """Stop messaging a patient (by telegram id or chat id); returns rows changed."""
        reason = InactiveReason(reason)
        if (telegram_id is None) == (chat_id is None):
            raise ValueError("pass exactly one of telegram_id, chat_id")
        condition = (
            Patient.telegram_id == telegram_id
            if telegram_id is not None
            else Patient.chat_id == chat_id
        )
        async with self.sessions.begin() as s:
            result = await s.execute(
                update(Patient).where(condition).values(active=False, inactive_reason=reason.value)
            )
        log.info("marked %d patient(s) inactive: %s", affected(result), reason.value)
        return affected(result)

    async def reactivate(self, telegram_id: int) -> bool:
        """Resume messaging a patient (e.g. they wrote again after blocking); False if unknown."""
        async with self.sessions.begin() as s:
            result = await s.execute(
                update(Patient)
                .where(Patient.telegram_id == telegram_id)
                .values(active=True, inactive_reason=None)
            )
            return bool(affected(result))

    async def active_patients(self) -> list[PatientInfo]:
        """Consenting, active patients linked to a Telegram chat (check-in candidates)."""
        async with self.sessions.begin() as s:
            rows = await s.scalars(
                select(Patient)
                .where(
                    Patient.active.is_(True),
                    Patient.consent_at.is_not(None),
                    Patient.chat_id.is_not(None),
                )
                .order_by(Patient.id)
            )
            return [_patient_info(r) for r in rows]

    async def count_patients(self) -> int:
        """Number of patient rows (linked or not)."""
        async with self.sessions.begin() as s:
            return int(await s.scalar(select(func.count()).select_from(Patient)) or 0)

    # --- treatment sessions ---------------------------------------------------

    async def add_session(
        self,
        session_date: dt.date,
        source: SessionSource | str,
        *,
        telegram_id: int | None = None,
        patient_id: int | None = None,
        now: dt.datetime | None = None,
    ) -> SessionInfo:
        """Record a treatment on `session_date` for a patient given by telegram or patient id.

        Patient-entered dates (source "patient") need consent: they are health data.
        """
        source = SessionSource(source)
        if (telegram_id is None) == (patient_id is None):
            raise ValueError("pass exactly one of telegram_id, patient_id")
        async with self.sessions.begin() as s:
            if telegram_id is not None:
                patient = await self._require_patient(s, telegram_id)
            else:
                found = await s.get(Patient, patient_id)
                if found is None:
                    raise LookupError(f"no patient with id {patient_id}")
                patient = found
            if source is SessionSource.PATIENT and patient.consent_at is None:
                raise ConsentRequired("a patient-entered treatment date needs consent first")
            row = TreatmentSession(
                patient_id=patient.id,
                session_date=session_date,
                source=source.value,
                created_at=self._now(now),
            )
            s.add(row)
            await s.flush()
            return _session_info(row)

    async def cancel_session(self, session_id: int, now: dt.datetime | None = None) -> bool:
        """Cancel a session; False when unknown or already cancelled."""
        async with self.sessions.begin() as s:
            result = await s.execute(
                update(TreatmentSession)
                .where(TreatmentSession.id == session_id, TreatmentSession.cancelled_at.is_(None))
                .values(cancelled_at=self._now(now))
            )
            return bool(affected(result))

    async def latest_session(self, patient_id: int) -> SessionInfo | None:
        """The not-cancelled session with the greatest date, or None."""
        async with self.sessions.begin() as s:
            row = await s.scalar(_latest_session_query(patient_id))
            return _session_info(row) if row else None

    async def get_session(self, session_id: int) -> SessionInfo | None:
        """One session by its id (cancelled ones too), or None."""
        async with self.sessions() as s:
            row = await s.get(TreatmentSession, session_id)
            return _session_info(row) if row else None

    async def list_sessions(
        self, patient_id: int, include_cancelled: bool = True
    ) -> list[SessionInfo]:
        """The patient's sessions, oldest date first."""
        query = select(TreatmentSession).where(TreatmentSession.patient_id == patient_id)
        if not include_cancelled:
            query = query.where(TreatmentSession.cancelled_at.is_(None))
        query = query.order_by(TreatmentSession.session_date, TreatmentSession.id)
        async with self.sessions.begin() as s:
            return [_session_info(r) for r in await s.scalars(query)]

    # --- invites --------------------------------------------------------------

    async def create_invite(
        self,
        name: str,
        session_date: dt.date | None,
        ttl: dt.timedelta,
        now: dt.datetime | None = None,
    ) -> InviteInfo:
        """Staff side: create a patient record (name, optional treatment date) and its invite."""
        now = self._now(now)
        async with self.sessions.begin() as s:
            patient = Patient(name=name.strip()[:200], created_at=now)
            s.add(patient)
            await s.flush()
            if session_date is not None:
                s.add(
                    TreatmentSession(
                        patient_id=patient.id,
                        session_date=session_date,
                        source=SessionSource.INVITE.value,
                        created_at=now,
                    )
                )
            invite = Invite(
                code=new_invite_code(), patient_id=patient.id, created_at=now, expires_at=now + ttl
            )
            s.add(invite)
            await s.flush()
            return _invite_info(invite)

    async def get_invite(self, code: str) -> InviteInfo | None:
        """The invite with this code, or None."""
        async with self.sessions.begin() as s:
            row = await s.get(Invite, code)
            return _invite_info(row) if row else None

    async def redeem_invite(
        self, code: str, telegram_id: int, chat_id: int, now: dt.datetime | None = None
    ) -> RedeemResult:
        """Link the Telegram user to the invited patient record.

        If the user already has a patient row (e.g. they pressed /start before using
        the link), that row is kept - it holds their consent and history - and the
        invite's record is merged into it: its sessions, reports and invites move
        over, its name fills a missing name, and the now empty invite record is
        deleted. The result is then ALREADY_LINKED (still `ok`). Opening the same
        link again as the same user also answers ALREADY_LINKED; a different user
        gets USED.
        """
        now = self._now(now)
        async with self.sessions.begin() as s:
            invite = (
                await s.get(Invite, code.strip(), with_for_update=True) if code.strip() else None
            )
            if invite is None:
                return RedeemResult(RedeemStatus.UNKNOWN)
            existing = await s.scalar(_by_telegram(telegram_id))
            if invite.used_at is not None:
                if invite.used_by_telegram_id == telegram_id and existing is not None:
                    return RedeemResult(RedeemStatus.ALREADY_LINKED, _patient_info(existing))
                return RedeemResult(RedeemStatus.USED)
            if now >= invite.expires_at:
                return RedeemResult(RedeemStatus.EXPIRED)
            invite.used_at = now
            invite.used_by_telegram_id = telegram_id
            invited = await s.get(Patient, invite.patient_id)
            assert invited is not None  # FK guarantees it
            if existing is None:
                invited.telegram_id = telegram_id
                invited.chat_id = chat_id
                await s.flush()
                return RedeemResult(RedeemStatus.OK, _patient_info(invited))
            await self._merge_into(s, source=invited, target=existing, chat_id=chat_id)
            return RedeemResult(RedeemStatus.ALREADY_LINKED, _patient_info(existing))

    @staticmethod
    async def _merge_into(
        s: AsyncSession, *, source: Patient, target: Patient, chat_id: int
    ) -> None:
        """Move everything of `source` (an invite's record) to `target`, then delete `source`."""
        for model in (TreatmentSession, Report, Message, Invite, CheckIn):
            await s.execute(
                update(model).where(model.patient_id == source.id).values(patient_id=target.id)
            )
        if not target.name and source.name:
            target.name = source.name
        target.chat_id = chat_id
        await s.delete(source)
        await s.flush()
        log.info("merged invited patient %d into patient %d", source.id, target.id)

    # --- messages -------------------------------------------------------------

    async def log_message(
        self,
        telegram_id: int,
        direction: Direction | str,
        text: str,
        topic: str | None = None,
        outcome: Outcome | str | None = None,
        now: dt.datetime | None = None,
    ) -> bool:
        """Log a chat message; does nothing (returns False) without a consenting patient."""
        direction = Direction(direction)
        outcome_value = Outcome(outcome).value if outcome is not None else None
        async with self.sessions.begin() as s:
            patient = await s.scalar(_by_telegram(telegram_id))
            if patient is None or patient.consent_at is None:
                return False
            s.add(
                Message(
                    patient_id=patient.id,
                    direction=direction.value,
                    text=text,
                    topic=topic,
                    outcome=outcome_value,
                    created_at=self._now(now),
                )
            )
            return True

    async def log_messages(
        self,
        telegram_id: int,
        entries: Sequence[tuple[Direction | str, str, str | None, Outcome | str | None]],
        now: dt.datetime | None = None,
    ) -> bool:
        """Log several (direction, text, topic, outcome) messages in one transaction.

        Like `log_message`, does nothing (returns False) without a consenting patient.
        """
        now = self._now(now)
        async with self.sessions.begin() as s:
            patient = await s.scalar(_by_telegram(telegram_id))
            if patient is None or patient.consent_at is None:
                return False
            for direction, text, topic, outcome in entries:
                s.add(
                    Message(
                        patient_id=patient.id,
                        direction=Direction(direction).value,
                        text=text,
                        topic=topic,
                        outcome=Outcome(outcome).value if outcome is not None else None,
                        created_at=now,
                    )
                )
            return True

    async def log_message_batch(self, entries: Sequence[LogEntry]) -> int:
        """Log messages of several users in one transaction; returns how many were stored.

        Entries of users without a consenting patient row are dropped, like `log_message`.
        Uses one multi-row INSERT (no ORM objects): this runs for every chat message.
        """
        ids = {entry.telegram_id for entry in entries}
        if not ids:
            return 0
        patients = Patient.__table__
        async with self.sessions.kw["bind"].begin() as conn:  # Core: no ORM bulk machinery
            rows = await conn.execute(
                select(patients.c.telegram_id, patients.c.id).where(
                    patients.c.telegram_id.in_(ids), patients.c.consent_at.is_not(None)
                )
            )
            patient_ids = {telegram_id: patient_id for telegram_id, patient_id in rows}
            values = [
                {
                    "patient_id": patient_ids[entry.telegram_id],
                    "direction": Direction(entry.direction).value,
                    "text": entry.text,
                    "topic": entry.topic,
                    "outcome": Outcome(entry.outcome).value if entry.outcome else None,
                    "created_at": self._now(entry.created_at),
                }
                for entry in entries
                if entry.telegram_id in patient_ids
            ]
            if values:
                await conn.execute(insert(Message.__table__), values)
            return len(values)

    async def count_messages(self, telegram_id: int) -> int:
        """Number of logged messages for this user (0 when unknown)."""
        async with self.sessions.begin() as s:
            return int(
                await s.scalar(
                    select(func.count(Message.id))
                    .join(Patient, Patient.id == Message.patient_id)
                    .where(Patient.telegram_id == telegram_id)
                )
                or 0
            )

    # --- reports --------------------------------------------------------------

    async def create_report(
        self,
        telegram_id: int,
        kind: ReportKind | str,
        text: str,
        urgency: Urgency | str | None = None,
        day: int | None = None,
        reason: str | None = None,
        now: dt.datetime | None = None,
    ) -> ReportInfo:
        """Store a report for clinic staff, linked to the patient's latest session.

        Stored even without general consent: a patient asking to hand a message
        to the clinic (or describing symptoms that need a clinician) is consenting
        to that message being passed on. A bare patient row is created if needed;
        no name or other data is added.
        """
        kind = ReportKind(kind)
        urgency_value = Urgency(urgency).value if urgency is not None else None
        now = self._now(now)
        async with self.sessions.begin() as s:
            patient = await s.scalar(_by_telegram(telegram_id))
            if patient is None:
                patient = Patient(telegram_id=telegram_id, created_at=now)
                s.add(patient)
                await s.flush()
            latest = await s.scalar(_latest_session_query(patient.id))
            report = Report(
                patient_id=patient.id,
                session_id=latest.id if latest else None,
                kind=kind.value,
                status=ReportStatus.OPEN.value,
                urgency=urgency_value,
                day=day,
                text=text,
                reason=reason,
                created_at=now,
            )
            s.add(report)
            await s.flush()
            log.info("report %d (%s, %s) stored", report.id, kind.value, urgency_value)
            return _report_info(report, patient)

    async def open_reports(self) -> list[ReportInfo]:
        """Reports not yet resolved (open or taken), emergencies first, then oldest first."""
        async with self.sessions.begin() as s:
            rows = await s.execute(
                select(Report, Patient)
                .join(Patient, Patient.id == Report.patient_id)
                .where(Report.status != ReportStatus.RESOLVED.value)
                .order_by(Report.created_at, Report.id)
            )
            reports = [_report_info(r, p) for r, p in rows]
        return sorted(reports, key=_urgency_order)

    async def set_report_status(
        self, report_id: int, status: ReportStatus | str, now: dt.datetime | None = None
    ) -> ReportInfo | None:
        """Move a report to taken/resolved/open; None when unknown."""
        status = ReportStatus(status)
        async with self.sessions.begin() as s:
            row = await s.get(Report, report_id)
            if row is None:
                return None
            row.status = status.value
            row.resolved_at = self._now(now) if status is ReportStatus.RESOLVED else None
            patient = await s.get(Patient, row.patient_id)
            assert patient is not None
            return _report_info(row, patient)

    # --- the patient's own data -----------------------------------------------

    async def data_summary(self, telegram_id: int) -> dict[str, Any]:
        """What is stored about this user, for /mydata (counts and dates, no texts)."""
        async with self.sessions.begin() as s:
            patient = await s.scalar(_by_telegram(telegram_id))
            if patient is None:
                return {"exists": False}
            sessions = list(
                await s.scalars(
                    select(TreatmentSession.session_date)
                    .where(
                        TreatmentSession.patient_id == patient.id,
                        TreatmentSession.cancelled_at.is_(None),
                    )
                    .order_by(TreatmentSession.session_date)
                )
            )
            msg_count, first_msg, last_msg = (
                await s.execute(
                    select(
                        func.count(Message.id),
                        func.min(Message.created_at),
                        func.max(Message.created_at),
                    ).where(Message.patient_id == patient.id)
                )
            ).one()
            report_count = await s.scalar(
                select(func.count(Report.id)).where(Report.patient_id == patient.id)
            )
            return {
                "exists": True,
                "name": patient.name,
                "timezone": patient.timezone,
                "consent_at": patient.consent_at,
                "created_at": patient.created_at,
                "active": patient.active,
                "checkins_paused": patient.checkins_paused,
                "sessions": len(sessions),
                "session_dates": sessions,
                "messages": int(msg_count or 0),
                "first_message_at": _aware(first_msg),
                "last_message_at": _aware(last_msg),
                "reports": int(report_count or 0),
            }

    async def erase_patient(self, telegram_id: int) -> bool:
        """Delete the patient and everything about them (database cascades, and their
        conversation states in ``chat_state``); False if there was no patient row."""
        async with self.sessions.begin() as s:
            result = await s.execute(delete(Patient).where(Patient.telegram_id == telegram_id))
            erased = bool(affected(result))
            await s.execute(delete(ChatState).where(ChatState.telegram_id == telegram_id))
        if erased:
            log.info("erased a patient record on request")
        return erased

    async def count_rows(self, patient_id: int) -> dict[str, int]:
        """Rows per table belonging to a patient (used to verify erasure)."""
        counts: dict[str, int] = {}
        async with self.sessions.begin() as s:
            counts["patients"] = int(
                await s.scalar(
                    select(func.count()).select_from(Patient).where(Patient.id == patient_id)
                )
                or 0
            )
            for model in (TreatmentSession, Invite, Message, Report):
                query = (
                    select(func.count()).select_from(model).where(model.patient_id == patient_id)
                )
                counts[model.__tablename__] = int(await s.scalar(query) or 0)
        return counts


_URGENCY_RANK = {Urgency.EMERGENCY.value: 0, Urgency.URGENT.value: 1}


def _urgency_order(report: ReportInfo) -> tuple[int, dt.datetime, int]:
    return (_URGENCY_RANK.get(report.urgency or "", 2), report.created_at, report.id)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """Aggregates (min/max) bypass the column type on SQLite: mark naive values as UTC."""
    if isinstance(value, str):  # SQLite returns aggregate datetimes as text
        value = dt.datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


__all__: Sequence[str] = (
    "Clock",
    "ConsentRequired",
    "InviteInfo",
    "LogEntry",
    "PatientContext",
    "PatientInfo",
    "RedeemResult",
    "RedeemStatus",
    "ReportInfo",
    "Repository",
    "SessionInfo",
    "utcnow",
)
