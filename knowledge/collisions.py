"""Find example questions of different entries that the matcher could not tell apart.

Two questions collide when, after normalisation and dropping words that carry no meaning,
they are the same or almost the same (token-sort similarity at or above ``COLLISION_SCORE``).
Each form's words are sorted once and compared with ``fuzz.ratio`` (what ``token_sort_ratio``
does per pair), so a knowledge base of thousands of questions checks quickly at every start.
"""

from __future__ import annotations

from functools import lru_cache

from rapidfuzz import fuzz, process

from knowledge.errors import Problem
from knowledge.schema import KnowledgeBase
from knowledge.text import FILLER, content, tokens

COLLISION_SCORE = 95.0
Owner = tuple[str, str, str, int]  # entry id, question, path, line


def find_collisions(kb: KnowledgeBase,
                    question_lines: dict[str, list[int | tuple[str, int]]]) -> list[Problem]:
    """Problems for each colliding pair, reported at the later question's file and line (a
    line given as (path, line) is a question added by another file: extra_questions)."""
    owners: list[Owner] = []
    for entry in kb.entries:
        path = entry.source.rsplit(":", 1)[0]
        lines = question_lines.get(entry.id, [])
        for index, question in enumerate(entry.questions):
            where = lines[index] if index < len(lines) else 0
            if isinstance(where, tuple):
                owners.append((entry.id, question, where[0], where[1]))
            else:
                owners.append((entry.id, question, path, where))
    return list(_collisions(tuple(owners)))


@lru_cache(maxsize=8)
def _collisions(owners: tuple[Owner, ...]) -> tuple[Problem, ...]:
    """The problems of `find_collisions` for these questions, found once per process for the
    same questions at the same places (about 20 ms of CPU for the packaged knowledge base,
    which ``kb check``, each ``Advisor.load`` and each check of the web desk's changes asks
    again; the bots' fork server in the tests loads it before it forks)."""
    forms = [_form(question) for _, question, _, _ in owners]
    if not forms:
        return ()
    sorted_forms = [" ".join(sorted(form.split())) for form in forms]
    problems: list[Problem] = []
    for i, form in enumerate(sorted_forms):
        if not forms[i]:
            continue
        close = process.extract(form, sorted_forms[:i], scorer=fuzz.ratio,
                                score_cutoff=COLLISION_SCORE, limit=None)
        for _, _, j in close:
            if owners[i][0] == owners[j][0]:
                continue
            entry_id, question, path, line = owners[i]
            other_id, other_question, other_path, other_line = owners[j]
            problems.append(Problem(path, line, (
                f"question {question!r} of {entry_id!r} is too close to {other_question!r} of "
                f"{other_id!r} ({other_path}:{other_line}); the matcher cannot tell them apart")))
    return tuple(problems)


def _form(question: str) -> str:
    """What the matcher compares: the content words, or for a question of one content word or
    none ("is it safe", "what is microneedling") the whole phrase, as the matcher's bare-question
    path does."""
    words = content(question)
    if len(words.split()) > 1:
        return words
    return " ".join(word for word in tokens(question) if word not in FILLER)
