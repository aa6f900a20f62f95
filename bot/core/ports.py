"""The narrow interfaces the conversation core talks through (typing.Protocol).

The conversation flows (bot/core/flows/) and the staff desk (bot/core/desk/) never hold
each other: the flows call a `ReportNotifier` (the desk's cards, or the plain staff alert
when no desk is attached) and a `PatientDesk` (/report and threads with staff); both flows
and desk call `CheckinEvents` (scheduler/service.py's `CheckinService` implements it); the
desk rings an `AlertWaker` when it owes the staff chat a card. Both ask an `AdvisorPort`
(knowledge.advisor's `Advisor`, through the live and observed decorators of
bot/core/advisors.py) and read the bot's @username from a `BotIdentity`. The last one,
`Spool`, is not the core's: it is what the Telegram side keeps while the database is down,
named here so the composition root can build it.
bot/compose.py is the one place that builds the real objects and hands them in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bot.core.replies import Reply
from knowledge.advisor import Advice, FollowUp
from knowledge.catalogue import Catalogue, Clinic
from scheduler.service import AnswerOutcome
from storage import InviteInfo, PatientInfo, RedeemResult, ReportInfo, SessionInfo
from storage.chat_state import Payload, StateKind
from storage.context import PatientContext
from storage.kb_overrides import OverrideRow
from storage.messages import LogEntry
from storage.models import (
    AlertKind,
    InactiveReason,
    ReportAction,
    ReportKind,
    SessionSource,
    Urgency,
)
from storage.reports import ActionInfo, CardInfo, PatientOverview, Transition
from storage.spool import Spooled


class AdvisorPort(Protocol):
    """What the conversation and the desk ask the advisor (knowledge.advisor `Advisor`)."""

    @property
    def clinic(self) -> Clinic: ...

    def text(self, key: str, **values: Any) -> str: ...

    def ask(self, text: str, day: int | None = None, language_hint: str | None = None,
            weekday: int | None = None) -> Advice: ...

    def follow_up(self, question_id: str) -> FollowUp | None: ...

    def answer_follow_up(self, question_id: str, yes: bool, day: int | None) -> Advice | None: ...

    def typed_answer(self, question_id: str, text: str) -> bool | None: ...

    def answer_entry(self, entry_id: str, day: int | None) -> Advice | None: ...

    def language_text(self, language: str, key: str) -> str: ...

    def language_hours(self, language: str) -> Catalogue | None: ...

    def language_name(self, code: str) -> str: ...


# --- the storage the core uses, one aggregate each (storage/*.py implements them; the
# composition root hands in the stores themselves) -----------------------------------------
class Patients(Protocol):
    """storage.patients `PatientStore`, as the conversation and the desk use it."""

    async def get(self, telegram_id: int) -> PatientInfo | None: ...

    async def get_by_id(self, patient_id: int) -> PatientInfo | None: ...

    async def ensure(self, telegram_id: int, chat_id: int,
                     now: dt.datetime | None = None) -> PatientInfo: ...

    async def record_consent(self, telegram_id: int, name: str | None,
                             now: dt.datetime | None = None) -> PatientInfo: ...

    async def set_timezone(self, telegram_id: int, timezone: str) -> PatientInfo: ...

    async def set_checkins_paused(self, telegram_id: int, paused: bool) -> bool: ...

    async def mark_inactive(self, reason: InactiveReason | str, *, telegram_id: int | None = None,
                            chat_id: int | None = None) -> int: ...

    async def reactivate(self, telegram_id: int) -> bool: ...

    async def erase(self, telegram_id: int) -> bool: ...


class Treatments(Protocol):
    """storage.sessions `SessionStore`: treatment sessions."""

    async def add(self, session_date: dt.date, source: SessionSource | str, *,
                  telegram_id: int | None = None, patient_id: int | None = None,
                  now: dt.datetime | None = None) -> SessionInfo: ...

    async def get(self, session_id: int) -> SessionInfo | None: ...

    async def latest(self, patient_id: int) -> SessionInfo | None: ...

    async def of_patient(self, patient_id: int,
                         include_cancelled: bool = True) -> list[SessionInfo]: ...


class Invites(Protocol):
    """storage.invites `InviteStore`."""

    async def create(self, name: str, session_date: dt.date | None, ttl: dt.timedelta,
                     now: dt.datetime | None = None) -> InviteInfo: ...

    async def redeem(self, code: str, telegram_id: int, chat_id: int,
                     now: dt.datetime | None = None) -> RedeemResult: ...


class Reports(Protocol):
    """storage.reports `ReportStore`, as the flows use it (the desk holds the store)."""

    async def create(self, telegram_id: int, kind: ReportKind | str, text: str,
                     urgency: Urgency | str | None = None, day: int | None = None,
                     reason: str | None = None, now: dt.datetime | None = None,
                     source_update_id: int | None = None,
                     source_message: tuple[int, int] | None = None) -> ReportInfo: ...

    async def record(self, report_id: int | None, actor: int | None, action: ReportAction,
                     note: str | None = None, now: dt.datetime | None = None, *,
                     patient_id: int | None = None) -> None: ...


class DeskReports(Protocol):
    """storage.reports `ReportStore`, as the staff desk (and through it the web desk and the
    spool's replayer) reads and changes reports."""

    async def get(self, report_id: int) -> ReportInfo | None: ...

    async def queue(self) -> list[ReportInfo]: ...

    async def actions(self, report_id: int) -> list[ActionInfo]: ...

    async def photos(self, report_id: int) -> list[str]: ...

    async def thread_for(self, telegram_id: int) -> ReportInfo | None: ...

    async def latest_open(self, telegram_id: int) -> ReportInfo | None: ...

    async def open_alerts(self, telegram_id: int, limit: int = ...) -> list[ReportInfo]: ...

    async def card_sent(self, report_id: int, chat_id: int, message_id: int, kind: str,
                        now: dt.datetime | None = None) -> bool: ...

    async def card(self, chat_id: int, message_id: int) -> CardInfo | None: ...

    async def latest_card(self, report_id: int, kinds: Sequence[str] = ...,
                          chat_id: int | None = None) -> CardInfo | None: ...

    async def unanswered(self, thresholds: dict[str, dt.timedelta], now: dt.datetime | None = None
                         ) -> list[tuple[ReportInfo, CardInfo]]: ...

    async def first_actions(self, since: dt.datetime,
                            until: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]: ...

    async def record(self, report_id: int | None, actor: int | None, action: ReportAction,
                     note: str | None = None, now: dt.datetime | None = None, *,
                     patient_id: int | None = None) -> None: ...

    async def add_photo(self, report_id: int, file_id: str, actor: int | None,
                        now: dt.datetime | None = None) -> None: ...

    async def add_description(self, report_id: int, words: str, label: str,
                              reason: str | None = None) -> bool: ...

    async def take(self, report_id: int, actor: int,
                   now: dt.datetime | None = None) -> Transition: ...

    async def resolve(self, report_id: int, actor: int, note: str,
                      now: dt.datetime | None = None) -> Transition: ...

    async def reopen(self, report_id: int, actor: int,
                     now: dt.datetime | None = None) -> Transition: ...

    async def find_patients(self, name: str, limit: int = ...) -> list[PatientOverview]: ...

    async def unanswered_questions(
            self, since: dt.datetime | None = None) -> list[tuple[int, str]]: ...

    async def export(self, start: dt.datetime,
                     end: dt.datetime) -> list[tuple[ReportInfo, list[ActionInfo]]]: ...


class MessageStore(Protocol):
    """storage.messages `MessageLog`: the chat log (it drops entries without consent)."""

    async def log_batch(self, entries: Sequence[LogEntry]) -> int: ...


class DataSummary(Protocol):
    """storage.stats `Stats`: what /mydata shows."""

    async def data_summary(self, telegram_id: int) -> dict[str, Any]: ...


class ChatStates(Protocol):
    """storage.chat_state `ChatStateStore`: users' short-lived states (the patient's flow,
    a staff member's pending action)."""

    async def get(self, telegram_id: int, kind: StateKind,
                  now: dt.datetime | None = None) -> Payload | None: ...

    async def all_of_kind(self, kind: StateKind,
                          now: dt.datetime | None = None) -> dict[int, Payload]: ...

    async def put(self, telegram_id: int, kind: StateKind, payload: Mapping[str, Any],
                  ttl: dt.timedelta, now: dt.datetime | None = None) -> None: ...

    async def clear(self, telegram_id: int, kind: StateKind | None = None) -> bool: ...

    async def purge_expired(self, now: dt.datetime | None = None) -> int: ...


class CardOutbox(Protocol):
    """storage.alerts `AlertSql`, as the desk owes the staff chat cards and their edits."""

    async def owe(self, report_id: int, kind: AlertKind, now: dt.datetime,
                  chats: Sequence[int | None] = (None,)) -> None: ...

    async def owe_repost(self, report_id: int, wait: dt.timedelta, now: dt.datetime,
                         chats: Sequence[int | None] = (None,)) -> bool: ...

    async def owe_copy_edits(self, report_id: int, staff_chat: int | None,
                             now: dt.datetime) -> int: ...

    async def repeat(self, report_id: int, text: str, urgency: str | None, actor: int,
                     now: dt.datetime, oncall: Sequence[int] = ()) -> bool: ...

    async def edited(self, telegram_id: int, chat_id: int, message_id: int, text: str,
                     urgency: str | None, now: dt.datetime,
                     oncall: Sequence[int] = ()) -> tuple[int, str] | None: ...

    async def flagged(self, report_id: int, text: str, urgency: str, now: dt.datetime,
                      oncall: Sequence[int] = ()) -> bool: ...

    async def owed(self) -> int: ...

    async def unreachable(self) -> list[tuple[int, int]]: ...


class KBOverrides(Protocol):
    """storage.kb_overrides `KBOverrideStore`: the clinic's knowledge-base additions."""

    async def version(self) -> int: ...

    async def all(self) -> tuple[int, list[OverrideRow]]: ...

    async def add(self, kind: str, entry_id: str, body: dict[str, Any], created_by: int | None,
                  now: dt.datetime) -> int: ...

    async def remove(self, override_id: int, now: dt.datetime) -> bool: ...


class Erasures(Protocol):
    """How many erasures the shared database has seen (storage/erasures.py and its twin):
    what tells a replica that another one erased a patient whose words it may hold."""

    async def epoch(self) -> int: ...

    def forget_cached(self) -> None: ...


class PatientContexts(Protocol):
    """The one read across aggregates (storage/context.py `ContextReader`): a
    user's patient row, latest session and conversation states in one round trip."""

    async def patient_context(self, telegram_id: int,
                              now: dt.datetime | None = None) -> PatientContext: ...


class BotIdentity(Protocol):
    """The bot's @username for t.me links: configured (AFTERCARE_BOT_USERNAME), or as
    Telegram reported it (getMe); None while unknown."""

    @property
    def username(self) -> str | None: ...


class CheckinEvents(Protocol):
    """What the core tells the check-in scheduler, and asks it about answers."""

    async def session_logged(self, session_id: int) -> int: ...

    async def patient_linked(self, patient_id: int) -> int: ...

    async def stop(self, patient_id: int) -> int: ...

    async def resume(self, patient_id: int) -> int: ...

    async def report_raised(self, report: ReportInfo) -> int: ...

    async def report_resolved(self, report_id: int) -> int: ...

    async def answer(self, telegram_id: int, data: str, *,
                     store: bool = True) -> AnswerOutcome: ...

    async def session_moved(self, session_id: int, new_date: dt.date) -> int: ...

    async def session_cancelled(self, session_id: int) -> int: ...

    async def holding_reports(self, patient_id: int) -> list[int]: ...


class AlertWaker(Protocol):
    """Wakes this process's alert sender when the outbox was just owed a card
    (scheduler.alerts `AlertBell`)."""

    def wake(self) -> None: ...


class ReportNotifier(Protocol):
    """Turns a new report into what the staff chat is sent."""

    def notify(self, report: ReportInfo) -> list[Reply]: ...

    async def repeat(self, user_id: int, text: str, urgency: str | None) -> int | None:
        """Thread a repeated red flag into the patient's open report (its id), or None."""
        ...

    async def edited(self, user_id: int, chat_id: int, message_id: int, text: str,
                     urgency: str | None) -> tuple[int, str] | None:
        """The patient edited the message that raised an open report: the report (and its
        card) take the new words. (report id, urgency before: "" for none), or None."""
        ...


@dataclass(frozen=True)
class OpenAlert:
    """The patient's unresolved red-flag report still within its window after the alert
    (`bot.core.desk.patients.alert_tier`): the safety line it calls for now, "emergency" or
    "urgent" (an emergency past its own window but within the urgent one is "urgent")."""

    report_id: int
    tier: str
    language: str = "en"  # the language the alert was written in
    # aftercare topics (knowledge-base entry ids) that overlap the alert's signs: an answer on
    # one of them would reassure about the flagged thing (bot/core/alert_topics.yaml)
    topics: frozenset[str] = frozenset()


class PatientDesk(Protocol):
    """The staff desk as the patient conversation sees it (/report and threads with staff;
    `bot.core.desk.patients.PatientReports`). The cards of new reports go through a
    `ReportNotifier` (`bot.core.desk.cards.Cards`)."""

    async def patient_report(self, user_id: int, text: str) -> Sequence[Reply]: ...

    async def kept_report(self, user_id: int, report: ReportInfo) -> Sequence[Reply]: ...

    async def add_to_report(self, user_id: int, report_id: int, text: str,
                            advice: Advice | None = None,
                            alert: bool = False) -> Sequence[Reply] | None: ...

    async def open_alert(self, user_id: int) -> OpenAlert | None: ...

    async def checkin_description(self, report_id: int, text: str, label: str,
                                  urgency: str | None, reason: str | None) -> list[Reply]: ...

    async def patient_text(self, user_id: int, chat_id: int, first_name: str, text: str,
                           may_have_thread: bool = True,
                           states: Mapping[str, Any] | None = None) -> Sequence[Reply] | None: ...


# --- what is kept while the database is down (not the core's: bot/telegram/spooling.py keeps
# and replays it, /readyz counts it; here so the composition root can name it) --------------
class Spool(Protocol):
    """The report spool (storage/spool.py `ReportSpool`, a local file; storage/spool_memory.py
    `MemorySpool`, its in-memory twin): entries once per (kind, update id), in order."""

    @property
    def location(self) -> str:
        """Where the entries are kept (for the log)."""
        ...

    def __len__(self) -> int:
        """Entries waiting for the database."""
        ...

    def append(self, item: Spooled) -> None:
        """Keep `item` durably before returning."""
        ...

    def pending(self) -> list[Spooled]:
        """What is kept, once per (kind, update id), in order."""
        ...

    async def replay(self, store: Callable[[Spooled], Awaitable[object]],
                     order: Callable[[list[Spooled]], list[Spooled]] | None = None) -> int:
        """Store every entry through `store` (False keeps one; it is tried again after the
        others), each removed once stored; the first failure stops the replay and is raised.
        How many were stored."""
        ...

    def remove(self, items: Iterable[Spooled]) -> None:
        """`items` were taken with the entry being stored: removed, not stored again."""
        ...
