"""Red flags in other languages: per-language sign lexicons read with tolerant matching.

Each supported language has a data file ``knowledge/languages/<code>.yaml`` with its sign
lexicon (phrases mapped onto the English sign ids of ``knowledge/triage.yaml``, so tier, day
window and the rule text staff see come from the English rules), its negation, hedge,
hypothetical and clause words, chat shorthand, and the patient-facing templates.

How a message is read in one language:

1. fold: Unicode NFKD with accents and diacritics dropped (``hinchazón`` -> ``hinchazon``,
   ``ё`` -> ``е``, ``ł`` -> ``l``, ``ı`` -> ``i``, ``ß`` -> ``ss``); Arabic loses its short vowels
   and tatweel, its alef/hamza variants are unified and ``ى``/``ة`` become ``ي``/``ه``; letters
   typed three or more times are cut to two; Arabic-Indic digits become ASCII.
2. split into words (with their place in the original text, for the evidence staff see) and
   clauses (punctuation and the language's ``clause_words``); ``shorthand`` expands chat words
   ("q" -> "que"), ``hedges`` ("no sé si") become clause breaks so their negation cancels nothing.
3. each word is compared with the lexicon's words: exactly, as a prefix (``hinch*`` matches
   ``hinchados``) or, for words of five letters or more, within one edit (a dropped, doubled,
   swapped or wrong letter: ``respirrar``), unless the word is listed in ``not_typos`` (a
   real word one letter from a lexicon word: German "bekommen" is not "benommen"). Arabic
   words are also tried without their attached conjunction and article (``والشفايف`` ->
   ``شفايف``).
4. a phrase matches when every slot is found in one clause, in any order, within a span of its
   length plus three words ("la mejilla está más caliente" matches ``mejilla caliente``); a
   phrase written ``far: ...`` may have its words anywhere in the clause ("me arde la cara
   desde que me puse el sérum").
5. a match is cancelled by a negation word up to four words before it or between its words
   (unless the phrase contains that word itself: "no puedo respirar"), by a ``negations_after``
   word just after it ("температуры нет"), by a negative verb form (``negative_suffix``:
   Turkish ``şişmedi``), by a ``resolved`` word in the clause ("ha bajado"), or by a
   ``hypothetical`` marker earlier in the clause ("qué hago si ...").
6. the sign must apply on the recovery day (the English sign's day window); the most serious
   sign wins, as in English.

Pure logic: the only I/O is reading the data files.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from rapidfuzz.distance import OSA

from knowledge.catalogue import Catalogue
from knowledge.errors import KBError, ProblemCollector
from knowledge.language import ENGLISH, Detection, LanguageDetector
from knowledge.text import strip_accents
from knowledge.triage import EMERGENCY, URGENT, Sign, TriageDecision
from knowledge.yamlfile import DataFileError, LineDict, LineList, Yaml, read_yaml

__all__ = [
    "LANGUAGES_DIR",
    "ForeignReading",
    "LanguagePack",
    "Lexicons",
    "Multilingual",
    "Reading",
    "fold",
    "load_lexicons",
]

LANGUAGES_DIR = Path(__file__).parent / "languages"
FEVER_SIGN = "fever"
SYSTEMIC_SIGN = "fever_with_systemic_signs"
TEMPLATE_KEYS = ("emergency", "urgent", "forwarded", "english_only", "smalltalk")
# clinic hours (optional ``hours`` section): sentences for when the clinic is closed, and the
# words to name the next opening ("Monday 30 November at 09:00 (your time)")
HOURS_TEXTS = ("urgent_closed", "urgent_closed_oncall", "handoff_closed", "fallback_contact",
               "fallback_default", "when", "zone_yours", "zone_clinic")
HOURS_LISTS = {"weekdays": 7, "months": 12}
_HOURS_VALUES = {"opening": "o", "fallback": "f", "contact": "c", "weekday": "w", "day": 1,
                 "month": "m", "time": "09:00", "zone": "z"}
_TIER_RANK = {EMERGENCY: 0, URGENT: 1}
# languages written in Latin script, and the most English an unaccented message may read for
# their lexicons to look at it when the detector said English (``read_unaccented``)
LATIN_SCRIPT = frozenset({"es", "pt", "fr", "de", "it", "pl", "tr"})
UNACCENTED_ENGLISH_SHARE = 0.5
_NEGATION_WINDOW = 4
_AFTER_WINDOW = 2
_FIGURE_WINDOW = 3  # a figure of speech within three words before or after a match
_EXTRA_SPAN = 3
_MIN_FUZZY = 5
_FAR_SPAN = 40
# "a bit red still" on day 5+ is the guidance's routine review, not strong redness
_MILD_CANCELS = frozenset(["redness_lasting", "swelling_lasting"])
# the signs whose words are a hyperbole of delight ("je pourrais m'évanouir tellement c'est
# beau"): set aside in a sentence that praises how the skin looks (a pack's ``delight``)
_DELIGHT_SIGNS = frozenset(["collapse_or_confusion"])

# ----------------------------------------------------------------------------- folding

_SPECIAL = str.maketrans({
    "ł": "l", "Ł": "l", "ı": "i", "ß": "ss", "ø": "o", "æ": "ae", "œ": "oe", "đ": "d",
    "ى": "ي", "ة": "ه", "ـ": "", "’": "'", "‘": "'", "`": "'", "´": "'", "ʼ": "'",
    "٫": ".", "،": ",", "؛": ";", "؟": "?",
    **{chr(0x0660 + i): str(i) for i in range(10)},
    **{chr(0x06F0 + i): str(i) for i in range(10)},
})


@functools.lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    return strip_accents(ch.translate(_SPECIAL).lower().translate(_SPECIAL))


def fold_with_map(text: str) -> tuple[str, list[int]]:
    """``fold`` plus, for each folded character, the index of the character it came from."""
    chars: list[str] = []
    origin: list[int] = []
    for index, ch in enumerate(text):
        for out in _fold_char(ch):
            if len(chars) >= 2 and out == chars[-1] == chars[-2] and out.isalpha():
                continue  # letters typed three or more times are cut to two
            chars.append(out)
            origin.append(index)
    return "".join(chars), origin


_REPEATS = re.compile(r"([^\W\d_])\1{2,}")


# one-word sentences in a row ("je. peux. plus. respirer."): their full stops do not break
_STACCATO_RUN = re.compile(r"(?<![\w.])\w+\.(?:[ \t]+\w+\.){1,}(?:[ \t]+\w+)?")


_ENGLISH_DENIAL = r"\b(?:no|not|nope|nah|never|without|zero|none)\s+(?:[a-z]+\s+){0,2}?"


def _denied_in_english(text: str, evidence: str) -> bool:
    """True when an English denial word comes just before the evidence ("nope no pus")."""
    words = fold(evidence).split()
    if not words:
        return False
    return re.search(_ENGLISH_DENIAL + re.escape(words[0]) + r"\b", fold(text)) is not None


@functools.lru_cache(maxsize=2048)
def fold(text: str) -> str:
    """Lowercase with accents, diacritics and Arabic vowel marks removed (see module doc);
    the same text as ``fold_with_map`` gives, without the map."""
    folded = strip_accents(text.translate(_SPECIAL).lower().translate(_SPECIAL))
    return _REPEATS.sub(r"\1\1", folded)


_TOKEN = re.compile(r"\d+(?:[.,]\d+)?|[^\W\d_]+(?:'[^\W\d_]+)*", re.UNICODE)
_SENTENCE_PUNCT = re.compile(r"[.!?¿¡\n؟]")
_CLAUSE_PUNCT = re.compile(r"[.,;:!?¿¡()\[\]\n/\-–—]")
_SENTENCE_PUNCT = re.compile(r"[.!?\n]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_ELISIONS = frozenset(["l", "j", "d", "m", "n", "s", "t", "c", "qu", "un", "dell", "nell",
                       "all", "dall", "sull", "quell", "c'", "jusqu", "lorsqu", "puisqu"])
_ARABIC_PREFIXES = ("وال", "بال", "فال", "كال", "لل", "ال", "و", "ف", "ب", "ل")


@dataclass(frozen=True)
class _Token:
    text: str
    start: int
    end: int
    clause: int


def _split_word(word: str) -> list[str]:
    """French/Italian elision ("j'ai" -> "j", "ai"); Ukrainian/other apostrophes are dropped."""
    if "'" not in word:
        return [word]
    head, _, rest = word.partition("'")
    if head in _ELISIONS and not _CYRILLIC.search(word):
        return [head, *_split_word(rest)]
    return [word.replace("'", "")]


# ----------------------------------------------------------------------------- data


@dataclass(frozen=True)
class _Phrase:
    sign: str
    slots: tuple[frozenset[int], ...]
    text: str
    line: int
    far: bool = False  # "far: ..." in the file: anywhere in one clause, however far apart


@dataclass
class _Vocabulary:
    """The lexicon's words: exact words, prefix stems and their one-deletion neighbourhoods."""

    literals: list[tuple[str, bool]] = field(default_factory=list)  # (text, is_prefix)
    ids: dict[tuple[str, bool], int] = field(default_factory=dict)
    exact: dict[str, int] = field(default_factory=dict)
    stems: dict[str, list[int]] = field(default_factory=dict)
    stem_lengths: set[int] = field(default_factory=set)
    _deletions: dict[str, set[int]] | None = None  # built on the first typo: start-up time

    @property
    def deletions(self) -> dict[str, set[int]]:
        """Every lexicon word of five letters or more, and each with one letter dropped."""
        if self._deletions is None:
            index: dict[str, set[int]] = {}
            for literal_id, (text, _) in enumerate(self.literals):
                if len(text) >= _MIN_FUZZY:
                    for variant in _deletions(text):
                        index.setdefault(variant, set()).add(literal_id)
            self._deletions = index
        return self._deletions

    def add(self, text: str, prefix: bool) -> int:
        key = (text, prefix)
        if key in self.ids:
            return self.ids[key]
        literal_id = len(self.literals)
        self.literals.append(key)
        self.ids[key] = literal_id
        if prefix:
            self.stems.setdefault(text, []).append(literal_id)
            self.stem_lengths.add(len(text))
        else:
            self.exact[text] = literal_id
        self._deletions = None
        return literal_id


def _deletions(word: str) -> set[str]:
    return {word, *(word[:i] + word[i + 1:] for i in range(len(word)))}


@dataclass(frozen=True)
class LanguagePack:
    """One language's lexicon, function words and templates (from its data file)."""

    code: str
    name: str
    native: str
    messages: Mapping[str, str]
    phrases: tuple[_Phrase, ...]
    vocabulary: _Vocabulary
    by_literal: Mapping[int, tuple[int, ...]]  # literal id -> phrases that use it
    negations: frozenset[str]
    negations_after: frozenset[str]
    resolved: frozenset[int]
    hedges: tuple[tuple[frozenset[int], ...], ...]
    hypothetical: tuple[tuple[frozenset[int], ...], ...]
    clause_words: frozenset[str]
    shorthand: Mapping[str, tuple[str, ...]]
    fever_context: frozenset[int]
    mild: frozenset[int]
    not_typos: frozenset[str]
    smalltalk: frozenset[str]
    negative_suffix: re.Pattern[str] | None
    conditional_suffix: re.Pattern[str] | None
    hypothetical_after: bool
    path: str
    # a general question anywhere in the clause ("est-elle possible ?"), only in a sentence
    # that asks ("?") and names no first person now
    question_words: frozenset[int] = frozenset()
    generic_articles: frozenset[str] = frozenset()
    first_person: frozenset[str] = frozenset()
    # someone else's past story ("a mi amiga se le hincharon los labios el año pasado"): a
    # sentence with one of ``story_others`` and one of ``story_past`` sets its matches aside,
    # unless the message says it is happening now (``story_present``)
    story_others: frozenset[int] = frozenset()
    story_past: tuple[tuple[frozenset[int], ...], ...] = ()
    story_present: tuple[tuple[frozenset[int], ...], ...] = ()
    # figures of speech next to a match ("me ahogo de calor", "задыхаюсь от жары", "o preço me
    # deixou sem ar"): the symptom word is about the heat, a laugh or a price, not the body
    figures: tuple[tuple[frozenset[int], ...], ...] = ()
    # a question about the protocol, not a report ("¿unas ampollas serían motivo para
    # llamar?"): a match whose sentence asks ("?"), holds one of ``protocol`` and names no
    # first person is set aside
    protocol: tuple[tuple[frozenset[int], ...], ...] = ()
    # praise of how the skin looks ("tão bonita", "so gut sieht"): a fainting word in a
    # sentence with one is a hyperbole of delight (``_DELIGHT_SIGNS``), not a collapse
    delight: tuple[tuple[frozenset[int], ...], ...] = ()
    # a sign said to be over later in its sentence ("ayer tenía fiebre pero ya se me pasó",
    # "gestern hatte ich Fieber, aber jetzt ist es weg"): set aside
    over: tuple[tuple[frozenset[int], ...], ...] = ()
    earlier: tuple[tuple[frozenset[int], ...], ...] = ()  # "ayer", "anoche": told in the past
    # rule-out questions and sign advice in this language (keys: followups.yaml question ids,
    # sign_advice.yaml group ids); ``check`` phrases ask a question instead of guessing
    follow_ups: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # id -> text, no
    buttons: tuple[str, str] = ("", "")
    sign_advice: Mapping[str, str] = field(default_factory=dict)  # group id -> text
    checks: tuple[_Phrase, ...] = ()  # sign = the question id
    # the systemic half of each "far:" fever phrase (a racing heart, confusion): with a fever
    # anywhere in the message it is the emergency sign, whichever clause each is in
    systemic: tuple[_Phrase, ...] = ()
    hours: Mapping[str, Any] = field(default_factory=dict)  # clinic-hours sentences, words
    # a relative clause between commas parts a subject from its state ("la hinchazón, que
    # ayer era poca, ahora está en los labios"): the message is read again without it
    relative_re: re.Pattern[str] | None = None

    _cache: dict[str, tuple[frozenset[int], str, bool]] = field(default_factory=dict,
                                                                 compare=False, repr=False)

    @cached_property
    def texts(self) -> Catalogue:
        """The patient-facing texts, looked up like every other text through a `Catalogue`
        (knowledge/catalogue.py), with keys laid out as in the file: ``messages.<key>``,
        ``hours.<key>`` (the same keys as the bot's ``hours`` section), ``sign_advice.<group>``,
        ``follow_ups.<question id>.text`` / ``.no_reply``, ``buttons.yes`` / ``buttons.no``."""
        follow_ups = {qid: {"text": text, "no_reply": no_reply}
                      for qid, (text, no_reply) in self.follow_ups.items()}
        buttons = ({"yes": self.buttons[0], "no": self.buttons[1]} if all(self.buttons)
                   else {})
        return Catalogue({"messages": dict(self.messages), "hours": dict(self.hours),
                          "sign_advice": dict(self.sign_advice), "follow_ups": follow_ups,
                          "buttons": buttons})

    def read_word(self, token: str) -> tuple[frozenset[int], str, bool]:
        """Lexicon word ids ``token`` stands for (exact, prefix or one edit away), and
        "negative" or "conditional" when it is only a negative or conditional form of a lexicon
        stem that the lexicon does not spell out (Turkish "şişmedi", "şişerse"), else "";
        and whether the word was only recognised one edit away (a typo)."""
        cached = self._cache.get(token)
        if cached is None:
            if len(self._cache) > 50_000:
                self._cache.clear()
            cached = self._cache[token] = _match_token(self, token)
        return cached


def _variants(pack: LanguagePack, token: str) -> list[str]:
    if pack.code != "ar":
        return [token]
    out = [token]
    for prefix in _ARABIC_PREFIXES:
        if token.startswith(prefix) and len(token) - len(prefix) >= 2:
            out.append(token[len(prefix):])
    return out


def _match_token(pack: LanguagePack, token: str) -> tuple[frozenset[int], str, bool]:
    vocab = pack.vocabulary
    found: set[int] = set()
    negative = conditional = plain = False
    for form in _variants(pack, token):
        literal = vocab.exact.get(form)
        if literal is not None:
            found.add(literal)
            plain = True
        for length in range(1, len(form) + 1):
            stem_ids = vocab.stems.get(form[:length])
            if stem_ids:
                found.update(stem_ids)
                rest = form[length:]
                if rest and pack.negative_suffix is not None and pack.negative_suffix.match(rest):
                    negative = True
                elif (rest and pack.conditional_suffix is not None
                      and pack.conditional_suffix.match(rest)):
                    conditional = True
                else:
                    plain = True
    fuzzy = False
    if (not found and len(token) >= _MIN_FUZZY - 1 and not token.isdigit()
            and token not in pack.not_typos):
        found.update(_fuzzy(vocab, token))
        fuzzy = bool(found)
    form_kind = "" if plain or not (negative or conditional) else (
        "negative" if negative else "conditional")
    return frozenset(found), form_kind, fuzzy


def _fuzzy(vocab: _Vocabulary, token: str) -> set[int]:
    """Lexicon words within one edit of ``token`` (or of one of its prefixes, for stems).
    The first letter must match: typing slips rarely hit it, and "venute" is not "svenute"."""
    found: set[int] = set()
    for variant in _deletions(token):
        for literal_id in vocab.deletions.get(variant, ()):
            text, prefix = vocab.literals[literal_id]
            if not prefix and text[0] == token[0] and OSA.distance(
                    text, token, score_cutoff=1) <= 1:
                found.add(literal_id)
    for length in sorted(vocab.stem_lengths):
        if length < _MIN_FUZZY:
            continue
        for size in (length - 1, length, length + 1):
            if size > len(token):
                continue
            head = token[:size]
            for variant in _deletions(head):
                for literal_id in vocab.deletions.get(variant, ()):
                    text, prefix = vocab.literals[literal_id]
                    if prefix and len(text) == length and text[0] == head[0] and OSA.distance(
                            text, head, score_cutoff=1) <= 1:
                        found.add(literal_id)
    return found


# ----------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class ForeignReading:
    """What the lexicons found in a message: the decision and the language it was read in."""

    decision: TriageDecision
    language: str | None  # the language whose lexicon recognised the sign


class _Message:
    """A message prepared for one language: tokens, their lexicon words, clauses, negations."""

    def __init__(self, pack: LanguagePack, raw: str) -> None:
        self.pack = pack
        self.raw = raw
        pieces = self._pieces(raw)
        read = [pack.read_word(text) for text, _, _, _ in pieces]
        words = [r[0] for r in read]
        hedged = self._hedges(words)
        self.tokens: list[_Token] = []
        self.words: list[frozenset[int]] = []
        self.negation: list[bool] = []
        self.conditional: list[bool] = []
        self.fuzzy: list[bool] = []
        clause = 0
        sentence = 0
        self.sentences: list[int] = []
        last = 0
        for i, (text, start, end, breaks) in enumerate(pieces):
            if breaks or i in hedged:
                clause += 1
            if _SENTENCE_PUNCT.search(raw, last, start):
                sentence += 1
            last = max(last, end)
            if i in hedged:
                continue
            self.sentences.append(sentence)
            self.tokens.append(_Token(text, start, end, clause))
            self.words.append(words[i])
            self.negation.append(text in pack.negations or read[i][1] == "negative")
            self.conditional.append(read[i][1] == "conditional")
            self.fuzzy.append(read[i][2])
        self.present: set[int] = set().union(*self.words) if self.words else set()

    def _pieces(self, raw: str) -> list[tuple[str, int, int, bool]]:
        """(word, start, end in ``raw``, starts a new clause) after shorthand and elision."""
        pack = self.pack
        folded, origin = fold_with_map(raw)
        pieces: list[tuple[str, int, int, bool]] = []
        last_end = 0
        pending_break = False
        # a run of one-word sentences is one phrase: "no. puedo. respirar."
        runs = [r.span() for r in _STACCATO_RUN.finditer(folded)]
        for m in _TOKEN.finditer(folded):
            gap = folded[last_end:m.start()]
            # a hyphen inside a word ("когда-то", "grand-mère") joins, it does not break
            breaks = pending_break or (
                gap != "-" and bool(_CLAUSE_PUNCT.search(gap))
                and not any(r_start < m.start() < r_end for r_start, r_end in runs))
            pending_break = False
            last_end = m.end()
            start, end = origin[m.start()], origin[m.end() - 1] + 1
            for piece in _split_word(m.group(0)):
                if piece in pack.clause_words:
                    pending_break = True
                    continue
                for word in pack.shorthand.get(piece, (piece,)):
                    pieces.append((word, start, end, breaks or pending_break))
                    breaks = pending_break = False
        return pieces

    def _hedges(self, words: list[frozenset[int]]) -> set[int]:
        """Indexes of hedge words ("no sé si"): they break the clause and negate nothing."""
        hedged: set[int] = set()
        for hedge in self.pack.hedges:
            for i in range(len(words) - len(hedge) + 1):
                if all(words[i + k] & slot for k, slot in enumerate(hedge)):
                    hedged.update(range(i, i + len(hedge)))
        return hedged

    def clause_range(self, index: int) -> tuple[int, int]:
        clause = self.tokens[index].clause
        start = index
        while start > 0 and self.tokens[start - 1].clause == clause:
            start -= 1
        end = index
        while end + 1 < len(self.tokens) and self.tokens[end + 1].clause == clause:
            end += 1
        return start, end

    def evidence(self, first: int, last: int) -> str:
        return self.raw[self.tokens[first].start:self.tokens[last].end].strip()


def _find(message: _Message, phrase: _Phrase,
          mild_cancels: bool = False) -> tuple[int, int, set[int]] | None:
    """The tightest valid placement of ``phrase``: (first, last, matched token indexes)."""
    positions: list[list[int]] = []
    for slot in phrase.slots:
        places = [i for i, words in enumerate(message.words) if words & slot]
        if not places:
            return None
        positions.append(places)
    limit = _FAR_SPAN if phrase.far else len(phrase.slots) + _EXTRA_SPAN
    best: tuple[int, int, set[int]] | None = None
    for anchor in positions[0]:
        clause = message.tokens[anchor].clause
        chosen = {anchor}
        chosen_by_slot = [anchor]
        ok = True
        for places in positions[1:]:
            near = [p for p in places if p not in chosen and message.tokens[p].clause == clause
                    and abs(p - anchor) < limit]
            if not near:
                ok = False
                break
            pick = min(near, key=lambda p: abs(p - anchor))
            chosen.add(pick)
            chosen_by_slot.append(pick)
        if not ok:
            continue
        first, last = min(chosen), max(chosen)
        if last - first + 1 > limit or not _negations_in_order(message, phrase, chosen_by_slot):
            continue
        if _cancelled(message, first, last, chosen, relapse=phrase.sign in _RELAPSE_SIGNS):
            continue
        if mild_cancels and _has_mild(message, first):
            continue
        if best is None or last - first < best[1] - best[0]:
            best = (first, last, chosen)
    return best


def _has_sequence(message: _Message, sequence: tuple[frozenset[int], ...],
                  indexes: range) -> bool:
    """The words of ``sequence`` in order inside ``indexes``, each within two words of the one
    before ("vor zwei Jahren" has "vor ... jahren")."""
    for start in indexes:
        if not message.words[start] & sequence[0]:
            continue
        at, found = start, True
        for slot in sequence[1:]:
            nxt = next((j for j in range(at + 1, min(at + 3, indexes.stop))
                        if message.words[j] & slot), None)
            if nxt is None:
                found = False
                break
            at = nxt
        if found:
            return True
    return False


def _story(message: _Message, index: int) -> bool:
    """Someone else's past story: the match's sentence names another person and a past time,
    and nothing in the message says it is happening now."""
    pack = message.pack
    if not pack.story_others or not pack.story_past:
        return False
    sentence = message.sentences[index]
    inside = [i for i, s in enumerate(message.sentences) if s == sentence]
    span = range(inside[0], inside[-1] + 1)
    if not any(message.words[i] & pack.story_others for i in span):
        return False
    if not any(_has_sequence(message, past, span) for past in pack.story_past):
        return False
    everything = range(0, len(message.tokens))
    return not any(_has_sequence(message, now, everything) for now in pack.story_present)


def _general_question(message: _Message, index: int) -> bool:
    """A question about a sign in general, not a report: an indefinite article just before
    the match ("une réaction allergique"), one of the language's ``question_words``
    ("possible", "möglich") in its sentence, and the sentence asks ("?")."""
    pack = message.pack
    if not pack.question_words or not pack.generic_articles:
        return False
    if not any(message.tokens[i].text in pack.generic_articles
               for i in range(max(0, index - 2), index)):
        return False
    sentence = message.sentences[index]
    inside = [i for i, s in enumerate(message.sentences) if s == sentence]
    if not any(message.words[i] & pack.question_words for i in inside):
        return False
    if any(message.tokens[i].text in pack.first_person for i in inside):
        return False  # "tengo una reacción alérgica, ¿es posible?" is a report
    tail = message.raw[message.tokens[inside[-1]].end:]
    stop = _SENTENCE_PUNCT.search(tail)
    return stop is not None and stop.group(0) == "?" or "?" in tail


def _sentence_span(message: _Message, index: int) -> range:
    sentence = message.sentences[index]
    inside = [i for i, s in enumerate(message.sentences) if s == sentence]
    return range(inside[0], inside[-1] + 1)


def _asks(message: _Message, span: range) -> bool:
    """Whether the sentence over ``span`` ends with (or is followed by) a question mark."""
    tail = message.raw[message.tokens[span[-1]].end:].translate(_SPECIAL)  # "؟" is "?"
    stop = _SENTENCE_PUNCT.search(tail)
    return stop is not None and stop.group(0) == "?"


def _protocol_question(message: _Message, index: int) -> bool:
    """A question about what the protocol is ("pęcherze to powód, żeby dzwonić?"): the
    match's clause holds one of the language's ``protocol`` phrases and names no first person,
    and its sentence asks ("tengo ampollas, ¿es motivo para llamar?" is a report: the reason
    to call is asked in a clause of its own)."""
    pack = message.pack
    if not pack.protocol:
        return False
    start, end = message.clause_range(index)
    clause = range(start, end + 1)
    if not any(_has_sequence(message, phrase, clause) for phrase in pack.protocol):
        return False
    if any(message.tokens[i].text in pack.first_person for i in clause):
        return False
    return _asks(message, _sentence_span(message, index))


def _delight(message: _Message, phrase: _Phrase, index: int) -> bool:
    """A fainting word in a sentence that praises how the skin looks ("potrei svenire da
    quanto è bella la mia pelle"): a hyperbole of delight, not a collapse."""
    pack = message.pack
    if not pack.delight or phrase.sign not in _DELIGHT_SIGNS:
        return False
    span = _sentence_span(message, index)
    return any(_has_sequence(message, praise, span) for praise in pack.delight)


def _over(message: _Message, last: int) -> bool:
    """One of the language's ``over`` phrases closing the match's sentence, in a later clause
    ("tuve fiebre anoche pero ya se me pasó"), the match told as earlier (one of ``earlier``
    up to its clause): the sign is told as over. Only at the end of the sentence: in "tenía
    fiebre, ya se me pasó el dolor" what is over is something else."""
    pack = message.pack
    if not pack.over or not pack.earlier:
        return False
    span = _sentence_span(message, last)
    end = span[-1]
    clause_start, clause_end = message.clause_range(last)
    told_earlier = range(span[0], clause_end + 1)
    if not any(_has_sequence(message, when, told_earlier) for when in pack.earlier):
        return False  # "no puedo respirar, ya se me pasó el mareo": nothing says it was earlier
    if any(_has_sequence(message, now, told_earlier) for now in pack.story_present):
        return False  # "ayer me desmayé y hoy sigo mareada": something is said of now
    for phrase in pack.over:
        if not message.words[end] & phrase[-1]:
            continue
        window = range(max(clause_end + 1, end - 2 * len(phrase)), end + 1)
        if window and _has_sequence(message, phrase, window):
            return True
    return False


def _typos(message: _Message, chosen: set[int]) -> int:
    return sum(1 for i in chosen if message.fuzzy[i])


def _negations_in_order(message: _Message, phrase: _Phrase, chosen: list[int]) -> bool:
    """A negation word of the phrase must come before the word that follows it in the phrase
    ("no puedo respirar", "sangre no para"), so "respiro bien, no ..." is not "no respiro bien"."""
    for k in range(len(chosen) - 1):
        if message.tokens[chosen[k]].text in message.pack.negations and chosen[k] > chosen[k + 1]:
            return False
    return True


# signs of something coming back: "gone" before the match's last word is the relapse itself
_RELAPSE_SIGNS = frozenset({"redness_returned"})


def _cancelled(message: _Message, first: int, last: int, chosen: set[int],
               relapse: bool = False) -> bool:
    pack = message.pack
    clause_start, clause_end = message.clause_range(first)
    for i in range(max(clause_start, first - _NEGATION_WINDOW), last + 1):
        if message.negation[i] and i not in chosen:
            return True
    for i in chosen:
        if message.negation[i] and message.tokens[i].text not in pack.negations:
            return True  # a negative verb form inside the match (Turkish "şişmedi")
        if message.conditional[i]:
            return True  # a conditional form: "dudaklarım şişerse" (if my lips swell)
    for i in range(last + 1, min(clause_end, last + _AFTER_WINDOW) + 1):
        pair = " ".join(t.text for t in message.tokens[i:min(i + 2, clause_end + 1)])
        if message.tokens[i].text in pack.negations_after or pair in pack.negations_after:
            return True
    for i in range(clause_start, clause_end + 1):
        if i in chosen or not (message.words[i] & pack.resolved):
            continue
        if i + 1 in chosen:
            continue  # an intensifier just before the match: "bien pire", "bien hinchado"
        if relapse and first < i < last:
            continue  # gone, then back: "краснота прошла, а сегодня опять вернулась" (a relapse)
        if any(message.negation[j] for j in range(max(clause_start, i - _NEGATION_WINDOW), i)):
            continue  # "no ha bajado", "no puedo respirar bien": not resolved
        return True
    for figure in pack.figures:
        span = len(figure)
        for i in range(max(clause_start, first - _FIGURE_WINDOW - span + 1),
                       min(clause_end, last + _FIGURE_WINDOW) - span + 2):
            if any(i + k in chosen for k in range(span)):
                continue
            if all(message.words[i + k] & slot for k, slot in enumerate(figure)):
                return True
    for marker in pack.hypothetical:
        span = len(marker)
        stop = clause_end + 1 if pack.hypothetical_after else first
        for i in range(clause_start, stop - span + 1):
            if any(i + k in chosen for k in range(span)):
                continue  # the marker cannot be the match's own words
            if all(message.words[i + k] & slot for k, slot in enumerate(marker)):
                return True
    return False


def _has_mild(message: _Message, index: int) -> bool:
    start, end = message.clause_range(index)
    return any(message.words[i] & message.pack.mild for i in range(start, end + 1))


_READING = re.compile(r"(?<![\d.,])(\d{2,3})(?:[.,](\d))?(?![\d])")


def _fever_reading(message: _Message) -> tuple[int, int] | None:
    """A temperature of 38 C / 100.4 F or more: "38,5" alone, or a whole number near a
    temperature word ("temperatura 39") or with a degree sign."""
    pack = message.pack
    context = [i for i, words in enumerate(message.words) if words & pack.fever_context]
    degrees = "°" in message.raw
    for i, token in enumerate(message.tokens):
        m = _READING.fullmatch(token.text)
        if not m:
            continue
        value = float(f"{m.group(1)}.{m.group(2) or 0}")
        celsius = 38.0 <= value <= 43.0
        if not (celsius or 100.4 <= value <= 108.0):
            continue
        near = any(abs(i - c) <= 4 for c in context)
        if not (near or degrees or (celsius and m.group(2) is not None)):
            continue
        if any(message.negation[j] for j in range(max(0, i - 3), i)):
            continue
        return i, i
    return None


class Lexicons:
    """Every language pack, and the reading of one message in a list of languages."""

    def __init__(self, packs: Mapping[str, LanguagePack], signs: Mapping[str, Sign]) -> None:
        self.packs = dict(packs)
        self.signs = dict(signs)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(self.packs)

    def name(self, code: str) -> str:
        pack = self.packs.get(code)
        return pack.name if pack else code

    def texts(self, code: str) -> Catalogue | None:
        """The language's patient-facing texts (`LanguagePack.texts`); None without a pack."""
        pack = self.packs.get(code)
        return None if pack is None else pack.texts

    def is_smalltalk(self, text: str, languages: Iterable[str]) -> str | None:
        """The language of a greeting or thank-you made only of its small-talk words."""
        for code in languages:
            pack = self.packs.get(code)
            if pack is None:
                continue
            words = [w for m in _TOKEN.finditer(fold(text)) for w in _split_word(m.group(0))]
            if words and all(w in pack.smalltalk for w in words):
                return code
        return None

    def assess(self, text: str, day: int | None, languages: Iterable[str],
               exact: bool = False) -> ForeignReading:
        """The most serious sign found in ``text`` read in each of ``languages``; ``exact``:
        only signs read without a typo fix (no rule-out question either)."""
        # the most serious sign; between languages, the reading that needed fewer typo fixes
        best: tuple[tuple[int, int], Sign, str, str, list[str]] | None = None
        for code in languages:
            pack = self.packs.get(code)
            if pack is None:
                continue
            found = self._read(pack, text, day)
            for sign, evidence, typos in found:
                if exact and typos:
                    continue
                rank = (_TIER_RANK[sign.tier], typos)
                if best is None or rank < best[0]:
                    others = best[4] if best is not None else []
                    if best is not None and best[1].id != sign.id:
                        others = [best[1].id, *others]
                    best = (rank, sign, evidence, code, [o for o in others if o != sign.id])
                elif sign.id != best[1].id and sign.id not in best[4]:
                    best[4].append(sign.id)
        if best is None:
            if exact:
                return ForeignReading(TriageDecision(day=day), None)
            for code in languages:
                pack = self.packs.get(code)
                question = self._check(pack, text) if pack is not None else None
                if question is not None:  # unsure: ask the one-tap rule-out question
                    return ForeignReading(TriageDecision(day=day, follow_up=question), code)
            return ForeignReading(TriageDecision(day=day), None)
        _, sign, evidence, code, others = best
        others.sort(key=lambda sign_id: _TIER_RANK[self.signs[sign_id].tier])
        day_label = "day unknown" if day is None else f"day {day}"
        decision = TriageDecision(
            urgency=sign.tier, sign=sign.id, rule=f"{sign.rule} ({day_label})",
            evidence=evidence, day=day, others=tuple(others))
        return ForeignReading(decision, code)

    def _check(self, pack: LanguagePack, text: str) -> str | None:
        """The rule-out question a message asks for (``check`` phrases: dizzy, a strange
        throat, worried about infection), when the language has that question's words."""
        if not pack.checks:
            return None
        message = _Message(pack, text)
        for phrase in pack.checks:
            if phrase.sign not in pack.follow_ups:
                continue
            placed = _find(message, phrase)
            if placed is not None and not _story(message, placed[0]):
                return phrase.sign
        return None

    def pack(self, code: str) -> LanguagePack | None:
        return self.packs.get(code)

    def _read(self, pack: LanguagePack, text: str,
              day: int | None) -> list[tuple[Sign, str, int]]:
        if pack.relative_re is not None:
            folded = fold(text)
            joined = pack.relative_re.sub(" ", folded)
            if joined != folded:
                text = f"{text} . {joined}"
        message = _Message(pack, text)
        if not message.tokens:
            return []
        candidates: set[int] = set()
        for literal_id in message.present:
            candidates.update(pack.by_literal.get(literal_id, ()))
        found: dict[str, tuple[Sign, str, int]] = {}
        for index in sorted(candidates):
            phrase = pack.phrases[index]
            if phrase.sign in found:
                continue
            sign = self.signs[phrase.sign]
            if not sign.applies_on(day):
                continue
            placed = _find(message, phrase, phrase.sign in _MILD_CANCELS)
            if placed is not None and (_story(message, placed[0])
                                       or _general_question(message, placed[0])
                                       or _protocol_question(message, placed[0])
                                       or _delight(message, phrase, placed[0])
                                       or _over(message, placed[1])):
                continue
            if placed is not None:
                found[phrase.sign] = (sign, message.evidence(placed[0], placed[1]),
                                      _typos(message, placed[2]))
        fever = self.signs.get(FEVER_SIGN)
        if fever is not None and FEVER_SIGN not in found and fever.applies_on(day):
            reading = _fever_reading(message)
            if reading is not None:
                found[FEVER_SIGN] = (fever, message.evidence(reading[0], reading[1]), 0)
        systemic = self.signs.get(SYSTEMIC_SIGN)
        if (FEVER_SIGN in found and systemic is not None and SYSTEMIC_SIGN not in found
                and systemic.applies_on(day)):
            # fever in one clause, a racing heart or confusion in another ("Fieber 39,
            # Herzrasen"): the systemic part of each fever phrase, anywhere in the message
            for phrase in pack.systemic:
                placed = _find(message, phrase)
                if placed is not None and not _story(message, placed[0]):
                    evidence = f"{found[FEVER_SIGN][1]} + {message.evidence(placed[0], placed[1])}"
                    found[SYSTEMIC_SIGN] = (systemic, evidence, _typos(message, placed[2]))
                    break
        return sorted(found.values(), key=lambda item: _TIER_RANK[item[0].tier])


# ----------------------------------------------------------------------------- loading

_REQUIRED = {"language", "name", "native", "messages", "negations", "signs"}
_OPTIONAL = {"negations_after", "resolved", "hedges", "hypothetical", "clause_words",
             "shorthand", "fever_context", "smalltalk", "negative_suffix", "conditional_suffix",
             "hypothetical_after", "mild", "not_typos", "note", "story", "follow_ups",
             "question_words", "generic_articles", "first_person", "figures", "protocol",
             "delight", "over", "earlier",
             "sign_advice", "check", "hours", "relatives"}


def load_lexicons(signs: Iterable[Sign], directory: Path | None = None) -> Lexicons:
    """Load every ``<code>.yaml`` in ``directory`` (default: the packaged one).

    Raises ``KBError`` listing every problem with file and line (unknown sign ids, review-tier
    signs, missing templates or placeholders, empty phrases, bad YAML).
    """
    by_id = {sign.id: sign for sign in signs}
    folder = directory or LANGUAGES_DIR
    packs: dict[str, LanguagePack] = {}
    problems = []
    for path in sorted(folder.glob("*.yaml")):
        out = ProblemCollector(str(path))
        try:
            raw = read_yaml(path)
        except DataFileError as exc:
            out.add(exc.line, exc.reason)
            problems.extend(out.problems)
            continue
        pack = _parse_pack(raw, path, by_id, out)
        problems.extend(out.problems)
        if pack is not None and not out.problems:
            packs[pack.code] = pack
    if problems:
        raise KBError(problems)
    return Lexicons(packs, by_id)


def _parse_pack(raw: Yaml, path: Path, signs: Mapping[str, Sign],
                out: ProblemCollector) -> LanguagePack | None:
    if not isinstance(raw, LineDict):
        out.add(1, "a language file must be a mapping (language, name, native, messages, ...)")
        return None
    for key in sorted(_REQUIRED - raw.keys()):
        out.add(raw.line, f"missing {key!r}")
    for key in sorted(raw.keys() - _REQUIRED - _OPTIONAL):
        out.add(raw.line_of(key), f"unknown key {key!r}")
    if out.problems:
        return None
    code = str(raw["language"])
    if path.stem != code:
        out.add(raw.line_of("language"), f"language {code!r} does not match the file name")
    vocab = _Vocabulary()

    def words(key: str) -> list[str]:
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip()
                                                  for v in value):
            out.add(raw.line_of(key), f"{key} must be a list of words or phrases (quote words "
                                      "YAML reads as true/false: 'no', 'yes', 'on', 'off')")
            return []
        return [fold(v).strip() for v in value]

    def slots_of(text: str, line: int, what: str) -> tuple[frozenset[int], ...]:
        slots = []
        for part in fold(text).split():
            alternatives = set()
            for alt in part.split("|"):
                prefix = alt.endswith("*")
                word = alt.rstrip("*")
                if not word:
                    out.add(line, f"{what}: empty word in {text!r}")
                    continue
                if prefix and len(word) < 2:
                    out.add(line, f"{what}: stem {alt!r} is too short")
                alternatives.add(vocab.add(word, prefix))
            slots.append(frozenset(alternatives))
        if not slots:
            out.add(line, f"{what}: empty phrase")
        return tuple(slots)

    def sequences(key: str) -> tuple[tuple[frozenset[int], ...], ...]:
        if key not in raw:
            return ()
        value = raw[key]
        if not isinstance(value, LineList):
            out.add(raw.line_of(key), f"{key} must be a list")
            return ()
        return tuple(slots_of(str(item), line, key)
                     for item, line in zip(value, value.item_lines, strict=True))

    messages = raw["messages"]
    templates: dict[str, str] = {}
    if not isinstance(messages, LineDict):
        out.add(raw.line_of("messages"), "messages must be a mapping")
    else:
        for key in TEMPLATE_KEYS:
            text = messages.get(key)
            if not isinstance(text, str) or not text.strip():
                out.add(messages.line, f"messages: missing template {key!r}")
                continue
            try:
                text.format(clinic="c", clinic_contact="", emergency="112")
            except (KeyError, IndexError, ValueError) as exc:
                out.add(messages.line_of(key), f"messages.{key}: bad placeholder ({exc})")
            templates[key] = " ".join(text.split())
        if "emergency" in templates and "{emergency}" not in templates["emergency"]:
            out.add(messages.line_of("emergency"), "messages.emergency must name {emergency}")
        if "urgent" in templates and "{clinic}" not in templates["urgent"]:
            out.add(messages.line_of("urgent"), "messages.urgent must name {clinic}")

    hours = _parse_hours(raw, out)

    phrases: list[_Phrase] = []
    sign_map = raw["signs"]
    if not isinstance(sign_map, LineDict):
        out.add(raw.line_of("signs"), "signs must map sign ids to lists of phrases")
    else:
        for sign_id, items in sign_map.items():
            line = sign_map.line_of(sign_id)
            sign = signs.get(str(sign_id))
            if sign is None:
                out.add(line, f"unknown sign id {sign_id!r} (not in triage.yaml)")
                continue
            if sign.tier not in _TIER_RANK:
                out.add(line, f"sign {sign_id!r} is {sign.tier}: only emergency and urgent "
                              "signs are read in other languages")
                continue
            if not isinstance(items, LineList) or not items:
                out.add(line, f"{sign_id}: must be a non-empty list of phrases")
                continue
            for item, item_line in zip(items, items.item_lines, strict=True):
                if not isinstance(item, str) or not item.strip():
                    out.add(item_line, f"{sign_id}: phrases must be text")
                    continue
                far = item.startswith("far:")
                slots = slots_of(item.removeprefix("far:"), item_line, sign_id)
                if slots:
                    phrases.append(_Phrase(str(sign_id), slots, item, item_line, far))

    by_literal: dict[int, list[int]] = {}
    for index, phrase in enumerate(phrases):
        for slot in phrase.slots:
            for literal_id in slot:
                by_literal.setdefault(literal_id, []).append(index)

    shorthand: dict[str, tuple[str, ...]] = {}
    raw_short = raw.get("shorthand", {})
    if not isinstance(raw_short, dict):
        out.add(raw.line_of("shorthand"), "shorthand must map chat words to their full form")
    else:
        for short, full in raw_short.items():
            shorthand[fold(str(short))] = tuple(fold(str(full)).split())

    def suffix(key: str) -> re.Pattern[str] | None:
        source = raw.get(key)
        if source is None:
            return None
        try:
            return re.compile(fold(str(source)))
        except re.error as exc:
            out.add(raw.line_of(key), f"{key}: bad pattern ({exc})")
            return None

    def literal_set(key: str) -> frozenset[int]:
        return frozenset(i for seq in sequences(key) for slot in seq for i in slot)

    def sub_sequences(section: Yaml, key: str, what: str) -> tuple[tuple[frozenset[int], ...], ...]:
        if not isinstance(section, LineDict) or key not in section:
            return ()
        value = section[key]
        if not isinstance(value, LineList):
            out.add(section.line_of(key), f"{what}.{key} must be a list")
            return ()
        return tuple(slots_of(str(item), line, f"{what}.{key}")
                     for item, line in zip(value, value.item_lines, strict=True))

    story = raw.get("story")
    if story is not None and not isinstance(story, LineDict):
        out.add(raw.line_of("story"), "story must map others, past and present to lists")
        story = None
    if story is not None:
        for key in sorted(story.keys() - {"others", "past", "present"}):
            out.add(story.line_of(key), f"story: unknown key {key!r}")
    story_others = frozenset(i for seq in sub_sequences(story, "others", "story")
                             for slot in seq for i in slot)

    follow_ups: dict[str, tuple[str, str]] = {}
    buttons = ("", "")
    raw_follow = raw.get("follow_ups")
    if raw_follow is not None:
        if not isinstance(raw_follow, LineDict):
            out.add(raw.line_of("follow_ups"), "follow_ups must be a mapping")
        else:
            yes, no = raw_follow.get("yes_label"), raw_follow.get("no_label")
            if not (isinstance(yes, str) and yes.strip() and isinstance(no, str) and no.strip()):
                out.add(raw_follow.line, "follow_ups needs 'yes_label' and 'no_label'")
            else:
                buttons = (yes.strip(), no.strip())
            for qid, item in raw_follow.items():
                if qid in ("yes_label", "no_label"):
                    continue
                text = item.get("text") if isinstance(item, LineDict) else None
                no_reply = item.get("no_reply") if isinstance(item, LineDict) else None
                if not (isinstance(text, str) and text.strip() and isinstance(no_reply, str)
                        and no_reply.strip()):
                    out.add(raw_follow.line_of(qid), f"follow_ups.{qid} needs 'text' and "
                                                     "'no_reply'")
                    continue
                follow_ups[str(qid)] = (" ".join(text.split()), " ".join(no_reply.split()))

    sign_advice: dict[str, str] = {}
    raw_advice = raw.get("sign_advice")
    if raw_advice is not None:
        if not isinstance(raw_advice, LineDict):
            out.add(raw.line_of("sign_advice"), "sign_advice must map group ids to texts")
        else:
            for group, text in raw_advice.items():
                if not isinstance(text, str) or not text.strip():
                    out.add(raw_advice.line_of(group), f"sign_advice.{group} must be text")
                    continue
                sign_advice[str(group)] = " ".join(text.split())

    checks: list[_Phrase] = []
    raw_checks = raw.get("check")
    if raw_checks is not None:
        if not isinstance(raw_checks, LineDict):
            out.add(raw.line_of("check"), "check must map question ids to lists of phrases")
        else:
            for qid, items in raw_checks.items():
                if not isinstance(items, LineList) or not items:
                    out.add(raw_checks.line_of(qid), f"check.{qid}: a non-empty list")
                    continue
                for item, item_line in zip(items, items.item_lines, strict=True):
                    far = str(item).startswith("far:")
                    slots = slots_of(str(item).removeprefix("far:"), item_line, f"check.{qid}")
                    if slots:
                        checks.append(_Phrase(str(qid), slots, str(item), item_line, far))

    pack = LanguagePack(
        code=code,
        name=str(raw["name"]),
        native=str(raw["native"]),
        messages=templates,
        phrases=tuple(phrases),
        vocabulary=vocab,
        by_literal={k: tuple(v) for k, v in by_literal.items()},
        negations=frozenset(words("negations")),
        negations_after=frozenset(words("negations_after")),  # a word or a word pair
        resolved=literal_set("resolved"),
        hedges=sequences("hedges"),
        hypothetical=sequences("hypothetical"),
        figures=sequences("figures"),
        protocol=sequences("protocol"),
        delight=sequences("delight"),
        over=sequences("over"),
        earlier=sequences("earlier"),
        clause_words=frozenset(words("clause_words")),
        shorthand=shorthand,
        fever_context=literal_set("fever_context"),
        mild=literal_set("mild"),
        not_typos=frozenset(words("not_typos")),
        smalltalk=frozenset(w for phrase in words("smalltalk") for w in phrase.split()),
        negative_suffix=suffix("negative_suffix"),
        conditional_suffix=suffix("conditional_suffix"),
        hypothetical_after=bool(raw.get("hypothetical_after", False)),
        path=str(path),
        story_others=story_others,
        question_words=literal_set("question_words"),
        generic_articles=frozenset(words("generic_articles")),
        first_person=frozenset(words("first_person")),
        story_past=sub_sequences(story, "past", "story"),
        story_present=sub_sequences(story, "present", "story"),
        follow_ups=follow_ups,
        buttons=buttons,
        sign_advice=sign_advice,
        checks=tuple(checks),
        systemic=tuple(_Phrase(SYSTEMIC_SIGN, p.slots[1:], p.text, p.line, True)
                       for p in phrases
                       if p.sign == SYSTEMIC_SIGN and p.far and len(p.slots) > 1),
        hours=hours,
        relative_re=_relative_pattern(words("relatives")),
    )
    return pack


def _relative_pattern(openers: Iterable[str]) -> re.Pattern[str] | None:
    """A relative clause between commas opened by one of ``openers`` (folded words; a
    trailing ``*`` takes any ending: ``котор*``)."""
    alternatives = sorted({re.escape(w.rstrip("*")) + (r"\w*" if w.endswith("*") else "")
                           for w in openers if w.strip("*")}, key=len, reverse=True)
    if not alternatives:
        return None
    return re.compile(r",\s*(?:" + "|".join(alternatives) + r")\b[^,.!?;\n]{3,80},")


def _parse_hours(raw: LineDict, out: ProblemCollector) -> dict[str, Any]:
    """The optional ``hours`` section: every sentence of `HOURS_TEXTS` (placeholders checked)
    and the seven weekday and twelve month names; all or nothing."""
    if "hours" not in raw:
        return {}
    section = raw["hours"]
    if not isinstance(section, LineDict):
        out.add(raw.line_of("hours"), "hours must be a mapping")
        return {}
    hours: dict[str, Any] = {}
    for key in HOURS_TEXTS:
        text = section.get(key)
        if not isinstance(text, str) or not text.strip():
            out.add(section.line, f"hours: missing sentence {key!r}")
            continue
        try:
            text.format(**_HOURS_VALUES)
        except (KeyError, IndexError, ValueError) as exc:
            out.add(section.line_of(key), f"hours.{key}: bad placeholder ({exc})")
        hours[key] = " ".join(text.split())
    for key, count in HOURS_LISTS.items():
        names = section.get(key)
        if not isinstance(names, list) or len(names) != count or not all(
                isinstance(n, str) and n.strip() for n in names):
            out.add(section.line_of(key) if key in section else section.line,
                    f"hours.{key} must list {count} names")
            continue
        hours[key] = [str(n) for n in names]
    for key in sorted(set(section) - set(HOURS_TEXTS) - set(HOURS_LISTS)):
        out.add(section.line_of(key), f"hours: unknown key {key!r}")
    return hours


# ----------------------------------------------------------------------------- the facade


@dataclass(frozen=True)
class Reading:
    """A message not in English: its detected language and what the lexicons found in it.

    ``language`` is the language the reply templates use: the language whose lexicon recognised
    a sign, else the detected language when the bot has templates for it, else "en".
    """

    detection: Detection
    decision: TriageDecision
    language: str
    smalltalk: bool = False


class Multilingual:
    """Language detection plus the sign lexicons: what the advisor asks about a message."""

    def __init__(self, lexicons: Lexicons, detector: LanguageDetector,
                 names: Mapping[str, str] | None = None) -> None:
        self.lexicons = lexicons
        self.detector = detector
        self._names = dict(names or {})

    @classmethod
    def load(cls, signs: Iterable[Sign], english_words: Iterable[str],
             names: Mapping[str, str] | None = None,
             directory: Path | None = None) -> Multilingual:
        lexicons = load_lexicons(signs, directory)
        return cls(lexicons, LanguageDetector(lexicons.codes, english_words), names)

    def name(self, code: str) -> str:
        """The language's English name for staff ("Spanish"), or its code when unknown."""
        if code in self.lexicons.packs:
            return self.lexicons.packs[code].name
        return self._names.get(code, code)

    def texts(self, code: str) -> Catalogue | None:
        """The language's patient-facing texts (templates, clinic hours, sign advice,
        rule-out questions) as a `Catalogue`; None for a language without a file."""
        return self.lexicons.texts(code)

    def read_unaccented(self, text: str, day: int | None,
                        hint: str | None = None) -> Reading | None:
        """A sign in Latin-script text that the detector took for English although most of its
        words are not English: another language typed without its accents ("a dor so piora",
        "el ibuprofeno no hace nada"). Every Latin-script lexicon reads it; a Reading only when
        one of them finds a sign, so English text is never answered in another language."""
        if not text.isascii() or not any(ch.isalpha() for ch in text):
            return None
        share, count = self.detector.english_share(text)
        if count < 2 or share > UNACCENTED_ENGLISH_SHARE:
            return None
        latin = tuple(code for code in self.lexicons.codes if code in LATIN_SCRIPT)
        if hint in latin:
            latin = (hint, *(code for code in latin if code != hint))
        # only words read as written: "i could murder a pizza" is no Italian "puzza" (a smell)
        reading = self.lexicons.assess(text, day, latin, exact=True)
        if reading.decision.urgency is None or reading.language is None:
            return None
        # "nope no pus" is English denying the sign, not French naming it
        if _denied_in_english(text, reading.decision.evidence):
            return None
        detection = Detection(reading.language, 0.0, (reading.language,), True)
        return Reading(detection, reading.decision, reading.language)

    def read(self, text: str, day: int | None, hint: str | None = None) -> Reading | None:
        """None for English; otherwise the detected language and any sign found."""
        detection = self.detector.detect(text, hint)
        if detection.english:
            return None
        reading = self.lexicons.assess(text, day, detection.candidates)
        language = reading.language or (
            detection.code if detection.code in self.lexicons.packs else
            next((c for c in detection.candidates if c in self.lexicons.packs), ENGLISH))
        smalltalk = False
        if reading.decision.urgency is None:
            talk = self.lexicons.is_smalltalk(text, detection.candidates)
            if talk is not None:
                smalltalk, language = True, talk
        return Reading(detection, reading.decision, language, smalltalk)
