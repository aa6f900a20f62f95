"""The false-alarm classes found on blind batch 5, fixed as classes, through ``Advisor.ask``.

Every phrasing is our own: batch 5 was read only for the names of its classes. Denials that
name the sign they deny are tested in English, Spanish, Portuguese and Italian; the other
classes (hypotheticals, someone else's past, positive figures) are English rules only.
"""

from __future__ import annotations

import pytest

from knowledge.advisor import Advisor


@pytest.fixture(scope="module")
def advisor() -> Advisor:
    return Advisor.load()


# (class, language, text, day): normal messages that must not be escalated
CALM = [
    ("denial", "en", "nope no pus", 3),
    ("denial", "en", "nah, no swelling at all, just dry", 4),
    ("denial", "en", "I'm not struggling to swallow, I just want to know when I can eat", 0),
    ("denial", "en", "my lips are fine, I only asked because the leaflet mentions swelling", 1),
    ("denial", "en", "throat is fine, I was worried as I'd read about allergic reactions", 0),
    ("denial", "pt", "nada de pus, nada de febre, só a pele a descascar", 4),
    ("denial", "es", "sin pus, sin fiebre, solo pelando un poco", 4),
    ("denial", "it", "nessun pus, niente febbre, solo un po' di desquamazione", 3),
    ("hypothetical", "en", "suppose a blister appears, who do I contact?", 1),
    ("hypothetical", "en", "supposing my lips swelled up, would I ring 999?", None),
    ("hypothetical", "en", "would pus be a bad sign on day 2?", 2),
    ("hypothetical", "en", "in case I get a fever, what number do I call?", 1),
    ("story", "en", "my mum fainted at the dentist years ago, now I'm nervous about needles",
     None),
    ("story", "en", "my sister had hives constantly as a kid, I've never had them", 3),
    ("figure", "en", "nearly choked on my tea when I saw my skin this morning", 7),
    ("figure", "en", "face is buzzing... in a good way, so glowy", 6),
    ("near_recall_class", "en", "a tiny bit of bleeding, stopped when I pressed", 0),
    ("near_recall_class", "en", "my pillow had some makeup marks on it", 5),
]

# (class, language, text, day, tier): red flags next to the same words, still raised
RAISED = [
    ("denial", "en", "no fever, lips swollen", 0, "emergency"),
    ("denial", "en", "nope, but there's yellow pus now", 3, "urgent"),
    ("denial", "en", "no pus but a fever", 3, "urgent"),
    ("story", "en", "my wife's lips are swelling", 0, "emergency"),
    ("story", "en", "my brother fainted just now and won't wake up properly", None, "emergency"),
    ("hypothetical", "en", "I read about allergic reactions and now my lips are swelling", 0,
     "emergency"),
    # recall classes of batch 5 (English rules)
    ("cold_sore_start", "en", "tingling and a little bump at the corner of my lip again", 2,
     "urgent"),
    ("bleeding_pressure", "en", "bleeding won't settle no matter how hard I hold the gauze", 1,
     "urgent"),
    ("pus_evidence", "en", "woke up and my pillow had damp yellow stains", 3, "urgent"),
    ("product_raw", "en", "since I slapped on my vit c my skin is raw and burning", 2, "urgent"),
]


@pytest.mark.parametrize(("kind", "lang", "text", "day"), CALM,
                         ids=[f"{c[0]}-{c[1]}-{i}" for i, c in enumerate(CALM)])
def test_not_escalated(advisor: Advisor, kind: str, lang: str, text: str,
                       day: int | None) -> None:
    advice = advisor.ask(text, day)
    assert advice.urgency is None, (kind, lang, text, advice.triage)


@pytest.mark.parametrize(("kind", "lang", "text", "day", "tier"), RAISED,
                         ids=[f"{c[0]}-{c[1]}-{i}" for i, c in enumerate(RAISED)])
def test_still_raised(advisor: Advisor, kind: str, lang: str, text: str, day: int | None,
                      tier: str) -> None:
    advice = advisor.ask(text, day)
    assert advice.urgency == tier, (kind, lang, text, advice.triage)
