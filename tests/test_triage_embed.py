"""The sentence-embedding second detector (``embed``): it loads with no network and no cache
(the weights are the installed wordllama wheel's), says for staff which phrase it was close to,
and raises a wording of a class the rules were not written for while a normal control stays
normal."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from knowledge.detectors import load_detector
from tests.advisors import packaged_rules, shipped

ROOT = Path(__file__).resolve().parent.parent

# run in a fresh interpreter whose sockets refuse to connect, with an empty home and cache
_OFFLINE = """
import socket

def refuse(*args, **kwargs):
    raise OSError("the embed detector tried the network")

socket.socket.connect = refuse
socket.create_connection = refuse
from knowledge.detectors import load_detector

finding = load_detector("embed").detect(["my tongue feels way too big for my mouth"], 0)
print(finding.reason if finding else "none")
"""


def test_embed_detector_loads_offline_from_the_installed_wheel(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache"),
           "HF_HOME": str(home / "hf"), "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-c", _OFFLINE], capture_output=True, text=True,
                         env=env, cwd=tmp_path, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    assert re.fullmatch(r'close to: "[^"]+" 0\.\d\d \(embed\)', run.stdout.strip())
    assert list(home.iterdir()) == []  # nothing downloaded or cached


def test_embed_detector_says_why_and_leaves_the_normal_control_alone() -> None:
    detector = load_detector("embed")
    assert detector is not None
    finding = detector.detect(["my lips feel a little dry today",
                               "my tongue feels way too big for my mouth"], 0)
    assert finding is not None and finding.tier == "emergency"
    assert finding.sign == "airway_swelling" and finding.detector == "embed"
    assert finding.clause == "my tongue feels way too big for my mouth"
    assert re.fullmatch(r'close to: "[^"]+" 0\.\d\d \(embed\)', finding.reason)
    assert detector.detect(["my lips feel a little dry today"], 0) is None


def test_embed_raises_a_class_wording_the_rules_miss_through_the_advisor() -> None:
    # trouble swallowing, the state said as a noun after the verb (the n-grams miss it too)
    text = "i keep getting this blocked feeling when swallowing"
    assert not packaged_rules().assess(text, 0).escalate  # the rules alone miss this wording
    advice = shipped(second_detector="embed").ask(text, 0)
    assert advice.urgency == "emergency"
    assert advice.triage is not None and "(embed)" in advice.triage.reason
    control = shipped(second_detector="embed").ask("my lips feel a little dry today", 0)
    assert not control.escalate


_DEFAULT = """
import sys
from knowledge.advisor import Advisor

Advisor.load().ask("my lips are swelling", 0)
print(sorted(m for m in ("numpy", "tokenizers", "safetensors", "wordllama") if m in sys.modules))
"""


def test_the_default_product_never_imports_the_embedding_libraries() -> None:
    # the candidate costs nothing (start-up, memory) when it is not chosen
    run = subprocess.run([sys.executable, "-c", _DEFAULT], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"
