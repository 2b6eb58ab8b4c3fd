"""The status console's pure parts: Route 53's view, the state line, the pairs file; and
that ``rich`` never loads on the serve or Lambda request path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from service.cli.console.command import _pair_urls
from service.cli.console.model import CheckerView, dns_view, state_of
from service.cli.console.probe import health_urls
from service.simulation.route53 import Route53Config

ROOT = Path(__file__).resolve().parents[3]


def test_checkers_flip_only_after_failure_threshold_polls_each() -> None:
    view = CheckerView(Route53Config(checkers=10, interval=10.0, failure_threshold=3))
    view.observe(False, 0.0)  # checker 0 polls at once; the rest are phased over 10 s
    assert view.share == 1.0
    view.observe(False, 19.9)  # every checker has polled twice: still under the threshold
    assert view.share == 1.0
    assert view.healthy
    view.observe(False, 25.0)  # checkers 0-5 have now failed three polls
    assert view.health.healthy_count == 4
    view.observe(False, 29.9)
    assert view.share == 0.0
    assert not view.healthy


def test_the_first_answer_is_taken_as_steady_then_changes_follow_the_polls() -> None:
    view = CheckerView(Route53Config(checkers=10, interval=10.0, failure_threshold=3))
    view.settle(False, 100.0)  # opened mid-incident: the region is down now
    assert view.share == 0.0
    assert not view.healthy
    view.observe(True, 105.0)  # it answers again: checkers 1-5 poll (due at 101-105)
    assert view.share == 0.0
    assert view.turning == 5
    view.observe(True, 130.0)  # three good polls each (checker 0: at 110, 120, 130): all back
    assert view.share == 1.0
    assert view.turning == 0
    healthy = CheckerView(Route53Config())
    healthy.settle(True, 100.0)
    assert healthy.share == 1.0


def test_the_18_percent_line_keeps_a_region_up_with_three_of_fifteen() -> None:
    view = CheckerView(Route53Config(checkers=15, interval=15.0, failure_threshold=1))
    view.observe(False, 0.0)  # phases 0, 1, ..., 14 s from the first answer
    view.observe(False, 11.5)  # checkers 0..11 polled once each: 12 unhealthy, 3 healthy
    assert view.health.healthy_count == 3
    assert view.healthy  # 3/15 = 20 % > 18 %


@pytest.mark.parametrize(
    ("primary", "secondary", "answer", "words"),
    [
        (True, True, "primary", "stays on the primary"),
        (False, True, "secondary", "failed over"),
        (False, False, "primary", "fails open"),
        (True, False, "primary", "stays on the primary"),
    ],
)
def test_dns_view_follows_the_failover_record(
    primary: bool, secondary: bool, answer: str, words: str
) -> None:
    view = dns_view(primary, secondary)
    assert view.answer == answer
    assert words in view.meaning


def test_state_names_recovery_hold_and_drain() -> None:
    assert state_of(()) == "-"
    recovering = state_of(("recovering 2/10 clean",))
    assert recovering.startswith("latched, recovering 2/10 clean")
    assert "HOLD" in state_of(("hold engaged (env DEEP_HEALTH_HOLD)", "held"))
    assert "DRAINED" in state_of(("drained by operator (file /run/drain)",))


def test_health_urls_from_a_base_or_a_health_url() -> None:
    assert health_urls("http://a:1/") == ("http://a:1/health", "http://a:1/health/details")
    assert health_urls("http://a:1/health") == ("http://a:1/health", "http://a:1/health/details")


def test_a_pairs_file_gives_each_regions_own_health_url() -> None:
    pairs = ROOT / "deploy" / "pairs.example.toml"
    assert _pair_urls(pairs, None) == [
        ("primary us-east-1", "https://health-use1.example.com/health"),
        ("secondary eu-west-1", "https://health-euw1.example.com/health"),
    ]
    auth = _pair_urls(pairs, "auth")
    assert auth[0] == ("primary us-west-2", "https://auth-usw2.example.com/health")
    with pytest.raises(ValueError, match="no pair 'nope'"):
        _pair_urls(pairs, "nope")


def test_rich_is_never_imported_on_the_request_path(tmp_path: Path) -> None:
    config = tmp_path / "health.toml"
    config.write_text('[[checks]]\ntype = "support.misbehaving:Passing"\n')
    code = (
        "import sys\n"
        "import service.faces.lambda_handler\n"
        "from service.faces.app import create_app\n"
        "from service.config import parse_config\n"
        "from service.engine.health import HealthService\n"
        "create_app(HealthService(parse_config(open(sys.argv[1]).read())))\n"
        "assert 'rich' not in sys.modules, sorted(m for m in sys.modules if 'rich' in m)\n"
        "assert 'matplotlib' not in sys.modules\n"
    )
    env = {"DEEP_HEALTH_CONFIG": str(config), "PYTHONPATH": str(ROOT / "tests")}
    result = subprocess.run(
        [sys.executable, "-c", code, str(config)],
        cwd=ROOT,
        env={**__import__("os").environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("primary", "secondary", "answer", "words"),
    [
        (True, True, "both", "nearest region"),
        (False, True, "secondary", "only the secondary"),
        (True, False, "primary", "only the primary"),
        (False, False, "both", "fails open"),
    ],
)
def test_dns_view_of_a_latency_pair(
    primary: bool, secondary: bool, answer: str, words: str
) -> None:
    view = dns_view(primary, secondary, "latency")
    assert view.answer == answer
    assert words in view.meaning
