"""The patient side of reports: ``/report`` (asks what is wrong, then takes text and photos),
threading of the patient's messages into the report staff answered, photos kept as Telegram
file ids, and a check-in answer's description joining its report; what the patient adds goes
to the staff chat and, outside opening hours, to each on-call staff member. It holds no
reference to the conversation; it is the conversation's `bot.core.ports.PatientDesk`."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from bot.core.alert_topics import AlertTopics, load_alert_topics
from bot.core.desk.cards import Cards
from bot.core.desk.kit import DeskKit
from bot.core.flows.base import BotSettings, FlowKit, TurnContext
from bot.core.flowstate import Flow
from bot.core.ports import CheckinEvents, DeskReports, OpenAlert
from bot.core.replies import Reply
from knowledge.advisor import Advice
from scheduler.clinic_hours import ONCALL_URGENCIES
from storage import ReportInfo, ReportKind
from storage.models import ReportAction, Urgency
from storage.report_info import URGENCY_RANK

RECENT_REPORT = dt.timedelta(hours=2)  # photos this soon after a report join it
# a follow-up this short ("ok", "ok merci", "what now") does not say which language the patient
# speaks: the safety line comes in the language of their alert, unless the detector is sure
SHORT_FOLLOW_UP_WORDS = 3
SURE_LANGUAGE = 0.9


def alert_tier(report: ReportInfo, now: dt.datetime, settings: BotSettings) -> str | None:
    """The safety line an unresolved red-flag report still calls for at `now`: "emergency"
    within `alert_open_emergency_hours` of an emergency alert (call the emergency number now,
    stay with someone), "urgent" within `alert_open_urgent_hours` of an urgent or emergency
    one (contact the clinic or urgent care today: the guidance's "today" for urgent signs, and
    what an emergency still open a day later calls for at least); None once resolved, for a
    report without urgency, or past the window (the bot answers as usual again).

    The windows count from the report's newest red flag (`ReportInfo.alerted`: the one that
    raised it, or a later one threaded into it, which may have made it an emergency), not
    from the patient's ordinary follow-ups: "ok" does not keep "call the emergency number
    now" going for ever (ARCHITECTURE.md, "After a red flag")."""
    if report.closed or report.urgency not in (Urgency.EMERGENCY.value, Urgency.URGENT.value):
        return None
    age = now - report.alerted
    if (report.urgency == Urgency.EMERGENCY.value
            and age <= dt.timedelta(hours=settings.alert_open_emergency_hours)):
        return Urgency.EMERGENCY.value
    if age <= dt.timedelta(hours=settings.alert_open_urgent_hours):
        return Urgency.URGENT.value
    return None


@dataclass
class Draft:
    """A patient's /report in progress: "describe" waits for words, "photos" for photos.

    Read from and written to the report flow (bot/core/flowstate.py, steps "describe" and
    "more"), whose end time is fixed when /report starts."""

    stage: str
    report_id: int | None = None


@dataclass(frozen=True)
class PhotoPlaced:
    """What became of a patient's photo: the replies (None: not the desk's photo, the
    conversation answers it) and the report it joined (None: it was kept nowhere)."""

    replies: list[Reply] | None
    report_id: int | None = None


class PatientReports:
    """/report, threads with staff, photos, check-in descriptions."""

    def __init__(self, flow_kit: FlowKit, kit: DeskKit, store: DeskReports, cards: Cards,
                 checkins: CheckinEvents | None = None,
                 alert_topics: AlertTopics | None = None) -> None:
        self.flow_kit = flow_kit
        self.kit = kit
        self.store = store
        self.cards = cards
        self.checkins = checkins
        # the aftercare topics that overlap a red flag's sign (bot/core/alert_topics.yaml)
        self.alert_topics = alert_topics or load_alert_topics()

    async def draft(self, user_id: int,
                     states: Mapping[str, Any] | None = None) -> Draft | None:
        """The patient's /report in progress (the report flow, bot/core/flows/report.py);
        `states` (kind -> payload) when already read."""
        flows = self.flow_kit.flows
        active = await flows.current(user_id, dict(states) if states is not None else None)
        if active is None or active.flow is not Flow.REPORT or active.ended(self.kit.now()):
            return None
        return Draft("describe" if active.step == "describe" else "photos",
                      active.get_int("report_id"))

    async def save_draft(self, user_id: int, draft: Draft) -> None:
        flows = self.flow_kit.flows
        step = "describe" if draft.stage == "describe" else "more"
        active = await flows.current(user_id)
        if active is not None and active.flow is Flow.REPORT and not active.ended(self.kit.now()):
            await flows.advance(user_id, active, step, report_id=draft.report_id)
        else:
            await flows.begin(user_id, Flow.REPORT, step, report_id=draft.report_id)

    async def patient_report(self, user_id: int, text: str) -> list[Reply]:
        """The words of a /report (bot/core/flows/report.py): triaged, a report and its card;
        the report flow moves on to details and photos."""
        return await self._new_report(user_id, text, Draft("describe"))

    async def add_to_report(self, user_id: int, report_id: int, text: str,
                            advice: Advice | None = None,
                            alert: bool = False) -> list[Reply] | None:
        """More words for the patient's open report (triaged, unless `advice` is the triage
        already made of them; threaded under its card); None when that report is gone or
        closed. `alert`: they follow a red flag outside /report (bot/core/flows/advice.py),
        so an urgent report's safety line is repeated too (`_thread`)."""
        report = await self.store.get(report_id)
        if report is None or report.closed:
            return None
        return await self._thread(user_id, report, text, advice, engaged=not alert)

    async def open_alert(self, user_id: int) -> OpenAlert | None:
        """The patient's most severe unresolved red flag still within its window
        (`alert_tier`: an emergency's line over an urgent one, then the newest), whatever
        reports came after it (an "ask the clinic" question does not end it), with the safety
        line it calls for, the language the alert was written in and the aftercare topics
        that overlap its signs (bot/core/alert_topics.yaml); None when there is none."""
        now, settings = self.kit.now(), self.flow_kit.settings
        best: tuple[int, ReportInfo, str] | None = None
        for report in await self.store.open_alerts(user_id):
            tier = alert_tier(report, now, settings)
            if tier is None:
                continue
            rank = URGENCY_RANK[tier]
            if best is None or (rank, -report.alerted.timestamp()) < (
                    best[0], -best[1].alerted.timestamp()):
                best = (rank, report, tier)
        if best is None:
            return None
        _, report, tier = best
        language, signs = self._alert_reading(report)
        return OpenAlert(report.id, tier, language, self.alert_topics.overlapping(signs))

    def _alert_reading(self, report: ReportInfo) -> tuple[str, set[str]]:
        """The language of the report's newest red-flag words and the signs of all of them,
        read again from the words kept on the report (the same triage that raised it)."""
        signs: set[str] = set()
        language = "en"
        for words in (report.text, report.latest_text):
            if not words:
                continue
            advice = self.flow_kit.advisor.ask(words, report.day)
            language = advice.language
            if advice.triage is not None and advice.triage.sign:
                signs.update((advice.triage.sign, *advice.triage.others))
        return language, signs

    def _line_language(self, report: ReportInfo, text: str, advice: Advice) -> str:
        """The language of the safety line: the message's own, unless it is too short to
        tell ("ok" after a French alert) and not surely another language; then the alert's."""
        sure = (advice.language != "en" and advice.detected is not None
                and advice.detected.confidence >= SURE_LANGUAGE)
        if sure or len(text.split()) > SHORT_FOLLOW_UP_WORDS:
            return advice.language
        return self._alert_reading(report)[0]

    async def patient_text(self, user_id: int, chat_id: int, first_name: str,
                           text: str, may_have_thread: bool = True,
                           states: Mapping[str, Any] | None = None) -> list[Reply] | None:
        """A patient's text: the words of a /report, or a message in a thread with staff;
        None when it is an ordinary message for the bot. ``may_have_thread`` False (the
        patient has no unresolved report) skips looking for a thread; `states` (kind ->
        payload, from the conversation's per-message read) saves reading the draft again."""
        del states  # a /report in progress is the report flow's (bot/core/flows/report.py)
        if not may_have_thread:
            return None
        report = await self.store.thread_for(user_id)
        if report is None:
            return None
        if alert_tier(report, self.kit.now(), self.flow_kit.settings) != Urgency.EMERGENCY.value:
            # an emergency still within its window has its line everywhere: a thread about
            # something else (a question staff answered) does not hide it; the words join it
            alert = await self.open_alert(user_id)
            if (alert is not None and alert.tier == Urgency.EMERGENCY.value
                    and alert.report_id != report.id):
                report = await self.store.get(alert.report_id) or report
        return await self._thread(user_id, report, text, engaged=True)

    async def _new_report(self, user_id: int, text: str, draft: Draft) -> list[Reply]:
        ctx = await self.flow_kit.context(user_id)
        advice = self.flow_kit.advisor.ask(text, ctx.day)
        urgency = advice.urgency if advice.escalate else None
        reason = advice.triage.reason if advice.escalate and advice.triage else None
        kind = ReportKind.TRIAGE if urgency else ReportKind.PATIENT
        report = await self.flow_kit.reports.create(user_id, kind, text, urgency=urgency,
                                                day=ctx.day, reason=reason, now=self.kit.now())
        if urgency and self.checkins is not None:
            await self.checkins.report_raised(report)
        replies: list[Reply] = []
        if urgency:
            replies += self.flow_kit.html(html.escape(advice.answer, quote=False))
        return replies + await self._described(user_id, ctx, report, draft)

    async def kept_report(self, user_id: int, report: ReportInfo) -> list[Reply]:
        """The words of the patient's /report came during a database outage and are stored
        now as `report` (bot/telegram/spooling.py's replay): the report flow moves on to
        details and photos of it, as `patient_report` would have done; what the patient
        would have been told then, but the advice they were given at once."""
        ctx = await self.flow_kit.context(user_id)
        return await self._described(user_id, ctx, report, Draft("describe"))

    async def _described(self, user_id: int, ctx: TurnContext, report: ReportInfo,
                         draft: Draft) -> list[Reply]:
        """`report` was raised by the words of `draft`: the flow moves on to its details
        and photos; the patient is told it is with the clinic (when it will be read)."""
        draft.stage, draft.report_id = "photos", report.id
        await self.save_draft(user_id, draft)
        status = self.flow_kit.when_read(
            "urgent" if report.urgency == Urgency.URGENT.value else "report", ctx.patient,
            id=report.id)
        return (self.flow_kit.html(self.kit.text("patient_sent", status=status))
                + self.cards.card(report))

    async def _thread(self, user_id: int, report: ReportInfo, text: str,
                      advice: Advice | None = None, engaged: bool = False) -> list[Reply]:
        """The patient wrote while a report is being handled: it goes into that report.
        While the report is a red flag within its window (`alert_tier`) the patient is told
        the safety line again (never a plain "sent"), in the language they wrote in; while
        the patient is `engaged` with the clinic already (a thread staff replied in, the
        details of a /report), only an emergency's: "contact the clinic today" would be
        beside the point there. Staff see the words under the card ("💬 ... wrote", on call
        too: `_to_staff`); a red flag in them that raises the report's urgency is owed to
        staff as a raising repeat is (`Cards.flagged`: one loud message with these words, the
        mentions and the taker's, through the alert outbox) in place of that line."""
        if advice is None:
            advice = self.flow_kit.advisor.ask(text, report.day)
        await self.store.record(report.id, user_id, ReportAction.PATIENT, note=text,
                                now=self.kit.now())
        raised = False
        replies: list[Reply] = []
        flag = ""
        if advice.escalate and advice.urgency:  # a red flag: the report's newest alert
            # raised: staff are owed the raise, which carries these words
            raised = await self.cards.flagged(report.id, text, advice.urgency)
            flag = advice.urgency.upper() + " "
            answer = html.escape(advice.answer, quote=False)
            if advice.urgency == Urgency.URGENT.value:  # emergency advice: as it is
                patient = await self.flow_kit.patients.get(user_id)
                answer += "\n\n" + self.flow_kit.when_read("urgent", patient)
            replies += self.flow_kit.html(answer)
        elif ((tier := alert_tier(report, self.kit.now(), self.flow_kit.settings)) is not None
              and not (engaged and tier == Urgency.URGENT.value)):
            replies += self.flow_kit.html(await self._safety_line(
                user_id, report, tier, self._line_language(report, text, advice)))
        else:
            replies += self.flow_kit.html(self.kit.text("patient_threaded", id=report.id))
        if raised:
            return replies
        return replies + await self._to_staff(report, self._wrote(report, text, flag))

    def _wrote(self, report: ReportInfo, text: str, flag: str) -> Reply:
        """What staff are shown of the patient's words added to `report` (no chat yet)."""
        words = text if len(text) <= 3000 else text[:3000] + "…"
        return Reply(self.kit.text("patient_wrote", flag=flag, id=report.id,
                                   name=self.kit.patient_name(report), text=words),
                     card_for=report.id, card_kind="message")

    async def _to_staff(self, report: ReportInfo, shown: Reply) -> list[Reply]:
        """`shown` (the patient's words or photo added to `report`) for the staff chat,
        under the report's newest message there, and for each on-call staff member
        (`_oncall`)."""
        replies: list[Reply] = []
        if self.kit.staff_chat is not None:
            card = await self.store.latest_card(report.id, ("card", "repost", "message"),
                                                 chat_id=self.kit.staff_chat)
            replies.append(replace(shown, to_chat=self.kit.staff_chat,
                                   reply_to=card.message_id if card else None))
        return replies + await self._oncall(report, shown)

    async def _safety_line(self, user_id: int, report: ReportInfo, tier: str,
                           language: str) -> str:
        """What a patient whose red flag is still open is told about a message that is not
        a new one (HTML): call the emergency number now, or contact the clinic today, and
        that the message is with the report; urgent says when the clinic reads it."""
        patient = await self.flow_kit.patients.get(user_id)
        if language != "en":
            text = html.escape(self.flow_kit.advisor.language_text(
                language, f"alert_open_{tier}"), quote=False)
            if tier == Urgency.URGENT.value:
                text += self.flow_kit.closed_note("urgent", language, patient)
            return text
        text = self.kit.text(f"alert_open_{tier}", id=report.id)
        if tier == Urgency.URGENT.value:
            text += "\n\n" + self.flow_kit.when_read("urgent", patient)
        return text

    async def patient_photo(self, user_id: int, chat_id: int, first_name: str, file_id: str,
                            caption: str | None = None) -> list[Reply] | None:
        """A photo from a patient: kept (file id only) with their /report, their thread with
        staff, or a report they raised in the last two hours; None otherwise."""
        return (await self.place_photo(user_id, chat_id, first_name, file_id, caption)).replies

    async def place_photo(self, user_id: int, chat_id: int, first_name: str, file_id: str,
                          caption: str | None = None) -> PhotoPlaced:
        """`patient_photo`, saying which report the photo joined (none when a /report still
        waits for its words, or no report is the patient's to add it to)."""
        draft = await self.draft(user_id)
        if draft is not None and draft.stage == "describe":
            if not caption:
                return PhotoPlaced(self.flow_kit.html(self.kit.text("patient_words_first")))
            replies = await self._new_report(user_id, caption, draft)
            report = await self.store.get(draft.report_id or 0)
        else:
            replies = []
            report = await self._photo_target(user_id, draft)
            if report is None:
                return PhotoPlaced(None)
            if caption and caption.strip():
                replies += await self._thread(user_id, report, caption)
        assert report is not None
        return PhotoPlaced(replies + await self._add_photo(report, user_id, file_id), report.id)

    async def photo_for_report(self, report_id: int, user_id: int,
                               file_id: str) -> PhotoPlaced:
        """Add a photo to report `report_id` itself (a photo sent, during a database outage,
        between /report and the words that raised it); not placed when the report is gone."""
        report = await self.store.get(report_id)
        if report is None:
            return PhotoPlaced(None)
        return PhotoPlaced(await self._add_photo(report, user_id, file_id), report.id)

    async def _add_photo(self, report: ReportInfo, user_id: int, file_id: str) -> list[Reply]:
        """Keep the photo with `report`; the patient's confirmation and staff's copies."""
        await self.store.add_photo(report.id, file_id, user_id, now=self.kit.now())
        shown = Reply(self.kit.text("photo_caption", id=report.id,
                                    name=self.kit.patient_name(report)),
                      photo=file_id, card_for=report.id, card_kind="photo")
        return (self.flow_kit.html(self.kit.text("patient_photo_added"))
                + await self._to_staff(report, shown))

    async def _oncall(self, report: ReportInfo, shown: Reply) -> list[Reply]:
        """Outside opening hours what staff are shown of a patient's addition to `report`
        (their words or a photo: `shown`) reaches each on-call staff member too, as a reply
        under their copy of the card, when they hold a copy or the report is an emergency or
        urgent one (raised by day, or made one just now: then without a copy to go under).
        The on-call list is read each time: whoever is no longer on it gets nothing. A
        staff member's reply to it there answers that report's patient (`StaffMessages`,
        which looks it up by their chat and the message)."""
        replies: list[Reply] = []
        for chat in sorted(self.flow_kit.availability.oncall_now(self.kit.now())):
            card = await self.store.latest_card(report.id, chat_id=chat)
            if card is None and report.urgency not in ONCALL_URGENCIES:
                continue
            replies.append(replace(shown, to_chat=chat,
                                   reply_to=card.message_id if card else None))
        return replies

    async def _photo_target(self, user_id: int, draft: Draft | None) -> ReportInfo | None:
        if draft is not None and draft.report_id is not None:
            report = await self.store.get(draft.report_id)
            if report is not None and not report.closed:
                return report
        report = await self.store.thread_for(user_id)
        if report is not None:
            return report
        latest = await self.store.latest_open(user_id)
        if latest is not None and self.kit.now() - latest.created_at <= RECENT_REPORT:
            return latest
        return None

    async def checkin_description(self, report_id: int, text: str, label: str,
                                  urgency: str | None, reason: str | None) -> list[Reply]:
        """A patient described the problem they answered a check-in with: the words join
        the report (its text and reason) and staff see it under the card (on call: under
        their copy, `_oncall`); when triage finds a red flag that raises the urgency, staff
        are owed the raise instead (`Cards.flagged`, which carries the words). Returns what
        staff are sent now."""
        await self.store.add_description(report_id, text, label, reason)
        report = await self.store.get(report_id)
        if report is None:
            return []
        await self.store.record(report_id, report.telegram_id, ReportAction.PATIENT, note=text,
                                now=self.kit.now())
        if urgency and await self.cards.flagged(report_id, text, urgency):
            return []  # the raise, owed in the alert outbox, carries the words
        flag = f"{urgency.upper()} " if urgency else ""
        return await self._to_staff(report, self._wrote(report, text, flag))
