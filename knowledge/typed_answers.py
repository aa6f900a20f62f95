"""Rule-out answers typed instead of tapped: the ``yes_words`` / ``no_words`` lists of
knowledge/followups.yaml (``buttons``) and of each language file's ``follow_ups``, read in
``answer_words`` form and checked (lists of quoted text, no answer in both). Pure."""

from __future__ import annotations

from knowledge.errors import Problem
from knowledge.text import answer_words
from knowledge.yamlfile import LineDict

# the keys of a language file's ``follow_ups`` that are not a question's id
FOLLOW_UP_KEYS = ("yes_label", "no_label", "yes_words", "no_words")


def answer_lists(where: LineDict, path: str,
                 problems: list[Problem]) -> tuple[frozenset[str], frozenset[str]]:
    """The ``yes_words`` and ``no_words`` lists of a mapping (optional), folded by
    ``answer_words``; a problem for a list that is not a list of text, or an answer in both."""
    found: list[frozenset[str]] = []
    for key in ("yes_words", "no_words"):
        raw = where.get(key, [])
        if not isinstance(raw, list) or not all(isinstance(w, str) and w.strip() for w in raw):
            problems.append(Problem(path, where.line_of(key),
                                    f"{key} must be a list of quoted words (unquoted, YAML "
                                    "reads yes and no as true and false)"))
            raw = []
        found.append(frozenset(answer_words(w) for w in raw))
    both = found[0] & found[1]
    if both:
        problems.append(Problem(path, where.line_of("no_words"),
                                f"in both yes_words and no_words: {', '.join(sorted(both))}"))
    return found[0] - both, found[1] - both
