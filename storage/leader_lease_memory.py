"""The in-memory twin of the lease rows (storage/leader_lease.py `LeaseSql`): what the memory
backend's polling election keeps, and what the election's unit tests drive. Proven equal to
the SQL rows by tests/test_polling_rows_conformance.py."""

from __future__ import annotations

import datetime as dt

from storage.leader_lease import NO_LEASE, Lease


class MemoryLeases:
    """In-memory twin of `LeaseSql` (one event loop: every method is atomic). `fail` makes
    every call raise it (a database outage)."""

    def __init__(self) -> None:
        self.rows: dict[str, Lease] = {}
        self.fail: Exception | None = None

    def _check(self) -> None:
        if self.fail is not None:
            raise self.fail

    async def read(self, name: str) -> Lease:
        self._check()
        return self.rows.get(name, NO_LEASE)

    async def take(self, name: str, holder: str, seen_beat: int, now: dt.datetime,
                   expires_at: dt.datetime) -> bool:
        self._check()
        row = self.rows.get(name, NO_LEASE)
        if row.beat != seen_beat:
            return False
        self.rows[name] = Lease(holder, row.beat + 1, expires_at)
        return True

    async def renew(self, name: str, holder: str, now: dt.datetime,
                    expires_at: dt.datetime) -> bool:
        self._check()
        row = self.rows.get(name, NO_LEASE)
        if row.holder != holder:
            return False
        self.rows[name] = Lease(holder, row.beat + 1, expires_at)
        return True

    async def release(self, name: str, holder: str, now: dt.datetime) -> bool:
        self._check()
        row = self.rows.get(name, NO_LEASE)
        if row.holder != holder:
            return False
        self.rows[name] = Lease(None, row.beat + 1)
        return True
