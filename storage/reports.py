"""The reports aggregate's store: `ReportStore`, the async API of ``reports``,
``report_actions``, ``report_photos`` and ``report_cards`` (with storage/report_rows.py, the
row functions other modules' transactions call, the only writers of those tables).

`ReportStore` stores reports (`create`, which owes the staff card in the same commit), their
workflow (take, resolve, reopen), the audit trail, photos and staff-chat cards, and answers
the desk's reads (queue, threads, overdue cards, /patient, the export). Every staff status
change is one conditional ``UPDATE reports ... WHERE id = :id AND status IN (...)`` whose row
count says whether this caller won; the audit row is written in the same transaction, so when
two staff members press the same button at once exactly one action is recorded. Results are
the frozen values of storage/report_info.py (`ReportInfo`, the one report view, and the
rest), re-exported here with the row functions, so ``from storage.reports import ...`` keeps
working for every name. Its in-memory twin is storage/reports_memory.py.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.alert_rows import CardCopies, owe_card, owe_erase
from storage.clock import Clock, utcnow
from storage.ids import telegram_id
from storage.models import (
    CheckIn,
    Direction,
    Message,
    Outcome,
    Patient,
    Report,
    ReportAction,
    ReportActionRow,
    ReportCard,
    ReportKind,
    ReportPhoto,
    ReportStatus,
    TreatmentSession,
    Urgency,
)
from storage.patients import aware_now, by_telegram, new_patient
from storage.report_info import (
    ALERT_URGENCIES,
    CARD_KINDS,
    URGENCY_RANK,
    ActionInfo,
    CardInfo,
    PatientOverview,
    ReportInfo,
    Transition,
    queue_order,
    unanswered_of,
)
from storage.report_rows import (
    UNRESOLVED,
    action_info,
    apply_edit,
    audit,
    claim_repost,
    count_repeat,
    delete_resolved_reports_of,
    link_card,
    restart_repost_wait,
    select_reports,
    staff_report,
    utc_aggregate,
)
from storage.results import affected
from storage.sessions import latest_session_query

log = logging.getLogger(__name__)


class ReportStore:
    """Reports, their workflow and audit trail over the application's session factory."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock = utcnow,
                 copies: CardCopies | None = None) -> None:
        self.sessions = sessions
        self.clock = clock
        self.copies = copies  # on-call staff owed their own copy of a card (outside hours)

    def _now(self, now: dt.datetime | None) -> dt.datetime:
        return aware_now(self.clock, now)

    # --- the patient side -------------------------------------------------------------------
    async def create(self, telegram_id: int, kind: ReportKind | str, text: str,
                     urgency: Urgency | str | None = None, day: int | None = None,
                     reason: str | None = None, now: dt.datetime | None = None,
                     source_update_id: int | None = None,
                     source_message: tuple[int, int] | None = None) -> ReportInfo:
        """Store a report for clinic staff, linked to the patient's latest session
        (`source_message`: the chat and message id of the patient's words, so that an edit
        of that message updates this report).

        Stored even without general consent: a patient asking to hand a message
        to the clinic (or describing symptoms that need a clinician) is consenting
        to that message being passed on. A bare patient row is created if needed;
        no name or other data is added.
        """
        kind = ReportKind(kind)
        urgency_value = Urgency(urgency).value if urgency is not None else None
        now = self._now(now)
        async with self.sessions.begin() as s:
            if source_update_id is not None:  # already stored (a spool replay): the same one
                found = await s.scalar(select(Report.id).where(
                    Report.source_update_id == source_update_id))
                if found is not None:
                    existing = await self._report(s, found)
                    assert existing is not None
                    return existing
            patient = await s.scalar(by_telegram(telegram_id))
            if patient is None:
                patient = await new_patient(s, now, telegram_id=telegram_id)
            latest = await s.scalar(latest_session_query(patient.id))
            report = Report(patient_id=patient.id, session_id=latest.id if latest else None,
                            kind=kind.value, status=ReportStatus.OPEN.value,
                            urgency=urgency_value, day=day, text=text, reason=reason,
                            created_at=now, source_update_id=source_update_id,
                            source_chat_id=source_message[0] if source_message else None,
                            source_message_id=source_message[1] if source_message else None)
            s.add(report)
            await s.flush()
            await owe_card(s, report.id, now)  # the staff card, owed in the same commit
            for chat in self.copies.chats(urgency_value, now) if self.copies else ():
                await owe_card(s, report.id, now, chat_id=chat)  # on call: a private copy
            log.info("report %d (%s, %s) stored", report.id, kind.value, urgency_value)
            return staff_report(report, patient, latest.session_date if latest else None)

    async def set_status(self, report_id: int, status: ReportStatus | str,
                         now: dt.datetime | None = None) -> ReportInfo | None:
        """Move a report to taken/resolved/open without the staff workflow; None when unknown."""
        status = ReportStatus(status)
        async with self.sessions.begin() as s:
            row = await s.get(Report, report_id)
            if row is None:
                return None
            row.status = status.value
            row.resolved_at = self._now(now) if status is ReportStatus.RESOLVED else None
            await s.flush()
            return await self._report(s, report_id)

    # --- reading --------------------------------------------------------------------------
    async def _report(self, s: AsyncSession, report_id: int) -> ReportInfo | None:
        query = select_reports().where(Report.id == report_id)
        row = (await s.execute(query)).first()
        return staff_report(*row) if row else None

    async def get(self, report_id: int) -> ReportInfo | None:
        """The report with this id, or None."""
        async with self.sessions() as s:
            return await self._report(s, report_id)

    async def queue(self) -> list[ReportInfo]:
        """Unresolved reports, most urgent and oldest first."""
        query = select_reports().where(UNRESOLVED)
        async with self.sessions() as s:
            reports = [staff_report(*row) for row in await s.execute(query)]
        return sorted(reports, key=queue_order)

    async def actions(self, report_id: int) -> list[ActionInfo]:
        """The report's audit trail, oldest first."""
        query = (select(ReportActionRow).where(ReportActionRow.report_id == report_id)
                 .order_by(ReportActionRow.created_at, ReportActionRow.id))
        async with self.sessions() as s:
            return [action_info(r) for r in await s.scalars(query)]

    async def photos(self, report_id: int) -> list[str]:
        """File ids of the report's photos, in the order they arrived."""
        query = (select(ReportPhoto.file_id).where(ReportPhoto.report_id == report_id)
                 .order_by(ReportPhoto.id))
        async with self.sessions() as s:
            return list(await s.scalars(query))

    async def thread_for(self, telegram_id: int) -> ReportInfo | None:
        """The patient's latest unresolved report that staff have replied to (their thread)."""
        replied = exists().where(ReportActionRow.report_id == Report.id,
                                 ReportActionRow.action == ReportAction.REPLIED.value)
        query = (select_reports()
                 .where(Patient.telegram_id == telegram_id,
                        Report.status != ReportStatus.RESOLVED.value, replied)
                 .order_by(Report.created_at.desc(), Report.id.desc()).limit(1))
        async with self.sessions() as s:
            row = (await s.execute(query)).first()
            return staff_report(*row) if row else None

    async def latest_open(self, telegram_id: int) -> ReportInfo | None:
        """The patient's newest unresolved report."""
        query = (select_reports()
                 .where(Patient.telegram_id == telegram_id,
                        Report.status != ReportStatus.RESOLVED.value)
                 .order_by(Report.created_at.desc(), Report.id.desc()).limit(1))
        async with self.sessions() as s:
            row = (await s.execute(query)).first()
            return staff_report(*row) if row else None

    async def open_alerts(self, telegram_id: int, limit: int = 20) -> list[ReportInfo]:
        """The patient's unresolved emergency and urgent reports, newest first (at most
        `limit`): the red flags whose safety line may still be due (whatever came after them)."""
        query = (select_reports()
                 .where(Patient.telegram_id == telegram_id,
                        Report.status != ReportStatus.RESOLVED.value,
                        Report.urgency.in_(ALERT_URGENCIES))
                 .order_by(Report.created_at.desc(), Report.id.desc()).limit(limit))
        async with self.sessions() as s:
            return [staff_report(*row) for row in (await s.execute(query)).all()]

    # --- cards -------------------------------------------------------------------------
    async def card_sent(self, report_id: int, chat_id: int, message_id: int, kind: str,
                        now: dt.datetime | None = None) -> bool:
        """Remember that staff-chat message `message_id` belongs to report `report_id`
        (True, also when already recorded). False when the report is gone: the patient was
        erased while the message was being sent, so it is owed an "[erased]" edit, as the
        erasure owes the cards it found (storage/alert_rows.py `forget_patient`)."""
        now = self._now(now)
        try:
            async with self.sessions.begin() as s:
                # the report first (PostgreSQL): an erasure under way is waited for, and one
                # that starts now waits for the link, so it edits this card itself
                if await s.scalar(select(Report.id).where(Report.id == report_id)
                                  .with_for_update(key_share=True)) is None:
                    log.warning("a card of report %d was sent after the report was erased: "
                                "it is owed an erased edit", report_id)
                    await owe_erase(s, chat_id, message_id, kind, now)
                    return False
                s.add(ReportCard(report_id=report_id, chat_id=chat_id, message_id=message_id,
                                 kind=kind, created_at=now))
        except IntegrityError:
            log.warning("card %s/%s already recorded", chat_id, message_id)
        return True

    async def card(self, chat_id: int, message_id: int) -> CardInfo | None:
        """The report a staff-chat message belongs to, or None."""
        query = select(ReportCard).where(ReportCard.chat_id == chat_id,
                                         ReportCard.message_id == message_id)
        async with self.sessions() as s:
            row = await s.scalar(query)
            return (CardInfo(row.report_id, row.chat_id, row.message_id, row.kind,
                             row.created_at) if row else None)

    async def latest_card(self, report_id: int, kinds: Sequence[str] = CARD_KINDS,
                          chat_id: int | None = None) -> CardInfo | None:
        """The newest card of these kinds for the report (in `chat_id` when given)."""
        query = (select(ReportCard).where(ReportCard.report_id == report_id,
                                          ReportCard.kind.in_(kinds))
                 .order_by(ReportCard.created_at.desc(), ReportCard.id.desc()).limit(1))
        if chat_id is not None:
            query = query.where(ReportCard.chat_id == chat_id)
        async with self.sessions() as s:
            row = await s.scalar(query)
            return (CardInfo(row.report_id, row.chat_id, row.message_id, row.kind,
                             row.created_at) if row else None)

    async def cards(self, report_id: int, kinds: Sequence[str] = CARD_KINDS) -> list[CardInfo]:
        """Every card (or re-post) of the report, in every chat, oldest first."""
        query = (select(ReportCard).where(ReportCard.report_id == report_id,
                                          ReportCard.kind.in_(kinds))
                 .order_by(ReportCard.created_at, ReportCard.id))
        async with self.sessions() as s:
            return [CardInfo(r.report_id, r.chat_id, r.message_id, r.kind, r.created_at)
                    for r in await s.scalars(query)]

    async def unanswered(self, thresholds: dict[str, dt.timedelta],
                         now: dt.datetime | None = None) -> list[tuple[ReportInfo, CardInfo]]:
        """Open (not taken) reports whose newest card is older than their urgency's threshold."""
        now = self._now(now)
        query = select_reports().where(
            Report.status == ReportStatus.OPEN.value, Report.urgency.in_(list(thresholds)))
        async with self.sessions() as s:
            reports = [staff_report(*row) for row in await s.execute(query)]
        return await unanswered_of(reports, self.latest_card, thresholds, now)

    async def first_actions(self, since: dt.datetime,
                            until: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
        """(raised, first staff action) of each report raised in [since, until) that a staff
        member took, answered, paused or resolved (fair figures: bot/core/response_times.py)."""
        staff = (ReportAction.TAKEN.value, ReportAction.REPLIED.value,
                 ReportAction.PAUSED.value, ReportAction.RESOLVED.value)
        query = (select(Report.created_at, func.min(ReportActionRow.created_at))
                 .join(ReportActionRow, ReportActionRow.report_id == Report.id)
                 .where(Report.created_at >= since, Report.created_at < until,
                        ReportActionRow.action.in_(staff),
                        ReportActionRow.actor_telegram_id.is_not(None))
                 .group_by(Report.id, Report.created_at))
        async with self.sessions() as s:
            rows = (await s.execute(query)).all()
        return [(utc_aggregate(raised), utc_aggregate(first)) for raised, first in rows]

    async def claim_repost(self, report_id: int, wait: dt.timedelta,
                           now: dt.datetime | None = None) -> bool:
        """Claim the re-post of an untaken card: one conditional UPDATE of ``reposted_at``
        (still open, not re-posted within `wait`). True for exactly one caller, however many
        replicas run the escalation job at once."""
        now = self._now(now)
        async with self.sessions.begin() as s:
            result = await s.execute(
                update(Report)
                .where(Report.id == report_id, Report.status == ReportStatus.OPEN.value,
                       or_(Report.reposted_at.is_(None), Report.reposted_at <= now - wait))
                .values(reposted_at=now))
            return affected(result) == 1

    # --- audit and photos ---------------------------------------------------------------
    async def record(self, report_id: int | None, actor: int | None, action: ReportAction,
                     note: str | None = None, now: dt.datetime | None = None, *,
                     patient_id: int | None = None) -> None:
        """Append one audit entry (report_id None when the named report does not exist, or
        for an entry about a patient, `patient_id`, rather than a report)."""
        async with self.sessions.begin() as s:
            s.add(ReportActionRow(report_id=report_id, patient_id=patient_id,
                                  actor_telegram_id=actor, action=action.value, note=note,
                                  created_at=self._now(now)))

    async def add_photo(self, report_id: int, file_id: str, actor: int | None,
                        now: dt.datetime | None = None) -> None:
        """Keep a photo's Telegram file id with the report (and audit it)."""
        now = self._now(now)
        async with self.sessions.begin() as s:
            s.add(ReportPhoto(report_id=report_id, file_id=file_id[:255], created_at=now))
            s.add(ReportActionRow(report_id=report_id, actor_telegram_id=actor,
                                  action=ReportAction.PHOTO.value, note=None, created_at=now))

    async def add_description(self, report_id: int, words: str, label: str,
                              reason: str | None = None) -> bool:
        """The patient's own description of a check-in problem joins that report's text, in
        front (so cards, the queue, /report N and the export show it) and its reason, if it
        had none; True when the report exists."""
        report = await self.get(report_id)
        if report is None:
            return False
        text = f"{label}: \"{words.strip()}\" · {report.text}"  # the words first
        values: dict[str, object] = {"text": text}
        if reason and not report.reason:
            values["reason"] = reason
        async with self.sessions.begin() as s:
            await s.execute(update(Report).where(Report.id == report_id).values(**values))
        return True

    # --- transitions ----------------------------------------------------------------------
    async def _transition(self, report_id: int, allowed: Iterable[ReportStatus],
                          values: dict[str, object], actor: int, action: ReportAction,
                          note: str | None, now: dt.datetime) -> Transition:
        """One conditional UPDATE; the audit row only when this caller won."""
        async with self.sessions.begin() as s:
            result = await s.execute(
                update(Report)
                .where(Report.id == report_id, Report.status.in_([a.value for a in allowed]))
                .values(**values))
            ok = affected(result) == 1
            if ok:
                s.add(ReportActionRow(report_id=report_id, actor_telegram_id=actor,
                                      action=action.value, note=note, created_at=now))
                await s.flush()
            return Transition(ok, await self._report(s, report_id))

    async def take(self, report_id: int, actor: int,
                   now: dt.datetime | None = None) -> Transition:
        """open -> taken by `actor`."""
        now = self._now(now)
        return await self._transition(
            report_id, [ReportStatus.OPEN],
            {"status": ReportStatus.TAKEN.value, "taken_by": actor, "taken_at": now},
            actor, ReportAction.TAKEN, None, now)

    async def resolve(self, report_id: int, actor: int, note: str,
                      now: dt.datetime | None = None) -> Transition:
        """open/taken -> resolved, with the note."""
        now = self._now(now)
        return await self._transition(
            report_id, [ReportStatus.OPEN, ReportStatus.TAKEN],
            {"status": ReportStatus.RESOLVED.value, "resolved_by": actor, "resolved_at": now,
             "resolution_note": note}, actor, ReportAction.RESOLVED, note, now)

    async def reopen(self, report_id: int, actor: int,
                     now: dt.datetime | None = None) -> Transition:
        """resolved -> taken by `actor` (whoever reopens it is handling it)."""
        now = self._now(now)
        return await self._transition(
            report_id, [ReportStatus.RESOLVED],
            {"status": ReportStatus.TAKEN.value, "taken_by": actor, "taken_at": now,
             "resolved_at": None, "resolved_by": None}, actor, ReportAction.REOPENED, None, now)

    # --- staff commands -------------------------------------------------------------------
    async def find_patients(self, name: str, limit: int = 5) -> list[PatientOverview]:
        """Patients whose name contains `name` (or whose Telegram id it is)."""
        condition = func.lower(Patient.name).contains(name.lower().strip())
        typed_id = telegram_id(name)
        if typed_id is not None:
            condition = or_(condition, Patient.telegram_id == typed_id)
        async with self.sessions() as s:
            patients = list(await s.scalars(select(Patient).where(condition)
                                            .order_by(Patient.id).limit(limit)))
            return [await self._overview(s, p) for p in patients]

    async def _overview(self, s: AsyncSession, patient: Patient) -> PatientOverview:
        sessions = [(d, c is not None) for d, c in await s.execute(
            select(TreatmentSession.session_date, TreatmentSession.cancelled_at)
            .where(TreatmentSession.patient_id == patient.id)
            .order_by(TreatmentSession.session_date))]
        checkins = {status: int(n) for status, n in await s.execute(
            select(CheckIn.status, func.count()).where(CheckIn.patient_id == patient.id)
            .group_by(CheckIn.status))}
        query = (select_reports().where(Report.patient_id == patient.id)
                 .order_by(Report.created_at, Report.id))
        reports = [staff_report(*row) for row in await s.execute(query)]
        return PatientOverview(patient.id, patient.name, patient.telegram_id,
                               patient.checkins_paused, sessions, checkins, reports)

    async def unanswered_questions(
            self, since: dt.datetime | None = None) -> list[tuple[int, str]]:
        """(patient id, text) of questions the bot could not answer: logged messages it
        abstained on, and questions patients handed to the clinic ("ask the clinic")."""
        logged = select(Message.patient_id, Message.text).where(
            Message.direction == Direction.IN.value, Message.outcome == Outcome.ABSTAINED.value)
        handed = select(Report.patient_id, Report.text).where(
            Report.kind == ReportKind.QUESTION.value, ~Report.text.startswith("check-in "))
        if since is not None:
            logged = logged.where(Message.created_at >= since)
            handed = handed.where(Report.created_at >= since)
        async with self.sessions() as s:
            rows = list(await s.execute(logged)) + list(await s.execute(handed))
        return [(int(patient_id), str(text)) for patient_id, text in rows]

    async def export(self, start: dt.datetime,
                     end: dt.datetime) -> list[tuple[ReportInfo, list[ActionInfo]]]:
        """Reports created in [start, end) with their audit trails."""
        query = (select_reports()
                 .where(and_(Report.created_at >= start, Report.created_at < end))
                 .order_by(Report.created_at, Report.id))
        async with self.sessions() as s:
            reports = [staff_report(*row) for row in await s.execute(query)]
            ids = [r.id for r in reports]
            trail: dict[int, list[ActionInfo]] = {i: [] for i in ids}
            if ids:
                rows = await s.scalars(select(ReportActionRow)
                                       .where(ReportActionRow.report_id.in_(ids))
                                       .order_by(ReportActionRow.created_at,
                                                 ReportActionRow.id))
                for row in rows:
                    trail[row.report_id or 0].append(action_info(row))
        return [(r, trail[r.id]) for r in reports]


__all__ = ["CARD_KINDS", "UNRESOLVED", "URGENCY_RANK", "ActionInfo", "CardInfo",
           "PatientOverview", "ReportInfo", "ReportStore", "Transition", "apply_edit", "audit",
           "claim_repost", "count_repeat", "delete_resolved_reports_of", "link_card",
           "queue_order", "restart_repost_wait"]
