"""Answers to check-in buttons ("ci:..."): the check-in service checks the check-in is this
user's and decides the reply; worrying answers become reports for staff."""

from __future__ import annotations

import html

from bot.core.flows.base import FlowKit
from bot.core.ports import CheckinEvents, ReportNotifier
from bot.core.replies import Reply


class CheckinAnswers:
    """A pressed check-in answer button."""

    def __init__(self, kit: FlowKit, checkins: CheckinEvents | None,
                 alerts: ReportNotifier) -> None:
        self.kit = kit
        self.checkins = checkins
        self.alerts = alerts

    @property
    def attached(self) -> bool:
        """True when the check-in scheduler is plugged in."""
        return self.checkins is not None

    async def answer(self, user_id: int, data: str) -> list[Reply]:
        """A check-in answer button; the service checks the check-in is this user's."""
        kit = self.kit
        assert self.checkins is not None
        outcome = await self.checkins.answer(user_id, data)
        if not outcome.reply:
            return [kit.notice("button_expired")]
        replies = kit.html(html.escape(outcome.reply, quote=False))
        for report in outcome.reports:
            replies += self.alerts.notify(report)
        return replies
