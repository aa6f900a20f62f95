"""Triage tiers and the decision: the tier names and their order, and ``TriageDecision``, the
outcome of triaging one message with the one line staff see."""

from __future__ import annotations

from dataclasses import dataclass

EMERGENCY = "emergency"
URGENT = "urgent"
REVIEW = "review"  # the guidance's "routine review": no alert
CHECK = "check"  # neither clearly normal nor clearly a red flag: ask a one-tap rule-out question
TIER_RANK = {EMERGENCY: 0, URGENT: 1, REVIEW: 2, CHECK: 3}
FEVER_READING = "@fever_reading"
RAISE_MARGIN = 0.2  # a second detector overrules an urgent reading of the rules only this far
# above its own threshold


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
    # the whole message is an English question asked in general ("whats a granuloma?": one
    # hypothetical span holds every word): no other language's lexicon reads it again
    in_general: bool = False
    # emergency and urgent signs only asked about or told as a story, not reported ("what if
    # my lips swell?", "my friend's lips swelled after hers"), most serious first: the advisor
    # answers such a message with the warning signs
    asked: tuple[str, ...] = ()
    # what the message says outside those questions and stories ("what if i get a fever, how
    # much is a session?": "how much is a session?"); "" when nothing
    asked_rest: str = ""
    # someone else's past sign told, then a question about the writer's own future ("my mate
    # had pus after his last year, what should i look out for?"; ``Message.story_asked``):
    # the advisor answers the warning signs
    story_asked: bool = False

    @property
    def escalate(self) -> bool:
        """True when staff must be alerted (emergency or urgent)."""
        return self.urgency is not None

    @property
    def reason(self) -> str:
        """One line for staff: tier, sign, rule (with the day) and the patient's words."""
        if self.sign is None:
            return f"no red flag ({day_label(self.day)})"
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


def day_label(day: int | None) -> str:
    return "day unknown" if day is None else f"day {day}"

