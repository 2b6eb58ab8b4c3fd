"""``deep-health check``: exit 0 healthy, 1 unhealthy, 2 config error; readable output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from service.cli.main import main
from support.process import TESTS


def config(tmp_path: Path, *checks: str) -> str:
    path = tmp_path / "health.toml"
    path.write_text(
        "[service]\ndeadline = 0.3\n"
        + "".join(f'[[checks]]\ntype = "support.misbehaving:{c}"\n' for c in checks)
    )
    return str(path)


@pytest.mark.parametrize(
    ("checks", "code"),
    [(("Passing",), 0), (("Passing", "Warns"), 0), (("Passing", "Raises"), 1), (("Hangs",), 1)],
)
def test_exit_codes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], checks: tuple[str, ...], code: int
) -> None:
    assert main(["check", "--config", config(tmp_path, *checks)]) == code
    out = capsys.readouterr().out
    for check in checks:
        assert check.lower() in out


def test_table_shows_errors_for_operators(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["check", "--config", config(tmp_path, "Raises")])
    out = capsys.readouterr().out
    assert "RuntimeError" in out
    assert "region: fail" in out


def test_json_output_is_detailed_health_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--json", "--config", config(tmp_path, "Hangs")]) == 1
    body = json.loads(capsys.readouterr().out)
    assert body["status"] == "fail"
    assert body["checks"]["hangs:responseTime"][0]["reason"] == "timeout"


def test_deps_and_simulate_are_wired(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deps", "--config", config(tmp_path, "Passing")]) == 0
    assert "passing" in capsys.readouterr().out
    code = main(["simulate", "--scenario", "outage", "--hours", "1", "--seeds", "1"])
    assert code == 0
    assert "deep-health" in capsys.readouterr().out


def test_check_exits_right_after_printing_despite_a_hung_def_thread(tmp_path: Path) -> None:
    path = tmp_path / "health.toml"
    path.write_text(
        "[service]\ndeadline = 0.3\n"
        '[[checks]]\ntype = "support.misbehaving:Passing"\n'
        '[[checks]]\ntype = "support.misbehaving:BlocksThread"\nseconds = 600\n'
    )
    done = subprocess.run(
        [sys.executable, "-m", "service.cli.main", "check", "--config", str(path)],
        env={**os.environ, "PYTHONPATH": str(TESTS)},
        capture_output=True,
        text=True,
        timeout=120,  # generous; before the fix it waited out the 600 s thread
    )
    assert done.returncode == 1
    assert "blocks-thread" in done.stdout


def test_switch_status_says_the_latch_in_words_not_a_dict_of_epoch_floats() -> None:
    from service.cli.switch import latch_text
    from service.config import parse_config

    config = parse_config(
        "[failover]\nmin_hold = 180\nquiet = 120\nrecover_after = 10\n"
        '[[checks]]\ntype = "support.misbehaving:Passing"\n'
    )
    now = 1_800_000_000.0
    state = {"latched_at": now - 95, "last_bad": now - 30, "failures": 3, "clean": 14}
    text = latch_text(state, config, now)
    assert text == (
        "latch: LATCHED since 2027-01-15T07:58:25Z (95 s ago); last unhealthy evaluation 30 s"
        " ago; recovering 10/10 clean, min_hold 85 s left, quiet 90 s left"
    )
    assert latch_text(None, config, now) == "latch: never written (no failure recorded)"
    healthy = {"latched_at": None, "last_bad": now - 500, "failures": 0, "clean": 0}
    assert latch_text(healthy, config, now) == "latch: not latched (healthy)"
