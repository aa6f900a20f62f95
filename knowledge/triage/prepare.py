"""Text preparation before the rules run, as one ``Readings`` value built by ``prepare``.

The message as said: the project's normaliser (shorthand, typo correction toward the triage
vocabulary), arrows as words, discourse filler and stacked intensifiers out, hedges as clause
breaks, staccato sentences joined. Then each reading of it made again, by name: ``joined``
(relative clauses and plain asides, remarks that name no symptom or body part between
brackets, dashes or commas, read out of the way), ``conceded`` (concessive asides, "even
though ...", "despite ...", "like you said ...", moved to the end of their sentence),
``corrected`` (a subject put right by an aside), ``resolved`` (a pronoun that opens a clause, or
"mine", read as the body part named before it) and ``owned`` (a temperature asked about and then
owned as the writer's reading, read as theirs). The rules search ``Readings.text``, every
reading in that order, each its own sentence; ``Readings.reading_at`` names the reading of a
position. The word lists of every reading are data (``readings`` in knowledge/triage.yaml),
set in their frames by the parser (knowledge/triage/frames.py): labels, asides, relative
clauses, appositions, corrections, the pronouns and parts of the resolved reading ..."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from knowledge.text import clean
from knowledge.triage.rules import Language


@dataclass(frozen=True)
class Readings:
    """One message prepared for the rules: the message as said (normalised, spelling
    corrected, hedges as clause breaks) and each reading of it made again by name, None when
    it reads as said.

    - ``joined``: relative clauses out and plain asides moved to the end of their sentence;
    - ``conceded``: concessive asides ("even though ...", "like you said ...") moved;
    - ``bridged``: any insertion of up to ``_BRIDGE_WORDS`` words between a subject naming a
      body part, a function or a sign ("my tongue", "breathing", "the vision in my eye") and a
      predicate right after it, moved to the end of its sentence, whatever the insertion says;
    - ``corrected``: the readings before it (said, joined, conceded), each with a subject put
      right by an aside ("the swelling, and i dont mean X, i mean my lips, is ..."), and a
      state denied of one part and put on another ("it isnt my cheeks that are puffy, its my
      throat" reads "my throat is puffy");
    - ``resolved``: pronouns that open a clause read as the body part named before them;
    - ``owned``: a temperature asked about and then owned, as "my temperature is N now".

    The rules search ``text``: every reading in that order, each a sentence of its own, so a
    sign is found in whichever reading states it; ``reading_at`` says which reading a position
    of ``text`` belongs to."""

    said: str
    joined: str | None = None
    conceded: str | None = None
    bridged: str | None = None
    corrected: tuple[str, ...] | None = None
    resolved: str | None = None
    owned: str | None = None

    @cached_property
    def _pieces(self) -> tuple[tuple[str, str], ...]:
        """Each reading with its name, in order (the corrected ones one by one)."""
        named: list[tuple[str, str]] = [("said", self.said)]
        for name in ("joined", "conceded", "bridged"):
            value = getattr(self, name)
            if value is not None:
                named.append((name, value))
        named += [("corrected", piece) for piece in self.corrected or ()]
        named += [(name, value) for name, value in (("resolved", self.resolved),
                                                    ("owned", self.owned)) if value is not None]
        # the whole text is stripped at its two ends (a line break too)
        named[0] = (named[0][0], named[0][1].lstrip())
        named[-1] = (named[-1][0], named[-1][1].rstrip())
        return tuple(named)

    @cached_property
    def text(self) -> str:
        """What the rules search: the readings in order, joined by sentence breaks (" . ")."""
        return _JOIN.join(piece for _, piece in self._pieces)

    @cached_property
    def _starts(self) -> tuple[int, ...]:
        starts, at = [], 0
        for _, piece in self._pieces:
            starts.append(at)
            at += len(piece) + len(_JOIN)
        return tuple(starts)

    def reading_at(self, pos: int) -> str:
        """The name of the reading of ``text`` that ``pos`` lies in ("said", "joined", ...)."""
        return self._pieces[bisect_right(self._starts, pos) - 1][0]


_JOIN = " . "


def prepare(text: str, lang: Language) -> Readings:
    """The message's readings (``Readings``): the project's normaliser (knowledge/text.py),
    spelling corrected toward the triage vocabulary, hedges turned into clause breaks, and each
    reading of it made again by name."""
    said = _said(text, lang)
    frames = lang.words.frames
    # a state parted from its subject by a relative clause ("the ache, which was mild on
    # day one, is now far worse") or a plain aside ("my throat, and i realise this may
    # sound silly, feels like it is shutting"): the message is read again without the clause and
    # with the aside at the end of its sentence
    joined: str | None = _asides_moved(
        _linking_asides_out(frames.relative.sub(" ", frames.appositive.sub(r"\1 ", said)), lang),
        lang)
    if joined == said:
        joined = None
    # a long concessive or parenthetical aside between a subject and its verb or state ("the
    # ache, even though ive had the tablets the leaflet told me to, two lots, hasnt settled", "i
    # cant, even sitting still, get a breath in"): read again with the aside at the end of its
    # sentence, whatever it names (its own negation stays inside it); read from the message as
    # said, and not kept when it reads as said or as the joined reading
    moved = _concessive_moved(said, lang)
    conceded = None if _SPACES.sub(" ", moved) in (
        _SPACES.sub(" ", said), _SPACES.sub(" ", said if joined is None else joined)) else moved
    # any insertion between a subject that names a body part, function or sign and the
    # predicate right after it ("my tongue, especially the back bit, is getting fat", "breathing
    # - and i realise it sounds silly - is hard"): read again with the insertion at the end
    # of its sentence, whatever it says; not kept when it reads as a reading before it
    bridging = _bridged(said, lang)
    bridged: str | None = None if _SPACES.sub(" ", bridging) in {
        _SPACES.sub(" ", reading) for reading in (said, joined, conceded)
        if reading is not None} else bridging
    # a subject put right by an aside that names what it is not and then what it is ("the
    # swelling, and i dont mean X, i mean my lips, is getting worse"): each reading above read
    # again as "the swelling of my lips is getting worse", the denied part left out
    before = [reading for reading in (said, joined, conceded) if reading is not None]
    corrected: tuple[str, ...] | None = tuple(
        frames.corrected.sub(r" of my \1 ", reading) for reading in before)
    # a state denied of one part and put on another by the next words ("it isnt my cheeks
    # that are puffy, its my throat", "the cheeks arent puffy but the tongue is"): read again as
    # "my throat is puffy"
    # (a noun read after the part: "the puffiness isnt on my face, its on my tongue" reads
    # "my tongue puffiness")
    moved_to = [*(f"{m.group(2)} is {m.group(1)}"
                  for m in frames.denied_for.finditer(said)),
                *(f"{m.group(2)} {m.group(1)}"
                  for m in frames.denied_in.finditer(said)),
                *(f"{m.group(2)} is {m.group(1)}"
                  for m in frames.denied_but.finditer(said))]
    if corrected == tuple(before):
        corrected = None
    if moved_to:
        corrected = (*(corrected or ()), *moved_to)
    # a state told of a pronoun whose body part was named before it ("my lips look odd,
    # theyre swelling"): the message is read again with the pronoun as the part, as written
    # with its owner ("my friends lips"), so a story or hypothesis around it still applies
    resolved: str | None = _pronouns_resolved(said, lang)
    if resolved == said:
        resolved = None
    # a number asked about and then owned as the writer's reading ("would 38.6 be a fever?
    # thats my reading right now"): read again as the writer's temperature now
    owning = lang.words.owned_reading_re
    owned = None if owning is None else owning.search(said)
    return Readings(
        said=_folded(said), joined=None if joined is None else _folded(joined),
        conceded=None if conceded is None else _folded(conceded),
        bridged=None if bridged is None else _folded(bridged),
        corrected=None if corrected is None else tuple(_folded(piece) for piece in corrected),
        resolved=None if resolved is None else _folded(resolved),
        owned=None if owned is None else f"my temperature is {owned.group(1)} now")


def _registered(t: str, lang: Language) -> str:
    """Regional and older words read as the plain words they stand for (``register``:
    "my thrapple is tight" reads "my throat is tight")."""
    words = lang.words
    if words.register_re is None:
        return t
    return words.register_re.sub(lambda m: words.register[m.group(0)], t)


def _dictated(t: str, lang: Language) -> str:
    """Punctuation said aloud to a voice typist read as the mark (``dictation``: "my eye is
    sore comma and can i swim" reads "my eye is sore , and can i swim")."""
    for pattern, mark in lang.words.dictation:
        t = pattern.sub(f" {mark} ", t)
    return t


_SENTENCE = re.compile(r"[^.!?\n]+")
_WORDS = re.compile(r"[a-z]+")


def _unconfused(t: str, lang: Language) -> str:
    """Real words typed for a sign word read as it (``confusions``: "feel feint, hivs on my
    neck" reads "feel faint, hives on my neck"), only in a sentence that names another sign
    word: the vocabulary's own or another confusion ("a feint in fencing" stays)."""
    words = lang.words
    found = words.confusions_re
    if found is None or found.search(t) is None:
        return t
    speller = lang.speller

    def sentence(m: re.Match[str]) -> str:
        text = m.group(0)
        confused = found.findall(text)
        if not confused:
            return text
        others = [w for w in _WORDS.findall(text)
                  if speller.in_vocabulary(w) or w in words.confusions]
        if len(others) < 2:  # the confusion alone
            return text
        return found.sub(lambda c: words.confusions[c.group(0)], text)

    return _SENTENCE.sub(sentence, t)


def _folded(reading: str) -> str:
    """A reading with its runs of spaces one space, none at its ends (line breaks kept)."""
    return _SPACES.sub(" ", reading).strip(" ")


def _said(text: str, lang: Language) -> str:
    """The message as said, prepared: normalised, spelling corrected, filler out, hedges as
    clause breaks, staccato joined, an aside or relative clause before a state that is over
    taken out in place."""
    frames = lang.words.frames
    text = _DASHES.sub(" - ", _arrows_as_words(text, lang))
    t = _unconfused(lang.speller.correct(_registered(_dictated(
        clean(text, punctuation=True, possessive=lang.possessive_re), lang), lang)), lang)
    t = _NOUN_IS.sub(" is", t)  # "throat's tight" -> "throat s tight" -> "throat is tight"
    # "out of the blue" says when, as "out of nowhere" does: the symptom is real (no figure)
    t = _OUT_OF_THE_BLUE.sub("out of nowhere", t)
    t = frames.label.sub(r"\1 is ", t)  # "eye: red, watering" -> "eye is red, watering"
    t = frames.bare_label.sub(r"\1 is ", t)  # "eye red, weeping" -> "eye is red, weeping"
    t = _restated_once(t, lang)  # "struggling, like really struggling, to" -> "struggling to"
    t = _strip_filler(t, lang)
    t = lang.hedge_re.sub(" , ", t)
    t = _STACCATO.sub(r"\1 ", t)  # "cant. breathe. properly." -> "cant breathe properly."
    # a word said over and over is said once: "tight, tight tight" is "tight" (no part named)
    t = _REPEATED_WORD.sub(r"\1", t)
    t = frames.described.sub(r"\1 \2 ", t)  # "pus, yellowish, on" -> "pus yellowish on"
    t = _resolved_through_aside(t, lang)  # "swelling is, i think, gone" -> "swelling is gone"
    # "the ache, which was bad, has gone" reads "the ache has gone"
    return _resolved_past_relative(t, lang)


_ASIDE_WORDS = 12
_LONG_ASIDE_WORDS = 18


def _plain_aside(aside: str, lang: Language) -> bool:
    """An aside that names no symptom or body part (no word of the triage vocabulary) and
    denies nothing but about the writer: a remark about the writer ("sorry, typing one handed",
    "and i would hate to make a scene"), never a report."""
    words = [word.strip(",;:-") for word in aside.split()]
    # a denial about the writer ("and i would rather not cause a fuss") denies no symptom
    if not words or len(words) > _ASIDE_WORDS:
        return False
    if lang.negation_re.search(lang.words.frames.writer_denial.sub(" ", aside)):
        return False
    return not any(lang.speller.in_vocabulary(word) for word in words)




def _long_plain_aside(aside: str, lang: Language) -> bool:
    """An aside of several pieces that names no word of the triage vocabulary and denies
    only things about the writer ("i know it sounds dramatic, im not a drama queen")."""
    words = [word.strip(",;:-") for word in aside.split()]
    if not words or len(words) > _LONG_ASIDE_WORDS:
        return False
    if lang.negation_re.search(lang.words.frames.writer_denial.sub(" ", aside)):
        return False
    return not any(lang.speller.in_vocabulary(word) for word in words if word)


def _movable_aside(aside: str, lang: Language) -> bool:
    """A plain aside, or one that explains (the rules' ``readings.explaining``) with no
    swelling of its own."""
    if _plain_aside(aside, lang):
        return True
    frames = lang.words.frames
    return (len(aside.split()) <= _ASIDE_WORDS
            and frames.explaining.match(aside.strip(" ,")) is not None
            and frames.swell_word.search(aside) is None)




def _asides_moved(t: str, lang: Language) -> str:
    """``t`` with each plain aside (one a sentence) moved to the end of its sentence, so the
    subject meets its state again and the sentence keeps its context (a story's "last year");
    an aside of several pieces (the rules' ``readings.aside``) first, whole, else the
    one-piece asides."""
    frames = lang.words.frames
    moved = _moved(t, lang, frames.long_aside, _long_plain_aside)
    return moved if moved != t else _moved(t, lang, frames.aside, _movable_aside)


def _moved(t: str, lang: Language, aside_re: re.Pattern[str],
           movable: Callable[[str, Language], bool]) -> str:
    out: list[str] = []
    at = 0
    for m in aside_re.finditer(t):
        aside = next(group for group in m.groups() if group is not None)
        if m.start() < at or not movable(aside, lang):
            continue
        brk = lang.sentence_re.search(t, m.end())
        end = brk.start() if brk else len(t)
        out += [t[at:m.start()], " ", t[m.end():end], f" , {aside}"]
        at = end
    if not out:
        return t
    out.append(t[at:])
    return "".join(out)


# the most words an insertion read out of the way by the bridged reading may have; more
# between the airway and its state ("my throat, since the drive back ... and a stop at the
# services, has gone tight": a whole journey, a long apology), whose delay costs most
_BRIDGE_WORDS = 16
_AIRWAY_BRIDGE_WORDS = 32
_AIRWAY_SUBJECT = re.compile(r"\b(?:lips?|tongue|throat|mouth|gums?|breathing|breath|airways?)\b")


def _bridged(t: str, lang: Language) -> str:
    """``t`` with each insertion of up to ``_BRIDGE_WORDS`` words between a subject naming a
    body part, a function or a sign and its predicate (the rules' ``readings.bridge``) moved
    to the end of its sentence, whatever it says: "my tongue, especially the back bit, is
    getting fat" reads "my tongue is getting fat , especially the back bit" (the sentence keeps
    a story's "last year"). Not "my friend, who had her lips done, is fine": the subject
    names no part."""
    bridge = lang.words.bridge_re
    if bridge is None or ("," not in t and "-" not in t and "(" not in t):
        return t
    out: list[str] = []
    at = 0
    for m in bridge.finditer(t):
        insertion = next(group for group in m.groups()[1:] if group is not None)
        most = (_AIRWAY_BRIDGE_WORDS if _AIRWAY_SUBJECT.search(m.group(1)) is not None
                else _BRIDGE_WORDS)
        if m.start() < at or len(insertion.replace(",", " ").split()) > most:
            continue
        brk = lang.sentence_re.search(t, m.end())
        end = brk.start() if brk else len(t)
        out += [t[at:m.start()], m.group(1), " ", t[m.end():end], f" , {insertion}"]
        at = end
    if not out:
        return t
    out.append(t[at:])
    return "".join(out)


_CONCESSIVE_WORDS = 30
# the short plain pieces that may trail a concessive aside ("like the sheet says, twice now,")
_TRAILING_PIECE_WORDS = 6


def _concessive_moved(t: str, lang: Language) -> str:
    """``t`` with each concessive aside (the rules' ``readings.concessive``: its first comma
    piece and any short plain pieces after it, up to the comma before the rest of the clause)
    moved to the end of its sentence: "the swelling, even though i slept propped up, is bigger"
    reads "the swelling is bigger , even though i slept propped up". Only an aside that is
    closed by a comma and followed by more of the clause; a piece that opens with a verb, a
    negated verb or a link (``readings.state_start``) is the clause's state, never the aside's."""
    concessive, state_start = lang.words.concessive_re, lang.words.state_start_re
    if "," not in t or concessive is None or state_start is None:
        return t
    out: list[str] = []
    at = 0
    for m in concessive.finditer(t):
        if m.start() < at:
            continue
        brk = lang.sentence_re.search(t, m.end())
        end = brk.start() if brk else len(t)
        pieces = t[m.end():end].split(",")
        if len(pieces) < 2:
            continue
        taken = 1
        # a short plain piece after the first ("twice now") belongs to the aside while more of
        # the clause follows it
        while (taken + 1 < len(pieces) and len(pieces[taken].split()) <= _TRAILING_PIECE_WORDS
               and state_start.match(pieces[taken]) is None and _plain_aside(pieces[taken], lang)):
            taken += 1
        aside = ",".join(pieces[:taken]).strip()
        rest = ",".join(pieces[taken:]).strip()
        if not rest or not re.match(r"[a-z]", rest) or len(aside.split()) > _CONCESSIVE_WORDS:
            continue
        out += [t[at:m.start()], " ", rest, f" , {aside}"]
        at = end
    if not out:
        return t
    out.append(t[at:])
    return "".join(out)




def _linking_asides_out(t: str, lang: Language) -> str:
    """``t`` with each plain aside after a linking verb taken out, with the softeners and the
    restated subject after it: "my throat is, i know its silly, sort of closing" reads "my
    throat is closing"."""
    def out(m: re.Match[str]) -> str:
        aside = m.group(2).replace(",", " ")
        return f"{m.group(1)} " if _plain_aside(aside, lang) else m.group()
    return lang.words.frames.linking_aside.sub(out, t)


def _resolved_through_aside(t: str, lang: Language) -> str:
    """``t`` with a plain aside after a linking verb taken out when what follows it says the
    state is over ("swelling is, from what i can see, more or less gone now" reads "swelling
    is more or less gone now"): read in place, not only again, so the subject left alone
    before the aside ("swelling is") reports nothing."""
    if "," not in t:
        return t

    def out(m: re.Match[str]) -> str:
        aside = m.group(2).replace(",", " ")
        if not _plain_aside(aside, lang):
            return m.group()
        joined = f"{m.group(1)} {m.group(3)}"
        rest = lang.words.frames.softened.sub("", t[m.end():m.end() + 80])
        if lang.cancelled_after_re.match(f" {joined}{rest}") is None:
            return m.group()
        return joined
    return lang.words.frames.linking_aside.sub(out, t)


def _resolved_past_relative(t: str, lang: Language) -> str:
    """``t`` with a relative clause between a subject and a state that is over taken out in
    place ("the swelling, which was quite bad on day two, has completely gone now" reads "the
    swelling has completely gone now"): what the clause says of the past is over too."""
    if "," not in t:
        return t

    def out(m: re.Match[str]) -> str:
        brk = lang.sentence_re.search(t, m.end())
        rest = lang.words.frames.softened.sub("", t[m.end():brk.start() if brk else len(t)])
        # not when the sentence goes on to say some of it is left ("has calmed but is still
        # faintly there")
        if (lang.cancelled_after_re.match(f" {rest}") is None
                or lang.words.frames.not_all_gone.search(rest)):
            return m.group()
        return " "
    return lang.words.frames.relative.sub(out, t)






# em and en dashes set off an aside as a hyphen between spaces does
_DASHES = re.compile("\\s*[\u2013\u2014]\\s*")


# a comma before a one-word piece of the phrase
_ONE_WORD_COMMA = re.compile(r"\s*,\s*(?=[a-z]+\s*(?:,|$))")


def _arrows_as_words(text: str, lang: Language) -> str:
    """Arrows written as words (the rules' ``arrows``): "swelling ↑↑" is swelling worse."""
    if lang.words.arrows_re is None:
        return text
    better = lang.words.better_arrows
    return lang.words.arrows_re.sub(
        lambda m: " better " if m.group()[0] in better else " worse ", text)


def _strip_filler(t: str, lang: Language) -> str:
    """Filler and discourse words (the rules' ``filler``) between the words of a phrase taken
    out, stacked intensifiers (``intensifiers``) folded to one, so the rules read the phrase
    whole."""
    if lang.words.stacked_re is not None:
        t = lang.words.stacked_re.sub(r"\1", t)
    stripped = t if lang.words.comma_filler_re is None else lang.words.comma_filler_re.sub(
        lambda m: " " if m.start() else "", t)
    if stripped != t:  # the rest of a phrase broken by filler: "yellow, crusty, stuff"
        stripped = _ONE_WORD_COMMA.sub(" ", stripped)
    t = stripped
    t = lang.words.frames.kind_of.sub("", t)
    return t


# a run of one-word sentences is one phrase: "cant. breathe. properly."
_STACCATO = re.compile(r"(?<![\w.])([a-z]+)\.\s+(?=[a-z]+\.)")




# a word said again after an aside: "gasping, like honestly properly gasping, for air" (the
# aside and the repeat out, so the phrase reads whole)
_RESTATED = re.compile(r"\b([a-z]{4,})\s*,\s*((?:[a-z]+\s+){1,4}?)\1\b\s*,?")
# where the clause of the first saying starts
_CLAUSE_START = re.compile(r"[,.;:!?\n]")


def _restated_once(t: str, lang: Language) -> str:
    """``t`` with a word said again after a plain aside said once: "gasping, like honestly
    properly gasping, for air" reads "gasping for air" (not when the aside
    denies or names a symptom: "sore to touch, cant even touch it" stays, nor when it compares:
    "swollen, more swollen than yesterday" stays)."""
    if "," not in t:
        return t

    def once(m: re.Match[str]) -> str:
        if lang.words.frames.comparing.search(m.group(2)) or not _plain_aside(m.group(2), lang):
            return m.group()
        # a word denied and then said again is a contrast, no restatement: "the redness isnt
        # the issue, the issue is ..." names a new problem
        opening = _CLAUSE_START.split(t[:m.start()])[-1]
        if lang.negation_re.search(opening):
            return m.group()
        return f"{m.group(1)} "
    return _RESTATED.sub(once, t)
_CLAUSE_BREAK = re.compile(r"[,.;:!?\n]|\bbut\b")


# a negated stop is a state that goes on ("it is sore and cant stop running"), no denial
_UNSTOPPED = re.compile(r"\b(?:wont|will\s+not|cant|cannot|doesnt|does\s+not|didnt|wouldnt|isnt)\s+"
                        r"(?:seem\s+to\s+)?stop(?:ping)?\b")


def _pronouns_resolved(t: str, lang: Language) -> str:
    """``t`` with each subject pronoun at a clause start ("it", "its", "they", "theyre") put
    as the last body part named before it in the message, when the two agree in number and
    nothing of the pronoun's number put on the skin (the rules' ``pronouns.things``) was named
    in the part's sentence before it: "my lips look odd, theyre swelling" reads "my lips look
    odd, my lips are swelling". Nor is a part word that names a product ("lip" of "lip liner",
    the rules' ``pronouns.compounds``) a part. A pronoun with no part before it stays, and so
    does one whose clause says the state is over ("they are fine now"), denies it or plays it
    down (``pronouns.played_down``)."""
    words = lang.words
    things, played_down, compounds = (
        words.pronoun_thing_re, words.played_down_re, words.part_compound_re)
    part_re = words.frames.part
    if things is None or played_down is None or compounds is None or not part_re.search(t):
        return t

    def part(m: re.Match[str]) -> str:
        before = t[:m.start(2)]
        parts = [found for found in part_re.finditer(before)
                 if not compounds.match(t, _after_space(t, found.end()))]
        if not parts:
            return m.group()
        last = parts[-1]
        pronoun = m.group(2)
        # "mine" after a question about a part ("can cream in the eye hurt it? mine is still
        # sore"): the writer's own part, its number told by the verb after it
        mine = pronoun.startswith("mine")
        plural = (pronoun.startswith("they") or mine and re.match(
            r"\s+(?:are|have)\b", t[m.end(2):]) is not None)
        opened = max(before.rfind(stop, 0, last.start()) for stop in ".!?\n") + 1
        # a thing of the pronoun's number named in the part's sentence: the pronoun is the thing
        if not mine and any(_plural_word(thing.group()) == plural
                            for thing in things.finditer(before, opened)):
            return m.group()
        # a clause that says the part is over ("they are fine now", "its gone down") is read
        # as written: the pronoun keeps the earlier state in the past
        said = {"its": "it is", "theyre": "they are", "theyve": "they have"}.get(pronoun, pronoun)
        if lang.cancelled_after_re.match(f" {said}{t[m.end(2):]}"):
            return m.group()
        # nor one that denies, plays down or explains in its first words ("theyre not getting
        # bigger", "theyre back to normal", "it was only my scarf"): the message as written
        # already reads the pronoun with its earlier clause
        # ("wont stop" keeps a state going: no denial)
        clause = _UNSTOPPED.sub("keeps", _CLAUSE_BREAK.split(t[m.end(2):], 1)[0])
        opening = " ".join(clause.split()[:4])
        if lang.negation_re.search(opening) or played_down.search(opening):
            return m.group()
        if (last.group(2) is not None) != plural:
            return m.group()
        phrase = last.group(1)
        if mine:
            return f"{m.group(1)}my {last.group(2) or last.group(3)}"
        if pronoun in ("it is", "its"):
            phrase += " is"
        elif pronoun in ("they are", "theyre"):
            phrase += " are"
        elif pronoun in ("they have", "theyve"):
            phrase += " have"
        elif pronoun == "it has":
            phrase += " has"
        return f"{m.group(1)}{phrase}"
    return words.frames.clause_pronoun.sub(part, t)


def _after_space(t: str, pos: int) -> int:
    """The position of the next word after ``pos`` (past the spaces)."""
    while pos < len(t) and t[pos] == " ":
        pos += 1
    return pos


def _plural_word(word: str) -> bool:
    """Whether a thing's word is plural: "creams", "drops" (not "gloss", "ibuprofen")."""
    return word.endswith("s") and not word.endswith("ss")


_OUT_OF_THE_BLUE = re.compile(r"\bout\s+of\s+the\s+blue\b")
_REPEATED_WORD = re.compile(r"\b([a-z]{2,})(?:\s*,?\s+\1\b)+")
_SPACES = re.compile(r"[ \t\r\f\v]+")
_NOUN_IS = re.compile(r"(?<=[a-z]) s\b")
