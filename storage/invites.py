"""The invites aggregate: the only module that writes ``invites``.

Staff create a patient record with an invite (`create`); the patient opens the t.me deep link
and `redeem` links their Telegram account to that record (merging it into the record they
already have, if any: `storage.patients.merge_patients`).
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.clock import Clock, utcnow
from storage.models import Invite, Patient, SessionSource
from storage.patients import (
    PatientInfo,
    aware_now,
    by_telegram,
    link_telegram,
    merge_patients,
    new_patient,
    patient_info,
)
from storage.sessions import new_session


@dataclass(frozen=True, slots=True)
class InviteInfo:
    """An invite row; `code` goes into the t.me deep link."""

    code: str
    patient_id: int
    created_at: dt.datetime
    expires_at: dt.datetime
    used_at: dt.datetime | None
    used_by_telegram_id: int | None


class RedeemStatus(StrEnum):
    """Outcome of redeeming an invite code."""

    OK = "ok"  # the invite's patient record is now linked to this Telegram user
    ALREADY_LINKED = "already_linked"  # user already had a record: invite merged into it
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"  # used by someone else


@dataclass(frozen=True, slots=True)
class RedeemResult:
    """Result of `InviteStore.redeem`; `patient` is set when `ok`."""

    status: RedeemStatus
    patient: PatientInfo | None = None

    @property
    def ok(self) -> bool:
        """True when the Telegram user is now linked to the invited record."""
        return self.status in (RedeemStatus.OK, RedeemStatus.ALREADY_LINKED)


def invite_info(row: Invite) -> InviteInfo:
    """The frozen view of an ORM invite row."""
    return InviteInfo(code=row.code, patient_id=row.patient_id, created_at=row.created_at,
                      expires_at=row.expires_at, used_at=row.used_at,
                      used_by_telegram_id=row.used_by_telegram_id)


def new_invite_code() -> str:
    """A 22-character url-safe random code (fits Telegram's 64-char deep-link payload)."""
    return secrets.token_urlsafe(16)


class InviteStore:
    """Async access to invites."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock = utcnow) -> None:
        self.sessions = sessions
        self.clock = clock

    async def create(self, name: str, session_date: dt.date | None, ttl: dt.timedelta,
                     now: dt.datetime | None = None) -> InviteInfo:
        """Staff side: create a patient record (name, optional treatment date) and its invite."""
        now = aware_now(self.clock, now)
        async with self.sessions.begin() as s:
            patient = await new_patient(s, now, name=name)
            if session_date is not None:
                new_session(s, patient.id, session_date, SessionSource.INVITE, now)
            invite = Invite(code=new_invite_code(), patient_id=patient.id, created_at=now,
                            expires_at=now + ttl)
            s.add(invite)
            await s.flush()
            return invite_info(invite)

    async def get(self, code: str) -> InviteInfo | None:
        """The invite with this code, or None."""
        async with self.sessions.begin() as s:
            row = await s.get(Invite, code)
            return invite_info(row) if row else None

    async def redeem(self, code: str, telegram_id: int, chat_id: int,
                     now: dt.datetime | None = None) -> RedeemResult:
        """Link the Telegram user to the invited patient record.

        If the user already has a patient row (e.g. they pressed /start before using
        the link), that row is kept - it holds their consent and history - and the
        invite's record is merged into it: its sessions, reports and invites move
        over, its name fills a missing name, and the now empty invite record is
        deleted. The result is then ALREADY_LINKED (still `ok`). Opening the same
        link again as the same user also answers ALREADY_LINKED; a different user
        gets USED.
        """
        now = aware_now(self.clock, now)
        async with self.sessions.begin() as s:
            invite = (
                await s.get(Invite, code.strip(), with_for_update=True) if code.strip() else None
            )
            if invite is None:
                return RedeemResult(RedeemStatus.UNKNOWN)
            existing = await s.scalar(by_telegram(telegram_id))
            if invite.used_at is not None:
                if invite.used_by_telegram_id == telegram_id and existing is not None:
                    return RedeemResult(RedeemStatus.ALREADY_LINKED, patient_info(existing))
                return RedeemResult(RedeemStatus.USED)
            if now >= invite.expires_at:
                return RedeemResult(RedeemStatus.EXPIRED)
            invite.used_at = now
            invite.used_by_telegram_id = telegram_id
            invited = await s.get(Patient, invite.patient_id)
            assert invited is not None  # FK guarantees it
            if existing is None:
                link_telegram(invited, telegram_id, chat_id)
                await s.flush()
                return RedeemResult(RedeemStatus.OK, patient_info(invited))
            await merge_patients(s, source=invited, target=existing, chat_id=chat_id)
            return RedeemResult(RedeemStatus.ALREADY_LINKED, patient_info(existing))


__all__ = ["InviteInfo", "InviteStore", "RedeemResult", "RedeemStatus", "invite_info",
           "new_invite_code"]
