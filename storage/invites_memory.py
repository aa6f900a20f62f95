"""In-memory twin of `storage.invites.InviteStore`, for fast tests.

`MemoryInviteStore` creates invited patient records (with their treatment date) and redeems
codes in the `MemoryTables` (storage/memory_tables.py) it shares with the patients' and
sessions' twins, with the same outcomes: unknown, expired, used by someone else, linked, or
merged into the record the user already had (their sessions, invites, messages and reports
move over, the invite's name fills a missing one, the invite's record goes).
tests/test_invites_conformance.py runs the same tests against both.
"""

from __future__ import annotations

import datetime as dt

from storage.clock import Clock, utcnow
from storage.invites import InviteInfo, RedeemResult, RedeemStatus, new_invite_code
from storage.memory_tables import InviteRow, MemoryTables, PatientRow, utc
from storage.patients import aware_now
from storage.patients_memory import patient_info
from storage.states import SessionSource


def invite_info(row: InviteRow) -> InviteInfo:
    """The frozen view of a row (as `storage.invites.invite_info`)."""
    return InviteInfo(row.code, row.patient_id, row.created_at, row.expires_at, row.used_at,
                      row.used_by_telegram_id)


class MemoryInviteStore:
    """Invites in memory (the interface of `InviteStore`)."""

    def __init__(self, tables: MemoryTables | None = None, clock: Clock = utcnow) -> None:
        self.tables = tables if tables is not None else MemoryTables()
        self.clock = clock

    async def create(self, name: str, session_date: dt.date | None, ttl: dt.timedelta,
                     now: dt.datetime | None = None) -> InviteInfo:
        """Staff side: a patient record (name, optional treatment date) and its invite."""
        now = utc(aware_now(self.clock, now))
        patient = self.tables.add_patient(now, name=name)
        if session_date is not None:
            self.tables.add_session(patient.id, session_date, SessionSource.INVITE.value, now)
        row = InviteRow(new_invite_code(), patient.id, now, now + ttl)
        self.tables.invites[row.code] = row
        return invite_info(row)

    async def get(self, code: str) -> InviteInfo | None:
        """The invite with this code, or None."""
        row = self.tables.invites.get(code)
        return invite_info(row) if row else None

    async def redeem(self, code: str, telegram_id: int, chat_id: int,
                     now: dt.datetime | None = None) -> RedeemResult:
        """Link the Telegram user to the invited record (see `InviteStore.redeem`)."""
        now = utc(aware_now(self.clock, now))
        invite = self.tables.invites.get(code.strip())
        if invite is None:
            return RedeemResult(RedeemStatus.UNKNOWN)
        existing = self.tables.by_telegram(telegram_id)
        if invite.used_at is not None:
            if invite.used_by_telegram_id == telegram_id and existing is not None:
                return RedeemResult(RedeemStatus.ALREADY_LINKED, patient_info(existing))
            return RedeemResult(RedeemStatus.USED)
        if now >= invite.expires_at:
            return RedeemResult(RedeemStatus.EXPIRED)
        invite.used_at, invite.used_by_telegram_id = now, telegram_id
        invited = self.tables.patients[invite.patient_id]
        if existing is None:
            invited.telegram_id, invited.chat_id = telegram_id, chat_id
            return RedeemResult(RedeemStatus.OK, patient_info(invited))
        self._merge(invited, existing, chat_id)
        return RedeemResult(RedeemStatus.ALREADY_LINKED, patient_info(existing))

    def _merge(self, source: PatientRow, target: PatientRow, chat_id: int) -> None:
        """As `storage.patients.merge_patients`: `source`'s rows move to `target`."""
        self.tables.repoint(source.id, target.id)
        if not target.name and source.name:
            target.name = source.name
        target.chat_id = chat_id
        self.tables.delete_patient(source.id)


__all__ = ["MemoryInviteStore", "invite_info"]
