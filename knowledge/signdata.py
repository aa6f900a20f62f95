"""Per-sign advice and one-tap rule-out questions, and the cross-checks that keep them in step
with the triage rules and the phrase bank.

``sign_advice.yaml`` gives each red-flag sign (or group of signs) its own short "what to do now"
text; ``followups.yaml`` holds the rule-out questions that "check" signs ask. ``load_sign_data``
reads both (a malformed file raises ``KBError`` naming file, line and reason);
``sign_data_problems`` lists every mismatch with ``triage.yaml`` and ``phrases.yaml`` for
``aftercare kb check``. Pure: reads the packaged files only.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from knowledge.errors import KBError, Problem
from knowledge.typed_answers import FOLLOW_UP_KEYS, answer_lists
from knowledge.yamlfile import DataFileError, LineDict, LineList, read_yaml

if TYPE_CHECKING:
    from knowledge.triage import Triage
    from knowledge.triage.rules import Sign

PACKAGED_ADVICE = Path(__file__).parent / "sign_advice.yaml"
PACKAGED_FOLLOWUPS = Path(__file__).parent / "followups.yaml"
_RED_TIERS = ("emergency", "urgent")
_ASKED_TIERS = (*_RED_TIERS, "check")  # the signs with a line for when only asked about


@dataclass(frozen=True)
class FollowUpQuestion:
    """A one-tap rule-out question: Yes escalates at ``tier`` at once, No is recorded."""

    id: str
    tier: str
    text: str
    no_reply: str


@dataclass(frozen=True)
class SignData:
    """What to do now per sign, and the rule-out questions with their button labels."""

    advice: dict[str, str]  # sign id -> text (may hold {clinic})
    advice_lines: dict[str, tuple[str, int]]  # sign id -> (file, line) of its group
    questions: dict[str, FollowUpQuestion]
    yes_label: str
    no_label: str
    groups: dict[str, str] = field(default_factory=dict)  # sign id -> its advice group's id
    # a sign only asked about or told as a story: the line that leads the warning-signs answer
    asked: dict[str, AskedLine] = field(default_factory=dict)  # sign id -> its line
    # a rule-out answer typed instead of tapped (``answer_words`` forms), English's own
    yes_words: frozenset[str] = frozenset()
    no_words: frozenset[str] = frozenset()


@dataclass(frozen=True)
class AskedLine:
    """The line for a sign only asked about (may hold {clinic}, {emergency}), the entries that
    already answer a question about it (``keep``), and where it is written."""

    id: str
    text: str
    keep: tuple[str, ...]
    path: str
    line: int


def load_sign_data(advice_path: Path = PACKAGED_ADVICE,
                   followups_path: Path = PACKAGED_FOLLOWUPS) -> SignData:
    """Read both files; every problem found raises one ``KBError``."""
    problems: list[Problem] = []
    groups: dict[str, str] = {}
    advice, lines = _advice(advice_path, problems, groups)
    asked = _asked(advice_path, problems)
    questions, yes, no = _followups(followups_path, problems)
    yes_words, no_words = typed_answers(followups_path, problems)
    if problems:
        raise KBError(problems)
    return SignData(advice, lines, questions, yes, no, groups, asked, yes_words, no_words)


def _read(path: Path, problems: list[Problem]) -> LineDict | None:
    try:
        data = read_yaml(path)
    except DataFileError as exc:
        problems.append(Problem(exc.path, exc.line, exc.reason))
        return None
    if not isinstance(data, LineDict) or data.get("version") != 1:
        problems.append(Problem(str(path), 1, "the file must be a mapping with 'version: 1'"))
        return None
    return data


def _text(value: object) -> str | None:
    return " ".join(value.split()) if isinstance(value, str) and value.strip() else None


def _advice(path: Path, problems: list[Problem],
            group_ids: dict[str, str] | None = None) -> tuple[dict[str, str],
                                                              dict[str, tuple[str, int]]]:
    advice: dict[str, str] = {}
    lines: dict[str, tuple[str, int]] = {}
    data = _read(path, problems)
    if data is None:
        return advice, lines
    groups = data.get("groups")
    if not isinstance(groups, LineList) or not groups:
        problems.append(Problem(str(path), data.line_of("groups"), "'groups' must be a list"))
        return advice, lines
    for group, line in zip(groups, groups.item_lines, strict=False):
        text = _text(group.get("text")) if isinstance(group, LineDict) else None
        signs = group.get("signs") if isinstance(group, LineDict) else None
        if text is None or not isinstance(signs, LineList) or not signs:
            problems.append(Problem(str(path), line, "a group needs 'id', 'signs' and 'text'"))
            continue
        for sign in signs:
            if sign in advice:
                problems.append(Problem(str(path), line, f"sign {sign!r} is in two groups"))
            advice[str(sign)] = text
            lines[str(sign)] = (str(path), line)
            if group_ids is not None and isinstance(group, LineDict):
                group_ids[str(sign)] = str(group.get("id", ""))
    return advice, lines


def _asked(path: Path, problems: list[Problem]) -> dict[str, AskedLine]:
    """The ``asked`` groups: sign id -> its line (a sign in two groups is a problem)."""
    asked: dict[str, AskedLine] = {}
    data = _read(path, problems)
    if data is None:
        return asked
    groups = data.get("asked")
    if not isinstance(groups, LineList) or not groups:
        problems.append(Problem(str(path), data.line_of("asked") if "asked" in data else 1,
                                "'asked' must be a list of groups"))
        return asked
    for group, line in zip(groups, groups.item_lines, strict=False):
        fields = group if isinstance(group, LineDict) else LineDict()
        gid, text, signs = fields.get("id"), _text(fields.get("text")), fields.get("signs")
        keep = fields.get("keep", [])
        if (not isinstance(gid, str) or text is None or not isinstance(signs, LineList)
                or not signs or not isinstance(keep, list)
                or not all(isinstance(k, str) for k in keep)):
            problems.append(Problem(str(path), line, "an 'asked' group needs 'id', 'signs' and "
                                    "'text' ('keep', if given, a list of entry ids)"))
            continue
        unknown = set(fields) - {"id", "signs", "text", "keep"}
        if unknown:
            problems.append(Problem(str(path), line, f"asked {gid}: unknown keys "
                                    f"{', '.join(sorted(unknown))}"))
        for sign in signs:
            if str(sign) in asked:
                problems.append(Problem(str(path), line, f"sign {sign!r} is in two 'asked' "
                                        "groups"))
            asked[str(sign)] = AskedLine(gid, text, tuple(keep), str(path), line)
    return asked


def _followups(path: Path, problems: list[Problem]) -> tuple[dict[str, FollowUpQuestion],
                                                             str, str]:
    questions: dict[str, FollowUpQuestion] = {}
    data = _read(path, problems)
    if data is None:
        return questions, "Yes", "No"
    buttons = data.get("buttons")
    yes = _text(buttons.get("yes_label")) if isinstance(buttons, LineDict) else None
    no = _text(buttons.get("no_label")) if isinstance(buttons, LineDict) else None
    if yes is None or no is None:
        problems.append(Problem(str(path), data.line_of("buttons"),
                                "'buttons' needs 'yes_label' and 'no_label'"))
    items = data.get("questions")
    if not isinstance(items, LineList) or not items:
        problems.append(Problem(str(path), data.line_of("questions"),
                                "'questions' must be a list"))
        return questions, yes or "Yes", no or "No"
    for item, line in zip(items, items.item_lines, strict=False):
        fields = item if isinstance(item, LineDict) else LineDict()
        qid, tier = fields.get("id"), fields.get("tier")
        text, no_reply = _text(fields.get("text")), _text(fields.get("no_reply"))
        if not isinstance(qid, str) or text is None or no_reply is None:
            problems.append(Problem(str(path), line,
                                    "a question needs 'id', 'tier', 'text' and 'no_reply'"))
            continue
        if tier not in _RED_TIERS:
            problems.append(Problem(str(path), fields.line_of("tier"),
                                    f"{qid}: tier must be emergency or urgent"))
            continue
        if qid in questions:
            problems.append(Problem(str(path), line, f"duplicate question id {qid!r}"))
        questions[qid] = FollowUpQuestion(qid, str(tier), text, no_reply)
    return questions, yes or "Yes", no or "No"


def typed_answers(path: Path, problems: list[Problem]) -> tuple[frozenset[str], frozenset[str]]:
    """``buttons.yes_words`` / ``no_words`` of knowledge/followups.yaml in ``answer_words``
    form (checked: lists of text, no answer in both)."""
    data = _read(path, problems)
    buttons = data.get("buttons") if data is not None else None
    if not isinstance(buttons, LineDict):
        return frozenset(), frozenset()
    return answer_lists(buttons, str(path), problems)


def sign_data_problems(triage: Triage | None = None,
                       entry_ids: Collection[str] | None = None) -> list[Problem]:
    """Every way the packaged rules, phrase bank, advice and questions disagree. ``triage``:
    the packaged rules when the caller has loaded them already (else they are loaded);
    ``entry_ids``: the knowledge base's entries, which the ``asked`` lines' ``keep`` must name
    (not checked when None)."""
    from knowledge.detectors import PhraseBankError, load_phrase_bank
    from knowledge.triage import CHECK, REVIEW, load_triage

    try:
        data = load_sign_data()
    except KBError as exc:
        return list(exc.problems)
    if triage is None:
        triage = load_triage()
    problems: list[Problem] = []
    advice_file = str(PACKAGED_ADVICE)
    for sign in triage.signs:
        if sign.tier in _RED_TIERS and sign.id not in data.advice:
            problems.append(Problem(advice_file, 1, f"{sign.tier} sign {sign.id!r} "
                                    f"({sign.source}) has no 'what to do now' text"))
        if sign.tier == CHECK and sign.ask not in data.questions:
            problems.append(Problem(sign.source.rsplit(":", 1)[0],
                                    int(sign.source.rsplit(":", 1)[1]),
                                    f"sign {sign.id!r} asks unknown question {sign.ask!r}"))
    known = {sign.id: sign for sign in triage.signs}
    problems += _asked_problems(data, known, entry_ids)
    for sign_id, (path, line) in data.advice_lines.items():
        if sign_id not in known:
            problems.append(Problem(path, line, f"unknown sign id {sign_id!r}"))
        elif known[sign_id].tier not in (*_RED_TIERS, REVIEW):
            problems.append(Problem(path, line, f"sign {sign_id!r} is not a red flag or review"))
    problems += _language_problems(data, {sign.id: sign.tier for sign in triage.signs})
    problems += concept_problems(triage)
    try:
        bank = load_phrase_bank()
    except PhraseBankError as exc:
        return [*problems, Problem(exc.path, exc.line or 1, exc.reason)]
    for sign_id in bank.sign_ids:
        tier = bank.tiers[bank.signs.index(sign_id)]
        if sign_id not in known:
            problems.append(Problem(bank.path, 1, f"phrase bank: unknown sign id {sign_id!r}"))
        elif known[sign_id].tier != tier:
            problems.append(Problem(bank.path, 1, f"phrase bank: {sign_id!r} is {tier} here but "
                                    f"{known[sign_id].tier} in the rules"))
        elif known[sign_id].day_from is not None or known[sign_id].day_to is not None:
            problems.append(Problem(bank.path, 1, f"phrase bank: {sign_id!r} has a day window; "
                                    "day-dependent signs stay with the rules"))
    return problems


def _asked_problems(data: SignData, known: dict[str, Sign],
                    entry_ids: Collection[str] | None) -> list[Problem]:
    """Every emergency, urgent and "check" sign has its line for when it is only asked about;
    each line names known signs and (when the entries are given) known entries to keep."""
    problems: list[Problem] = []
    for sign in known.values():
        if sign.tier in _ASKED_TIERS and sign.id not in data.asked:
            problems.append(Problem(str(PACKAGED_ADVICE), 1, f"{sign.tier} sign {sign.id!r} "
                                    f"({sign.source}) has no 'asked' line"))
    for sign_id, asked in data.asked.items():
        if sign_id not in known:
            problems.append(Problem(asked.path, asked.line, f"asked {asked.id}: unknown sign id "
                                    f"{sign_id!r}"))
        elif known[sign_id].tier not in _ASKED_TIERS:
            problems.append(Problem(asked.path, asked.line, f"asked {asked.id}: sign {sign_id!r} "
                                    "is not an emergency, urgent or check sign"))
    if entry_ids is not None:
        for asked in {line.id: line for line in data.asked.values()}.values():
            for entry_id in asked.keep:
                if entry_id not in entry_ids:
                    problems.append(Problem(asked.path, asked.line, f"asked {asked.id}: keep "
                                            f"names unknown entry {entry_id!r}"))
    return problems


def concept_problems(triage: Triage, path: str | Path | None = None) -> list[Problem]:
    """The concepts file (knowledge/concepts.yaml, or ``path``) read, and each group checked
    against the rules: a known sign, the sign's tier, and a day window inside the sign's (a
    group never raises a sign on a day the rules' sign does not apply)."""
    from knowledge.concepts import ConceptsError, load_concepts

    try:
        concepts = load_concepts(path)
    except ConceptsError as exc:
        return [Problem(exc.path, exc.line or 1, exc.reason)]
    known = {sign.id: sign for sign in triage.signs}
    problems: list[Problem] = []
    for group in concepts.groups:
        sign = known.get(group.sign)
        if sign is None:
            problems.append(Problem(concepts.path, group.line,
                                    f"{group.id}: unknown sign id {group.sign!r}"))
        elif sign.tier != group.tier:
            problems.append(Problem(concepts.path, group.line, f"{group.id}: {group.sign!r} is "
                                    f"{group.tier} here but {sign.tier} in the rules"))
        elif (sign.day_from or 0) > (group.day_from or 0) or (
                sign.day_to is not None and (group.day_to is None or group.day_to > sign.day_to)):
            problems.append(Problem(concepts.path, group.line, f"{group.id}: its days must lie "
                                    f"inside the days of {group.sign!r} in the rules"))
    return problems


def _language_problems(data: SignData, tiers: dict[str, str]) -> list[Problem]:
    """Every language file gives each red-flag advice group and each rule-out question (and its
    buttons) in its own words, and names no group or question that does not exist."""
    from knowledge.multilingual import LANGUAGES_DIR
    red_groups = sorted({group for sign, group in data.groups.items()
                         if tiers.get(sign) in _RED_TIERS})
    all_groups = set(data.groups.values())
    problems: list[Problem] = []
    for path in sorted(LANGUAGES_DIR.glob("*.yaml")):
        try:
            raw = read_yaml(path)
        except DataFileError as exc:
            problems.append(Problem(exc.path, exc.line, exc.reason))
            continue
        if not isinstance(raw, LineDict):
            continue
        advice = raw.get("sign_advice")
        if not isinstance(advice, LineDict):
            problems.append(Problem(str(path), raw.line, "missing 'sign_advice' (what to do now "
                                    "for each red-flag group, in this language)"))
        else:
            for group in red_groups:
                if not _text(advice.get(group)):
                    problems.append(Problem(str(path), advice.line,
                                            f"sign_advice: no text for group {group!r}"))
            for group in advice:
                if group not in all_groups:
                    problems.append(Problem(str(path), advice.line_of(group),
                                            f"sign_advice: unknown group {group!r}"))
        follow = raw.get("follow_ups")
        if not isinstance(follow, LineDict):
            problems.append(Problem(str(path), raw.line, "missing 'follow_ups' (the rule-out "
                                    "questions and their Yes / No buttons, in this language)"))
            continue
        for key in ("yes_label", "no_label"):
            if not _text(follow.get(key)):
                problems.append(Problem(str(path), follow.line, f"follow_ups: no {key!r} label"))
        for qid in data.questions:
            item = follow.get(qid)
            if not (isinstance(item, LineDict) and _text(item.get("text"))
                    and _text(item.get("no_reply"))):
                problems.append(Problem(str(path), follow.line,
                                        f"follow_ups: question {qid!r} needs text and no_reply"))
        for qid in follow:
            if qid not in FOLLOW_UP_KEYS and qid not in data.questions:
                problems.append(Problem(str(path), follow.line_of(qid),
                                        f"follow_ups: unknown question {qid!r}"))
        checks = raw.get("check")
        if isinstance(checks, LineDict):
            for qid in checks:
                if qid not in data.questions:
                    problems.append(Problem(str(path), checks.line_of(qid),
                                            f"check: unknown question {qid!r}"))
    return problems
