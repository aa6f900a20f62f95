"""The string enums stored in the tables' columns (storage/models.py uses them in its
models and re-exports them). Plain Python, no SQLAlchemy: importing one (the CLI's
``aftercare checkins --status`` choices, the dispatcher's reasons) loads no database code."""

from __future__ import annotations

from enum import StrEnum


class Direction(StrEnum):
    """Who wrote a logged message."""

    IN = "in"
    OUT = "out"


class Outcome(StrEnum):
    """What the bot did with an incoming message."""

    ANSWERED = "answered"
    SUGGESTED = "suggested"
    ABSTAINED = "abstained"
    ESCALATED = "escalated"
    SMALLTALK = "smalltalk"
    FOREIGN = "foreign"  # written in another language: passed on as written, or "English only"


class SessionSource(StrEnum):
    """Who recorded a treatment session."""

    PATIENT = "patient"
    STAFF = "staff"
    INVITE = "invite"


class ReportKind(StrEnum):
    """Why a report for the clinic exists."""

    QUESTION = "question"  # the patient asked to pass a question to the clinic
    TRIAGE = "triage"  # red-flag symptoms detected by triage
    CHECKIN = "checkin"  # a worrying answer to a scheduled check-in
    PATIENT = "patient"  # anything else the patient reported


class ReportStatus(StrEnum):
    """Staff workflow state of a report."""

    OPEN = "open"
    TAKEN = "taken"
    RESOLVED = "resolved"


class Urgency(StrEnum):
    """How fast staff must react to a report."""

    EMERGENCY = "emergency"
    URGENT = "urgent"


class InactiveReason(StrEnum):
    """Why the bot stopped writing to a patient."""

    BLOCKED = "blocked"
    CHAT_NOT_FOUND = "chat not found"
    DEACTIVATED = "deactivated"


class CheckinStatus(StrEnum):
    """Where a planned check-in is in its life (the outbox state machine)."""

    PENDING = "pending"  # waiting for its due time
    CLAIMED = "claimed"  # taken by a dispatcher, lease running
    SENT = "sent"  # Telegram accepted it; telegram_message_id is set
    FAILED = "failed"  # gave up (permanent error or too many attempts); staff see it
    EXPIRED = "expired"  # not sent within its delivery window; staff see it
    CANCELLED = "cancelled"  # session cancelled, patient unreachable or opted out
    PAUSED = "paused"  # held by /stop or by an unresolved problem report


class ReportAction(StrEnum):
    """What happened to a report (the audit trail's `action` column)."""

    TAKEN = "taken"
    REPLIED = "replied"  # staff sent the patient a message
    PAUSED = "paused"  # staff paused the patient's check-ins
    RESOLVED = "resolved"
    REOPENED = "reopened"
    REFUSED = "refused"  # someone who is not staff tried to act
    PATIENT = "patient"  # the patient wrote into the report's thread
    PHOTO = "photo"  # the patient added a photo
    REPOSTED = "reposted"  # nobody took it in time: the card was posted again
    # Staff changed a patient's treatment session (web desk; no report: the entry names the
    # patient in `patient_id`)
    SESSION_MOVED = "session_moved"
    SESSION_CANCELLED = "session_cancel"
    # a message the web desk wrote to the patient reached them / was given up (desk outbox)
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"


class OutboxStatus(StrEnum):
    """Where a message written by the web desk is on its way to Telegram."""

    PENDING = "pending"  # waiting for the bot to send it
    SENT = "sent"  # Telegram accepted it
    FAILED = "failed"  # Telegram refused it, or too many attempts


class AlertKind(StrEnum):
    """What an alert-outbox row asks the staff chat to show."""

    CARD = "card"  # the card of a new (or reopened) report
    REPOST = "repost"  # nobody took an urgent card in time: post it again with mentions
    UPDATE = "update"  # the card's words changed (a repeat threaded into it): edit it
    ERASE = "erase"  # the patient asked for erasure: edit a staff-chat message to a notice
    RAISE = "raise"  # a repeat or an edit raised the report's urgency: a new message under it


class AlertStatus(StrEnum):
    """The alert outbox state machine (same shape as `CheckinStatus`)."""

    PENDING = "pending"
    CLAIMED = "claimed"
    SENT = "sent"
    FAILED = "failed"  # an edit Telegram refused for good (cards are retried, never failed)
