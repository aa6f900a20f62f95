"""The check-in manager: writes and edits outbox rows when sessions and patients change.

The dispatcher (scheduler/dispatcher.py) only sends; everything that creates, moves, pauses
or cancels rows is decided here. The statements are in scheduler/sql.py (`SqlPlanStore`);
`MemoryPlanStore` (scheduler/memory.py) is the in-memory twin, and both pass the same tests.
Every method is idempotent, so calling it twice (a retried handler,
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

from scheduler.careplan import Action, CarePlan, QuietHours, Step, StepKind
from scheduler.sql import (
    CheckinInfo,
    NewRow,
    PlanPatient,
    PlanRow,
    PlanSession,
    PlanStore,
    PlanTx,
    RowMove,
    Scope,
)
from scheduler.timing import Due, plan_due, spread_offset
from storage.clock import Clock, utcnow
from storage.models import CheckinStatus

log = logging.getLogger(__name__)

S = CheckinStatus
OPEN = (S.PENDING.value, S.PAUSED.value)
PAUSED_BY_PATIENT = "patient"
MOVED = "session date changed"
REPORT_PREFIX = "report:"


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
    urgency: str | None = None  # the answer is a red flag by itself (careplan `urgency`)


def report_hold(report_id: int) -> str:
    """The paused_reason of rows held by an open report."""
    return f"{REPORT_PREFIX}{report_id}"


class CheckinManager:
    """Creates and edits check-in rows; answers button presses."""

    def __init__(self, store: PlanStore, plan: CarePlan,
                 default_tz: str | ZoneInfo = "Europe/London", *,
                 quiet_hours: QuietHours | None = None, clock: Clock = utcnow) -> None:
        """`store` keeps the rows: scheduler/sql.py's `SqlPlanStore`, or scheduler/memory.py's
        `MemoryPlanStore` twin."""
        self.store = store
        self.plan = plan
        self.default_tz = default_tz if isinstance(default_tz, ZoneInfo) else ZoneInfo(default_tz)
        self.quiet = quiet_hours or plan.quiet_hours
        self.clock = clock

    # --- planning ---------------------------------------------------------------------
    def zone_of(self, patient: PlanPatient) -> ZoneInfo:
        """The patient's zone, or the clinic's when unset or unknown."""
        try:
            return ZoneInfo(patient.timezone) if patient.timezone else self.default_tz
        except (ZoneInfoNotFoundError, ValueError):
            log.warning("patient %d has an unknown zone %r: using the clinic's", patient.id,
                        patient.timezone)
            return self.default_tz

    def _rebook_steps(self) -> list[str]:
        return [st.id for st in self.plan.steps if st.kind is StepKind.REBOOK]

    async def _sync(self, tx: PlanTx, session: PlanSession, patient: PlanPatient,
                    now: dt.datetime) -> int:
        """Make the session's open rows match the plan; returns rows created or moved."""
        tz = self.zone_of(patient)
        existing = {r.step: r for r in await tx.rows(session.id)}
        new: list[NewRow] = []
        moves: list[RowMove] = []
        for step in self.plan.active_steps:
            due = plan_due(session.session_date, step, tz, self.quiet,
                           spread_offset(patient.id, self.plan.spread_minutes))
            row = existing.get(step.id)
            if row is None:
                if due.deliver_until > now:
                    new.append(self._new_row(session, patient, step, due, tz))
                continue
            movable = row.status in OPEN or (row.status == S.CANCELLED.value
                                             and row.last_error == MOVED)
            if not movable or (row.due_at == due.due_at and row.tz == tz.key
                               and row.status in OPEN):
                continue
            moves.append(self._move(row, due, tz, patient, now))
        await tx.insert(new, now)
        await tx.move(moves, now)
        return len(new) + len(moves)

    @staticmethod
    def _new_row(session: PlanSession, patient: PlanPatient, step: Step, due: Due,
                 tz: ZoneInfo) -> NewRow:
        paused = patient.paused
        return NewRow(session_id=session.id, patient_id=patient.id, step=step.id,
                      day_offset=step.day, local_date=due.local_date, tz=tz.key,
                      due_at=due.due_at, deliver_until=due.deliver_until,
                      status=S.PAUSED.value if paused else S.PENDING.value,
                      paused_reason=PAUSED_BY_PATIENT if paused else None)

    @staticmethod
    def _move(row: PlanRow, due: Due, tz: ZoneInfo, patient: PlanPatient,
              now: dt.datetime) -> RowMove:
        status, last_error, paused_reason = row.status, row.last_error, row.paused_reason
        if due.deliver_until <= now:
            status, last_error = S.CANCELLED.value, MOVED
        elif row.status == S.CANCELLED.value:
            status, last_error = S.PENDING.value, None
            if patient.paused:
                status, paused_reason = S.PAUSED.value, PAUSED_BY_PATIENT
        return RowMove(row.id, due.local_date, due.due_at, due.deliver_until, tz.key, status,
                       last_error, paused_reason)

    async def _load(self, tx: PlanTx, session_id: int
                    ) -> tuple[PlanSession, PlanPatient] | None:
        session = await tx.session(session_id)
        if session is None:
            return None
        patient = await tx.patient(session.patient_id)
        assert patient is not None  # foreign key
        return session, patient

    # --- session events ---------------------------------------------------------------
    async def schedule_session(self, session_id: int, now: dt.datetime | None = None) -> int:
        """Write the session's check-ins (idempotent); returns rows created or moved."""
        now = now or self.clock()
        async with self.store.transaction() as tx:
            loaded = await self._load(tx, session_id)
            if loaded is None or loaded[0].cancelled:
                return 0
            session, patient = loaded
            older = await tx.older_sessions(session)
            await tx.cancel_open(older, self._rebook_steps(), "a newer session was booked",
                                 now)
            count = await self._sync(tx, session, patient, now)
        log.info("session %d: %d check-in(s) planned", session_id, count)
        return count

    async def move_session(self, session_id: int, new_date: dt.date,
                           now: dt.datetime | None = None) -> int:
        """Change a session's date and move its open check-ins with it."""
        now = now or self.clock()
        async with self.store.transaction() as tx:
            loaded = await self._load(tx, session_id)
            if loaded is None or loaded[0].cancelled:
                raise LookupError(f"no open session {session_id}")
            session, patient = loaded
            await tx.set_session_date(session_id, new_date)
            moved = PlanSession(session.id, session.patient_id, new_date, session.cancelled)
            return await self._sync(tx, moved, patient, now)

    async def cancel_session(self, session_id: int, now: dt.datetime | None = None) -> int:
        """Cancel the session (if not yet) and its open check-ins; returns rows cancelled.
        The one way a session is cancelled: its check-ins follow in the same transaction."""
        now = now or self.clock()
        async with self.store.transaction() as tx:
            await tx.cancel_session(session_id, now)
            return await tx.cancel_open([session_id], None, "session cancelled", now)

    async def replan_patient(self, patient_id: int, now: dt.datetime | None = None) -> int:
        """Re-plan every open row of a patient (after a zone change, or on linking)."""
        now = now or self.clock()
        count = 0
        async with self.store.transaction() as tx:
            patient = await tx.patient(patient_id)
            if patient is None:
                return 0
            for session in await tx.open_sessions(patient_id):
                count += await self._sync(tx, session, patient, now)
        return count

    async def reconcile(self, now: dt.datetime | None = None) -> int:
        """Plan recent sessions that have no check-in rows yet (crash between writes)."""
        now = now or self.clock()
        since = (now - dt.timedelta(days=self.plan.max_day + 2)).date()
        ids = await self.store.sessions_without_rows(since)
        total = 0
        for session_id in ids:
            total += await self.schedule_session(session_id, now)
        if ids:
            log.info("reconciled %d session(s) without check-ins: %d row(s)", len(ids), total)
        return total

    # --- patient events ---------------------------------------------------------------
    async def pause_patient(self, patient_id: int, now: dt.datetime | None = None) -> int:
        """/stop: set the patient's flag and hold their pending rows (one transaction)."""
        now = now or self.clock()
        async with self.store.transaction() as tx:
            await tx.set_patient_paused(patient_id, True)
            return await tx.hold(Scope(patient_id=patient_id), PAUSED_BY_PATIENT, now)

    async def resume_patient(self, patient_id: int, now: dt.datetime | None = None) -> int:
        """/resume: clear the flag; rows held by /stop go back to the queue (or are cancelled
        when their window passed meanwhile). Rows held by a report stay held."""
        now = now or self.clock()
        async with self.store.transaction() as tx:
            await tx.set_patient_paused(patient_id, False)
            return await tx.unhold(Scope(patient_id=patient_id), PAUSED_BY_PATIENT,
                                   "paused by the patient until after its time", now)

    async def hold_for_report(self, session_id: int | None, report_id: int,
                              now: dt.datetime | None = None) -> int:
        """Pause a session's pending check-ins until staff resolve report `report_id`."""
        if session_id is None:
            return 0
        now = now or self.clock()
        async with self.store.transaction() as tx:
            count = await tx.hold(Scope(session_id=session_id), report_hold(report_id), now)
        log.info("session %d: %d check-in(s) held by report %d", session_id, count, report_id)
        return count

    async def release_report_hold(self, report_id: int, now: dt.datetime | None = None) -> int:
        """Staff resolved the report: its held check-ins resume (or are cancelled if late);
        if the patient has /stop-ped meanwhile they stay paused by the patient."""
        now = now or self.clock()
        reason = report_hold(report_id)
        async with self.store.transaction() as tx:
            await tx.hand_to_patient_pause(reason, PAUSED_BY_PATIENT, now)
            return await tx.unhold(Scope(reason=reason), reason,
                                   "held by a report until after its time", now)

    async def holding_reports(self, patient_id: int) -> builtins.list[int]:
        """Ids of the reports whose resolution the patient's held check-ins wait for."""
        rows = await self.list(statuses=(S.PAUSED.value,), patient_id=patient_id, limit=1000)
        ids = {int(r.paused_reason.removeprefix(REPORT_PREFIX)) for r in rows
               if r.paused_reason and r.paused_reason.startswith(REPORT_PREFIX)
               and r.paused_reason.removeprefix(REPORT_PREFIX).isdigit()}
        return sorted(ids)

    # --- answers ----------------------------------------------------------------------
    async def answer(self, telegram_id: int, checkin_id: int, choice: int,
                     now: dt.datetime | None = None, *, store: bool = True) -> AnswerResult:
        """A button press on check-in `checkin_id`. The press carries no authority: the
        check-in must belong to the pressing Telegram user. The first answer counts;
        pressing again (or on a duplicate message) repeats the reply without new effects.
        `store` False (a patient who has not agreed to storage): the reply and the action
        come back, but nothing about the answer is written."""
        now = now or self.clock()
        async with self.store.transaction() as tx:
            row = await tx.row(checkin_id)
            patient = await tx.patient(row.patient_id) if row else None
            if row is None or patient is None or patient.telegram_id != telegram_id:
                log.warning("check-in answer refused: %d is not user %d's", checkin_id,
                            telegram_id)
                return AnswerResult(False)
            step = self.plan.step(row.step)
            picked = step.choice(choice) if step else None
            if step is None or picked is None:
                return AnswerResult(False)
            repeated = row.answer is not None
            if not repeated and store:
                await tx.record_answer(row.id, picked.label[:32], now)
                if picked.action in (Action.BOOK, Action.DONE):
                    await tx.cancel_open([row.session_id], self._rebook_steps(),
                                         "patient answered the booking nudge", now)
            return AnswerResult(True, picked.reply, picked.action, row.id, row.session_id,
                                row.patient_id, step, picked.label, repeated, picked.urgency)

    # --- listings ---------------------------------------------------------------------
    async def list(self, *, statuses: Sequence[str] = (), patient_id: int | None = None,
                   due_before: dt.datetime | None = None, limit: int = 200
                   ) -> builtins.list[CheckinInfo]:
        """Check-ins filtered by status, patient and due time, soonest first."""
        return await self.store.listing(statuses=[S(v).value for v in statuses],
                                        patient_id=patient_id, due_before=due_before,
                                        limit=limit)

    async def counts(self, *, statuses: Sequence[str] = (), patient_id: int | None = None,
                     due_before: dt.datetime | None = None) -> dict[str, int]:
        """Number of rows per status, with the same filters as `list` (no limit)."""
        return await self.store.counts(statuses=[S(v).value for v in statuses],
                                       patient_id=patient_id, due_before=due_before)

    async def needs_attention(self, since: dt.datetime, now: dt.datetime | None = None,
                              unanswered_after: dt.timedelta = dt.timedelta(hours=24)
                              ) -> tuple[builtins.list[CheckinInfo], builtins.list[CheckinInfo]]:
        """(failed or expired since `since`, sent but unanswered for `unanswered_after`)."""
        now = now or self.clock()
        return await self.store.attention(since, since - unanswered_after,
                                          now - unanswered_after)


__all__ = ["AnswerResult", "CheckinInfo", "CheckinManager", "report_hold"]
