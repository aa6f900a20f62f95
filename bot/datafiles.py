"""The data files the settings name, loaded: the advisor over the configured knowledge base
speaking for the configured clinic (every other-language file read whole, so a broken one stops
``aftercare run``, the demo and ``aftercare ask``), the care plan, and the bot's text catalogues
(read whole at start-up by `check_texts`, so a broken one stops the bot and the demo with its
file and line instead of failing later, the first time one of its lines is needed).

bot/compose.py, the composition root, builds the services from them (and the Telegram
application loads them first, so bad data files stop it before the database). Kept apart
from the composition root's imports of storage, scheduler and the core so that
``aftercare ask`` loads the advisor without them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from knowledge.advisor import Advisor
from knowledge.catalogue import Catalogue
from knowledge.detectors import DEFAULT_DETECTOR
from knowledge.errors import KBError, Problem, located_problems
from knowledge.loader import load_kb
from scheduler.careplan import CarePlan, load_careplan

if TYPE_CHECKING:
    from bot.config import Settings
    from knowledge.schema import KnowledgeBase


def load_advisor(settings: Settings, second_detector: str | None = DEFAULT_DETECTOR) -> Advisor:
    """The advisor over the configured knowledge base, speaking for the configured clinic
    (raises `knowledge.errors.KBError` naming file, line and reason for bad data files), with
    the default second detector unless another is named (``aftercare ask --detector``).

    Every other-language file (knowledge/languages/*.yaml) is read now, not on a patient's
    first message in its language, so a broken one stops ``aftercare run``, the demo and
    ``aftercare ask`` here, with every problem's file and line (about 0.07 s of CPU)."""
    advisor = Advisor.load(settings.kb_path, settings.clinic(), second_detector)
    if advisor.languages is not None:
        advisor.languages.load_all()
    return advisor


def load_plan(settings: Settings, kb: KnowledgeBase | None = None) -> CarePlan:
    """The configured care plan, its check-in texts quoting ``kb`` (default: the configured
    knowledge base); raises `KBError` for a bad file."""
    if kb is None and settings.kb_path is not None:
        kb = load_kb(settings.kb_path)
    return load_careplan(settings.careplan_path, kb)


# the desk's texts (bot/web/services.py reads them from here: its module imports the web stack)
WEB_TEXTS = Path(__file__).parent / "web" / "texts.yaml"


def text_files(settings: Settings) -> tuple[Path, ...]:
    """Every text catalogue the bot reads besides the advisor's (knowledge/messages.yaml): its
    messages (the clinic's copy when configured), and what the command line, start-up, the
    configuration check, the scheduler and the web desk say."""
    from bot.cli.texts import TEXTS as CLI_TEXTS
    from bot.config import TEXTS as CONFIG_TEXTS
    from bot.core.messages import PACKAGED_MESSAGES
    from bot.ops.texts import TEXTS as OPS_TEXTS
    from scheduler.texts import TEXTS as SCHEDULER_TEXTS

    return (settings.messages_path or PACKAGED_MESSAGES, CLI_TEXTS, OPS_TEXTS, CONFIG_TEXTS,
            SCHEDULER_TEXTS, WEB_TEXTS)


def text_problems(settings: Settings) -> list[Problem]:
    """Each text catalogue of `text_files` read afresh; the problems, with file and line."""
    problems: list[Problem] = []
    for path in text_files(settings):
        try:
            Catalogue.load(path)
        except ValueError as exc:
            located = located_problems(exc)
            if located is None:
                raise
            problems += located
    return problems


def check_texts(settings: Settings) -> None:
    """Raise `KBError` listing every problem of `text_problems` (start-up: the bot, the demo)."""
    problems = text_problems(settings)
    if problems:
        raise KBError(problems)
