"""Load and validate knowledge-base YAML files into a ``KnowledgeBase``.

``load_kb`` raises ``KBError`` listing every problem found (file, line, reason); ``check_kb``
returns the problems without raising, for ``aftercare kb check``. The packaged files live in
``knowledge/kb/``; a clinic's own copy (a folder or one file) is passed in as a path (the bot
reads it from ``AFTERCARE_KB_PATH`` in bot/config.py; nothing here reads the environment).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from knowledge.collisions import find_collisions
from knowledge.errors import KBError, Problem, ProblemCollector
from knowledge.schema import Answer, DayWindow, Entry, KnowledgeBase
from knowledge.yamlfile import DataFileError, LineDict, LineList, Yaml, read_yaml

PACKAGED_KB = Path(__file__).parent / "kb"
_ID = re.compile(r"^[a-z0-9_]+$")
_ENTRY_KEYS = {"id", "title", "questions", "keywords", "answer", "handoff", "condition"}
_ANSWER_KEYS = {"unknown", "days"}
_WINDOW_KEYS = {"from", "to", "text", "brief"}
TITLE_MAX = 40


def kb_files(path: Path) -> list[Path]:
    """The YAML files of a knowledge base: ``path`` itself, or the *.yaml files in it."""
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in {".yaml", ".yml"})
    return [path]


def _text(value: Yaml) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _parse_windows(raw: Yaml, line: int, out: ProblemCollector) -> tuple[DayWindow, ...]:
    if not isinstance(raw, LineList) or not raw:
        out.add(line, "answer.days must be a non-empty list of {from, to, text} windows")
        return ()
    windows: list[tuple[DayWindow, int]] = []
    for item, item_line in zip(raw, raw.item_lines, strict=True):
        window = _parse_window(item, item_line, out)
        if window is not None:
            windows.append((window, item_line))
    _check_window_order(windows, out)
    return tuple(window for window, _ in windows)


def _parse_window(item: Yaml, line: int, out: ProblemCollector) -> DayWindow | None:
    if not isinstance(item, dict):
        out.add(line, "a day window must be a mapping with from, to and text")
        return None
    for key in sorted(set(item) - _WINDOW_KEYS):
        out.add(line, f"unknown key {key!r} in day window")
    start, end, text = item.get("from"), item.get("to"), _text(item.get("text"))
    if not isinstance(start, int) or isinstance(start, bool) or start < 0:
        out.add(line, "day window needs 'from': a whole number of days, 0 or more")
        return None
    if end is not None and (not isinstance(end, int) or end < start):
        out.add(line, f"day window 'to' must be a whole number >= from ({start})")
        return None
    if text is None:
        out.add(line, f"day window from day {start} has an empty answer")
        return None
    brief = item.get("brief")
    if brief is not None and _text(brief) is None:
        out.add(line, f"day window from day {start}: 'brief' must be non-empty text")
        return None
    return DayWindow(start, end, text, " ".join(str(brief).split()) if brief else "")


def _check_window_order(windows: list[tuple[DayWindow, int]], out: ProblemCollector) -> None:
    """Windows must start at day 0, follow each other without overlap or gap, end open."""
    if not windows:
        return
    first, first_line = windows[0]
    if first.start != 0:
        out.add(first_line, f"day windows must start at day 0, first starts at day {first.start}")
    for (before, _), (after, line) in itertools.pairwise(windows):
        if before.end is None or after.start <= before.end:
            out.add(line, f"day windows overlap: {_span(before)} and {_span(after)}")
        elif after.start > before.end + 1:
            out.add(line, f"gap between day windows: days {before.end + 1}-{after.start - 1} "
                          "have no answer")
    last, last_line = windows[-1]
    if last.end is not None:
        out.add(last_line, f"the last day window ({_span(last)}) must be open-ended "
                           "(leave out 'to')")


def _span(window: DayWindow) -> str:
    return f"days {window.start}-{window.end if window.end is not None else '…'}"


def _parse_answer(raw: Yaml, line: int, out: ProblemCollector) -> Answer | None:
    if isinstance(raw, str):
        if not raw.strip():
            out.add(line, "empty answer")
            return None
        return Answer(unknown=raw.strip())
    if not isinstance(raw, LineDict):
        out.add(line, "answer must be text, or a mapping with 'unknown' and 'days'")
        return None
    for key in set(raw) - _ANSWER_KEYS:
        out.add(raw.line_of(key), f"unknown key {key!r} in answer")
    unknown = _text(raw.get("unknown"))
    if unknown is None:
        out.add(raw.line_of("unknown"), "answer.unknown (the answer when the day is unknown) "
                                        "is empty or missing")
    windows = _parse_windows(raw.get("days"), raw.line_of("days"), out)
    return Answer(unknown=unknown or "", windows=windows)


def _parse_strings(raw: Yaml, line: int, what: str, out: ProblemCollector) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, LineList):
        out.add(line, f"{what} must be a list of strings")
        return ()
    items: list[str] = []
    for item, item_line in zip(raw, raw.item_lines, strict=True):
        text = _text(item) if not isinstance(item, (int, float)) else str(item)
        if text is None:
            out.add(item_line, f"empty item in {what}")
        else:
            items.append(text)
    return tuple(items)


def _parse_entry(raw: Yaml, line: int, out: ProblemCollector) -> Entry | None:
    if not isinstance(raw, LineDict):
        out.add(line, "an entry must be a mapping with id, title, questions and answer")
        return None
    for key in set(raw) - _ENTRY_KEYS:
        out.add(raw.line_of(key), f"unknown key {key!r} in entry")
    entry_id = raw.get("id")
    if not isinstance(entry_id, str) or not _ID.match(entry_id):
        out.add(raw.line_of("id"), f"entry id {entry_id!r} must be lowercase letters, digits, _")
        return None
    title = _text(raw.get("title"))
    if title is None:
        out.add(raw.line_of("title"), f"entry {entry_id!r} has no title")
    elif len(title) > TITLE_MAX:
        out.add(raw.line_of("title"), f"title of {entry_id!r} is longer than {TITLE_MAX} "
                                      "characters (it is shown on a button)")
    questions = _parse_strings(raw.get("questions"), raw.line_of("questions"), "questions", out)
    if not questions:
        out.add(raw.line_of("questions"), f"entry {entry_id!r} has no example questions")
    keywords = _parse_strings(raw.get("keywords"), raw.line_of("keywords"), "keywords", out)
    answer = _parse_answer(raw.get("answer"), raw.line_of("answer"), out)
    if "answer" not in raw:
        out.add(raw.line, f"entry {entry_id!r} has no answer")
    handoff = raw.get("handoff", False)
    if not isinstance(handoff, bool):
        out.add(raw.line_of("handoff"), "handoff must be true or false")
    condition = raw.get("condition", False)
    if not isinstance(condition, bool):
        out.add(raw.line_of("condition"), "condition must be true or false")
    if answer is None or title is None or not questions:
        return None
    return Entry(id=entry_id, title=title, questions=questions, answer=answer,
                 keywords=tuple(k.lower() for k in keywords), handoff=bool(handoff),
                 condition=bool(condition), source=f"{out.path}:{raw.line}")


def parse_file(path: Path) -> tuple[list[Entry], list[Problem], dict[str, list[int]]]:
    """Entries of one file, its problems, and each entry's question line numbers."""
    entries, problems, lines, _ = _parse_document(path)
    return entries, problems, lines


Extra = tuple[str, str, tuple[str, ...], list[int]]  # path, entry id, questions, their lines


def _parse_document(path: Path) -> tuple[list[Entry], list[Problem], dict[str, list[int]],
                                         list[Extra]]:
    """`parse_file` plus the file's ``extra_questions`` (example questions it adds to
    entries defined in other files: ``extra_questions: {makeup: [can i wear concealer]}``)."""
    out = ProblemCollector(str(path))
    try:
        data = read_yaml(path)
    except DataFileError as exc:
        return [], [Problem(exc.path, exc.line, exc.reason)], {}, []
    extras = _parse_extras(data, out) if isinstance(data, LineDict) else []
    if not isinstance(data, LineDict) or not isinstance(data.get("entries", LineList()),
                                                        LineList) or (
            "entries" not in data and "extra_questions" not in data):
        out.add(getattr(data, "line", 1), "file must be a mapping with an 'entries' list")
        return [], out.problems, {}, []
    entries: list[Entry] = []
    question_lines: dict[str, list[int]] = {}
    raw_entries: LineList = data.get("entries", LineList())
    for raw, line in zip(raw_entries, getattr(raw_entries, "item_lines", []), strict=True):
        entry = _parse_entry(raw, line, out)
        if entry is not None:
            entries.append(entry)
            questions = raw.get("questions")
            question_lines[entry.id] = list(getattr(questions, "item_lines", []))
    return entries, out.problems, question_lines, extras


def _parse_extras(data: LineDict, out: ProblemCollector) -> list[Extra]:
    raw = data.get("extra_questions")
    if raw is None:
        return []
    if not isinstance(raw, LineDict):
        out.add(data.line_of("extra_questions"), "extra_questions must be a mapping of entry "
                                                 "id to a list of example questions")
        return []
    extras = []
    for entry_id, questions in raw.items():
        line = raw.line_of(str(entry_id))
        parsed = _parse_strings(questions, line, f"extra_questions of {entry_id!r}", out)
        lines = list(getattr(questions, "item_lines", [line] * len(parsed)))
        extras.append((out.path, str(entry_id), parsed, lines))
    return extras


def _apply_extras(entries: list[Entry], extras: list[Extra],
                  lines: dict[str, Any]) -> list[Problem]:
    """Add extra questions to their entries (in place); problems for unknown entries and for
    questions the entry already has."""
    problems: list[Problem] = []
    index = {entry.id: i for i, entry in enumerate(entries)}
    for path, entry_id, questions, question_lines in extras:
        where = question_lines[0] if question_lines else 0
        if entry_id not in index:
            problems.append(Problem(path, where, f"extra_questions for {entry_id!r}, but there "
                                                 "is no entry with that id"))
            continue
        entry = entries[index[entry_id]]
        known = {q.casefold() for q in entry.questions}
        added = []
        for question, line in zip(questions, question_lines, strict=False):
            if question.casefold() in known:
                problems.append(Problem(path, line, f"question {question!r} is already an "
                                                    f"example question of {entry_id!r}"))
                continue
            known.add(question.casefold())
            added.append(question)
            lines.setdefault(entry_id, []).append((path, line))
        entries[index[entry_id]] = replace(entry, questions=entry.questions + tuple(added))
    return problems


def check_kb(path: Path | None = None,
             extra: Sequence[Path] = ()) -> tuple[KnowledgeBase, list[Problem]]:
    """Load every file under ``path`` (then the `extra` files, e.g. the clinic's overrides
    made on the web desk) and return the knowledge base with all its problems."""
    root = path or PACKAGED_KB
    if not root.exists():
        return KnowledgeBase(()), [Problem(str(root), 0, "no such file or folder")]
    files = kb_files(root) + list(extra)
    problems: list[Problem] = []
    if not files:
        problems.append(Problem(str(root), 0, "no .yaml knowledge-base files found"))
    entries: list[Entry] = []
    lines: dict[str, Any] = {}
    extras: list[Extra] = []
    for file in files:
        file_entries, file_problems, file_lines, file_extras = _parse_document(file)
        problems.extend(file_problems)
        problems.extend(_duplicate_ids(entries, file_entries))
        entries.extend(file_entries)
        lines.update(file_lines)
        extras.extend(file_extras)
    problems.extend(_apply_extras(entries, extras, lines))
    kb = KnowledgeBase(tuple(entries), tuple(str(f) for f in files))
    problems.extend(find_collisions(kb, lines))
    return kb, problems


def _duplicate_ids(seen: Iterable[Entry], new: list[Entry]) -> list[Problem]:
    known = {entry.id: entry.source for entry in seen}
    problems: list[Problem] = []
    for entry in new:
        if entry.id in known:
            path, line = entry.source.rsplit(":", 1)
            first = known[entry.id]
            problems.append(Problem(path, int(line),
                                    f"duplicate id {entry.id!r} (first defined at {first})"))
        else:
            known[entry.id] = entry.source
    return problems


def load_kb(path: Path | None = None) -> KnowledgeBase:
    """Load and validate a knowledge base; raise ``KBError`` if anything is wrong."""
    kb, problems = check_kb(path)
    if problems:
        raise KBError(problems)
    return kb
