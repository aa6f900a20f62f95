"""The plain staff alert about a new report, used when no staff desk is attached (the desk,
bot/core/desk/, sends cards with buttons instead): who, which day, their words, the
urgency, to the staff chat (nothing if no staff chat is configured)."""

from __future__ import annotations

import logging

from bot.core.flows.base import FlowKit
from bot.core.formatting import split_html
from bot.core.replies import Reply
from storage import ReportInfo

log = logging.getLogger(__name__)

MAX_ALERT_TEXT = 1500


class PlainAlerts:
    """A `bot.core.ports.ReportNotifier` without a desk: plain text to the staff chat."""

    def __init__(self, kit: FlowKit) -> None:
        self.kit = kit

    async def repeat(self, user_id: int, text: str, urgency: str | None) -> int | None:
        """Without a desk every red flag is its own alert."""
        return None

    async def edited(self, user_id: int, chat_id: int, message_id: int, text: str,
                     urgency: str | None) -> tuple[int, str] | None:
        """Without a desk an edit with a red flag is a new alert."""
        return None

    def notify(self, report: ReportInfo) -> list[Reply]:
        """A short plain alert for the staff chat about `report` (nothing if none configured)."""
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
