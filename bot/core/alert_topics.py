"""Which knowledge-base topics overlap a red flag's sign (bot/core/alert_topics.yaml): while
that alert is open, an aftercare answer on one of them would reassure about the very thing
that was flagged, so the patient gets the safety line again instead (bot/core/desk/patients.py
`PatientReports.open_alert`, bot/core/flows/advice.py)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from pathlib import Path

from knowledge.errors import KBError, Problem
from knowledge.yamlfile import LineDict, LineList, data_file_problems, parse_yaml, read_text

PACKAGED_ALERT_TOPICS = Path(__file__).with_name("alert_topics.yaml")
ALERT_TIERS = ("emergency", "urgent")


class AlertTopics:
    """Sign id -> the knowledge-base topics (entry ids) that overlap it."""

    def __init__(self, signs: Mapping[str, frozenset[str]]) -> None:
        self.signs = dict(signs)

    def overlapping(self, signs: Iterable[str]) -> frozenset[str]:
        """The topics that overlap any of `signs` (a sign not listed overlaps none)."""
        return frozenset().union(*(self.signs.get(sign, frozenset()) for sign in signs))


def load_alert_topics(path: Path | None = None, signs: Mapping[str, str] | None = None,
                      topics: Collection[str] | None = None) -> AlertTopics:
    """Read and check the file (default: the packaged one); every problem raises ``KBError``
    naming file, line and reason (`alert_topic_problems`)."""
    found, problems = _read(path or PACKAGED_ALERT_TOPICS, signs, topics)
    if problems:
        raise KBError(problems)
    return found


def alert_topic_problems(path: Path | None = None, signs: Mapping[str, str] | None = None,
                         topics: Collection[str] | None = None) -> list[Problem]:
    """What is wrong with the file (default: the packaged one), each with file and line: it
    cannot be read or parsed; it does not map ``signs`` to lists of topic ids; and, when given,
    against `signs` (every triage sign id -> its tier): a sign that is no triage sign, or not
    an emergency or urgent one, and an emergency or urgent sign not listed (each needs a
    decision, ``[]`` for none); against `topics` (the knowledge base's entry ids): a topic
    that is no entry."""
    return _read(path or PACKAGED_ALERT_TOPICS, signs, topics)[1]


def _read(path: Path, signs: Mapping[str, str] | None,
          topics: Collection[str] | None) -> tuple[AlertTopics, list[Problem]]:
    name = str(path)
    try:
        with data_file_problems():
            data = parse_yaml(read_text(path), name)
    except KBError as exc:
        return AlertTopics({}), list(exc.problems)
    raw = data.get("signs") if isinstance(data, LineDict) else None
    if not isinstance(raw, LineDict):
        line = data.line_of("signs") if isinstance(data, LineDict) else getattr(data, "line", 1)
        return AlertTopics({}), [Problem(name, line or 1, "the file must map 'signs' to sign "
                                                          "ids, each with a list of topic ids")]
    problems: list[Problem] = []
    listed: dict[str, frozenset[str]] = {}
    for sign, named in raw.items():
        line = raw.line_of(str(sign))
        if signs is not None and sign not in signs:
            problems.append(Problem(name, line, f"unknown sign {sign!r}: not a sign of the "
                                                "triage rules (knowledge/triage.yaml)"))
        elif signs is not None and signs[sign] not in ALERT_TIERS:
            problems.append(Problem(name, line, f"sign {sign!r} is {signs[sign]}: only "
                                                "emergency and urgent signs raise an alert"))
        if not isinstance(named, LineList):
            problems.append(Problem(name, line, f"sign {sign!r} must have a list of topic ids "
                                                f"([] for none), not {_kind(named)}"))
            continue
        for index, topic in enumerate(named):
            where = named.item_lines[index] if index < len(named.item_lines) else line
            if not isinstance(topic, str):
                problems.append(Problem(name, where, f"sign {sign!r}: a topic id must be a "
                                                     f"word, not {_kind(topic)}"))
            elif topics is not None and topic not in topics:
                problems.append(Problem(name, where, f"sign {sign!r}: unknown topic {topic!r} "
                                                     "(not an entry of the knowledge base)"))
        listed[str(sign)] = frozenset(t for t in named if isinstance(t, str))
    if signs is not None:
        for sign, tier in signs.items():
            if tier in ALERT_TIERS and sign not in listed:
                problems.append(Problem(name, data.line_of("signs"),
                                        f"{tier} sign {sign!r} is not listed: say which topics "
                                        "overlap it ([] for none)"))
    return AlertTopics(listed), problems


def _kind(value: object) -> str:
    """"a mapping", "a number": what a wrong value is, for the reason."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a word"
    return "nothing" if value is None else "a list"
