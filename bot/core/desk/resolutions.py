"""Resolving a report with a note (it releases the check-ins it held and tells the patient),
and reopening a resolved one (a fresh card, on-call copies at night)."""

from __future__ import annotations

from bot.core.availability import Availability
from bot.core.desk.access import StaffGate
from bot.core.desk.copies import CardCopies
from bot.core.desk.kit import DeskKit, Here
from bot.core.desk.pending import PendingActions
from bot.core.ports import CardOutbox, CheckinEvents, DeskReports
from bot.core.replies import Reply
from scheduler.clinic_hours import ONCALL_URGENCIES
from storage.models import AlertKind


class Resolutions:
    """Resolve with a note; reopen."""

    def __init__(self, kit: DeskKit, gate: StaffGate, store: DeskReports, outbox: CardOutbox,
                 copies: CardCopies, pending: PendingActions, availability: Availability,
                 checkins: CheckinEvents | None = None) -> None:
        self.kit = kit
        self.gate = gate
        self.store = store
        self.outbox = outbox
        self.copies = copies
        self.pending = pending
        self.availability = availability
        self.checkins = checkins

    async def resolve(self, user_id: int, report_id: int, note: str,
                      message_id: int | None = None, here: Here = None) -> list[Reply]:
        """Close the report with a note; releases check-ins it held; tells the patient.
        (`here`: the staff member wrote the note in their private chat, on call.)"""
        kit = self.kit
        if not await self.gate.allows(user_id, report_id, "resolve"):
            return [kit.answer("not_staff_command", message_id, here)]
        if not note:
            return [kit.answer("note_needed", message_id, here, id=report_id)]
        result = await self.store.resolve(report_id, user_id, note[:2000], now=kit.now())
        if result.report is None:
            return [kit.answer("no_report", message_id, here, id=report_id)]
        if not result.ok:
            return [kit.answer("already_resolved_chat", message_id, here, id=report_id,
                               staff=kit.staff_name(result.report.resolved_by))]
        await self.pending.drop_all_of(report_id)
        await self.copies.sync(report_id)
        checkins = self.checkins
        if checkins is not None:
            await checkins.report_resolved(report_id)
        card = await self.copies.group_card(report_id)
        done = [kit.about(report_id, "resolved", card if card or here else message_id,
                          id=report_id, staff=kit.staff_name(user_id), note=note)]
        if here is not None:  # on call: the note was written in a private chat
            done.append(Reply(kit.text("resolved", id=report_id, staff=kit.staff_name(user_id),
                                       note=note), to_chat=here[0], reply_to=here[1],
                              card_for=report_id, card_kind="notice"))
        return [*done, *kit.to_patient(result.report, kit.text("patient_resolved"))]

    async def reopen(self, user_id: int, report_id: int, message_id: int | None,
                     here: Here = None) -> list[Reply]:
        """Reopen a resolved report: a fresh card is owed (on-call copies at night)."""
        kit = self.kit
        result = await self.store.reopen(report_id, user_id, now=kit.now())
        if result.report is None:
            return [kit.answer("no_report", message_id, here, id=report_id)]
        if not result.ok:
            return [kit.answer("not_resolved", message_id, here, id=report_id)]
        now = kit.now()
        chats: list[int | None] = [None]  # a fresh card; at night on-call staff get one too
        if result.report.urgency in ONCALL_URGENCIES:
            chats += sorted(self.availability.oncall_now(now))
        await self.outbox.owe(report_id, AlertKind.CARD, now, chats)
        await self.copies.sync(report_id)
        kit.wake()
        reopened = kit.to_staff("reopened", None if here else message_id, id=report_id,
                                staff=kit.staff_name(user_id))
        if here is None:
            return [reopened]
        return [reopened, kit.answer("reopened", message_id, here, id=report_id,
                                     staff=kit.staff_name(user_id))]
