"""Advice first, storage second: answering while the database is down, storing afterwards.

`answer_offline` is what a text handler falls back to when the database fails: the advisor
(pure, no database) decides, the patient gets its advice at once, and a red flag's report
goes to the local spool (storage/spool.py, fsynced) before the update counts as handled.
`SpoolReplayer` stores spooled reports once the database answers again (idempotent by update
id), which owes their cards in the alert outbox, and wakes the alert sender.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
from pathlib import Path
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bot.config import Settings
from bot.core.ports import AlertWaker, CheckinEvents
from bot.core.replies import Reply, as_replies
from storage import ReportKind
from storage.clock import utcnow
from storage.repo import Repository
from storage.spool import ReportSpool, SpooledReport

log = logging.getLogger(__name__)

DATABASE_DOWN: tuple[type[BaseException], ...] = (DBAPIError, PoolTimeout, OSError)
REPLAY_EVERY = 2.0  # seconds between attempts to store spooled reports


def answer_offline(services: Any, update_id: int, user_id: int, chat_id: int, text: str,
                   language_hint: str | None = None) -> list[Reply]:
    """The advice for `text` without the database (recovery day unknown); a red flag's
    report is spooled durably before this returns."""
    conversation = services.conversation
    spool: ReportSpool | None = services.spool
    advice = conversation.advisor.ask(text, None, language_hint)
    if advice.escalate and spool is not None:
        spool.append(SpooledReport(
            update_id=update_id, telegram_id=user_id, chat_id=chat_id, text=text,
            urgency=advice.urgency, reason=advice.triage.reason if advice.triage else None,
            day=None, at=conversation.clock().isoformat()))
    return as_replies(html.escape(advice.answer, quote=False))


class SpoolReplayer:
    """Stores what the spool holds whenever the database answers again."""

    def __init__(self, repo: Repository, checkins: CheckinEvents | None, alerts: AlertWaker,
                 spool: ReportSpool) -> None:
        self.repo = repo
        self.checkins = checkins
        self.alerts = alerts
        self.spool = spool
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    async def _store(self, report: SpooledReport) -> None:
        stored = await self.repo.reports.create(
            report.telegram_id, ReportKind.TRIAGE, report.text, urgency=report.urgency,
            day=report.day, reason=report.reason, now=report.raised_at,
            source_update_id=report.update_id)
        if self.checkins is not None:
            await self.checkins.report_raised(stored)

    async def replay(self) -> int:
        """One attempt; the number of reports stored (0 when the database is still away)."""
        if not len(self.spool):
            return 0
        try:
            stored = await self.spool.replay(self._store)
        except DATABASE_DOWN as exc:
            log.warning("spooled reports not stored yet (%s)", type(exc).__name__)
            return 0
        if stored:
            self.alerts.wake()
        return stored

    async def run(self) -> None:
        """Replay every `REPLAY_EVERY` seconds until stopped."""
        while not self._stop.is_set():
            try:
                await self.replay()
            except Exception:  # never let the replayer die: the reports wait in the file
                log.exception("spool replay failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), REPLAY_EVERY)

    def launch(self) -> None:
        """Start the replay loop."""
        self._task = asyncio.get_running_loop().create_task(self.run(), name="spool-replay")

    async def stop(self) -> None:
        """Stop the loop (a replay in progress finishes)."""
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def build_spool(settings: Settings, repo: Repository, checkins: CheckinEvents | None,
                alerts: AlertWaker) -> tuple[ReportSpool, SpoolReplayer]:
    """The spool of this process (``Settings.report_spool()``) and its replayer."""
    spool = ReportSpool(Path(settings.report_spool()))
    if len(spool):
        log.warning("%d report(s) from a database outage wait in %s", len(spool), spool.path)
    return spool, SpoolReplayer(repo, checkins, alerts, spool)


__all__ = ["DATABASE_DOWN", "SpoolReplayer", "answer_offline", "build_spool", "utcnow"]
