"""The knowledge base as the clinic has extended it on the web desk, kept current.

`ClinicKnowledge` holds the advisor built from the configured (AFTERCARE_KB_PATH) or packaged
knowledge base plus the clinic's overrides (storage/kb_overrides.py, knowledge/overrides.py).
`refresh` compares the stored version with the one it built and rebuilds when they differ; the
bot calls it every few seconds (bot/telegram/kb_reload.py), the web desk before it shows or changes
anything, and ``aftercare ask`` once. A stored set of overrides that no longer validates (say
the packaged knowledge base changed under it) is not used: the last good advisor stays, and
the problems are logged and shown on the desk. Given the `LiveAdvisor` the conversation and
the desk answer through (bot/core/advisors.py), a rebuild replaces the advisor there too.
bot/compose.py builds the bot's one (`Services.patient.knowledge`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path

from bot.core.advisors import LiveAdvisor
from bot.core.ports import KBOverrides
from knowledge.advisor import Advisor
from knowledge.errors import Problem
from knowledge.loader import PACKAGED_KB
from knowledge.overrides import Override, check_overrides, document
from knowledge.schema import KnowledgeBase
from storage.kb_overrides import OverrideRow

log = logging.getLogger(__name__)


def with_kb(base: Advisor, kb: KnowledgeBase) -> Advisor:
    """`base` answering from `kb` (same triage, scope, texts, clinic and other languages)."""
    return Advisor(kb, base.triage, base.scope, base.messages, base.clinic,
                   languages=base.languages, topics=base.topics)


def as_overrides(rows: Sequence[OverrideRow]) -> list[Override]:
    """Stored rows as the knowledge layer's values."""
    return [Override(r.kind, r.entry_id, r.body) for r in rows]


class ClinicKnowledge:
    """An advisor that follows the clinic's overrides."""

    def __init__(self, base: Advisor, store: KBOverrides,
                 kb_path: Path | None = None, live: LiveAdvisor | None = None) -> None:
        self.base = base
        self.store = store
        self.kb_path = kb_path or PACKAGED_KB
        self.live = live  # the advisor the bot answers through: replaced with each rebuild
        self.advisor = base
        self.version = 0  # the version `advisor` was built from (0: no overrides)
        self.problems: list[Problem] = []

    async def refresh(self) -> bool:
        """Rebuild when the stored overrides changed; True when the advisor was replaced."""
        if await self.store.version() == self.version:
            return False
        version, rows = await self.store.all()
        kb, problems = await asyncio.to_thread(check_overrides, as_overrides(rows),
                                               self.kb_path)
        self.version = version
        self.problems = problems
        if problems:
            log.error("the clinic's knowledge-base overrides (version %d) have %d problem(s); "
                      "still answering from the previous knowledge base: %s", version,
                      len(problems), "; ".join(str(p) for p in problems[:5]))
            return False
        self.advisor = with_kb(self.base, kb)
        if self.live is not None:
            self.live.replace(self.advisor)
        log.info("knowledge base reloaded with the clinic's overrides (version %d, %d)",
                 version, len(rows))
        return True

    async def check(self, candidate: Override) -> list[Problem]:
        """What `aftercare kb check` would say with `candidate` added to the stored ones."""
        _, rows = await self.store.all()
        _, problems = await asyncio.to_thread(check_overrides,
                                              [*as_overrides(rows), candidate], self.kb_path)
        return problems

    async def export(self) -> str:
        """Every stored override as one YAML knowledge-base file."""
        _, rows = await self.store.all()
        return document(as_overrides(rows))
