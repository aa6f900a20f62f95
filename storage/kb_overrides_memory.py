"""In-memory twin of `storage.kb_overrides.KBOverrideStore` (the clinic's knowledge-base
additions and their version), for fast tests.

`MemoryKBOverrideStore` keeps the overrides in a dict with the same rules: every change bumps
the version (0 before the first), a body is kept as the JSON the table holds, an entry id is
cut to 100 characters, removing an unknown override changes nothing. It shares no rows with
the other aggregates. tests/test_kb_overrides_conformance.py runs the same tests against both.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from typing import Any

from storage.kb_overrides import OverrideRow
from storage.memory_tables import utc


class MemoryKBOverrideStore:
    """The clinic's overrides in memory (the interface of `KBOverrideStore`)."""

    def __init__(self) -> None:
        self.rows: dict[int, OverrideRow] = {}
        self.version_number = 0
        self._ids = itertools.count(1)

    async def version(self) -> int:
        """The current version (0 before the first override)."""
        return self.version_number

    async def all(self) -> tuple[int, list[OverrideRow]]:
        """(version, every override in the order they were made)."""
        return self.version_number, [
            OverrideRow(r.id, r.kind, r.entry_id, json.loads(json.dumps(r.body)), r.created_by,
                        r.created_at)
            for _, r in sorted(self.rows.items())]

    async def add(self, kind: str, entry_id: str, body: dict[str, Any], created_by: int | None,
                  now: dt.datetime) -> int:
        """Store one override (already validated by the caller); its id."""
        row = OverrideRow(next(self._ids), kind, entry_id[:100],
                          json.loads(json.dumps(body, ensure_ascii=False)), created_by, utc(now))
        self.rows[row.id] = row
        self.version_number += 1
        return row.id

    async def remove(self, override_id: int, now: dt.datetime) -> bool:
        """Delete one override; False when there was none with that id."""
        if self.rows.pop(override_id, None) is None:
            return False
        self.version_number += 1
        return True


__all__ = ["MemoryKBOverrideStore"]
