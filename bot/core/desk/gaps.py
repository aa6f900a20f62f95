"""Questions the bot could not answer, grouped by similarity (/gaps, ``aftercare gaps`` and
the web desk's gaps page)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from bot.core.ports import DeskReports
from knowledge.catalogue import Catalogue
from knowledge.text import clean

GAP_SIMILARITY = 80

STOP_WORDS = frozenset({"a", "about", "after", "again", "am", "an", "and", "any", "are", "be",
    "can", "could", "do", "does", "for", "go", "how", "i", "if", "in", "is", "it", "its", "me",
    "my", "of", "ok", "okay", "on", "or", "should", "so", "the", "then", "there", "this", "to",
    "use", "using", "was", "what", "when", "where", "which", "will", "with", "would", "you",
    "your"})


def normalise(text: str) -> str:
    """The project's normaliser (knowledge/text.py): lower case, punctuation and emoji removed,
    shorthand expanded, whitespace collapsed."""
    return clean(text)


def content_words(text: str) -> str:
    """The words that carry the question ("can I dye my hair?" -> "dye hair")."""
    words = [w for w in normalise(text).split() if w not in STOP_WORDS]
    return " ".join(words) or normalise(text)


@dataclass(frozen=True)
class GapGroup:
    """Similar unanswered questions: how many, an example, and other wordings."""

    count: int
    example: str
    others: tuple[str, ...]


def group_questions(texts: Iterable[str], threshold: int = GAP_SIMILARITY) -> list[GapGroup]:
    """Group similar questions: rapidfuzz token-set ratio of their content words against
    each group's first question; biggest groups first."""
    groups: list[tuple[str, list[str]]] = []  # (content words, original texts)
    for text in texts:
        key = content_words(text)
        if not key:
            continue
        best, best_score = None, 0.0
        for index, (group_key, _) in enumerate(groups):
            score = fuzz.token_set_ratio(key, group_key)
            if score >= threshold and score > best_score:
                best, best_score = index, score
        if best is None:
            groups.append((key, [text.strip()]))
        else:
            groups[best][1].append(text.strip())
    result = []
    for _, members in groups:
        distinct = list(dict.fromkeys(members))
        result.append(GapGroup(len(members), distinct[0], tuple(distinct[1:4])))
    return sorted(result, key=lambda g: (-g.count, g.example.lower()))


def format_gaps(groups: Sequence[GapGroup], texts: Catalogue) -> str:
    """Plain-text /gaps and ``aftercare gaps`` output, worded by the "desk.gaps" entries of
    the bot's message catalogue."""
    if not groups:
        return texts.text("desk.gaps.none")
    total = sum(g.count for g in groups)
    lines = [texts.text("desk.gaps.header", total=total, groups=len(groups))]
    for group in groups[:40]:
        line = texts.text("desk.gaps.group", count=group.count, example=group.example)
        if group.others:
            others = texts.text("desk.gaps.separator").join(
                texts.text("desk.gaps.other", text=o) for o in group.others)
            line += texts.text("desk.gaps.also", others=others)
        lines.append(line)
    return "\n".join(lines)


async def gaps(store: DeskReports) -> list[GapGroup]:
    """Unanswered questions, one per patient and wording, grouped by similarity."""
    seen: set[tuple[int, str]] = set()
    texts = []
    for patient_id, text in await store.unanswered_questions():
        key = (patient_id, normalise(text))
        if key not in seen:
            seen.add(key)
            texts.append(text)
    return group_questions(texts)
