"""Staff alerts about a new report: the desk's card when a staff desk is attached, otherwise
a short plain alert for the staff chat (nothing if no staff chat is configured)."""

from __future__ import annotations

import logging

from bot.core.flows.base import FlowKit
from bot.core.formatting import split_html
from bot.core.replies import Reply
from storage import ReportInfo

log = logging.getLogger(__name__)

MAX_ALERT_TEXT = 1500


class StaffAlerts:
    """Turns a new report into what the staff chat is sent."""

    def __init__(self, kit: FlowKit) -> None:
        self.kit = kit

    def notify(self, report: ReportInfo) -> list[Reply]:
        """A short plain alert for the staff chat about `report` (nothing if none configured);
        with the staff desk attached, its card with Take / Reply / Resolve / Pause buttons."""
        if self.kit.staff is not None:
            return list(self.kit.staff.card(report))
        return self.plain(report)

    def plain(self, report: ReportInfo) -> list[Reply]:
        """The alert without a desk: who, which day, their words, the urgency."""
        messages = self.kit.messages
        chat = self.kit.settings.staff_chat_id
        if chat is None:
            log.warning("report %d not sent: AFTERCARE_STAFF_CHAT_ID is not set", report.id)
            return []
        name = report.patient_name or messages.render("staff_unknown_name")
        who = f"{name}, Telegram id {report.telegram_id}"
        words = report.text if len(report.text) <= MAX_ALERT_TEXT else (
            report.text[:MAX_ALERT_TEXT] + "…")
        day = report.day if report.day is not None else "unknown"
        if report.urgency:
            text = messages.render("staff_alert", urgency=report.urgency.upper(), name=who,
                                   day=day, text=words, reason=report.reason or "-")
        else:
            text = messages.render("staff_question", name=who, day=day, text=words)
        return [Reply(part, to_chat=chat) for part in split_html(text)]
