"""Defaults that detect gray failures as shipped, and configs whose window can never fill."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from checks import ConfigError
from service.cli.main import main
from service.config import parse_config

PASSING = "support.misbehaving:Passing"
ROOT = Path(__file__).resolve().parents[2]


def test_window_feeding_checks_take_three_samples_unless_they_say_otherwise() -> None:
    config = parse_config(
        f'[[checks]]\ntype = "{PASSING}"\nname = "db"\n'
        f'[[checks]]\ntype = "{PASSING}"\nname = "own"\nsamples = 1\n'
        f'[[checks]]\ntype = "{PASSING}"\nname = "soft"\ncritical = false\n'
        f'[[checks]]\ntype = "{PASSING}"\nname = "global"\nscope = "global"\n'
    )
    assert [c.samples for c in config.checks] == [3, 1, 1, 1]
    off = parse_config(f'[failover]\nenabled = false\n[[checks]]\ntype = "{PASSING}"\n')
    assert off.checks[0].samples == 1


def test_the_shipped_defaults_fill_the_window_in_both_modes() -> None:
    config = parse_config(f'[[checks]]\ntype = "{PASSING}"\n')
    settings, failover = config.settings, config.failover
    per_window = (failover.window // settings.interval) * config.checks[0].samples
    # Background: ~80 samples per window (the old 5 s x 1 sample held at most 12 < 20).
    assert per_window >= 4 * failover.min_samples


OLD_BACKGROUND = (
    f'[service]\nmode = "background"\ninterval = 5\n[[checks]]\ntype = "{PASSING}"\nsamples = 1\n'
)


def test_a_window_that_can_never_reach_min_samples_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(OLD_BACKGROUND)
    assert caught.value.key == "failover.min_samples"
    assert "service.interval" in str(caught.value)
    path = tmp_path / "health.toml"
    path.write_text(OLD_BACKGROUND)
    assert main(["check", "--config", str(path)]) == 2
    assert "failover.min_samples" in capsys.readouterr().err


@pytest.mark.parametrize(
    "extra",
    [
        # A fleet sharing the window may fill it: warn, do not refuse.
        '[state]\nstore = "dynamodb"\ntable = "state"\n',
        # The face decides the mode: warn about the one that cannot.
        None,
    ],
)
def test_a_window_only_a_fleet_or_another_face_can_fill_is_a_loud_warning(
    extra: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    text = (
        OLD_BACKGROUND + extra
        if extra is not None
        else OLD_BACKGROUND.replace('mode = "background"\n', "")
    )
    with caplog.at_level(logging.WARNING, logger="deep_health.config"):
        parse_config(text)
    assert any("failover.min_samples" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("path", ["deploy/health.lambda.toml", "service/demo/demo.toml"])
def test_bundled_configs_fill_their_window(path: str, caplog: pytest.LogCaptureFixture) -> None:
    env = {
        "DEEP_HEALTH_TABLE": "t-1",
        "DEEP_HEALTH_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/1/q",
        "DEEP_HEALTH_STATE_TABLE": "state",
        "DEMO_TABLE": "t-1",
        "DEMO_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/1/q",
        "DEMO_STATE_TABLE": "state",
    }
    with caplog.at_level(logging.WARNING, logger="deep_health.config"):
        parse_config((ROOT / path).read_text(), environ=env)
    assert not caplog.records


def test_on_request_windows_only_warn(caplog: pytest.LogCaptureFixture) -> None:
    text = f'[service]\nmode = "on-request"\ncache_ttl = 30\n[[checks]]\ntype = "{PASSING}"\n'
    with caplog.at_level(logging.WARNING, logger="deep_health.config"):
        parse_config(text)
    assert any("service.cache_ttl" in r.getMessage() for r in caplog.records)
