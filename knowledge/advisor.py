"""The answer a patient gets for one message: triage first, then scope, small talk, the matcher.

``Advisor.ask(text, day)`` returns an ``Advice``: the full reply text, the topic it answered (or
None when it abstained or only suggested), the calibrated confidence, and whether staff must be
alerted. It knows nothing about Telegram or databases, so the bot, the terminal demo, the
``aftercare ask`` command and the tests all share it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from knowledge.guards import ScopeGuard, load_scope, smalltalk_kind
from knowledge.language import Detection
from knowledge.loader import load_kb
from knowledge.matcher import Matcher, MatchResult
from knowledge.multilingual import Multilingual, Reading
from knowledge.schema import Entry, KnowledgeBase
from knowledge.text import FILLER, STOPWORDS, SYNONYMS, looks_like_gibberish
from knowledge.timewords import Ahead, days_ahead
from knowledge.triage import Triage, TriageDecision, load_triage
from knowledge.yamlfile import read_yaml

PACKAGED_MESSAGES = Path(__file__).parent / "messages.yaml"
Kind = Literal["answered", "suggested", "abstained", "escalated", "smalltalk", "foreign"]
_TIER_RANK = {"emergency": 0, "urgent": 1}


@dataclass(frozen=True)
class Clinic:
    """What the advice says about the clinic; filled from the bot's configuration."""

    name: str = "the clinic"
    contact: str = ""  # e.g. "020 7946 0000"; shown after "contact the clinic"
    emergency: str = "999 in the UK, 112 in the EU, 911 in the US"


@dataclass(frozen=True)
class Suggestion:
    """A knowledge-base entry offered as a button."""

    entry_id: str
    title: str


@dataclass(frozen=True)
class Advice:
    """The reply to one patient message, and why."""

    answer: str
    kind: Kind
    topic: str | None = None
    confidence: float = 0.0
    urgency: str | None = None
    suggestions: tuple[Suggestion, ...] = ()
    triage: TriageDecision | None = None
    offer_handoff: bool = False
    routine_review: bool = False
    day: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    language: str = "en"  # ISO 639-1 code of the language the reply is written in
    detected: Detection | None = None  # the detected language, when not English

    @property
    def escalate(self) -> bool:
        return self.urgency is not None

    @property
    def foreign(self) -> bool:
        """A message in another language that the bot could not read (no sign recognised)."""
        return self.kind == "foreign"

    def to_json(self) -> dict[str, Any]:
        """The documented ``aftercare ask --json`` object."""
        return {
            "answer": self.answer,
            "topic": self.topic,
            "confidence": round(self.confidence, 3),
            "escalate": self.escalate,
            "urgency": self.urgency,
            "suggestions": [s.title for s in self.suggestions],
            "language": self.detected.code if self.detected else "en",
        }


class Advisor:
    """Turns a message and a recovery day into ``Advice``."""

    def __init__(self, kb: KnowledgeBase, triage: Triage, scope: ScopeGuard,
                 messages: dict[str, Any], clinic: Clinic | None = None,
                 languages: Multilingual | None = None) -> None:
        self.kb = kb
        self.matcher = Matcher(kb)
        self.triage = triage
        self.scope = scope
        self.messages = messages
        self.clinic = clinic or Clinic()
        self.languages = languages

    @classmethod
    def load(cls, kb_path: Path | None = None, clinic: Clinic | None = None) -> Advisor:
        """Build from the data files: the knowledge base at `kb_path` (default: packaged)."""
        kb, triage = load_kb(kb_path), load_triage()
        messages = read_yaml(PACKAGED_MESSAGES)
        languages = Multilingual.load(triage.signs, english_vocabulary(kb, triage),
                                      messages.get("languages", {}).get("names", {}))
        return cls(kb, triage, load_scope(), messages, clinic, languages)

    def text(self, key: str, **values: Any) -> str:
        """A message from messages.yaml (dotted key), with the clinic's details filled in."""
        node: Any = self.messages
        for part in key.split("."):
            node = node[part]
        contact = f" ({self.clinic.contact})" if self.clinic.contact else ""
        return str(node).format(clinic=self.clinic.name, clinic_contact=contact,
                                emergency=self.clinic.emergency, **values)

    def ask(self, text: str, day: int | None = None, language_hint: str | None = None,
            weekday: int | None = None) -> Advice:
        """Triage, then out-of-scope, small talk and the knowledge base, in that order.

        A message in another language is triaged with that language's sign lexicon too
        (``knowledge/multilingual.py``) and answered from its templates; ``language_hint`` is
        the patient's Telegram ``language_code``, a hint only. ``weekday`` (Monday = 0, today in
        the patient's zone) lets "at the weekend" and weekday names be answered for that day;
        "tomorrow" and "in 3 days" need only ``day``.
        """
        decision = self.triage.assess(text, day)
        reading = self.languages.read(text, day, language_hint) if self.languages else None
        if reading is not None:
            return self._other_language(reading, decision, day)
        if decision.urgency is not None:
            return self._escalate(decision, day)
        kind = smalltalk_kind(text)
        if kind is not None:
            return Advice(self.text(f"smalltalk.{kind}"), "smalltalk", topic="smalltalk",
                          confidence=1.0, day=day)
        if looks_like_gibberish(text):
            return self._gibberish(day)
        category = self.scope.category(text)
        entry = self.kb.by_id(self.scope.answer_entry(category) or "") if category else None
        if entry is not None:
            return self._answer(entry, 1.0, day)
        if category is not None:
            return Advice(self.text(f"scope.{category}"), "abstained", day=day,
                          offer_handoff=True, extra={"scope": category})
        advice = self._from_match(self.matcher.match(text), day, days_ahead(text, weekday))
        if decision.routine_review:
            return self._with_review(advice, decision)
        return advice

    def answer_entry(self, entry_id: str, day: int | None) -> Advice | None:
        """The answer for a chosen suggestion (None for an unknown id)."""
        entry = self.kb.by_id(entry_id)
        return None if entry is None else self._answer(entry, 1.0, day)

    def _from_match(self, result: MatchResult, day: int | None,
                    ahead: Ahead | None = None) -> Advice:
        confidence = result.confidence
        if result.outcome == "answer" and result.entry_id is not None:
            entry = self.kb.by_id(result.entry_id)
            assert entry is not None
            if ahead is not None and day is not None and entry.answer.day_aware:
                return self._answer_ahead(entry, confidence, day, ahead)
            return self._answer(entry, confidence, day)
        if result.outcome == "suggest":
            suggestions = tuple(self._suggestion(c.entry_id) for c in result.candidates)
            return Advice(self.text("suggest"), "suggested", confidence=confidence,
                          suggestions=suggestions, offer_handoff=True, day=day)
        return Advice(self.text("abstain"), "abstained", confidence=confidence,
                      offer_handoff=True, day=day)

    def _answer(self, entry: Entry, confidence: float, day: int | None) -> Advice:
        body, used_day = entry.answer.for_day(day)
        if used_day and day is not None:
            prefix = self.text("day_prefix.zero" if day == 0 else "day_prefix.other", day=day)
            body = f"{prefix} {body}"
        return Advice(body, "answered", topic=entry.id, confidence=confidence,
                      offer_handoff=entry.handoff, day=day)

    def _answer_ahead(self, entry: Entry, confidence: float, day: int, ahead: Ahead) -> Advice:
        """The answer for the day the patient asked about ("tomorrow" on day 1 is day 2)."""
        later = day + ahead.days
        body, used_day = entry.answer.for_day(later)
        if used_day:
            prefix = self.text("day_prefix.ahead", when=ahead.phrase, day=later)
            body = f"{prefix} {body}"
        return Advice(body, "answered", topic=entry.id, confidence=confidence,
                      offer_handoff=entry.handoff, day=day, extra={"answered_for_day": later})

    def _suggestion(self, entry_id: str) -> Suggestion:
        entry = self.kb.by_id(entry_id)
        return Suggestion(entry_id, entry.title if entry else entry_id)

    def _gibberish(self, day: int | None) -> Advice:
        popular = [self._suggestion(e) for e in self.messages.get("popular_topics", [])
                   if self.kb.by_id(e) is not None]
        return Advice(self.text("gibberish"), "abstained", suggestions=tuple(popular[:3]),
                      offer_handoff=True, day=day)

    def _escalate(self, decision: TriageDecision, day: int | None) -> Advice:
        assert decision.urgency is not None
        return Advice(self.text(decision.urgency), "escalated", topic=f"red_flag.{decision.sign}",
                      confidence=1.0, urgency=decision.urgency, triage=decision, day=day)

    def language_text(self, language: str, key: str) -> str:
        """A patient template in ``language`` (``knowledge/languages/``), English when the bot
        has none for that language; with the clinic's details filled in."""
        template = self.languages.template(language, key) if self.languages else None
        if template is None:
            return self.text(f"languages.{key}") if key in self.messages.get(
                "languages", {}) else self.text(key)
        contact = f" ({self.clinic.contact})" if self.clinic.contact else ""
        return template.format(clinic=self.clinic.name, clinic_contact=contact,
                               emergency=self.clinic.emergency)

    def language_name(self, code: str) -> str:
        """The English name of a language for staff ("Spanish")."""
        return self.languages.name(code) if self.languages else code

    def _other_language(self, reading: Reading, english: TriageDecision,
                        day: int | None) -> Advice:
        """A message not in English: the most serious sign either reader found, answered in
        the patient's language; else small talk, else "I can only read English"."""
        decision = reading.decision
        # The English rules cannot see "pas de pus" as a negation: they speak only for a
        # language the bot has no lexicon for ("pus" or "38.5" in Dutch still raise the alarm).
        if not reading.detection.supported and english.urgency is not None and (
                decision.urgency is None
                or _TIER_RANK[english.urgency] < _TIER_RANK[decision.urgency]):
            decision = english
        language = reading.language
        extra: dict[str, Any] = {"language": reading.detection.code,
                                 "language_name": self.language_name(reading.detection.code)}
        if decision.urgency is not None:
            return Advice(self.language_text(language, decision.urgency), "escalated",
                          topic=f"red_flag.{decision.sign}", confidence=1.0,
                          urgency=decision.urgency, triage=decision, day=day, extra=extra,
                          language=language, detected=reading.detection)
        if reading.smalltalk:
            return Advice(self.language_text(language, "smalltalk"), "smalltalk",
                          topic="smalltalk", confidence=1.0, day=day, extra=extra,
                          language=language, detected=reading.detection)
        return Advice(self.language_text(language, "english_only"), "foreign",
                      offer_handoff=True, day=day, extra=extra, language=language,
                      detected=reading.detection)

    def _with_review(self, advice: Advice, decision: TriageDecision) -> Advice:
        note = self.text("routine_review")
        return Advice(f"{advice.answer}\n\n{note}", advice.kind, topic=advice.topic,
                      confidence=advice.confidence, suggestions=advice.suggestions,
                      triage=decision, offer_handoff=True, routine_review=True, day=advice.day)


_PATTERN_ESCAPES = re.compile(r"\\[a-zA-Z]")
_WORDS = re.compile(r"[a-z]{2,}")


def english_vocabulary(kb: KnowledgeBase, triage: Triage) -> set[str]:
    """Words the bot knows as English: the knowledge base, the triage rules' words and the
    function words; a Latin-script message made mostly of these is read as English."""
    words: set[str] = set(STOPWORDS) | set(FILLER) | set(SYNONYMS) | {"i", "a"}
    texts: list[str] = []
    for entry in kb.entries:
        texts += [entry.title, *entry.questions, *entry.keywords, entry.answer.unknown,
                  *(window.text for window in entry.answer.windows)]
    patterns: Iterable[Any] = (sign.primary.regex for sign in triage.signs)
    texts += [_PATTERN_ESCAPES.sub(" ", p.pattern) for p in patterns if p is not None]
    for text in texts:
        words.update(_WORDS.findall(text.lower().replace("'", "")))
    return words
