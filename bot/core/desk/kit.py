"""What every job of the staff desk shares (as `FlowKit` is for the patient flows): the
settings, the clock, the "desk" texts, the staff names seen, how a message for the staff
chat, for the staff member who acted, or for one patient is made, and the bell that wakes the
alert sender. It holds no store."""

from __future__ import annotations

import datetime as dt
import html
import logging
from typing import Any

from bot.core.desk.labels import age, label_key, strip_tags
from bot.core.flows.base import BotSettings
from bot.core.formatting import split_html
from bot.core.ports import AlertWaker
from bot.core.replies import Relay, Reply
from knowledge.catalogue import Catalogue
from storage import ReportInfo
from storage.clock import Clock

log = logging.getLogger(__name__)

Here = tuple[int, int] | None  # an on-call staff member's private chat and their message


class DeskKit:
    """Settings, clock, texts and staff names of the desk; wakes the alert sender."""

    def __init__(self, settings: BotSettings, clock: Clock, messages: Catalogue,
                 alerts: AlertWaker | None = None) -> None:
        self.settings = settings
        self.clock = clock
        self.messages = messages
        self.alerts = alerts  # wakes the alert sender (scheduler.alerts.AlertBell)
        self._names: dict[int, str] = {}

    @property
    def staff_chat(self) -> int | None:
        """The staff chat id (None when not configured)."""
        return self.settings.staff_chat_id

    def now(self) -> dt.datetime:
        """The shared clock."""
        return self.clock()

    def is_staff(self, user_id: int) -> bool:
        """On the staff list now (read every time, never cached)."""
        return self.settings.is_staff(user_id)

    def wake(self) -> None:
        """Tell this process's alert sender something was just owed."""
        if self.alerts is not None:
            self.alerts.wake()

    # --- names ------------------------------------------------------------------------------
    def seen(self, user_id: int, first_name: str) -> None:
        """Remember the first name a staff member last used."""
        if first_name:
            self._names[user_id] = first_name

    def staff_name(self, user_id: int | None) -> str:
        """The first name staff last used, or "staff 123"."""
        if user_id is None:
            return "nobody"
        return self._names.get(user_id) or f"staff {user_id}"

    def patient_name(self, report: ReportInfo) -> str:
        """The patient's name, or "unnamed patient"."""
        return report.patient_name or self.messages.render("staff_unknown_name")

    def mentions(self) -> str:
        """HTML mentions of every staff member (tg://user links)."""
        ids = sorted(getattr(self.settings, "staff_ids", ()) or ())
        return " ".join(self.mention(i) for i in ids)

    def mention(self, user_id: int) -> str:
        """An HTML mention of one staff member (Telegram notifies them in a group)."""
        return f'<a href="tg://user?id={user_id}">{html.escape(self.staff_name(user_id))}</a>'

    # --- texts ------------------------------------------------------------------------------
    def text(self, key: str, **values: Any) -> str:
        """A rendered (HTML) message of the "desk" section."""
        return self.messages.render(f"desk.{key}", **values)

    def age(self, delta: dt.timedelta) -> str:
        """How long `delta` is, as the desk writes it ("3 min", "2 h 05 min", "3 d 4 h")."""
        return age(delta, self.messages)

    def label(self, report: ReportInfo) -> str:
        """What a card starts with ("desk.labels": EMERGENCY, URGENT, QUESTION, CHECK-IN ...)."""
        return self.messages.text(f"desk.labels.{label_key(report)}")

    def plain(self, key: str, **values: Any) -> str:
        """A "desk" message as plain text (for the web desk's notices)."""
        return strip_tags(self.text(key, **values))

    def to_staff(self, key: str, reply_to: int | None = None, **values: Any) -> Reply:
        """A message for the staff chat (`to_chat` None when there is none: the web desk then
        shows it to the staff member who acted)."""
        return Reply(self.text(key, **values), to_chat=self.staff_chat, reply_to=reply_to)

    def about(self, report_id: int, key: str, reply_to: int | None = None,
              **values: Any) -> Reply:
        """A staff-chat message that names a report's patient (or carries staff words about
        them): recorded as a "notice" of the report, so that erasing the patient edits it
        to "[erased at the patient's request]" like the card."""
        return Reply(self.text(key, **values), to_chat=self.staff_chat, reply_to=reply_to,
                     card_for=report_id, card_kind="notice")

    def answer(self, key: str, reply_to: int | None, here: Here, **values: Any) -> Reply:
        """A message for the staff member who acted: in the staff chat, or in their private
        chat when they acted there (`here`: that chat and the message they pressed or sent)."""
        if here is None:
            return self.to_staff(key, reply_to, **values)
        return Reply(self.text(key, **values), to_chat=here[0], reply_to=here[1])

    def notice(self, key: str, **values: Any) -> Reply:
        """A button notice (answerCallbackQuery text, plain)."""
        return Reply(html.unescape(self.text(key, **values))[:200], notice=True)

    def long(self, text: str, reply_to: int | None, here: Here = None) -> Reply:
        """A command answer (cut under Telegram's limit), in the staff chat or `here`."""
        if len(text) > 4000:
            text = text[:4000].rsplit("\n", 1)[0] + "\n…"
        if here is not None:
            return Reply(text, to_chat=here[0], reply_to=here[1])
        assert self.staff_chat is not None
        return Reply(text, to_chat=self.staff_chat, reply_to=reply_to)

    def to_patient(self, report: ReportInfo, text: str, photo: str | None = None,
                   document: str | None = None, relay: Relay | None = None) -> list[Reply]:
        """A message for the report's patient only (nothing if they have no chat); a long
        text goes in parts under Telegram's limit, `relay` on the last one."""
        if report.chat_id is None:
            log.warning("report %d: the patient has no chat to write to", report.id)
            return []
        if photo is not None or document is not None:
            return [Reply(text, to_chat=report.chat_id, photo=photo, document=document,
                          relay=relay, to_patient=True)]
        parts = split_html(text) or [text]
        return [Reply(part, to_chat=report.chat_id, relay=relay if i == len(parts) - 1 else None,
                      to_patient=True)
                for i, part in enumerate(parts)]
