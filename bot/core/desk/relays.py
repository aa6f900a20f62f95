"""A staff answer to one patient: it goes only to the patient of the report whose card (or
prompt) it replies to, or whose Reply button that staff member pressed, never to a resolved
report's patient; it is audited ("replied") and confirmed to staff once delivered."""

from __future__ import annotations

import logging

from bot.core.desk.copies import CardCopies
from bot.core.desk.kit import DeskKit, Here
from bot.core.desk.labels import shown_length
from bot.core.ports import DeskReports
from bot.core.replies import Relay, Reply
from storage.models import ReportAction

log = logging.getLogger(__name__)

MAX_CAPTION = 1024  # Telegram's caption limit (characters as shown, after HTML parsing)


class Relays:
    """Sends a staff answer to a report's patient, and hears whether it arrived."""

    def __init__(self, kit: DeskKit, store: DeskReports, copies: CardCopies) -> None:
        self.kit = kit
        self.store = store
        self.copies = copies

    async def relay(self, user_id: int, report_id: int, message_id: int | None,
                    text: str | None, photo: str | None, document: str | None,
                    here: Here = None) -> list[Reply]:
        """Send a staff answer to the report's patient, and to nobody else."""
        kit = self.kit
        report = await self.store.get(report_id)
        if report is None:
            return [kit.answer("no_report", message_id, here, id=report_id)]
        if report.closed:
            return [kit.answer("closed_reply", message_id, here, id=report.id)]
        if not (text and text.strip()) and photo is None and document is None:
            return [kit.answer("nothing_to_send", message_id, here)]
        words = (text or "").strip()
        replies: list[Reply] = []
        if report.status == "open":
            taken = await self.store.take(report.id, user_id, now=kit.now())
            if taken.ok:
                await self.copies.sync(report.id)
                group = await self.copies.group_card(report.id) if here is not None else None
                replies.append(kit.to_staff("taken", group, id=report.id,
                                            staff=kit.staff_name(user_id)))
                replies += kit.to_patient(report, kit.text("patient_taken"))
        kind = "photo" if photo else "document" if document else "text"
        relay = Relay(report.id, user_id,
                      words if kind == "text" else f"[{kind}] {words}".strip(),
                      reply_to=message_id, chat=here[0] if here is not None else None)
        caption = kit.text("staff_caption", text=words)
        if (photo or document) and shown_length(caption) <= MAX_CAPTION:
            replies += kit.to_patient(report, caption, photo, document, relay)
        elif photo or document:  # too long for a caption: the file, then the whole text
            replies += kit.to_patient(report, kit.text("staff_caption_follows"), photo,
                                      document)
            replies += kit.to_patient(report, kit.text("staff_answer", text=words),
                                      relay=Relay(relay.report_id, user_id, relay.note,
                                                  split=True, reply_to=message_id,
                                                  chat=relay.chat))
        else:
            replies += kit.to_patient(report, kit.text("staff_answer", text=words),
                                      relay=relay)
        # audited ("replied") and confirmed to staff once delivered: `relay_done`
        log.info("staff %d answered report %d (on its way)", user_id, report.id)
        return replies

    async def relay_done(self, relay: Relay) -> list[Reply]:
        """A staff answer reached the patient: audit it, and tell staff (the message names
        the patient, so it is recorded for erasure)."""
        kit = self.kit
        report = await self.store.get(relay.report_id)
        if report is None:  # erased while the answer was on its way
            log.info("report %d: answer delivered, but the report is gone", relay.report_id)
            return []
        await self.store.record(report.id, relay.actor, ReportAction.REPLIED, note=relay.note,
                                now=kit.now())
        log.info("staff %d's answer to report %d delivered", relay.actor, report.id)
        key = "reply_sent_split" if relay.split else "reply_sent"
        if relay.chat is not None:  # on call: confirmed in the staff member's private chat
            return [Reply(kit.text(key, id=report.id, name=kit.patient_name(report)),
                          to_chat=relay.chat, reply_to=relay.reply_to, card_for=report.id,
                          card_kind="notice")]
        if kit.staff_chat is None:
            return []
        return [kit.about(report.id, key, relay.reply_to, id=report.id,
                          name=kit.patient_name(report))]

    async def relay_failed(self, relay: Relay, reason: str) -> list[Reply]:
        """A staff answer did not reach the patient: nothing is audited as sent, and staff
        are told why (`reason`, plain text)."""
        kit = self.kit
        log.warning("staff %d's answer to report %d was not delivered: %s", relay.actor,
                    relay.report_id, reason)
        report = await self.store.get(relay.report_id)
        if report is not None and relay.chat is not None:  # on call: told in the private chat
            return [Reply(kit.text("reply_failed", id=report.id, name=kit.patient_name(report),
                                   reason=reason), to_chat=relay.chat, reply_to=relay.reply_to,
                          card_for=report.id, card_kind="notice")]
        if report is None or kit.staff_chat is None:
            return []
        return [kit.about(report.id, "reply_failed", relay.reply_to, id=report.id,
                          name=kit.patient_name(report), reason=reason)]
