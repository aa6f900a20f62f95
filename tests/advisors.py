"""The shipped advisor, loaded once per test process for each detector choice.

`Advisor.load` parses the knowledge base, the triage rules, the other languages' lexicons and
the second detector: about a second of CPU. An `Advisor` is not changed by use (a reload
builds a new one), so modules that ask for the same one share it instead of loading it again
in each module and in each pytest-xdist worker the module's tests are spread over.
"""

from __future__ import annotations

import copy
import functools

from knowledge.advisor import Advisor
from knowledge.catalogue import Clinic
from knowledge.detectors import DEFAULT_DETECTOR, load_detectors
from knowledge.triage import Triage


@functools.cache
def shipped(clinic: Clinic | None = None,
            second_detector: str | None = DEFAULT_DETECTOR) -> Advisor:
    """``Advisor.load(None, clinic, second_detector)``, once per process for these values.

    Another clinic is the same advisor with its catalogue speaking for that clinic (the one
    thing `Advisor.load` does with `clinic`: ``Catalogue.load(path, clinic)``, which is
    ``Catalogue.load(path).with_clinic(clinic)``), so each clinic does not parse everything
    again. Another second detector is the same advisor with the same triage rules backed by
    that detector (the one thing `Advisor.load` does with `second_detector`:
    ``triage.with_detectors(load_detectors(second_detector))``), so the rules, the knowledge
    base and the language packs are not parsed, nor their patterns compiled, once more."""
    if clinic is not None:
        advisor = copy.copy(shipped(None, second_detector))
        advisor.messages = advisor.messages.with_clinic(clinic)
        return advisor
    if second_detector == DEFAULT_DETECTOR:
        return Advisor.load(None, None, second_detector)
    advisor = copy.copy(shipped())
    advisor.triage = advisor.triage.with_detectors(load_detectors(second_detector))
    return advisor


def packaged_rules() -> Triage:
    """The packaged triage rules alone, without a second detector: what ``load_triage()``
    gives, taken from the shared advisor of the rules alone (the rules are not parsed again,
    nor every pattern compiled at once as ``load_triage()`` does)."""
    return shipped(second_detector=None).triage
