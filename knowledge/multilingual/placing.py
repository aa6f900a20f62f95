"""Placing a phrase in a message: every slot in one clause within a span of its length plus
three words (or anywhere in the clause for a ``far:`` phrase, anywhere in the sentence for a
``sentence:`` phrase), and what cancels a placement (a negation before or inside it, a negation
word just after, a negative or conditional verb form, a ``resolved`` word unless it tells where
the needle went, a figure of speech, a hypothetical marker unless an onset now follows or
the patient says elsewhere they have it now, an "and also" with a state of its own after
it); a resolved word after "instead of" resolves nothing."""

from __future__ import annotations

from knowledge.multilingual.lexicon import Phrase
from knowledge.multilingual.message import Message

_NEGATION_WINDOW = 4
_AFTER_WINDOW = 2
_FIGURE_WINDOW = 3  # a figure of speech within three words before or after a match
_EXTRA_SPAN = 3
_FAR_SPAN = 40
_NEGATED_GAP = 3  # a phrase's negation word at most two words before the word it negates
_INSTEAD_GAP = 1  # words allowed between an "instead" phrase and the resolved word


def find(message: Message, phrase: Phrase,
          mild_cancels: bool = False) -> tuple[int, int, set[int]] | None:
    """The tightest valid placement of ``phrase``: (first, last, matched token indexes).
    Words that name something else in a row (the pack's ``not_sign`` for the phrase's sign:
    "un bleu" is a bruise, not a blue colour) are no place for it."""
    barred = other_sense_words(message, phrase.sign)
    positions: list[list[int]] = []
    for slot in phrase.slots:
        places = [i for i, words in enumerate(message.words) if words & slot and i not in barred]
        if not places:
            return None
        positions.append(places)
    limit = _FAR_SPAN if phrase.far else len(phrase.slots) + _EXTRA_SPAN
    best: tuple[int, int, set[int]] | None = None
    # a "sentence:" phrase may cross the clauses of one sentence, others stay in a clause
    within = message.sentences if phrase.sentence else [t.clause for t in message.tokens]
    for anchor in positions[0]:
        clause = within[anchor]
        chosen = {anchor}
        chosen_by_slot = [anchor]
        ok = True
        for places in positions[1:]:
            near = [p for p in places if p not in chosen and within[p] == clause
                    and abs(p - anchor) < limit]
            if not near:
                ok = False
                break
            pick = min(near, key=lambda p: abs(p - anchor))
            chosen.add(pick)
            chosen_by_slot.append(pick)
        if not ok:
            continue
        first, last = min(chosen), max(chosen)
        if last - first + 1 > limit or not negations_in_order(
                message, phrase, chosen_by_slot, close=mild_cancels):
            continue
        if joined_apart(message, first, last):
            continue
        if cancelled(message, first, last, chosen, relapse=phrase.sign in _RELAPSE_SIGNS):
            continue
        if mild_cancels and has_mild(message, first):
            continue
        if best is None or last - first < best[1] - best[0]:
            best = (first, last, chosen)
    return best


def other_sense_words(message: Message, sign: str) -> frozenset[int]:
    """Token indexes inside a run of words that names something else than ``sign`` (the
    pack's ``not_sign``: each sequence's words one right after the other)."""
    sequences = message.pack.other_senses.get(sign)
    if not sequences:
        return frozenset()
    cached = message.barred.get(sign)
    if cached is not None:
        return cached
    words = message.words
    barred: set[int] = set()
    for sequence in sequences:
        size = len(sequence)
        for start in range(len(words) - size + 1):
            if all(words[start + k] & slot for k, slot in enumerate(sequence)):
                barred.update(range(start, start + size))
    message.barred[sign] = frozenset(barred)
    return message.barred[sign]


def joined_apart(message: Message, first: int, last: int) -> bool:
    """A placement across an "and also" (a ``joiners`` word between its words) with more of
    the clause after it: the words after the joiner have a state of their own ("la cara
    hinchada y también los labios secos"), so they are not the state's subject."""
    pack = message.pack
    if not pack.joiners:
        return False
    if not any(message.tokens[i].text in pack.joiners for i in range(first + 1, last)):
        return False
    return last + 1 < len(message.tokens) and (
        message.tokens[last + 1].clause == message.tokens[last].clause)


def covered(message: Message, index: int, sequences: tuple[tuple[frozenset[int], ...], ...],
            start: int, end: int) -> bool:
    """Whether one of ``sequences`` is found in order over ``index`` (within ``start..end``)."""
    for sequence in sequences:
        reach = 3 * len(sequence)
        window = range(max(start, index - reach), min(end, index + reach) + 1)
        if not has_sequence(message, sequence, window):
            continue
        for slot in sequence:
            if message.words[index] & slot:
                return True
    return False


def onset_after(message: Message, last: int) -> bool:
    """An onset now told after the match in its sentence, which does not ask ("j'ai souvent
    des boutons de fièvre et je sens qu'un commence maintenant")."""
    pack = message.pack
    if not pack.onset:
        return False
    sentence = message.sentences[last]
    end = last
    while end + 1 < len(message.tokens) and message.sentences[end + 1] == sentence:
        end += 1
    after = range(last + 1, end + 1)
    if not after or not any(has_sequence(message, now, after) for now in pack.onset):
        return False
    tail = message.raw[message.tokens[end].end:]
    return "?" not in tail.split(".")[0] and "؟" not in tail


def has_sequence(message: Message, sequence: tuple[frozenset[int], ...],
                  indexes: range) -> bool:
    """The words of ``sequence`` in order inside ``indexes``, each within two words of the one
    before ("vor zwei Jahren" has "vor ... jahren")."""
    return any(sequence_at(message, sequence, start, indexes.stop) for start in indexes)


def sequence_at(message: Message, sequence: tuple[frozenset[int], ...], start: int,
                stop: int) -> bool:
    """The words of ``sequence`` in order from word ``start`` (before ``stop``), each within
    two words of the one before."""
    if not message.words[start] & sequence[0]:
        return False
    at = start
    for slot in sequence[1:]:
        nxt = next((j for j in range(at + 1, min(at + 3, stop)) if message.words[j] & slot), None)
        if nxt is None:
            return False
        at = nxt
    return True


def typo_count(message: Message, chosen: set[int]) -> int:
    return sum(1 for i in chosen if message.fuzzy[i])


def negations_in_order(message: Message, phrase: Phrase, chosen: list[int],
                       close: bool = False) -> bool:
    """A negation word of the phrase must come before the word that follows it in the phrase
    ("no puedo respirar", "sangre no para"), so "respiro bien, no ..." is not "no respiro bien".
    ``close`` (a sign still there, "no mejora", "geht nicht weg"): at most two words apart and
    with no other word of the phrase between them, so "ya no está hinchado y mejora" (no longer
    swollen, and better) is not "no mejora"."""
    for k in range(len(chosen) - 1):
        if message.tokens[chosen[k]].text not in message.pack.negations:
            continue
        at, nxt = chosen[k], chosen[k + 1]
        if at > nxt:
            return False
        if close and (nxt - at > _NEGATED_GAP or any(at < c < nxt for c in chosen)):
            return False
    return True


# signs of something coming back: "gone" before the match's last word is the relapse itself
_RELAPSE_SIGNS = frozenset({"redness_returned"})


def cancelled(message: Message, first: int, last: int, chosen: set[int],
               relapse: bool = False) -> bool:
    pack = message.pack
    clause_start, clause_end = message.clause_range(first)
    # a match that is itself negative ("non riesco a respirare", "nefes alamıyorum") is not
    # undone by a ``concord`` word: "per niente", "hiç" (at all) only stress it; a plain "no"
    # still does ("no es que no pueda respirar")
    concord = bool(pack.concord) and (
        any(message.tokens[i].text in pack.negations for i in chosen)
        or (pack.inability is not None
            and any(pack.inability.search(message.tokens[i].text) for i in chosen)))
    for i in range(max(clause_start, first - _NEGATION_WINDOW), last + 1):
        if message.negation[i] and i not in chosen and not (
                concord and message.tokens[i].text in pack.concord):
            # a "sentence:" match across clauses: a negation negates its own clause, not the
            # next one's word ("синяк не проходит, а растёт": not going, but growing)
            after = min((c for c in chosen if c > i), default=last)
            if message.tokens[i].clause != message.tokens[after].clause:
                continue
            return True
    for i in chosen:
        if message.negation[i] and message.tokens[i].text not in pack.negations:
            return True  # a negative verb form inside the match (Turkish "şişmedi")
        if message.conditional[i]:  # a conditional form: "dudaklarım şişerse" (if my lips
            return not confirmed(message, first)  # swell), unless "benimkiler şişiyor" follows
    for i in range(last + 1, min(clause_end, last + _AFTER_WINDOW) + 1):
        pair = " ".join(t.text for t in message.tokens[i:min(i + 2, clause_end + 1)])
        if message.tokens[i].text in pack.negations_after or pair in pack.negations_after:
            return True
    if pack.verb_negations and verb_negated(message, last, clause_end):
        return True
    for i in range(clause_start, clause_end + 1):
        if i in chosen or not (message.words[i] & pack.resolved):
            continue
        if i + 1 in chosen:
            continue  # an intensifier just before the match: "bien pire", "bien hinchado"
        if relapse and first < i < last:
            continue  # gone, then back: "краснота прошла, а сегодня опять вернулась" (a relapse)
        if any(message.negation[j] for j in range(max(clause_start, i - _NEGATION_WINDOW), i)):
            continue  # "no ha bajado", "no puedo respirar bien": not resolved
        if pack.not_resolved and covered(message, i, pack.not_resolved, clause_start,
                                         clause_end):
            continue  # where the needle went: "onde passou a agulha"
        if pack.instead and instead_of(message, i, clause_start):
            continue  # what did not happen: "schlimmer statt besser"
        return True
    for figure in pack.figures:
        span = len(figure)
        # it may end up to three words before the match and start up to three words after
        # it ("casi me desmayo al ver la factura": "la factura" starts three words on)
        for i in range(max(clause_start, first - _FIGURE_WINDOW - span + 1),
                       min(clause_end - span + 1, last + _FIGURE_WINDOW) + 1):
            if any(i + k in chosen for k in range(span)):
                continue
            if all(message.words[i + k] & slot for k, slot in enumerate(figure)):
                return True
    if answered_no(message, last):
        return True
    for marker in pack.hypothetical:
        span = len(marker)
        stop = clause_end + 1 if pack.hypothetical_after else first
        for i in range(clause_start, stop - span + 1):
            if any(i + k in chosen for k in range(span)):
                continue  # the marker cannot be the match's own words
            if all(message.words[i + k] & slot for k, slot in enumerate(marker)):
                # "... and one is starting now"; "... asking because mine are swelling"
                return not onset_after(message, last) and not confirmed(message, first)
    if lead_marker(message, clause_start):
        return not onset_after(message, last) and not confirmed(message, first)
    return False


def lead_marker(message: Message, clause_start: int) -> bool:
    """The clause just before ``clause_start``, in its sentence, is a ``hypothetical_lead``
    marker and nothing else, set off by its comma ("Angenommen, ich bekomme ...", "Допустим,
    у меня ...", "Załóżmy, że ..."): the condition it opens is the next clause (answers round
    on batch 26). Not any hypothetical marker: "Symptome: meine Lippen schwellen an" is a
    report."""
    if clause_start == 0 or message.sentences[clause_start - 1] != message.sentences[clause_start]:
        return False
    start, end = message.clause_range(clause_start - 1)
    return any(len(marker) == end - start + 1
               and all(message.words[start + k] & slot for k, slot in enumerate(marker))
               for marker in message.pack.hypothetical_lead)


def verb_negated(message: Message, last: int, clause_end: int) -> bool:
    """A ``verb_negations`` word right after the match's last word, a verb ("meine Augen
    tränen nicht", "die Lippen schwellen nicht an"), with no ``verb_negation_kept`` or
    resolved word after it ("schwillt nicht ab", "wird nicht besser", "nicht nur"). A
    capitalised last word inside a sentence is a German noun, not a verb: "Schwellung nicht
    weniger" is left alone."""
    at = last + 1
    tokens = message.tokens
    if at > clause_end or tokens[at].text not in message.pack.verb_negations:
        return False
    if last > 0 and message.sentences[last - 1] == message.sentences[last] and (
            message.raw[tokens[last].start:tokens[last].start + 1].isupper()):
        return False
    after = at + 1
    return not (after <= clause_end and (
        tokens[after].text in message.pack.verb_negation_kept
        or message.words[after] & message.pack.resolved))


def answered_no(message: Message, last: int) -> bool:
    """The match's sentence is a question the writer answers at once with a bare negation
    word ("ho la febbre alta? no, sto bene", "температура? нет, всё нормально"): asked and
    denied. Not when the negation word goes on in its clause ("no sé", "non lo so")."""
    tokens = message.tokens
    sentence = message.sentences[last]
    end = last
    while end + 1 < len(tokens) and message.sentences[end + 1] == sentence:
        end += 1
    answer = end + 1
    if answer >= len(tokens):
        return False
    gap = message.raw[tokens[end].end:tokens[answer].start]
    if "?" not in gap and "\u061f" not in gap:
        return False
    if tokens[answer].text not in message.pack.negations:
        return False
    return answer + 1 >= len(tokens) or tokens[answer + 1].clause != tokens[answer].clause


def instead_of(message: Message, index: int, clause_start: int) -> bool:
    """One of the language's ``instead`` phrases ends just before the resolved word at
    ``index`` (at most one word between): "statt besser", "en vez de mejorar", "بدل ما يخف"
    tell what did not happen."""
    for sequence in message.pack.instead:
        start = max(clause_start, index - len(sequence) - _INSTEAD_GAP)
        if start < index and has_sequence(message, sequence, range(start, index)):
            return True
    return False


def confirmed(message: Message, index: int) -> bool:
    """The patient says outside the clause of the match at ``index`` that they have it now
    (the language's ``confirmed``: "los míos se están hinchando", "мои опухают"), in a clause
    with no negation and no resolved word ("los míos están bien" confirms nothing)."""
    pack = message.pack
    if not pack.confirmed:
        return False
    own = message.tokens[index].clause
    clauses: dict[int, list[int]] = {}
    for i, token in enumerate(message.tokens):
        if token.clause != own:
            clauses.setdefault(token.clause, []).append(i)
    for members in clauses.values():
        span = range(members[0], members[-1] + 1)
        if any(message.negation[i] or message.words[i] & pack.resolved for i in span):
            continue
        if any(has_sequence(message, sequence, span) for sequence in pack.confirmed):
            return True
    return False


def has_mild(message: Message, index: int) -> bool:
    start, end = message.clause_range(index)
    return any(message.words[i] & message.pack.mild for i in range(start, end + 1))
