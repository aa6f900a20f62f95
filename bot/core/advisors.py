"""The advisor as the conversation and the desk hold it: two decorators of `AdvisorPort`.

* `LiveAdvisor` answers with the advisor of the moment: the one loaded at start until the
  clinic's knowledge-base additions change (bot/core/clinic_kb.py), then the rebuilt one.
  `replace` is the one way to swap it (bot/telegram/kb_reload.py, the web desk's gaps page);
  the objects holding the `LiveAdvisor` never change.
* `ObservedAdvisor` tells an `AdviceObserver` the outcome of every answer (the ops metrics,
  bot/ops/http.py); it wraps the live one, so the count survives a swap.

bot/compose.py builds both and hands the outer one to the flows' `FlowKit`.
"""

from __future__ import annotations

from typing import Any, Protocol

from bot.core.ports import AdvisorPort
from knowledge.advisor import Advice, Advisor, FollowUp
from knowledge.catalogue import Catalogue, Clinic


class AdviceObserver(Protocol):
    """Hears the kind of every answer given ("answered", "escalated", ...)."""

    def advice_given(self, kind: str) -> None: ...


class LiveAdvisor:
    """The advisor of the moment (see the module docstring)."""

    def __init__(self, advisor: Advisor) -> None:
        self._current = advisor

    @property
    def current(self) -> Advisor:
        """The advisor answering now."""
        return self._current

    def replace(self, advisor: Advisor) -> None:
        """Answer with `advisor` from now on (the clinic's additions changed)."""
        self._current = advisor

    @property
    def clinic(self) -> Clinic:
        return self._current.clinic

    def text(self, key: str, **values: Any) -> str:
        return self._current.text(key, **values)

    def ask(self, text: str, day: int | None = None, language_hint: str | None = None,
            weekday: int | None = None) -> Advice:
        return self._current.ask(text, day, language_hint, weekday)

    def follow_up(self, question_id: str) -> FollowUp | None:
        return self._current.follow_up(question_id)

    def answer_follow_up(self, question_id: str, yes: bool, day: int | None) -> Advice | None:
        return self._current.answer_follow_up(question_id, yes, day)

    def typed_answer(self, question_id: str, text: str) -> bool | None:
        return self._current.typed_answer(question_id, text)

    def answer_entry(self, entry_id: str, day: int | None) -> Advice | None:
        return self._current.answer_entry(entry_id, day)

    def language_text(self, language: str, key: str) -> str:
        return self._current.language_text(language, key)

    def language_hours(self, language: str) -> Catalogue | None:
        return self._current.language_hours(language)

    def language_name(self, code: str) -> str:
        return self._current.language_name(code)


class ObservedAdvisor:
    """`inner`, telling `observer` the kind of every answer `ask` gives."""

    def __init__(self, inner: AdvisorPort, observer: AdviceObserver) -> None:
        self.inner = inner
        self.observer = observer

    @property
    def clinic(self) -> Clinic:
        return self.inner.clinic

    def text(self, key: str, **values: Any) -> str:
        return self.inner.text(key, **values)

    def ask(self, text: str, day: int | None = None, language_hint: str | None = None,
            weekday: int | None = None) -> Advice:
        advice = self.inner.ask(text, day, language_hint, weekday)
        self.observer.advice_given(str(advice.kind))
        return advice

    def follow_up(self, question_id: str) -> FollowUp | None:
        return self.inner.follow_up(question_id)

    def answer_follow_up(self, question_id: str, yes: bool, day: int | None) -> Advice | None:
        return self.inner.answer_follow_up(question_id, yes, day)

    def typed_answer(self, question_id: str, text: str) -> bool | None:
        return self.inner.typed_answer(question_id, text)

    def answer_entry(self, entry_id: str, day: int | None) -> Advice | None:
        return self.inner.answer_entry(entry_id, day)

    def language_text(self, language: str, key: str) -> str:
        return self.inner.language_text(language, key)

    def language_hours(self, language: str) -> Catalogue | None:
        return self.inner.language_hours(language)

    def language_name(self, code: str) -> str:
        return self.inner.language_name(code)
