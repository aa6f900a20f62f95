"""The triage engine: ``Triage`` holds the loaded rules and classifies one message for a recovery
day (prepare, match each sign, decide, ask the second detectors)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from knowledge.triage.decide import decide, second_opinion
from knowledge.triage.message import Hit, Message
from knowledge.triage.rules import Fever, Language, Sign
from knowledge.triage.signs import fire
from knowledge.triage.tiers import EMERGENCY, TriageDecision

if TYPE_CHECKING:
    from knowledge.detectors import Detector

log = logging.getLogger("knowledge.triage")

class Triage:
    """Loaded triage rules; ``assess`` classifies one message for a recovery day."""

    def __init__(self, signs: tuple[Sign, ...], lang: Language, fever: Fever, path: str,
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
        message = Message(text or "", self._lang, self._fever)
        # Each sign's patterns are one compiled regex, searched once per message (matches are
        # cached on the message); no extra all-signs regex: compiling it cost start-up time.
        fired: list[tuple[Sign, list[Hit]]] = []
        for sign in self.signs:
            if not sign.applies_on(day):
                continue
            hits = fire(sign, message)
            if hits is not None:
                fired.append((sign, hits))
        decision = decide(fired, message, day)
        if self.detectors and decision.urgency != EMERGENCY:
            decision = second_opinion(decision, message, day, self.detectors, self._by_id)
        if decision.sign is not None:
            log.debug("triage: %s", decision.reason)
        return decision
