"""``deep-health status --once`` against two real ``serve`` processes (one per region)."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.cli.main import main
from support.process import serve

pytestmark = pytest.mark.e2e
TOKEN = "status-details-token-0123456789"


def config(tmp_path: Path, name: str, checks: str) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(
        f'[service]\nmode = "on-request"\ncache_ttl = 0\ndetails_token = "{TOKEN}"\n'
        f'release_id = "{name}-r1"\n{checks}'
    )
    return path


PASSING = '[[checks]]\ntype = "support.misbehaving:Passing"\nname = "accounts-table"\n'
FAILING = (
    '[[checks]]\ntype = "support.misbehaving:FailsWithReason"\nname = "jobs-queue"\n' + PASSING
)


def test_status_once_shows_verdicts_checks_reasons_and_the_dns_answer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEEP_HEALTH_DETAILS_TOKEN", TOKEN)
    monkeypatch.setenv("COLUMNS", "200")
    primary = config(tmp_path, "primary", FAILING)
    secondary = config(tmp_path, "secondary", PASSING)
    with serve(primary) as a, serve(secondary) as b:
        code = main(["status", a, b, "--once"])
    out = capsys.readouterr().out
    assert code == 1  # like `check`: a region is unhealthy
    primary_part, secondary_part = out.split(f"secondary  {b}/health")
    assert "verdict: FAIL (HTTP 503" in primary_part
    assert "release primary-r1" in primary_part
    assert "critical check jobs-queue failed (drained)" in primary_part  # why
    assert "drained by operator" in primary_part  # the check's output, from the details
    assert "0/15 checkers healthy (0%, needs > 18%) -> UNHEALTHY" in primary_part
    assert "verdict: PASS (HTTP 200" in secondary_part
    assert "15/15 checkers healthy (100%, needs > 18%) -> HEALTHY" in secondary_part
    assert "DNS answers: SECONDARY - primary unhealthy, secondary healthy: failed over" in out
    assert "\x1b[" not in out  # piped: no colour codes


def test_status_once_of_two_healthy_regions_exits_0_and_without_a_token_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DEEP_HEALTH_DETAILS_TOKEN", raising=False)
    primary = config(tmp_path, "primary", PASSING)
    secondary = config(tmp_path, "secondary", PASSING)
    with serve(primary) as a, serve(secondary) as b:
        code = main(["status", f"{a}/health", b, "--once"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.count("verdict: PASS") == 2
    assert "set the token to see reasons" in out
    assert "DNS answers: PRIMARY" in out


def test_status_of_an_unreachable_region_exits_1_and_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from support.net import free_port

    monkeypatch.setenv("DEEP_HEALTH_DETAILS_TOKEN", TOKEN)
    with serve(config(tmp_path, "secondary", PASSING)) as b:
        code = main(["status", f"http://127.0.0.1:{free_port()}", b, "--once"])
    out = capsys.readouterr().out
    assert code == 1
    assert "UNREACHABLE (ConnectError" in out
    # The token was set: the details were not read because the region did not answer.
    assert "why: unknown (not read: /health did not answer)" in out
    assert "no token" not in out
    assert "DNS answers: SECONDARY" in out


def test_status_without_two_urls_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "http://127.0.0.1:1", "--once"]) == 2
    assert "primary and the secondary" in capsys.readouterr().err
