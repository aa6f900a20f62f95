"""The data files the settings name, loaded: the advisor over the configured knowledge base
speaking for the configured clinic, and the care plan.

bot/compose.py, the composition root, builds the services from them (and the Telegram
application loads them first, so bad data files stop it before the database). Kept apart
from the composition root's imports of storage, scheduler and the core so that
``aftercare ask`` loads the advisor without them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from knowledge.advisor import Advisor
from knowledge.detectors import DEFAULT_DETECTOR
from knowledge.loader import load_kb
from scheduler.careplan import CarePlan, load_careplan

if TYPE_CHECKING:
    from bot.config import Settings
    from knowledge.schema import KnowledgeBase


def load_advisor(settings: Settings, second_detector: str | None = DEFAULT_DETECTOR) -> Advisor:
    """The advisor over the configured knowledge base, speaking for the configured clinic
    (raises `knowledge.errors.KBError` naming file, line and reason for bad data files), with
    the default second detector unless another is named (``aftercare ask --detector``)."""
    return Advisor.load(settings.kb_path, settings.clinic(), second_detector)


def load_plan(settings: Settings, kb: KnowledgeBase | None = None) -> CarePlan:
    """The configured care plan, its check-in texts quoting ``kb`` (default: the configured
    knowledge base); raises `KBError` for a bad file."""
    if kb is None and settings.kb_path is not None:
        kb = load_kb(settings.kb_path)
    return load_careplan(settings.careplan_path, kb)
