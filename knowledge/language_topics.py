"""Everyday aftercare topics named in other languages (``language_topics.yaml``).

A message in Spanish, French, German or Italian with no red flag is read for a topic the
knowledge base answers ("can I go running tomorrow", "when can I wear make-up"): each language
lists a few words or phrases per knowledge-base entry. The topic named by the most phrases wins;
a tie or no topic gives None, and the message keeps the plain "I read English only" reply.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from knowledge.errors import KBError, Problem
from knowledge.multilingual.fold import fold
from knowledge.yamlfile import LineDict, LineList, data_file_problems, read_yaml

PACKAGED_TOPICS = Path(__file__).parent / "language_topics.yaml"


@dataclass(frozen=True)
class LanguageTopics:
    """Per language: the one-line note, the emergency line and each topic's phrases."""

    notes: dict[str, str]
    safety: dict[str, str]
    topics: dict[str, tuple[tuple[str, re.Pattern[str]], ...]]

    def topic(self, text: str, language: str) -> str | None:
        """The knowledge-base entry the message names in ``language``, or None."""
        found = self.topics.get(language)
        if not found:
            return None
        folded = fold(text)
        hits: dict[str, int] = {}
        for entry, pattern in found:
            count = len(pattern.findall(folded))
            if count:
                hits[entry] = hits.get(entry, 0) + count
        if not hits:
            return None
        ranked = sorted(hits.values(), reverse=True)
        if len(ranked) > 1 and ranked[0] == ranked[1]:
            return None  # two topics named as often: not a guess worth making
        return max(hits, key=lambda entry: hits[entry])

    def note(self, language: str) -> str | None:
        """The one-line note (in ``language``) that the clinic team has the message too."""
        return self.notes.get(language)

    def safety_line(self, language: str) -> str | None:
        """The emergency line in ``language``, shown under every such answer."""
        return self.safety.get(language)


def _phrase(words: str) -> str:
    parts = [re.escape(fold(word)).replace(r"\*", r"\w*") for word in words.split()]
    return r"\b" + r"[\s\-]+".join(parts) + r"\b"


def load_language_topics(entry_ids: Iterable[str],
                         path: Path = PACKAGED_TOPICS) -> LanguageTopics:
    """Load the table; an unknown entry id or a malformed section raises ``KBError``."""
    with data_file_problems():
        data = read_yaml(path)
    known = set(entry_ids)
    problems: list[Problem] = []
    notes: dict[str, str] = {}
    safety: dict[str, str] = {}
    topics: dict[str, tuple[tuple[str, re.Pattern[str]], ...]] = {}
    languages = data.get("languages") if isinstance(data, LineDict) else None
    if not isinstance(languages, LineDict):
        raise KBError([Problem(str(path), 1, "file must have a 'languages' mapping")])
    for code, section in languages.items():
        line = languages.line_of(code)
        if not isinstance(section, LineDict) or not isinstance(section.get("note"), str) \
                or not isinstance(section.get("safety"), str) \
                or not isinstance(section.get("topics"), LineDict):
            problems.append(Problem(str(path), line,
                                    f"{code}: needs a 'note', a 'safety' line and 'topics'"))
            continue
        if "{emergency}" not in str(section["safety"]):
            problems.append(Problem(str(path), line, f"{code}: 'safety' must name {{emergency}}"))
        for key in ("note", "safety"):
            if "{clinic}" in str(section[key]) or "{Clinic}" in str(section[key]):
                problems.append(Problem(str(path), section.line_of(key), (
                    f"{code}.{key}: name the clinic with the language's own word, then "
                    "{clinic_named} (the configured name in quotes, or nothing), not {clinic} "
                    "(English: 'the clinic' when no name is set)")))
        notes[code] = " ".join(str(section["note"]).split())
        safety[code] = " ".join(str(section["safety"]).split())
        compiled: list[tuple[str, re.Pattern[str]]] = []
        for entry, phrases in section["topics"].items():
            entry_line = section["topics"].line_of(entry)
            if entry not in known:
                problems.append(Problem(str(path), entry_line, f"{code}: unknown entry {entry!r}"))
                continue
            if not isinstance(phrases, LineList) or not all(isinstance(p, str) for p in phrases):
                problems.append(Problem(str(path), entry_line, f"{code}: {entry} must list words"))
                continue
            pattern = "|".join(_phrase(str(p)) for p in sorted(phrases, key=len, reverse=True))
            compiled.append((entry, re.compile(pattern)))
        topics[code] = tuple(compiled)
    if problems:
        raise KBError(problems)
    return LanguageTopics(notes, safety, topics)
