"""The check-in manager: writes and edits outbox rows when sessions and patients change.

The dispatcher (scheduler/dispatcher.py) only sends; everything that creates, moves, pauses
or cancels rows is here. Every method is idempotent, so calling it twice (a retried handler,
a start-up reconciliation) never doubles a check-in: rows are unique per (session, step).

Rules:
* a session's rows follow the care plan in the patient's own zone (clinic zone by default);
  steps whose delivery window has already closed are not created;
* moving a session (or changing the patient's zone) re-plans its pending and paused rows;
  rows already sent, failed or expired are history and never change;
* cancelling a session cancels its open rows; a new session cancels older sessions' open
  rebooking nudges (the patient has rebooked);
* /stop pauses a patient's pending rows, /resume re-queues those still deliverable;
* a problem answer (or a triage alarm) pauses the session's pending rows until staff resolve
  the report.
"""

from __future__ import annotations

import builtins
import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement, Executable, and_, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scheduler.careplan import Action, CarePlan, QuietHours, Step, StepKind
from scheduler.timing import Due, plan_due, spread_offset
from storage.clock import Clock, utcnow
from storage.models import CheckIn, CheckinStatus, Patient, TreatmentSession
from storage.patients import set_paused
from storage.results import affected
from storage.sessions import cancel as cancel_session_row
from storage.sessions import move as move_session_row

log = logging.getLogger(__name__)

S = CheckinStatus
OPEN = (S.PENDING.value, S.PAUSED.value)
PAUSED_BY_PATIENT = "patient"
MOVED = "session date changed"
REPORT_PREFIX = "report:"


@dataclass(frozen=True)
class CheckinInfo:
    """A check-in row for listings and staff summaries."""

    id: int
    session_id: int
    patient_id: int
    patient_name: str | None
    step: str
    day_offset: int
    tz: str
    due_at: dt.datetime
    deliver_until: dt.datetime
    status: str
    paused_reason: str | None
    attempts: int
    telegram_message_id: int | None
    sent_at: dt.datetime | None
    answer: str | None
    last_error: str | None


@dataclass(frozen=True)
class AnswerResult:
    """What a button press did. `reply` is what to tell the patient (None: stale press)."""

    ok: bool
    reply: str | None = None
    action: Action | None = None
    checkin_id: int | None = None
    session_id: int | None = None
    patient_id: int | None = None
    step: Step | None = None
    label: str | None = None
    repeated: bool = False


def report_hold(report_id: int) -> str:
    """The paused_reason of rows held by an open report."""
    return f"{REPORT_PREFIX}{report_id}"


def _info(row: CheckIn, name: str | None) -> CheckinInfo:
    return CheckinInfo(row.id, row.session_id, row.patient_id, name, row.step, row.day_offset,
                       row.tz, row.due_at, row.deliver_until, row.status, row.paused_reason,
                       row.attempts, row.telegram_message_id, row.sent_at, row.answer,
                       row.last_error)


class CheckinManager:
    """Creates and edits check-in rows; answers button presses."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], plan: CarePlan,
                 default_tz: str | ZoneInfo = "Europe/London", *,
                 quiet_hours: QuietHours | None = None, clock: Clock = utcnow) -> None:
        self.sessions = sessions
        self.plan = plan
        self.default_tz = default_tz if isinstance(default_tz, ZoneInfo) else ZoneInfo(default_tz)
        self.quiet = quiet_hours or plan.quiet_hours
        self.clock = clock
        self._dialect = sessions.kw["bind"].dialect.name

    # --- planning ---------------------------------------------------------------------
    def zone_of(self, patient: Patient) -> ZoneInfo:
        """The patient's zone, or the clinic's when unset or unknown."""
        try:
            return ZoneInfo(patient.timezone) if patient.timezone else self.default_tz
        except (ZoneInfoNotFoundError, ValueError):
            log.warning("patient %d has an unknown zone %r: using the clinic's", patient.id,
                        patient.timezone)
            return self.default_tz

    def _insert(self, values: list[dict[str, object]]) -> Executable:
        if self._dialect == "postgresql":
            return postgresql.insert(CheckIn).values(values).on_conflict_do_nothing(
                index_elements=["session_id", "step"])
        return sqlite.insert(CheckIn).values(values).on_conflict_do_nothing(
            index_elements=["session_id", "step"])

    async def _sync(self, s: AsyncSession, session: TreatmentSession, patient: Patient,
                    now: dt.datetime) -> int:
        """Make the session's open rows match the plan; returns rows created or moved."""
        tz = self.zone_of(patient)
        existing = {r.step: r for r in await s.scalars(
            select(CheckIn).where(CheckIn.session_id == session.id))}
        new: list[dict[str, object]] = []
        changed = 0
        for step in self.plan.active_steps:
            due = plan_due(session.session_date, step, tz, self.quiet,
                           spread_offset(patient.id, self.plan.spread_minutes))
            row = existing.get(step.id)
            if row is None:
                if due.deliver_until > now:
                    new.append(self._new_row(session, patient, step, due, tz, now))
                continue
            movable = row.status in OPEN or (row.status == S.CANCELLED.value
                                             and row.last_error == MOVED)
            if not movable or (row.due_at == due.due_at and row.tz == tz.key
                               and row.status in OPEN):
                continue
            self._move(row, due, tz, patient, now)
            changed += 1
        if new:
            await s.execute(self._insert(new))
        return len(new) + changed

    def _new_row(self, session: TreatmentSession, patient: Patient, step: Step, due: Due,
                 tz: ZoneInfo, now: dt.datetime) -> dict[str, object]:
        paused = patient.checkins_paused
        return {"session_id": session.id, "patient_id": patient.id, "step": step.id,
                "day_offset": step.day, "local_date": due.local_date, "tz": tz.key,
                "due_at": due.due_at, "deliver_until": due.deliver_until,
                "status": S.PAUSED.value if paused else S.PENDING.value,
                "paused_reason": PAUSED_BY_PATIENT if paused else None, "attempts": 0,
                "created_at": now, "updated_at": now}

    @staticmethod
    def _move(row: CheckIn, due: Due, tz: ZoneInfo, patient: Patient,
              now: dt.datetime) -> None:
        row.local_date = due.local_date
        row.due_at = due.due_at
        row.deliver_until = due.deliver_until
        row.tz = tz.key
        row.updated_at = now
        if row.deliver_until <= now:
            row.status, row.last_error = S.CANCELLED.value, MOVED
        elif row.status == S.CANCELLED.value:
            row.status, row.last_error = S.PENDING.value, None
            if patient.checkins_paused:
                row.status, row.paused_reason = S.PAUSED.value, PAUSED_BY_PATIENT

    async def _load(self, s: AsyncSession, session_id: int
                    ) -> tuple[TreatmentSession, Patient] | None:
        session = await s.get(TreatmentSession, session_id)
        if session is None:
            return None
        patient = await s.get(Patient, session.patient_id)
        assert patient is not None  # foreign key
        return session, patient

    # --- session events ---------------------------------------------------------------
    async def schedule_session(self, session_id: int, now: dt.datetime | None = None) -> int:
        """Write the session's check-ins (idempotent); returns rows created or moved."""
        now = now or self.clock()
        async with self.sessions.begin() as s:
            loaded = await self._load(s, session_id)
            if loaded is None or loaded[0].cancelled_at is not None:
                return 0
            session, patient = loaded
            await self._cancel_older_rebooks(s, session, now)
            count = await self._sync(s, session, patient, now)
        log.info("session %d: %d check-in(s) planned", session_id, count)
        return count

    async def _cancel_older_rebooks(self, s: AsyncSession, session: TreatmentSession,
                                    now: dt.datetime) -> None:
        rebook = [st.id for st in self.plan.steps if st.kind is StepKind.REBOOK]
        older = select(TreatmentSession.id).where(
            TreatmentSession.patient_id == session.patient_id,
            TreatmentSession.id != session.id,
            TreatmentSession.session_date <= session.session_date)
        await s.execute(update(CheckIn).where(
            CheckIn.session_id.in_(older), CheckIn.step.in_(rebook), CheckIn.status.in_(OPEN))
            .values(status=S.CANCELLED.value, last_error="a newer session was booked",
                    updated_at=now))

    async def move_session(self, session_id: int, new_date: dt.date,
                           now: dt.datetime | None = None) -> int:
        """Change a session's date and move its open check-ins with it."""
        now = now or self.clock()
        async with self.sessions.begin() as s:
            loaded = await self._load(s, session_id)
            if loaded is None or loaded[0].cancelled_at is not None:
                raise LookupError(f"no open session {session_id}")
            session, patient = loaded
            move_session_row(session, new_date)
            await s.flush()
            return await self._sync(s, session, patient, now)

    async def cancel_session(self, session_id: int, now: dt.datetime | None = None) -> int:
        """Cancel the session (if not yet) and its open check-ins; returns rows cancelled."""
        now = now or self.clock()
        async with self.sessions.begin() as s:
            await cancel_session_row(s, session_id, now)
            result = await s.execute(update(CheckIn).where(
                CheckIn.session_id == session_id, CheckIn.status.in_(OPEN))
                .values(status=S.CANCELLED.value, last_error="session cancelled",
                        updated_at=now))
            return affected(result)

    async def replan_patient(self, patient_id: int, now: dt.datetime | None = None) -> int:
        """Re-plan every open row of a patient (after a zone change, or on linking)."""
        now = now or self.clock()
        count = 0
        async with self.sessions.begin() as s:
            patient = await s.get(Patient, patient_id)
            if patient is None:
                return 0
            sessions = await s.scalars(select(TreatmentSession).where(
                TreatmentSession.patient_id == patient_id,
                TreatmentSession.cancelled_at.is_(None)))
            for session in sessions:
                count += await self._sync(s, session, patient, now)
        return count

    async def reconcile(self, now: dt.datetime | None = None) -> int:
        """Plan recent sessions that have no check-in rows yet (crash between writes)."""
        now = now or self.clock()
        since = (now - dt.timedelta(days=self.plan.max_day + 2)).date()
        has_rows = select(CheckIn.id).where(CheckIn.session_id == TreatmentSession.id).exists()
        async with self.sessions.begin() as s:
            ids = list(await s.scalars(select(TreatmentSession.id).where(
                TreatmentSession.cancelled_at.is_(None), TreatmentSession.session_date >= since,
                ~has_rows)))
        total = 0
        for session_id in ids:
            total += await self.schedule_session(session_id, now)
        if ids:
            log.info("reconciled %d session(s) without check-ins: %d row(s)", len(ids), total)
        return total

    # --- patient events ---------------------------------------------------------------
    async def pause_patient(self, patient_id: int, now: dt.datetime | None = None) -> int:
        """/stop: set the patient's flag and hold their pending rows."""
        now = now or self.clock()
        async with self.sessions.begin() as s:
            await set_paused(s, patient_id, True)
            result = await s.execute(update(CheckIn).where(
                CheckIn.patient_id == patient_id, CheckIn.status == S.PENDING.value)
                .values(status=S.PAUSED.value, paused_reason=PAUSED_BY_PATIENT, updated_at=now))
            return affected(result)

    async def resume_patient(self, patient_id: int, now: dt.datetime | None = None) -> int:
        """/resume: clear the flag; rows held by /stop go back to the queue (or are cancelled
        when their window passed meanwhile). Rows held by a report stay held."""
        now = now or self.clock()
        async with self.sessions.begin() as s:
            await set_paused(s, patient_id, False)
            return await self._unhold(s, CheckIn.patient_id == patient_id, PAUSED_BY_PATIENT,
                                      "paused by the patient until after its time", now)

    async def _unhold(self, s: AsyncSession, scope: ColumnElement[bool], reason: str, late: str,
                      now: dt.datetime) -> int:
        held = and_(scope, CheckIn.status == S.PAUSED.value, CheckIn.paused_reason == reason)
        await s.execute(update(CheckIn).where(held, CheckIn.deliver_until <= now).values(
            status=S.CANCELLED.value, last_error=late, paused_reason=None, updated_at=now))
        result = await s.execute(update(CheckIn).where(held).values(
            status=S.PENDING.value, paused_reason=None, updated_at=now))
        return affected(result)

    async def hold_for_report(self, session_id: int | None, report_id: int,
                              now: dt.datetime | None = None) -> int:
        """Pause a session's pending check-ins until staff resolve report `report_id`."""
        if session_id is None:
            return 0
        now = now or self.clock()
        async with self.sessions.begin() as s:
            result = await s.execute(update(CheckIn).where(
                CheckIn.session_id == session_id, CheckIn.status == S.PENDING.value)
                .values(status=S.PAUSED.value, paused_reason=report_hold(report_id),
                        updated_at=now))
        log.info("session %d: %d check-in(s) held by report %d", session_id, affected(result),
                 report_id)
        return affected(result)

    async def release_report_hold(self, report_id: int, now: dt.datetime | None = None) -> int:
        """Staff resolved the report: its held check-ins resume (or are cancelled if late);
        if the patient has /stop-ped meanwhile they stay paused by the patient."""
        now = now or self.clock()
        reason = report_hold(report_id)
        async with self.sessions.begin() as s:
            stopped = select(Patient.id).where(Patient.checkins_paused.is_(True))
            await s.execute(update(CheckIn).where(
                CheckIn.paused_reason == reason, CheckIn.patient_id.in_(stopped))
                .values(paused_reason=PAUSED_BY_PATIENT, updated_at=now))
            return await self._unhold(s, CheckIn.paused_reason == reason, reason,
                                      "held by a report until after its time", now)

    # --- answers ----------------------------------------------------------------------
    async def answer(self, telegram_id: int, checkin_id: int, choice: int,
                     now: dt.datetime | None = None) -> AnswerResult:
        """A button press on check-in `checkin_id`. The press carries no authority: the
        check-in must belong to the pressing Telegram user. The first answer counts;
        pressing again (or on a duplicate message) repeats the reply without new effects."""
        now = now or self.clock()
        async with self.sessions.begin() as s:
            row = await s.get(CheckIn, checkin_id)
            patient = await s.get(Patient, row.patient_id) if row else None
            if row is None or patient is None or patient.telegram_id != telegram_id:
                log.warning("check-in answer refused: %d is not user %d's", checkin_id,
                            telegram_id)
                return AnswerResult(False)
            step = self.plan.step(row.step)
            picked = step.choice(choice) if step else None
            if step is None or picked is None:
                return AnswerResult(False)
            repeated = row.answer is not None
            if not repeated:
                row.answer, row.answered_at, row.updated_at = picked.label[:32], now, now
                if picked.action in (Action.BOOK, Action.DONE):
                    await self._stop_rebooks(s, row.session_id, now)
            return AnswerResult(True, picked.reply, picked.action, row.id, row.session_id,
                                row.patient_id, step, picked.label, repeated)

    async def _stop_rebooks(self, s: AsyncSession, session_id: int, now: dt.datetime) -> None:
        rebook = [st.id for st in self.plan.steps if st.kind is StepKind.REBOOK]
        await s.execute(update(CheckIn).where(
            CheckIn.session_id == session_id, CheckIn.step.in_(rebook),
            CheckIn.status.in_(OPEN)).values(status=S.CANCELLED.value,
                                             last_error="patient answered the booking nudge",
                                             updated_at=now))

    # --- listings ---------------------------------------------------------------------
    async def list(self, *, statuses: Sequence[str] = (), patient_id: int | None = None,
                   due_before: dt.datetime | None = None, limit: int = 200
                   ) -> list[CheckinInfo]:
        """Check-ins filtered by status, patient and due time, soonest first."""
        query = select(CheckIn, Patient.name).join(Patient, Patient.id == CheckIn.patient_id)
        if statuses:
            query = query.where(CheckIn.status.in_([S(v).value for v in statuses]))
        if patient_id is not None:
            query = query.where(CheckIn.patient_id == patient_id)
        if due_before is not None:
            query = query.where(CheckIn.due_at < due_before)
        query = query.order_by(CheckIn.due_at, CheckIn.id).limit(limit)
        async with self.sessions.begin() as s:
            return [_info(row, name) for row, name in await s.execute(query)]

    async def counts(self) -> dict[str, int]:
        """Number of rows per status."""
        async with self.sessions.begin() as s:
            rows = await s.execute(select(CheckIn.status, func.count()).group_by(CheckIn.status))
            counts = {st.value: 0 for st in S}
            counts.update({status: int(n) for status, n in rows})
            return counts

    async def needs_attention(self, since: dt.datetime, now: dt.datetime | None = None,
                              unanswered_after: dt.timedelta = dt.timedelta(hours=24)
                              ) -> tuple[builtins.list[CheckinInfo], builtins.list[CheckinInfo]]:
        """(failed or expired since `since`, sent but unanswered for `unanswered_after`)."""
        now = now or self.clock()
        base = select(CheckIn, Patient.name).join(Patient, Patient.id == CheckIn.patient_id)
        async with self.sessions.begin() as s:
            bad = await s.execute(base.where(
                CheckIn.status.in_((S.FAILED.value, S.EXPIRED.value)),
                CheckIn.updated_at >= since).order_by(CheckIn.updated_at))
            silent = await s.execute(base.where(
                CheckIn.status == S.SENT.value, CheckIn.answer.is_(None),
                CheckIn.sent_at >= since - unanswered_after,
                CheckIn.sent_at < now - unanswered_after).order_by(CheckIn.sent_at))
            return ([_info(r, n) for r, n in bad], [_info(r, n) for r, n in silent])
