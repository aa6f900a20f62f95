"""The one message catalogue (knowledge/catalogue.py): the advisor's texts and the bot's are
read and filled by the same type, for the configured clinic."""

from __future__ import annotations

from pathlib import Path

from bot.compose import build_memory_services
from bot.config import load_settings
from bot.core.messages import PACKAGED_MESSAGES
from knowledge.catalogue import Catalogue, Clinic, Trusted

ROSEWOOD = Clinic("Rosewood <Skin>", "020 7946 0000", "999")


def test_render_escapes_values_and_text_leaves_them() -> None:
    catalogue = Catalogue({"a": {"b": "Hello {name}, {clinic}{clinic_contact}"}}, ROSEWOOD)
    assert catalogue.render("a.b", name="<Mia>") == (
        "Hello &lt;Mia&gt;, Rosewood &lt;Skin&gt; (020 7946 0000)")
    assert catalogue.render("a.b", name=Trusted("<b>Mia</b>")).startswith("Hello <b>Mia</b>")
    assert catalogue.text("a.b", name="<Mia>") == "Hello <Mia>, Rosewood <Skin> (020 7946 0000)"
    assert catalogue.get("a.missing", "x") == "x" and "a.b" in catalogue
    assert catalogue.with_clinic(Clinic()).text("a.b", name="Mia") == "Hello Mia, the clinic"


async def test_the_advisor_and_the_bot_speak_for_the_same_clinic() -> None:
    settings = load_settings(None, AFTERCARE_CLINIC_NAME="Rosewood Skin",
                             AFTERCARE_EMERGENCY_NUMBER="112")
    services = build_memory_services(settings)  # the same wiring, no database needed
    assert isinstance(services.patient.advisor.messages, Catalogue)
    assert isinstance(services.patient.messages, Catalogue)
    clinic = settings.clinic()
    assert services.patient.advisor.clinic == services.patient.messages.clinic == clinic
    urgent = services.patient.advisor.ask("there is yellow pus and it is getting hotter", 3)
    assert "Rosewood Skin" in urgent.answer and "112" in urgent.answer


def test_a_clinic_copy_of_the_bot_texts_is_read_as_a_catalogue(tmp_path: Path) -> None:
    own = tmp_path / "messages.yaml"
    own.write_text(PACKAGED_MESSAGES.read_text(encoding="utf-8"), encoding="utf-8")
    assert Catalogue.load(own, ROSEWOOD).entries == Catalogue.load(PACKAGED_MESSAGES).entries


def _strings(node: object) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for value in node.values() for s in _strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in _strings(value)]
    return []


def test_with_no_clinic_name_no_sentence_starts_with_a_small_letter() -> None:
    """The default name is "the clinic": a text that opens a sentence with the clinic's name
    says "The clinic …" (the demo and a clinic that left the name unset showed "the clinic's
    team is now looking at your report")."""
    import re
    from collections import defaultdict

    from knowledge.advisor import PACKAGED_MESSAGES as ADVISOR_MESSAGES

    for path in (PACKAGED_MESSAGES, ADVISOR_MESSAGES):
        catalogue = Catalogue.load(path)
        values = defaultdict(str, catalogue._clinic_values())
        for template in _strings(catalogue.entries):
            try:
                text = template.format_map(values)
            except (ValueError, IndexError, AttributeError, KeyError):
                continue
            assert not re.search(r"(?:^|[.!?]\s+)the clinic\b", text), (path.name, text)
    taken = Catalogue.load(PACKAGED_MESSAGES).text("desk.patient_taken")
    assert taken.startswith("The clinic's team is now looking")


def test_every_card_label_is_a_text_of_the_catalogue() -> None:
    """A card starts with its urgency or kind, read from "desk.labels" (a clinic's copy of
    the texts may rename them); every urgency and kind has one."""
    from bot.core.desk import label_key
    from storage.models import ReportKind, Urgency
    from storage.reports import ReportInfo

    labels = Catalogue.load(PACKAGED_MESSAGES).raw("desk.labels")
    cases = [(None, kind) for kind in ReportKind] + [(urgency, ReportKind.TRIAGE)
                                                     for urgency in Urgency]
    for urgency, kind in cases:
        report = object.__new__(ReportInfo)
        object.__setattr__(report, "urgency", urgency)
        object.__setattr__(report, "kind", kind.value)
        assert label_key(report) in labels, (urgency, kind)
    assert labels["checkin"] == "CHECK-IN" and labels["emergency"] == "EMERGENCY"
