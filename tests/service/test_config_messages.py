"""Configuration errors point at the fix: did-you-mean, the missing class, all at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks import ConfigError
from service.cli import main
from service.config import parse_config

PASSING = "support.misbehaving:Passing"


def error_of(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, environ={})
    return caught.value


def test_a_typo_of_a_required_option_names_the_typo_and_the_missing_key_together() -> None:
    error = error_of('[[checks]]\ntype = "dynamodb_read"\ntabel = "t"\nkey = { pk = "c" }\n')
    assert error.errors == (
        ("checks[0].tabel", "unknown key (did you mean 'table'? checks[0].table is required)"),
    )


def test_an_unknown_key_suggests_the_closest_known_one() -> None:
    assert "did you mean 'deadline'?" in str(error_of("[service]\ndeadlin = 1"))
    assert "did you mean 'service'?" in str(error_of("[servce]\n"))
    assert "did you mean 'min_hold'?" in str(error_of("[failover]\nmin_hld = 1"))
    assert "did you mean 'timeout'?" in str(error_of(f'[[checks]]\ntype = "{PASSING}"\ntimout = 1'))


def test_a_far_off_unknown_key_gets_no_suggestion() -> None:
    error = error_of(f'[[checks]]\ntype = "{PASSING}"\nzzzzzz = 1')
    assert error.errors == (("checks[0].zzzzzz", "unknown key"),)


def test_a_missing_class_says_the_module_has_no_such_attribute() -> None:
    error = error_of('[[checks]]\ntype = "support.misbehaving:Nope"')
    assert error.key == "checks[0].type"
    assert "module 'support.misbehaving' has no attribute 'Nope'" in str(error)
    assert "not a subclass" not in str(error)


def test_a_misspelt_class_suggests_the_check_class_it_resembles() -> None:
    error = error_of('[[checks]]\ntype = "support.misbehaving:Pasing"')
    assert "did you mean support.misbehaving:Passing?" in str(error)


def test_an_unimportable_module_says_how_to_make_it_importable() -> None:
    assert "PYTHONPATH" in str(error_of('[[checks]]\ntype = "no_such_pkg.mod:Check"'))


def test_a_misspelt_builtin_type_suggests_the_builtin() -> None:
    assert "did you mean 'dynamodb_read'?" in str(error_of('[[checks]]\ntype = "dynamodb_reed"'))


def test_every_error_is_reported_at_once() -> None:
    error = error_of(
        "[servce]\n"
        '[service]\ndeadline = "soon"\n'
        "[failover]\nthreshold = 2\n"
        '[[checks]]\ntype = "support.misbehaving:Nope"\n'
        f'[[checks]]\ntype = "{PASSING}"\nbogus = 1\n'
    )
    keys = [key for key, _ in error.errors]
    assert keys == [
        "servce",
        "service.deadline",
        "failover.threshold",
        "checks[0].type",
        "checks[1].bogus",
    ]
    assert error.key == "servce"  # the first names the key, as before
    assert all(key in str(error) for key in keys)


def test_the_cli_prints_every_error_on_its_own_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "health.toml"
    path.write_text('[service]\ndeadlin = 1\n[[checks]]\ntype = "dynamodb_read"\ntabel = "t"\n')
    assert main(["check", "--config", str(path)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[0] == "deep-health: 3 configuration errors in " + str(path) + ":"
    assert lines[1:] == [
        "  service.deadlin: unknown key (did you mean 'deadline'?)",
        "  checks[0].key: Field required",
        "  checks[0].tabel: unknown key (did you mean 'table'? checks[0].table is required)",
    ]


def test_every_unset_environment_variable_is_named_once() -> None:
    error = error_of(
        '[service]\nrelease_id = "${NO_RELEASE}"\ndetails_token = "${NO_TOKEN}"\n'
        '[[checks]]\ntype = "dynamodb_read"\ntable = "${NO_TABLE}"\nkey = { pk = "c" }\n'
    )
    assert error.errors == (
        ("service.release_id", "environment variable NO_RELEASE is not set"),
        ("service.details_token", "environment variable NO_TOKEN is not set"),
        ("checks[0].table", "environment variable NO_TABLE is not set"),
    )
