"""In-memory twin of `storage.patients.PatientStore`, for fast tests.

`MemoryPatientStore` keeps patient rows in a `MemoryTables` (storage/memory_tables.py) it
shares with the other aggregates' twins, and follows the same rules: nothing but the Telegram
ids before consent (`set_timezone` raises `ConsentRequired`), names trimmed to 200
characters, naive times refused, erasure taking the patient's sessions, invites, messages,
reports and conversation states (and staff members' pending actions on those reports) with
it, and owing an "[erased]" edit of every staff-chat card about those reports in the alert
outbox's rows (storage/alerts_memory.py reads them). tests/test_patients_conformance.py runs
the same tests against both.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from storage.chat_state import StateKind, decode
from storage.clock import Clock, utcnow
from storage.memory_tables import MemoryTables, PatientRow, utc
from storage.patients import ConsentRequired, PatientInfo, aware_now
from storage.states import AlertKind, InactiveReason


def patient_info(row: PatientRow) -> PatientInfo:
    """The frozen view of a row (as `storage.patients.patient_info`)."""
    return PatientInfo(row.id, row.telegram_id, row.chat_id, row.name, row.timezone,
                       row.consent_at, row.active, row.inactive_reason, row.checkins_paused,
                       row.created_at)


class MemoryPatientStore:
    """Patient rows in memory (the interface of `PatientStore`)."""

    def __init__(self, tables: MemoryTables | None = None, clock: Clock = utcnow) -> None:
        self.tables = tables if tables is not None else MemoryTables()
        self.clock = clock

    def _now(self, now: dt.datetime | None) -> dt.datetime:
        return aware_now(self.clock, now)

    def _require(self, telegram_id: int) -> PatientRow:
        row = self.tables.by_telegram(telegram_id)
        if row is None:
            raise LookupError(f"no patient with telegram id {telegram_id}")
        return row

    async def get(self, telegram_id: int) -> PatientInfo | None:
        """The patient linked to this Telegram user, or None."""
        row = self.tables.by_telegram(telegram_id)
        return patient_info(row) if row else None

    async def get_by_id(self, patient_id: int) -> PatientInfo | None:
        """The patient with this id, or None."""
        row = self.tables.patients.get(patient_id)
        return patient_info(row) if row else None

    async def ensure(self, telegram_id: int, chat_id: int,
                     now: dt.datetime | None = None) -> PatientInfo:
        """The user's patient row, created bare (ids only) if missing; the chat id follows."""
        row = self.tables.by_telegram(telegram_id)
        if row is None:
            row = self.tables.add_patient(self._now(now), telegram_id=telegram_id,
                                          chat_id=chat_id)
        row.chat_id = chat_id
        return patient_info(row)

    async def record_consent(self, telegram_id: int, name: str | None,
                             now: dt.datetime | None = None) -> PatientInfo:
        """Record consent (and the name given, if any); creates the row if needed."""
        row = self.tables.by_telegram(telegram_id)
        if row is None:
            row = self.tables.add_patient(self._now(now), telegram_id=telegram_id)
        row.consent_at = utc(self._now(now))
        if name:
            row.name = name.strip()[:200]
        return patient_info(row)

    async def set_timezone(self, telegram_id: int, timezone: str) -> PatientInfo:
        """Store the patient's IANA time zone; ValueError for an unknown zone, LookupError
        for an unknown patient, `ConsentRequired` before consent."""
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {timezone!r}") from exc
        row = self._require(telegram_id)
        if row.consent_at is None:
            raise ConsentRequired("timezone needs consent first")
        row.timezone = timezone
        return patient_info(row)

    async def set_checkins_paused(self, telegram_id: int, paused: bool) -> bool:
        """Set the pause flag; False when the patient is unknown."""
        row = self.tables.by_telegram(telegram_id)
        if row is None:
            return False
        row.checkins_paused = paused
        return True

    async def mark_inactive(self, reason: InactiveReason | str, *, telegram_id: int | None = None,
                            chat_id: int | None = None) -> int:
        """Stop messaging a patient (by telegram id or chat id); returns rows changed."""
        reason = InactiveReason(reason)
        if (telegram_id is None) == (chat_id is None):
            raise ValueError("pass exactly one of telegram_id, chat_id")
        rows = [p for p in self.tables.patients.values()
                if (p.telegram_id == telegram_id if telegram_id is not None
                    else p.chat_id == chat_id)]
        for row in rows:
            row.active, row.inactive_reason = False, reason.value
        return len(rows)

    async def reactivate(self, telegram_id: int) -> bool:
        """Resume messaging a patient; False if unknown."""
        row = self.tables.by_telegram(telegram_id)
        if row is None:
            return False
        row.active, row.inactive_reason = True, None
        return True

    async def active(self) -> list[PatientInfo]:
        """Consenting, active patients linked to a chat, by id."""
        return [patient_info(p) for _, p in sorted(self.tables.patients.items())
                if p.active and p.consent_at is not None and p.chat_id is not None]

    async def erase(self, telegram_id: int) -> bool:
        """Delete the patient and everything about them, and their conversation states, and
        count the erasure (storage/erasures_memory.py); False if there was no patient row."""
        tables = self.tables
        tables.erasures += 1
        row = tables.by_telegram(telegram_id)
        if row is not None:
            reports = {r.id for r in tables.reports.values() if r.patient_id == row.id}
            for card in [c for c in tables.cards.values() if c.report_id in reports]:
                tables.owe_alert(None, self._now(None), AlertKind.ERASE, chat_id=card.chat_id,
                                 message_id=card.message_id, card_kind=card.kind)
            for key, state in list(tables.states.items()):
                if (key[1] == StateKind.STAFF.value
                        and (decode(state.payload) or {}).get("report_id") in reports):
                    del tables.states[key]
            tables.delete_patient(row.id)
        for key in [k for k in tables.states if k[0] == telegram_id]:
            del tables.states[key]
        return row is not None


__all__ = ["MemoryPatientStore", "patient_info"]
