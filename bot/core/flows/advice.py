"""Questions answered from the knowledge base: triage first, then the advice, suggestion
buttons ("kb:<entry id>"), "ask the clinic" ("handoff") which passes the last question
on to staff as a report, and one-tap rule-out questions ("fu:<question id>:y" / ":n"): Yes
escalates at once like a red flag (report and staff card in the patient's own words), No is
recorded.

Red flags always get the emergency or urgent advice, a report and a staff alert, with or
without consent; in another language the advice comes in the patient's language and the staff
card says which language it was written in. A message in another language that the bot cannot
read goes to staff as it was written (within 14 days of a session), and the patient is told so
in their language; otherwise they are told, in their language, that the bot reads only English.
When that language's lexicon recognised a routine review in it (no alert), the card says so with
the triage line instead of "cannot read".

The question of a user who has not agreed to storage is kept in this
process's memory only (for "ask the clinic"), since nothing beyond the Telegram id may be
stored before consent.
"""

from __future__ import annotations

import datetime as dt
import html
from collections import OrderedDict
from dataclasses import replace

from aiolimiter import AsyncLimiter

from bot.core.flows.base import STATE_TTL, FlowKit, TurnContext
from bot.core.flows.sessions import SessionFlow
from bot.core.ports import AdvisorPort, CheckinEvents, OpenAlert, PatientDesk, ReportNotifier
from bot.core.replies import Button, Buttons, Reply
from knowledge.advisor import Advice
from storage import Direction, ReportKind
from storage.models import Urgency
from storage.reports import URGENCY_RANK

MAX_CALLBACK_DATA = 64
UNREADABLE_TO_STAFF_DAYS = 14  # messages the bot cannot read go to staff this long after a session
MAX_REMEMBERED_USERS = 10_000  # questions of users without consent, kept in memory only
STRANGER_RATE = 20  # answers to a user without consent ...
STRANGER_PERIOD = 600.0  # ... per this many seconds (red flags are always answered)
ANSWERED_WELL = 0.9  # while a red flag is open, only an answer this sure replaces the safety line


def topic_of(topic: str | None) -> str | None:
    """A topic as logged (at most 100 characters)."""
    return topic[:100] if topic else None


class AdviceFlow:
    """Advice for a text, a chosen suggestion, and the hand-off to the clinic."""

    def __init__(self, kit: FlowKit, alerts: ReportNotifier,
                 checkins: CheckinEvents | None, sessions: SessionFlow | None = None,
                 desk: PatientDesk | None = None) -> None:
        self.kit = kit
        self.alerts = alerts
        self.checkins = checkins
        self.sessions = sessions  # offers to log a treatment date the patient states
        self.desk = desk  # a red flag still open: what follows joins its report
        self._unconsented: OrderedDict[int, tuple[str, int | None, dt.datetime]] = OrderedDict()
        # rule-out questions asked of users without consent: (question id, their words, expiry)
        self._asked: OrderedDict[int, tuple[str, str, dt.datetime]] = OrderedDict()
        self._strangers: OrderedDict[int, AsyncLimiter] = OrderedDict()

    @property
    def advisor(self) -> AdvisorPort:
        """The advisor of the moment (the kit's: it follows the clinic's KB additions)."""
        return self.kit.advisor

    async def ask(self, user_id: int, ctx: TurnContext, text: str,
                  language_hint: str | None = None,
                  source: tuple[int, int] | None = None) -> list[Reply]:
        """Triage + advice for a patient's text (`language_hint`: Telegram's language_code;
        `source`: its chat and message id, kept with a report it raises so that an edit of
        it updates that report). Someone who has not agreed to storage gets at most
        `STRANGER_RATE` answers per `STRANGER_PERIOD` seconds (red flags always get their
        advice); past that, one line."""
        stated = self.sessions.stated(ctx, text) if self.sessions is not None else None
        if stated is not None and ctx.day is None:  # no session on file: the day they said
            ctx = replace(ctx, day=(self.kit.today(ctx.patient) - stated).days)
        weekday = self.kit.today(ctx.patient).weekday()
        advice = self.advisor.ask(text, ctx.day, language_hint, weekday=weekday)
        if (not ctx.consented and not advice.escalate
                and not await self._stranger_may_ask(user_id)):
            return self.kit.say("stranger_slow_down")
        alert = await self._open_alert(user_id, ctx, advice)
        # while a red flag is open the safety line replaces any reply but a confident
        # aftercare answer on another topic: an answer about the very thing that was flagged
        # ("how long will the swelling last?" after lip swelling) would reassure as if normal
        if alert is not None and (advice.kind != "answered" or advice.foreign
                                  or advice.confidence < ANSWERED_WELL
                                  or advice.topic in alert.topics):
            added = await self.desk.add_to_report(user_id, alert.report_id, text, advice,
                                                  alert=True) if self.desk else None
            if added is not None:
                return list(added)
        replies = await self.advise(user_id, ctx, text, advice, source)
        if alert is not None:  # an answer, with the safety line under it
            return replies + self.kit.say(f"alert_reminder.{alert.tier}", id=alert.report_id)
        if (stated is not None and self.sessions is not None and not advice.escalate
                and not advice.foreign):
            replies += await self.sessions.offer(user_id, ctx, stated)
        return replies

    async def _open_alert(self, user_id: int, ctx: TurnContext,
                          advice: Advice) -> OpenAlert | None:
        """The patient's red flag still open and recent (`PatientDesk.open_alert`), when
        this message is not itself a red flag (that one is triaged as always)."""
        if (self.desk is None or advice.escalate or ctx.patient is None
                or ctx.patient.open_reports <= 0):
            return None
        return await self.desk.open_alert(user_id)

    async def _stranger_may_ask(self, user_id: int) -> bool:
        """Take one of the unconsented user's answers (aiolimiter bucket, this process)."""
        limiter = self._strangers.pop(user_id, None) or AsyncLimiter(STRANGER_RATE,
                                                                     STRANGER_PERIOD)
        self._strangers[user_id] = limiter  # most recently seen last
        while len(self._strangers) > MAX_REMEMBERED_USERS:
            self._strangers.popitem(last=False)
        if not limiter.has_capacity():
            return False
        await limiter.acquire()  # returns at once: there is capacity
        return True

    async def edited(self, user_id: int, text: str, language_hint: str | None = None,
                     source: tuple[int, int] | None = None) -> list[Reply]:
        """An edited message (`source`: its chat and message id). An edit of the message
        that raised an open report updates that report and its card (the newest words, a
        higher urgency) instead of a new one; the patient hears again only when the edit
        made it more urgent. Otherwise only a red flag in the new text is acted on."""
        ctx = await self.kit.context(user_id)
        advice = self.advisor.ask(text, ctx.day, language_hint)
        urgency = advice.urgency if advice.escalate else None
        if source is not None:
            found = await self.alerts.edited(user_id, source[0], source[1], text, urgency)
            if found is not None:
                if urgency is not None and (URGENCY_RANK.get(urgency, 9)
                                            < URGENCY_RANK.get(found[1], 9)):
                    return self.kit.html(self._answer(ctx, advice))
                return []
        if not advice.escalate:
            return []
        return await self.advise(user_id, ctx, text, advice, source)

    def _answer(self, ctx: TurnContext, advice: Advice) -> str:
        """The advice as HTML; urgent advice says when the clinic reads it (in another language:
        while the clinic is closed, when it opens, in that language)."""
        answer = html.escape(advice.answer, quote=False)
        if advice.escalate and advice.urgency == Urgency.URGENT.value and advice.language == "en":
            answer += "\n\n" + self.kit.when_read("urgent", ctx.patient)  # emergency: as it is
        elif advice.escalate and advice.urgency == Urgency.URGENT.value:  # another language
            answer += self.kit.closed_note("urgent", advice.language, ctx.patient)
        return answer

    async def advise(self, user_id: int, ctx: TurnContext, text: str,
                     advice: Advice, source: tuple[int, int] | None = None) -> list[Reply]:
        """The replies for `advice` on `text`; escalations become reports for staff."""
        kit = self.kit
        if advice.foreign or advice.extra.get("forward_note"):
            return await self._unreadable(user_id, ctx, text, advice)
        replies: list[Reply] = []
        threaded = None
        if advice.escalate:  # the same open problem again?
            threaded = await self.alerts.repeat(user_id, text, advice.urgency)
        if advice.escalate and threaded is None:
            report = await kit.reports.create(
                user_id, ReportKind.TRIAGE, text, urgency=advice.urgency, day=ctx.day,
                reason=self.reason(advice), now=kit.clock(), source_message=source)
            replies += self.alerts.notify(report)
            if self.checkins is not None:  # hold the session's check-ins until resolved
                await self.checkins.report_raised(report)
        if (advice.offer_handoff or advice.suggestions) and ctx.consented:
            await kit.update_state(user_id, ctx, last_question=text, last_day=ctx.day,
                                   handed_off=False)
        elif advice.offer_handoff or advice.suggestions:  # no consent: nothing in the database
            self._remember_unconsented(user_id, text, ctx.day)
        if advice.follow_up is not None:
            await self._remember_follow_up(user_id, ctx, advice.follow_up.id, text)
        if ctx.consented:
            kit.log.add(user_id, [
                (Direction.IN, text, topic_of(advice.topic), advice.kind),
                (Direction.OUT, advice.answer, topic_of(advice.topic), None),
            ], now=kit.clock())
        answer = self._answer(ctx, advice)
        if advice.follow_up is not None:
            answer += "\n\n" + html.escape(advice.follow_up.question, quote=False)
        # other languages: only the rule-out question's buttons (their labels are translated)
        buttons = self._buttons(advice) if advice.language == "en" else self._ask_row(advice)
        return kit.html(answer, buttons) + replies

    def reason(self, advice: Advice) -> str | None:
        """The staff card's reason: the triage rule and, for another language, which one."""
        if advice.triage is None:
            return None
        if advice.detected is None:
            return advice.triage.reason
        return self.kit.messages.text("languages.reason_sign", reason=advice.triage.reason,
                                      **self._language(advice))

    def _language(self, advice: Advice) -> dict[str, str]:
        code = advice.detected.code if advice.detected else "und"
        return {"language": self.advisor.language_name(code), "code": code}

    def _foreign_reason(self, advice: Advice) -> str:
        """The card's reason for a message in another language passed on without an alert:
        the routine review the bot recognised in that language ("die Rötung wird nicht
        besser" on day 3), with its triage line as in English; else that it cannot read it."""
        if advice.routine_review and advice.triage is not None:
            return self.kit.messages.text("languages.reason_review",
                                          reason=advice.triage.reason, **self._language(advice))
        return self.kit.messages.text("languages.reason_unreadable", **self._language(advice))

    async def _unreadable(self, user_id: int, ctx: TurnContext, text: str,
                          advice: Advice) -> list[Reply]:
        """A message in another language with no red flag the bot can see: within 14 days of
        a session it goes to staff as written and the patient is told so, in their language;
        otherwise the patient is told, in their language, that the bot reads only English. An
        everyday question the bot recognised in that language gets the English answer, with a
        line in their language that the team has the message too when it was passed on."""
        kit = self.kit
        recent = (ctx.session is not None and ctx.day is not None
                  and 0 <= ctx.day <= UNREADABLE_TO_STAFF_DAYS)
        replies: list[Reply] = []
        answer = advice.answer
        if recent and ctx.consented:
            reason = self._foreign_reason(advice)
            report = await kit.reports.create(user_id, ReportKind.PATIENT, text,
                                                   day=ctx.day, reason=reason, now=kit.clock())
            replies = self.alerts.notify(report)
            forward_note = advice.extra.get("forward_note")
            # a routine review recognised in their language gets, like an English routine
            # review, what to watch for (and no "I can only read English")
            key = "review_forwarded" if advice.routine_review else "forwarded"
            answer = (f"{advice.answer}\n\n{forward_note}" if forward_note
                      else self.advisor.language_text(advice.language, key))
            note = kit.closed_note("handoff", advice.language, ctx.patient)  # hours-aware
        else:
            note = ""
        shown = html.escape(answer, quote=False) + note
        if advice.follow_up is not None:  # unsure: the rule-out question, in their language
            await self._remember_follow_up(user_id, ctx, advice.follow_up.id, text)
            answer += "\n\n" + advice.follow_up.question
            shown += "\n\n" + html.escape(advice.follow_up.question, quote=False)
        if ctx.consented:
            kit.log.add(user_id, [
                (Direction.IN, text, topic_of(advice.topic), advice.kind),
                (Direction.OUT, answer, topic_of(advice.topic), None),
            ], now=kit.clock())
        return kit.html(shown, self._ask_row(advice)) + replies

    @staticmethod
    def _ask_row(advice: Advice) -> Buttons:
        """Only the rule-out question's Yes / No row (or nothing)."""
        ask = advice.follow_up
        if ask is None:
            return ()
        return (((ask.yes, f"fu:{ask.id}:y"), (ask.no, f"fu:{ask.id}:n")),)

    async def _remember_follow_up(self, user_id: int, ctx: TurnContext, question_id: str,
                                  text: str) -> None:
        """Which rule-out question was asked, about which words: in the chat state with
        consent, in this process's memory without (nothing is stored before consent)."""
        if ctx.consented:
            await self.kit.update_state(user_id, ctx, follow_up=question_id, follow_up_text=text)
            return
        self._asked.pop(user_id, None)
        self._asked[user_id] = (question_id, text, self.kit.clock() + STATE_TTL)
        while len(self._asked) > MAX_REMEMBERED_USERS:
            self._asked.popitem(last=False)

    async def typed_follow_up(self, user_id: int, ctx: TurnContext,
                              text: str) -> list[Reply] | None:
        """A bare "yes" or "no" typed (in English or the question's language) while a rule-out
        question is open is the tap on its button: Yes escalates, No is recorded. None when
        no question is open or the text is more than an answer (it is read as a message)."""
        question_id = await self._open_question(user_id, ctx)
        if question_id is None:
            return None
        said = self.advisor.typed_answer(question_id, text)
        if said is None:
            return None
        return await self.follow_up_answer(user_id, f"{question_id}:{'y' if said else 'n'}")

    async def _open_question(self, user_id: int, ctx: TurnContext) -> str | None:
        """The rule-out question this user was last asked and has not answered."""
        if ctx.consented:
            return (await self.kit.state(user_id, ctx)).follow_up
        pending = self._asked.get(user_id)
        if pending is not None and pending[2] > self.kit.clock():
            return pending[0]
        return None

    async def follow_up_answer(self, user_id: int, argument: str) -> list[Reply]:
        """A tap on "fu:<question id>:y|n". Only the question this user was last asked
        counts; anything else (stale, forged) gets the expired-button notice."""
        kit = self.kit
        question_id, _, choice = argument.partition(":")
        ctx = await kit.context(user_id)
        state = await kit.state(user_id, ctx)
        text: str | None = None
        if state.follow_up == question_id and state.follow_up_text:
            text = state.follow_up_text
            await kit.update_state(user_id, ctx, follow_up=None, follow_up_text=None)
        else:
            pending = self._asked.get(user_id)
            if pending is not None and pending[0] == question_id and pending[2] > kit.clock():
                text = pending[1]
                del self._asked[user_id]
        advice = self.advisor.answer_follow_up(question_id, choice == "y", ctx.day)
        if text is None or advice is None or choice not in ("y", "n"):
            return [kit.notice("button_expired")]
        asked = self.advisor.follow_up(question_id)
        answer_word = "Yes" if choice == "y" else "No"
        tapped = f"[{answer_word} to: {asked.question if asked else question_id}]"
        if not advice.escalate:
            if ctx.consented:
                kit.log.add(user_id, [(Direction.IN, tapped, topic_of(advice.topic), advice.kind),
                                      (Direction.OUT, advice.answer, topic_of(advice.topic), None)],
                            now=kit.clock())
            return kit.html(html.escape(advice.answer, quote=False))
        return await self.advise(user_id, ctx, text, advice)


    def _buttons(self, advice: Advice) -> Buttons:
        rows: list[tuple[Button, ...]] = []
        for suggestion in advice.suggestions:
            data = f"kb:{suggestion.entry_id}"
            if len(data.encode()) <= MAX_CALLBACK_DATA:
                rows.append(((suggestion.title[:64], data),))
        if rows:
            rows.append((self.kit.button("none_of_these", "handoff"),))
        elif advice.offer_handoff:
            rows.append((self.kit.button("ask_clinic", "handoff"),))
        if advice.follow_up is not None:  # the rule-out question comes first
            ask = advice.follow_up
            rows.insert(0, ((ask.yes, f"fu:{ask.id}:y"), (ask.no, f"fu:{ask.id}:n")))
        return tuple(rows)

    async def chosen_entry(self, user_id: int, entry_id: str) -> list[Reply]:
        """A "kb:<entry id>" suggestion press."""
        kit = self.kit
        ctx = await kit.context(user_id)
        advice = self.advisor.answer_entry(entry_id, ctx.day)
        if advice is None:
            return kit.say("kb_unknown")
        if ctx.consented:
            kit.log.add(user_id, [
                (Direction.IN, f"[chose a suggestion] {entry_id}", topic_of(entry_id), None),
                (Direction.OUT, advice.answer, topic_of(advice.topic), advice.kind),
            ], now=kit.clock())
        buttons = ((kit.button("ask_clinic", "handoff"),),) if advice.offer_handoff else ()
        return kit.html(html.escape(advice.answer, quote=False), buttons)

    def _remember_unconsented(self, user_id: int, text: str, day: int | None) -> None:
        """Keep the question of a user who has not agreed to storage in this process only
        (for "ask the clinic"; pressing it is their request to pass the question on)."""
        self._unconsented.pop(user_id, None)
        self._unconsented[user_id] = (text, day, self.kit.clock() + STATE_TTL)
        while len(self._unconsented) > MAX_REMEMBERED_USERS:
            self._unconsented.popitem(last=False)

    def forget(self, user_id: int) -> None:
        """Drop what this process keeps in memory about a user without consent (their last
        question and the rule-out question they were asked): /delete."""
        self._unconsented.pop(user_id, None)
        self._asked.pop(user_id, None)

    def forget_everyone(self) -> None:
        """Drop what this process keeps in memory about every user without consent: another
        replica erased someone, and the count of erasures does not say whom
        (bot/core/forgetting.py). A question kept for "ask the clinic" is lost with it, as it
        is when the press reaches another replica."""
        self._unconsented.clear()
        self._asked.clear()

    def _take_unconsented(self, user_id: int) -> tuple[str | None, int | None]:
        text, day, until = self._unconsented.pop(user_id, (None, None, None))
        return (text, day) if until is not None and until > self.kit.clock() else (None, None)

    async def handoff(self, user_id: int) -> list[Reply]:
        """"Ask the clinic": the last question becomes a report for staff."""
        kit = self.kit
        state = await kit.state(user_id)
        question, day = state.last_question, state.last_day
        if question is None:
            question, day = self._take_unconsented(user_id)
        if question is None:
            return [kit.notice("handoff_already")] if state.handed_off else kit.say(
                "handoff_nothing")
        report = await kit.reports.create(user_id, ReportKind.QUESTION, question,
                                               day=day, now=kit.clock())
        await kit.update_state(user_id, last_question=None, last_day=None, handed_off=True)
        patient = await kit.patients.get(user_id)
        return (kit.say("handoff_sent", status=kit.when_read("handoff", patient))
                + self.alerts.notify(report))
