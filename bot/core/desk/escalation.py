"""Emergency and urgent cards nobody took in time: their re-posts are owed (by day to the
staff chat with a mention, at night to each on-call staff member's private chat), waiting in
wall-clock time for emergencies and in opening time for urgent cards."""

from __future__ import annotations

import datetime as dt
import logging

from bot.core.availability import Availability
from bot.core.desk.kit import DeskKit
from bot.core.ports import CardOutbox, DeskReports
from bot.core.replies import Reply
from storage.models import Urgency

log = logging.getLogger(__name__)


class Escalations:
    """Thresholds, waiting time and the re-posts owed."""

    def __init__(self, kit: DeskKit, store: DeskReports, outbox: CardOutbox,
                 availability: Availability) -> None:
        self.kit = kit
        self.store = store
        self.outbox = outbox
        self.availability = availability

    def thresholds(self) -> dict[str, dt.timedelta]:
        """How long an emergency / urgent card may wait for somebody to take it (emergencies
        in wall-clock time, urgent cards in opening time when hours are configured)."""
        settings = self.kit.settings
        emergency = getattr(settings, "escalation_emergency_minutes", 15)
        urgent = getattr(settings, "escalation_urgent_minutes", 60)
        return {Urgency.EMERGENCY.value: dt.timedelta(minutes=emergency),
                Urgency.URGENT.value: dt.timedelta(minutes=urgent)}

    def waited(self, urgency: str | None, since: dt.datetime, now: dt.datetime) -> dt.timedelta:
        """How long a card has waited towards its re-post: wall-clock time for emergencies,
        opening time for urgent cards (wall-clock time without configured hours)."""
        if urgency == Urgency.URGENT.value:
            opened = self.availability.open_time(since, now)
            if opened is not None:
                return opened
        return now - since

    async def escalations(self) -> list[Reply]:
        """Owe re-posts of emergency/urgent cards nobody took in time; the alert sender
        delivers them (and retries them like cards). By day (and with nobody on call) they
        go to the staff chat with a mention; outside opening hours to each on-call staff
        member's private chat, under their copy of the card."""
        if self.kit.staff_chat is None:
            return []
        thresholds = self.thresholds()
        now = self.kit.now()
        owed = 0
        oncall = self.availability.oncall_now(now)
        chats: tuple[int | None, ...] = tuple(sorted(oncall)) or (None,)
        for report, card in await self.store.unanswered(thresholds, now=now):
            assert report.urgency is not None
            if self.waited(report.urgency, card.created_at, now) < thresholds[report.urgency]:
                continue  # urgent: not that much opening time yet
            if not await self.outbox.owe_repost(report.id, thresholds[report.urgency], now,
                                                chats):
                continue  # another replica re-posts this one
            owed += 1
            log.warning("report %d (%s) not taken after %s: re-post owed (%s)", report.id,
                        report.urgency, self.kit.age(now - report.created_at),
                        "on call" if oncall else "staff chat")
        if owed:
            self.kit.wake()
        return []
