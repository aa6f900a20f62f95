"""Red-flag triage: decide whether a patient's message reports an emergency or urgent sign.

The rules (sign ids, tiers, patterns, day windows and the rule text staff see) are data in
``knowledge/triage.yaml``; this module loads and validates them (a malformed file fails with file,
line and reason) and runs them over one message, minding negation ("no pus"), hedging ("probably
nothing but ..."), hypothetical questions ("what if i get a fever?") and the recovery day.

Pure logic: the only I/O is reading the rules file. Typical use::

    triage = load_triage()
    decision = triage.assess("lips swelling and throat feels tight", day=0)
    if decision.escalate:
        ...  # alert staff with decision.reason
"""

from __future__ import annotations

import logging
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, NoReturn

import yaml

from knowledge.text import FILLER, STOPWORDS, Speller, clean
from knowledge.yamlfile import data_text

if TYPE_CHECKING:
    from knowledge.detectors import Detector

__all__ = [
    "CHECK",
    "EMERGENCY",
    "REVIEW",
    "URGENT",
    "Sign",
    "Triage",
    "TriageDecision",
    "TriageFileError",
    "load_triage",
]

log = logging.getLogger(__name__)

EMERGENCY = "emergency"
URGENT = "urgent"
REVIEW = "review"  # the guidance's "routine review": no alert
CHECK = "check"  # neither clearly normal nor clearly a red flag: ask a one-tap rule-out question
_TIER_RANK = {EMERGENCY: 0, URGENT: 1, REVIEW: 2, CHECK: 3}
FEVER_READING = "@fever_reading"
RAISE_MARGIN = 0.2  # a second detector overrules an urgent reading of the rules only this far
# above its own threshold
_PACKAGED_FILE = "triage.yaml"


class TriageFileError(ValueError):
    """The triage rules file is missing or malformed; names the file, the line and the reason."""

    def __init__(self, path: str, line: int | None, reason: str) -> None:
        self.path = path
        self.line = line
        self.reason = reason
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.path}: {self.reason}"
        return f"{self.path}:{self.line}: {self.reason}"


@dataclass(frozen=True)
class TriageDecision:
    """The outcome of triaging one message.

    ``urgency`` is "emergency", "urgent" or None; ``routine_review`` marks the guidance's routine
    review cases (no alert). ``sign``/``rule``/``evidence`` say what fired, for staff.
    """

    urgency: str | None = None
    sign: str | None = None
    rule: str = ""
    evidence: str = ""
    routine_review: bool = False
    day: int | None = None
    others: tuple[str, ...] = ()  # ids of other signs that also fired, most serious first
    follow_up: str | None = None  # id of the one-tap rule-out question to ask (followups.yaml)
    close_to: str = ""  # the second detector's reason: 'close to: "lips swelling" 0.83'
    detector: str = "rules"  # which detector raised the tier: "rules" or a second detector

    @property
    def escalate(self) -> bool:
        """True when staff must be alerted (emergency or urgent)."""
        return self.urgency is not None

    @property
    def reason(self) -> str:
        """One line for staff: tier, sign, rule (with the day) and the patient's words."""
        if self.sign is None:
            return f"no red flag ({_day_label(self.day)})"
        if self.urgency:
            tier = self.urgency.upper()
        else:
            tier = "ROUTINE REVIEW" if self.routine_review else "CHECK"
        text = f"{tier} {self.sign}: {self.rule}"
        if self.close_to:
            text += f"; {self.close_to}"
        if self.evidence:
            text += f'; patient said: "{self.evidence}"'
        if self.others:
            text += f"; also: {', '.join(self.others)}"
        return text


def _day_label(day: int | None) -> str:
    return "day unknown" if day is None else f"day {day}"


# ----------------------------------------------------------------------------- compiled rules


@dataclass(frozen=True)
class _Matcher:
    """A set of patterns compiled into one regex (no capturing groups: those would stop the
    regex engine's fast prefix scan). ``licensed`` are the patterns that contain a negation word
    themselves ("cant breathe"): inside their matches that word does not cancel the sign."""

    regex: re.Pattern[str] | None
    licensed: tuple[re.Pattern[str], ...]
    fever: bool

    def is_licensed(self, text: str, start: int) -> bool:
        return any(pattern.match(text, start) for pattern in self.licensed)


@dataclass(frozen=True)
class Sign:
    """One red flag: id, tier, staff rule text, day window and its patterns."""

    id: str
    tier: str
    rule: str
    day_from: int | None
    day_to: int | None
    unknown_day: bool
    primary: _Matcher
    with_groups: tuple[_Matcher, ...]
    unless: re.Pattern[str] | None
    source: str  # "file:line" of the sign, for logs
    ask: str | None = None  # the rule-out question for a "check" sign

    def applies_on(self, day: int | None) -> bool:
        """Whether this sign can fire on ``day`` (None = day unknown)."""
        if day is None:
            return self.unknown_day
        if self.day_from is not None and day < self.day_from:
            return False
        return self.day_to is None or day <= self.day_to


@dataclass(frozen=True)
class _Fever:
    celsius: float
    fahrenheit: float
    context: re.Pattern[str]
    not_after: re.Pattern[str]
    not_before: re.Pattern[str]


@dataclass(frozen=True)
class _Language:
    speller: Speller
    joke_re: re.Pattern[str]
    hyperbole_re: re.Pattern[str]
    story_present_re: re.Pattern[str]
    story_other_re: re.Pattern[str]
    story_past_re: re.Pattern[str]
    # a simple past ("my friend had hives") is a story only when the message asks about the
    # patient's own risk ("will i get that?", "just curious"); the patient's own history ("as a
    # kid", "last time ... this time") is a story whoever it is about
    story_simple_past_re: re.Pattern[str] | None
    story_asks_re: re.Pattern[str] | None
    story_self_past_re: re.Pattern[str] | None
    # figures of speech built on symptom words ("choking on the price", "dying to see results",
    # "this queue is killing me"): a hit inside one is set aside, laughing or not
    figure_re: re.Pattern[str] | None
    first_person_re: re.Pattern[str]
    hedge_re: re.Pattern[str]
    negation_re: re.Pattern[str]
    clause_re: re.Pattern[str]
    sentence_re: re.Pattern[str]
    hypothetical_re: re.Pattern[str]
    hypothetical_end_re: re.Pattern[str]
    cancelled_after_re: re.Pattern[str]


_WORDS = re.compile(r"[a-z]+")
_READING = re.compile(
    r"(?<![\w.])(\d{2,3}(?:\.\d)?)(\s*(?:°|degrees?|deg)?\s*)"
    r"(c|f|celsius|fahrenheit|centigrade)?(?![a-z0-9])"
)


def _normalise(text: str, lang: _Language) -> str:
    """The project's normaliser (knowledge/text.py), spelling corrected toward the triage
    vocabulary, hedges turned into clause breaks."""
    t = lang.speller.correct(clean(_ARROWS.sub(_arrow_word, text), punctuation=True))
    t = _NOUN_IS.sub(" is", t)  # "throat's tight" -> "throat s tight" -> "throat is tight"
    t = _strip_filler(t)
    t = lang.hedge_re.sub(" , ", t)
    t = _STACCATO.sub(r"\1 ", t)  # "cant. breathe. properly." -> "cant breathe properly."
    # a state parted from its subject by a relative clause ("the pain, which was fine the
    # first night, is now much worse"): the message is read again without the clause
    joined = _RELATIVE.sub(" ", t)
    if joined != t:
        t = f"{t} . {joined}"
    return _SPACES.sub(" ", t).strip()


# arrows written as words: "swelling ↑↑ since yday" is swelling worse, "↓" is better
_UP_ARROWS = "\u2191\u2b06\u21d1\u2197\U0001f4c8"
_DOWN_ARROWS = "\u2193\u2b07\u21d3\u2198\U0001f4c9"
_ARROWS = re.compile(f"(?:[{_UP_ARROWS}]\ufe0f?)+|(?:[{_DOWN_ARROWS}]\ufe0f?)+")


def _arrow_word(m: re.Match[str]) -> str:
    return " better " if m.group()[0] in _DOWN_ARROWS else " worse "


# discourse filler set off by commas inside a phrase ("i'm getting, honestly, quite a lot more
# pain"): the commas would split the phrase, so the filler and its commas go (any language)
_FILLER_WORDS = (
    r"honestly|frankly|basically|literally|seriously|like|you\s+know|i\s+mean|tbh|idk|"
    r"to\s+be\s+honest|(?:i\s+)?(?:dont|do\s+not)\s+know|um+|uh+|erm+|hm+|"
    r"i\s+guess|i\s+think|"
    # es pt fr de it ru uk pl tr
    r"o\s+sea|pues|bueno|tipo|sabe|genre|bref|enfin|quoi|halt|irgendwie|also|insomma|"
    r"cioe|ну|типа|короче|как\s+бы|вообще|честно|коротше|чесно|no\s+wiesz|"
    r"jakby|jakos|yani|iste|şey|sey")
_COMMA_FILLER = re.compile(
    rf"(?:^|,)\s*(?:(?:{_FILLER_WORDS})\s*,\s*)+(?:some\s+(?:kind|sort)\s+of\s*,?\s*)?")
# "some kind of" / "sort of a" is a vague "some", never a state of its own
_KIND_OF = re.compile(r"\b(?<=some )(?:kind|sort)\s+of\s*,?\s*(?=[a-z])")
# a comma before a one-word piece of the phrase
_ONE_WORD_COMMA = re.compile(r"\s*,\s*(?=[a-z]+\s*(?:,|$))")
# stacked intensifiers ("really, really, REALLY sore") are one
_STACKED = re.compile(r"\b(really|very|so|super|so+|extremely|quite)(?:\s*,?\s*\1\b)+")


def _strip_filler(t: str) -> str:
    """Filler and discourse words between the words of a phrase taken out, stacked
    intensifiers folded to one, so the rules read the phrase whole."""
    t = _STACKED.sub(r"\1", t)
    stripped = _COMMA_FILLER.sub(lambda m: " " if m.start() else "", t)
    if stripped != t:  # the rest of a phrase broken by filler: "yellow, crusty, stuff"
        stripped = _ONE_WORD_COMMA.sub(" ", stripped)
    t = stripped
    t = _KIND_OF.sub("", t)
    return t


# a run of one-word sentences is one phrase: "cant. breathe. properly."
_STACCATO = re.compile(r"(?<![\w.])([a-z]+)\.\s+(?=[a-z]+\.)")
# ", which was fine the first night," between a subject and its state
_RELATIVE = re.compile(r",\s*(?:which|who|that)\s+[^,.!?;\n]{3,60},"
                       r"(?=\s*(?:is|are|was|were|has|have|had|now|still|seems?|looks?|feels?|"
                       r"keeps?|getting|gets|got)\b)")


_SPACES = re.compile(r"[ \t\r\f\v]+")
_NOUN_IS = re.compile(r"(?<=[a-z]) s\b")
# negation words that report an inability ("cant swallow"): a clause with one is still live
_INABILITY = frozenset({"cant", "cannot", "couldnt", "wont", "can not"})
# a denied list ("no fever, swelling or pus"): how it opens, what its items may not contain,
# how it ends
_LIST_HEAD = re.compile(
    r"\b(?:no|not|nothing|never|without|none|zero|neither|nor)\s+(?!(?:good|great|ok|okay|well|"
    r"fine|right|normal|nice|happy|sure|really|too|very|so|feeling|doing|looking|much|bad|that)"
    r"\b)[a-z]+(?:\s+[a-z]+){0,2}$")
_LIST_VERB = re.compile(
    r"\b(?:i|im|ive|my|she|shes|he|hes|they|theyre|it|its|is|are|was|were|has|have|had|got|"
    r"feels?|felt|looks?|seems?|getting|gets|keeps?|started|starting|still|now|but|just)\b")
_LIST_END = re.compile(r"\b(?:(?:or|nor)(?!\s+(?:something|anything|whatever|so|what)\b)|no|"
                       r"nothing|none|never)\b")


class _Hit(NamedTuple):
    """One match: its span and whether a negation word inside it is part of the pattern."""

    start: int
    end: int
    licensed: bool


class _Message:
    """One normalised message with its clauses, negation words and hypothetical spans."""

    def __init__(self, raw: str, lang: _Language, fever: _Fever) -> None:
        self.lang = lang
        self.fever_rules = fever
        self.text = _normalise(raw, lang)
        self.clause_starts, self.clause_ends = self._clauses()
        self.sentence_starts = [0, *(m.end() for m in lang.sentence_re.finditer(self.text))]
        self.set_aside: dict[str, str] = {}  # why a hit did not count: "joke", "story"
        self.asked_about: list[str] = []  # rule-out questions of signs only asked about
        self.negations = [m.start() for m in lang.negation_re.finditer(self.text)]
        self.hypotheticals = self._hypotheticals()
        self.figures = ([m.span() for m in lang.figure_re.finditer(self.text)]
                        if lang.figure_re is not None else [])
        self.list_negated = self._list_negations()
        self._fever_hits: list[_Hit] | None = None
        self.matches: dict[int, list[tuple[int, int]]] = {}  # id(regex) -> spans, found once

    def _clauses(self) -> tuple[list[int], list[int]]:
        starts, ends = [0], []
        for m in self.lang.clause_re.finditer(self.text):
            ends.append(m.start())
            starts.append(m.end())
        ends.append(len(self.text))
        return starts, ends

    def _list_negations(self) -> set[int]:
        """Clauses denied by a list's negation: "no fever, swelling or pus" is one denial
        split by its commas. A list starts with a clause that opens with a negation word, goes
        on with short clauses (at most four words, no verb of their own) and must end with
        "or"/"nor" (or each item is denied again: "nothing weeping, nothing yellow"), so "no
        fever, lips swollen" keeps its second clause."""
        text = self.text
        denied: set[int] = set()
        count = len(self.clause_starts)
        i = 0
        while i < count:
            first = text[self.clause_starts[i]:self.clause_ends[i]].strip(" .,;:!?()-")
            if not _LIST_HEAD.search(first):
                i += 1
                continue
            sentence_end = self.sentence(self.clause_starts[i])[1]
            items: list[int] = []
            j = i + 1
            while j < count and self.clause_starts[j] < sentence_end:
                item = text[self.clause_starts[j]:self.clause_ends[j]].strip(" .,;:!?()-")
                if not item or len(item.split()) > 4 or _LIST_VERB.search(item):
                    break
                items.append(j)
                if _LIST_END.search(item):
                    denied.update(items)
                    break
                j += 1
            i = j if j > i else i + 1
        return denied

    def _hypotheticals(self) -> list[tuple[int, int]]:
        spans = []
        text = self.text
        for m in self.lang.hypothetical_re.finditer(text):
            brk = self.lang.sentence_re.search(text, m.end())
            end = brk.start() if brk else len(text)
            stop = self.lang.hypothetical_end_re.search(text, m.end(), end)
            spans.append((m.start(), stop.start() if stop else end))
        return spans

    def clause(self, pos: int) -> tuple[int, int]:
        i = bisect_right(self.clause_starts, pos) - 1
        return self.clause_starts[i], self.clause_ends[i]

    def sentence(self, pos: int) -> tuple[int, int]:
        i = bisect_right(self.sentence_starts, pos) - 1
        end = self.sentence_starts[i + 1] if i + 1 < len(self.sentence_starts) else len(self.text)
        return self.sentence_starts[i], end

    def not_literal(self, pos: int, hit_end: int | None = None) -> str | None:
        """"joke" when the sentence laughs ("haha", "lol"), "story" when it tells of someone
        else's past reaction ("my friend had hives after hers last year"), else None."""
        lang, text = self.lang, self.text
        start, end = self.sentence(pos)
        hyperbole = (lang.hyperbole_re.match(text, pos) if hit_end is None
                     else lang.hyperbole_re.search(text, pos, hit_end))
        if hyperbole and lang.joke_re.search(text, start, end):
            return "joke"
        if self.in_figure(pos, pos + 1 if hit_end is None else hit_end):
            return "figure"
        if lang.story_present_re.search(text, start, end):
            return None
        if lang.story_self_past_re is not None and lang.story_self_past_re.search(
                text, start, end):
            return "story"
        if lang.story_other_re.search(text, start, end) and (
                lang.story_past_re.search(text, start, end) or self.simple_past_asks(start, end)):
            clause_start, clause_end = self.clause(pos)
            if not lang.first_person_re.search(text, clause_start, clause_end):
                return "story"
        return None

    def simple_past_asks(self, start: int, end: int) -> bool:
        """A simple past in the sentence and a question about the patient's own risk anywhere
        in the message ("my nephew reacted to peanuts. does the cream have nuts?")."""
        lang = self.lang
        if lang.story_simple_past_re is None or lang.story_asks_re is None:
            return False
        return bool(lang.story_simple_past_re.search(self.text, start, end)
                    and lang.story_asks_re.search(self.text))

    def in_figure(self, start: int, end: int) -> bool:
        """Whether [start, end) overlaps a figure of speech ("choking on the price")."""
        return any(f_start < end and start < f_end for f_start, f_end in self.figures)

    def live_clauses(self) -> list[str]:
        """Clauses that report something: not hypothetical, not a joke or a story, and not
        negated (an inability word such as "cant" is a report, "no"/"not" is a denial). What a
        second detector reads."""
        lang, text = self.lang, self.text
        live = []
        for index, (start, end) in enumerate(zip(self.clause_starts, self.clause_ends,
                                                 strict=False)):
            if index in self.list_negated:
                continue
            # a hypothetical that starts inside the clause ("just in case i cant breathe
            # tonight") is left out of what the second detector reads, like a figure
            clause = self.without_figures(start, end, self.hypotheticals).strip(" .,;:!?()-")
            if clause != text[start:end].strip(" .,;:!?()-") and _only_function_words(clause):
                continue  # what a figure left behind ("i almost" of "i almost choked at ...")
            lead = start + len(text[start:end]) - len(text[start:end].lstrip(" .,;:!?()-"))
            if not clause or self.hypothetical(start) or self.hypothetical(lead):
                continue
            words = set(lang.negation_re.findall(clause))
            if words - _INABILITY:
                continue
            s_start, s_end = self.sentence(start)
            if lang.joke_re.search(text, s_start, s_end) and lang.hyperbole_re.search(clause):
                continue
            if self.not_literal(start) == "story":
                continue
            live.append(clause)
        return live

    def without_figures(self, start: int, end: int,
                        also: list[tuple[int, int]] | None = None) -> str:
        """The text of [start, end) with any figure of speech (and any span of ``also``) in
        it left out."""
        parts, at = [], start
        for f_start, f_end in sorted([*self.figures, *(also or ())]):
            if f_end <= start or f_start >= end:
                continue
            parts.append(self.text[at:max(at, f_start)])
            at = max(at, f_end)
        parts.append(self.text[at:end] if at < end else "")
        return " ".join(part.strip() for part in parts if part.strip())

    def hypothetical(self, pos: int) -> bool:
        return any(start <= pos < end for start, end in self.hypotheticals)

    def negated(self, hit: _Hit, clause_start: int) -> bool:
        """A negation word earlier in the clause, or inside an unlicensed match, cancels it;
        so does a list's negation ("no fever, swelling or pus")."""
        if bisect_right(self.clause_starts, hit.start) - 1 in self.list_negated:
            return True
        i = bisect_left(self.negations, clause_start)
        limit = hit.start if hit.licensed else hit.end
        return i < len(self.negations) and self.negations[i] < limit

    def fever_hits(self) -> list[_Hit]:
        if self._fever_hits is None:
            self._fever_hits = list(_fever_readings(self.text, self.fever_rules))
        return self._fever_hits

    def evidence(self, hit: _Hit) -> str:
        """The matched words with one word before and two after, within the same clause."""
        clause_start, clause_end = self.clause(hit.start)
        before = self.text[clause_start : hit.start].split()[-1:]
        after = self.text[hit.end : max(clause_end, hit.end)].split()[:2]
        words = " ".join([*before, self.text[hit.start : hit.end], *after])
        return words.strip(" ,.;:!?-")


# degree words a figure of speech leaves behind ("i almost", "honestly nearly")
_DEGREE = frozenset({"almost", "nearly", "honestly", "literally", "totally", "practically",
                     "seriously", "genuinely", "actually", "when", "could", "would", "have"})


def _only_function_words(clause: str) -> bool:
    """Whether ``clause`` has no word of its own: function, filler and degree words only."""
    return all(word in STOPWORDS or word in FILLER or word in _DEGREE
               for word in _WORDS.findall(clause))


def _fever_readings(text: str, rules: _Fever) -> Iterator[_Hit]:
    """Temperatures at or above the fever thresholds: "38.5", "38,5c", "101f", "temp of 39"."""
    for m in _READING.finditer(text):
        number, between, unit = m.group(1), m.group(2), m.group(3)
        marked = bool(unit) or "°" in between or "º" in between or "deg" in between
        if not marked:
            if rules.not_after.match(text, m.end()) or rules.not_before.search(text, 0, m.start()):
                continue
            if "." not in number and not rules.context.search(text):
                continue
        if _is_fever(float(number), unit, rules):
            yield _Hit(m.start(), m.end(), licensed=False)


def _is_fever(value: float, unit: str | None, rules: _Fever) -> bool:
    if unit:
        scale = unit[0]
    elif 34 <= value <= 44:
        scale = "c"
    elif 93 <= value <= 110:
        scale = "f"
    else:
        return False
    if scale == "c":
        return rules.celsius <= value <= 45
    return rules.fahrenheit <= value <= 113


# ----------------------------------------------------------------------------- the engine


class Triage:
    """Loaded triage rules; ``assess`` classifies one message for a recovery day."""

    def __init__(self, signs: tuple[Sign, ...], lang: _Language, fever: _Fever, path: str,
                 detectors: tuple[Detector, ...] = ()) -> None:
        self.signs = signs
        self.path = path
        self._lang = lang
        self._fever = fever
        self.detectors = detectors
        self._by_id = {sign.id: sign for sign in signs}

    @property
    def sign_ids(self) -> tuple[str, ...]:
        return tuple(sign.id for sign in self.signs)

    def sign(self, sign_id: str) -> Sign | None:
        return self._by_id.get(sign_id)

    def english_share(self, text: str) -> float:
        """How English ``text`` reads to the triage speller (0..1), typos of its words counted."""
        return self._lang.speller.english_share(text)

    def with_detectors(self, detectors: tuple[Detector, ...]) -> Triage:
        """The same rules with second detectors (any of which can raise the alarm)."""
        return Triage(self.signs, self._lang, self._fever, self.path, detectors)

    def assess(self, text: str, day: int | None) -> TriageDecision:
        """Classify ``text`` sent on recovery ``day`` (None when the day is unknown)."""
        message = _Message(text or "", self._lang, self._fever)
        # Each sign's patterns are one compiled regex, searched once per message (matches are
        # cached on the message); no extra all-signs regex: compiling it cost start-up time.
        fired: list[tuple[Sign, list[_Hit]]] = []
        for sign in self.signs:
            if not sign.applies_on(day):
                continue
            hits = self._fire(sign, message)
            if hits is not None:
                fired.append((sign, hits))
        decision = self._decide(fired, message, day)
        if self.detectors and decision.urgency != EMERGENCY:
            decision = self._second_opinion(decision, message, day)
        if decision.sign is not None:
            log.debug("triage: %s", decision.reason)
        return decision

    def _second_opinion(self, decision: TriageDecision, message: _Message,
                        day: int | None) -> TriageDecision:
        """Let each second detector raise the tier (never lower it), clause by clause."""
        clauses = message.live_clauses()
        if not clauses:
            return decision
        for detector in self.detectors:
            finding = detector.detect(clauses, day)
            if finding is None:
                continue
            if decision.urgency is not None and (
                    _TIER_RANK[finding.tier] >= _TIER_RANK[decision.urgency]):
                continue
            # the rules already read an urgent sign: overruling their reading to emergency
            # takes a clearly closer phrase ("blurry in one eye" is near "cant see out of one
            # eye", and is the rules' urgent eye sign)
            if decision.urgency is not None and finding.score < min(
                    getattr(detector, "threshold", 0.0) + RAISE_MARGIN, 0.95):
                continue
            sign = self._by_id.get(finding.sign)
            if sign is not None and not sign.applies_on(day):
                continue
            rule = sign.rule if sign is not None else finding.sign.replace("_", " ")
            decision = TriageDecision(
                urgency=finding.tier, sign=finding.sign, rule=f"{rule} ({_day_label(day)})",
                evidence=finding.clause, day=day,
                others=(decision.sign,) if decision.sign else (),
                close_to=finding.reason, detector=finding.detector)
        return decision

    def _decide(
        self, fired: list[tuple[Sign, list[_Hit]]], message: _Message, day: int | None
    ) -> TriageDecision:
        if not fired:
            # a red flag only asked about ("is pus ever normal?", "what if my lips swell?"):
            # no alert, but the rule-out question of its most serious sign
            asked = message.asked_about[0] if message.asked_about else None
            return TriageDecision(day=day, follow_up=asked)
        fired.sort(key=lambda item: _TIER_RANK[item[0].tier])  # stable: file order within a tier
        sign, hits = fired[0]
        evidence = " + ".join(dict.fromkeys(message.evidence(hit) for hit in hits))
        follow_up = None
        if sign.tier in (REVIEW, CHECK):
            follow_up = next((s.ask for s, _ in fired if s.tier == CHECK and s.ask), None)
        return TriageDecision(
            urgency=sign.tier if sign.tier in (EMERGENCY, URGENT) else None,
            sign=sign.id,
            rule=f"{sign.rule} ({_day_label(day)})",
            evidence=evidence,
            routine_review=sign.tier == REVIEW,
            day=day,
            others=tuple(dict.fromkeys(other.id for other, _ in fired[1:])),
            follow_up=follow_up,
        )

    def _fire(self, sign: Sign, message: _Message) -> list[_Hit] | None:
        hit = self._first_valid(sign.primary, message, sign.unless, check_after=True)
        if hit is None:
            if sign.ask and any(
                    message.hypothetical(h.start) for h in _hits(sign.primary, message)):
                message.asked_about.append(sign.ask)  # "what if my lips swell?"
            return None
        hits = [hit]
        for group in sign.with_groups:
            extra = self._first_valid(group, message, None, check_after=False)
            if extra is None:
                return None
            hits.append(extra)
        return hits

    def _first_valid(
        self,
        matcher: _Matcher,
        message: _Message,
        unless: re.Pattern[str] | None,
        check_after: bool,
    ) -> _Hit | None:
        for hit in _hits(matcher, message):
            if self._valid(hit, message, unless, check_after):
                return hit
        return None

    def _valid(
        self, hit: _Hit, message: _Message, unless: re.Pattern[str] | None, check_after: bool
    ) -> bool:
        if message.hypothetical(hit.start):
            return False
        if hit.start >= hit.end:
            return False
        clause_start, clause_end = message.clause(hit.start)
        if message.negated(hit, clause_start):
            return False
        why = message.not_literal(hit.start, hit.end)
        if why is not None:
            message.set_aside[why] = message.evidence(hit)
            return False
        text = message.text
        after = self._lang.cancelled_after_re
        if check_after and hit.end < clause_end and after.match(text, hit.end, clause_end):
            return False
        if unless is None:
            return True
        # an exception starts in the hit's clause; its lookaheads see the rest of the sentence
        # ("i get cold sores and i can feel one starting now" lifts the history; "a cold sore
        # now and my appointment is tomorrow" is a booking matter)
        end = max(clause_end, hit.end)
        sentence_end = max(message.sentence(hit.start)[1], end)
        found = unless.search(text, clause_start, end)
        if found is not None:  # still an exception when its lookaheads see the sentence?
            return unless.match(text, found.start(), sentence_end) is None
        for later in unless.finditer(text, clause_start, sentence_end):
            if later.start() >= end:
                break
            if later.end() <= end:  # inside the clause, with a lookahead past it
                return False
        return True


def _hits(matcher: _Matcher, message: _Message) -> Iterator[_Hit]:
    """Matches in text order (pattern matches and, if asked for, fever readings)."""
    hits: Iterator[_Hit] = iter(())
    text = message.text
    if matcher.regex is not None:
        spans = message.matches.get(id(matcher.regex))
        if spans is None:
            spans = [m.span() for m in matcher.regex.finditer(text)]
            message.matches[id(matcher.regex)] = spans
        hits = (_Hit(start, end, licensed=matcher.is_licensed(text, start)) for start, end in spans)
    if not matcher.fever:
        return hits
    return iter(sorted([*hits, *message.fever_hits()], key=lambda hit: hit.start))


# ----------------------------------------------------------------------------- loading


def load_triage(path: str | Path | None = None) -> Triage:
    """Load triage rules: the packaged ``knowledge/triage.yaml``, or the file at ``path``.

    Raises TriageFileError (a ValueError) naming the file, line and reason when it is malformed.
    """
    try:
        name, text = data_text(_PACKAGED_FILE, path)
    except OSError as exc:
        raise TriageFileError(
            str(path), None, f"cannot read the file ({exc.strerror or exc})"
        ) from exc
    triage = _RulesParser(name).parse(text)
    log.info("loaded %d triage signs from %s", len(triage.signs), name)
    return triage


_ID_RE = re.compile(r"[a-z][a-z0-9_]*\Z")
_VOCAB_REF = re.compile(r"<([a-z_]+)>")
_FORBIDDEN_IN_PATTERN = re.compile(r"\(\?P[<=]|\\[1-9]")
_ESCAPES = re.compile(r"\\[a-zA-Z]")  # "\bnot\s" -> " not " so negation words are seen
_STR_TAG = "tag:yaml.org,2002:str"
_TOP_KEYS = {"version", "fever", "language", "vocab", "signs"}
_LANGUAGE_KEYS = {
    "vocabulary",
    "jokes",
    "story",
    "hedges",
    "negations",
    "clause_breaks",
    "sentence_breaks",
    "hypothetical",
    "hypothetical_ends",
    "cancelled_after",
}
_FEVER_KEYS = {"celsius", "fahrenheit", "context", "not_after", "not_before"}
_SIGN_REQUIRED = {"id", "tier", "rule", "patterns"}
_SIGN_OPTIONAL = {"days", "unknown_day", "with", "unless", "note", "ask"}
_STORY_KEYS = {"present", "others", "past", "first_person"}
_STORY_OPTIONAL = {"simple_past", "asks", "self_past"}


class _RulesParser:
    """Turns the YAML node tree into compiled rules, failing with the line of the bad node."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.vocab: dict[str, str] = {}
        self.negation_re: re.Pattern[str] | None = None

    def fail(self, node: yaml.Node | None, reason: str) -> NoReturn:
        line = node.start_mark.line + 1 if node is not None else None
        raise TriageFileError(self.path, line, reason)

    # -- entry point
    def parse(self, text: str) -> Triage:
        try:
            root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else None
            raise TriageFileError(self.path, line, f"invalid YAML: {exc.problem}") from exc
        except yaml.YAMLError as exc:
            raise TriageFileError(self.path, None, f"invalid YAML: {exc}") from exc
        if root is None:
            raise TriageFileError(self.path, 1, "the file is empty")
        top = self.mapping(root, "the file", _TOP_KEYS, set())
        self.version(top["version"])
        self.vocab = self.parse_vocab(top["vocab"])
        lang = self.parse_language(top["language"])
        fever = self.parse_fever(top["fever"])
        signs = self.parse_signs(top["signs"])
        return Triage(signs, lang, fever, self.path)

    def version(self, node: yaml.Node) -> None:
        if self.integer(node, "version") != 1:
            self.fail(node, "unsupported version (expected 1)")

    # -- sections
    def parse_vocab(self, node: yaml.Node) -> dict[str, str]:
        vocab: dict[str, str] = {}
        for key_node, value_node in self.pairs(node, "vocab"):
            name = key_node.value
            if not re.fullmatch(r"[a-z_]+", name):
                self.fail(key_node, f"vocab name {name!r} must be lowercase letters and _")
            self.vocab = vocab  # earlier entries may be used by later ones
            vocab[name] = self.regex_source(value_node, f"vocab {name!r}")
        return vocab

    def parse_language(self, node: yaml.Node) -> _Language:
        section = self.mapping(node, "language", _LANGUAGE_KEYS, set())
        vocabulary = self.parse_vocabulary(section["vocabulary"])
        negation_re = self.regex_list(section["negations"], "negations")
        self.negation_re = negation_re
        story = self.mapping(section["story"], "story", _STORY_KEYS, _STORY_OPTIONAL)
        jokes = self.mapping(section["jokes"], "jokes", {"markers", "hyperbole"}, {"figures"})
        return _Language(
            speller=Speller(vocabulary),
            joke_re=self.regex_list(jokes["markers"], "jokes.markers"),
            hyperbole_re=self.regex_list(jokes["hyperbole"], "jokes.hyperbole"),
            story_present_re=self.regex_list(story["present"], "story.present"),
            story_other_re=self.regex_list(story["others"], "story.others"),
            story_past_re=self.regex_list(story["past"], "story.past"),
            first_person_re=self.regex_list(story["first_person"], "story.first_person"),
            story_simple_past_re=self.optional_list(story, "simple_past", "story"),
            story_asks_re=self.optional_list(story, "asks", "story"),
            story_self_past_re=self.optional_list(story, "self_past", "story"),
            figure_re=self.optional_list(jokes, "figures", "jokes"),
            hedge_re=self.regex_list(section["hedges"], "hedges"),
            negation_re=negation_re,
            clause_re=self.regex_list(section["clause_breaks"], "clause_breaks"),
            sentence_re=self.regex_list(section["sentence_breaks"], "sentence_breaks"),
            hypothetical_re=self.regex_list(section["hypothetical"], "hypothetical"),
            hypothetical_end_re=self.regex_list(section["hypothetical_ends"], "hypothetical_ends"),
            cancelled_after_re=self.compile(
                self.regex_source(section["cancelled_after"], "cancelled_after"),
                section["cancelled_after"],
                "cancelled_after",
            ),
        )

    def parse_vocabulary(self, node: yaml.Node) -> list[str]:
        words: list[str] = []
        for item in self.sequence(node, "vocabulary"):
            word = self.string(item, "a vocabulary word").strip().lower()
            if not re.fullmatch(r"[a-z]+", word):
                self.fail(item, f"vocabulary word {word!r} must be lowercase letters only")
            words.append(word)
        if not words:
            self.fail(node, "vocabulary must list at least one word")
        return words

    def parse_fever(self, node: yaml.Node) -> _Fever:
        section = self.mapping(node, "fever", _FEVER_KEYS, set())
        return _Fever(
            celsius=self.number(section["celsius"], "fever.celsius"),
            fahrenheit=self.number(section["fahrenheit"], "fever.fahrenheit"),
            context=self.regex_one(section["context"], "fever.context"),
            not_after=self.regex_one(section["not_after"], "fever.not_after"),
            not_before=self.regex_one(section["not_before"], "fever.not_before"),
        )

    def parse_signs(self, node: yaml.Node) -> tuple[Sign, ...]:
        items = self.sequence(node, "signs")
        if not items:
            self.fail(node, "signs must not be empty")
        signs: list[Sign] = []
        seen: set[str] = set()
        for item in items:
            sign = self.parse_sign(item)
            if sign.id in seen:
                self.fail(item, f"duplicate sign id {sign.id!r}")
            seen.add(sign.id)
            signs.append(sign)
        return tuple(signs)

    def parse_sign(self, node: yaml.Node) -> Sign:
        fields = self.mapping(node, "a sign", _SIGN_REQUIRED, _SIGN_OPTIONAL)
        sign_id = self.string(fields["id"], "id")
        if not _ID_RE.match(sign_id):
            self.fail(fields["id"], f"sign id {sign_id!r} must match [a-z][a-z0-9_]*")
        tier = self.string(fields["tier"], "tier")
        if tier not in _TIER_RANK:
            self.fail(
                fields["tier"],
                f"unknown tier {tier!r} (expected emergency, urgent, review or check)",
            )
        day_from, day_to = self.parse_days(fields.get("days"))
        unknown_day = True
        if "unknown_day" in fields:
            unknown_day = self.boolean(fields["unknown_day"], "unknown_day")
        with_groups: tuple[_Matcher, ...] = ()
        if "with" in fields:
            with_groups = tuple(
                self.matcher(group, f"{sign_id}: with")
                for group in self.sequence(fields["with"], "with")
            )
        unless = None
        if "unless" in fields:
            unless = self.regex_list(fields["unless"], f"{sign_id}: unless")
        ask = self.string(fields["ask"], "ask") if "ask" in fields else None
        if tier == CHECK and ask is None:
            self.fail(node, f"sign {sign_id!r} of tier check needs 'ask' (a follow-up id)")
        return Sign(
            id=sign_id,
            tier=tier,
            rule=self.string(fields["rule"], "rule"),
            day_from=day_from,
            day_to=day_to,
            unknown_day=unknown_day,
            primary=self.matcher(fields["patterns"], f"{sign_id}: patterns"),
            with_groups=with_groups,
            unless=unless,
            source=f"{self.path}:{node.start_mark.line + 1}",
            ask=ask,
        )

    def parse_days(self, node: yaml.Node | None) -> tuple[int | None, int | None]:
        if node is None:
            return None, None
        days = self.mapping(node, "days", set(), {"from", "to"})
        if not days:
            self.fail(node, "days needs 'from' and/or 'to'")
        start = self.integer(days["from"], "days.from") if "from" in days else None
        end = self.integer(days["to"], "days.to") if "to" in days else None
        for value, key in ((start, "from"), (end, "to")):
            if value is not None and value < 0:
                self.fail(days[key], f"days.{key} must be 0 or more")
        if start is not None and end is not None and end < start:
            self.fail(node, f"days.to ({end}) is before days.from ({start})")
        return start, end

    # -- patterns
    def matcher(self, node: yaml.Node, what: str) -> _Matcher:
        items = self.sequence(node, what)
        if not items:
            self.fail(node, f"{what} must list at least one pattern")
        sources: list[tuple[str, yaml.Node]] = []
        licensed: list[re.Pattern[str]] = []
        fever = False
        for item in items:
            source = self.regex_source(item, what)
            if source == FEVER_READING:
                fever = True
                continue
            sources.append((source, item))
            if self.negation_re is not None and self.negation_re.search(_ESCAPES.sub(" ", source)):
                licensed.append(self.compile(source, item, what))
        regex = self.combined(sources, node, what) if sources else None
        return _Matcher(regex=regex, licensed=tuple(licensed), fever=fever)

    def combined(self, sources: list[tuple[str, yaml.Node]], node: yaml.Node,
                 what: str) -> re.Pattern[str]:
        """One regex of all ``sources``; compiled once (start-up time), and only when that
        fails each one alone, to name the line of the bad one."""
        try:
            return re.compile("|".join(f"(?:{source})" for source, _ in sources))
        except re.error:
            for source, item in sources:
                self.compile(source, item, what)
            return self.compile("|".join(f"(?:{source})" for source, _ in sources), node, what)

    def regex_list(self, node: yaml.Node, what: str) -> re.Pattern[str]:
        items = self.sequence(node, what)
        if not items:
            self.fail(node, f"{what} must list at least one pattern")
        return self.combined([(self.regex_source(item, what), item) for item in items], node,
                             what)

    def optional_list(self, section: dict[str, yaml.Node], key: str,
                      what: str) -> re.Pattern[str] | None:
        return self.regex_list(section[key], f"{what}.{key}") if key in section else None

    def regex_one(self, node: yaml.Node, what: str) -> re.Pattern[str]:
        return self.compile(self.regex_source(node, what), node, what)

    def regex_source(self, node: yaml.Node, what: str) -> str:
        source = self.string(node, what)
        if source == FEVER_READING:
            return source
        if _FORBIDDEN_IN_PATTERN.search(source):
            self.fail(node, f"{what}: named groups and backreferences are not allowed")

        def expand(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in self.vocab:
                self.fail(node, f"{what}: unknown vocab name <{name}>")
            return f"(?:{self.vocab[name]})"

        return _VOCAB_REF.sub(expand, source)

    def compile(self, source: str, node: yaml.Node, what: str) -> re.Pattern[str]:
        try:
            return re.compile(source)
        except re.error as exc:
            self.fail(node, f"{what}: bad regular expression ({exc.msg}): {source[:80]!r}")

    # -- YAML node helpers
    def mapping(
        self, node: yaml.Node, what: str, required: set[str], optional: set[str]
    ) -> dict[str, yaml.Node]:
        result: dict[str, yaml.Node] = {}
        allowed = required | optional
        for key_node, value_node in self.pairs(node, what):
            key = key_node.value
            if key not in allowed:
                expected = ", ".join(sorted(allowed))
                self.fail(key_node, f"unknown key {key!r} in {what} (expected: {expected})")
            result[key] = value_node
        missing = sorted(required - result.keys())
        if missing:
            self.fail(node, f"{what} is missing {', '.join(repr(m) for m in missing)}")
        return result

    def pairs(self, node: yaml.Node, what: str) -> list[tuple[yaml.ScalarNode, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            self.fail(node, f"{what} must be a mapping")
        seen: set[str] = set()
        pairs = []
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.fail(key_node, f"keys in {what} must be plain text")
            if key_node.value in seen:
                self.fail(key_node, f"duplicate key {key_node.value!r} in {what}")
            seen.add(key_node.value)
            pairs.append((key_node, value_node))
        return pairs

    def sequence(self, node: yaml.Node, what: str) -> list[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode):
            self.fail(node, f"{what} must be a list")
        return list(node.value)

    def string(self, node: yaml.Node, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.tag != _STR_TAG or not node.value.strip():
            self.fail(node, f"{what} must be non-empty text")
        return str(node.value)

    def integer(self, node: yaml.Node, what: str) -> int:
        if not isinstance(node, yaml.ScalarNode) or node.tag != "tag:yaml.org,2002:int":
            self.fail(node, f"{what} must be a whole number")
        return int(node.value)

    def number(self, node: yaml.Node, what: str) -> float:
        tags = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
        if not isinstance(node, yaml.ScalarNode) or node.tag not in tags:
            self.fail(node, f"{what} must be a number")
        return float(node.value)

    def boolean(self, node: yaml.Node, what: str) -> bool:
        if not isinstance(node, yaml.ScalarNode) or node.tag != "tag:yaml.org,2002:bool":
            self.fail(node, f"{what} must be true or false")
        return node.value.lower() in ("true", "yes", "on")
