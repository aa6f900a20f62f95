"""The care plan: which check-ins follow a treatment session, and what each answer does.

`load_careplan()` reads ``scheduler/careplan.yaml`` (or another file), validates every field
and raises `knowledge.errors.KBError` listing each problem with file and line, the same way
the knowledge base is checked; `careplan_problems()` returns the list instead (used by
``aftercare kb check``).

Check-in texts quote the knowledge base instead of repeating its advice: ``{kb:makeup}`` in a
step's message or a button's reply becomes the ``brief`` of the makeup entry's day window for
that step's day (its whole text when it has no brief). A check-in and the answer the patient
gets for the same topic and day so come from one place and cannot disagree
(tests/test_careplan.py proves it for every step).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass, field
from datetime import time
from enum import StrEnum
from pathlib import Path
from typing import Any

from knowledge.errors import KBError, Problem, ProblemCollector
from knowledge.loader import load_kb
from knowledge.schema import KnowledgeBase
from knowledge.yamlfile import DataFileError, LineDict, Yaml, read_yaml

DEFAULT_PATH = Path(__file__).resolve().parent / "careplan.yaml"
MAX_MESSAGE = 4096
MAX_LABEL = 40
MAX_REPLY = 4096
_ID = re.compile(r"^[a-z0-9_]{1,32}$")
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
KB_REFERENCE = re.compile(r"\{kb:([a-z0-9_]+)\}")  # "{kb:makeup}": that entry's brief for the day


class Action(StrEnum):
    """What pressing an answer button does."""

    OK = "ok"  # noted
    PROBLEM = "problem"  # follow-up question, staff report, session's check-ins paused
    BOOK = "book"  # staff asked to contact the patient to book; rebook reminders stop
    LATER = "later"  # noted; rebook reminder still comes
    DONE = "done"  # course finished; rebook reminders stop


class StepKind(StrEnum):
    """Routine recovery check-in, or a booking nudge."""

    ROUTINE = "routine"
    REBOOK = "rebook"


URGENCIES = ("urgent", "emergency")  # a problem answer that is a red flag by itself


@dataclass(frozen=True)
class Choice:
    """One answer button. `urgency` (problem answers only): the answer itself is a red flag
    (day 3's "pus, yellow crusts, fever or spreading redness"), so the report is raised with
    it and the patient gets the urgent advice at once."""

    label: str
    action: Action
    reply: str
    urgency: str | None = None


@dataclass(frozen=True)
class Step:
    """One check-in: `day` local calendar days after the session, at local `time`."""

    id: str
    day: int
    time: time
    kind: StepKind
    message: str
    choices: tuple[Choice, ...]
    enabled: bool = True
    topics: tuple[str, ...] = ()  # knowledge-base entries whose day brief the texts quote

    def choice(self, index: int) -> Choice | None:
        """The button at `index`, or None when out of range."""
        return self.choices[index] if 0 <= index < len(self.choices) else None


@dataclass(frozen=True)
class QuietHours:
    """Local hours when nothing is sent: from `start` until `end` (may wrap midnight)."""

    start: time = time(21, 0)
    end: time = time(8, 0)

    def contains(self, value: time) -> bool:
        """True when local time `value` falls in the quiet period."""
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= value < self.end
        return value >= self.start or value < self.end


@dataclass(frozen=True)
class CarePlan:
    """The validated care plan."""

    steps: tuple[Step, ...]
    quiet_hours: QuietHours = field(default_factory=QuietHours)
    spread_minutes: int = 0
    path: str = ""

    @property
    def active_steps(self) -> tuple[Step, ...]:
        """Steps that are switched on."""
        return tuple(s for s in self.steps if s.enabled)

    def step(self, step_id: str) -> Step | None:
        """The step with this id, or None (e.g. removed from the file since rows were written)."""
        return next((s for s in self.steps if s.id == step_id), None)

    @property
    def max_day(self) -> int:
        """The latest day offset of any active step."""
        return max((s.day for s in self.active_steps), default=0)


def _line(node: Yaml, key: str | None = None) -> int:
    if isinstance(node, LineDict):
        return node.line_of(key) if key else node.line
    return getattr(node, "line", 0)


def _parse_time(value: Yaml, where: str, line: int, out: ProblemCollector) -> time | None:
    if not isinstance(value, str) or not _TIME.match(value):
        out.add(line, f"{where}: expected a quoted local time like \"19:00\", got {value!r}")
        return None
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def _text(node: LineDict, key: str, limit: int, where: str, out: ProblemCollector) -> str | None:
    value = node.get(key)
    if not isinstance(value, str) or not value.strip():
        out.add(_line(node, key), f"{where}: '{key}' must be non-empty text")
        return None
    if len(value) > limit:
        out.add(_line(node, key), f"{where}: '{key}' is {len(value)} characters (limit {limit})")
        return None
    return " ".join(value.split())


def _unknown_keys(node: LineDict, allowed: set[str], where: str, out: ProblemCollector) -> None:
    for key in node:
        if key not in allowed:
            out.add(_line(node, str(key)), f"{where}: unknown key '{key}' (allowed: "
                                           f"{', '.join(sorted(allowed))})")


def _parse_choice(node: Yaml, where: str, out: ProblemCollector) -> Choice | None:
    if not isinstance(node, LineDict):
        out.add(_line(node), f"{where}: each button needs label, action and reply")
        return None
    _unknown_keys(node, {"label", "action", "reply", "urgency"}, where, out)
    label = _text(node, "label", MAX_LABEL, where, out)
    reply = _text(node, "reply", MAX_REPLY, where, out)
    action_value = node.get("action")
    try:
        action = Action(str(action_value))
    except ValueError:
        out.add(_line(node, "action"), f"{where}: unknown action {action_value!r} (use one "
                                       f"of {', '.join(a.value for a in Action)})")
        return None
    urgency = node.get("urgency")
    if urgency is not None and (urgency not in URGENCIES or action is not Action.PROBLEM):
        out.add(_line(node, "urgency"), f"{where}: 'urgency' must be one of "
                                        f"{', '.join(URGENCIES)}, on a 'problem' button only")
        return None
    if label is None or reply is None:
        return None
    return Choice(label, action, reply, urgency)


def _parse_choices(node: LineDict, where: str, out: ProblemCollector) -> tuple[Choice, ...]:
    raw = node.get("buttons")
    if not isinstance(raw, list) or not raw:
        out.add(_line(node, "buttons"), f"{where}: 'buttons' must list at least one answer")
        return ()
    choices = []
    for index, item in enumerate(raw):
        choice = _parse_choice(item, f"{where} button {index + 1}", out)
        if choice is not None:
            choices.append(choice)
    labels = [c.label for c in choices]
    if len(set(labels)) != len(labels):
        out.add(_line(node, "buttons"), f"{where}: two buttons have the same label")
    return tuple(choices)


_STEP_KEYS = {"id", "day", "time", "kind", "enabled", "message", "buttons"}


def _parse_step(node: Yaml, quiet: QuietHours, kb: KnowledgeBase,
                out: ProblemCollector) -> Step | None:
    if not isinstance(node, LineDict):
        out.add(_line(node), "each step must be a mapping with id, day, time, message, buttons")
        return None
    step_id = node.get("id")
    where = f"step {step_id!r}"
    if not isinstance(step_id, str) or not _ID.match(step_id):
        out.add(_line(node, "id"), f"{where}: 'id' must be 1-32 lowercase letters, digits or _")
        return None
    _unknown_keys(node, _STEP_KEYS, where, out)
    day = node.get("day")
    if isinstance(day, bool) or not isinstance(day, int) or not 0 <= day <= 365:
        out.add(_line(node, "day"), f"{where}: 'day' must be a whole number from 0 to 365")
        day = None
    at = _parse_time(node.get("time"), where, _line(node, "time"), out)
    if at is not None and quiet.contains(at):
        out.add(_line(node, "time"), f"{where}: {at:%H:%M} falls in quiet hours "
                                     f"({quiet.start:%H:%M}-{quiet.end:%H:%M})")
    try:
        kind = StepKind(node.get("kind", "routine"))
    except ValueError:
        out.add(_line(node, "kind"), f"{where}: 'kind' must be routine or rebook")
        kind = None
    enabled = node.get("enabled", True)
    if not isinstance(enabled, bool):
        out.add(_line(node, "enabled"), f"{where}: 'enabled' must be true or false")
    message = _text(node, "message", MAX_MESSAGE, where, out)
    choices = _parse_choices(node, where, out)
    if day is None or at is None or kind is None or message is None or not choices:
        return None
    topics: list[str] = []
    message = _quote_kb(message, day, kb, where, _line(node, "message"), out, topics)
    choices = tuple(dataclasses.replace(choice, reply=_quote_kb(
        choice.reply, day, kb, f"{where} button {choice.label!r}", _line(node, "buttons"), out,
        topics)) for choice in choices)
    return Step(step_id, day, at, kind, message, choices, enabled is not False,
                tuple(dict.fromkeys(topics)))


def _quote_kb(text: str, day: int, kb: KnowledgeBase, where: str, line: int,
              out: ProblemCollector, topics: list[str]) -> str:
    """``text`` with each ``{kb:<entry>}`` replaced by that entry's advice for ``day``: the
    brief of its day window, else the window's whole text, else its one answer. An entry the
    configured knowledge base lacks (a clinic's own, smaller one) is quoted from the packaged
    knowledge base: the bot then has no answer of its own on that topic to disagree with."""
    def brief(match: re.Match[str]) -> str:
        entry = kb.by_id(match.group(1)) or _packaged_kb().by_id(match.group(1))
        if entry is None:
            out.add(line, f"{where}: {match.group(0)} names no knowledge-base entry")
            return match.group(0)
        topics.append(entry.id)
        window = entry.answer.window_for(day)
        if window is None:
            return entry.answer.unknown
        return window.brief or window.text
    return KB_REFERENCE.sub(brief, text)


def _parse_quiet(root: LineDict, out: ProblemCollector) -> QuietHours:
    raw = root.get("quiet_hours")
    if raw is None:
        return QuietHours()
    if not isinstance(raw, LineDict):
        out.add(_line(root, "quiet_hours"), "quiet_hours: needs start and end, e.g. \"21:00\"")
        return QuietHours()
    start = _parse_time(raw.get("start"), "quiet_hours start", _line(raw, "start"), out)
    end = _parse_time(raw.get("end"), "quiet_hours end", _line(raw, "end"), out)
    return QuietHours(start or QuietHours.start, end or QuietHours.end)


def _check_steps(steps: list[Step], raw: list[Any], out: ProblemCollector) -> None:
    seen: set[str] = set()
    for step, line in zip(steps, getattr(raw, "item_lines", [0] * len(steps)), strict=False):
        if step.id in seen:
            out.add(line, f"step {step.id!r}: duplicate id")
        seen.add(step.id)
    if not any(s.enabled and s.kind is StepKind.ROUTINE for s in steps):
        out.add(_line(raw), "steps: no routine check-in is enabled")
    if not any(any(c.action is Action.PROBLEM for c in s.choices)
               for s in steps if s.kind is StepKind.ROUTINE):
        out.add(_line(raw), "steps: no routine check-in offers a 'problem' answer")


@functools.lru_cache(maxsize=1)
def _packaged_kb() -> KnowledgeBase:
    return load_kb()


def parse_careplan(root: Yaml, path: str, kb: KnowledgeBase | None = None
                   ) -> tuple[CarePlan | None, list[Problem]]:
    """Validate loaded YAML; return the plan (None if unusable) and the problems found.
    ``kb`` is the knowledge base the texts quote (default: the packaged one)."""
    kb = kb if kb is not None else _packaged_kb()
    out = ProblemCollector(path)
    if not isinstance(root, LineDict):
        out.add(1, "the care plan must be a mapping with 'steps'")
        return None, out.problems
    _unknown_keys(root, {"quiet_hours", "spread_minutes", "steps"}, "care plan", out)
    quiet = _parse_quiet(root, out)
    spread = root.get("spread_minutes", 0)
    if isinstance(spread, bool) or not isinstance(spread, int) or not 0 <= spread <= 240:
        out.add(_line(root, "spread_minutes"), "spread_minutes: a whole number from 0 to 240")
        spread = 0
    raw_steps = root.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        out.add(_line(root, "steps"), "'steps' must list at least one check-in")
        return None, out.problems
    steps = [s for s in (_parse_step(node, quiet, kb, out) for node in raw_steps)
             if s is not None]
    _check_steps(steps, raw_steps, out)
    if out.problems:
        return None, out.problems
    return CarePlan(tuple(steps), quiet, spread, path), []


def careplan_problems(path: Path | None = None, kb: KnowledgeBase | None = None
                      ) -> list[Problem]:
    """Every problem in the care plan file (empty when it is valid), its quotes of ``kb``
    (default: the packaged knowledge base) included."""
    path = path or DEFAULT_PATH
    try:
        root = read_yaml(path)
    except DataFileError as exc:
        return [Problem(exc.path, exc.line, exc.reason)]
    return parse_careplan(root, str(path), kb)[1]


def load_careplan(path: Path | None = None, kb: KnowledgeBase | None = None) -> CarePlan:
    """Load and validate the care plan, quoting ``kb`` (default: the packaged knowledge
    base); raise `KBError` listing every problem."""
    path = path or DEFAULT_PATH
    try:
        root = read_yaml(path)
    except DataFileError as exc:
        raise KBError([Problem(exc.path, exc.line, exc.reason)]) from exc
    plan, problems = parse_careplan(root, str(path), kb)
    if plan is None:
        raise KBError(problems)
    return plan
