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
from knowledge.catalogue import catalogue_problems
from knowledge.detectors import DEFAULT_DETECTOR
from knowledge.errors import KBError, Problem
from knowledge.loader import PACKAGED_KB, load_kb
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
    """Each text catalogue of `text_files` read afresh and checked (`catalogue_problems`: an
    entry that is not a text, a brace that does not pair; the clinic's copy of the bot's texts
    also against the packaged one: an entry missing, a ``{name}`` its text is never given);
    the problems, with file and line."""
    from bot.core.messages import PACKAGED_MESSAGES

    problems: list[Problem] = []
    for path in text_files(settings):
        # the clinic's copy of the bot's texts against the packaged one it replaces
        reference = PACKAGED_MESSAGES if path == settings.messages_path else None
        problems += catalogue_problems(path, reference)
    return problems


def alert_topics_problems(settings: Settings, advisor: Advisor) -> list[Problem]:
    """bot/core/alert_topics.yaml checked against the advisor's triage signs and, when the
    configured knowledge base is the packaged one that the file's topics name, its entries
    (another knowledge base: its entry ids are its own, so the topics are only read)."""
    from bot.core.alert_topics import alert_topic_problems

    packaged = settings.kb_path is None or settings.kb_path.resolve() == PACKAGED_KB.resolve()
    entries = {entry.id for entry in advisor.kb.entries} if packaged else None
    return alert_topic_problems(None, {sign.id: sign.tier for sign in advisor.triage.signs},
                                entries)


def check_alert_topics(settings: Settings, advisor: Advisor) -> None:
    """Raise `KBError` listing every problem of `alert_topics_problems` (start-up: the bot,
    the demo), so a bad entry stops them with its file and line, not at a red flag."""
    problems = alert_topics_problems(settings, advisor)
    if problems:
        raise KBError(problems)


# the web desk's page templates (Jinja): bot/web/common.py renders them
WEB_TEMPLATES = Path(__file__).parent / "web" / "templates"


def template_problems() -> list[Problem]:
    """Each web desk template parsed (not rendered): a syntax error (an unclosed block, a
    misspelt tag) with file, line and reason, rather than a failed page at its first view.
    Read through `knowledge.yamlfile.file_text`, where every data file is read."""
    from jinja2 import Environment, TemplateSyntaxError

    from knowledge.yamlfile import DataFileError, read_text

    environment = Environment(autoescape=True)
    problems: list[Problem] = []
    for path in sorted(WEB_TEMPLATES.glob("*.html")):
        try:
            environment.parse(read_text(path), path.name, str(path))
        except DataFileError as exc:
            problems.append(Problem(exc.path, exc.line, exc.reason))
        except TemplateSyntaxError as exc:
            problems.append(Problem(str(path), exc.lineno, f"template: {exc.message}"))
    return problems


def check_templates() -> None:
    """Raise `KBError` listing every problem of `template_problems` (``aftercare desk``)."""
    problems = template_problems()
    if problems:
        raise KBError(problems)


def check_texts(settings: Settings) -> None:
    """Raise `KBError` listing every problem of `text_problems` (start-up: the bot, the demo)."""
    problems = text_problems(settings)
    if problems:
        raise KBError(problems)
