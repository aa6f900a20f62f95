"""Storage: SQLAlchemy models, database sessions, Alembic migrations and one module per
aggregate (patients, sessions, invites, messages, reports, chat state, retention, stats),
each the only writer of its tables. Shared by scheduler and bot; imports neither.

`Repository` (storage/repo.py) bundles the aggregates of one database (``repo.patients``,
``repo.treatments``, ``repo.reports``...); callers use the aggregates directly.
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
from storage.repo import Repository
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
    "Repository",
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
