"""What staff read: the queue (with the time to first staff action), one report's history,
one patient's sessions, check-ins and reports, the unanswered questions, and which on-call
staff the bot cannot reach."""

from __future__ import annotations

from bot.core.availability import Availability
from bot.core.desk.cards import Cards
from bot.core.desk.gaps import format_gaps, gaps
from bot.core.desk.kit import DeskKit
from bot.core.desk.labels import stamp
from bot.core.ports import CardOutbox, DeskReports
from bot.core.response_times import WINDOW, Summary, first_action_times, summarise


class DeskViews:
    """The texts of /queue, /report N, /patient NAME and /gaps (and the web desk's warnings)."""

    def __init__(self, kit: DeskKit, store: DeskReports, outbox: CardOutbox, cards: Cards,
                 availability: Availability) -> None:
        self.kit = kit
        self.store = store
        self.outbox = outbox
        self.cards = cards
        self.availability = availability

    async def response_figures(self) -> Summary:
        """Time to first staff action over the reports of the last 30 days: by the wall
        clock and in opening time (fair figures: bot/core/response_times.py)."""
        now = self.kit.now()
        pairs = await self.store.first_actions(now - WINDOW, now)
        return summarise(first_action_times(((raised, [("taken", first)])
                                             for raised, first in pairs),
                                            self.availability.hours))

    def figures_text(self, summary: Summary) -> str:
        """The /queue line about time to first staff action ("" without reports)."""
        kit = self.kit
        if not summary.count or summary.wall_median is None or summary.wall_p90 is None:
            return ""
        if summary.open_median is None or summary.open_p90 is None:
            return kit.text("queue_figures_plain", count=summary.count,
                            wall_median=kit.age(summary.wall_median),
                            wall_p90=kit.age(summary.wall_p90))
        return kit.text("queue_figures", count=summary.count,
                        wall_median=kit.age(summary.wall_median),
                        wall_p90=kit.age(summary.wall_p90),
                        open_median=kit.age(summary.open_median),
                        open_p90=kit.age(summary.open_p90))

    async def queue_text(self) -> str:
        """Open reports, most urgent and oldest first, with their age; then the time to first
        staff action of the last 30 days (wall clock and opening time)."""
        text = await self._queue_lines()
        figures = self.figures_text(await self.response_figures())
        return text + ("\n\n" + figures if figures else "")

    async def _queue_lines(self) -> str:
        kit = self.kit
        reports = await self.store.queue()
        owed = await self.outbox.owed()
        warning = [kit.text("queue_owed", count=owed)] if owed else []
        warning += await self.unreachable_lines()
        if not reports:
            return "\n".join([*warning, kit.text("queue_empty")])
        now = kit.now()
        lines = [*warning, kit.text("queue_title", count=len(reports))]
        for report in reports[:50]:
            status = (kit.text("queue_taken", staff=kit.staff_name(report.taken_by))
                      if report.status == "taken" else kit.text("queue_open"))
            words = report.text if len(report.text) <= 60 else report.text[:60] + "…"
            lines.append(kit.text("queue_line", id=report.id, label=kit.label(report),
                                  name=kit.patient_name(report),
                                  age=kit.age(now - report.created_at),
                                  status=status, text=words,
                                  day=report.day if report.day is not None else "?"))
        return "\n".join(lines)

    async def unreachable_lines(self, plain: bool = False) -> list[str]:
        """A line (HTML; `plain` text for the web desk) per on-call staff member the bot
        could not write to privately (they never pressed Start in a private chat with it,
        or blocked it): their copies of cards were given up, so they must open the chat
        before the next night."""
        kit = self.kit
        say = kit.plain if plain else kit.text
        return [say("queue_unreachable", staff=kit.staff_name(chat), id=chat, count=count)
                for chat, count in await self.outbox.unreachable()]

    async def history_text(self, report_id: int) -> str:
        """/report N: the card, its state, photos and every action with who and when."""
        kit = self.kit
        report = await self.store.get(report_id)
        if report is None:
            return kit.text("no_report", id=report_id)
        lines = [self.cards.card_text(report), "",
                 kit.text("history_status", status=report.status,
                          created=stamp(report.created_at),
                          photos=len(await self.store.photos(report_id)))]
        if report.resolution_note:
            lines.append(kit.text("history_note", note=report.resolution_note))
        for action in await self.store.actions(report_id):
            who = ("patient" if action.action in ("patient", "photo") else
                   "bot" if action.actor_telegram_id is None else
                   f"{kit.staff_name(action.actor_telegram_id)} ({action.actor_telegram_id})")
            lines.append(kit.text("history_line", when=stamp(action.created_at),
                                  action=action.action, who=who, note=action.note or ""))
        return "\n".join(lines)

    async def patient_text_for(self, name: str) -> str:
        """/patient NAME: sessions, check-ins and reports of matching patients."""
        kit = self.kit
        if not name.strip():
            return kit.text("usage_patient")
        found = await self.store.find_patients(name)
        if not found:
            return kit.text("no_patient", name=name)
        blocks = []
        for p in found:
            sessions = ", ".join(d.isoformat() + (" (cancelled)" if c else "")
                                 for d, c in p.sessions) or "none"
            checkins = ", ".join(f"{n} {s}" for s, n in sorted(p.checkins.items())) or "none"
            lines = [kit.text("patient_head", name=p.name or kit.messages.render(
                "staff_unknown_name"), telegram_id=p.telegram_id or "-",
                paused="paused" if p.checkins_paused else "on"),
                kit.text("patient_sessions", sessions=sessions),
                kit.text("patient_checkins", checkins=checkins)]
            for r in p.reports:
                words = r.text if len(r.text) <= 60 else r.text[:60] + "…"
                lines.append(kit.text("patient_report", id=r.id, label=kit.label(r),
                                      status=r.status, created=stamp(r.created_at),
                                      text=words))
            blocks.append("\n".join(lines))
        return "\n\n".join(blocks)

    async def gaps_text(self) -> str:
        """Unanswered questions grouped by similarity (plain text)."""
        return format_gaps(await gaps(self.store), self.kit.messages)
