"""The web desk's words (bot/web/texts.yaml): every key the code of bot/web/ (and any template)
looks up is in the file, with the values its text names, and every entry of the file is used,
so a line can neither go missing at run time nor be left behind when the desk stops showing it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from bot.web.services import TEXTS
from knowledge.catalogue import Catalogue
from tests.text_keys import Lookup, lookups, missing, unused

WEB = TEXTS.parent
# a template that looks a text up: text("key" ...) or texts.raw("key")
TEMPLATE_LOOKUP = re.compile(r"""\btexts?(?:\.raw)?\(\s*["']([^"']+)["']""")


def kind(call: ast.Call) -> str | None:
    """``<desk>.text(key, ...)`` is a lookup, but for the one that defines it
    (``self.texts.text(key, **values)``); ``<desk>.texts.raw(key)`` looks the entry up raw."""
    func = call.func
    if not isinstance(func, ast.Attribute):
        return None
    if func.attr == "text" and ast.unparse(func.value) != "self.texts":
        return "text"
    if func.attr == "raw" and isinstance(func.value, ast.Attribute) \
            and func.value.attr == "texts":
        return "raw"
    return None


def web_lookups() -> list[Lookup]:
    found = list(lookups(sorted(WEB.glob("*.py")), kind))
    for template in sorted((WEB / "templates").glob("*.html")):
        source = template.read_text(encoding="utf-8")
        for match in TEMPLATE_LOOKUP.finditer(source):
            line = source.count("\n", 0, match.start()) + 1
            found.append(Lookup(f"{template.name}:{line}", match.group(1), None))
    return found


def texts() -> Catalogue:
    return Catalogue.load(TEXTS)


def test_every_key_used_is_in_the_file_with_the_values_it_names() -> None:
    found = web_lookups()
    assert len(found) > 40  # the scan sees the lookups (a rename of `text` would hide them)
    assert {Path(f.where.split(":")[0]).name for f in found} >= {
        "app.py", "common.py", "figures.py", "gaps.py", "patients.py", "photos.py", "serve.py"}
    assert missing(texts(), found, TEXTS.name) == []


def test_every_entry_of_the_file_is_used() -> None:
    assert unused(texts(), web_lookups()) == []


def test_the_checks_see_what_they_look_for() -> None:
    source = 'desk.text("notice.queued" if demo else "notice.demo_queued", id=1)\n' \
             'desk.texts.raw("chart.lanes")\nself.texts.text(key, **values)\n'
    calls = [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Call)]
    assert [kind(c) for c in calls] == ["text", "raw", None]
    entries = {"notice": {"queued": "Sent {id}.", "spare": "x"}}
    wrong = missing(Catalogue(entries),
                    [Lookup("a", "notice.queued", frozenset()), Lookup("b", "notice.gone", None)],
                    "texts.yaml")
    assert wrong == ["a: 'notice.queued' names ['id'], the code gives []",
                     "b: 'notice.gone' is not in texts.yaml"]
    assert unused(Catalogue(entries), [Lookup("a", "notice.queued", None)]) == ["notice.spare"]
    assert TEMPLATE_LOOKUP.findall('{{ text("refused.csrf") }} {{ rep.text }}') == [
        "refused.csrf"]
