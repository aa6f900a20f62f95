"""A report's card in the staff chat: its text and buttons, what each owed alert row looks
like (the alert sender, scheduler/alerts.py, asks `render`), its message ids once sent, and a
patient's repeated or edited words threaded into the open report instead of a new card.

Cards are not sent from here: a report's card is owed in the alert outbox in the same
transaction as the report (storage/alerts.py) and delivered by the alert sender. A repeat or
an edit at the report's tier only edits the card; one that raises the urgency also owes a new
message under the card ("⬆️ Now EMERGENCY — report #N: ...", with the mentions of a re-post
and the taker's), in the staff chat and, outside opening hours, under each on-call copy (the
chats a new card of that tier reaches)."""

from __future__ import annotations

import datetime as dt
import logging

from bot.core.availability import Availability
from bot.core.desk.callbacks import callback_data
from bot.core.desk.copies import CardCopies
from bot.core.desk.kit import DeskKit
from bot.core.ports import CardOutbox, DeskReports
from bot.core.replies import Button, Buttons, Reply
from knowledge.catalogue import Trusted
from scheduler.alerts import OutgoingAlert
from scheduler.clinic_hours import ONCALL_URGENCIES
from storage import ReportInfo, ReportKind
from storage.alerts import BY_REPEAT, BY_THREAD, ClaimedAlert
from storage.models import AlertKind, ReportAction, ReportStatus

log = logging.getLogger(__name__)

MAX_CARD_WORDS = 1500
MAX_NEWEST_WORDS = 600  # the newest words a card (or a raise) shows
MAX_WROTE_WORDS = 3000  # the words a patient added to a report, as staff are shown them


class Cards:
    """Renders cards and keeps them in step with their reports."""

    def __init__(self, kit: DeskKit, store: DeskReports, outbox: CardOutbox,
                 copies: CardCopies, availability: Availability) -> None:
        self.kit = kit
        self.store = store
        self.outbox = outbox
        self.copies = copies
        self.availability = availability  # who is on call now

    def buttons(self, report_id: int, patient_id: int) -> Buttons:
        """Take / Reply on one row, Resolve / Pause check-ins on the next."""
        def button(action: str) -> Button:
            return (self.kit.messages.label(f"staff_{action}"),
                    callback_data(action, report_id, patient_id))
        return ((button("take"), button("reply")), (button("resolve"), button("pause")))

    def card_text(self, report: ReportInfo, status: bool = False) -> str:
        """The card: urgency first, patient, day since session, the words, the reason (and,
        with `status`, who took or resolved it: on-call copies show the report's state)."""
        kit = self.kit
        who = kit.messages.text("desk.card_who", name=kit.patient_name(report),
                                telegram_id=report.telegram_id)
        words = report.text if len(report.text) <= MAX_CARD_WORDS else (
            report.text[:MAX_CARD_WORDS] + "…")
        day = report.day if report.day is not None else kit.messages.text("desk.card_no_day")
        key = "card_question" if report.kind == ReportKind.QUESTION.value else "card"
        text = kit.text(key, label=kit.label(report), name=who, day=day, id=report.id, text=words)
        if report.reason:
            text += "\n" + kit.text("card_reason", reason=report.reason)
        if report.repeats:
            latest = report.latest_text or ""
            latest = latest if len(latest) <= MAX_NEWEST_WORDS else (
                latest[:MAX_NEWEST_WORDS] + "…")
            text += "\n" + kit.text("card_repeats", count=report.repeats, text=latest)
        if status and report.status == ReportStatus.TAKEN.value:
            text += "\n" + kit.text("copy_taken", staff=kit.staff_name(report.taken_by))
        elif status and report.closed:
            text += "\n" + kit.text("copy_resolved", staff=kit.staff_name(report.resolved_by))
        return text

    def notify(self, report: ReportInfo) -> list[Reply]:
        """`ReportNotifier`: the staff-chat card for a new report."""
        return self.card(report)

    def card(self, report: ReportInfo) -> list[Reply]:
        """A new report (`Conversation.notify_staff` calls this): its card is already owed
        in the alert outbox (written with the report), so this only wakes the sender."""
        if self.kit.staff_chat is None:
            log.warning("report %d not sent: AFTERCARE_STAFF_CHAT_ID is not set", report.id)
            return []
        self.kit.wake()
        return []

    def oncall(self, urgency: str | None, now: dt.datetime) -> tuple[int, ...]:
        """The on-call private chats a report raised to `urgency` reaches now: those a new
        card of that tier would (none during opening hours)."""
        if urgency not in ONCALL_URGENCIES:
            return ()
        return tuple(sorted(self.availability.oncall_now(now)))

    async def repeat(self, user_id: int, text: str, urgency: str | None) -> int | None:
        """A red flag from a patient who already has an open triage report: it is threaded
        into that report (counter, newest words, card edited) instead of a new report and
        card; when it raises the report's urgency, staff are also owed a new message under
        the card (on call too, outside opening hours). Returns the report id, or None when
        there is no open problem to add it to."""
        report = await self.store.latest_open(user_id)
        if report is None or report.kind != ReportKind.TRIAGE.value:
            return None
        now = self.kit.now()
        if not await self.outbox.repeat(report.id, text, urgency, user_id, now,
                                        self.oncall(urgency, now)):
            return None
        await self.copies.sync(report.id)  # on-call copies show the newest words too
        self.kit.wake()
        return report.id

    async def flagged(self, report_id: int, text: str, urgency: str) -> bool:
        """A red flag in words the patient wrote inside report `report_id` (a message in its
        thread, a /report detail, a follow-up while its alert is open, a check-in problem's
        description): the report's newest alert; when it raises the urgency, staff are owed
        what a raising repeat gets (the raise message, carrying these words, to the staff chat
        and on call as a new card of that tier; the card edited at once; the re-post wait
        restarted), in the transaction that raised it. True when it raised the urgency."""
        now = self.kit.now()
        if not await self.outbox.flagged(report_id, text, urgency, now,
                                         self.oncall(urgency, now)):
            return False
        await self.copies.sync(report_id)  # every on-call copy shows the new tier
        self.kit.wake()
        return True

    async def edited(self, user_id: int, chat_id: int, message_id: int, text: str,
                     urgency: str | None) -> tuple[int, str] | None:
        """The patient edited the message that raised one of their open reports: the report
        takes the newest words (and a higher urgency), and its card is edited to show them
        instead of a new card. (report id, urgency before), or None when no open report
        came from that message. An edit that raised the urgency alerts staff again, as a
        repeat does."""
        now = self.kit.now()
        found = await self.outbox.edited(user_id, chat_id, message_id, text, urgency, now,
                                         self.oncall(urgency, now))
        if found is not None:
            log.info("report %d: the patient edited their message; card to be updated",
                     found[0])
            await self.copies.sync(found[0])
            self.kit.wake()
        return found

    async def render(self, alert: ClaimedAlert) -> OutgoingAlert | None:
        """What an owed alert looks like in the staff chat, or in an on-call staff member's
        private chat (a row naming that chat); None when there is nothing to show any more."""
        kit = self.kit
        chat = kit.staff_chat
        if alert.kind == AlertKind.ERASE.value:
            if alert.chat_id is None or alert.message_id is None:
                return None
            return OutgoingAlert(alert.chat_id, kit.text("erased"),
                                 edit_message_id=alert.message_id,
                                 caption=alert.card_kind in ("photo", "document"))
        target = alert.chat_id if alert.chat_id is not None else chat
        if target is None:
            raise RuntimeError("AFTERCARE_STAFF_CHAT_ID is not set")
        report = await self.store.get(alert.report_id or 0)
        if report is None:  # erased meanwhile (its rows go with it; a race at most)
            return None
        buttons = () if report.closed else self.buttons(report.id, report.patient_id)
        copy = target != chat  # an on-call staff member's own copy
        if alert.kind == AlertKind.CARD.value:
            if copy and report.closed:
                return None
            return OutgoingAlert(target, self.card_text(report, copy), buttons)
        if alert.kind == AlertKind.UPDATE.value:
            if alert.message_id is not None:  # one copy shows the report's new state
                return OutgoingAlert(target, self.card_text(report, True), buttons,
                                     edit_message_id=alert.message_id)
            card = await self.store.latest_card(report.id, chat_id=chat)
            if card is None:  # the card itself is still owed: it will show the newest words
                return None
            return OutgoingAlert(card.chat_id, self.card_text(report), buttons,
                                 edit_message_id=card.message_id)
        if alert.kind == AlertKind.RAISE.value:
            return await self.raised(alert, report, target, copy)
        if report.status != ReportStatus.OPEN.value:  # a re-post of a report taken since
            return None
        card = await self.store.latest_card(report.id, chat_id=target)
        waited = kit.age(kit.now() - report.created_at)
        mentions = "" if copy else " " + kit.mentions()
        text = (kit.text("repost", waited=waited) + mentions + "\n\n"
                + self.card_text(report))
        return OutgoingAlert(target, text, buttons, reply_to=card.message_id if card else None)

    async def raised(self, alert: ClaimedAlert, report: ReportInfo, target: int,
                     copy: bool) -> OutgoingAlert | None:
        """The report's urgency rose (a repeat, an edit, or a red flag written inside the
        report, whose words it carries with the patient's name): a new message, which Telegram
        notifies of (an edit notifies nobody), under the card in `target`: the new tier and
        the newest words, in the staff chat with every staff member mentioned, and the taker
        named (mentioned) when somebody has it (an on-call chat without a copy of the card
        was owed the card first, storage/alerts.py). None once the report is resolved."""
        kit = self.kit
        if report.closed:
            return None
        if alert.card_kind == BY_THREAD:  # in place of the "💬 wrote" line: all the words
            words = report.latest_text or report.text
            if len(words) > MAX_WROTE_WORDS:
                words = words[:MAX_WROTE_WORDS] + "…"
            text = kit.text("raised_wrote", label=kit.label(report), id=report.id,
                            name=kit.patient_name(report), text=words)
        else:
            words = (report.latest_text or report.text) if alert.card_kind == BY_REPEAT else (
                report.text)
            if len(words) > MAX_NEWEST_WORDS:
                words = words[:MAX_NEWEST_WORDS] + "…"
            text = kit.text("raised", label=kit.label(report), id=report.id, text=words)
        mentions = "" if copy else kit.mentions()
        if mentions:
            text += " " + mentions
        if report.status == ReportStatus.TAKEN.value and report.taken_by is not None:
            text += "\n" + kit.text("raised_taker", staff=Trusted(kit.mention(report.taken_by)))
        card = await self.store.latest_card(report.id, chat_id=target)
        return OutgoingAlert(target, text, reply_to=card.message_id if card else None)

    async def card_sent(self, reply: Reply, chat_id: int, message_id: int) -> None:
        """A reply with `card_for` was delivered: remember its message id for threading."""
        if reply.card_for is None:
            return
        if not await self.store.card_sent(reply.card_for, chat_id, message_id,
                                          reply.card_kind, now=self.kit.now()):
            self.kit.wake()  # the report was erased meanwhile: its "[erased]" edit is owed
            return
        if reply.card_kind == "repost":
            await self.store.record(reply.card_for, None, ReportAction.REPOSTED,
                                    now=self.kit.now())
