"""Placements that are no report: someone else's past story, a general question about a sign,
a question about the protocol, a hyperbole of delight, a sign told as over."""

from __future__ import annotations

from knowledge.multilingual.fold import SENTENCE_PUNCT, SPECIAL
from knowledge.multilingual.lexicon import Phrase
from knowledge.multilingual.message import Message
from knowledge.multilingual.placing import covered, has_sequence, sequence_at

# the signs whose words are a hyperbole of delight ("je pourrais m'évanouir tellement c'est
# beau"): set aside in a sentence that praises how the skin looks (a pack's ``delight``)
_DELIGHT_SIGNS = frozenset(["collapse_or_confusion"])


def story(message: Message, index: int) -> bool:
    """Someone else's past story: the match's sentence names another person and a past time,
    and nothing in the message says it is happening now."""
    pack = message.pack
    if not pack.story_others or not pack.story_past:
        return False
    sentence = message.sentences[index]
    inside = [i for i, s in enumerate(message.sentences) if s == sentence]
    span = range(inside[0], inside[-1] + 1)
    if not any(message.words[i] & pack.story_others for i in span):
        return False
    # (a past word inside a phrase that is no past, "auf einmal" for suddenly, tells nothing)
    if not any(sequence_at(message, past, start, span.stop)
               and not covered(message, start, pack.story_not_past, span.start, span.stop - 1)
               for past in pack.story_past for start in span):
        return False
    everything = range(0, len(message.tokens))
    return not any(has_sequence(message, now, everything) for now in pack.story_present)


def general_question(message: Message, index: int) -> bool:
    """A question about a sign in general, not a report: an indefinite article just before
    the match ("une réaction allergique"), one of the language's ``question_words``
    ("possible", "möglich") in its sentence, and the sentence asks ("?")."""
    pack = message.pack
    if not pack.question_words or not pack.generic_articles:
        return False
    if not any(message.tokens[i].text in pack.generic_articles
               for i in range(max(0, index - 2), index)):
        return False
    sentence = message.sentences[index]
    inside = [i for i, s in enumerate(message.sentences) if s == sentence]
    if not any(message.words[i] & pack.question_words for i in inside):
        return False
    if any(message.tokens[i].text in pack.first_person for i in inside):
        return False  # "tengo una reacción alérgica, ¿es posible?" is a report
    tail = message.raw[message.tokens[inside[-1]].end:]
    stop = SENTENCE_PUNCT.search(tail)
    return stop is not None and stop.group(0) == "?" or "?" in tail


def sentence_span(message: Message, index: int) -> range:
    sentence = message.sentences[index]
    inside = [i for i, s in enumerate(message.sentences) if s == sentence]
    return range(inside[0], inside[-1] + 1)


def asks(message: Message, span: range) -> bool:
    """Whether the sentence over ``span`` ends with (or is followed by) a question mark."""
    tail = message.raw[message.tokens[span[-1]].end:].translate(SPECIAL)  # "؟" is "?"
    stop = SENTENCE_PUNCT.search(tail)
    return stop is not None and stop.group(0) == "?"


def protocol_question(message: Message, index: int) -> bool:
    """A question about what the protocol is ("pęcherze to powód, żeby dzwonić?"): the
    match's clause holds one of the language's ``protocol`` phrases and names no first person,
    and its sentence asks ("tengo ampollas, ¿es motivo para llamar?" is a report: the reason
    to call is asked in a clause of its own)."""
    pack = message.pack
    if not pack.protocol:
        return False
    start, end = message.clause_range(index)
    clause = range(start, end + 1)
    if not any(has_sequence(message, phrase, clause) for phrase in pack.protocol):
        return False
    if any(message.tokens[i].text in pack.first_person for i in clause):
        return False
    return asks(message, sentence_span(message, index))


def delight(message: Message, phrase: Phrase, index: int) -> bool:
    """A fainting word in a sentence that praises how the skin looks ("potrei svenire da
    quanto è bella la mia pelle"): a hyperbole of delight, not a collapse."""
    pack = message.pack
    if not pack.delight or phrase.sign not in _DELIGHT_SIGNS:
        return False
    span = sentence_span(message, index)
    return any(has_sequence(message, praise, span) for praise in pack.delight)


def over(message: Message, last: int) -> bool:
    """One of the language's ``over`` phrases closing the match's sentence, in a later clause
    ("tuve fiebre anoche pero ya se me pasó"), the match told as earlier (one of ``earlier``
    up to its clause): the sign is told as over. Only at the end of the sentence: in "tenía
    fiebre, ya se me pasó el dolor" what is over is something else."""
    pack = message.pack
    if not pack.over or not pack.earlier:
        return False
    span = sentence_span(message, last)
    end = span[-1]
    clause_start, clause_end = message.clause_range(last)
    told_earlier = range(span[0], clause_end + 1)
    if not any(has_sequence(message, when, told_earlier) for when in pack.earlier):
        return False  # "no puedo respirar, ya se me pasó el mareo": nothing says it was earlier
    if any(has_sequence(message, now, told_earlier) for now in pack.story_present):
        return False  # "ayer me desmayé y hoy sigo mareada": something is said of now
    for phrase in pack.over:
        if not message.words[end] & phrase[-1]:
            continue
        window = range(max(clause_end + 1, end - 2 * len(phrase)), end + 1)
        if window and has_sequence(message, phrase, window):
            return True
    return False


_BOOKING_SIGNS = frozenset(["cold_sore"])
_BEFORE_SESSION = 3  # a time ahead up to three words before the session word


def booking(message: Message, phrase: Phrase, index: int) -> bool:
    """A cold sore in a sentence that names a session and, after it, a time ahead ("tengo un
    herpes y mi sesión es el jueves"), or just before it one of ``booking_before`` ("yarın
    randevum var ve uçuk çıktı"): a booking matter (guidance 2.17: an active cold sore
    means rescheduling), not an outbreak after treatment."""
    pack = message.pack
    if phrase.sign not in _BOOKING_SIGNS or not pack.booking_sessions:
        return False
    span = sentence_span(message, index)
    sessions = [i for i in span if message.words[i] & pack.booking_sessions]
    if not sessions:
        return False
    if any(message.words[i] & pack.booking_ahead for i in range(sessions[0] + 1, span[-1] + 1)):
        return True
    # the time first ("yarın randevum var"): a ``before`` word just ahead of a session word
    return bool(pack.booking_before) and any(
        message.words[i] & pack.booking_before
        for session in sessions for i in range(max(span[0], session - _BEFORE_SESSION), session))
