"""The frames of the readings made again (knowledge/triage/prepare.py): each a regular
expression whose structure (punctuation, groups, lookarounds) lives here and whose English word
lists live in knowledge/triage.yaml under ``readings``.

A frame names its lists as ``<key>``: the list ``key`` of its own mapping in ``readings``, else
the list ``readings.key`` that several frames share (the body parts), or ``<frame.key>`` the
list of another frame. ``<key/SUFFIX>`` puts ``SUFFIX`` after every pattern of the list
("so\\s+|really\\s+"). The lists are joined in the file's order; each pattern is checked alone
when the whole does not compile, so an error names its line (``RulesParser.alternation``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NoReturn, Protocol

import yaml


class RulesParser(Protocol):
    """What the frames need of knowledge/triage/parser.py ``RulesParser`` (which imports this
    module, so it is named here as a Protocol rather than imported back)."""

    def fail(self, node: yaml.Node | None, reason: str) -> NoReturn: ...

    def mapping(self, node: yaml.Node, what: str, required: set[str],
                optional: set[str]) -> dict[str, yaml.Node]: ...

    def alternation(self, node: yaml.Node, what: str) -> str: ...

    def compile(self, source: str, node: yaml.Node, what: str) -> re.Pattern[str]: ...

    def regex_source(self, node: yaml.Node, what: str) -> str: ...

    def sequence(self, node: yaml.Node, what: str) -> list[yaml.Node]: ...

# a pattern that matches nowhere: the frame of a reading whose lists the file does not give
# (with groups, as a replacement naming a frame's groups is read even when nothing matches)
NEVER = re.compile(r"(?!)()()()")


@dataclass(frozen=True)
class Frames:
    """The compiled frames prepare.py reads; each ``NEVER`` when the file leaves its lists out
    (that step of the reading then changes nothing)."""

    aside: re.Pattern[str] = NEVER
    long_aside: re.Pattern[str] = NEVER
    writer_denial: re.Pattern[str] = NEVER
    explaining: re.Pattern[str] = NEVER
    swell_word: re.Pattern[str] = NEVER
    linking_aside: re.Pattern[str] = NEVER
    not_all_gone: re.Pattern[str] = NEVER
    softened: re.Pattern[str] = NEVER
    kind_of: re.Pattern[str] = NEVER
    described: re.Pattern[str] = NEVER
    corrected: re.Pattern[str] = NEVER
    denied_for: re.Pattern[str] = NEVER
    denied_in: re.Pattern[str] = NEVER
    denied_but: re.Pattern[str] = NEVER
    relative: re.Pattern[str] = NEVER
    appositive: re.Pattern[str] = NEVER
    label: re.Pattern[str] = NEVER
    bare_label: re.Pattern[str] = NEVER
    comparing: re.Pattern[str] = NEVER
    part: re.Pattern[str] = NEVER
    clause_pronoun: re.Pattern[str] = NEVER


# each mapping of ``readings`` with its lists (every one required) and the frames built from
# it, by the name of the field of ``Frames``
_FRAMES: dict[str, tuple[set[str], dict[str, str]]] = {
    # an aside between a subject and its state set off by brackets, dashes or commas (the words
    # that may open the state after the commas); one of several comma pieces
    "aside": ({"after", "long_after"}, {
        "aside": r"\s*\(([^()\n]{2,80})\)\s*"
                 r"|\s+-\s+([^.!?\n]{2,80}?)\s+-\s+"
                 r"|,\s*([^,.!?;\n]{2,80}?)\s*,(?=\s*(?:<after>)\b)",
        "long_aside": r",\s*((?:[^,.!?;\n]{0,60}?\s*,\s*){1,3}[^,.!?;\n]{0,60}?)\s*,"
                      r"(?=\s*(?:<after>|<long_after>)\b)",
    }),
    # a denial about the writer or their telling, never about a symptom
    "writer_denial": ({"writer", "negated", "about", "no", "softeners", "denied"}, {
        "writer_denial": r"\b(?:<writer>)\s+(?:\w+\s+)?(?:<negated>)\s+(?:\w+\s+)?(?:<about>)\b"
                         r"|\b(?:<no>)\s+(?:(?:<softeners>)\s+)?(?:<denied>)\b",
    }),
    # an aside that explains or wonders, or says what was tried; a swelling of its own
    "explaining": ({"remark", "degree", "odd", "because", "swelling"}, {
        "explaining": r"^(?:and\s+)?(?:(?:<remark>)\s+(?:<degree/\s+>)?"
                      r"(?:<odd>)\s+)?(?:<because>)\s",
        "swell_word": r"\b(?:<swelling>)",
    }),
    # an aside right after a linking verb, with a restated subject and softeners after it
    "linking_aside": ({"verbs", "restated", "softeners"}, {
        "linking_aside": r"\b(<verbs>)\s*,\s*([^.!?\n]{2,80}?)(?:\s*,)+\s*"
                         r"(?:but\s+)?(?:(?:<restated>)\s+)?"
                         r"((?:<softeners/\s+>)*)(?=[a-z])",
    }),
    # a state told over: softeners before it, words that say some of it is left
    "over": ({"softeners", "not_all"}, {
        "softened": r"^\s*(?:<softeners>)\s+",
        "not_all_gone": r"\b(?:<not_all>)\b",
    }),
    # "some kind of": a vague "some", never a state of its own
    "kind_of": ({"words"}, {
        "kind_of": r"\b(?<=some )(?:<words>)\s+of\s*,?\s*(?=[a-z])",
    }),
    # what comes out, described by its look between commas
    "described": ({"what", "degree", "looks", "and_looks"}, {
        "described": r"\b(<what>)"
                     r"(?:\s*,\s*|\s+)((?:(?:<degree>)\s+)?"
                     r"(?:<looks>)(?:ish|y|ey)?"
                     r"(?:\s+(?:and\s+)?(?:<and_looks>)(?:ish|y|ey)?)?)\s*,",
    }),
    # a subject put right by an aside: what it is not, then what it is
    "corrected": ({"links", "not_meant", "meant", "owners", "really", "after"}, {
        "corrected": r"(?:,|\s-)\s*(?:<links/\s+>)?(?:<not_meant>)"
                     r"\s+[^,.!?;\n]{2,80}?(?:,|\s-)\s*(?:but\s+)?i\s+(?:<meant>)\s+"
                     r"(?:(?:<owners>)\s+)?(?:(?:<really>)\s+)?([^,.!?;\n]{2,50}?)\s*(?:,|\s-)"
                     r"(?=\s*(?:<after>)\b)",
    }),
    # a state denied of one part and then put on another ("it isnt my cheeks that are puffy,
    # its my throat"; "the puffiness isnt on my face, its on my tongue"): the state (group 1) and
    # the part it is put on (group 2)
    "denied": ({"negated", "owners", "that", "degree", "states", "nouns", "meant"}, {
        "denied_for": r"\b(?:<negated>)\s+(?:(?:in|on)\s+)?(?:<owners>)\s+(?:<parts>)\s+"
                      r"(?:<that>)\s+((?:(?:<degree>)\s+)?(?:<states>))\s*[,.;:-]+\s*"
                      r"(?:but\s+)?(?:<meant>)\s+(?:(?:actually|really|more)\s+)?(?:(?:in|on)\s+)?"
                      r"((?:<owners>)\s+(?:<parts>))\b",
        "denied_in": r"\b(?:the|my|this|that)\s+((?:<nouns>))\s+(?:<negated>)\s+"
                     r"(?:in|on)\s+(?:<owners>)\s+(?:<parts>)\s*[,.;:-]+\s*(?:but\s+)?"
                     r"(?:<meant>)\s+(?:(?:actually|really|more)\s+)?(?:in|on)\s+"
                     r"((?:<owners>)\s+(?:<parts>))\b",
        # denied of one part, then "but my X is" with the state left out ("my eyes arent puffy
        # but my lips are, and ..."): the state (group 1) and the part (group 2)
        "denied_but": r"\b(?:(?:<owners>)\s+)?(?:<parts>)\s+(?:<negated>)\s+"
                      r"((?:(?:<degree>)\s+)?(?:<states>))\s*[,;]?\s*but\s+"
                      r"((?:<owners>)\s+(?:<parts>))\s+(?:is|are|s)"
                      r"(?=\s*(?:$|[,.;:!?\n]|(?:and|too|now|though|tho|instead|lol|haha|really|"
                      r"definitely|actually)\b))",
    }),
    # a relative clause between a subject and its state
    "relative": ({"pronouns", "places", "after"}, {
        "relative": r",\s*(?:(?:<pronouns>)|(?:[a-z]+\s+){0,5}?(?:<places>))\s+[^.!?;\n]{3,80}?,"
                    r"(?=\s*(?:<after>)\b)",
    }),
    # an apposition naming which part it is ("my cheek, the right one, is hot")
    "appositive": ({"also", "which", "ones", "after"}, {
        "appositive": r"\b((?:<parts>|<also>))"
                      r"\s*,\s*(?:<which>)\s+(?:(?:\w+\s+){0,2}?(?:<ones>)\b)"
                      r"[^.!?;\n]{0,80}?,"
                      r"(?=\s*(?:<relative.after>|<after>)\b)",
    }),
    # a body part written as a label ("eye: red") or opening a list of states ("eye red, sore")
    "label": ({"owners", "also_owners", "also", "not_after"}, {
        "label": r"(?:^|(?<=[.!?\n]))(\s*(?:(?:<owners>|<also_owners>)\s+)?(?:<parts>|"
                 r"<also>))\s*:\s*",
        "bare_label": r"(?:^|(?<=[.!?\n]))(\s*(?:(?:<owners>)\s+)?(?:<parts>))\s+"
                      r"(?!(?:<not_after>)\b)"
                      r"(?=[a-z]+(?:\s+[a-z]+)?\s*,\s*[a-z])",
    }),
    # a repeat that compares or raises to the top of a scale is no restatement
    "comparing": ({"words"}, {
        "comparing": r"\b(?:<words>)\b",
    }),
    # a body part named with its owner (plural, singular), and the pronouns that stand for it
    "resolved": ({"owners", "plural", "singular", "joining", "openers", "pronouns", "mine_verbs"}, {
        "part": r"\b((?:(?:<owners>)\s+(?:[a-z]+\s+){0,2}?)?"
                r"(?:(<plural>)|"
                r"(<singular>)))\b",
        "clause_pronoun": r"((?:^|[,.;:!?]|\b(?:<joining>))\s*"
                          r"(?:(?:<openers>)\s+)?)"
                          r"(<pronouns>|mine(?=\s+(?:<mine_verbs>)\b))\b(?!\s*(?:[,.;:!?]|$))",
    }),
}
# the lists of ``readings`` itself that frames share
_SHARED = {"parts"}
_PLACE = re.compile(r"<([a-z_]+(?:\.[a-z_]+)?)(?:/([^<>]*))?>")


def frame_keys() -> set[str]:
    """The keys of ``readings`` the frames read (each optional)."""
    return set(_FRAMES) | _SHARED


def read_frames(parser: RulesParser, section: dict[str, yaml.Node]) -> Frames:
    """The frames whose lists ``section`` (the mapping of ``readings``) gives; a list missing,
    empty, not text or not a regular expression fails with the file, its line and the reason."""
    built: dict[str, re.Pattern[str]] = {}
    for key, (lists, frames) in _FRAMES.items():
        if key not in section:
            continue
        node = section[key]
        own = parser.mapping(node, f"readings.{key}", lists, set())

        def alternation(m: re.Match[str], key: str = key, own: dict[str, yaml.Node] = own,
                        node: yaml.Node = node) -> str:
            name, suffix = m.group(1), m.group(2)
            if "." in name:
                frame, _, list_name = name.partition(".")
                if frame not in section:
                    parser.fail(node, f"readings.{key} needs readings.{frame}")
                found = parser.mapping(section[frame], f"readings.{frame}", _FRAMES[frame][0],
                                       set())[list_name]
            elif name in own:
                found = own[name]
            elif name in section:
                found = section[name]
            else:
                parser.fail(node, f"readings.{key} needs readings.{name}")
            joined = parser.alternation(found, f"readings.{name}" if name not in own
                                        else f"readings.{key}.{name}")
            if suffix is None:
                return joined
            return "|".join(f"{piece}{suffix}" for piece in _pieces(found, parser, name))

        for field, frame in frames.items():
            built[field] = parser.compile(_PLACE.sub(alternation, frame), node, f"readings.{key}")
    return Frames(**built)


def _pieces(node: yaml.Node, parser: RulesParser, what: str) -> list[str]:
    """The patterns of a list one by one (already checked by ``RulesParser.alternation``)."""
    return [parser.regex_source(item, what) for item in parser.sequence(node, what)]

