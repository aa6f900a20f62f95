"""Sign matching: where a sign's patterns match in a message and which matches count (not
hypothetical, negated, joking, a story, cancelled by what follows, or an exception of the sign)."""

from __future__ import annotations

from collections.abc import Iterator

from knowledge.triage.message import Hit, Message
from knowledge.triage.rules import Matcher, Rule, Sign

_RED_TIERS = ("emergency", "urgent")
# signs whose question or story (no report) the advisor answers with the warning signs
_ASKED_TIERS = (*_RED_TIERS, "check")


def fire(sign: Sign, message: Message) -> list[Hit] | None:
    """The hits of ``sign`` in ``message`` (its pattern's first valid one, then one of each
    ``with`` group), or None when it does not fire (also when one of its ``without`` patterns
    is there, not negated, not hypothetical). A sign only asked about ("what if my lips
    swell?") leaves its rule-out question on the message, and (as one only asked about or told
    as a story: ``asked``) its id on ``message.asked_signs``."""
    # a healing next clause cancels a red flag only: for a routine review ("bruise, fading")
    # the healing is the sign itself
    hit = first_valid(sign.primary, message, sign.unless, check_after=True,
                      check_next=sign.tier in ("emergency", "urgent"))
    if hit is None:
        if sign.ask and any(
                message.hypothetical(h.start) for h in hits(sign.primary, message)):
            message.asked_about.append(sign.ask)  # "what if my lips swell?"
        if sign.tier in _ASKED_TIERS and asked(sign, message):
            message.asked_signs.append((sign.id, sign.tier))
        return None
    if sign.without is not None and first_valid(sign.without, message, None,
                                                check_after=False) is not None:
        return None  # told as part of what it belongs to ("dry, flaky and itchy" on day 3)
    found = [hit]
    for group in sign.with_groups:
        extra = first_valid(group, message, None, check_after=False)
        if extra is None:
            return None
        found.append(extra)
    return found


def asked(sign: Sign, message: Message) -> bool:
    """Whether a sign that did not fire is only asked about or told as a story: one of its
    matches is a hypothetical question ("what if my lips swell?", "should i worry if i get
    pus?") or a story, someone else's or the writer's own past ("my friend's lips swelled
    after hers last year"), and would count as the sign if it were told as the writer's own,
    now (not negated, joking, a figure of speech or one of the sign's exceptions), with what
    the sign needs besides ("with") and without what explains it away ("without")."""
    red = sign.tier in _RED_TIERS
    frames = [frame for hit in hits(sign.primary, message)
              if (frame := framed(hit, message)) is not None
              and valid(hit, message, sign.unless, check_after=True, check_next=red,
                        framed_ok=True)]
    if not frames:
        return False
    if sign.without is not None and any(valid(hit, message, None, check_after=False,
                                              framed_ok=True)
                                        for hit in hits(sign.without, message)):
        return False
    if not all(any(valid(hit, message, None, check_after=False, framed_ok=True)
                   for hit in hits(group, message)) for group in sign.with_groups):
        return False
    message.asked_spans += frames
    return True


def framed(hit: Hit, message: Message) -> tuple[int, int] | None:
    """The hypothetical question (its clause of the match) or the story's sentence a match is
    told in (None: neither)."""
    for start, end in message.hypotheticals:
        if start <= hit.start < end:
            clause_start, clause_end = message.clause(hit.start)
            return max(start, clause_start), min(end, max(clause_end, hit.end))
    if message.not_literal(hit.start, hit.end) == "story":
        return message.sentence(hit.start)
    return None


def may_fire(sign: Sign, message: Message) -> bool:
    """False when none of the sign's patterns matches the message (and it reads no fever):
    ``fire`` would find nothing, and leave nothing on the message."""
    primary = sign.primary
    return (primary.fever or bool(primary.readings) or primary.rule is None
            or bool(spans(primary, message)))


def first_valid(
    matcher: Matcher,
    message: Message,
    unless: Rule | None,
    check_after: bool,
    check_next: bool = False,
) -> Hit | None:
    for hit in hits(matcher, message):
        if valid(hit, message, unless, check_after, check_next):
            return hit
        inner = inner_valid(matcher, message, hit, unless, check_after, check_next)
        if inner is not None:
            return inner
    return None


def inner_valid(matcher: Matcher, message: Message, outer: Hit,
                unless: Rule | None, check_after: bool,
                check_next: bool = False) -> Hit | None:
    """A valid match that starts inside a rejected one: the patterns are one regex, so a long
    match that is negated ("took paracetamol and its done nothing, ... still throbbing") hides a
    shorter one of another pattern that starts inside it ("paracetamol ... done nothing").
    Searched only when a match is rejected (rare), from the next position on."""
    regex = matcher.regex
    if regex is None:
        return None
    text = message.text
    pos = outer.start + 1
    while pos < outer.end:
        m = regex.search(text, pos)
        if m is None or m.start() >= outer.end:
            return None
        hit = Hit(m.start(), m.end(), licensed=matcher.is_licensed(text, m.start()))
        if hit.start < hit.end and valid(hit, message, unless, check_after, check_next):
            return hit
        pos = m.start() + 1
    return None


def valid(hit: Hit, message: Message, unless: Rule | None, check_after: bool,
          check_next: bool = False, framed_ok: bool = False) -> bool:
    """Whether a match counts as the sign; ``framed_ok``: whether it would count if it were not
    a question or a story (everything else still applies: negation, jokes, figures of speech,
    what follows, the sign's exceptions)."""
    if not framed_ok and message.hypothetical(hit.start):
        return False
    if hit.start >= hit.end:
        return False
    clause_start, clause_end = message.clause(hit.start)
    if message.negated(hit, clause_start):
        return False
    why = message.not_literal(hit.start, hit.end)
    if why is not None and not (framed_ok and why == "story"):
        if not framed_ok:
            message.set_aside[why] = message.evidence(hit)
        return False
    text = message.text
    after = message.lang.cancelled_after_re
    if check_after and hit.end < clause_end and after.match(text, hit.end, clause_end):
        return False
    nxt = message.lang.cancelled_next_re
    if check_next and nxt is not None:
        # the next clause of the sentence, or the rest of the hit's own when it is the last
        # ("my lips were swollen yesterday and theyre fine now"); what follows in the sentence
        # may still undo it ("they went down, and then came back up")
        sentence_end = message.sentence(hit.start)[1]
        next_end = clause_end
        if clause_end < sentence_end:
            next_end = max(min(message.next_clause_end(clause_end), sentence_end), clause_end)
        if hit.end < next_end:
            found = nxt.match(text, hit.end, max(sentence_end, next_end))
            if found is not None and found.end() <= next_end:
                return False
    if unless is None:
        return True
    exceptions = unless.compiled  # compiled the first time one of the sign's patterns matches
    # an exception starts in the hit's clause; its lookaheads see the rest of the sentence
    # ("cold sores are a regular thing for me and one is tingling now" lifts the history; "a
    # cold sore now and my appointment is tomorrow" is a booking matter)
    end = max(clause_end, hit.end)
    sentence_end = max(message.sentence(hit.start)[1], end)
    found = exceptions.search(text, clause_start, end)
    if found is not None:  # still an exception when its lookaheads see the sentence?
        return exceptions.match(text, found.start(), sentence_end) is None
    # ... or one that starts earlier in the sentence and reaches into the hit ("grit in my eye
    # and i cant see out of it": what is in the eye explains the sight it blocks)
    sentence_start = message.sentence(hit.start)[0]
    if sentence_start < clause_start:
        for earlier in exceptions.finditer(text, sentence_start, end):
            if earlier.start() >= clause_start:
                break
            # (still one when its lookaheads see the rest of the sentence: "went for a run and
            # now breathing fast, its getting worse" is no run's panting)
            if earlier.end() > hit.start and exceptions.match(
                    text, earlier.start(), sentence_end) is not None:
                if not framed_ok:
                    message.explained.add(clause_start)  # a second detector leaves it too
                return False
    for later in exceptions.finditer(text, clause_start, sentence_end):
        if later.start() >= end:
            break
        if later.end() <= end:  # inside the clause, with a lookahead past it
            return False
    return True


def spans(matcher: Matcher, message: Message) -> list[tuple[int, int]]:
    """Where the matcher's patterns match the message, searched once per message."""
    rule = matcher.rule
    if rule is None:
        return []
    found = message.matches.get(id(rule))
    if found is None:
        found = message.matches[id(rule)] = message.spans(rule, matcher.alternatives)
    return found


def hits(matcher: Matcher, message: Message) -> Iterator[Hit]:
    """Matches in text order (pattern matches and, if asked for, fever readings)."""
    found: Iterator[Hit] = iter(())
    text = message.text
    if matcher.rule is not None:
        found = (Hit(start, end, licensed=matcher.is_licensed(text, start))
                 for start, end in spans(matcher, message))
    if not matcher.fever and not matcher.readings:
        return found
    extra = [*message.fever_hits()] if matcher.fever else []
    for name in matcher.readings:
        extra += message.reading_hits(name)
    return iter(sorted([*found, *extra], key=lambda hit: hit.start))
