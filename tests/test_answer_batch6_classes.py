"""The answer-quality classes found on blind batch 6, fixed as classes, through ``Advisor.ask``.

Each class has phrasings of our own (never a blind batch's words): a normal sting on day 0 is
the pain answer, not the "bad smell" red flag one letter away ("stings" / "stinks").
"""

from __future__ import annotations

import pytest

from knowledge.advisor import Advisor, Clinic


@pytest.fixture(scope="module")
def advisor() -> Advisor:
    return Advisor.load(clinic=Clinic(name="Glow Clinic", contact="020 7946 0000"))


@pytest.mark.parametrize("text", ["it stings, any tips", "it stings a lot tonight",
                                  "it stings when i put my cream on"])
def test_a_normal_sting_is_not_the_bad_smell_red_flag(advisor: Advisor, text: str) -> None:
    advice = advisor.ask(text, 0)
    assert advice.kind != "escalated", (text, advice.topic)


@pytest.mark.parametrize("text", ["it stinks", "my face stinks, what can i do"])
def test_a_bad_smell_is_still_escalated(advisor: Advisor, text: str) -> None:
    advice = advisor.ask(text, 3)
    assert advice.kind == "escalated" and advice.topic == "red_flag.infection_smell", text
