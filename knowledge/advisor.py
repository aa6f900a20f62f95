"""The answer a patient gets for one message: triage first, then scope, small talk, the matcher.

``Advisor.ask(text, day)`` returns an ``Advice``: the full reply text, the topic it answered (or
None when it abstained or only suggested), the calibrated confidence, and whether staff must be
alerted. It knows nothing about Telegram or databases, so the bot, the terminal demo, the
``aftercare ask`` command and the tests all share it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from knowledge.guards import ScopeGuard, load_scope, smalltalk_kind
from knowledge.loader import load_kb
from knowledge.matcher import Matcher, MatchResult
from knowledge.schema import Entry, KnowledgeBase
from knowledge.text import looks_like_gibberish
from knowledge.triage import Triage, TriageDecision, load_triage
from knowledge.yamlfile import read_yaml

PACKAGED_MESSAGES = Path(__file__).parent / "messages.yaml"
Kind = Literal["answered", "suggested", "abstained", "escalated", "smalltalk"]


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

    @property
    def escalate(self) -> bool:
        return self.urgency is not None

    def to_json(self) -> dict[str, Any]:
        """The documented ``aftercare ask --json`` object."""
        return {
            "answer": self.answer,
            "topic": self.topic,
            "confidence": round(self.confidence, 3),
            "escalate": self.escalate,
            "urgency": self.urgency,
            "suggestions": [s.title for s in self.suggestions],
        }


class Advisor:
    """Turns a message and a recovery day into ``Advice``."""

    def __init__(self, kb: KnowledgeBase, triage: Triage, scope: ScopeGuard,
                 messages: dict[str, Any], clinic: Clinic | None = None) -> None:
        self.kb = kb
        self.matcher = Matcher(kb)
        self.triage = triage
        self.scope = scope
        self.messages = messages
        self.clinic = clinic or Clinic()

    @classmethod
    def load(cls, kb_path: Path | None = None, clinic: Clinic | None = None) -> Advisor:
        """Build from the packaged (or ``AFTERCARE_KB_PATH``) data files."""
        return cls(load_kb(kb_path), load_triage(), load_scope(), read_yaml(PACKAGED_MESSAGES),
                   clinic)

    def text(self, key: str, **values: Any) -> str:
        """A message from messages.yaml (dotted key), with the clinic's details filled in."""
        node: Any = self.messages
        for part in key.split("."):
            node = node[part]
        contact = f" ({self.clinic.contact})" if self.clinic.contact else ""
        return str(node).format(clinic=self.clinic.name, clinic_contact=contact,
                                emergency=self.clinic.emergency, **values)

    def ask(self, text: str, day: int | None = None) -> Advice:
        """Triage, then out-of-scope, small talk and the knowledge base, in that order."""
        decision = self.triage.assess(text, day)
        if decision.urgency is not None:
            return self._escalate(decision, day)
        kind = smalltalk_kind(text)
        if kind is not None:
            return Advice(self.text(f"smalltalk.{kind}"), "smalltalk", topic="smalltalk",
                          confidence=1.0, day=day)
        if looks_like_gibberish(text):
            return self._gibberish(day)
        category = self.scope.category(text)
        if category is not None:
            return Advice(self.text(f"scope.{category}"), "abstained", day=day,
                          offer_handoff=True, extra={"scope": category})
        advice = self._from_match(self.matcher.match(text), day)
        if decision.routine_review:
            return self._with_review(advice, decision)
        return advice

    def answer_entry(self, entry_id: str, day: int | None) -> Advice | None:
        """The answer for a chosen suggestion (None for an unknown id)."""
        entry = self.kb.by_id(entry_id)
        return None if entry is None else self._answer(entry, 1.0, day)

    def _from_match(self, result: MatchResult, day: int | None) -> Advice:
        confidence = result.confidence
        if result.outcome == "answer" and result.entry_id is not None:
            entry = self.kb.by_id(result.entry_id)
            assert entry is not None
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

    def _with_review(self, advice: Advice, decision: TriageDecision) -> Advice:
        note = self.text("routine_review")
        return Advice(f"{advice.answer}\n\n{note}", advice.kind, topic=advice.topic,
                      confidence=advice.confidence, suggestions=advice.suggestions,
                      triage=decision, offer_handoff=True, routine_review=True, day=advice.day)
