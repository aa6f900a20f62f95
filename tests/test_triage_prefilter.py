"""The triage pre-filter (``knowledge/triage/prefilter.py``): the literal words read from a
regex source are ones every match contains, and searching only the patterns whose words a
message has finds exactly what the whole regex finds, on every message of the data sets (the
triage rules and the out-of-scope guard)."""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import pytest

from knowledge.guards import load_scope
from knowledge.text import fold
from knowledge.triage import load_triage
from knowledge.triage.message import Message
from knowledge.triage.prefilter import Alternatives, Prefilter, required_words
from tests.yamldata import load_yaml

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize(("source", "words"), [
    (r"\blips?\b", {"lip", "lips"}),  # every string it matches, when they are few
    (r"\b(?:lips?|tongue)\s+swell\w*", {"swell"}),
    (r"(?:lips?|tongue)\s+(?:is|are)", {"lip", "lips", "tongue"}),
    (r"br(?:e|ea)th", {"breth", "breath"}),
    (r"\b(?:my\s+)?face\b", {"face"}),
    (r"[^.!?]+(?=\?)", {"?"}),  # what a lookahead sees is in the text too
    (r"pus(?!\s+free)", {"pus"}),  # what a negative one sees is not
    (r"red(?:ness)?|hot", {"red", "redness", "hot"}),
])
def test_required_words(source: str, words: set[str]) -> None:
    assert required_words(source) == frozenset(words)


@pytest.mark.parametrize("source", [
    r"(?i)lips",  # case folded
    r"(?i:lips)",
    r"\w+\s+\w+",  # no literal at all
    r"lips|\w+",  # one alternative without words
    r"a|b",  # one-letter words filter nothing
    r"(lips)\1",  # a back reference
    r"\x41lips",  # an escape by number
])
def test_no_words_when_unsure(source: str) -> None:
    assert required_words(source) is None


def test_prefilter_finds_every_word_present() -> None:
    rng = random.Random(13)
    for _ in range(20):
        words = ["".join(rng.choice("abc.") for _ in range(rng.randint(2, 5)))
                 for _ in range(40)]
        alternatives = Alternatives([re.escape(word) for word in words])
        prefilter = Prefilter([alternatives])
        for _ in range(100):
            text = "".join(rng.choice("abc .") for _ in range(30))
            assert prefilter.present(text) == {word for word in words if word in text}
            spans = alternatives.spans(text, prefilter.candidates(text))
            whole = re.compile("|".join(f"(?:{re.escape(word)})" for word in words))
            assert spans == [m.span() for m in whole.finditer(text)]


def _texts(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["text"]] if isinstance(node.get("text"), str) else []
        return own + [text for value in node.values() for text in _texts(value)]
    if isinstance(node, list):
        return [text for value in node for text in _texts(value)]
    return []


def _messages() -> list[str]:
    """Every development message and every eighth blind one."""
    texts: list[str] = []
    for name in ("triage_dev.yaml", "triage_classes.yaml", "languages_dev.yaml"):
        texts += _texts(load_yaml(DATA / name))
    for path in sorted(DATA.glob("triage_blind_*.yaml")):
        texts += _texts(load_yaml(path))[::8]
    return texts


def test_split_search_finds_what_the_whole_regex_finds() -> None:
    """Each sign's patterns and the language's split lists, searched pattern by pattern where
    the message has their words, give the spans of the whole regex on every message."""
    triage = load_triage()
    lang, prefilter = triage._lang, triage._prefilter
    matchers = [matcher for sign in triage.signs
                for matcher in (sign.primary, *sign.with_groups,
                                *((sign.without,) if sign.without is not None else ()))
                if matcher.rule is not None and matcher.alternatives is not None]
    splits = [(re.compile(source), split) for source, split in lang.split.items()]
    assert len(matchers) > 50 and len(splits) == 3
    texts = _messages()
    assert len(texts) > 2000
    for raw in texts:
        message = Message(raw, lang, triage._fever, prefilter)
        text, candidates = message.text, message.candidates
        assert candidates is not None
        for matcher in matchers:
            assert matcher.alternatives is not None and matcher.regex is not None
            assert matcher.alternatives.spans(text, candidates) == [
                m.span() for m in matcher.regex.finditer(text)], (raw, matcher.rule)
        for whole, split in splits:
            assert split.spans(text, candidates) == [m.span() for m in whole.finditer(text)]
            for start, end in ((0, len(text)), (len(text) // 3, len(text))):
                assert split.search(text, candidates, start, end) == (
                    whole.search(text, start, end) is not None)


def test_scope_categories_searched_by_words_find_the_same() -> None:
    """The out-of-scope guard searches a message's forms only with the patterns whose words
    they have: the same category as searching every pattern, on every message."""
    scope = load_scope()
    assert all(words is not None for category in scope.categories
               for words in category.pattern_words)
    for raw in _messages():
        forms = (fold(raw), re.sub(r"['\u2019\u2018`]", "", raw.lower()))
        candidates = tuple(scope._prefilter.candidates(form) for form in forms)
        for category in scope.categories:
            assert category.applies(forms, candidates) == category.applies(forms), (
                raw, category.id)
