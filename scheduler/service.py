"""What the bot plugs in: one object for session events, button answers and the clock job.

`CheckinService` wraps the `CheckinManager` (writes rows), the `Dispatcher` (sends) and the
report side of answers. The bot calls it from its handlers; nothing here imports the bot.
It takes the outbox as two Protocols of scheduler/sql.py, the rows the manager plans
(`PlanStore`) and the rows the dispatcher claims and sends (`Connector`) (the SQL of both is
in scheduler/sql.py, their in-memory twins in scheduler/memory.py), the one store it writes
besides, a `ReportWriter` (storage.reports `ReportStore`), and on SQLite the
single-dispatcher lock (`DispatcherGuard`, scheduler/guard.py). Every
text it writes for staff (reports, the daily summary) comes from the message catalogue it is
given ("checkins" in bot/core/messages.yaml).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Protocol

from knowledge.catalogue import Catalogue
from scheduler.careplan import Action, CarePlan
from scheduler.dispatcher import (
    CALLBACK_PREFIX,
    Dispatcher,
    DispatcherConfig,
    Sender,
    TickStats,
)
from scheduler.guard import DispatcherGuard
from scheduler.manager import AnswerResult, CheckinInfo, CheckinManager
from scheduler.sending import SharedPauseStore
from scheduler.sql import Connector, PlanStore
from storage.clock import Clock, utcnow
from storage.ids import parse_callback
from storage.models import ReportKind, Urgency
from storage.reports import ReportInfo

log = logging.getLogger(__name__)


@dataclass
class AnswerOutcome:
    """The reply to a check-in button press, and a report for staff if one was raised."""

    handled: bool
    reply: str | None = None
    reports: list[ReportInfo] = field(default_factory=list)
    result: AnswerResult | None = None


class ReportWriter(Protocol):
    """Where a problem answer becomes a report for staff (storage.reports `ReportStore`)."""

    async def create(self, telegram_id: int, kind: ReportKind | str, text: str,
                     urgency: Urgency | str | None = None, day: int | None = None,
                     reason: str | None = None, now: dt.datetime | None = None,
                     source_update_id: int | None = None,
                     source_message: tuple[int, int] | None = None) -> ReportInfo: ...


class CheckinService:
    """Check-ins for the bot: plan rows on session events, answer buttons, dispatch."""

    def __init__(self, plans: PlanStore, outbox: Connector, reports: ReportWriter,
                 plan: CarePlan, default_tz: str, *, texts: Catalogue,
                 clock: Clock = utcnow, config: DispatcherConfig | None = None,
                 sender: Sender | None = None, shared_pause: SharedPauseStore | None = None,
                 exclusive: bool = True, lock: DispatcherGuard | None = None) -> None:
        """`sender` (the bot's Telegram client) makes the dispatcher; without one check-ins
        are planned but not sent. With replicas (PostgreSQL) a 429 pause is shared and claims
        are not exclusive. `lock` (SQLite: scheduler.guard `dispatcher_lock`) is taken before
        the dispatcher starts."""
        self.reports = reports
        self.texts = texts
        self.plan = plan
        self.clock = clock
        self.manager = CheckinManager(plans, plan, default_tz, clock=clock)
        self.connector = outbox
        self.config = config or DispatcherConfig()
        self.dispatcher = (Dispatcher(self.connector, sender, plan, config=self.config,
                                      clock=clock, shared_pause=shared_pause,
                                      exclusive=exclusive) if sender is not None else None)
        self.lock = lock
        self.standby = False  # SQLite: another process holds the lock and sends

    async def start(self, *, standby: bool = False) -> bool:
        """At start-up: plan sessions missing rows, re-queue rows a dead run had claimed.
        On SQLite, first take the single-dispatcher lock (`DispatcherLockError` if another
        process holds it): re-queueing claims is only safe for the only dispatcher. With
        `standby`, a lock held by another process is no error: nothing is started, False is
        returned and `tick` sends nothing until a later `start` gets the lock.

        A standby's ticks stay idle until this returns: a tick that claimed a row while
        `start` re-queues every claim would lose its claim mid-send, and the row would go out
        again (a duplicate) on the next tick."""
        if self.dispatcher is not None and self.lock is not None:
            if standby and not self.lock.try_acquire():
                self.standby = True
                return False
            self.lock.acquire()
        await self.manager.reconcile()
        if self.dispatcher is not None:
            await self.dispatcher.start()
        self.standby = False
        return True

    def close(self) -> None:
        """Release the single-dispatcher lock (process exit releases it too)."""
        if self.lock is not None:
            self.lock.release()

    async def tick(self) -> TickStats:
        """One dispatcher run (the JobQueue calls this every few seconds)."""
        if self.dispatcher is None:
            raise RuntimeError("no sender: this service only plans check-ins")
        if self.standby:
            return TickStats()
        return await self.dispatcher.tick()

    # --- events from the bot ----------------------------------------------------------
    async def session_logged(self, session_id: int) -> int:
        """A session was recorded (patient, staff or invite): write its check-ins."""
        return await self.manager.schedule_session(session_id)

    async def session_moved(self, session_id: int, new_date: dt.date) -> int:
        """A patient corrected a session's date: its open check-ins move with it."""
        return await self.manager.move_session(session_id, new_date)

    async def holding_reports(self, patient_id: int) -> list[int]:
        """Reports (ids) the patient's paused check-ins wait for staff to resolve."""
        return await self.manager.holding_reports(patient_id)

    async def session_cancelled(self, session_id: int) -> int:
        """A session was cancelled: cancel its open check-ins."""
        return await self.manager.cancel_session(session_id)

    async def patient_linked(self, patient_id: int) -> int:
        """A patient linked Telegram, or changed their zone: (re)plan their check-ins."""
        return await self.manager.replan_patient(patient_id)

    async def stop(self, patient_id: int) -> int:
        """/stop: pause the patient's check-ins."""
        return await self.manager.pause_patient(patient_id)

    async def resume(self, patient_id: int) -> int:
        """/resume: re-queue the patient's paused check-ins that can still be useful."""
        return await self.manager.resume_patient(patient_id)

    async def report_raised(self, report: ReportInfo) -> int:
        """A red-flag report (e.g. triage of a free-text reply): hold that session's rows."""
        return await self.manager.hold_for_report(report.session_id, report.id)

    async def report_resolved(self, report_id: int) -> int:
        """Staff resolved a report: release the rows it held."""
        return await self.manager.release_report_hold(report_id)

    async def answer(self, telegram_id: int, data: str, *,
                     store: bool = True) -> AnswerOutcome:
        """Handle a "ci:<id>:<choice>" button press from `telegram_id` (`store` False: a
        patient without consent; the answer is not written, a problem still reaches staff)."""
        parsed = parse_callback(data, CALLBACK_PREFIX, counts=(2,))
        if parsed is None:
            return AnswerOutcome(False)
        checkin_id, choice = parsed.numbers
        result = await self.manager.answer(telegram_id, checkin_id, choice, store=store)
        if not result.ok:
            return AnswerOutcome(True, None, result=result)
        reports: list[ReportInfo] = []
        if not result.repeated:
            reports = await self._effects(telegram_id, result)
        return AnswerOutcome(True, result.reply, reports, result)

    async def _effects(self, telegram_id: int, result: AnswerResult) -> list[ReportInfo]:
        assert result.step is not None
        day = result.step.day
        if result.action is Action.PROBLEM:
            text = self.texts.text("checkins.report_problem", day=day, answer=result.label)
            report = await self.reports.create(
                telegram_id, ReportKind.CHECKIN, text,
                urgency=result.urgency, day=result.step.day, reason=result.step.message)
            await self.manager.hold_for_report(result.session_id, report.id)
            return [report]
        if result.action is Action.BOOK:
            report = await self.reports.create(
                telegram_id, ReportKind.QUESTION, self.texts.text("checkins.report_book", day=day))
            return [report]
        return []

    async def list(self, **filters: object) -> list[CheckinInfo]:
        """`CheckinManager.list` passthrough for staff tools."""
        return await self.manager.list(**filters)  # type: ignore[arg-type]


    async def daily_summary(self, now: dt.datetime | None = None) -> str | None:
        """Failures and expiries of the last day, and check-ins unanswered for a day."""
        now = now or self.clock()
        failed, silent = await self.manager.needs_attention(now - dt.timedelta(days=1), now)
        return format_summary(self.texts, failed, silent, now)


def format_summary(texts: Catalogue, failed: list[CheckinInfo], silent: list[CheckinInfo],
                   now: dt.datetime) -> str | None:
    """The daily staff-chat summary (plain text, "checkins.summary_*" in the catalogue), or
    None when there is nothing to report."""
    if not failed and not silent:
        return None

    def name(c: CheckinInfo) -> str:
        return c.patient_name or texts.text("checkins.summary_no_name", id=c.patient_id)

    lines = [texts.text("checkins.summary_title", time=f"{now:%Y-%m-%d %H:%M}")]
    if failed:
        lines.append(texts.text("checkins.summary_failed", count=len(failed)))
        lines += [texts.text("checkins.summary_failed_line", id=c.id, name=name(c),
                             day=c.day_offset, status=c.status,
                             error=c.last_error or texts.text("checkins.summary_no_detail"))
                  for c in failed[:30]]
    if silent:
        lines.append(texts.text("checkins.summary_silent", count=len(silent)))
        lines += [texts.text("checkins.summary_silent_line", id=c.id, name=name(c),
                             day=c.day_offset, sent=f"{c.sent_at:%Y-%m-%d %H:%M}")
                  for c in silent[:30] if c.sent_at]
    more = max(0, len(failed) - 30) + max(0, len(silent) - 30)
    if more:
        lines.append(texts.text("checkins.summary_more", more=more))
    return "\n".join(lines)
