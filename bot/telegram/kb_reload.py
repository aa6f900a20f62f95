"""Every replica answers from the clinic's current knowledge base: a JobQueue job checks the
overrides' version (one indexed single-row read) and, when it changed, rebuilds the advisor,
which `ClinicKnowledge.refresh` swaps into the live advisor the conversation and the desk
answer through (bot/core/clinic_kb.py, bot/core/advisors.py)."""

from __future__ import annotations

import logging

from bot.core.clinic_kb import ClinicKnowledge
from bot.telegram.context import AnyApplication, AppContext

log = logging.getLogger(__name__)
CHECK_EVERY = 3.0


def attach_kb_reload(app: AnyApplication, knowledge: ClinicKnowledge) -> None:
    """Refresh `knowledge` (the composition root's `Services.patient.knowledge`) every few
    seconds."""
    if app.job_queue is None:
        log.warning("no JobQueue: the clinic's knowledge-base overrides are not loaded")
        return

    async def job(_context: AppContext) -> None:
        await knowledge.refresh()

    app.job_queue.run_repeating(job, interval=CHECK_EVERY, first=0.2, name="kb-overrides",
                                job_kwargs={"max_instances": 1, "coalesce": True})
