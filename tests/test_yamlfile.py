"""knowledge/yamlfile.py: a data file's text is parsed once per process, and every read gets a
copy of that parse that is its own (changing it changes no other read), with the same lines, and
YAML's shared nodes (an anchor and its aliases) shared the same way; a text that does not parse
fails each time, naming its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge import yamlfile
from knowledge.yamlfile import DataFileError, LineDict, LineList, parse_yaml, read_yaml

TEXT = """\
version: 1
when: 2026-12-01
shared: &words
  - red
  - {sore: yes, since: 2}
again: *words
odd: !!set {a, b}
"""


def _same(first: object, second: object) -> bool:
    """Equal, of the same types, with the same lines, and no container of one is in the
    other."""
    if type(first) is not type(second):
        return False
    if isinstance(first, LineDict) and isinstance(second, LineDict):
        return (first is not second and (first.line, first.key_lines, list(first)) == (
            second.line, second.key_lines, list(second))
            and all(_same(first[key], second[key]) for key in first))
    if isinstance(first, LineList) and isinstance(second, LineList):
        return (first is not second and (first.line, first.item_lines, len(first)) == (
            second.line, second.item_lines, len(second))
            and all(_same(a, b) for a, b in zip(first, second, strict=True)))
    return first == second


def test_each_read_gets_its_own_copy_of_one_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    parses = []
    real = yamlfile._parse

    def counted(text: str, name: str) -> object:
        parses.append(name)
        return real(text, name)

    monkeypatch.setattr(yamlfile, "_parse", counted)
    first = parse_yaml(TEXT, "a.yaml")
    second = parse_yaml(TEXT, "a.yaml")
    assert parses == ["a.yaml"]
    assert _same(first, second) and _same(second, real(TEXT, "a.yaml"))
    assert second.line_of("again") == 6 and second["shared"].item_lines == [4, 5]
    assert second["shared"] is second["again"]  # an alias is the anchor's node, as parsed
    assert second["odd"] == {"a", "b"} and second["odd"] is not first["odd"]

    second["shared"][1]["sore"] = False
    second["version"] = 2
    third = parse_yaml(TEXT, "a.yaml")
    assert _same(first, third) and third["shared"][1]["sore"] is True
    parse_yaml(TEXT, "b.yaml")  # another file with the same text is parsed as its own
    assert parses == ["a.yaml", "b.yaml"]


def test_a_changed_file_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "data.yaml"
    path.write_text("greeting: hello\n", encoding="utf-8")
    assert read_yaml(path) == {"greeting": "hello"}
    path.write_text("greeting: hi\n", encoding="utf-8")
    assert read_yaml(path) == {"greeting": "hi"}


def test_a_broken_text_fails_every_time() -> None:
    for _ in range(2):
        with pytest.raises(DataFileError) as failed:
            parse_yaml("ok: 1\n\t: [unclosed\n", "broken.yaml")
        assert (failed.value.path, failed.value.line) == ("broken.yaml", 2)


def test_a_duplicated_key_fails_at_its_line_and_a_merge_may_override() -> None:
    with pytest.raises(DataFileError) as failed:
        parse_yaml("sign:\n  id: lips\n  tier: urgent\n  tier: emergency\n", "signs.yaml")
    assert (failed.value.path, failed.value.line) == ("signs.yaml", 4)
    assert "duplicate key 'tier' (first at line 3)" in failed.value.reason
    merged = parse_yaml("base: &b {tier: urgent}\nsign:\n  <<: *b\n  tier: emergency\n", "m.yaml")
    assert merged["sign"]["tier"] == "emergency"
