"""The in-memory twin of the erasure count (storage/erasures.py `ErasureSql`): the erasures
of the `MemoryTables` it reads (`MemoryPatientStore.erase` counts them there). Proven equal to
the SQL table by tests/test_erasures_conformance.py. It has no cache of the per-message read to
empty (the memory backend's read is not cached)."""

from __future__ import annotations

from storage.memory_tables import MemoryTables


class MemoryErasures:
    """In-memory twin of `ErasureSql`."""

    def __init__(self, tables: MemoryTables) -> None:
        self.tables = tables

    async def epoch(self) -> int:
        return self.tables.erasures

    def forget_cached(self) -> None:
        """Nothing is cached (see the module docstring)."""
