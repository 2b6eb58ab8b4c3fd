"""The Dockerfile: hadolint clean, its shape, and its install/entry commands in a fresh venv."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` pairs, continuation lines joined, comments dropped."""
    result: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, rest = (pending + line).partition(" ")
        result.append((keyword.upper(), " ".join(rest.split())))
        pending = ""
    return result


def last(keyword: str) -> str:
    return [rest for key, rest in instructions() if key == keyword][-1]


def test_hadolint_reports_nothing() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    lint = subprocess.run(
        [hadolint, "--format", "json", "--failure-threshold", "style", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert json.loads(lint.stdout) == []


def test_no_unexplained_hadolint_ignores() -> None:
    lines = DOCKERFILE.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        if "hadolint ignore" in line:
            previous = lines[number - 1].strip() if number else ""
            # The line above must be a comment of its own that explains the ignore.
            assert previous.startswith("#"), f"line {number + 1}: unexplained hadolint ignore"
            assert "hadolint" not in previous, f"line {number + 1}: unexplained hadolint ignore"


def test_multi_stage_slim_python_312() -> None:
    stages = [rest for key, rest in instructions() if key == "FROM"]
    assert len(stages) >= 2
    assert all(stage.startswith("${PYTHON_IMAGE}") for stage in stages)
    base = [
        rest for key, rest in instructions() if key == "ARG" and rest.startswith("PYTHON_IMAGE=")
    ]
    assert base == ["PYTHON_IMAGE=python:3.12-slim-bookworm"]
    assert "COPY --from=build /opt/deep-health /opt/deep-health" in [
        f"COPY {rest}" for key, rest in instructions() if key == "COPY"
    ]


def test_runs_as_a_non_root_user() -> None:
    user = last("USER")
    assert user.split(":")[0] not in {"0", "root"}


def test_labels_carry_version_and_revision_build_args() -> None:
    args = {rest.split("=")[0] for key, rest in instructions() if key == "ARG"}
    assert {"VERSION", "REVISION"} <= args
    labels = " ".join(rest for key, rest in instructions() if key == "LABEL")
    assert 'org.opencontainers.image.version="${VERSION}"' in labels
    assert 'org.opencontainers.image.revision="${REVISION}"' in labels


def test_serves_on_8080_and_health_checks_with_the_cli() -> None:
    assert json.loads(last("ENTRYPOINT")) == ["deep-health"]
    assert json.loads(last("CMD")) == [
        "serve", "--host", "0.0.0.0", "--port", "8080", "--config", "/app/health.toml",
    ]  # fmt: skip
    assert last("EXPOSE") == "8080"
    healthcheck = last("HEALTHCHECK")
    assert "/livez" in healthcheck
    assert "deep-health check" not in healthcheck  # never the deep checks


def test_the_healthcheck_probes_livez_of_a_real_server(tmp_path: Path) -> None:
    from support.net import free_port
    from support.process import serve

    command = json.loads(last("HEALTHCHECK").split(" CMD ", 1)[1])
    config = tmp_path / "health.toml"
    config.write_text('[[checks]]\ntype = "support.misbehaving:Hangs"\n')  # deeply unhealthy
    with serve(config) as url:
        port = url.rsplit(":", 1)[1]
        command[0] = sys.executable  # the image's python, here this interpreter
        probe = [part.replace("8080", port) for part in command]
        alive = subprocess.run(probe, capture_output=True, timeout=60, check=False)
        assert alive.returncode == 0, alive.stderr  # alive, though /health would answer 503
    closed = [part.replace("8080", str(free_port())) for part in command]
    assert subprocess.run(closed, capture_output=True, timeout=60, check=False).returncode != 0


def test_dockerignore_sends_only_the_package_sources() -> None:
    rules = [
        line
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    assert rules[0] == "*"  # exclude everything, then allow the build context explicitly
    allowed = {rule[1:] for rule in rules if rule.startswith("!")}
    assert allowed == {
        "pyproject.toml", "README.md", "checks/", "service/", "deploy/health.lambda.toml",
    }  # fmt: skip
    copied = {
        rest.split()[0] for key, rest in instructions() if key == "COPY" and "--from" not in rest
    }
    assert copied == {"pyproject.toml", "checks", "service", "deploy/health.lambda.toml"}


def test_the_image_install_and_entry_commands_work_in_a_fresh_virtualenv(tmp_path: Path) -> None:
    """``pip install .`` of exactly the build context, then the image's commands.

    Runtime dependencies come from this venv through a ``.pth`` (offline); the project itself
    is built and installed fresh (its build backend comes from the package index, as in the
    image).
    """
    context = tmp_path / "context"
    context.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, context / name)
    for package in ("checks", "service"):
        shutil.copytree(
            ROOT / package, context / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python*/site-packages"))
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    python = venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-cache-dir", "."],
        cwd=context,
        check=True,
    )
    entry = venv / "bin" / "deep-health"
    assert entry.exists()
    for command in (["--help"], ["serve", "--help"], ["check", "--help"]):
        shown = subprocess.run([str(entry), *command], capture_output=True, text=True, check=False)
        assert shown.returncode == 0, shown.stderr
    helptext = subprocess.run(
        [str(entry), "serve", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "--config" in helptext
    assert "--port" in helptext
    bad = tmp_path / "bad.toml"
    bad.write_text("[service]\ndeadline = 'soon'\n")
    checked = subprocess.run(
        [str(entry), "check", "--config", str(bad)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 2, checked.stdout + checked.stderr
