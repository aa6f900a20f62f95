"""Issue 13's failure classes, in English, through ``Advisor.ask`` (the path a patient message
takes): figurative wording, words between body part and state, shorthand and typos, figures of
speech and jokes, someone else's voice. Phrasings are our own, never the blind batch's."""

from __future__ import annotations

import pytest

from knowledge.advisor import Advisor
from knowledge.text import Speller, clean, fold

FIGURATIVE = [
    ("my lips have blown up", 0, "emergency"),
    ("lips are massive", 0, "emergency"),
    ("his tongue looks huge", 1, "emergency"),
    ("my breathing sounds whistly and rattly", 0, "emergency"),
    ("i feel woozy and spaced out", 0, "emergency"),
    ("her lips have gone a bit purplish", 0, "emergency"),
    ("my tongue feels way too big", 0, "emergency"),
    ("my lips feel like they've been stung by a bee", 0, "emergency"),
    ("feels like an elephant is sitting on my chest", 0, "emergency"),
    ("nearly keeled over in the shower", 0, "emergency"),
    ("vision in my right eye just went", 0, "emergency"),
]

WORDS_BETWEEN = [
    ("throat feels weird and tight", 0, "emergency"),
    ("my lower lip is getting really quite fat", 0, "emergency"),
    ("cheek is hot, red and getting bigger", 3, "urgent"),
    ("the redness on my jaw is spreading fast", 2, "emergency"),
    ("the bruise on my temple keeps on growing", 3, "urgent"),
    ("cheek redness doubled in size in an hour", 2, "emergency"),
    ("itching like mad with raised red bumps everywhere", 1, "urgent"),
    ("burning and raw since i used the new cream", 3, "urgent"),
]

SHORTHAND_AND_TYPOS = [
    ("my lips r massive", 0, "emergency"),
    ("throat's tight", 0, "emergency"),
    ("tung n lips swelln", 0, "emergency"),
    ("cnt breath properly", 0, "emergency"),
    ("swolen tounge", 0, "emergency"),
    ("the bleding wont stop", 0, "urgent"),
    ("theres puss coming out", 3, "urgent"),
    ("my wife can barely breathe", 0, "emergency"),
    ("thraot closin up", 0, "emergency"),  # looks foreign to the language model: still caught
]

NOT_SYMPTOMS: list[tuple[str, int | None]] = [
    ("lol nearly fainted when i saw the price", None),
    ("choking on my coffee laughing at the before photos haha", 1),
    ("the wait for my results is killing me", 10),
    ("fewer spots today", 4),
    ("my tips for sun: spf every day", 5),
    ("lol my face is killing me with these flakes", 4),
    ("breathless from running up the stairs haha", 5),
    ("I'm dying to go swimming lol", 2),
]

OTHER_VOICE_NOW = [
    ("my husband's lips are swelling up", 0, "emergency"),
    ("my sister just fainted in the kitchen", 1, "emergency"),
    ("our daughter had it done 4 days ago and now there's pus", 4, "urgent"),
]

OTHER_VOICE_STORY: list[tuple[str, int | None]] = [
    ("my friend said her lips swelled, should i worry?", None),
    ("my aunt got hives from numbing cream years ago, is that common?", None),
    ("a colleague told me she fainted at her appointment once", None),
    ("my sister had blisters after hers, should I be worried?", None),
    ("my colleague's face swelled up after her filler last year", None),
]


@pytest.mark.parametrize(("text", "day", "tier"),
                         FIGURATIVE + WORDS_BETWEEN + SHORTHAND_AND_TYPOS + OTHER_VOICE_NOW)
def test_red_flags_in_many_wordings_escalate(advisor: Advisor, text: str, day: int | None,
                                            tier: str) -> None:
    advice = advisor.ask(text, day)
    assert advice.urgency == tier, advice.triage.reason if advice.triage else advice.answer
    assert advice.triage is not None and advice.triage.reason.startswith(tier.upper())


@pytest.mark.parametrize(("text", "day"), NOT_SYMPTOMS + OTHER_VOICE_STORY)
def test_figures_of_speech_jokes_and_stories_do_not_escalate(advisor: Advisor, text: str,
                                                             day: int | None) -> None:
    advice = advisor.ask(text, day)
    assert advice.urgency is None, advice.triage.reason if advice.triage else ""


def test_one_normaliser_serves_triage_and_matcher() -> None:
    assert clean("My LIPS r swellin!!! 😱 38,5º", punctuation=True) == \
        "my lips are swelling!!! 38.5°"
    assert fold("Can I wear make-up 2moro??") == "can i wear makeup tomorrow"
    assert clean("Губы опухли") == "губы опухли"  # other scripts are kept for the language side


def test_speller_corrects_toward_vocabulary_but_never_a_real_word() -> None:
    speller = Speller(["throat", "swollen", "tight", "fever", "lips"])
    assert speller.correct("my thraot is swolen and tght, lipps too") == \
        "my throat is swollen and tight, lips too"
    assert speller.correct("fewer tips") == "fewer tips"
