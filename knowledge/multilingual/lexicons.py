"""Every language pack, and the reading of one message in a list of languages: the most serious
sign found (between languages, the reading with fewer typo fixes), or a rule-out question."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from knowledge.catalogue import Catalogue
from knowledge.errors import KBError, Problem
from knowledge.multilingual.fever import fever_reading
from knowledge.multilingual.fold import TOKEN, fold, split_word
from knowledge.multilingual.guards import (
    booking,
    delight,
    general_question,
    over,
    protocol_question,
    story,
)
from knowledge.multilingual.lexicon import FEVER_SIGN, SYSTEMIC_SIGN, TIER_RANK, LanguagePack
from knowledge.multilingual.message import Message
from knowledge.multilingual.placing import find, typo_count
from knowledge.triage import REVIEW, Sign, TriageDecision

# "a bit red still" on day 5+ is the guidance's routine review, not strong redness
MILD_CANCELS = frozenset(["redness_lasting", "swelling_lasting"])
# redness or swelling still there (or not getting better) is urgent from day 5 and the
# guidance's routine review on days 3-4, as in English, where both signs share one list of
# patterns: a lexicon's phrases for the urgent sign read as its review twin on the twin's days
REVIEW_TWINS = {"redness_lasting": "redness_not_improving",
                "swelling_lasting": "swelling_not_improving"}
# a review sign ranks below every alert
READ_RANK = {**TIER_RANK, REVIEW: len(TIER_RANK)}


@dataclass(frozen=True)
class ForeignReading:
    """What the lexicons found in a message: the decision and the language it was read in."""

    decision: TriageDecision
    language: str | None  # the language whose lexicon recognised the sign


class Lexicons:
    """Every language pack, and the reading of one message in a list of languages."""

    def __init__(self, packs: Mapping[str, LanguagePack], signs: Mapping[str, Sign]) -> None:
        # kept as given: a lazy mapping (``loading.LazyPacks``) reads each file on first use
        self.packs = packs
        self.signs = dict(signs)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(self.packs)

    def load_all(self) -> None:
        """Read every language's pack now (a lazy mapping reads each file on its first use):
        what start-up does, so a broken language file stops it as every other data file does,
        instead of failing at a patient's first message in that language. Raises ``KBError``
        listing every problem of every file, with file and line."""
        problems: list[Problem] = []
        for code in self.codes:
            try:
                self.packs[code]
            except KBError as exc:
                problems += exc.problems
        if problems:
            raise KBError(problems)

    def warm_up(self) -> None:
        """Read every pack (``load_all``) and build what each builds on first use."""
        self.load_all()
        for pack in self.packs.values():
            pack.warm_up()

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
            words = [w for m in TOKEN.finditer(fold(text)) for w in split_word(m.group(0))]
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
                rank = (READ_RANK[sign.tier], typos)
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
        others.sort(key=lambda sign_id: READ_RANK[self.signs[sign_id].tier])
        day_label = "day unknown" if day is None else f"day {day}"
        if sign.tier == REVIEW:  # no alert; the rule-out question still asked when unsure
            pack = self.packs.get(code)
            question = None if exact or pack is None else self._check(pack, text)
            decision = TriageDecision(
                sign=sign.id, rule=f"{sign.rule} ({day_label})", evidence=evidence,
                routine_review=True, day=day, others=tuple(others), follow_up=question)
            return ForeignReading(decision, code)
        decision = TriageDecision(
            urgency=sign.tier, sign=sign.id, rule=f"{sign.rule} ({day_label})",
            evidence=evidence, day=day, others=tuple(others))
        return ForeignReading(decision, code)

    def _check(self, pack: LanguagePack, text: str) -> str | None:
        """The rule-out question a message asks for (``check`` phrases: dizzy, a strange
        throat, worried about infection), when the language has that question's words."""
        if not pack.checks:
            return None
        message = Message(pack, text)
        for phrase in pack.checks:
            if phrase.sign not in pack.follow_ups:
                continue
            placed = find(message, phrase)
            if placed is not None and not story(message, placed[0]):
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
        message = Message(pack, text)
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
                twin = self.signs.get(REVIEW_TWINS.get(phrase.sign, ""))
                if twin is None or not twin.applies_on(day) or twin.id in found:
                    continue
                sign = twin
            placed = find(message, phrase, phrase.sign in MILD_CANCELS)
            if placed is not None and (story(message, placed[0])
                                       or general_question(message, placed[0])
                                       or protocol_question(message, placed[0])
                                       or delight(message, phrase, placed[0])
                                       or booking(message, phrase, placed[0])
                                       or over(message, placed[1])):
                continue
            if placed is not None:
                found[sign.id] = (sign, message.evidence(placed[0], placed[1]),
                                  typo_count(message, placed[2]))
        fever = self.signs.get(FEVER_SIGN)
        if fever is not None and FEVER_SIGN not in found and fever.applies_on(day):
            reading = fever_reading(message)
            if reading is not None:
                found[FEVER_SIGN] = (fever, message.evidence(reading[0], reading[1]), 0)
        systemic = self.signs.get(SYSTEMIC_SIGN)
        if (FEVER_SIGN in found and systemic is not None and SYSTEMIC_SIGN not in found
                and systemic.applies_on(day)):
            # fever in one clause, a racing heart or confusion in another ("Fieber 39,
            # Herzrasen"): the systemic part of each fever phrase, anywhere in the message
            for phrase in pack.systemic:
                placed = find(message, phrase)
                if placed is not None and not story(message, placed[0]):
                    evidence = f"{found[FEVER_SIGN][1]} + {message.evidence(placed[0], placed[1])}"
                    found[SYSTEMIC_SIGN] = (systemic, evidence, typo_count(message, placed[2]))
                    break
        return sorted(found.values(), key=lambda item: READ_RANK[item[0].tier])
