"""The decision: the most serious sign that fired sets the tier (with its rule-out question for
review and check tiers), and second detectors may raise it, never lower it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from knowledge.triage.message import Hit, Message
from knowledge.triage.rules import Sign
from knowledge.triage.tiers import (
    CHECK,
    EMERGENCY,
    RAISE_MARGIN,
    REVIEW,
    TIER_RANK,
    URGENT,
    TriageDecision,
    day_label,
)

if TYPE_CHECKING:
    from knowledge.detectors import Detector

def decide(fired: list[tuple[Sign, list[Hit]]], message: Message,
           day: int | None) -> TriageDecision:
    """The decision of the rules: the most serious sign that fired (file order within a tier),
    with the others named; no sign: the rule-out question of a red flag only asked about."""
    # red flags only asked about or told as a story, most serious first (file order within a
    # tier), for the advisor's answer; they never set the tier
    asked = tuple(sign_id for sign_id, _ in sorted(message.asked_signs,
                                                     key=lambda item: TIER_RANK[item[1]]))
    if not fired:
        # a red flag only asked about ("is pus ever normal?", "what if my lips swell?"):
        # no alert, but the rule-out question of its most serious sign
        follow_up = message.asked_about[0] if message.asked_about else None
        return TriageDecision(day=day, follow_up=follow_up, asked=asked,
                              asked_rest=message.outside(message.asked_spans) if asked else "",
                              story_asked=message.story_asked())
    fired.sort(key=lambda item: TIER_RANK[item[0].tier])  # stable: file order within a tier
    sign, hits = fired[0]
    evidence = " + ".join(dict.fromkeys(message.evidence(hit) for hit in hits))
    follow_up = None
    if sign.tier in (REVIEW, CHECK):
        follow_up = next((s.ask for s, _ in fired if s.tier == CHECK and s.ask), None)
    return TriageDecision(
        urgency=sign.tier if sign.tier in (EMERGENCY, URGENT) else None,
        sign=sign.id,
        rule=f"{sign.rule} ({day_label(day)})",
        evidence=evidence,
        routine_review=sign.tier == REVIEW,
        day=day,
        others=tuple(dict.fromkeys(other.id for other, _ in fired[1:])),
        follow_up=follow_up,
        asked=asked,
        story_asked=message.story_asked(),
    )


def second_opinion(decision: TriageDecision, message: Message, day: int | None,
                   detectors: tuple[Detector, ...],
                   by_id: dict[str, Sign]) -> TriageDecision:
    """Let each second detector raise the tier (never lower it), clause by clause."""
    clauses = message.live_clauses()
    if not clauses:
        return decision
    for detector in detectors:
        finding = detector.detect(clauses, day)
        if finding is None:
            continue
        if decision.urgency is not None and (
                TIER_RANK[finding.tier] >= TIER_RANK[decision.urgency]):
            continue
        # the rules already read an urgent sign: overruling their reading to emergency
        # takes a clearly closer phrase ("blurry in one eye" is near "cant see out of one
        # eye", and is the rules' urgent eye sign); so does overruling a routine review that
        # reads the state as getting better (a sign marked ``fading``; round sixty-two: "small
        # bruise, its gone yellow and its fading" is the rules' fading bruise, only just near
        # "its gone gooey and yellow")
        settled = (decision.routine_review and decision.sign is not None
                   and (rules_sign := by_id.get(decision.sign)) is not None and rules_sign.fading)
        if (decision.urgency is not None or settled) and finding.score < min(
                getattr(detector, "threshold", 0.0) + RAISE_MARGIN, 0.95):
            continue
        sign = by_id.get(finding.sign)
        if sign is not None and not sign.applies_on(day):
            continue
        rule = sign.rule if sign is not None else finding.sign.replace("_", " ")
        decision = TriageDecision(
            urgency=finding.tier, sign=finding.sign, rule=f"{rule} ({day_label(day)})",
            evidence=finding.clause, day=day,
            others=(decision.sign,) if decision.sign else (),
            close_to=finding.reason, detector=finding.detector)
    return decision
