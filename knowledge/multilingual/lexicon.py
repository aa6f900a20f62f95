"""A language's lexicon: its phrases (slots of word ids), its vocabulary (exact words, prefix
stems, one-deletion neighbourhoods), the ``LanguagePack`` of one data file, and how one word is
read against it (exactly, as a prefix, or one edit away)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from rapidfuzz.distance import OSA

from knowledge.catalogue import Catalogue, Wording
from knowledge.text import WordCache
from knowledge.triage import EMERGENCY, URGENT

FEVER_SIGN = "fever"
SYSTEMIC_SIGN = "fever_with_systemic_signs"
TIER_RANK = {EMERGENCY: 0, URGENT: 1}
MIN_FUZZY = 5
_ARABIC_PREFIXES = ("وال", "بال", "فال", "كال", "لل", "ال", "و", "ف", "ب", "ل")


@dataclass(frozen=True)
class Phrase:
    sign: str
    slots: tuple[frozenset[int], ...]
    text: str
    line: int
    far: bool = False  # "far: ..." in the file: anywhere in one clause, however far apart
    # "sentence: ..." in the file: anywhere in one sentence, across its clauses ("tomé
    # paracetamol, pero el dolor no se va": the tablet and the pain are told apart by "pero")
    sentence: bool = False


@dataclass
class Vocabulary:
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
                if len(text) >= MIN_FUZZY:
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
    phrases: tuple[Phrase, ...]
    vocabulary: Vocabulary
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
    # a condition imagined, said as a clause of its own before its comma ("Angenommen, ...",
    # "Допустим, ..."): the next clause of the sentence is its condition
    hypothetical_lead: tuple[tuple[frozenset[int], ...], ...] = ()
    generic_articles: frozenset[str] = frozenset()
    first_person: frozenset[str] = frozenset()
    # someone else's past story ("a mi amiga se le hincharon los labios el año pasado"): a
    # sentence with one of ``story_others`` and one of ``story_past`` sets its matches aside,
    # unless the message says it is happening now (``story_present``)
    story_others: frozenset[int] = frozenset()
    story_past: tuple[tuple[frozenset[int], ...], ...] = ()
    # phrases with a past word in them that tell no past ("auf einmal", suddenly): a past word
    # inside one is not read as past
    story_not_past: tuple[tuple[frozenset[int], ...], ...] = ()
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
    # a hedge followed by one of these words is no hedge: Egyptian "مش عارفة تتنفس" ("she
    # cannot breathe") is not "مش عارفة" ("i dont know") before a verb
    not_hedged_before: frozenset[int] = frozenset()
    # a negation that follows the verb it negates ("meine Augen tränen nicht", "die Lippen
    # schwellen nicht an"): right after a match's last word, unless the word after it says
    # the sign does not go away or is only limited ("schwillt nicht ab", "nicht nur")
    verb_negations: frozenset[str] = frozenset()
    verb_negation_kept: frozenset[str] = frozenset()
    # an inability verb form read as one lexicon word (Turkish "alamıyorum", "açamıyorum"):
    # a match with one is negative already, so "hiç" (at all) before it only stresses it
    inability: re.Pattern[str] | None = None
    concord: frozenset[str] = frozenset()  # negative words that stress a negative match
    # what did not happen ("schlimmer statt besser", "peor en vez de mejorar"): a resolved word
    # just after one of these resolves nothing
    instead: tuple[tuple[frozenset[int], ...], ...] = ()
    # "no more" said without a negation word (French "plus de rougeur", the "ne" dropped): at
    # the start of a clause the sequence's first word is a negation ("plus de rougeur, juste
    # sec"); elsewhere it is a comparison ("de plus en plus de rougeur")
    no_more: tuple[tuple[frozenset[int], ...], ...] = ()
    # "no longer" told by a verb between its two halves (French "ce n'est plus gonflé", "elles
    # ne sont plus rouges"): the sequence's last word ("plus") is a negation, not "more"
    no_longer: tuple[tuple[frozenset[int], ...], ...] = ()
    # the patient says elsewhere in the message that they have it now ("¿qué hago si se me
    # hinchan los labios? pregunto porque los míos se están hinchando"): a hypothetical marker
    # cancels nothing when one of these is found outside the match's clause, in a clause with
    # no negation and no resolved word
    confirmed: tuple[tuple[frozenset[int], ...], ...] = ()
    # rule-out questions and sign advice in this language (keys: followups.yaml question ids,
    # sign_advice.yaml group ids); ``check`` phrases ask a question instead of guessing
    follow_ups: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # id -> text, no
    buttons: tuple[str, str] = ("", "")
    # rule-out answers typed instead of tapped (yes, no), in ``answer_words`` form
    typed_answers: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset())
    sign_advice: Mapping[str, str] = field(default_factory=dict)  # group id -> text
    checks: tuple[Phrase, ...] = ()  # sign = the question id
    # the systemic half of each "far:" fever phrase (a racing heart, confusion): with a fever
    # anywhere in the message it is the emergency sign, whichever clause each is in
    systemic: tuple[Phrase, ...] = ()
    hours: Mapping[str, Any] = field(default_factory=dict)  # clinic-hours sentences, words
    # a relative clause between commas parts a subject from its state ("la hinchazón, que
    # ayer era poca, ahora está en los labios"): the message is read again without it
    relative_re: re.Pattern[str] | None = None
    # a resolved word that tells where the needle went, not that a sign went ("onde passou
    # a agulha", "donde pasó la aguja"): within one of these it resolves nothing
    not_resolved: tuple[tuple[frozenset[int], ...], ...] = ()
    # how the templates speak of the clinic: the quote marks around its configured name and
    # the emergency number text when none is configured (the file's ``clinic`` section)
    wording: Wording | None = None
    # "also" after "and" lists something new ("la cara hinchada y también los labios secos"):
    # a placement across one holds only when nothing follows it in its clause (the ellipsis
    # "y también los labios" shares the state; "los labios secos" has its own)
    joiners: frozenset[str] = frozenset()
    # a session still to come ("mi cita es mañana"): a cold sore in a sentence that names a
    # session and then a time ahead is a booking matter (guidance 2.17), not an outbreak alert
    booking_sessions: frozenset[int] = frozenset()
    booking_ahead: frozenset[int] = frozenset()
    # a time ahead that may come before the session word, within three words ("yarın
    # randevum var", "mañana tengo sesión"): Turkish puts the time first
    booking_before: frozenset[int] = frozenset()
    # an onset now after a history ("j'ai souvent des boutons de fièvre et je sens qu'un
    # commence"): in a sentence that does not ask, the history marker cancels nothing
    onset: tuple[tuple[frozenset[int], ...], ...] = ()
    # words that name something else in a row ("un bleu" is a bruise, "blauer Fleck" too,
    # "bouton de fièvre" a cold sore, "fark göremiyorum" no difference seen): a placement of
    # the sign that uses one of their words is no sign (``not_sign``, by sign id)
    other_senses: Mapping[str, tuple[tuple[frozenset[int], ...], ...]] = field(
        default_factory=dict)

    # keyed by patients' words: emptied by knowledge.text.forget_texts
    _cache: WordCache[tuple[frozenset[int], str, bool]] = field(
        default_factory=WordCache, compare=False, repr=False)

    @cached_property
    def texts(self) -> Catalogue:
        """The patient-facing texts, looked up like every other text through a `Catalogue`
        (knowledge/catalogue.py), with keys laid out as in the file: ``messages.<key>``,
        ``hours.<key>`` (the same keys as the bot's ``hours`` section), ``sign_advice.<group>``,
        ``follow_ups.<question id>.text`` / ``.no_reply``, ``buttons.yes`` / ``buttons.no``; the
        clinic named in the language's own way (`Wording`: ``{clinic_named}``, ``{emergency}``)."""
        follow_ups = {qid: {"text": text, "no_reply": no_reply}
                      for qid, (text, no_reply) in self.follow_ups.items()}
        buttons = ({"yes": self.buttons[0], "no": self.buttons[1]} if all(self.buttons)
                   else {})
        return Catalogue({"messages": dict(self.messages), "hours": dict(self.hours),
                          "sign_advice": dict(self.sign_advice), "follow_ups": follow_ups,
                          "buttons": buttons}, wording=self.wording)

    def warm_up(self) -> None:
        """Build now what the pack builds on first use: its typo index and its texts."""
        _ = self.vocabulary.deletions, self.texts

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
    if (not found and len(token) >= MIN_FUZZY - 1 and not token.isdigit()
            and token not in pack.not_typos):
        found.update(_fuzzy(vocab, token))
        fuzzy = bool(found)
    form_kind = "" if plain or not (negative or conditional) else (
        "negative" if negative else "conditional")
    return frozenset(found), form_kind, fuzzy


def _fuzzy(vocab: Vocabulary, token: str) -> set[int]:
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
        if length < MIN_FUZZY:
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


