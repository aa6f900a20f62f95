"""The ``aftercare`` command line: ask the knowledge base, check data files, run the bot.

Each sub-command is a small function; heavier ones import their module lazily so that
``aftercare ask`` starts quickly and works without a bot token or database.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import gc
import json
import logging
import os
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from bot.cli.texts import BROKEN_TEXTS, text

if TYPE_CHECKING:  # imported lazily at run time: ``aftercare ask`` starts quickly
    from bot.cli.parsing import SubCommands
    from bot.config import Settings
    from knowledge.advisor import Advice, Advisor
    from knowledge.schema import KnowledgeBase

log = logging.getLogger("aftercare")
MOST_DAYS = 3650  # --day: about ten years


def _with_clinic_overrides(advisor: Advisor, settings: Settings) -> Advisor:
    """The advisor with the clinic's knowledge-base additions made on the web desk, when the
    configured database exists and has any (otherwise `advisor` as it is)."""
    try:
        from storage.engine import is_sqlite

        url = settings.database_url
        if is_sqlite(url):
            from sqlalchemy.engine import make_url

            database = make_url(url).database
            if not database or not Path(database).exists():
                return advisor
    except Exception:  # noqa: BLE001 - no usable configuration: the packaged KB answers
        return advisor
    import asyncio

    async def load() -> Advisor:
        from bot.compose import build_knowledge
        from storage import Database

        db = await Database.connect(url, migrate=False)
        try:
            knowledge = build_knowledge(settings, db, advisor)
            await knowledge.refresh()
            return knowledge.advisor
        finally:
            await db.close()

    try:
        return asyncio.run(load())
    except Exception as exc:  # noqa: BLE001 - an old or unreachable database: say so, go on
        log.info("clinic knowledge-base overrides not loaded: %s", type(exc).__name__)
        return advisor


def cmd_ask(args: argparse.Namespace) -> int:
    from bot.cli.settings import read_settings
    from bot.datafiles import load_advisor

    settings = read_settings()
    if settings is None:
        return 2
    # the configured knowledge base and clinic, with the clinic's additions from the web desk
    advisor = _with_clinic_overrides(load_advisor(settings, args.detector), settings)
    if args.text:
        advice = advisor.ask(" ".join(args.text), args.day, language_hint=args.language)
        if args.json:
            print(json.dumps(advice.to_json(), ensure_ascii=False))
        else:
            print(render_plain(advice))
        return 0
    if not args.json:
        print(text("ask.no_question"), file=sys.stderr)
        return 2
    return ask_batch(advisor, sys.stdin, sys.stdout, args.day)


def render_plain(advice: Advice) -> str:
    """The reply as a patient would read it, with suggestions as a numbered list."""
    lines = [advice.answer]
    for number, suggestion in enumerate(advice.suggestions, start=1):
        lines.append(f"  {number}. {suggestion.title}")
    follow_up = advice.follow_up
    if follow_up is not None:
        lines += ["", follow_up.question, f"  [{follow_up.yes}]  [{follow_up.no}]"]
    return "\n".join(lines)


def ask_batch(advisor: Advisor, source: TextIO, sink: TextIO, default_day: int | None) -> int:
    """One JSON object in per line, one out per line, same order; bad lines get an error object."""
    failures = 0
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            question, day = _parse_request(line, default_day)
        except ValueError as exc:
            failures += 1
            sink.write(json.dumps({"error": text("ask.bad_line", number=number, problem=exc)})
                       + "\n")
            continue
        sink.write(json.dumps(advisor.ask(question, day).to_json(), ensure_ascii=False) + "\n")
    sink.flush()
    return 1 if failures else 0


def _parse_request(line: str, default_day: int | None) -> tuple[str, int | None]:
    try:
        request = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(text("ask.not_json", reason=exc.msg)) from None
    if not isinstance(request, dict) or not isinstance(request.get("text"), str):
        raise ValueError(text("ask.not_object"))  # noqa: TRY004
    day = request.get("day", default_day)
    if day is not None and (isinstance(day, bool) or not isinstance(day, int) or day < 0):
        raise ValueError(text("ask.bad_day"))
    return request["text"], day


def cmd_kb_check(args: argparse.Namespace) -> int:
    from bot.cli.settings import read_settings
    from bot.datafiles import template_problems, text_problems
    from knowledge.loader import PACKAGED_KB, check_kb

    settings = read_settings()
    if settings is None:
        return 2
    path = Path(args.path) if args.path else settings.kb_path or PACKAGED_KB
    kb, problems = check_kb(path)
    problems += _other_data_problems(settings.careplan_path, kb if not problems else None,
                                     packaged=path == PACKAGED_KB)
    problems += text_problems(settings)
    problems += template_problems()
    problems = list(dict.fromkeys(problems))  # a file two checks read is reported once
    for problem in problems:
        print(problem)
    if problems:
        print(_said(lambda: text("kb.problems", count=len(problems), path=path)),
              file=sys.stderr)
        return 1
    questions = sum(len(entry.questions) for entry in kb.entries)
    print(text("kb.ok", entries=len(kb.entries), questions=questions, path=path))
    return 0


def _other_data_problems(careplan: Path | None, kb: KnowledgeBase | None = None,
                         packaged: bool = True) -> list[Any]:
    """Problems in the packaged triage rules, scope file, lexicons, the advisor's messages,
    other-language topics, slang table, the red flags' topics (bot/core/alert_topics.yaml)
    and the care plan (the configured one, else the
    packaged one; its check-in texts quote ``kb``, the knowledge base being checked, else the
    packaged one), reported like the KB's. Both topic files name entries of the packaged
    knowledge base: checked against ``kb`` when it is that one (`packaged`), else only read."""
    from knowledge.advisor import PACKAGED_MESSAGES
    from knowledge.catalogue import Catalogue
    from knowledge.errors import KBError, located_problems
    from knowledge.guards import load_scope
    from knowledge.language_topics import PACKAGED_TOPICS, load_language_topics
    from knowledge.multilingual import load_lexicons
    from knowledge.text import read_slang
    from knowledge.triage import Triage, load_triage
    from knowledge.warning_questions import load_warning_questions
    from knowledge.yamlfile import read_yaml

    loaded: list[Triage] = []

    def triage() -> Triage:  # parsed once (a failure is retried, and reported, by lexicons)
        if not loaded:
            loaded.append(load_triage())
        return loaded[0]

    def lexicons() -> None:  # the other-language sign lexicons and templates
        load_lexicons(triage().signs)

    def messages() -> None:  # the advisor's patient texts (knowledge/messages.yaml)
        Catalogue.load(PACKAGED_MESSAGES)

    def topics() -> None:  # entries named in other languages
        if kb is None or not packaged:
            read_yaml(PACKAGED_TOPICS)
        else:
            load_language_topics(entry.id for entry in kb.entries)

    problems: list[Any] = []
    for loader in (load_scope, triage, lexicons, messages, topics, read_slang,
                   load_warning_questions):
        try:
            loader()
        except KBError as exc:
            problems.extend(exc.problems)
        except ValueError as exc:  # the others raise their own located error types
            located = located_problems(exc)
            if located is None:
                raise
            problems += located
    from knowledge.signdata import sign_data_problems

    # sign advice, rule-out questions, phrase bank vs. the rules (parsed above when they load;
    # rules that failed to load were reported above, with file and line, and there is nothing
    # to compare the sign data with)
    if loaded:
        # the warning-signs lines' entries to keep: checked against the packaged knowledge base
        # (like the topics above), only when it is the one checked
        ids = [entry.id for entry in kb.entries] if kb is not None and packaged else None
        problems += sign_data_problems(loaded[0], ids)
    from bot.core.alert_topics import alert_topic_problems

    # the red flags' topics (bot/core/alert_topics.yaml): their signs against the rules (when
    # those loaded), their topics against the packaged knowledge base (when it is the one
    # checked and loaded), else the file's syntax and shape alone
    signs = {sign.id: sign.tier for sign in loaded[0].signs} if loaded else None
    entries = [entry.id for entry in kb.entries] if kb is not None and packaged else None
    problems += alert_topic_problems(None, signs, entries)
    from scheduler.careplan import DEFAULT_PATH, careplan_problems

    try:
        problems += careplan_problems(careplan, kb)
    except KBError as exc:  # the knowledge base it quotes does not load (reported as such):
        problems += exc.problems  # the plan's own syntax is checked all the same
        try:
            read_yaml(careplan or DEFAULT_PATH)
        except ValueError as syntax:
            problems += located_problems(syntax) or []
    return problems


def _day(value: str) -> int:
    """--day: the days since the treatment, a whole number (0 = the treatment day)."""
    digits = value.strip()
    if not (digits.isascii() and digits.isdecimal()):
        raise argparse.ArgumentTypeError(text("ask.day_not_number", value=value))
    day = int(digits)
    if day > MOST_DAYS:
        raise argparse.ArgumentTypeError(text("ask.day_too_far", most=MOST_DAYS))
    return day


def build_parser() -> argparse.ArgumentParser:
    from knowledge.detectors import DEFAULT_DETECTOR, DETECTORS

    parser = argparse.ArgumentParser(prog="aftercare", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)

    ask = commands.add_parser("ask", help="print the answer a patient would get")
    ask.add_argument("--day", type=_day, default=None, help="days since the latest session")
    ask.add_argument("--json", action="store_true", help="JSON output; no TEXT: JSON lines in")
    ask.add_argument("--language", default=None,
                     help="the patient's Telegram language_code (a hint for other languages)")
    ask.add_argument("--detector", default=DEFAULT_DETECTOR, choices=DETECTORS,
                     help=f"second red-flag detector (default: {DEFAULT_DETECTOR})")
    ask.add_argument("text", nargs="*", help="the patient's message")
    ask.set_defaults(handler=cmd_ask)

    kb = commands.add_parser("kb", help="knowledge-base tools")
    kb_commands = kb.add_subparsers(dest="kb_command", required=True)
    check = kb_commands.add_parser("check", help="validate the knowledge base (file, line, reason)")
    check.add_argument("path", nargs="?", help="folder or file (default: AFTERCARE_KB_PATH or "
                                               "the packaged knowledge base)")
    check.set_defaults(handler=cmd_kb_check)
    _add_bot_commands(commands)
    return parser


def _add_bot_commands(commands: SubCommands) -> None:
    """Sub-commands that need the bot package's configuration and storage."""
    try:
        from bot.cli.commands import register
    except ImportError:  # pragma: no cover - bot commands not built in this checkout
        return
    register(commands)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # data-file problems: file, line and reason, not a traceback
        from knowledge.errors import located_problems

        problems = located_problems(exc)
        if problems is None:
            raise
        lines = "\n".join(str(problem) for problem in problems)
        print(_said(lambda: text("data_problems", problems=lines), lines), file=sys.stderr)
        return 1


def _said(say: Callable[[], str], located: str = "") -> str:
    """What ``say()`` says (a line of bot/cli/texts.yaml); when that file itself is broken
    (its problem is among those being reported), the fixed `BROKEN_TEXTS` line, then
    `located` (the problem lines)."""
    from knowledge.errors import located_problems

    try:
        return say()
    except ValueError as exc:
        if located_problems(exc) is None:
            raise
        return "\n".join(filter(None, (BROKEN_TEXTS, located)))


def console() -> NoReturn:
    """The ``aftercare`` console script (and ``python -m bot.cli.main``): `main`, then
    `exit_now`."""
    # Start-up builds a few hundred thousand objects that live as long as the process (the
    # modules, the knowledge base, the triage rules): with CPython's default (a young
    # collection every 700 net allocations) the collector took about a tenth of the CPU of
    # starting `aftercare run`. Cyclic garbage is still freed, a little later.
    gc.set_threshold(10_000, 10, 10)
    exit_now(main())


def exit_now(code: int) -> NoReturn:
    """End the process with `code` without the interpreter's teardown.

    The atexit handlers run (logging's flush among them) and stdout and stderr are flushed,
    but the heap (knowledge base, triage rules, SQLAlchemy, python-telegram-bot) is not freed
    object by object: that took about a second after every ``aftercare run`` had stopped.
    With another thread still running, the exit is the ordinary one, which waits for it.
    """
    if threading.active_count() > 1:
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed pipe: nothing more can be said
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    console()
