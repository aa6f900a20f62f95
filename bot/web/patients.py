"""Patients on the web desk: everyone in recovery, search, and one patient's page.

One patient's page shows their sessions (fix the date or cancel: check-ins follow, through
scheduler/manager.py as ``aftercare session move/cancel`` does), a recovery chart (inline SVG,
bot/web/charts.py), their reports with the audit trail, photos and the timeline of messages
(only what was stored with their consent, within the retention period).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.core.dates import DateProblem, check_session_date
from bot.web.charts import Mark, recovery_chart
from bot.web.common import StaffUser, back, flash, form_action, page, refused, services, staff_page
from bot.web.services import DeskServices
from scheduler.careplan import Action, CarePlan, StepKind
from scheduler.days import local_today, recovery_day
from storage.desk_views import LIST_LIMIT, CheckinRow, PatientDetail, PatientRow, SessionRow
from storage.models import CheckinStatus, ReportAction

log = logging.getLogger(__name__)
CHART_MIN_DAYS = 14


def checkin_category(plan: CarePlan, step_id: str, answer: str | None,
                     status: str) -> str | None:
    """"fine", "concern", "problem", "no answer", "planned", or None (not a recovery
    question: booking nudges, cancelled rows)."""
    step = plan.step(step_id)
    if step is not None and step.kind != StepKind.ROUTINE:
        return None
    if answer is None:
        if status == CheckinStatus.SENT.value:
            return "no answer"
        if status in (CheckinStatus.PENDING.value, CheckinStatus.CLAIMED.value,
                      CheckinStatus.PAUSED.value):
            return "planned"
        if status in (CheckinStatus.EXPIRED.value, CheckinStatus.FAILED.value):
            return "no answer"
        return None
    if step is None:
        return "concern"
    for index, choice in enumerate(step.choices):
        if choice.label[:32] == answer:
            if choice.action == Action.PROBLEM:
                return "problem"
            return "fine" if index == 0 else "concern"
    return "concern"


@dataclass(frozen=True)
class ListRow:
    """A patients-list line."""

    row: PatientRow
    day: int | None
    answer: str | None  # category


@staff_page
async def patients_page(request: Request, user: StaffUser) -> Response:
    """Patients in recovery, or those matching the search."""
    desk = services(request)
    query = request.query_params.get("q", "")[:100]
    now = desk.now()
    today = local_today(now, desk.settings.tz)
    try:
        start = max(0, min(int(request.query_params.get("from", "0")), 1_000_000))
    except ValueError:
        start = 0
    rows = await desk.views.patients(today, query, offset=start)
    lines = [ListRow(r, recovery_day(r.session_date, now, desk.settings.tz)
                     if r.session_date else None,
                     checkin_category(desk.careplan, r.last_step, r.last_answer, "sent")
                     if r.last_step else None) for r in rows]
    more = len(rows) == LIST_LIMIT
    return page(request, "patients.html", rows=lines, q=query, start=start,
                next_from=start + LIST_LIMIT if more else None,
                previous_from=max(0, start - LIST_LIMIT) if start else None)


def chart_marks(desk: DeskServices, detail: PatientDetail, session: SessionRow
                ) -> tuple[list[Mark], int]:
    """Marks for one session's recovery chart, and the last day on its axis."""
    tz = desk.settings.tz
    marks: list[Mark] = []
    for checkin in detail.checkins:
        if checkin.session_id != session.id:
            continue
        category = checkin_category(desk.careplan, checkin.step, checkin.answer,
                                    checkin.status)
        if category is None:
            continue
        words = (desk.text("chart.checkin_answered", day=checkin.day_offset,
                                 category=category, answer=checkin.answer) if checkin.answer
                 else desk.text("chart.checkin", day=checkin.day_offset, category=category))
        marks.append(Mark(0, checkin.day_offset, category, words))
    reports = {r.id for r in detail.reports}
    for report in detail.reports:
        day = (report.created_at.astimezone(tz).date() - session.session_date).days
        if day < 0:
            continue
        tier = report.urgency or "other"
        marks.append(Mark(1, day, tier, desk.text(
            "chart.report", day=day, label=desk.desk.kit.label(report), id=report.id,
            status=report.status, text=report.text[:120])))
    for action in detail.actions:
        if action.action != ReportAction.REPLIED.value or action.report_id not in reports:
            continue
        day = (action.created_at.astimezone(tz).date() - session.session_date).days
        if day >= 0:
            marks.append(Mark(2, day, "reply", desk.text(
                "chart.reply", day=day, id=action.report_id, note=(action.note or "")[:120])))
    today = recovery_day(session.session_date, desk.now(), tz)
    last = max([CHART_MIN_DAYS, today, *(int(m.day) + 1 for m in marks)])
    return marks, min(last, 120)


@staff_page
async def patient_page(request: Request, user: StaffUser) -> Response:
    """One patient's course."""
    desk = services(request)
    patient_id = int(request.path_params["patient_id"])
    retention = desk.settings.retention_days
    since = desk.now() - dt.timedelta(days=retention) if retention else None
    detail = await desk.views.patient(patient_id, messages_since=since)
    if detail is None:
        return page(request, "refused.html", status_code=404,
                    message=desk.text("refused.no_patient", id=patient_id))
    live = [s for s in detail.sessions if s.cancelled_at is None]
    chosen = request.query_params.get("session", "")
    session = next((s for s in detail.sessions if str(s.id) == chosen), None) or (
        live[0] if live else None)
    chart = None
    if session is not None:
        marks, days = chart_marks(desk, detail, session)
        title = desk.text("chart.title", name=detail.name or desk.text("chart.unnamed"),
                          date=session.session_date.isoformat())
        chart = recovery_chart(marks, days, title, desk.texts.raw("chart.lanes"),
                               desk.text("chart.axis"))
    tz = desk.settings.tz
    checkins = [(c, checkin_category(desk.careplan, c.step, c.answer, c.status))
                for c in detail.checkins if session is None or c.session_id == session.id]
    return page(request, "patient.html", p=detail, session=session, chart=chart,
                checkins=checkins, tz=tz, today=local_today(desk.now(), tz),
                staff_name=desk.desk.kit.staff_name,
                day_of=lambda s: recovery_day(s.session_date, desk.now(), tz))


def _checked_date(desk: DeskServices, value: str) -> tuple[dt.date | None, str | None]:
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError:
        return None, desk.text("notice.not_a_date")
    problem = check_session_date(day, local_today(desk.now(), desk.settings.tz))
    if problem is DateProblem.FUTURE:
        return None, desk.text("notice.future")
    if problem is DateProblem.TOO_OLD:
        return None, desk.text("notice.too_old")
    return day, None


@form_action
async def session_action(request: Request, user: StaffUser, form: FormData) -> Response:
    """Fix a session's date or cancel it; its check-ins follow."""
    desk = services(request)
    patient_id = int(request.path_params["patient_id"])
    session_id = int(request.path_params["session_id"])
    action = request.path_params["action"]
    default = f"/patients/{patient_id}"
    owner = await desk.views.session_owner(session_id)
    if owner is None:
        flash(request, desk.text("notice.session_unknown", id=session_id), "error")
        return back(request, form, default)
    if owner != patient_id or str(form.get("patient_id", "")) != str(patient_id):
        log.warning("staff %d: session %d form names patient %d", user.telegram_id,
                    session_id, patient_id)
        await desk.desk.store.record(None, user.telegram_id, ReportAction.REFUSED,
                                     note=desk.text("audit.session_wrong_patient",
                                                    action=str(action)[:16], id=session_id),
                                     now=desk.now(), patient_id=owner)
        return refused(request, desk.text("refused.wrong_patient"), 400)
    before = await desk.treatments.get(session_id)
    if action == "move":
        raw = str(form.get("date", ""))
        day, problem = _checked_date(desk, raw)
        if day is None:
            flash(request, desk.text("notice.session_bad_date", date=raw[:20],
                                     problem=problem or ""), "error")
            return back(request, form, default)
        try:
            count = await desk.manager.move_session(session_id, day)
        except LookupError:
            flash(request, desk.text("notice.session_unknown", id=session_id), "error")
            return back(request, form, default)
        log.info("staff %d moved session %d", user.telegram_id, session_id)
        await desk.desk.store.record(None, user.telegram_id, ReportAction.SESSION_MOVED,
                                     note=desk.text("audit.session_moved", id=session_id,
                                                    old=before.session_date.isoformat()
                                                    if before else "?",
                                                    new=day.isoformat(), count=count),
                                     now=desk.now(), patient_id=patient_id)
        flash(request, desk.text("notice.session_moved", id=session_id, date=day.isoformat(),
                                 count=count), "ok")
    elif action == "cancel":
        if before is None or before.cancelled_at is not None:
            flash(request, desk.text("notice.session_unknown", id=session_id), "error")
            return back(request, form, default)
        count = await desk.manager.cancel_session(session_id)
        log.info("staff %d cancelled session %d", user.telegram_id, session_id)
        await desk.desk.store.record(None, user.telegram_id, ReportAction.SESSION_CANCELLED,
                                     note=desk.text("audit.session_cancelled", id=session_id,
                                                    date=before.session_date.isoformat(),
                                                    count=count),
                                     now=desk.now(), patient_id=patient_id)
        flash(request, desk.text("notice.session_cancelled", id=session_id, count=count), "ok")
    else:
        return Response(status_code=404)
    return back(request, form, default)


def routes() -> list[Route]:
    """The patients pages."""
    return [
        Route("/patients", patients_page),
        Route("/patients/{patient_id:int}", patient_page),
        Route("/patients/{patient_id:int}/sessions/{session_id:int}/{action:str}",
              session_action, methods=["POST"]),
    ]


__all__ = ["CheckinRow", "checkin_category", "routes"]
