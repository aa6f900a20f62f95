"""Taking a report, and the other card buttons: Take / Reply / Resolve / Pause check-ins.

Callback data carries no authority: the pressed message must be a card of the report it
names (looked up server-side), that report must still belong to the patient the button names
(ids are never reused: storage/migrations 0006), and the report's state must allow the
action. Status changes are conditional UPDATEs (storage/reports.py): with two presses at
once, one wins and the other is told."""

from __future__ import annotations

import logging

from bot.core.desk.access import StaffGate
from bot.core.desk.callbacks import card_press
from bot.core.desk.copies import CardCopies
from bot.core.desk.kit import DeskKit, Here
from bot.core.desk.pending import PendingActions
from bot.core.ports import CheckinEvents, DeskReports, Patients
from bot.core.replies import Reply
from storage import ReportInfo
from storage.models import ReportAction
from storage.reports import Transition

log = logging.getLogger(__name__)


class CardPresses:
    """A press on a card (in the staff chat or an on-call copy), and the web desk's Take and
    Pause, which do the same."""

    def __init__(self, kit: DeskKit, gate: StaffGate, store: DeskReports, copies: CardCopies,
                 pending: PendingActions, patients: Patients,
                 checkins: CheckinEvents | None = None) -> None:
        self.kit = kit
        self.gate = gate
        self.store = store
        self.copies = copies
        self.pending = pending
        self.patients = patients
        self.checkins = checkins

    async def staff_callback(self, user_id: int, first_name: str, chat_id: int | None,
                             message_id: int | None, data: str) -> list[Reply]:
        """A Take / Reply / Resolve / Pause press on a card."""
        kit = self.kit
        parsed = card_press(data)
        if not await self.gate.allows(user_id, parsed[1] if parsed else None, f"press {data}"):
            return [kit.notice("not_staff")]
        kit.seen(user_id, first_name)
        if parsed is None or chat_id is None or message_id is None:
            return [kit.notice("button_unknown")]
        action, report_id, patient_id = parsed
        # a card just posted: wait a moment
        card = await self.copies.replied_to(chat_id, message_id, True)
        if card is None or card.report_id != report_id or card.kind not in ("card", "repost"):
            log.warning("staff %d pressed %s on message %s/%s, which is not that report's card",
                        user_id, data, chat_id, message_id)
            await self.gate.refuse(user_id, report_id, f"press {data} on another card")
            return [kit.notice("wrong_card")]
        report = await self.store.get(report_id)
        if report is None:
            return [kit.notice("button_unknown")]
        if patient_id is not None and report.patient_id != patient_id:
            await self.gate.mismatch(user_id, report_id, patient_id, f"press {data}")
            return [kit.notice("button_unknown")]
        handler = {"take": self.take, "reply": self.ask_reply, "resolve": self.ask_resolve,
                   "pause": self.pause}[action]
        if chat_id == kit.staff_chat:
            return await handler(user_id, report, message_id)
        # an on-call copy in the staff member's private chat: the staff chat hears of it
        # under its own card, prompts come here
        return await handler(user_id, report, await self.copies.group_card(report_id),
                             (chat_id, message_id))

    async def take(self, user_id: int, report: ReportInfo, card_id: int | None,
                   here: Here = None) -> list[Reply]:
        """The staff member takes the report (unless somebody was quicker)."""
        kit = self.kit
        result = await self.store.take(report.id, user_id, now=kit.now())
        if not result.ok:
            return [self.lost(result, report)]
        assert result.report is not None
        await self.copies.sync(report.id)
        return [kit.notice("taken_notice", id=report.id),
                kit.to_staff("taken", card_id, id=report.id, staff=kit.staff_name(user_id)),
                *kit.to_patient(result.report, kit.text("patient_taken"))]

    def lost(self, result: Transition, report: ReportInfo) -> Reply:
        """The notice for the loser of a race (or a press that no longer makes sense)."""
        current = result.report or report
        if current.closed:
            return self.kit.notice("already_resolved", id=current.id,
                                   staff=self.kit.staff_name(current.resolved_by))
        return self.kit.notice("already_taken", id=current.id,
                               staff=self.kit.staff_name(current.taken_by))

    async def ask_reply(self, user_id: int, report: ReportInfo,
                        card_id: int | None, here: Here = None) -> list[Reply]:
        """Reply: the staff member's next message goes to this report's patient."""
        kit = self.kit
        if report.closed:
            return [kit.notice("closed", id=report.id)]
        await self.pending.set(user_id, "reply", report.id, report.patient_id)
        chat, reply_to = here if here is not None else (kit.staff_chat, card_id)
        prompt = Reply(kit.text("reply_prompt", staff=kit.staff_name(user_id), id=report.id,
                                name=kit.patient_name(report)),
                       to_chat=chat, reply_to=reply_to, card_for=report.id,
                       card_kind="reply_prompt")
        return [kit.notice("reply_notice", name=kit.patient_name(report)), prompt]

    async def ask_resolve(self, user_id: int, report: ReportInfo,
                          card_id: int | None, here: Here = None) -> list[Reply]:
        """Resolve: the staff member's next message is the note."""
        kit = self.kit
        if report.closed:
            return [self.lost(Transition(False, report), report)]
        await self.pending.set(user_id, "resolve", report.id, report.patient_id)
        chat, reply_to = here if here is not None else (kit.staff_chat, card_id)
        prompt = Reply(kit.text("resolve_prompt", staff=kit.staff_name(user_id), id=report.id),
                       to_chat=chat, reply_to=reply_to, card_for=report.id,
                       card_kind="resolve_prompt")
        return [kit.notice("resolve_notice", id=report.id), prompt]

    async def pause(self, user_id: int, report: ReportInfo,
                    card_id: int | None, here: Here = None) -> list[Reply]:
        """Pause check-ins: the patient's check-ins stop; the patient and staff are told."""
        kit = self.kit
        patients = self.patients
        patient = await patients.get_by_id(report.patient_id)
        if patient is None or patient.telegram_id is None:
            return [kit.notice("button_unknown")]
        if patient.checkins_paused:
            return [kit.notice("already_paused", name=kit.patient_name(report))]
        checkins = self.checkins
        if checkins is not None:
            await checkins.stop(patient.id)
        else:
            await patients.set_checkins_paused(patient.telegram_id, True)
        await self.store.record(report.id, user_id, ReportAction.PAUSED, now=kit.now())
        return [kit.notice("paused_notice", name=kit.patient_name(report)),
                kit.about(report.id, "paused", card_id, id=report.id,
                          name=kit.patient_name(report), staff=kit.staff_name(user_id)),
                *kit.to_patient(report, kit.text("patient_paused"))]
