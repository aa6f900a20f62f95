"""The triage pre-filter (``knowledge/triage/prefilter.py``): the literal words read from a
regex source are ones every match contains, and searching only the patterns whose words a
message has finds exactly what the whole regex finds, on every message of the data sets (the
triage rules and the out-of-scope guard)."""

from __future__ import annotations

import random
import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from functools import cache
from itertools import accumulate
from pathlib import Path
from re import _parser  # type: ignore[attr-defined]
from re._constants import (  # type: ignore[import-not-found]
    BRANCH,
    LITERAL,
    MAX_REPEAT,
    MIN_REPEAT,
    SUBPATTERN,
)
from typing import Any

import pytest

from knowledge.guards import load_scope
from knowledge.text import fold
from knowledge.triage.prefilter import Alternatives, Prefilter, required_words
from knowledge.triage.prepare import prepare
from tests.advisors import shipped
from tests.yamldata import load_yaml

# one worker runs the triage tables' modules (tests/conftest.py): it alone compiles the
# triage patterns and the whole regexes, which each worker did for its share of the cases
pytestmark = pytest.mark.xdist_group("triage")

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


@cache  # both tests read the same messages
def _messages() -> tuple[str, ...]:
    """Every development message and every eighth blind one."""
    texts: list[str] = []
    for name in ("triage_dev.yaml", "triage_classes.yaml", "languages_dev.yaml"):
        texts += _texts(load_yaml(DATA / name))
    for path in sorted(DATA.glob("triage_blind_*.yaml")):
        texts += _texts(load_yaml(path))[::8]
    return tuple(texts)


def test_split_search_finds_what_the_whole_regex_finds() -> None:
    """Each sign's patterns and the language's split lists, searched pattern by pattern where
    the message has their words, give the spans of the whole regex on every message.

    The messages the whole regex matches at all are found first (`_matched`: those one of
    its patterns matches, each pattern tried only where a string it needs is). There the
    spans are compared in full with the whole regex's ``finditer``; everywhere else the split
    search must find nothing."""
    triage = shipped().triage
    lang, prefilter = triage._lang, triage._prefilter
    matchers = [matcher for sign in triage.signs
                for matcher in (sign.primary, *sign.with_groups,
                                *((sign.without,) if sign.without is not None else ()))
                if matcher.rule is not None and matcher.alternatives is not None]
    alternations: list[tuple[Alternatives, re.Pattern[str], bool]] = [
        (matcher.alternatives, matcher.regex, False) for matcher in matchers
        if matcher.alternatives is not None and matcher.regex is not None]
    alternations += [(split, re.compile(source), True) for source, split in lang.split.items()]
    assert len(matchers) > 50 and len(alternations) == len(matchers) + 3
    raws = _messages()
    assert len(raws) > 2000
    # what ``Message`` searches, and with these candidates
    texts = [prepare(raw, lang).text for raw in raws]
    candidates = [prefilter.candidates(text) for text in texts]
    joined = _Joined(texts)
    skipped = matched = 0  # pairs whose split search ran no pattern; that the regex matches
    for split, whole, also_search in alternations:
        matches = _matched(joined, split, whole)
        matched += len(matches)
        for index, text in enumerate(texts):
            spans = split.spans(text, candidates[index])
            ranges = ((0, len(text)), (len(text) // 3, len(text))) if also_search else ()
            found = [split.search(text, candidates[index], start, end) for start, end in ranges]
            if not split._candidates(candidates[index]):  # no pattern may match: none found
                assert spans == [] and not any(found), (raws[index], whole.pattern[:80])
                skipped += 1
            if index not in matches:  # nor does the whole regex find anything
                assert spans == [] and not any(found), (raws[index], whole.pattern[:80])
                continue
            expected = [m.span() for m in whole.finditer(text)]
            assert expected and spans == expected, (raws[index], whole.pattern[:80])
            # the whole regex's ``search`` from the start finds a match exactly when its
            # ``finditer`` does; from a later position (to the end) only when ``finditer``
            # found one somewhere (so it is run only then)
            for (start, end), hit in zip(ranges, found, strict=True):
                assert hit == (start == 0 or whole.search(text, start, end) is not None), (
                    raws[index])
    assert skipped > len(texts) * len(alternations) // 2
    assert matched > len(texts)


# Joined texts are searched at once where that finds exactly what searching each text finds:
# a pattern that reads no context beyond its match (no anchors, no lookarounds) and whose
# matches all lie inside the texts sees the same characters there, and the same word
# boundaries at the texts' ends (the separator holds no word character).
_SEPARATOR = "\n\x00\n"
_READS_CONTEXT = re.compile(r"(?<!\[)\^|\\\[\^|\$|\\[AZ]|\(\?[=!<]")  # "[^" opens a class


class _Joined:
    """Texts joined by ``_SEPARATOR``, searched at once (``matched``)."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.texts = texts
        self.joined = _SEPARATOR.join(texts)
        self.starts = list(accumulate((len(text) + len(_SEPARATOR) for text in texts[:-1]),
                                      initial=0))
        self._containing: dict[str, set[int]] = {}  # a string -> the texts with it

    def containing(self, strings: Iterable[str]) -> set[int]:
        """The indices of the texts that contain one of ``strings``."""
        found: set[int] = set()
        for string in strings:
            if string not in self._containing:  # (patterns share words: each found once)
                self._containing[string] = self._find(string)
            found |= self._containing[string]
        return found

    def _find(self, string: str) -> set[int]:
        joined, starts, found = self.joined, self.starts, set()
        at = joined.find(string)
        while at != -1:
            index = bisect_right(starts, at) - 1  # (or a separator after it: no matter)
            found.add(index)
            if index + 1 == len(starts):
                break
            at = joined.find(string, starts[index + 1])  # on from the next text
        return found

    def matched(self, pattern: re.Pattern[str]) -> set[int]:
        """The indices of the texts in which ``pattern`` finds a match (``search``)."""
        texts, starts = self.texts, self.starts
        if not _READS_CONTEXT.search(pattern.pattern):
            found: set[int] = set()
            for match in pattern.finditer(self.joined):
                index = bisect_right(starts, match.start()) - 1
                if match.end() > starts[index] + len(texts[index]):
                    break  # a match across a separator: search text by text
                found.add(index)
            else:
                return found
        return {index for index, text in enumerate(texts) if pattern.search(text)}


def _options(items: Sequence[tuple[Any, Any]]) -> list[frozenset[str]]:
    """Sets of strings, one of each of which every match of the parsed regex ``items``
    contains, each string two characters or more: a run of literal characters, or what a
    group, each branch of an alternation or a repeat of at least once needs (`_needs`)."""
    found: list[frozenset[str]] = []

    def offer(options: frozenset[str] | None) -> None:
        if options and min(map(len, options)) >= 2:
            found.append(options)

    run: list[str] = []
    for op, av in [*items, (None, None)]:
        if op is LITERAL:
            run.append(chr(av))
            continue
        offer(frozenset({"".join(run)}) if run else None)
        run = []
        if op is SUBPATTERN and not av[1] and not av[2]:  # a group that sets no flags
            offer(_needs(av[3].data))
        elif op is BRANCH:
            branches = [_needs(branch.data) for branch in av[1]]
            offer(None if None in branches else frozenset().union(*branches))  # type: ignore[arg-type]
        elif op in (MAX_REPEAT, MIN_REPEAT) and av[0] >= 1:
            offer(_needs(av[2].data))
    return found


def _rank(options: frozenset[str]) -> tuple[int, int]:
    """Longer shortest strings first, then fewer strings."""
    return min(map(len, options)), -len(options)


def _needs(items: Sequence[tuple[Any, Any]]) -> frozenset[str] | None:
    """Strings one of which every match of the parsed regex ``items`` contains (the longest
    such found, by its shortest string, the first of equals; `_options`), or None."""
    best: frozenset[str] | None = None
    for options in _options(items):
        if best is None or _rank(options) > _rank(best):
            best = options
    return best


def _matched(joined: _Joined, split: Alternatives, whole: re.Pattern[str]) -> set[int]:
    """The indices of the texts of ``joined`` in which ``whole`` finds a match: those in which
    one of its patterns does (it is their alternation; `_searched`)."""
    assert whole.pattern == "|".join(split.sources)
    # each pattern alone, as the split search compiles it
    return set().union(*(_searched(joined, split._pattern(index))
                         for index in range(len(split.sources))))


def _searched(joined: _Joined, pattern: re.Pattern[str]) -> set[int]:
    """The indices of the texts of ``joined`` in which ``pattern`` finds a match: it is
    searched only in the texts with a string of each set of strings it needs (`_options`: the
    texts with one of the best set's, found in all texts at once, then kept where they have
    one of another set's too, for the sets of three-character strings or longer: two-letter
    ones are in most texts, and looking for them cost more than the searches it saved), or in
    all texts at once where it needs none (``_Joined.matched``)."""
    options = [] if pattern.flags & re.IGNORECASE else sorted(
        _options(_parser.parse(pattern.pattern, pattern.flags).data), key=_rank, reverse=True)
    if not options:
        return joined.matched(pattern)
    texts = joined.texts
    indices = joined.containing(options[0])
    for strings in options[1:]:
        if min(map(len, strings)) >= 3:
            indices = {index for index in indices
                       if any(string in texts[index] for string in strings)}
    return {index for index in indices if pattern.search(texts[index])}


def test_what_a_pattern_needs_is_in_every_text_it_matches() -> None:
    texts = ["red lip", "lips", "swollen lips", "the lip is red", "tongue swelling", "",
             "my face", "a face", "lip lip", "redness", "no pain", "pain free", "xfoo"]
    for source, needs in [
        (r"\blips?\b", {"lip"}), (r"\b(?:lips?|tongue)\s+swell\w*", {"swell"}),
        (r"(?:lip|tongue)s?\s+(?:is|are)", {"lip", "tongue"}), (r"\b(?:my\s+)?face\b", {"face"}),
        (r"red(?:ness)?|hot", {"red", "hot"}), (r"(?<!no )pain\b(?!\s+free)", {"pain"}),
        (r"(?:ab)+c|(?:ab)*d", None), (r"l(ip)s", {"ip"}), (r"\w+\s+\w+", None),
        (r"(?i:lip)s", None), (r"^f(?:oo)?$", None),
    ]:
        pattern = re.compile(source)
        assert _needs(_parser.parse(source, pattern.flags).data) == (
            None if needs is None else frozenset(needs)), source
        containing = {index for index, text in enumerate(texts)
                      if any(string in text for string in needs or ())}
        assert _Joined(texts).containing(needs or ()) == containing, source
        matched = {index for index, text in enumerate(texts) if pattern.search(text)}
        if needs is not None:
            assert matched <= containing, source
        for strings in _options(_parser.parse(source, pattern.flags).data):
            assert all(any(string in texts[index] for string in strings)
                       for index in matched), (source, strings)
        assert _searched(_Joined(texts), pattern) == matched, source


def test_joined_texts_are_searched_as_each_text_alone() -> None:
    texts = ["red lip", "", "lip", "a lip.", "lips", "swollen", "up lip"]
    for source in (r"\blip\b", r"lip", r"\w+\W+\w+", r"\bup\s+lip$", r"^lip", r"(?<=a )lip",
                   r"p\W*", r"\Blip", r"\[^lip|lip"):
        pattern = re.compile(source)
        assert _Joined(texts).matched(pattern) == {
            index for index, text in enumerate(texts) if pattern.search(text)}, source


def test_scope_categories_searched_by_words_find_the_same() -> None:
    """The out-of-scope guard searches a message's forms only with the patterns whose words
    they have: the same category as searching every pattern, on every message. Where every
    pattern matches is learnt for all messages' forms at once, pattern by pattern
    (`_searched`)."""
    scope = load_scope()
    assert all(words is not None for category in scope.categories
               for words in category.pattern_words)
    messages = _messages()
    forms = [(fold(raw), re.sub(r"['\u2019\u2018`]", "", raw.lower())) for raw in messages]
    candidates = [tuple(scope._prefilter.candidates(form) for form in pair) for pair in forms]
    joined = [_Joined([pair[k] for pair in forms]) for k in (0, 1)]
    # for each category, the messages one of whose forms one of its patterns matches
    matched = {id(category): set().union(*(_searched(texts, pattern) for texts in joined
                                          for pattern in category.patterns))
               for category in scope.categories}
    for index, raw in enumerate(messages):
        for category in scope.categories:
            applies = category.applies(forms[index], candidates[index])
            if index in matched[id(category)]:
                assert applies == category.applies(forms[index]), (raw, category.id)
            else:  # no pattern matches either form: the category does not apply
                assert not applies, (raw, category.id)
