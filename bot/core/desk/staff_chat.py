"""A staff member's message that is not a command: an answer to the patient of the card (or
prompt) it replies to, or to the report their pending Reply names; a note for a pending
Resolve. Anything else (talk among staff) is not for the desk."""

from __future__ import annotations

from bot.core.desk.access import StaffGate
from bot.core.desk.copies import CardCopies
from bot.core.desk.kit import DeskKit, Here
from bot.core.desk.pending import PendingActions
from bot.core.desk.relays import Relays
from bot.core.desk.resolutions import Resolutions
from bot.core.ports import DeskReports
from bot.core.replies import Reply


class StaffMessages:
    """Routes a staff message to the one patient it answers, or to a resolve."""

    def __init__(self, kit: DeskKit, gate: StaffGate, store: DeskReports, copies: CardCopies,
                 pending: PendingActions, relays: Relays, resolutions: Resolutions) -> None:
        self.kit = kit
        self.gate = gate
        self.store = store
        self.copies = copies
        self.pending = pending
        self.relays = relays
        self.resolutions = resolutions

    async def staff_message(self, user_id: int, first_name: str, chat_id: int, message_id: int,
                            text: str | None, reply_to: int | None = None,
                            photo: str | None = None, document: str | None = None,
                            replied_to_bot: bool = False) -> list[Reply] | None:
        """A non-command message in the staff chat; None when it is not for the desk."""
        kit = self.kit
        text = text.replace("\x00", "") if text is not None else None
        card = await self.copies.replied_to(chat_id, reply_to, replied_to_bot)
        if card is not None and card.kind == "notice":  # "Sent to ...", "resolved by ...":
            card = None  # a reply to one of those is talk among staff, not an answer
        pending = await self.pending.of(user_id)
        if card is None and pending is None:
            return None
        here: Here = None if chat_id == kit.staff_chat else (chat_id, message_id)
        if not await self.gate.allows(user_id, card.report_id if card else None,
                                      "answer a patient"):
            return [kit.answer("not_staff_reply", message_id, here)]
        kit.seen(user_id, first_name)
        expected: int | None = None  # the patient the staff member chose
        if card is not None:
            kind = "resolve" if card.kind == "resolve_prompt" else "reply"
            report_id = card.report_id
            if pending is not None and pending.report_id == report_id:
                await self.pending.drop(user_id)
                expected = pending.patient_id
        else:
            assert pending is not None
            kind, report_id, expected = pending.kind, pending.report_id, pending.patient_id
            await self.pending.drop(user_id)
        if expected is not None:
            report = await self.store.get(report_id)
            if report is None or report.patient_id != expected:
                await self.gate.mismatch(user_id, report_id, expected, f"{kind} to a patient")
                return [kit.answer("wrong_patient", message_id, here, id=report_id)]
        if kind == "resolve":
            return await self.resolutions.resolve(user_id, report_id, (text or "").strip(),
                                                  message_id, here)
        return await self.relays.relay(user_id, report_id, message_id, text, photo, document,
                                       here)
