"""ORM models (SQLAlchemy 2 typed declarative) and the string enums stored in their columns.

Every table change needs a matching hand-written Alembic migration in
``storage/migrations/versions``; ``tests/test_storage.py`` checks that models and
migrations agree on every supported backend.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy import text as sa_text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# the enums stored in these columns, defined without SQLAlchemy (re-exported here)
from storage.states import AlertKind as AlertKind
from storage.states import AlertStatus as AlertStatus
from storage.states import CheckinStatus as CheckinStatus
from storage.states import Direction as Direction
from storage.states import InactiveReason as InactiveReason
from storage.states import OutboxStatus as OutboxStatus
from storage.states import Outcome as Outcome
from storage.states import ReportAction as ReportAction
from storage.states import ReportKind as ReportKind
from storage.states import ReportStatus as ReportStatus
from storage.states import SessionSource as SessionSource
from storage.states import Urgency as Urgency

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Reports not resolved yet (open or taken): a handful among thousands. The partial index
# ix_reports_unresolved holds only these, so the queue and the per-patient open counts never
# read the resolved ones; a query uses it when its WHERE names these statuses as literals
# (`storage.report_rows.UNRESOLVED`), which SQLite needs to match a partial index.
UNRESOLVED_SQL = "status IN ('open', 'taken')"


class Words(TypeDecorator[str]):
    """Text people wrote (patients' messages, staff notes, names): stored without NUL
    characters, which PostgreSQL's text columns refuse (the statement would fail and the
    words be lost over an invisible character). `Words()` is TEXT, `Words(200)` VARCHAR(200).
    """

    impl = Text
    cache_ok = True

    def __init__(self, length: int | None = None) -> None:
        super().__init__()
        if length is not None:
            self.impl = String(length)  # type: ignore[assignment]

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return value.replace("\x00", "") if isinstance(value, str) else value


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetime on every backend.

    Refuses naive datetimes on the way in (they are bugs), stores UTC, and marks
    values read back as UTC (SQLite drops the offset).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware datetime")
        utc = value.astimezone(dt.UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base carrying the constraint naming convention used by migrations."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # every model here is mapped to a real table (no joined/abstract mappings): Core SQL on
    # `Model.__table__` gets the Table type (insert/update/delete accept it).
    if TYPE_CHECKING:
        __table__: ClassVar[Table]


class Patient(Base):
    """A clinic patient; bare (telegram id and chat only) until consent is given."""

    __tablename__ = "patients"
    __table_args__ = {"sqlite_autoincrement": True}  # ids are never handed out twice

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_id: Mapped[int | None] = mapped_column(BigInteger, unique=True, index=True)
    chat_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    name: Mapped[str | None] = mapped_column(Words(200))
    timezone: Mapped[str | None] = mapped_column(String(64))
    consent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    inactive_reason: Mapped[str | None] = mapped_column(String(32))
    checkins_paused: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class TreatmentSession(Base):
    """One micro-needling treatment, dated in the patient's local calendar."""

    __tablename__ = "treatment_sessions"
    __table_args__ = (Index("ix_treatment_sessions_patient_date", "patient_id", "session_date"),
                      Index("ix_treatment_sessions_date_patient", "session_date", "patient_id",
                            "cancelled_at"),
                      Index("ix_treatment_sessions_created_at", "created_at"),
                      {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    session_date: Mapped[dt.date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(16))
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Invite(Base):
    """A one-time code staff hand out so a patient can link Telegram to their record."""

    __tablename__ = "invites"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    used_by_telegram_id: Mapped[int | None] = mapped_column(BigInteger)


class Message(Base):
    """A chat message in or out, logged only for consenting patients."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_patient_created", "patient_id", "created_at"),
                      Index("ix_messages_direction_outcome_created", "direction", "outcome",
                            "created_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Words())
    topic: Mapped[str | None] = mapped_column(String(100))
    outcome: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Report(Base):
    """Something clinic staff must look at (hand-off, triage alarm, check-in answer)."""

    __tablename__ = "reports"
    __table_args__ = (Index("ix_reports_status_created", "status", "created_at"),
                      Index("ix_reports_created_at", "created_at"),
                      Index("ix_reports_unresolved", "patient_id",
                            sqlite_where=sa_text(UNRESOLVED_SQL),
                            postgresql_where=sa_text(UNRESOLVED_SQL)),
                      Index("ix_reports_source_message", "source_chat_id", "source_message_id"),
                      {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("treatment_sessions.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(
        String(16), default=ReportStatus.OPEN.value, server_default=ReportStatus.OPEN.value
    )
    urgency: Mapped[str | None] = mapped_column(String(16))
    day: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Words())
    reason: Mapped[str | None] = mapped_column(Words())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    taken_by: Mapped[int | None] = mapped_column(BigInteger)  # staff Telegram id
    taken_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    resolved_by: Mapped[int | None] = mapped_column(BigInteger)
    resolution_note: Mapped[str | None] = mapped_column(Words())
    reposted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # claimed re-post
    repeats: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # threaded
    latest_text: Mapped[str | None] = mapped_column(Words())  # newest words threaded into it
    source_update_id: Mapped[int | None] = mapped_column(  # the Telegram update that raised
        BigInteger, unique=True)  # it: a report kept in the spool is stored once
    # the patient's message whose words raised it (an edit of it updates the report)
    source_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    source_message_id: Mapped[int | None] = mapped_column(BigInteger)
    # the newest red flag about it after the one that raised it (a repeat threaded into it, a
    # red flag in its thread or a check-in description that raised it): the patient's safety
    # line counts its window from then (bot/core/desk/patients.py `alert_tier`)
    alerted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class CheckIn(Base):
    """One planned check-in message of a treatment session: the durable outbox row."""

    __tablename__ = "checkins"
    __table_args__ = (
        UniqueConstraint("session_id", "step", name="uq_checkins_session_id_step"),
        Index("ix_checkins_status_due", "status", "due_at"),
        Index("ix_checkins_sent_answered", "sent_at", "answered_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("treatment_sessions.id", ondelete="CASCADE")
    )
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    step: Mapped[str] = mapped_column(String(32))
    day_offset: Mapped[int] = mapped_column(Integer)
    local_date: Mapped[dt.date] = mapped_column(Date)
    tz: Mapped[str] = mapped_column(String(64))
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    deliver_until: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(
        String(16), default=CheckinStatus.PENDING.value,
        server_default=CheckinStatus.PENDING.value,
    )
    paused_reason: Mapped[str | None] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    answer: Mapped[str | None] = mapped_column(String(32))
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class SendPause(Base):
    """The Telegram 429 pause shared by every replica (one row, id 1)."""

    __tablename__ = "send_pause"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    paused_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class ReportActionRow(Base):
    """One entry of a report's audit trail: who did what, when."""

    __tablename__ = "report_actions"
    __table_args__ = (Index("ix_report_actions_report_created", "report_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    # the patient an entry without a report is about (a session fixed or cancelled)
    patient_id: Mapped[int | None] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    actor_telegram_id: Mapped[int | None] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Words())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)


class ReportPhoto(Base):
    """A photo the patient sent with a report: Telegram's file id only, never the image."""

    __tablename__ = "report_photos"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(
        ForeignKey("reports.id", ondelete="CASCADE"), index=True
    )
    file_id: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class ReportCard(Base):
    """A staff-chat message about a report (card, re-post, threaded patient message).

    Staff replies to any of these go to the report's patient: the message id is looked up
    here, server-side, so nothing in Telegram decides who receives a reply.
    """

    __tablename__ = "report_cards"
    __table_args__ = (
        UniqueConstraint("chat_id", "message_id", name="uq_report_cards_chat_id_message_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(
        ForeignKey("reports.id", ondelete="CASCADE"), index=True
    )
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class ChatState(Base):
    """Short-lived conversation state of one Telegram user, shared by every replica.

    One row per user and `kind` ("patient": awaiting a typed date or zone, the last question
    for "ask the clinic"; "report": a /report in progress; "staff": the answer or note a staff
    member's next message is). `payload` is JSON; a row past `expires_at` counts as absent.
    """

    __tablename__ = "chat_state"

    telegram_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    payload: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class DeskOutbox(Base):
    """A message the staff desk wants sent (to one patient, or to the staff chat), written
    on the web desk or by a staff action in Telegram.

    The web desk needs no bot process: it writes here (storage/desk_outbox.py, the only
    writer) and the bot sends, claiming each row with a conditional UPDATE so exactly one
    replica delivers it. `payload` is the JSON of a `bot.core.conversation.Reply`.
    """

    __tablename__ = "desk_outbox"
    __table_args__ = (Index("ix_desk_outbox_status_id", "status", "id"),
                      Index("ix_desk_outbox_source", "source"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    report_id: Mapped[int | None] = mapped_column(
        ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING.value,
                                        server_default=OutboxStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # what wrote the row when it may be written again: "update:<id>" for a staff action in
    # Telegram (an update handled again after a crash finds its messages already stored)
    source: Mapped[str | None] = mapped_column(String(64))


class DeskLogin(Base):
    """A Telegram Login Widget payload already used to sign in (refused if presented again)."""

    __tablename__ = "desk_logins"

    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger)
    used_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)


class KBOverride(Base):
    """The clinic's own addition to the knowledge base, made on the web desk.

    `kind` "questions": `body` is a JSON list of example questions for entry `entry_id`;
    "entry": `body` is the JSON of a whole new entry (as in knowledge/kb/*.yaml).
    Written only by storage/kb_overrides.py, which bumps `KBOverrideVersion` in the same
    transaction so every replica reloads its matcher.
    """

    __tablename__ = "kb_overrides"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    entry_id: Mapped[str] = mapped_column(String(100), index=True)
    body: Mapped[str] = mapped_column(Words())
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class KBOverrideVersion(Base):
    """One row (id 1): bumped on every override change; replicas compare it to reload."""

    __tablename__ = "kb_override_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Alert(Base):
    """One thing owed to the staff chat: the durable alert outbox row (storage/alerts.py).

    A card row is written in the same transaction as its report; erase rows keep only the
    staff-chat message to edit (no report, no patient data)."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_status_due", "status", "due_at"),
                      {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int | None] = mapped_column(
        ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[int | None] = mapped_column(BigInteger)  # edits: the message's chat
    message_id: Mapped[int | None] = mapped_column(BigInteger)  # edits: the message
    card_kind: Mapped[str | None] = mapped_column(String(16))  # edits: what that message is
    status: Mapped[str] = mapped_column(
        String(16), default=AlertStatus.PENDING.value, server_default=AlertStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    sent_message_id: Mapped[int | None] = mapped_column(BigInteger)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class LeaderLease(Base):
    """Who polls Telegram (storage/leader_lease.py): one row per lease `name`, renewed by its
    holder every few seconds. `beat` goes up with every change (taken, renewed, released), so
    a standby that sees it stand still for a lease period knows the holder is gone (without
    comparing clocks); `renewed_at`/`expires_at` are the holder's clock, for people."""

    __tablename__ = "leader_lease"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(128))
    beat: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    renewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class HandledUpdate(Base):
    """A Telegram update the polling leader has handled (storage/handled_updates.py): a
    leader that takes over skips the ones its frozen or killed predecessor handled but had
    not confirmed to Telegram yet. Kept for two days (Telegram keeps an update one)."""

    __tablename__ = "handled_update"

    bot: Mapped[str] = mapped_column(String(64), primary_key=True)
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    handled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)


class ErasureEpoch(Base):
    """How many erasures the database has seen (storage/erasures.py): one row, its `epoch`
    raised in the transaction of every erasure. Each replica reads it before an update and
    every few seconds, and empties its in-process caches of patients' words when it has
    changed, so an erasure handled by one replica is forgotten by all. It holds no patient's
    id or words."""

    __tablename__ = "erasure_epoch"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    epoch: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
