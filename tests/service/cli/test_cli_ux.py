"""The CLI never hides or hangs: versions, help with defaults, --only, whole reasons, pipes,
``local`` with a team's own config and logs."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from service.cli.main import _parser, main
from support.net import free_port_pair, wait_for_port

ROOT = Path(__file__).resolve().parents[3]
TESTS = ROOT / "tests"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def config(tmp_path: Path, *checks: str) -> str:
    path = tmp_path / "health.toml"
    path.write_text(
        "[service]\ndeadline = 0.5\n"
        + "".join(f'[[checks]]\ntype = "support.misbehaving:{c}"\n' for c in checks)
    )
    return str(path)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert re.fullmatch(r"deep-health \d+\.\d+\.\d+\S*\n", capsys.readouterr().out)


def subcommands() -> dict[str, argparse.ArgumentParser]:
    (action,) = [a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


@pytest.mark.parametrize("command", sorted(subcommands()))
def test_every_option_has_help_and_shows_its_default(
    command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "1000")  # no line breaks inside a default
    parser = subcommands()[command]
    text = " ".join(parser.format_help().split())
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction) or not action.option_strings:
            continue  # positionals: their metavar and choices speak for them
        name = action.option_strings[0]
        assert action.help, f"{command} {name} has no help"
        shown = action.default not in (None, False, [], "")
        if shown:
            assert f"(default: {action.default})" in text, f"{command} {name} hides its default"


def test_check_only_runs_the_named_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config(tmp_path, "Passing", "Raises")
    assert main(["check", "--config", path]) == 1
    capsys.readouterr()
    assert main(["check", "--config", path, "--only", "passing"]) == 0
    out = capsys.readouterr().out
    assert "passing" in out
    assert "raises" not in out


def test_check_only_an_unknown_name_exits_2_with_a_suggestion(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--config", config(tmp_path, "Passing"), "--only", "pasing"]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'passing'?" in err
    assert "configured: passing" in err


def test_piped_table_keeps_the_whole_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--config", config(tmp_path, "FailsWithLongHint")]) == 1
    out = capsys.readouterr().out
    assert "HINT-AT-THE-END: run blocking calls in a plain def run() or a thread" in out
    assert "..." not in out


def test_terminal_table_wraps_the_error_instead_of_cutting_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("service.cli.terminal.is_terminal", lambda stream=None: True)
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["check", "--config", config(tmp_path, "FailsWithLongHint")]) == 1
    out = ANSI.sub("", capsys.readouterr().out)
    assert max(len(line) for line in out.splitlines()) <= 80
    words = " ".join(out.split())
    for word in ("HINT-AT-THE-END:", "plain", "thread"):
        assert word in words
    assert "…" not in out
    assert "..." not in out


def test_a_reader_that_goes_away_gets_no_traceback(tmp_path: Path) -> None:
    # `deep-health deps --json | head`: the reader closes before the writer is done.
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "service.cli.main",
            "deps",
            "--json",
            "--config",
            config(tmp_path, "Passing"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(TESTS)},
    )
    assert process.stdout is not None
    assert process.stderr is not None
    process.stdout.close()  # before the child has written a byte (it is still importing)
    err = process.stderr.read().decode()
    process.stderr.close()
    assert process.wait(timeout=60) == 141
    assert "Traceback" not in err
    assert "BrokenPipe" not in err


def test_local_runs_a_teams_config_with_its_seed_hook_and_logs_like_serve(
    tmp_path: Path,
) -> None:
    mine = tmp_path / "mine.toml"
    mine.write_text(
        '[service]\nmode = "on-request"\n'
        '[[checks]]\ntype = "dynamodb_read"\nname = "team-orders"\n'
        'table = "team-orders"\nkey = { pk = "canary" }\nexpect = { status = "ok" }\n'
    )
    port = free_port_pair()  # the secondary region serves on port + 1
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "service.cli.main",
            "local",
            "--config",
            str(mine),
            "--seed",
            "support.seeds:create",
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(TESTS)},
        text=True,
    )
    try:
        wait_for_port(port, proc=process, timeout=60)
        response = httpx.get(f"http://127.0.0.1:{port}/health", timeout=10)
        assert response.status_code == 200, response.text
        assert process.stdout is not None
        lines = []
        for line in process.stdout:  # the banner, then JSON log lines like `serve`'s
            lines.append(line)
            if line.startswith("{") and json.loads(line).get("message") == "config":
                break
        banner = "".join(lines)
        assert f"config {mine}" in banner
        assert "--endpoint-url http://127.0.0.1:" in banner  # how to seed by hand
        summary = json.loads(lines[-1])
        assert summary["level"].lower() == "info"
    finally:
        process.kill()
        process.wait(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
