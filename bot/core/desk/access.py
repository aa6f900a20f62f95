"""Staff authorisation: the staff list is checked on every staff action (never cached), and
every refusal, and every action that names a report and a patient that no longer go together,
is logged and written to the report's audit trail."""

from __future__ import annotations

import logging

from bot.core.desk.kit import DeskKit
from bot.core.ports import DeskReports
from storage.models import ReportAction

log = logging.getLogger(__name__)


class StaffGate:
    """Asks the staff list each time; audits refusals and mismatches."""

    def __init__(self, kit: DeskKit, store: DeskReports) -> None:
        self.kit = kit
        self.store = store

    async def allows(self, user_id: int, report_id: int | None, what: str) -> bool:
        """True when `user_id` is on the staff list now; else the attempt is refused,
        logged and audited (under the report, when it exists)."""
        if self.kit.is_staff(user_id):
            return True
        await self.refuse(user_id, report_id, what)
        return False

    async def refuse(self, user_id: int, report_id: int | None, what: str) -> None:
        """Log and audit an attempt by someone who is not staff (or a forged press)."""
        log.warning("user %d (not staff) tried to %s", user_id, what)
        exists = report_id is not None and await self.store.get(report_id) is not None
        await self.store.record(report_id if exists else None, user_id, ReportAction.REFUSED,
                                note=what[:200], now=self.kit.now())

    async def mismatch(self, user_id: int, report_id: int, patient_id: int, what: str) -> None:
        """A staff action named a report and a patient that no longer go together (the
        patient was erased, say): nothing happens, and the refusal is audited."""
        log.warning("staff %d: %s refused: report %d is not patient %d's", user_id, what,
                    report_id, patient_id)
        exists = await self.store.get(report_id) is not None
        await self.store.record(report_id if exists else None, user_id, ReportAction.REFUSED,
                                note=f"{what}: report {report_id} is not patient "
                                     f"{patient_id}'s"[:200], now=self.kit.now())
