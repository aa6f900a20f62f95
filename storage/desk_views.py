"""Read-only queries of the web desk (bot/web/): the queue, patients, one patient, figures.

`DeskPages` is what the web desk reads through; `DeskViews` here runs it on the database, its
in-memory twin is storage/desk_views_memory.py (tests/test_desk_views_conformance.py).

Every query here reads; writes go through the existing writers (storage/reports.py for
reports, scheduler/manager.py for sessions and check-ins, storage/kb_overrides.py for the
clinic's knowledge-base additions). Each page costs a handful of indexed queries whatever the
number of patients: lists are limited and per-row details are fetched in one ``IN (...)``
query each, never one query per row (benchmarks/desk.py measures this).
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import and_, bindparam, func, literal_column, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.elements import BindParameter

from storage.ids import telegram_id
from storage.models import (
    CheckIn,
    CheckinStatus,
    Direction,
    Message,
    Outcome,
    Patient,
    Report,
    ReportAction,
    ReportActionRow,
    ReportCard,
    ReportPhoto,
    TreatmentSession,
)
from storage.report_info import ActionInfo, ReportInfo, queue_order
from storage.report_rows import UNRESOLVED, action_info, select_reports, staff_report
from storage.reports import ReportStore

RECOVERY_DAYS = 30  # a patient whose latest session is this recent is "in recovery"
LIST_LIMIT = 100  # patients per page
TIMELINE_LIMIT = 500
UNANSWERED = (Outcome.ABSTAINED.value, Outcome.SUGGESTED.value)
STAFF_ACTIONS = (ReportAction.TAKEN.value, ReportAction.REPLIED.value,
                 ReportAction.RESOLVED.value, ReportAction.PAUSED.value)


@dataclass(frozen=True, slots=True)
class Photo:
    """A photo of a report (Telegram file id only)."""

    id: int
    report_id: int
    file_id: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class QueueItem:
    """One open report with what the queue shows about it."""

    report: ReportInfo
    photos: list[Photo]
    trail: list[ActionInfo]
    last_card_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class PatientRow:
    """One line of the patients list."""

    id: int
    name: str | None
    telegram_id: int | None
    session_date: dt.date | None
    last_answer: str | None
    last_step: str | None
    last_answered_at: dt.datetime | None
    open_reports: int
    checkins_paused: bool
    active: bool


@dataclass(frozen=True, slots=True)
class SessionRow:
    """A treatment session of one patient."""

    id: int
    session_date: dt.date
    source: str
    cancelled_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class CheckinRow:
    """A check-in of one patient (planned, sent, answered or not)."""

    id: int
    session_id: int
    step: str
    day_offset: int
    status: str
    due_at: dt.datetime
    sent_at: dt.datetime | None
    answer: str | None
    answered_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class MessageRow:
    """A logged message (in or out)."""

    id: int
    direction: str
    text: str
    outcome: str | None
    created_at: dt.datetime


@dataclass
class PatientDetail:
    """Everything one patient's page shows."""

    id: int
    name: str | None
    telegram_id: int | None
    chat_id: int | None
    timezone: str | None
    consent_at: dt.datetime | None
    active: bool
    checkins_paused: bool
    sessions: list[SessionRow] = field(default_factory=list)
    checkins: list[CheckinRow] = field(default_factory=list)
    reports: list[ReportInfo] = field(default_factory=list)
    actions: list[ActionInfo] = field(default_factory=list)
    photos: list[Photo] = field(default_factory=list)
    messages: list[MessageRow] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class WeekFigures:
    """One week of the figures page (`start`: its first moment)."""

    start: dt.datetime
    sessions: int
    checkins_sent: int
    checkins_answered: int
    reports: dict[str, int]  # "emergency" / "urgent" / "other" -> count
    first_action_minutes: list[float]  # per report raised that week and acted on
    questions: int
    unanswered: int
    # (raised, first staff action) of those reports: their opening-time waits (issue 17)
    first_actions: list[tuple[dt.datetime, dt.datetime]] = field(default_factory=list)


class DeskPages(Protocol):
    """The web desk's page reads: `DeskViews` over the database, `MemoryDeskViews`
    (storage/desk_views_memory.py) over the twins' `MemoryTables`."""

    async def queue(self) -> list[QueueItem]: ...

    async def photo(self, photo_id: int) -> Photo | None: ...

    async def patients(self, today: dt.date, search: str = "",
                       limit: int = LIST_LIMIT, offset: int = 0) -> list[PatientRow]: ...

    async def patient(self, patient_id: int,
                      messages_since: dt.datetime | None = None) -> PatientDetail | None: ...

    async def staff_reports(self, patient_id: int) -> list[ReportInfo]: ...

    async def session_owner(self, session_id: int) -> int | None: ...

    async def unanswered_questions(self, since: dt.datetime | None = None,
                                   limit: int = 5000) -> list[tuple[int, str]]: ...

    async def figures(self, starts: Sequence[dt.datetime]) -> list[WeekFigures]: ...

    async def weeks(self, spans: Sequence[tuple[dt.datetime, dt.datetime]]
                    ) -> list[WeekFigures]: ...


def _photo(row: ReportPhoto) -> Photo:
    return Photo(row.id, row.report_id, row.file_id, row.created_at)


class DeskViews:
    """The web desk's queries over the application's session factory."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self.staff = ReportStore(sessions)

    # --- queue ------------------------------------------------------------------------
    async def queue(self) -> list[QueueItem]:
        """Open and taken reports, most urgent and oldest first, with photos and trail."""
        query = select_reports().where(UNRESOLVED)
        async with self.sessions() as s:
            reports = sorted((staff_report(*row) for row in await s.execute(query)),
                             key=queue_order)
        ids = [r.id for r in reports]
        photos: dict[int, list[Photo]] = defaultdict(list)
        trails: dict[int, list[ActionInfo]] = defaultdict(list)
        cards: dict[int, dt.datetime] = {}
        if ids:
            async with self.sessions() as s:
                for row in await s.scalars(select(ReportPhoto)
                                           .where(ReportPhoto.report_id.in_(ids))
                                           .order_by(ReportPhoto.id)):
                    photos[row.report_id].append(_photo(row))
                for action in await s.scalars(
                        select(ReportActionRow).where(ReportActionRow.report_id.in_(ids))
                        .order_by(ReportActionRow.created_at, ReportActionRow.id)):
                    trails[action.report_id or 0].append(action_info(action))
                latest = (select(ReportCard.report_id, func.max(ReportCard.created_at))
                          .where(ReportCard.report_id.in_(ids),
                                 ReportCard.kind.in_(("card", "repost")))
                          .group_by(ReportCard.report_id))
                for report_id, created in await s.execute(latest):
                    cards[report_id] = created
        return [QueueItem(r, photos[r.id], trails[r.id], _aware(cards.get(r.id)))
                for r in reports]

    async def photo(self, photo_id: int) -> Photo | None:
        """One photo by id."""
        async with self.sessions() as s:
            row = await s.get(ReportPhoto, photo_id)
            return _photo(row) if row else None

    # --- patients ---------------------------------------------------------------------
    async def patients(self, today: dt.date, search: str = "",
                       limit: int = LIST_LIMIT, offset: int = 0) -> list[PatientRow]:
        """Patients in recovery (latest session within `RECOVERY_DAYS`), newest session first;
        with `search`: patients whose name contains it, or whose Telegram id it is."""
        latest = (select(TreatmentSession.patient_id,
                         func.max(TreatmentSession.session_date).label("session_date"))
                  .where(TreatmentSession.cancelled_at.is_(None)))
        term = search.strip()
        async with self.sessions() as s:
            if term:
                found = (select(Patient.id).where(or_(
                    Patient.name.ilike(f"%{_like(term)}%", escape="\\"),
                    *([Patient.telegram_id == telegram_id(term)] if telegram_id(term) is not None
                      else []))).order_by(Patient.id)
                    .offset(offset).limit(limit))
                ids = list(await s.scalars(found))
                dates = dict((await s.execute(
                    latest.where(TreatmentSession.patient_id.in_(ids))
                    .group_by(TreatmentSession.patient_id))).all()) if ids else {}
            else:
                since = today - dt.timedelta(days=RECOVERY_DAYS)
                rows = (await s.execute(
                    latest.where(TreatmentSession.session_date >= since,
                                 TreatmentSession.session_date <= today)
                    .group_by(TreatmentSession.patient_id)
                    .order_by(func.max(TreatmentSession.session_date).desc(),
                              TreatmentSession.patient_id)
                    .offset(offset).limit(limit))).all()
                dates = dict(rows)
                ids = [patient_id for patient_id, _ in rows]
            if not ids:
                return []
            patients = {p.id: p for p in await s.scalars(select(Patient)
                                                          .where(Patient.id.in_(ids)))}
            answers = await self._last_answers(s, ids)
            open_counts = dict((await s.execute(
                select(Report.patient_id, func.count())
                .where(Report.patient_id.in_(ids), UNRESOLVED)
                .group_by(Report.patient_id))).all())
        result = []
        for patient_id in ids:
            p = patients.get(patient_id)
            if p is None:
                continue
            step, answer, answered = answers.get(patient_id, (None, None, None))
            result.append(PatientRow(p.id, p.name, p.telegram_id, dates.get(p.id), answer, step,
                                     answered, int(open_counts.get(p.id, 0)),
                                     p.checkins_paused, p.active))
        if term:
            result.sort(key=lambda r: (r.session_date is None, -(r.session_date or today)
                                       .toordinal(), (r.name or "").lower()))
        return result

    @staticmethod
    async def _last_answers(s: AsyncSession, ids: Sequence[int]
                            ) -> dict[int, tuple[str, str | None, dt.datetime | None]]:
        """Per patient: the latest sent check-in's step, answer (None: not answered) and when."""
        newest = (select(CheckIn.patient_id, func.max(CheckIn.sent_at).label("sent_at"))
                  .where(CheckIn.patient_id.in_(ids), CheckIn.sent_at.is_not(None))
                  .group_by(CheckIn.patient_id).subquery())
        query = (select(CheckIn.patient_id, CheckIn.step, CheckIn.answer, CheckIn.answered_at)
                 .join(newest, and_(newest.c.patient_id == CheckIn.patient_id,
                                    newest.c.sent_at == CheckIn.sent_at))
                 .where(CheckIn.patient_id.in_(ids)))  # lets PostgreSQL read only theirs
        return {row[0]: (row[1], row[2], _aware(row[3])) for row in await s.execute(query)}

    async def patient(self, patient_id: int,
                      messages_since: dt.datetime | None = None) -> PatientDetail | None:
        """One patient's sessions, check-ins, reports, audit trail, photos and messages
        (messages newer than `messages_since` only, the retention limit; newest
        `TIMELINE_LIMIT`)."""
        async with self.sessions() as s:
            p = await s.get(Patient, patient_id)
            if p is None:
                return None
            detail = PatientDetail(p.id, p.name, p.telegram_id, p.chat_id, p.timezone,
                                   p.consent_at, p.active, p.checkins_paused)
            detail.sessions = [SessionRow(r.id, r.session_date, r.source, r.cancelled_at)
                               for r in await s.scalars(
                                   select(TreatmentSession)
                                   .where(TreatmentSession.patient_id == patient_id)
                                   .order_by(TreatmentSession.session_date.desc(),
                                             TreatmentSession.id.desc()))]
            detail.checkins = [CheckinRow(r.id, r.session_id, r.step, r.day_offset, r.status,
                                          r.due_at, r.sent_at, r.answer, r.answered_at)
                               for r in await s.scalars(
                                   select(CheckIn).where(CheckIn.patient_id == patient_id)
                                   .order_by(CheckIn.due_at, CheckIn.id))]
            messages = select(Message).where(Message.patient_id == patient_id)
            if messages_since is not None:
                messages = messages.where(Message.created_at >= messages_since)
            rows = list(await s.scalars(messages.order_by(Message.created_at.desc(),
                                                           Message.id.desc())
                                        .limit(TIMELINE_LIMIT)))
            detail.messages = [MessageRow(m.id, m.direction, m.text, m.outcome, m.created_at)
                               for m in reversed(rows)]
        detail.reports = await self.staff_reports(patient_id)
        ids = [r.id for r in detail.reports]
        async with self.sessions() as s:
            about = ReportActionRow.patient_id == patient_id  # e.g. a session fixed
            detail.actions = [action_info(a) for a in await s.scalars(
                select(ReportActionRow)
                .where(or_(ReportActionRow.report_id.in_(ids), about) if ids else about)
                .order_by(ReportActionRow.created_at, ReportActionRow.id))]
        if ids:
            async with self.sessions() as s:
                detail.photos = [_photo(r) for r in await s.scalars(
                    select(ReportPhoto).where(ReportPhoto.report_id.in_(ids))
                    .order_by(ReportPhoto.id))]
        return detail

    async def staff_reports(self, patient_id: int) -> list[ReportInfo]:
        """All reports of one patient, newest first."""
        query = (select_reports().where(Report.patient_id == patient_id)
                 .order_by(Report.created_at.desc(), Report.id.desc()))
        async with self.sessions() as s:
            return [staff_report(*row) for row in await s.execute(query)]

    async def session_owner(self, session_id: int) -> int | None:
        """The patient a treatment session belongs to."""
        async with self.sessions() as s:
            return await s.scalar(select(TreatmentSession.patient_id)
                                  .where(TreatmentSession.id == session_id))

    # --- knowledge gaps ---------------------------------------------------------------
    async def unanswered_questions(self, since: dt.datetime | None = None,
                                   limit: int = 5000) -> list[tuple[int, str]]:
        """(patient id, text) of questions the bot abstained on or only suggested for,
        newest first."""
        query = (select(Message.patient_id, Message.text)
                 .where(Message.direction == Direction.IN.value,
                        Message.outcome.in_(UNANSWERED)))
        if since is not None:
            query = query.where(Message.created_at >= since)
        query = query.order_by(Message.created_at.desc()).limit(limit)
        async with self.sessions() as s:
            return [(row[0], row[1]) for row in await s.execute(query)]

    # --- figures ----------------------------------------------------------------------
    async def figures(self, starts: Sequence[dt.datetime]) -> list[WeekFigures]:
        """Per week [starts[i], starts[i+1]) (the last week ends at `starts[-1]` + 7 days)."""
        ends = [*starts[1:], starts[-1] + dt.timedelta(days=7)]
        return await self.weeks(list(zip(starts, ends, strict=True)))

    async def weeks(self, spans: Sequence[tuple[dt.datetime, dt.datetime]]
                    ) -> list[WeekFigures]:
        """The figures of each [start, end) span: per table one statement, a UNION ALL of
        one counting range read per span over a covering index: sessions, check-ins sent and
        answered (ix_checkins_sent_answered), answered and unanswered questions
        (ix_messages_direction_outcome_created, a seek per outcome, each entry counted once);
        then the reports of all spans and their first staff actions.

        The statements are built once per number of spans (`_figure_statements`, the spans
        as bound values) and run in one session (one connection check-out: on PostgreSQL each
        check-out pings the server, and running them at once on five connections made the
        page slower on the 2-core machine, not faster)."""
        if not spans:
            return []
        statements = _figure_statements(len(spans))
        values: dict[str, Any] = {"lo": min(a for a, _ in spans),
                                  "hi": max(b for _, b in spans)}
        for i, (a, b) in enumerate(spans):
            values[f"a{i}"], values[f"b{i}"] = a, b

        async with self.sessions() as s:
            results = [list((await s.execute(statement, values)).all())
                       for statement in statements]
        session_rows, checkin_rows, question_rows, report_rows, first_rows = results
        counts: list[list[int]] = [[0, 0, 0, 0, 0] for _ in spans]
        for found, columns in ((session_rows, (0,)), (checkin_rows, (1, 2)),
                               (question_rows, (3, 4))):
            for span, *numbers in found:
                if span is None:
                    continue
                for column, number in zip(columns, numbers, strict=True):
                    counts[int(span)][column] = int(number or 0)
        for c in counts:  # questions: the answered ones plus the unanswered ones
            c[3] += c[4]
        firsts = {rid: _aware(at) for rid, at in first_rows if rid is not None}
        bounds = [a for a, _ in spans]
        tiers: list[dict[str, int]] = [defaultdict(int) for _ in spans]
        first: list[list[float]] = [[] for _ in spans]
        pairs: list[list[tuple[dt.datetime, dt.datetime]]] = [[] for _ in spans]
        ordered = all(spans[i][1] <= spans[i + 1][0] for i in range(len(spans) - 1))
        for report_id, urgency, created in report_rows:
            raised = _aware(created)
            assert raised is not None
            if ordered:
                at = bisect.bisect_right(bounds, raised) - 1
                index = at if at >= 0 and raised < spans[at][1] else None
            else:
                index = next((i for i, (a, b) in enumerate(spans) if a <= raised < b), None)
            if index is None:
                continue
            tiers[index][urgency or "other"] += 1
            acted = firsts.get(report_id)
            if acted is not None:
                first[index].append((acted - raised).total_seconds() / 60)
                pairs[index].append((raised, acted))
        return [WeekFigures(start, int(c[0]), int(c[1]), int(c[2]), dict(tiers[i]), first[i],
                            int(c[3]), int(c[4]), pairs[i])
                for i, ((start, _), c) in enumerate(zip(spans, counts, strict=True))]


@functools.lru_cache(maxsize=16)
def _figure_statements(count: int) -> tuple[Any, ...]:
    """The five statements of `DeskViews.weeks` for `count` spans, their bounds bound as
    ``a0``/``b0`` ... and ``lo``/``hi`` (built once: a dozen weeks of UNION ALL take a few
    milliseconds of Python to build, more than some of the statements take to run)."""
    bounds: list[tuple[Any, Any]] = [(bindparam(f"a{i}"), bindparam(f"b{i}"))
                                     for i in range(count)]

    def per_span(column: QueryableAttribute[Any], *counted: Any) -> Any:
        return union_all(*(select(literal_column(str(i)).label("span"), func.count(),
                                  *counted).where(column >= a, column < b)
                           for i, (a, b) in enumerate(bounds)))

    def questions_in(start: BindParameter[Any], end: BindParameter[Any],
                     outcomes: Sequence[str]) -> Any:
        return (select(func.count()).select_from(Message)
                .where(Message.direction == Direction.IN.value,
                       Message.outcome.in_(outcomes), Message.created_at >= start,
                       Message.created_at < end).scalar_subquery())

    sessions = per_span(TreatmentSession.created_at)
    checkins = per_span(CheckIn.sent_at, func.count(CheckIn.answered_at))
    # answered and unanswered apart (their sum is the questions): each index entry is
    # counted once (counting all questions and then the unanswered ones again read the
    # unanswered twice: a fifth more of the index, the page's costliest statement)
    questions = union_all(*(select(literal_column(str(i)).label("span"),
                                   questions_in(a, b, (Outcome.ANSWERED.value,)),
                                   questions_in(a, b, UNANSWERED))
                            for i, (a, b) in enumerate(bounds)))
    lo: Any = bindparam("lo")
    hi: Any = bindparam("hi")
    reports = (select(Report.id, Report.urgency, Report.created_at)
               .where(Report.created_at >= lo, Report.created_at < hi))
    firsts = (select(ReportActionRow.report_id, func.min(ReportActionRow.created_at))
              .join(Report, Report.id == ReportActionRow.report_id)
              .where(Report.created_at >= lo, Report.created_at < hi,
                     ReportActionRow.action.in_(STAFF_ACTIONS),
                     ReportActionRow.actor_telegram_id.is_not(None))
              .group_by(ReportActionRow.report_id))
    return sessions, checkins, questions, reports, firsts


def _like(term: str) -> str:
    """`term` with LIKE wildcards escaped."""
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite aggregate results come back as text
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


__all__ = [
    "CheckinRow",
    "CheckinStatus",
    "DeskPages",
    "DeskViews",
    "MessageRow",
    "PatientDetail",
    "PatientRow",
    "Photo",
    "QueueItem",
    "SessionRow",
    "WeekFigures",
]
