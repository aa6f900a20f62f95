"""The web desk's staff actions (bot/web/): Take / Reply / Resolve / Reopen / Pause with the
same checks, state changes and audit as the Telegram buttons and commands. The replies are
not sent here: the web desk puts them in its outbox and the bot sends them."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.desk.access import StaffGate
from bot.core.desk.kit import DeskKit
from bot.core.desk.labels import strip_tags
from bot.core.desk.presses import CardPresses
from bot.core.desk.relays import Relays
from bot.core.desk.resolutions import Resolutions
from bot.core.ports import DeskReports
from bot.core.replies import Reply

WEB_ACTIONS = ("take", "reply", "resolve", "reopen", "pause")


@dataclass(frozen=True)
class WebOutcome:
    """What a web-desk action did: `ok` when it changed something, a plain-text line for the
    staff member, and the messages to deliver (patient and staff chat) through the outbox."""

    ok: bool
    feedback: str
    replies: list[Reply]


class WebActions:
    """One web-desk action, checked against the staff list like every other."""

    def __init__(self, kit: DeskKit, gate: StaffGate, store: DeskReports,
                 presses: CardPresses, relays: Relays, resolutions: Resolutions) -> None:
        self.kit = kit
        self.gate = gate
        self.store = store
        self.presses = presses
        self.relays = relays
        self.resolutions = resolutions

    async def web_action(self, user_id: int, first_name: str, action: str, report_id: int,
                         text: str = "") -> WebOutcome:
        """Take / Reply / Resolve / Reopen / Pause from the web desk: the same checks, state
        changes and audit as the Telegram buttons and commands. The replies are not sent here:
        the web desk puts them in its outbox and the bot sends them."""
        kit = self.kit
        if action not in WEB_ACTIONS:
            return WebOutcome(False, kit.plain("button_unknown"), [])
        if not await self.gate.allows(user_id, report_id, f"web {action}"):
            return WebOutcome(False, kit.plain("not_staff_command"), [])
        kit.seen(user_id, first_name)
        report = await self.store.get(report_id)
        if report is None:
            return WebOutcome(False, kit.plain("no_report", id=report_id), [])
        if action == "take":
            replies = await self.presses.take(user_id, report, None)
        elif action == "reply":
            replies = await self.relays.relay(user_id, report_id, None, text, None, None)
        elif action == "resolve":
            replies = await self.resolutions.resolve(user_id, report_id, text.strip(), None)
        elif action == "reopen":
            replies = await self.resolutions.reopen(user_id, report_id, None)
        else:
            replies = await self.presses.pause(user_id, report, None)
        staff_chat = kit.staff_chat
        done = any(r.card_for is not None or (r.to_chat is not None and r.to_chat != staff_chat)
                   for r in replies if not r.notice)
        if action == "pause":
            done = any(r.to_chat == staff_chat and not r.notice for r in replies) or done
        feedback = next((r.text for r in replies if not r.notice and r.to_chat in (None,
                                                                                   staff_chat)),
                        next((r.text for r in replies if r.notice), ""))
        if action == "reply" and any(r.relay is not None for r in replies):
            feedback = kit.text("reply_queued", id=report_id, name=kit.patient_name(report))
        outgoing = [r for r in replies if not r.notice and r.to_chat is not None] if done else []
        return WebOutcome(done, strip_tags(feedback), outgoing)
