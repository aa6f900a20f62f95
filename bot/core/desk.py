"""The staff side of reports, independent of Telegram: cards, actions, permissions, audit.

`StaffDesk` turns reports into staff-chat cards (urgency first, buttons Take / Reply /
Resolve / Pause check-ins), and turns what staff do in the staff chat (button presses,
replies to cards, commands) into `Reply`s: to the staff chat, or to exactly one patient.

Safety rules kept here:

* permission is checked on every action (`settings.is_staff`), never cached; refusals are
  logged and written to the audit trail;
* callback data ("st:take:12:7") carries no authority: the pressed message must be a card of
  the report it names (looked up server-side), that report must still belong to the patient
  the button names (ids are never reused: storage/migrations 0006), and the report's state
  must allow the action; a staff member's pending Reply / Resolve remembers report and
  patient the same way, and a mismatch is refused and audited;
* cards are not sent from here: a report's card is owed in the alert outbox in the same
  transaction as the report (storage/alerts.py) and delivered by the alert sender
  (scheduler/alerts.py), which asks `render` what each owed row looks like;
* a staff answer goes only to the patient of the report whose card (or prompt) it replies
  to, or whose Reply button that staff member pressed; never to a resolved report's patient;
* status changes are conditional UPDATEs (storage/reports.py): with two presses at once, one
  wins and the other is told.

The patient side: ``/report`` (asks what is wrong, then takes text and photos), threading of
the patient's messages into the report staff answered, photos kept as Telegram file ids.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import html
import io
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz

from bot.core.flows.base import FlowKit
from bot.core.flowstate import Flow
from bot.core.formatting import split_html
from bot.core.ports import (
    AdvisorPort,
    AlertWaker,
    CardOutbox,
    ChatStates,
    CheckinEvents,
    DeskReports,
)
from bot.core.replies import Button, Buttons, Relay, Reply
from bot.core.response_times import WINDOW, Summary, first_action_times, summarise
from bot.core.spreadsheet import safe_cell
from knowledge.text import clean
from scheduler.alerts import OutgoingAlert
from scheduler.clinic_hours import ONCALL_URGENCIES
from storage import ReportInfo, ReportKind
from storage.alerts import ClaimedAlert
from storage.chat_state import StateKind
from storage.ids import parse_callback, row_id
from storage.models import AlertKind, ReportAction, ReportStatus, Urgency
from storage.reports import ActionInfo, Transition

log = logging.getLogger(__name__)

Here = tuple[int, int] | None  # an on-call staff member's private chat and their message
PREFIX = "st"
ACTIONS = ("take", "reply", "resolve", "pause")
MAX_CARD_WORDS = 1500
MAX_CAPTION = 1024  # Telegram's caption limit (characters as shown, after HTML parsing)
PENDING_TTL = dt.timedelta(minutes=15)
DRAFT_TTL = dt.timedelta(minutes=30)
RECENT_REPORT = dt.timedelta(hours=2)  # photos this soon after a report join it
CARD_LOOKUP_TRIES = 10  # a reply to a message the bot has only just posted ...
CARD_LOOKUP_WAIT = 0.1  # ... is looked up again this often (seconds)
GAP_SIMILARITY = 80
DESK_COMMANDS = ("queue", "report", "patient", "gaps", "resolve", "reopen", "cancel")
_TAGS = re.compile(r"<[^>]+>")
WEB_ACTIONS = ("take", "reply", "resolve", "reopen", "pause")


@dataclass(frozen=True)
class WebOutcome:
    """What a web-desk action did: `ok` when it changed something, a plain-text line for the
    staff member, and the messages to deliver (patient and staff chat) through the outbox."""

    ok: bool
    feedback: str
    replies: list[Reply]


@dataclass
class _Pending:
    """A staff member's next message is a reply to, or a resolve note for, a report.

    Kept in the database (``chat_state``, kind "staff") for `PENDING_TTL`, so the message
    may reach another replica, or this one after a restart."""

    kind: str  # "reply" or "resolve"
    report_id: int
    patient_id: int | None = None  # the patient the staff member chose (None: older state)

    @classmethod
    def load(cls, payload: Mapping[str, Any] | None) -> _Pending | None:
        """From a stored payload (None when absent or malformed)."""
        if not payload or payload.get("kind") not in ("reply", "resolve"):
            return None
        report_id, patient_id = payload.get("report_id"), payload.get("patient_id")
        if not isinstance(report_id, int):
            return None
        return cls(payload["kind"], report_id,
                   patient_id if isinstance(patient_id, int) else None)


@dataclass
class _Draft:
    """A patient's /report in progress: "describe" waits for words, "photos" for photos.

    Read from and written to the report flow (bot/core/flowstate.py, steps "describe" and
    "more"), whose end time is fixed when /report starts."""

    stage: str
    report_id: int | None = None


def callback_data(action: str, report_id: int, patient_id: int) -> str:
    """"st:take:12:7": report 12 of patient 7 (64 bytes at most; it names what the button
    was for, it does not authorise anything)."""
    return f"{PREFIX}:{action}:{report_id}:{patient_id}"


def card_press(data: str) -> tuple[str, int, int | None] | None:
    """("take", 12, 7) from "st:take:12:7" (patient None on cards posted before patients
    were named: "st:take:12"); None when malformed (storage.ids `parse_callback`)."""
    parsed = parse_callback(data, PREFIX, counts=(2, 1), actions=ACTIONS)
    if parsed is None or not all(parsed.numbers):
        return None
    report_id, *patient = parsed.numbers
    return parsed.action, report_id, patient[0] if patient else None


def label_key(report: ReportInfo) -> str:
    """Which "desk.labels" entry a card starts with: the urgency, else the kind of report."""
    if report.urgency:
        return str(report.urgency)
    return report.kind if report.kind in (ReportKind.QUESTION, ReportKind.CHECKIN) else "other"


def age(delta: dt.timedelta) -> str:
    """"3 min", "2 h 05 min", "3 d 4 h"."""
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


STOP_WORDS = frozenset({"a", "about", "after", "again", "am", "an", "and", "any", "are", "be",
    "can", "could", "do", "does", "for", "go", "how", "i", "if", "in", "is", "it", "its", "me",
    "my", "of", "ok", "okay", "on", "or", "should", "so", "the", "then", "there", "this", "to",
    "use", "using", "was", "what", "when", "where", "which", "will", "with", "would", "you",
    "your"})


def normalise(text: str) -> str:
    """The project's normaliser (knowledge/text.py): lower case, punctuation and emoji removed,
    shorthand expanded, whitespace collapsed."""
    return clean(text)


def content_words(text: str) -> str:
    """The words that carry the question ("can I dye my hair?" -> "dye hair")."""
    words = [w for w in normalise(text).split() if w not in STOP_WORDS]
    return " ".join(words) or normalise(text)


@dataclass(frozen=True)
class GapGroup:
    """Similar unanswered questions: how many, an example, and other wordings."""

    count: int
    example: str
    others: tuple[str, ...]


def group_questions(texts: Iterable[str], threshold: int = GAP_SIMILARITY) -> list[GapGroup]:
    """Group similar questions: rapidfuzz token-set ratio of their content words against
    each group's first question; biggest groups first."""
    groups: list[tuple[str, list[str]]] = []  # (content words, original texts)
    for text in texts:
        key = content_words(text)
        if not key:
            continue
        best, best_score = None, 0.0
        for index, (group_key, _) in enumerate(groups):
            score = fuzz.token_set_ratio(key, group_key)
            if score >= threshold and score > best_score:
                best, best_score = index, score
        if best is None:
            groups.append((key, [text.strip()]))
        else:
            groups[best][1].append(text.strip())
    result = []
    for _, members in groups:
        distinct = list(dict.fromkeys(members))
        result.append(GapGroup(len(members), distinct[0], tuple(distinct[1:4])))
    return sorted(result, key=lambda g: (-g.count, g.example.lower()))


def format_gaps(groups: Sequence[GapGroup]) -> str:
    """Plain-text /gaps and ``aftercare gaps`` output."""
    if not groups:
        return "No unanswered questions so far."
    total = sum(g.count for g in groups)
    lines = [f"Questions the bot could not answer ({total}, {len(groups)} groups):"]
    for group in groups[:40]:
        line = f"{group.count} × \"{group.example}\""
        if group.others:
            line += " (also: " + "; ".join(f"\"{o}\"" for o in group.others) + ")"
        lines.append(line)
    return "\n".join(lines)


EXPORT_COLUMNS = ("report_id", "created_at", "patient", "telegram_id", "kind", "urgency",
                  "day", "status", "text", "reason", "taken_by", "taken_at", "resolved_by",
                  "resolved_at", "resolution_note", "action_at", "action", "actor_telegram_id",
                  "action_note")


def export_csv(rows: Sequence[tuple[ReportInfo, list[ActionInfo]]]) -> str:
    """Reports and their actions as CSV: one line per action (a report without any: one line)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)

    def when(value: dt.datetime | None) -> str:
        return value.isoformat() if value else ""

    for report, actions in rows:
        base = [report.id, when(report.created_at), report.patient_name or "",
                report.telegram_id or "", report.kind, report.urgency or "",
                "" if report.day is None else report.day, report.status, report.text,
                report.reason or "", report.taken_by or "", when(report.taken_at),
                report.resolved_by or "", when(report.resolved_at),
                report.resolution_note or ""]
        each: list[ActionInfo | None] = [*actions] or [None]
        for action in each:
            tail = (["", "", "", ""] if action is None else
                    [when(action.created_at), action.action, action.actor_telegram_id or "",
                     action.note or ""])
            writer.writerow([safe_cell(cell) for cell in base + tail])
    return out.getvalue()


class StaffDesk:
    """Staff-side logic. Shares the flows' `FlowKit` (stores, settings, clock, texts);
    tells the check-in scheduler about pauses and resolutions through `CheckinEvents`.

    Implements `bot.core.ports.PatientDesk` for the conversation (cards for new reports,
    /report, threads); it holds no reference to the conversation."""

    def __init__(self, kit: FlowKit, store: DeskReports, outbox: CardOutbox,
                 checkins: CheckinEvents | None = None,
                 alerts: AlertWaker | None = None) -> None:
        self.kit = kit
        self.store = store
        self.checkins = checkins
        self.settings = kit.settings
        self.messages = kit.messages
        self.states: ChatStates = kit.chat_states  # a staff member's pending action
        self._names: dict[int, str] = {}
        self.outbox = outbox  # what the staff chat is owed (storage.alerts `AlertSql`)
        self.alerts = alerts  # wakes the alert sender (scheduler.alerts.AlertBell)

    # --- small helpers ------------------------------------------------------------------
    @property
    def advisor(self) -> AdvisorPort:
        """The advisor of the moment (shared with the conversation through the kit)."""
        return self.kit.advisor

    @property
    def staff_chat(self) -> int | None:
        """The staff chat id (None when not configured)."""
        return self.settings.staff_chat_id

    def now(self) -> dt.datetime:
        """The shared clock."""
        return self.kit.clock()

    def text(self, key: str, **values: Any) -> str:
        """A rendered (HTML) message of the "desk" section."""
        return self.messages.render(f"desk.{key}", **values)

    def label(self, report: ReportInfo) -> str:
        """What a card starts with ("desk.labels": EMERGENCY, URGENT, QUESTION, CHECK-IN ...)."""
        return self.messages.text(f"desk.labels.{label_key(report)}")

    def to_staff(self, key: str, reply_to: int | None = None, **values: Any) -> Reply:
        """A message for the staff chat (`to_chat` None when there is none: the web desk then
        shows it to the staff member who acted)."""
        return Reply(self.text(key, **values), to_chat=self.staff_chat, reply_to=reply_to)

    def about(self, report_id: int, key: str, reply_to: int | None = None,
              **values: Any) -> Reply:
        """A staff-chat message that names a report's patient (or carries staff words about
        them): recorded as a "notice" of the report, so that erasing the patient edits it
        to "[erased at the patient's request]" like the card."""
        return Reply(self.text(key, **values), to_chat=self.staff_chat, reply_to=reply_to,
                     card_for=report_id, card_kind="notice")

    def answer(self, key: str, reply_to: int | None, here: Here, **values: Any) -> Reply:
        """A message for the staff member who acted: in the staff chat, or in their private
        chat when they acted there (`here`: that chat and the message they pressed or sent)."""
        if here is None:
            return self.to_staff(key, reply_to, **values)
        return Reply(self.text(key, **values), to_chat=here[0], reply_to=here[1])

    async def group_card(self, report_id: int) -> int | None:
        """The message id of the report's newest card in the staff chat (for threading)."""
        if self.staff_chat is None:
            return None
        card = await self.store.latest_card(report_id, chat_id=self.staff_chat)
        return card.message_id if card else None

    async def sync_copies(self, report_id: int) -> None:
        """The report was taken, resolved or reopened: owe an edit of each on-call copy of
        its card, so every copy shows who has it."""
        if await self.outbox.owe_copy_edits(report_id, self.staff_chat, self.now()):
            self._wake()

    def notice(self, key: str, **values: Any) -> Reply:
        """A button notice (answerCallbackQuery text, plain)."""
        return Reply(html.unescape(self.text(key, **values))[:200], notice=True)

    def staff_name(self, user_id: int | None) -> str:
        """The first name staff last used, or "staff 123"."""
        if user_id is None:
            return "nobody"
        return self._names.get(user_id) or f"staff {user_id}"

    # --- short-lived state (database: every replica sees it) ------------------------------
    async def _pending_of(self, user_id: int) -> _Pending | None:
        """What the staff member's next message is for (None: nothing, or it expired)."""
        return _Pending.load(await self.states.get(user_id, StateKind.STAFF, now=self.now()))

    async def _set_pending(self, user_id: int, kind: str, report_id: int,
                           patient_id: int) -> None:
        await self.states.put(user_id, StateKind.STAFF,
                              {"kind": kind, "report_id": report_id, "patient_id": patient_id},
                              PENDING_TTL, now=self.now())

    async def _drop_pending(self, user_id: int) -> None:
        await self.states.clear(user_id, StateKind.STAFF)

    async def _drop_pendings_of(self, report_id: int) -> None:
        """Nobody's next message answers or resolves this report any more."""
        pending = await self.states.all_of_kind(StateKind.STAFF, now=self.now())
        for user_id, payload in pending.items():
            if payload.get("report_id") == report_id:
                await self._drop_pending(user_id)

    async def _draft(self, user_id: int,
                     states: Mapping[str, Any] | None = None) -> _Draft | None:
        """The patient's /report in progress (the report flow, bot/core/flows/report.py);
        `states` (kind -> payload) when already read."""
        flows = self.kit.flows
        active = await flows.current(user_id, dict(states) if states is not None else None)
        if active is None or active.flow is not Flow.REPORT or active.ended(self.now()):
            return None
        return _Draft("describe" if active.step == "describe" else "photos",
                      active.get_int("report_id"))

    async def _save_draft(self, user_id: int, draft: _Draft) -> None:
        flows = self.kit.flows
        step = "describe" if draft.stage == "describe" else "more"
        active = await flows.current(user_id)
        if active is not None and active.flow is Flow.REPORT and not active.ended(self.now()):
            await flows.advance(user_id, active, step, report_id=draft.report_id)
        else:
            await flows.begin(user_id, Flow.REPORT, step, report_id=draft.report_id)

    def _seen(self, user_id: int, first_name: str) -> None:
        if first_name:
            self._names[user_id] = first_name

    def patient_name(self, report: ReportInfo) -> str:
        """The patient's name, or "unnamed patient"."""
        return report.patient_name or self.messages.render("staff_unknown_name")

    def buttons(self, report_id: int, patient_id: int) -> Buttons:
        """Take / Reply on one row, Resolve / Pause check-ins on the next."""
        def button(action: str) -> Button:
            return (self.messages.label(f"staff_{action}"),
                    callback_data(action, report_id, patient_id))
        return ((button("take"), button("reply")), (button("resolve"), button("pause")))

    # --- cards ----------------------------------------------------------------------------
    def card_text(self, report: ReportInfo, status: bool = False) -> str:
        """The card: urgency first, patient, day since session, the words, the reason (and,
        with `status`, who took or resolved it: on-call copies show the report's state)."""
        who = f"{self.patient_name(report)}, Telegram id {report.telegram_id}"
        words = report.text if len(report.text) <= MAX_CARD_WORDS else (
            report.text[:MAX_CARD_WORDS] + "…")
        day = report.day if report.day is not None else "unknown"
        key = "card_question" if report.kind == ReportKind.QUESTION.value else "card"
        text = self.text(key, label=self.label(report), name=who, day=day, id=report.id, text=words)
        if report.reason:
            text += "\n" + self.text("card_reason", reason=report.reason)
        if report.repeats:
            latest = report.latest_text or ""
            latest = latest if len(latest) <= 600 else latest[:600] + "…"
            text += "\n" + self.text("card_repeats", count=report.repeats, text=latest)
        if status and report.status == ReportStatus.TAKEN.value:
            text += "\n" + self.text("copy_taken", staff=self.staff_name(report.taken_by))
        elif status and report.closed:
            text += "\n" + self.text("copy_resolved", staff=self.staff_name(report.resolved_by))
        return text

    def notify(self, report: ReportInfo) -> list[Reply]:
        """`ReportNotifier`: the staff-chat card for a new report."""
        return self.card(report)

    def card(self, report: ReportInfo) -> list[Reply]:
        """A new report (`Conversation.notify_staff` calls this): its card is already owed
        in the alert outbox (written with the report), so this only wakes the sender."""
        if self.staff_chat is None:
            log.warning("report %d not sent: AFTERCARE_STAFF_CHAT_ID is not set", report.id)
            return []
        self._wake()
        return []

    async def repeat(self, user_id: int, text: str, urgency: str | None) -> int | None:
        """A red flag from a patient who already has an open triage report: it is threaded
        into that report (counter, newest words, card edited) instead of a new report and
        card. Returns the report id, or None when there is no open problem to add it to."""
        report = await self.store.latest_open(user_id)
        if report is None or report.kind != ReportKind.TRIAGE.value:
            return None
        if not await self.outbox.repeat(report.id, text, urgency, user_id, self.now()):
            return None
        await self.sync_copies(report.id)  # on-call copies show the newest words too
        self._wake()
        return report.id

    async def edited(self, user_id: int, chat_id: int, message_id: int, text: str,
                     urgency: str | None) -> tuple[int, str] | None:
        """The patient edited the message that raised one of their open reports: the report
        takes the newest words (and a higher urgency), and its card is edited to show them
        instead of a new card. (report id, urgency before), or None when no open report
        came from that message."""
        found = await self.outbox.edited(user_id, chat_id, message_id, text, urgency,
                                         self.now())
        if found is not None:
            log.info("report %d: the patient edited their message; card to be updated",
                     found[0])
            await self.sync_copies(found[0])
            self._wake()
        return found

    async def render(self, alert: ClaimedAlert) -> OutgoingAlert | None:
        """What an owed alert looks like in the staff chat, or in an on-call staff member's
        private chat (a row naming that chat); None when there is nothing to show any more."""
        chat = self.staff_chat
        if alert.kind == AlertKind.ERASE.value:
            if alert.chat_id is None or alert.message_id is None:
                return None
            return OutgoingAlert(alert.chat_id, self.text("erased"),
                                 edit_message_id=alert.message_id,
                                 caption=alert.card_kind in ("photo", "document"))
        target = alert.chat_id if alert.chat_id is not None else chat
        if target is None:
            raise RuntimeError("AFTERCARE_STAFF_CHAT_ID is not set")
        report = await self.store.get(alert.report_id or 0)
        if report is None:  # erased meanwhile (its rows go with it; a race at most)
            return None
        buttons = () if report.closed else self.buttons(report.id, report.patient_id)
        copy = target != chat  # an on-call staff member's own copy
        if alert.kind == AlertKind.CARD.value:
            if copy and report.closed:
                return None
            return OutgoingAlert(target, self.card_text(report, copy), buttons)
        if alert.kind == AlertKind.UPDATE.value:
            if alert.message_id is not None:  # one copy shows the report's new state
                return OutgoingAlert(target, self.card_text(report, True), buttons,
                                     edit_message_id=alert.message_id)
            card = await self.store.latest_card(report.id, chat_id=chat)
            if card is None:  # the card itself is still owed: it will show the newest words
                return None
            return OutgoingAlert(card.chat_id, self.card_text(report), buttons,
                                 edit_message_id=card.message_id)
        if report.status != ReportStatus.OPEN.value:  # a re-post of a report taken since
            return None
        card = await self.store.latest_card(report.id, chat_id=target)
        waited = age(self.now() - report.created_at)
        mentions = "" if copy else " " + self.mentions()
        text = (self.text("repost", waited=waited) + mentions + "\n\n"
                + self.card_text(report))
        return OutgoingAlert(target, text, buttons, reply_to=card.message_id if card else None)

    async def card_sent(self, reply: Reply, chat_id: int, message_id: int) -> None:
        """A reply with `card_for` was delivered: remember its message id for threading."""
        if reply.card_for is None:
            return
        await self.store.card_sent(reply.card_for, chat_id, message_id, reply.card_kind,
                                   now=self.now())
        if reply.card_kind == "repost":
            await self.store.record(reply.card_for, None, ReportAction.REPOSTED, now=self.now())

    def thresholds(self) -> dict[str, dt.timedelta]:
        """How long an emergency / urgent card may wait for somebody to take it (emergencies
        in wall-clock time, urgent cards in opening time when hours are configured)."""
        emergency = getattr(self.settings, "escalation_emergency_minutes", 15)
        urgent = getattr(self.settings, "escalation_urgent_minutes", 60)
        return {Urgency.EMERGENCY.value: dt.timedelta(minutes=emergency),
                Urgency.URGENT.value: dt.timedelta(minutes=urgent)}

    def mentions(self) -> str:
        """HTML mentions of every staff member (tg://user links)."""
        ids = sorted(getattr(self.settings, "staff_ids", ()) or ())
        return " ".join(f'<a href="tg://user?id={i}">{html.escape(self.staff_name(i))}</a>'
                        for i in ids)

    def waited(self, urgency: str | None, since: dt.datetime, now: dt.datetime) -> dt.timedelta:
        """How long a card has waited towards its re-post: wall-clock time for emergencies,
        opening time for urgent cards (wall-clock time without configured hours)."""
        if urgency == Urgency.URGENT.value:
            opened = self.kit.availability.open_time(since, now)
            if opened is not None:
                return opened
        return now - since

    async def escalations(self) -> list[Reply]:
        """Owe re-posts of emergency/urgent cards nobody took in time; the alert sender
        delivers them (and retries them like cards). By day (and with nobody on call) they
        go to the staff chat with a mention; outside opening hours to each on-call staff
        member's private chat, under their copy of the card."""
        if self.staff_chat is None:
            return []
        thresholds = self.thresholds()
        now = self.now()
        owed = 0
        oncall = self.kit.availability.oncall_now(now)
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
                        report.urgency, age(now - report.created_at),
                        "on call" if oncall else "staff chat")
        if owed:
            self._wake()
        return []

    def _wake(self) -> None:
        """Tell this process's alert sender something was just owed."""
        if self.alerts is not None:
            self.alerts.wake()

    # --- permissions ----------------------------------------------------------------------
    async def _refuse(self, user_id: int, report_id: int | None, what: str) -> None:
        """Log and audit an attempt by someone who is not staff."""
        log.warning("user %d (not staff) tried to %s", user_id, what)
        exists = report_id is not None and await self.store.get(report_id) is not None
        await self.store.record(report_id if exists else None, user_id, ReportAction.REFUSED,
                                note=what[:200], now=self.now())

    # --- button presses -------------------------------------------------------------------
    async def staff_callback(self, user_id: int, first_name: str, chat_id: int | None,
                             message_id: int | None, data: str) -> list[Reply]:
        """A Take / Reply / Resolve / Pause press on a card."""
        parsed = card_press(data)
        if not self.settings.is_staff(user_id):
            await self._refuse(user_id, parsed[1] if parsed else None, f"press {data}")
            return [self.notice("not_staff")]
        self._seen(user_id, first_name)
        if parsed is None or chat_id is None or message_id is None:
            return [self.notice("button_unknown")]
        action, report_id, patient_id = parsed
        card = await self._card(chat_id, message_id, True)  # a card just posted: wait a moment
        if card is None or card.report_id != report_id or card.kind not in ("card", "repost"):
            log.warning("staff %d pressed %s on message %s/%s, which is not that report's card",
                        user_id, data, chat_id, message_id)
            await self._refuse(user_id, report_id, f"press {data} on another card")
            return [self.notice("wrong_card")]
        report = await self.store.get(report_id)
        if report is None:
            return [self.notice("button_unknown")]
        if patient_id is not None and report.patient_id != patient_id:
            await self._mismatch(user_id, report_id, patient_id, f"press {data}")
            return [self.notice("button_unknown")]
        handler = {"take": self._take, "reply": self._ask_reply, "resolve": self._ask_resolve,
                   "pause": self._pause}[action]
        if chat_id == self.staff_chat:
            return await handler(user_id, report, message_id)
        # an on-call copy in the staff member's private chat: the staff chat hears of it
        # under its own card, prompts come here
        return await handler(user_id, report, await self.group_card(report_id),
                             (chat_id, message_id))

    async def _take(self, user_id: int, report: ReportInfo, card_id: int | None,
                    here: Here = None) -> list[Reply]:
        result = await self.store.take(report.id, user_id, now=self.now())
        if not result.ok:
            return [self._lost(result, report)]
        assert result.report is not None
        await self.sync_copies(report.id)
        return [self.notice("taken_notice", id=report.id),
                self.to_staff("taken", card_id, id=report.id, staff=self.staff_name(user_id)),
                *self._to_patient(result.report, self.text("patient_taken"))]

    def _lost(self, result: Transition, report: ReportInfo) -> Reply:
        """The notice for the loser of a race (or a press that no longer makes sense)."""
        current = result.report or report
        if current.closed:
            return self.notice("already_resolved", id=current.id,
                               staff=self.staff_name(current.resolved_by))
        return self.notice("already_taken", id=current.id,
                           staff=self.staff_name(current.taken_by))

    async def _ask_reply(self, user_id: int, report: ReportInfo,
                         card_id: int | None, here: Here = None) -> list[Reply]:
        if report.closed:
            return [self.notice("closed", id=report.id)]
        await self._set_pending(user_id, "reply", report.id, report.patient_id)
        chat, reply_to = here if here is not None else (self.staff_chat, card_id)
        prompt = Reply(self.text("reply_prompt", staff=self.staff_name(user_id), id=report.id,
                                 name=self.patient_name(report)),
                       to_chat=chat, reply_to=reply_to, card_for=report.id,
                       card_kind="reply_prompt")
        return [self.notice("reply_notice", name=self.patient_name(report)), prompt]

    async def _ask_resolve(self, user_id: int, report: ReportInfo,
                           card_id: int | None, here: Here = None) -> list[Reply]:
        if report.closed:
            return [self._lost(Transition(False, report), report)]
        await self._set_pending(user_id, "resolve", report.id, report.patient_id)
        chat, reply_to = here if here is not None else (self.staff_chat, card_id)
        prompt = Reply(self.text("resolve_prompt", staff=self.staff_name(user_id), id=report.id),
                       to_chat=chat, reply_to=reply_to, card_for=report.id,
                       card_kind="resolve_prompt")
        return [self.notice("resolve_notice", id=report.id), prompt]

    async def _pause(self, user_id: int, report: ReportInfo,
                     card_id: int | None, here: Here = None) -> list[Reply]:
        patients = self.kit.patients
        patient = await patients.get_by_id(report.patient_id)
        if patient is None or patient.telegram_id is None:
            return [self.notice("button_unknown")]
        if patient.checkins_paused:
            return [self.notice("already_paused", name=self.patient_name(report))]
        checkins = self.checkins
        if checkins is not None:
            await checkins.stop(patient.id)
        else:
            await patients.set_checkins_paused(patient.telegram_id, True)
        await self.store.record(report.id, user_id, ReportAction.PAUSED, now=self.now())
        return [self.notice("paused_notice", name=self.patient_name(report)),
                self.about(report.id, "paused", card_id, id=report.id,
                           name=self.patient_name(report), staff=self.staff_name(user_id)),
                *self._to_patient(report, self.text("patient_paused"))]

    def _to_patient(self, report: ReportInfo, text: str, photo: str | None = None,
                    document: str | None = None, relay: Relay | None = None) -> list[Reply]:
        """A message for the report's patient only (nothing if they have no chat); a long
        text goes in parts under Telegram's limit, `relay` on the last one."""
        if report.chat_id is None:
            log.warning("report %d: the patient has no chat to write to", report.id)
            return []
        if photo is not None or document is not None:
            return [Reply(text, to_chat=report.chat_id, photo=photo, document=document,
                          relay=relay, to_patient=True)]
        parts = split_html(text) or [text]
        return [Reply(part, to_chat=report.chat_id, relay=relay if i == len(parts) - 1 else None,
                      to_patient=True)
                for i, part in enumerate(parts)]

    # --- messages in the staff chat --------------------------------------------------------
    async def staff_message(self, user_id: int, first_name: str, chat_id: int, message_id: int,
                            text: str | None, reply_to: int | None = None,
                            photo: str | None = None, document: str | None = None,
                            replied_to_bot: bool = False) -> list[Reply] | None:
        """A non-command message in the staff chat; None when it is not for the desk."""
        text = text.replace("\x00", "") if text is not None else None
        card = await self._card(chat_id, reply_to, replied_to_bot)
        if card is not None and card.kind == "notice":  # "Sent to ...", "resolved by ...":
            card = None  # a reply to one of those is talk among staff, not an answer
        pending = await self._pending_of(user_id)
        if card is None and pending is None:
            return None
        here: Here = None if chat_id == self.staff_chat else (chat_id, message_id)
        if not self.settings.is_staff(user_id):
            await self._refuse(user_id, card.report_id if card else None, "answer a patient")
            return [self.answer("not_staff_reply", message_id, here)]
        self._seen(user_id, first_name)
        expected: int | None = None  # the patient the staff member chose
        if card is not None:
            kind = "resolve" if card.kind == "resolve_prompt" else "reply"
            report_id = card.report_id
            if pending is not None and pending.report_id == report_id:
                await self._drop_pending(user_id)
                expected = pending.patient_id
        else:
            assert pending is not None
            kind, report_id, expected = pending.kind, pending.report_id, pending.patient_id
            await self._drop_pending(user_id)
        if expected is not None:
            report = await self.store.get(report_id)
            if report is None or report.patient_id != expected:
                await self._mismatch(user_id, report_id, expected, f"{kind} to a patient")
                return [self.answer("wrong_patient", message_id, here, id=report_id)]
        if kind == "resolve":
            return await self.resolve(user_id, report_id, (text or "").strip(), message_id,
                                      here)
        return await self._relay(user_id, report_id, message_id, text, photo, document, here)

    async def _mismatch(self, user_id: int, report_id: int, patient_id: int,
                        what: str) -> None:
        """A staff action named a report and a patient that no longer go together (the
        patient was erased, say): nothing happens, and the refusal is audited."""
        log.warning("staff %d: %s refused: report %d is not patient %d's", user_id, what,
                    report_id, patient_id)
        exists = await self.store.get(report_id) is not None
        await self.store.record(report_id if exists else None, user_id, ReportAction.REFUSED,
                                note=f"{what}: report {report_id} is not patient "
                                     f"{patient_id}'s"[:200], now=self.now())

    async def _card(self, chat_id: int, reply_to: int | None,
                    replied_to_bot: bool) -> Any | None:
        """The card (or threaded message) a staff message replies to. A message the bot has
        just posted may not be registered yet (its id is stored once Telegram answers the
        send), so a reply to one of the bot's messages is looked up again for a moment."""
        if reply_to is None:
            return None
        for _ in range(CARD_LOOKUP_TRIES):
            card = await self.store.card(chat_id, reply_to)
            if card is not None or not replied_to_bot:
                return card
            await asyncio.sleep(CARD_LOOKUP_WAIT)
        return None

    async def _relay(self, user_id: int, report_id: int, message_id: int | None,
                     text: str | None, photo: str | None, document: str | None,
                     here: Here = None) -> list[Reply]:
        """Send a staff answer to the report's patient, and to nobody else."""
        report = await self.store.get(report_id)
        if report is None:
            return [self.answer("no_report", message_id, here, id=report_id)]
        if report.closed:
            return [self.answer("closed_reply", message_id, here, id=report.id)]
        if not (text and text.strip()) and photo is None and document is None:
            return [self.answer("nothing_to_send", message_id, here)]
        words = (text or "").strip()
        replies: list[Reply] = []
        if report.status == "open":
            taken = await self.store.take(report.id, user_id, now=self.now())
            if taken.ok:
                await self.sync_copies(report.id)
                group = await self.group_card(report.id) if here is not None else None
                replies.append(self.to_staff("taken", group, id=report.id,
                                             staff=self.staff_name(user_id)))
                replies += self._to_patient(report, self.text("patient_taken"))
        kind = "photo" if photo else "document" if document else "text"
        relay = Relay(report.id, user_id,
                      words if kind == "text" else f"[{kind}] {words}".strip(),
                      reply_to=message_id, chat=here[0] if here is not None else None)
        caption = self.text("staff_caption", text=words)
        if (photo or document) and shown_length(caption) <= MAX_CAPTION:
            replies += self._to_patient(report, caption, photo, document, relay)
        elif photo or document:  # too long for a caption: the file, then the whole text
            replies += self._to_patient(report, self.text("staff_caption_follows"), photo,
                                        document)
            replies += self._to_patient(report, self.text("staff_answer", text=words),
                                        relay=Relay(relay.report_id, user_id, relay.note,
                                                    split=True, reply_to=message_id,
                                                    chat=relay.chat))
        else:
            replies += self._to_patient(report, self.text("staff_answer", text=words),
                                        relay=relay)
        # audited ("replied") and confirmed to staff once delivered: `relay_done`
        log.info("staff %d answered report %d (on its way)", user_id, report.id)
        return replies

    async def relay_done(self, relay: Relay) -> list[Reply]:
        """A staff answer reached the patient: audit it, and tell staff (the message names
        the patient, so it is recorded for erasure)."""
        report = await self.store.get(relay.report_id)
        if report is None:  # erased while the answer was on its way
            log.info("report %d: answer delivered, but the report is gone", relay.report_id)
            return []
        await self.store.record(report.id, relay.actor, ReportAction.REPLIED, note=relay.note,
                                now=self.now())
        log.info("staff %d's answer to report %d delivered", relay.actor, report.id)
        key = "reply_sent_split" if relay.split else "reply_sent"
        if relay.chat is not None:  # on call: confirmed in the staff member's private chat
            return [Reply(self.text(key, id=report.id, name=self.patient_name(report)),
                          to_chat=relay.chat, reply_to=relay.reply_to, card_for=report.id,
                          card_kind="notice")]
        if self.staff_chat is None:
            return []
        return [self.about(report.id, key, relay.reply_to, id=report.id,
                           name=self.patient_name(report))]

    async def relay_failed(self, relay: Relay, reason: str) -> list[Reply]:
        """A staff answer did not reach the patient: nothing is audited as sent, and staff
        are told why (`reason`, plain text)."""
        log.warning("staff %d's answer to report %d was not delivered: %s", relay.actor,
                    relay.report_id, reason)
        report = await self.store.get(relay.report_id)
        if report is not None and relay.chat is not None:  # on call: told in the private chat
            return [Reply(self.text("reply_failed", id=report.id, name=self.patient_name(report),
                                    reason=reason), to_chat=relay.chat, reply_to=relay.reply_to,
                          card_for=report.id, card_kind="notice")]
        if report is None or self.staff_chat is None:
            return []
        return [self.about(report.id, "reply_failed", relay.reply_to, id=report.id,
                           name=self.patient_name(report), reason=reason)]

    async def resolve(self, user_id: int, report_id: int, note: str,
                      message_id: int | None = None, here: Here = None) -> list[Reply]:
        """Close the report with a note; releases check-ins it held; tells the patient.
        (`here`: the staff member wrote the note in their private chat, on call.)"""
        if not self.settings.is_staff(user_id):
            await self._refuse(user_id, report_id, "resolve")
            return [self.answer("not_staff_command", message_id, here)]
        if not note:
            return [self.answer("note_needed", message_id, here, id=report_id)]
        result = await self.store.resolve(report_id, user_id, note[:2000], now=self.now())
        if result.report is None:
            return [self.answer("no_report", message_id, here, id=report_id)]
        if not result.ok:
            return [self.answer("already_resolved_chat", message_id, here, id=report_id,
                                staff=self.staff_name(result.report.resolved_by))]
        await self._drop_pendings_of(report_id)
        await self.sync_copies(report_id)
        checkins = self.checkins
        if checkins is not None:
            await checkins.report_resolved(report_id)
        card = await self.group_card(report_id)
        done = [self.about(report_id, "resolved", card if card or here else message_id,
                           id=report_id, staff=self.staff_name(user_id), note=note)]
        if here is not None:  # on call: the note was written in a private chat
            done.append(Reply(self.text("resolved", id=report_id, staff=self.staff_name(user_id),
                                        note=note), to_chat=here[0], reply_to=here[1],
                              card_for=report_id, card_kind="notice"))
        return [*done, *self._to_patient(result.report, self.text("patient_resolved"))]

    # --- staff commands -------------------------------------------------------------------
    async def staff_command(self, user_id: int, first_name: str, chat_id: int,
                            message_id: int | None, name: str | None,
                            args: Sequence[str]) -> list[Reply] | None:
        """/queue, /report N, /patient NAME, /gaps, /resolve N note, /reopen N, /cancel in the
        staff chat, or from a staff member in their private chat with the bot (answered
        there; on call at night they may have no staff chat at hand); None for other
        commands (they go to the conversation). In a private chat, /report without a number
        and /cancel with nothing pending are the patient commands of those names, and
        anyone not on the staff list gets the conversation as before."""
        if name not in DESK_COMMANDS:
            return None
        here: Here = None
        if chat_id != self.staff_chat:
            if not self.settings.is_staff(user_id) or message_id is None:
                return None
            if name == "report" and not args:
                return None
            if name == "cancel" and await self._pending_of(user_id) is None:
                return None
            here = (chat_id, message_id)
        if not self.settings.is_staff(user_id):
            await self._refuse(user_id, _number(args[0]) if args else None, f"use /{name}")
            return [self.to_staff("not_staff_command", message_id)]
        self._seen(user_id, first_name)
        if name == "queue":
            return [self._long(await self.queue_text(), message_id, here)]
        if name == "gaps":
            return [self._long(html.escape(await self.gaps_text(), quote=False), message_id,
                               here)]
        if name == "patient":
            return [self._long(await self.patient_text_for(" ".join(args)), message_id, here)]
        if name == "cancel":
            dropped = await self._pending_of(user_id)
            await self._drop_pending(user_id)
            return [self.answer("cancelled" if dropped else "nothing_pending", message_id,
                                here)]
        report_id = _number(args[0]) if args else None
        if report_id is None:
            return [self.answer(f"usage_{name}", message_id, here)]
        if name == "report":
            return [self._long(await self.history_text(report_id), message_id, here)]
        if name == "resolve":
            note = " ".join(args[1:]).strip()
            if not note:
                chosen = await self.store.get(report_id)
                if chosen is None:
                    return [self.answer("no_report", message_id, here, id=report_id)]
                await self._set_pending(user_id, "resolve", report_id, chosen.patient_id)
                return [self.answer("resolve_prompt", message_id, here, id=report_id,
                                    staff=self.staff_name(user_id))]
            return await self.resolve(user_id, report_id, note, message_id, here)
        return await self._reopen(user_id, report_id, message_id, here)

    def _long(self, text: str, reply_to: int | None, here: Here = None) -> Reply:
        """A command answer (cut under Telegram's limit), in the staff chat or `here`."""
        if len(text) > 4000:
            text = text[:4000].rsplit("\n", 1)[0] + "\n…"
        if here is not None:
            return Reply(text, to_chat=here[0], reply_to=here[1])
        assert self.staff_chat is not None
        return Reply(text, to_chat=self.staff_chat, reply_to=reply_to)

    async def _reopen(self, user_id: int, report_id: int, message_id: int | None,
                      here: Here = None) -> list[Reply]:
        result = await self.store.reopen(report_id, user_id, now=self.now())
        if result.report is None:
            return [self.answer("no_report", message_id, here, id=report_id)]
        if not result.ok:
            return [self.answer("not_resolved", message_id, here, id=report_id)]
        now = self.now()
        chats: list[int | None] = [None]  # a fresh card; at night on-call staff get one too
        if result.report.urgency in ONCALL_URGENCIES:
            chats += sorted(self.kit.availability.oncall_now(now))
        await self.outbox.owe(report_id, AlertKind.CARD, now, chats)
        await self.sync_copies(report_id)
        self._wake()
        reopened = self.to_staff("reopened", None if here else message_id, id=report_id,
                                 staff=self.staff_name(user_id))
        if here is None:
            return [reopened]
        return [reopened, self.answer("reopened", message_id, here, id=report_id,
                                      staff=self.staff_name(user_id))]

    async def response_figures(self) -> Summary:
        """Time to first staff action over the reports of the last 30 days: by the wall
        clock and in opening time (fair figures: bot/core/response_times.py)."""
        now = self.now()
        pairs = await self.store.first_actions(now - WINDOW, now)
        return summarise(first_action_times(((raised, [("taken", first)])
                                             for raised, first in pairs),
                                            self.kit.availability.hours))

    def figures_text(self, summary: Summary) -> str:
        """The /queue line about time to first staff action ("" without reports)."""
        if not summary.count or summary.wall_median is None or summary.wall_p90 is None:
            return ""
        if summary.open_median is None or summary.open_p90 is None:
            return self.text("queue_figures_plain", count=summary.count,
                             wall_median=age(summary.wall_median),
                             wall_p90=age(summary.wall_p90))
        return self.text("queue_figures", count=summary.count,
                         wall_median=age(summary.wall_median), wall_p90=age(summary.wall_p90),
                         open_median=age(summary.open_median), open_p90=age(summary.open_p90))

    async def queue_text(self) -> str:
        """Open reports, most urgent and oldest first, with their age; then the time to first
        staff action of the last 30 days (wall clock and opening time)."""
        text = await self._queue_lines()
        figures = self.figures_text(await self.response_figures())
        return text + ("\n\n" + figures if figures else "")

    async def _queue_lines(self) -> str:
        reports = await self.store.queue()
        owed = await self.outbox.owed()
        warning = [self.text("queue_owed", count=owed)] if owed else []
        warning += await self.unreachable_lines()
        if not reports:
            return "\n".join([*warning, self.text("queue_empty")])
        now = self.now()
        lines = [*warning, self.text("queue_title", count=len(reports))]
        for report in reports[:50]:
            status = (self.text("queue_taken", staff=self.staff_name(report.taken_by))
                      if report.status == "taken" else self.text("queue_open"))
            words = report.text if len(report.text) <= 60 else report.text[:60] + "…"
            lines.append(self.text("queue_line", id=report.id, label=self.label(report),
                                   name=self.patient_name(report), age=age(now - report.created_at),
                                   status=status, text=words,
                                   day=report.day if report.day is not None else "?"))
        return "\n".join(lines)

    async def unreachable_lines(self, plain: bool = False) -> list[str]:
        """A line (HTML; `plain` text for the web desk) per on-call staff member the bot
        could not write to privately (they never pressed Start in a private chat with it,
        or blocked it): their copies of cards were given up, so they must open the chat
        before the next night."""
        say = self.plain if plain else self.text
        return [say("queue_unreachable", staff=self.staff_name(chat), id=chat, count=count)
                for chat, count in await self.outbox.unreachable()]

    async def history_text(self, report_id: int) -> str:
        """/report N: the card, its state, photos and every action with who and when."""
        report = await self.store.get(report_id)
        if report is None:
            return self.text("no_report", id=report_id)
        lines = [self.card_text(report), "",
                 self.text("history_status", status=report.status,
                           created=_stamp(report.created_at),
                           photos=len(await self.store.photos(report_id)))]
        if report.resolution_note:
            lines.append(self.text("history_note", note=report.resolution_note))
        for action in await self.store.actions(report_id):
            who = ("patient" if action.action in ("patient", "photo") else
                   "bot" if action.actor_telegram_id is None else
                   f"{self.staff_name(action.actor_telegram_id)} ({action.actor_telegram_id})")
            lines.append(self.text("history_line", when=_stamp(action.created_at),
                                   action=action.action, who=who, note=action.note or ""))
        return "\n".join(lines)

    async def patient_text_for(self, name: str) -> str:
        """/patient NAME: sessions, check-ins and reports of matching patients."""
        if not name.strip():
            return self.text("usage_patient")
        found = await self.store.find_patients(name)
        if not found:
            return self.text("no_patient", name=name)
        blocks = []
        for p in found:
            sessions = ", ".join(d.isoformat() + (" (cancelled)" if c else "")
                                 for d, c in p.sessions) or "none"
            checkins = ", ".join(f"{n} {s}" for s, n in sorted(p.checkins.items())) or "none"
            lines = [self.text("patient_head", name=p.name or self.messages.render(
                "staff_unknown_name"), telegram_id=p.telegram_id or "-",
                paused="paused" if p.checkins_paused else "on"),
                self.text("patient_sessions", sessions=sessions),
                self.text("patient_checkins", checkins=checkins)]
            for r in p.reports:
                words = r.text if len(r.text) <= 60 else r.text[:60] + "…"
                lines.append(self.text("patient_report", id=r.id, label=self.label(r),
                                       status=r.status, created=_stamp(r.created_at),
                                       text=words))
            blocks.append("\n".join(lines))
        return "\n\n".join(blocks)

    async def gaps_text(self) -> str:
        """Unanswered questions grouped by similarity (plain text)."""
        return format_gaps(await gaps(self.store))

    # --- the web desk (bot/web/) ------------------------------------------------------
    async def web_action(self, user_id: int, first_name: str, action: str, report_id: int,
                         text: str = "") -> WebOutcome:
        """Take / Reply / Resolve / Reopen / Pause from the web desk: the same checks, state
        changes and audit as the Telegram buttons and commands. The replies are not sent here:
        the web desk puts them in its outbox and the bot sends them."""
        if action not in WEB_ACTIONS:
            return WebOutcome(False, self.plain("button_unknown"), [])
        if not self.settings.is_staff(user_id):
            await self._refuse(user_id, report_id, f"web {action}")
            return WebOutcome(False, self.plain("not_staff_command"), [])
        self._seen(user_id, first_name)
        report = await self.store.get(report_id)
        if report is None:
            return WebOutcome(False, self.plain("no_report", id=report_id), [])
        if action == "take":
            replies = await self._take(user_id, report, None)
        elif action == "reply":
            replies = await self._relay(user_id, report_id, None, text, None, None)
        elif action == "resolve":
            replies = await self.resolve(user_id, report_id, text.strip(), None)
        elif action == "reopen":
            replies = await self._reopen(user_id, report_id, None)
        else:
            replies = await self._pause(user_id, report, None)
        staff_chat = self.staff_chat
        done = any(r.card_for is not None or (r.to_chat is not None and r.to_chat != staff_chat)
                   for r in replies if not r.notice)
        if action == "pause":
            done = any(r.to_chat == staff_chat and not r.notice for r in replies) or done
        feedback = next((r.text for r in replies if not r.notice and r.to_chat in (None,
                                                                                   staff_chat)),
                        next((r.text for r in replies if r.notice), ""))
        if action == "reply" and any(r.relay is not None for r in replies):
            feedback = self.text("reply_queued", id=report_id, name=self.patient_name(report))
        outgoing = [r for r in replies if not r.notice and r.to_chat is not None] if done else []
        return WebOutcome(done, html.unescape(_TAGS.sub("", feedback)), outgoing)

    def plain(self, key: str, **values: Any) -> str:
        """A "desk" message as plain text (for the web desk's notices)."""
        return html.unescape(_TAGS.sub("", self.text(key, **values)))

    # --- the patient side ----------------------------------------------------------------
    async def patient_report(self, user_id: int, text: str) -> list[Reply]:
        """The words of a /report (bot/core/flows/report.py): triaged, a report and its card;
        the report flow moves on to details and photos."""
        return await self._new_report(user_id, text, _Draft("describe"))

    async def add_to_report(self, user_id: int, report_id: int,
                            text: str) -> list[Reply] | None:
        """More words for the patient's open report (triaged; threaded under its card);
        None when that report is gone or closed."""
        report = await self.store.get(report_id)
        if report is None or report.closed:
            return None
        return await self._thread(user_id, report, text)

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
        return await self._thread(user_id, report, text)

    async def _new_report(self, user_id: int, text: str, draft: _Draft) -> list[Reply]:
        ctx = await self.kit.context(user_id)
        advice = self.advisor.ask(text, ctx.day)
        urgency = advice.urgency if advice.escalate else None
        reason = advice.triage.reason if advice.escalate and advice.triage else None
        kind = ReportKind.TRIAGE if urgency else ReportKind.PATIENT
        report = await self.kit.reports.create(user_id, kind, text, urgency=urgency,
                                                day=ctx.day, reason=reason, now=self.now())
        if urgency and self.checkins is not None:
            await self.checkins.report_raised(report)
        draft.stage, draft.report_id = "photos", report.id
        await self._save_draft(user_id, draft)
        replies: list[Reply] = []
        if urgency:
            replies += self.kit.html(html.escape(advice.answer, quote=False))
        status = self.kit.when_read(
            "urgent" if urgency == Urgency.URGENT.value else "report", ctx.patient, id=report.id)
        replies += self.kit.html(self.text("patient_sent", status=status))
        return replies + self.card(report)

    async def _thread(self, user_id: int, report: ReportInfo, text: str) -> list[Reply]:
        """The patient wrote while a report is being handled: it goes into that report."""
        advice = self.advisor.ask(text, report.day)
        await self.store.record(report.id, user_id, ReportAction.PATIENT, note=text,
                                now=self.now())
        replies: list[Reply] = []
        flag = ""
        if advice.escalate and advice.urgency:
            await self.store.raise_urgency(report.id, advice.urgency)
            flag = advice.urgency.upper() + " "
            answer = html.escape(advice.answer, quote=False)
            if advice.urgency == Urgency.URGENT.value:  # emergency advice: as it is
                patient = await self.kit.patients.get(user_id)
                answer += "\n\n" + self.kit.when_read("urgent", patient)
            replies += self.kit.html(answer)
        else:
            replies += self.kit.html(self.text("patient_threaded", id=report.id))
        if self.staff_chat is not None:
            card = await self.store.latest_card(report.id, ("card", "repost", "message"),
                                                 chat_id=self.staff_chat)
            words = text if len(text) <= 3000 else text[:3000] + "…"
            replies.append(Reply(self.text("patient_wrote", flag=flag, id=report.id,
                                           name=self.patient_name(report), text=words),
                                 to_chat=self.staff_chat,
                                 reply_to=card.message_id if card else None,
                                 card_for=report.id, card_kind="message"))
        return replies

    async def patient_photo(self, user_id: int, chat_id: int, first_name: str, file_id: str,
                            caption: str | None = None) -> list[Reply] | None:
        """A photo from a patient: kept (file id only) with their /report, their thread with
        staff, or a report they raised in the last two hours; None otherwise."""
        draft = await self._draft(user_id)
        if draft is not None and draft.stage == "describe":
            if not caption:
                return self.kit.html(self.text("patient_words_first"))
            replies = await self._new_report(user_id, caption, draft)
            report = await self.store.get(draft.report_id or 0)
        else:
            replies = []
            report = await self._photo_target(user_id, draft)
            if report is None:
                return None
            if caption and caption.strip():
                replies += await self._thread(user_id, report, caption)
        assert report is not None
        await self.store.add_photo(report.id, file_id, user_id, now=self.now())
        replies += self.kit.html(self.text("patient_photo_added"))
        if self.staff_chat is not None:
            card = await self.store.latest_card(report.id, ("card", "repost", "message"),
                                                 chat_id=self.staff_chat)
            replies.append(Reply(self.text("photo_caption", id=report.id,
                                           name=self.patient_name(report)),
                                 to_chat=self.staff_chat, photo=file_id,
                                 reply_to=card.message_id if card else None,
                                 card_for=report.id, card_kind="photo"))
        replies += await self._oncall_photo(report, file_id)
        return replies

    async def _oncall_photo(self, report: ReportInfo, file_id: str) -> list[Reply]:
        """Outside opening hours a photo of an emergency or urgent report (or of one whose
        card an on-call staff member holds) reaches each on-call staff member too, under
        their copy of the card."""
        replies: list[Reply] = []
        for chat in sorted(self.kit.availability.oncall_now(self.now())):
            card = await self.store.latest_card(report.id, chat_id=chat)
            if card is None and report.urgency not in ONCALL_URGENCIES:
                continue
            replies.append(Reply(self.text("photo_caption", id=report.id,
                                           name=self.patient_name(report)),
                                 to_chat=chat, photo=file_id,
                                 reply_to=card.message_id if card else None,
                                 card_for=report.id, card_kind="photo"))
        return replies

    async def _photo_target(self, user_id: int, draft: _Draft | None) -> ReportInfo | None:
        if draft is not None and draft.report_id is not None:
            report = await self.store.get(draft.report_id)
            if report is not None and not report.closed:
                return report
        report = await self.store.thread_for(user_id)
        if report is not None:
            return report
        latest = await self.store.latest_open(user_id)
        if latest is not None and self.now() - latest.created_at <= RECENT_REPORT:
            return latest
        return None


    async def checkin_description(self, report_id: int, text: str, label: str,
                                  urgency: str | None, reason: str | None) -> list[Reply]:
        """A patient described the problem they answered a check-in with: the words join
        the report (its text and reason), its urgency rises when triage says so, and staff
        see it under the card. Returns the staff-chat message."""
        await self.store.add_description(report_id, text, label, reason)
        if urgency:
            await self.store.raise_urgency(report_id, urgency)
        report = await self.store.get(report_id)
        if report is None:
            return []
        await self.store.record(report_id, report.telegram_id, ReportAction.PATIENT, note=text,
                                now=self.now())
        if self.staff_chat is None:
            return []
        card = await self.store.latest_card(report_id, ("card", "repost", "message"),
                                             chat_id=self.staff_chat)
        words = text if len(text) <= 3000 else text[:3000] + "…"
        flag = f"{urgency.upper()} " if urgency else ""
        return [Reply(self.text("patient_wrote", flag=flag, id=report_id,
                                name=self.patient_name(report), text=words),
                      to_chat=self.staff_chat, reply_to=card.message_id if card else None,
                      card_for=report_id, card_kind="message")]


async def gaps(store: DeskReports) -> list[GapGroup]:
    """Unanswered questions, one per patient and wording, grouped by similarity."""
    seen: set[tuple[int, str]] = set()
    texts = []
    for patient_id, text in await store.unanswered_questions():
        key = (patient_id, normalise(text))
        if key not in seen:
            seen.add(key)
            texts.append(text)
    return group_questions(texts)


def shown_length(text: str) -> int:
    """How long Telegram counts an HTML text: UTF-16 code units of what is shown (tags
    parsed, entities decoded; an emoji counts two)."""
    return len(html.unescape(_TAGS.sub("", text)).encode("utf-16-le")) // 2


def _number(value: str) -> int | None:
    return row_id(value)


def _stamp(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
