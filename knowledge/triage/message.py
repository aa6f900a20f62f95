"""One prepared message and the guards that read it: clause and sentence splitting, negation
(words and denied lists: "no fever, swelling or pus"), hedging, hypothetical questions, jokes,
figures of speech and other people's stories, and the live clauses a second detector reads."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from typing import NamedTuple

from knowledge.text import FILLER, STOPWORDS
from knowledge.triage.fever import fever_readings
from knowledge.triage.prefilter import Alternatives, Prefilter
from knowledge.triage.prepare import Readings, prepare
from knowledge.triage.rules import Fever, Language, Rule
from knowledge.triage.slots import read

_WORDS = re.compile(r"[a-z]+")
# a present word of ``story.present`` that is only a time ("now", "today", "just"), not a state
# told now ("her lips are swelling"): an outcome after it can still close a story
_BARE_NOW = re.compile(r"(?:right\s+)?now|currently|at\s+the\s+moment|today|tonight"
                       r"|this\s+(?:morning|afternoon|evening)|just|still")
# a denied list ("no fever, swelling or pus"): how it opens, what its items may not contain,
# how it ends
_LIST_HEAD = re.compile(
    r"\b(?:no|not|nothing|never|without|none|zero|neither|nor)\s+(?!(?:good|great|ok|okay|well|"
    r"fine|right|normal|nice|happy|sure|really|too|very|so|feeling|doing|looking|much|bad|that)"
    r"\b)[a-z]+(?:\s+[a-z]+){0,2}$")
_LIST_VERB = re.compile(
    r"\b(?:i|im|ive|my|she|shes|he|hes|they|theyre|it|its|is|are|was|were|has|have|had|got|"
    r"feels?|felt|looks?|seems?|getting|gets|keeps?|started|starting|still|now|but|just)\b")
# a clause that is only a subject ("the swelling", "my top lip") and a clause that opens with
# a verb: the subject's predicate after an aside
_BARE_SUBJECT = re.compile(r"(?:the|my|her|his|their|this|that|our|your|its)(?:\s+[a-z]+){1,2}$")
_PREDICATE = re.compile(
    r"\s*(?:is|are|was|were|would|will|should|could|might|may|has|have|had|feels?|felt|looks?|"
    r"looked|seems?|seemed|keeps?|kept|gets?|got|s|went|goes|isnt|arent|wasnt|werent|"
    r"getting|going|gone|fading|shrinking|spreading|growing|coming)\b")
_LIST_END = re.compile(r"\b(?:(?:or|nor)(?!\s+(?:something|anything|whatever|so|what)\b)|no|"
                       r"nothing|none|never)\b")


class Hit(NamedTuple):
    """One match: its span and whether a negation word inside it is part of the pattern."""

    start: int
    end: int
    licensed: bool


class Message:
    """One normalised message with its clauses, negation words and hypothetical spans."""

    def __init__(self, raw: str, lang: Language, fever: Fever,
                 prefilter: Prefilter | None = None) -> None:
        self.lang = lang
        self.fever_rules = fever
        # the message as said and each reading of it made again (``Readings``); the rules
        # search their ``text``, every reading in turn
        self.readings: Readings = prepare(raw, lang)
        self.text = self.readings.text
        # the patterns that may match the text (``prefilter``); None: not looked for, every
        # regex is searched whole
        self.candidates = None if prefilter is None else prefilter.candidates(self.text)
        # per sentence (by its start): whether it tells a story (``_sentence_story``)
        self._stories: dict[int, str | None] = {}
        self._hearsay_frame: bool | None = None
        self._asks_own_future: bool | None = None
        self.clause_starts, self.clause_ends = self._clauses()
        self.sentence_starts = [0, *(m.end() for m in lang.sentence_re.finditer(self.text))]
        self.set_aside: dict[str, str] = {}  # why a hit did not count: "joke", "story"
        self.asked_about: list[str] = []  # rule-out questions of signs only asked about
        # emergency and urgent signs only asked about or told as a story (``signs.framed``)
        self.asked_signs: list[tuple[str, str]] = []  # (sign id, tier)
        self.asked_spans: list[tuple[int, int]] = []  # the questions and stories they are in
        # clauses whose sign an exception told earlier in the sentence explains ("grit in my
        # eye and i cant see out of it"): no second detector reads them as the sign either
        self.explained: set[int] = set()
        self.negations = [m.start() for m in lang.negation_re.finditer(self.text)]
        self.hypotheticals = self._hypotheticals()
        self.figures = self.found(lang.figure_re) if lang.figure_re is not None else []
        self.list_negated = self._list_negations()
        self._fever_hits: list[Hit] | None = None
        self._reading_hits: dict[str, list[Hit]] = {}
        self.matches: dict[int, list[tuple[int, int]]] = {}  # id(rule) -> spans, found once

    def found(self, regex: re.Pattern[str]) -> list[tuple[int, int]]:
        """The spans of ``regex``'s matches in the text (``finditer``), searched with only
        those of its patterns that can match here when the language split it."""
        split = self.lang.split.get(regex.pattern)
        spans = (None if split is None or self.candidates is None
                 else split.spans(self.text, self.candidates))
        return [m.span() for m in regex.finditer(self.text)] if spans is None else spans

    def spans(self, rule: Rule, alternatives: Alternatives | None) -> list[tuple[int, int]]:
        """The spans of a sign's patterns in the text, the same way."""
        if alternatives is not None and self.candidates is not None:
            try:
                spans = alternatives.spans(self.text, self.candidates)
            except re.error:  # a bad pattern: the whole rule's compile names file and line
                spans = None
            if spans is not None:
                return spans
        return [m.span() for m in rule.compiled.finditer(self.text)]

    def _in(self, regex: re.Pattern[str], start: int, end: int) -> bool:
        """Whether ``regex`` matches in [start, end) (only the patterns that can, when split)."""
        split = self.lang.split.get(regex.pattern)
        if split is None or self.candidates is None:
            return regex.search(self.text, start, end) is not None
        return split.search(self.text, self.candidates, start, end)

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
        """Spans of hypothetical questions; none when the patient says, outside them, that
        they have it now ("what happens if a blister bursts? theres one on my cheek now")."""
        spans: list[tuple[int, int]] = []
        lang, text = self.lang, self.text
        for m_start, m_end in self.found(lang.hypothetical_re):
            brk = lang.sentence_re.search(text, m_end)
            end = brk.start() if brk else len(text)
            stop = lang.hypothetical_end_re.search(text, m_end, end)
            spans.append((m_start, stop.start() if stop else end))
        if spans and lang.hypothetical_confirmed_re is not None:
            said = [m.start() for m in lang.hypothetical_confirmed_re.finditer(text)]
            if any(not any(start <= pos < end for start, end in spans) for pos in said):
                return []
        return spans

    def clause(self, pos: int) -> tuple[int, int]:
        i = bisect_right(self.clause_starts, pos) - 1
        return self.clause_starts[i], self.clause_ends[i]

    def next_clause_end(self, end: int) -> int:
        """The end of the clause after the one that ends at ``end`` (past a clause break of
        several characters: "... yesterday but theyve gone down"), or ``end`` at the last."""
        i = bisect_left(self.clause_starts, end)
        return self.clause_ends[i] if i < len(self.clause_starts) else end

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
        if hyperbole and self.laughs(pos) and not self.real_event(pos):
            return "joke"
        if self.in_figure(pos, pos + 1 if hit_end is None else hit_end):
            return "figure"
        if self.hearsay(pos):
            return "story"
        story = self._sentence_story(start, end)
        if story == "others":  # someone else's past: the story unless the clause is the writer's
            clause_start, clause_end = self.clause(pos)
            if lang.first_person_re.search(text, clause_start, clause_end):
                return None
            # a question about what people get, answered in another sentence by the writer's
            # own ("do people get blisters after this? because i have some") is a report
            if self._confirmed_outside(start, end):
                return None
            return "story"
        return story

    def _confirmed_outside(self, start: int, end: int) -> bool:
        """Whether a sentence other than [start, end) says the writer has it now
        (``hypothetical_confirmed``: "because i have some", "mine came up this week")."""
        confirmed = self.lang.hypothetical_confirmed_re
        return confirmed is not None and any(
            not start <= m.start() < end for m in confirmed.finditer(self.text))

    def _sentence_story(self, start: int, end: int) -> str | None:
        """What the sentence [start, end) tells, read once per sentence: None (the present, or
        no story), "story" (the writer's own past) or "others" (someone else's past, a story
        in the clauses that do not speak of the writer)."""
        if start in self._stories:
            return self._stories[start]
        lang, text = self.lang, self.text
        story: str | None = None
        other = lang.story_other_re.search(text, start, end)
        # someone else's reaction closed by its outcome or cause ("..., shes fine now", "...,
        # turned out it was flu") after them: a story, whatever present word it also has ("he
        # was just the driver today"), unless the message asks what to do now
        closure = (lang.story_closed_re.search(text, other.end(), end)
                   if other is not None and lang.story_closed_re is not None else None)
        closed = (closure is not None
                  and (lang.story_asks_now_re is None
                       or lang.story_asks_now_re.search(text) is None)
                  and not self._state_now(start, closure.start()))
        if self._present(start, end) and not closed:
            story = None
        elif lang.story_self_past_re is not None and lang.story_self_past_re.search(
                text, start, end):
            story = "story"
        elif (other is not None and (closed or lang.story_past_re.search(text, start, end)
                                     or self.simple_past_asks(start, end))
              or self._told_of_another(start, end)):
            story = "others"
        self._stories[start] = story
        return story

    def asks_own_future(self) -> bool:
        """Whether the message asks about the writer's own future ("what should i look out
        for?", "so it wont happen to me", "which signs should i watch for"), and not what
        to do now ("what do i do?", ``story.asks_now``)."""
        if self._asks_own_future is None:
            lang = self.lang
            self._asks_own_future = bool(
                lang.story_own_future_re is not None
                and lang.story_own_future_re.search(self.text)
                and (lang.story_asks_now_re is None
                     or not lang.story_asks_now_re.search(self.text)))
        return self._asks_own_future

    def _told_of_another(self, start: int, end: int) -> bool:
        """Someone else's past in the sentence [start, end), read the one general way: anyone
        else named (``story.others`` or ``story.someone``: "his missus", "mrs patel from the
        office", "she"), a past (``story.past``, "a while back", or a simple past, "had",
        "ended up"), in a message that asks about the writer's own future."""
        lang, text = self.lang, self.text
        if lang.story_someone_re is None or not self.asks_own_future():
            return False
        named = (lang.story_other_re.search(text, start, end)
                 or lang.story_someone_re.search(text, start, end))
        past = (lang.story_past_re.search(text, start, end)
                or (lang.story_simple_past_re is not None
                    and lang.story_simple_past_re.search(text, start, end)))
        return bool(named and past)

    def _names_another(self, start: int, end: int) -> bool:
        """Whether [start, end) names someone else (``story.others`` or ``story.someone``)."""
        lang = self.lang
        return bool(lang.story_other_re.search(self.text, start, end)
                    or (lang.story_someone_re is not None
                        and lang.story_someone_re.search(self.text, start, end)))

    def story_asked(self) -> bool:
        """The one decision "someone else's past sign, then what should i look for": a
        sentence tells someone else's past (``_sentence_story``) naming a sign or the
        treatment (``story.told``) with no cause of its own (``story.other_cause``: a jab, a
        medicine, a sting), and the message asks about the writer's own future. Said
        to the advisor as ``TriageDecision.story_asked`` (the warning signs answer it)."""
        told, cause = self.lang.story_told_re, self.lang.story_other_cause_re
        if told is None or not self.asks_own_future():
            return False
        starts = self.sentence_starts
        for index, start in enumerate(starts):
            end = starts[index + 1] if index + 1 < len(starts) else len(self.text)
            if not told.search(self.text, start, end) or (
                    cause is not None and cause.search(self.text, start, end)):
                continue
            story = self._sentence_story(start, end)
            # (a story dated long ago reads as the writer's own past first, "years ago":
            # someone else named in it makes it theirs)
            if story == "others" or (story == "story" and self._names_another(start, end)):
                return True
        return False

    def _state_now(self, start: int, end: int) -> bool:
        """Whether [start, end) tells a state now in more than a bare time word ("my husbands lips
        are swelling after a sting, it went down by morning last time"): an outcome told after
        it is of another time, and does not make the sentence a story ("he was only the driver
        today, shes fine now" has a bare "today")."""
        return any(not _BARE_NOW.fullmatch(m.group(0))
                   for m in self.lang.story_present_re.finditer(self.text, start, end)
                   if not self.hypothetical(m.start()))

    def _present(self, start: int, end: int) -> bool:
        """Whether the sentence [start, end) says something happens now, outside a question
        others asked the writer ("... so they all wondered whether i had keeled over today, i
        hadnt": the "today" asks, it tells nothing now)."""
        present = self.lang.story_present_re
        if not self._in(present, start, end):
            return False
        if not self.hypotheticals:
            return True
        # (a present word that closes the question is the question's: "... had keeled over today")
        return any(not self.hypothetical(m.start()) and not self.hypothetical(m.start() - 1)
                   for m in present.finditer(self.text, start, end))

    def hearsay(self, pos: int) -> bool:
        """A sign named in what the patient read, watched or was sent ("my sister keeps forwarding
        me scary articles about people going blind"), with no first person between the frame
        and the sign, in a message that says the patient is fine and asks in general ("how
        common is that?"). "... and now my lips are swelling" is the patient's own."""
        lang, text = self.lang, self.text
        if lang.hearsay_re is None or lang.hearsay_fine_re is None or lang.hearsay_asks_re is None:
            return False
        if self._hearsay_frame is None:  # the same for every position: read once
            self._hearsay_frame = bool(lang.hearsay_fine_re.search(text)
                                       and lang.hearsay_asks_re.search(text))
        if not self._hearsay_frame:
            return False
        if self._named_after(lang.hearsay_re, self.clause(pos)[0], pos):
            return True
        # the sign is what the general question asks about ("how long after treatment would
        # an allergic reaction show up"), in a message that tells what was read
        return (self._named_after(lang.hearsay_asks_re, self.sentence(pos)[0], pos)
                and lang.hearsay_re.search(text) is not None)

    def _named_after(self, frame_re: re.Pattern[str], start: int, pos: int) -> bool:
        """The last ``frame_re`` match in [start, pos) with no first person after it."""
        frames = list(frame_re.finditer(self.text, start, pos))
        return bool(frames) and not self.lang.first_person_re.search(
            self.text, frames[-1].end(), pos)

    def laughs(self, pos: int) -> bool:
        """Whether the laughter of ``pos``'s sentence ("haha", "lol") covers ``pos``: a marker
        at or after it, or one before it with no turn to the present in a later clause between
        them ("i laughed at first but now i cant breathe": the laughter is over by "now"; "haha
        my face is still on fire" is one laughing clause)."""
        lang, text = self.lang, self.text
        start, end = self.sentence(pos)
        for m in lang.joke_re.finditer(text, start, end):
            if m.start() >= pos:
                # laughter after the hyperbole, then the thing said again in earnest ("wheezing
                # lol, it wont stop"): the laughter does not spare it
                earnest = lang.joke_earnest_re
                return earnest is None or earnest.search(text, m.end(), end) is None
            if lang.joke_turn_re is None:
                return True
            after = max(m.end(), self.clause(m.start())[1])
            if after >= pos or lang.joke_turn_re.search(text, after, pos) is None:
                return True
        return False

    def real_event(self, pos: int) -> bool:
        """Whether ``pos``'s sentence tells its hyperbole word as a real event (after the
        session, minutes or hours ago): laughter then does not make it a joke."""
        real = self.lang.joke_real_re
        return real is not None and real.search(self.text, *self.sentence(pos)) is not None

    def simple_past_asks(self, start: int, end: int) -> bool:
        """A simple past in the sentence and a question about the patient's own risk anywhere
        in the message ("my nephew reacted to peanuts. does the cream have nuts?"), unless the
        message asks what to do now ("my wife went grey after her session, what do i do?")."""
        lang = self.lang
        if lang.story_simple_past_re is None or lang.story_asks_re is None:
            return False
        if lang.story_asks_now_re is not None and lang.story_asks_now_re.search(self.text):
            return False  # "what do i do?": the past is today's ("my wife went grey, what do i do")
        return bool(lang.story_simple_past_re.search(self.text, start, end)
                    and lang.story_asks_re.search(self.text))

    def in_figure(self, start: int, end: int) -> bool:
        """Whether [start, end) overlaps a figure of speech ("choking on the price")."""
        return any(f_start < end and start < f_end for f_start, f_end in self.figures)

    def live_clauses(self) -> list[str]:
        """Clauses that report something: not hypothetical, not a joke or a story, and not
        negated (an inability word such as "cant" is a report, "no"/"not" is a denial). What a
        second detector reads. A bare subject parted from its predicate by an aside ("the
        swelling, i was told, would go down") is read with that predicate, or not at all when
        the predicate is not live: alone it says nothing."""
        read = [self._live_clause(index) for index in range(len(self.clause_starts))]
        live = []
        for index, clause in enumerate(read):
            if clause is None:
                continue
            if _BARE_SUBJECT.match(clause):
                predicate = self._predicate_after(index)
                if predicate is not None:
                    if read[predicate] is None:
                        continue
                    clause = f"{clause} {read[predicate]}"
            live.append(clause)
        return live

    def _predicate_after(self, index: int) -> int | None:
        """The first later clause of the same sentence that opens with a verb, if any."""
        sentence_end = self.sentence(self.clause_starts[index])[1]
        for later in range(index + 1, len(self.clause_starts)):
            start = self.clause_starts[later]
            if start >= sentence_end:
                return None
            if _PREDICATE.match(self.text, start):
                return later
        return None

    def _live_clause(self, index: int) -> str | None:
        """Clause ``index`` as a second detector reads it (figures and hypotheticals out), or
        None when it reports nothing."""
        lang, text = self.lang, self.text
        start, end = self.clause_starts[index], self.clause_ends[index]
        if index in self.list_negated or start in self.explained:
            return None
        # a hypothetical that starts inside the clause ("if i ever cant breathe
        # overnight") is left out of what the second detector reads, like a figure
        clause = self.without_figures(start, end, self.hypotheticals).strip(" .,;:!?()-")
        if clause != text[start:end].strip(" .,;:!?()-") and only_function_words(clause, lang):
            return None  # what a figure left behind ("i almost" of "i almost choked at ...")
        filler = lang.words.filler_re
        if filler is not None and only_function_words(filler.sub(" ", clause), lang):
            return None  # a hedge or filler left alone by the clause breaks ("..., i think.")
        lead = start + len(text[start:end]) - len(text[start:end].lstrip(" .,;:!?()-"))
        if not clause or self.hypothetical(start) or self.hypothetical(lead):
            return None
        words = set(lang.negation_re.findall(clause))
        if words - lang.words.inability:
            return None
        s_start, s_end = self.sentence(start)
        if lang.hyperbole_re.search(clause) and self.laughs(start) and not self.real_event(start):
            return None
        # someone else's state in a sentence that laughs ("my kids are talking nonsense
        # lol") is banter about them, not the patient's symptom
        if (lang.joke_re.search(text, s_start, s_end) and lang.story_other_re.search(clause)
                and not lang.first_person_re.search(clause)):
            return None
        if self.not_literal(start) == "story" or self.hearsay(max(start, end - 1)):
            return None  # a story, or what was read asked about in general
        return clause

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

    def all_hypothetical(self) -> bool:
        """Whether hypothetical spans hold every word of the message (a question asked in
        general, with nothing told outside it)."""
        if not self.hypotheticals:
            return False
        at = 0
        for start, end in sorted(self.hypotheticals):
            if any(ch.isalnum() for ch in self.text[at:start]):
                return False
            at = max(at, end)
        return not any(ch.isalnum() for ch in self.text[at:])

    def outside(self, spans: list[tuple[int, int]]) -> str:
        """The text outside ``spans`` (what else the message says), "" when it has no word."""
        kept, at = [], 0
        for start, end in sorted(spans):
            kept.append(self.text[at:start])
            at = max(at, end)
        kept.append(self.text[at:])
        rest = " ".join(" ".join(kept).split()).strip(" ,.;:!?-")
        return rest if any(ch.isalnum() for ch in rest) else ""

    def hypothetical(self, pos: int) -> bool:
        return any(start <= pos < end for start, end in self.hypotheticals)

    def negated(self, hit: Hit, clause_start: int) -> bool:
        """A negation word earlier in the clause, or inside an unlicensed match, cancels it;
        so does a list's negation ("no fever, swelling or pus")."""
        if bisect_right(self.clause_starts, hit.start) - 1 in self.list_negated:
            return True
        i = bisect_left(self.negations, clause_start)
        limit = hit.start if hit.licensed else hit.end
        return i < len(self.negations) and self.negations[i] < limit

    def fever_hits(self) -> list[Hit]:
        if self._fever_hits is None:
            self._fever_hits = [Hit(start, end, licensed=False)
                               for start, end in fever_readings(self.text, self.fever_rules)]
        return self._fever_hits

    def reading_hits(self, name: str) -> list[Hit]:
        """The spans of the slot reading ``name`` (knowledge/triage/slots.py), read once."""
        found = self._reading_hits.get(name)
        if found is None:
            words = self.lang.slots
            found = self._reading_hits[name] = [] if words is None else [
                Hit(start, end, licensed=False)
                for start, end in read(name, words, self.text, self.sentence_starts)]
        return found

    def evidence(self, hit: Hit) -> str:
        """The matched words with one word before and two after, within the same clause."""
        clause_start, clause_end = self.clause(hit.start)
        before = self.text[clause_start : hit.start].split()[-1:]
        after = self.text[hit.end : max(clause_end, hit.end)].split()[:2]
        words = " ".join([*before, self.text[hit.start : hit.end], *after])
        return words.strip(" ,.;:!?-")



def only_function_words(clause: str, lang: Language) -> bool:
    """Whether ``clause`` has no word of its own: function, filler and degree words (the
    rules' ``degree_words``) only."""
    return all(word in STOPWORDS or word in FILLER or word in lang.words.degree_words
               for word in _WORDS.findall(clause))

