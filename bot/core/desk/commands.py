"""Staff commands: /queue, /report N, /patient NAME, /gaps, /resolve N note, /reopen N and
/cancel, in the staff chat or from a staff member in their private chat with the bot."""

from __future__ import annotations

import html
from collections.abc import Sequence

from bot.core.desk.access import StaffGate
from bot.core.desk.kit import DeskKit, Here
from bot.core.desk.labels import number
from bot.core.desk.pending import PendingActions
from bot.core.desk.resolutions import Resolutions
from bot.core.desk.views import DeskViews
from bot.core.ports import DeskReports
from bot.core.replies import Reply

DESK_COMMANDS = ("queue", "report", "patient", "gaps", "resolve", "reopen", "cancel")


class StaffCommands:
    """Answers the desk's commands; other commands go to the conversation."""

    def __init__(self, kit: DeskKit, gate: StaffGate, store: DeskReports,
                 pending: PendingActions, views: DeskViews, resolutions: Resolutions) -> None:
        self.kit = kit
        self.gate = gate
        self.store = store
        self.pending = pending
        self.views = views
        self.resolutions = resolutions

    async def staff_command(self, user_id: int, first_name: str, chat_id: int,
                            message_id: int | None, name: str | None,
                            args: Sequence[str]) -> list[Reply] | None:
        """/queue, /report N, /patient NAME, /gaps, /resolve N note, /reopen N, /cancel in the
        staff chat, or from a staff member in their private chat with the bot (answered
        there; on call at night they may have no staff chat at hand); None for other
        commands (they go to the conversation). In a private chat, /report without a number
        and /cancel with nothing pending are the patient commands of those names, and
        anyone not on the staff list gets the conversation as before."""
        kit = self.kit
        if name not in DESK_COMMANDS:
            return None
        here: Here = None
        if chat_id != kit.staff_chat:
            if not kit.is_staff(user_id) or message_id is None:
                return None
            if name == "report" and not args:
                return None
            if name == "cancel" and await self.pending.of(user_id) is None:
                return None
            here = (chat_id, message_id)
        if not await self.gate.allows(user_id, number(args[0]) if args else None,
                                      f"use /{name}"):
            return [kit.to_staff("not_staff_command", message_id)]
        kit.seen(user_id, first_name)
        views = self.views
        if name == "queue":
            return [kit.long(await views.queue_text(), message_id, here)]
        if name == "gaps":
            return [kit.long(html.escape(await views.gaps_text(), quote=False), message_id,
                             here)]
        if name == "patient":
            return [kit.long(await views.patient_text_for(" ".join(args)), message_id, here)]
        if name == "cancel":
            dropped = await self.pending.of(user_id)
            await self.pending.drop(user_id)
            return [kit.answer("cancelled" if dropped else "nothing_pending", message_id,
                               here)]
        report_id = number(args[0]) if args else None
        if report_id is None:
            return [kit.answer(f"usage_{name}", message_id, here)]
        if name == "report":
            return [kit.long(await views.history_text(report_id), message_id, here)]
        if name == "resolve":
            note = " ".join(args[1:]).strip()
            if not note:
                chosen = await self.store.get(report_id)
                if chosen is None:
                    return [kit.answer("no_report", message_id, here, id=report_id)]
                await self.pending.set(user_id, "resolve", report_id, chosen.patient_id)
                return [kit.answer("resolve_prompt", message_id, here, id=report_id,
                                   staff=kit.staff_name(user_id))]
            return await self.resolutions.resolve(user_id, report_id, note, message_id, here)
        return await self.resolutions.reopen(user_id, report_id, message_id, here)
