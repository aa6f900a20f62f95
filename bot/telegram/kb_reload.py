"""Every replica answers from the clinic's current knowledge base: a JobQueue job checks the
overrides' version (one indexed single-row read) and swaps in the rebuilt advisor when it
changed (bot/core/clinic_kb.py)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from bot.core.clinic_kb import ClinicKnowledge
from storage.kb_overrides import KBOverrideStore

log = logging.getLogger(__name__)
CHECK_EVERY = 3.0


def attach_kb_reload(app: Any, conversation: Any, kb_path: Path | None) -> ClinicKnowledge:
    """Follow the overrides for `conversation` (its `advisor` is replaced when they change);
    `kb_path` is the configured knowledge base (None: the packaged one)."""
    knowledge = ClinicKnowledge(conversation.advisor, KBOverrideStore(conversation.repo.sessions),
                                kb_path)
    if app.job_queue is None:
        log.warning("no JobQueue: the clinic's knowledge-base overrides are not loaded")
        return knowledge

    async def job(_context: Any) -> None:
        if await knowledge.refresh():
            conversation.advisor = knowledge.advisor

    app.job_queue.run_repeating(job, interval=CHECK_EVERY, first=0.2, name="kb-overrides",
                                job_kwargs={"max_instances": 1, "coalesce": True})
    return knowledge
