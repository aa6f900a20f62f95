"""A cheap pre-filter for the rules' large regexes: literal words one of which every match of a
regex contains ("lip", "tongue", "throat", ... for the airway sign), read from the regex's
source. A regex none of whose words is in a message cannot match there, so it is not run;
one pass over the message finds which words of all the rules are present (``Prefilter``).

Only a regex whose words are certain gets them: a construct the reading does not know (case
folding, back references, escapes by number) gives no words, and that regex always runs.
Skipping a regex that cannot match changes no result. The source is read by a small
tokeniser rather than ``re``'s own parser, which took seconds for the rules' 250,000
characters (start-up time).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import cache
from itertools import accumulate
from typing import Protocol

from knowledge.text import STOPWORDS

_EXACT_LIMIT = 64  # strings a part may stand for before it is only "some text"
_MIN_WORD = 2  # a shorter word filters nothing
_UNBOUNDED = 1 << 30

# What a part of a regex tells: ``exact``, every string it can match when they are few (None:
# too many or unknown); ``needed``, strings one of which each of its matches contains (None:
# nothing known).
Info = tuple[frozenset[str] | None, frozenset[str] | None]
_EMPTY: frozenset[str] = frozenset({""})
_UNKNOWN: Info = (None, None)
# the patterns of each ``Alternatives`` (by id) that may match a message (``Prefilter``)
Candidates = dict[int, set[int]]
_ZERO_WIDTH: Info = (_EMPTY, None)

# the tokens of a regex source; each one's kind is told by its first character (``_KINDS``)
_TOKEN = re.compile(r"""
    \\.                                     # an escape
  | \[\^?\]?(?:\\.|[^\]\\])*\]                # a character class
  | \((?:\?(?::|=|!|<=|<!|>))?             # a group opens (plain, lookaround, atomic)
  | \(\?                                   # any other "(?": flags, names, conditionals
  | (?:[?*+]|\{(?:\d+|\d+,\d*|,\d+)\})[?+]?   # a quantifier
  | [^\\\[\]()|?*+{}.^$]+                  # literal characters
  | [)|.^${}\]]                          # the rest, one character each
""", re.VERBOSE | re.DOTALL)
_KINDS = {"\\": "escape", "[": "charset", "(": "open", ")": "close", "|": "bar", "?": "quantifier",
          "*": "quantifier", "+": "quantifier", ".": "dot", "^": "anchor", "$": "anchor",
          "{": "brace", "}": "brace", "]": "brace"}
_ZERO_WIDTH_ESCAPES = frozenset("bBAZ")
_CHAR_CLASS_ESCAPES = frozenset("sSwWdD")
_CONTROL_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "f": "\f", "v": "\v", "a": "\a"}
_LOOKAROUND = frozenset({"(?=", "(?<="})
_NEGATIVE_LOOKAROUND = frozenset({"(?!", "(?<!"})


class _Unreadable(Exception):
    """A construct the reading does not know: the regex gets no words."""


def required_words(source: str, memo: dict[str, Info] | None = None) -> frozenset[str] | None:
    """Strings one of which every match of ``source`` contains (each at least two characters
    long), or None when none are known: the regex must then run on every message. ``memo``
    keeps what groups tell across calls: the rules repeat their vocab groups and word gaps
    many times over."""
    try:
        reader = _Reader(source, {} if memo is None else memo)
        info = reader.alternation()
        if not reader.done():
            return None  # an unbalanced ")": not a regex this reading trusts
    except _Unreadable:
        return None
    words = _best(info)
    if words is None or not all(map(_telling, words)):
        return None
    return words


def _telling(word: str) -> bool:
    """A word worth looking for: two characters or more, or a punctuation mark ("?")."""
    return len(word) >= _MIN_WORD or (word != "" and not word.isalnum() and not word.isspace())


class _Reader:
    """Recursive descent over the tokens of one regex source."""

    def __init__(self, source: str, memo: dict[str, Info]) -> None:
        self.source = source
        self.memo = memo
        texts = _TOKEN.findall(source)
        if "".join(texts) != source:
            raise _Unreadable  # a character no token takes
        self.starts = list(accumulate(map(len, texts), initial=0))  # offsets in the source
        kinds = [_KINDS.get(text[0], "literal") for text in texts]
        for i, text in enumerate(texts):  # the few kinds a first character does not tell
            if text[0] == "{" and len(text) > 1:
                kinds[i] = "quantifier"
            elif text == "(?":
                kinds[i] = "other_group"
            elif kinds[i] == "escape":
                texts[i] = text[1]
        self.tokens = list(zip(kinds, texts, strict=True))
        self.closing: dict[int, int] = {}  # an opening token's index -> its ")"'s index
        opened: list[int] = []
        for i, kind in enumerate(kinds):
            if kind == "open":
                opened.append(i)
            elif kind == "close" and opened:
                self.closing[opened.pop()] = i
        self.index = 0

    def done(self) -> bool:
        return self.index == len(self.tokens)

    def _peek(self) -> str | None:
        return self.tokens[self.index][0] if self.index < len(self.tokens) else None

    def alternation(self) -> Info:
        branches = [self.sequence()]
        while self._peek() == "bar":
            self.index += 1
            branches.append(self.sequence())
        return branches[0] if len(branches) == 1 else _alternatives(branches)

    def sequence(self) -> Info:
        parts: list[Info] = []
        while self._peek() not in (None, "bar", "close"):
            kind, text = self.tokens[self.index]
            self.index += 1
            if kind == "literal" and self._peek() == "quantifier" and len(text) > 1:
                parts.append((frozenset({text[:-1]}), None))  # "lips?": "lip" then "s?"
                text = text[-1]
            part = self.atom(kind, text)
            if self._peek() == "quantifier":
                low, high = _bounds(self.tokens[self.index][1])
                self.index += 1
                part = _repeat(low, high, part)
            parts.append(part)
        return _sequence(parts)

    def atom(self, kind: str, text: str) -> Info:
        if kind == "literal":
            return frozenset({text}), None
        if kind == "escape":
            return _escape(text)
        if kind == "charset":
            return _charset(text), None
        if kind == "dot":
            return _UNKNOWN
        if kind == "anchor":
            return _ZERO_WIDTH
        if kind == "open":
            if text in _NEGATIVE_LOOKAROUND:  # consumes nothing and needs nothing: skipped
                close = self.closing.get(self.index - 1)
                if close is None:
                    raise _Unreadable
                self.index = close + 1
                return _ZERO_WIDTH
            inner = self.group(text)
            if text in _LOOKAROUND:  # consumes nothing, but what it sees is in the text
                return _EMPTY, _best(inner)
            return inner
        raise _Unreadable  # inline flags, named groups, conditionals, a stray brace or "?"


    def group(self, opening: str) -> Info:
        """A group's part, read once per distinct source text."""
        start = self.index - 1
        close = self.closing.get(start)
        if close is None:
            raise _Unreadable
        key = self.source[self.starts[start]:self.starts[close] + 1]
        info = self.memo.get(key)
        if info is None:
            info = self.alternation()
            if self.index != close:
                raise _Unreadable
            self.memo[key] = info
        self.index = close + 1
        return info


def _bounds(quantifier: str) -> tuple[int, int]:
    body = quantifier.rstrip("?+") or quantifier[0]
    if body == "?":
        return 0, 1
    if body == "*":
        return 0, _UNBOUNDED
    if body == "+":
        return 1, _UNBOUNDED
    low, comma, high = body[1:-1].partition(",")
    if not comma:
        return int(low), int(low)
    return int(low or 0), int(high) if high else _UNBOUNDED


def _escape(char: str) -> Info:
    if char in _ZERO_WIDTH_ESCAPES:
        return _ZERO_WIDTH
    if char in _CHAR_CLASS_ESCAPES:
        return _UNKNOWN
    if char in _CONTROL_ESCAPES:
        return frozenset({_CONTROL_ESCAPES[char]}), None
    if char.isalnum() or not char.isascii():
        raise _Unreadable  # a group's number, a code point, a named character
    return frozenset({char}), None


def _charset(text: str) -> frozenset[str] | None:
    """The characters of a class such as ``[sz]`` or ``[a-c]``; None when negated or when it
    holds escapes or many characters."""
    body = text[1:-1]
    if body.startswith("^") or "\\" in body or not body:
        return None
    chars: set[str] = set()
    i = 0
    while i < len(body):
        if i + 2 < len(body) and body[i + 1] == "-":
            low, high = ord(body[i]), ord(body[i + 2])
            if high - low >= _EXACT_LIMIT:
                return None
            chars.update(chr(code) for code in range(low, high + 1))
            i += 3
        else:
            chars.add(body[i])
            i += 1
    return frozenset(chars)


def _best(info: Info) -> frozenset[str] | None:
    """The needed strings of a part: its own, or every string it matches when none is empty."""
    exact, needed = info
    candidates = [needed] if needed is not None else []
    if exact is not None and "" not in exact:
        candidates.append(exact)
    return max(candidates, key=_quality, default=None)


@cache  # the same sets come back many times while the rules are read
def _quality(words: frozenset[str]) -> tuple[bool, bool, int, int]:
    """Words worth looking for first, then no everyday function word ("and", "but"), then a
    longer shortest word (rarer in messages), then fewer words."""
    return (all(map(_telling, words)), words.isdisjoint(STOPWORDS),
            min(map(len, words), default=0), -len(words))


def _product(left: frozenset[str], right: frozenset[str]) -> frozenset[str] | None:
    if len(left) * len(right) > _EXACT_LIMIT:
        return None
    return frozenset(a + b for a in left for b in right)


def _sequence(parts: Iterable[Info]) -> Info:
    """Parts one after another: their exact strings while they stay few, and the best needed
    strings of any stretch of them."""
    run: frozenset[str] = _EMPTY  # the exact strings of the current stretch
    whole: frozenset[str] | None = _EMPTY
    candidates: list[frozenset[str]] = []
    for exact, needed in parts:
        if needed is not None:
            candidates.append(needed)
        if whole is not None:
            whole = None if exact is None else _product(whole, exact)
        joined = None if exact is None else _product(run, exact)
        if joined is None:  # the stretch ends: keep what it needs
            if "" not in run:
                candidates.append(run)
            run = exact if exact is not None else _EMPTY
        else:
            run = joined
    if "" not in run:
        candidates.append(run)
    return whole, max(candidates, key=_quality, default=None)


def _alternatives(branches: list[Info]) -> Info:
    exact: frozenset[str] | None = frozenset()
    for branch_exact, _ in branches:
        if exact is None or branch_exact is None:
            exact = None
        else:
            exact = exact | branch_exact
            if len(exact) > _EXACT_LIMIT:
                exact = None
    needed: frozenset[str] | None = frozenset()
    for branch in branches:
        best = _best(branch)
        if best is None or needed is None:
            return exact, None
        needed = needed | best
    return exact, needed


def _repeat(low: int, high: int, part: Info) -> Info:
    exact, _ = part
    best = _best(part) if low >= 1 else None
    if exact is None or high > 4:
        return None, best
    strings: frozenset[str] = _EMPTY if low == 0 else frozenset()
    power: frozenset[str] | None = _EMPTY
    for count in range(1, high + 1):
        power = None if power is None else _product(power, exact)
        if power is None:
            return None, best
        if count >= low:
            strings = strings | power
    if len(strings) > _EXACT_LIMIT:
        return None, best
    return strings, best


class HasPatternWords(Protocol):
    """Patterns, each with the literal words one of which its every match contains (None:
    not known): an ``Alternatives``, or a scope category (``knowledge.guards``)."""

    @property
    def pattern_words(self) -> tuple[frozenset[str] | None, ...]: ...


class Prefilter:
    """Which patterns of many ``Alternatives`` may match a text, found in one pass: a trie of
    all their words as one regex, tried at each position, finds the longest word starting there
    (the shorter words that start there are its prefixes); each word names the patterns that
    need it."""

    def __init__(self, alternatives: Iterable[HasPatternWords]) -> None:
        owners: dict[str, list[tuple[int, int]]] = {}
        for alternation in alternatives:
            for index, words in enumerate(alternation.pattern_words):
                for word in words or ():
                    owners.setdefault(word, []).append((id(alternation), index))
        self._owners = {word: tuple(owned) for word, owned in owners.items()}
        unique = sorted(owners)
        self._regex = re.compile(f"(?=({_trie(unique)}))") if unique else None
        self._prefixes = {word: tuple(word[:end] for end in range(1, len(word) + 1)
                                      if word[:end] in owners) for word in unique}

    def present(self, text: str) -> set[str]:
        """The words that occur in ``text``."""
        found: set[str] = set()
        if self._regex is not None:
            prefixes = self._prefixes
            for longest in set(self._regex.findall(text)):
                found.update(prefixes[longest])
        return found

    def candidates(self, text: str) -> Candidates:
        """For each ``Alternatives`` (by id), the patterns some of whose words are in ``text``
        (patterns without known words are not listed: they are always tried)."""
        marked: Candidates = {}
        owners = self._owners
        for word in self.present(text):
            for key, index in owners[word]:
                if key in marked:
                    marked[key].add(index)
                else:
                    marked[key] = {index}
        return marked


def _trie(words: list[str]) -> str:
    """The sorted ``words`` as a regex that matches the longest of them at a position (a
    branch goes as deep as it can before a shorter word that ends on the way counts)."""
    if words == [""]:
        return ""
    ends_here = words[0] == ""
    rest = words[1:] if ends_here else words
    branches = []
    i = 0
    while i < len(rest):
        j = i
        while j < len(rest) and rest[j][0] == rest[i][0]:
            j += 1
        branches.append(re.escape(rest[i][0]) + _trie([word[1:] for word in rest[i:j]]))
        i = j
    body = "|".join(branches)
    if ends_here:
        return f"(?:{body})?"
    return f"(?:{body})" if len(branches) > 1 else body


_LOOKAROUNDS = frozenset({"(?=", "(?!", "(?<=", "(?<!"})


def guarded(source: str) -> str:
    """``source`` with a guard before its opening lookarounds, when it opens with some:
    ``(?:(?=(?:R))L...R)`` for ``(?:L...R)``, ``L...`` lookarounds and ``R`` the rest.

    The same matches: a match of ``L...R`` at a position is one of ``R`` there (lookarounds
    consume nothing), so the guard only turns away positions the pattern fails at, and where it
    lets one through, ``L...R`` runs as before. The cost differs: a pattern that opens with
    ``(?![^.!?\n]*\b(?:nose|cold|...))`` ran that lookahead over the rest of the sentence at
    every position of a message (quadratic in a long sentence); ``R`` (``\bswell...``) fails
    at once at almost every position. Left as it is: one with a back reference or a condition
    (the guard would run ``R`` before its groups are set), a top-level ``|`` (the lookarounds
    open one branch only), a quantified lookaround, or a rest that opens with no word boundary,
    literal or group (not known to fail cheaply)."""
    if not (source.startswith("(?:") and source.endswith(")")):
        return source
    inner = source[3:-1]
    texts = _TOKEN.findall(inner)
    if "".join(texts) != inner or "(?P=" in inner or "(?(" in inner:
        return source
    depth = 0
    for text in texts:
        if text[0] == "\\" and text[1:2].isdigit():
            return source  # a back reference
        if text[0] == "(":  # "(", "(?:", "(?=", "(?" ... open a group
            depth += 1
        elif text == ")":
            depth -= 1
        if depth < 0 or (text == "|" and depth == 0):
            return source
    if depth != 0:
        return source
    index = 0
    while index < len(texts) and texts[index] in _LOOKAROUNDS:
        depth, index = 1, index + 1
        while depth and index < len(texts):
            depth += texts[index][0] == "("
            depth -= texts[index] == ")"
            index += 1
        if depth or (index < len(texts) and texts[index][0] in "?*+{"):
            return source  # unbalanced, or a quantified lookaround
    if index == 0 or index == len(texts):
        return source
    first = texts[index]
    if first != "\\b" and first not in ("(", "(?:") and first[0] in _KINDS:
        return source
    return f"(?:(?=(?:{''.join(texts[index:])})){inner})"


class Alternatives:
    """A regex that is an ordered alternation of patterns (``(?:a)|(?:b)|...``, as the rules
    join a list), each pattern with its words. Searched in a text, only the patterns some of
    whose words are there run, each compiled alone (when first needed), and their matches are
    merged the way the whole regex finds them: at each position the first pattern in the list
    that matches there, scanning on from the end of a match. A large alternation costs the
    regex engine every one of its patterns at every position of the text; most patterns cannot
    match a given message at all."""

    __slots__ = ("sources", "pattern_words", "_unknown", "_compiled")

    def __init__(self, sources: Sequence[str], memo: dict[str, Info] | None = None) -> None:
        memo = {} if memo is None else memo
        self.sources = tuple(f"(?:{source})" for source in sources)
        self.pattern_words = tuple(required_words(source, memo) for source in self.sources)
        # the patterns without known words: tried on every text
        self._unknown = frozenset(index for index, words in enumerate(self.pattern_words)
                                  if words is None)
        self._compiled: list[re.Pattern[str] | None] = [None] * len(self.sources)

    def _pattern(self, index: int) -> re.Pattern[str]:
        compiled = self._compiled[index]
        if compiled is None:  # compiling the same source twice in two threads is harmless
            compiled = self._compiled[index] = re.compile(guarded(self.sources[index]))
        return compiled

    def warm_up(self) -> None:
        """Compile every pattern now, not when a message first needs it."""
        for index in range(len(self.sources)):
            self._pattern(index)

    def _candidates(self, candidates: Candidates) -> list[int]:
        """The patterns to try, in the list's order."""
        marked = candidates.get(id(self))
        if marked is None:
            return sorted(self._unknown)
        return sorted(marked | self._unknown if self._unknown else marked)

    def spans(self, text: str, candidates: Candidates) -> list[tuple[int, int]] | None:
        """The spans ``finditer`` of the whole regex gives on ``text``, whose patterns that
        may match are ``candidates`` (``Prefilter.candidates``); None when a pattern matched
        the empty string (the whole regex then decides where the next match may start: ask
        it)."""
        patterns = [self._pattern(index) for index in self._candidates(candidates)]
        upcoming = [pattern.search(text) for pattern in patterns]
        spans: list[tuple[int, int]] = []
        while True:
            first: re.Match[str] | None = None
            for match in upcoming:  # the earliest start; the first pattern among equals
                if match is not None and (first is None or match.start() < first.start()):
                    first = match
            if first is None:
                return spans
            start, end = first.span()
            if end == start:
                return None
            spans.append((start, end))
            for i, match in enumerate(upcoming):
                if match is not None and match.start() < end:
                    upcoming[i] = patterns[i].search(text, end)

    def search(self, text: str, candidates: Candidates, pos: int, endpos: int) -> bool:
        """Whether the whole regex matches somewhere in ``text[pos:endpos]``."""
        return any(self._pattern(index).search(text, pos, endpos) is not None
                   for index in self._candidates(candidates))


class AnyOf:
    """Whether any of many patterns matches somewhere in a text: the yes or no of
    ``re.compile("|".join(sources)).search(text)``, searched with only the patterns some of
    whose words the text has, each alone (``Alternatives``, compiled when first needed). A large
    alternation makes the regex engine try every pattern at every position (an ``^`` that
    opens most of them no longer anchors the search); one that is only asked whether anything
    matches need not be searched whole."""

    __slots__ = ("_alternatives", "_prefilter")

    def __init__(self, sources: Sequence[str]) -> None:
        self._alternatives = Alternatives(sources)
        self._prefilter = Prefilter([self._alternatives])

    def search(self, text: str) -> bool:
        return self._alternatives.search(text, self._prefilter.candidates(text), 0, len(text))

    def warm_up(self) -> None:
        """Compile every pattern now, not when a text first needs it."""
        self._alternatives.warm_up()
