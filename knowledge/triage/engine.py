"""The triage engine: ``Triage`` holds the loaded rules and classifies one message for a recovery
day (prepare, match each sign, decide, ask the second detectors)."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from knowledge.findings import Warms
from knowledge.triage.decide import decide, second_opinion
from knowledge.triage.message import Hit, Message
from knowledge.triage.prefilter import Prefilter
from knowledge.triage.rules import Fever, Language, Sign
from knowledge.triage.signs import fire, may_fire
from knowledge.triage.tiers import EMERGENCY, TriageDecision

if TYPE_CHECKING:
    from knowledge.detectors import Detector

log = logging.getLogger("knowledge.triage")

class Triage:
    """Loaded triage rules; ``assess`` classifies one message for a recovery day."""

    def __init__(self, signs: tuple[Sign, ...], lang: Language, fever: Fever, path: str,
                 detectors: tuple[Detector, ...] = (), prefilter: Prefilter | None = None) -> None:
        self.signs = signs
        self.path = path
        self._lang = lang
        self._fever = fever
        self.detectors = detectors
        self._by_id = {sign.id: sign for sign in signs}
        # the literal words of every sign's patterns and the language's large regexes, looked
        # for in one pass per message
        self._prefilter = prefilter or Prefilter(
            alternatives for alternatives in (
                *(matcher.alternatives for sign in signs
                  for matcher in (sign.primary, *sign.with_groups,
                                  *((sign.without,) if sign.without is not None else ()))),
                *lang.split.values())
            if alternatives is not None)

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
        return Triage(self.signs, self._lang, self._fever, self.path, detectors, self._prefilter)

    def warm_up(self) -> None:
        """Build now what messages otherwise build when one first needs it: every sign's
        patterns compiled, whole and one by one (``rules.Rule``, ``prefilter.Alternatives``),
        the language's large lists one by one, and what the second detectors build on first
        use. The same objects a message would build, so answers do not change; a message
        answered meanwhile (in another thread) builds what it needs itself (a rule is
        compiled once, the threads asking waiting for it; a pattern compiled twice is the same
        pattern)."""
        for sign in self.signs:
            sign.warm_up()
        for alternatives in self._lang.split.values():
            alternatives.warm_up()
        for detector in self.detectors:
            if isinstance(detector, Warms):
                detector.warm_up()

    def assess(self, text: str, day: int | None) -> TriageDecision:
        """Classify ``text`` sent on recovery ``day`` (None when the day is unknown)."""
        # Each sign's patterns are one compiled regex, searched once per message (matches are
        # cached on the message), and only when one of its literal words is in the message.
        message = Message(text or "", self._lang, self._fever, self._prefilter)
        fired: list[tuple[Sign, list[Hit]]] = []
        for sign in self.signs:
            if not sign.applies_on(day) or not may_fire(sign, message):
                continue
            hits = fire(sign, message)
            if hits is not None:
                fired.append((sign, hits))
        decision = decide(fired, message, day)
        if self.detectors and decision.urgency != EMERGENCY:
            decision = second_opinion(decision, message, day, self.detectors, self._by_id)
        if decision.urgency is None and message.all_hypothetical():
            decision = replace(decision, in_general=True)
        if decision.sign is not None:
            log.debug("triage: %s", decision.reason)
        return decision
