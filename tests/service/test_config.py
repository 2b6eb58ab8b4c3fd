"""Config errors stop start-up with exit code 2 and a message naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks import Check, ConfigError
from checks.base import CheckSpec
from service.cli import main
from service.config import parse_config

PASSING = "support.misbehaving:Passing"


def test_valid_config_builds_checks_with_overrides() -> None:
    config = parse_config(
        f"""
        [service]
        deadline = 1.2
        cache_ttl = 0

        [[checks]]
        type = "{PASSING}"
        name = "billing"
        critical = false
        timeout = 0.4
        delay = 0.01
        """
    )
    assert config.settings.deadline == 1.2
    (check,) = config.checks
    assert (check.check_name, check.critical, check.timeout) == ("billing", False, 0.4)
    assert check.delay == 0.01  # type: ignore[attr-defined]


def test_env_interpolation_with_default_and_escape() -> None:
    config = parse_config(
        """
        [service]
        release_id = "${RELEASE}-${MISSING:-x}-$${literal}"
        details_token = "${TOKEN}"
        """,
        environ={"RELEASE": "r42", "TOKEN": "t" * 20},
    )
    assert config.settings.release_id == "r42-x-${literal}"
    assert config.settings.details_token == "t" * 20


def test_empty_token_means_no_details_route() -> None:
    config = parse_config('[service]\ndetails_token = "${T:-}"', environ={})
    assert config.settings.details_token is None


BAD = [
    ("unknown top-level key", "[servce]\n", "servce"),
    ("unknown service key", "[service]\ndeadlin = 1", "service.deadlin"),
    ("wrong type", '[service]\ndeadline = "soon"', "service.deadline"),
    ("deadline over Route 53's limit", "[service]\ndeadline = 2.5", "service.deadline"),
    ("short token", '[service]\ndetails_token = "short"', "service.details_token"),
    ("unset env var", '[service]\nrelease_id = "${NOPE_UNSET}"', "service.release_id"),
    ("unknown type", '[[checks]]\ntype = "no_such_check"', "checks[0].type"),
    ("bad import path", '[[checks]]\ntype = "nope.module:Thing"', "checks[0].type"),
    ("not a Check", '[[checks]]\ntype = "pathlib:Path"', "checks[0].type"),
    ("missing type", "[[checks]]\nname = 'x'", "checks[0].type"),
    (
        "missing option",
        '[[checks]]\ntype = "dynamodb_read"\ntable = "t"',
        "checks[0].key",
    ),
    (
        "wrong-typed option",
        f'[[checks]]\ntype = "{PASSING}"\ndelay = "slow"',
        "checks[0].delay",
    ),
    ("unknown option", f'[[checks]]\ntype = "{PASSING}"\nbogus = 1', "checks[0].bogus"),
    (
        "duplicate name",
        f'[[checks]]\ntype = "{PASSING}"\n[[checks]]\ntype = "{PASSING}"',
        "checks[1].name",
    ),
    ("bad scope", f'[[checks]]\ntype = "{PASSING}"\nscope = "galactic"', "checks[0].scope"),
    ("invalid TOML", "[service\n", "<memory>"),
    (
        "marker in a check name",
        f'[service]\nmarker = "OKAY"\n[[checks]]\ntype = "{PASSING}"\nname = "OKAY-1"',
        "checks[0].name",
    ),
]


@pytest.mark.parametrize(("text", "key"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_config_names_the_key(text: str, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, environ={})
    assert caught.value.key == key
    assert key in str(caught.value)


@pytest.mark.parametrize(("text", "key"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_cli_exits_2_naming_the_key(
    text: str, key: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "health.toml"
    path.write_text(text)
    assert main(["check", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert (str(path) if key == "<memory>" else key) in err
    assert "Traceback" not in err


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--config", str(tmp_path / "absent.toml")]) == 2
    assert "absent.toml" in capsys.readouterr().err


def test_no_config_at_all_names_the_env_var(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check"]) == 2
    assert "DEEP_HEALTH_CONFIG" in capsys.readouterr().err


class _ReadsTimeoutInInit(Check):
    """Sizes a client from ``self.timeout`` in ``__init__``, as an AWS check does."""

    name = "reads-timeout"

    def __init__(self) -> None:
        self.seen_timeout = self.timeout

    async def run(self) -> None:
        return None


def test_init_sees_the_configured_common_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "service.config.resolve", lambda type_name: _ReadsTimeoutInInit, raising=True
    )
    config = parse_config('[[checks]]\ntype = "reads-timeout"\ntimeout = 0.25\nsamples = 3\n')
    (check,) = config.checks
    assert isinstance(check, _ReadsTimeoutInInit)
    assert check.seen_timeout == 0.25
    assert check.spec == CheckSpec(
        name="reads-timeout",
        critical=True,
        scope="regional",
        timeout=0.25,
        latency_budget=None,
        samples=3,
    )
