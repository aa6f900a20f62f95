"""Storage: SQLAlchemy models, database sessions, Alembic migrations and one module per
aggregate (patients, sessions, invites, messages, reports, chat state, retention, stats),
each the only writer of its tables. Shared by scheduler and bot; imports neither.

There is no bundle of aggregates: each caller is handed the stores it uses (bot/compose.py
builds them), and the one read across aggregates is storage/context.py's `ContextReader`.
"""

from storage.clock import Clock, ManualClock, utcnow
from storage.db import Database, make_engine, make_sessionmaker
from storage.invites import InviteInfo, InviteStore, RedeemResult, RedeemStatus
from storage.messages import LogEntry, MessageLog
from storage.migrate import current_revision, head_revision, upgrade_database
from storage.models import (
    Direction,
    InactiveReason,
    Outcome,
    ReportKind,
    ReportStatus,
    SessionSource,
    Urgency,
)
from storage.patients import ConsentRequired, PatientInfo, PatientStore
from storage.reports import ReportInfo, ReportStore
from storage.sessions import SessionInfo, SessionStore
from storage.stats import Stats

__all__ = [
    "Clock",
    "ConsentRequired",
    "Database",
    "Direction",
    "InactiveReason",
    "InviteInfo",
    "InviteStore",
    "LogEntry",
    "ManualClock",
    "MessageLog",
    "Outcome",
    "PatientInfo",
    "PatientStore",
    "RedeemResult",
    "RedeemStatus",
    "ReportInfo",
    "ReportKind",
    "ReportStatus",
    "ReportStore",
    "SessionInfo",
    "SessionSource",
    "SessionStore",
    "Stats",
    "Urgency",
    "current_revision",
    "head_revision",
    "make_engine",
    "make_sessionmaker",
    "upgrade_database",
    "utcnow",
]
