"""Red flags in other languages: per-language sign lexicons read with tolerant matching.

Each supported language has a data file ``knowledge/languages/<code>.yaml`` with its sign
lexicon (phrases mapped onto the English sign ids of ``knowledge/triage.yaml``, so tier, day
window and the rule text staff see come from the English rules), its negation, hedge,
hypothetical and clause words, chat shorthand, and the patient-facing templates.

How a message is read in one language:

1. fold: Unicode NFKD with accents and diacritics dropped (``hinchazón`` -> ``hinchazon``,
   ``ё`` -> ``е``, ``ł`` -> ``l``, ``ı`` -> ``i``, ``ß`` -> ``ss``); Arabic loses its short vowels
   and tatweel, its alef/hamza variants are unified and ``ى``/``ة`` become ``ي``/``ه``; letters
   typed three or more times are cut to two; Arabic-Indic digits become ASCII.
2. split into words (with their place in the original text, for the evidence staff see) and
   clauses (punctuation and the language's ``clause_words``); ``shorthand`` expands chat words
   ("q" -> "que"), ``hedges`` ("no sé si") become clause breaks so their negation cancels nothing
   (not before a ``not_hedged_before`` word: Egyptian "مش عارفة تتنفس" is "cannot breathe").
3. each word is compared with the lexicon's words: exactly, as a prefix (``hinch*`` matches
   ``hinchados``) or, for words of five letters or more, within one edit (a dropped, doubled,
   swapped or wrong letter: ``respirrar``), unless the word is listed in ``not_typos`` (a
   real word one letter from a lexicon word: German "bekommen" is not "benommen"). Arabic
   words are also tried without their attached conjunction and article (``والشفايف`` ->
   ``شفايف``).
4. a phrase matches when every slot is found in one clause, in any order, within a span of its
   length plus three words ("la mejilla está más caliente" matches ``mejilla caliente``); a
   phrase written ``far: ...`` may have its words anywhere in the clause ("me arde la cara
   desde que me puse el sérum"), one written ``sentence: ...`` anywhere in the sentence,
   across its clauses ("tomé paracetamol, pero el dolor no se va"); a placement across an
   "and also" (``joiners``) with more words after it in the clause does not count ("la cara
   hinchada y también los labios secos": the lips have a state of their own).
5. a match is cancelled by a negation word up to four words before it or between its words
   (unless the phrase contains that word itself: "no puedo respirar"; a ``concord`` word
   such as "hiç" or "per niente" only stresses a match that is negative itself, with a
   negation word or an ``inability`` verb form: "hiç nefes alamıyorum"), by a ``negations_after``
   word just after it ("температуры нет"), by a negative verb form (``negative_suffix``:
   Turkish ``şişmedi``), by a ``resolved`` word in the clause ("ha bajado") unless a
   ``not_resolved`` phrase holds it ("onde passou a agulha": where the needle went), or by a
   ``hypothetical`` marker earlier in the clause ("qué hago si ...") unless an ``onset`` now
   follows in a sentence that does not ask ("j'ai souvent de l'herpès et un commence") or the
   patient says in another clause that they have it now (``confirmed``: "pregunto porque los
   míos se están hinchando"); a ``hypothetical_lead`` marker that is a clause of its own just
   before, in the sentence ("Angenommen, ich bekomme ...", "Допустим, у меня ..."), counts as
   earlier in the clause. A resolved word just after an ``instead`` phrase resolves
   nothing ("schlimmer statt besser": what did not happen). A multiple is one word either way
   round ("2x", "x2": "labios 2x más grandes").
   A word inside a run of words that names something else (``not_sign``, by sign id, the
   words one right after the other) is no place for that sign: "un bleu" and "blauer Fleck"
   are bruises, not blue skin; "bouton de fièvre" is a cold sore, not a fever; "fark
   göremiyorum" (I can't see a difference) is no sight loss; "volvió a la normalidad" no relapse.
6. the sign must apply on the recovery day (the English sign's day window); the most serious
   sign wins, as in English. Strong redness or swelling still there is urgent from day 5 and,
   as in English, the guidance's routine review on days 3-4: a lexicon's phrases for
   ``redness_lasting``/``swelling_lasting`` read as their review twins on those days (no alert,
   the decision marked ``routine_review``).

Its modules: ``fold`` (folding, words, elisions), ``lexicon`` (phrases, vocabulary, a language
pack, reading one word), ``message`` (a message prepared for one language), ``placing`` (a
phrase placed in a message and what cancels it), ``guards`` (stories, general and protocol
questions, delight, a sign told as over, a cold sore before a session still to come), ``fever``
(temperature readings), ``lexicons`` (every pack, reading one message), ``loading`` and
``hours`` (the data files), ``facade`` (``Multilingual``, what the advisor asks).

Pure logic: the only I/O is reading the data files.
"""

from knowledge.multilingual.facade import Multilingual, Reading
from knowledge.multilingual.fold import fold
from knowledge.multilingual.lexicon import LanguagePack
from knowledge.multilingual.lexicons import ForeignReading, Lexicons
from knowledge.multilingual.loading import LANGUAGES_DIR, load_lexicons

__all__ = [
    "LANGUAGES_DIR",
    "ForeignReading",
    "LanguagePack",
    "Lexicons",
    "Multilingual",
    "Reading",
    "fold",
    "load_lexicons",
]
