"""Which knowledge-base topics overlap a red flag's sign (bot/core/alert_topics.yaml): while
that alert is open, an aftercare answer on one of them would reassure about the very thing
that was flagged, so the patient gets the safety line again instead (bot/core/desk/patients.py
`PatientReports.open_alert`, bot/core/flows/advice.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path

from knowledge.errors import KBError, Problem
from knowledge.yamlfile import LineDict, LineList, data_file_problems, parse_yaml, read_text

PACKAGED_ALERT_TOPICS = Path(__file__).with_name("alert_topics.yaml")


class AlertTopics:
    """Sign id -> the knowledge-base topics (entry ids) that overlap it."""

    def __init__(self, signs: Mapping[str, frozenset[str]]) -> None:
        self.signs = dict(signs)

    def overlapping(self, signs: Iterable[str]) -> frozenset[str]:
        """The topics that overlap any of `signs` (a sign not listed overlaps none)."""
        return frozenset().union(*(self.signs.get(sign, frozenset()) for sign in signs))


def load_alert_topics(path: Path | None = None) -> AlertTopics:
    """Read and check the file (default: the packaged one); a problem raises ``KBError``
    naming file and line."""
    path = path or PACKAGED_ALERT_TOPICS
    with data_file_problems():
        text = read_text(path)
    return _parse(str(path), text)


@lru_cache(maxsize=4)
def _parse(path: str, text: str) -> AlertTopics:
    with data_file_problems():
        data = parse_yaml(text, path)
    raw = data.get("signs") if isinstance(data, LineDict) else None
    if not isinstance(raw, LineDict):
        raise KBError([Problem(path, getattr(data, "line", 1),
                               "the file must map 'signs' to sign ids and their topics")])
    problems: list[Problem] = []
    signs: dict[str, frozenset[str]] = {}
    for sign, topics in raw.items():
        if not isinstance(topics, LineList) or not all(isinstance(t, str) for t in topics):
            problems.append(Problem(path, raw.line_of(sign),
                                    f"sign {sign!r} must list topic ids ([] for none)"))
            continue
        signs[str(sign)] = frozenset(topics)
    if problems:
        raise KBError(problems)
    return AlertTopics(signs)
