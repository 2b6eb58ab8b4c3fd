"""Configuration errors point at the fix: did-you-mean, the missing class, all at once."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from checks import ConfigError
from service.cli.main import main
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


# --- pinned down by mutation testing (`make mutation`) --------------------------------------


def errors_of(text: str) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, environ={})
    return caught.value.errors


CHECK = f'[[checks]]\ntype = "{PASSING}"\n'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "",
            ("checks", "no checks configured: add at least one [[checks]] entry"),
            id="no-checks",
        ),
        pytest.param("service = 1\n" + CHECK, ("service", "must be a table"), id="service"),
        pytest.param("state = 1\n" + CHECK, ("state", "must be a table"), id="state"),
        pytest.param(
            '[state]\nstore = "dynamodb"\n' + CHECK,
            ("state.table", 'required with store = "dynamodb"'),
            id="state-without-table",
        ),
        pytest.param(
            '[state]\nstore = "dynamodb"\ntabel = "t"\n' + CHECK,
            ("state.tabel", "unknown key (did you mean 'table'?)"),
            id="state-typo",
        ),
        pytest.param(
            CHECK + "criticl = true\n",
            ("checks[0].criticl", "unknown key (did you mean 'critical'?)"),
            id="check-common-key-typo",
        ),
        pytest.param(
            "[service]\nmarker = '2026-11-28T22'\n" + CHECK,
            ("service.marker", "must contain a letter other than T (a timestamp could match it)"),
            id="marker-a-timestamp-could-match",
        ),
        pytest.param(
            "[service]\nmarker = 'espons'\n" + CHECK,
            (
                "service.marker",
                "occurs in the body's own word 'responseTime', so unhealthy bodies would carry it",
            ),
            id="marker-in-a-body-word",
        ),
        pytest.param(
            "[service]\ndetails_token = 'has a space in it here'\n" + CHECK,
            (
                "service.details_token",
                "use printable ASCII without spaces (no blank, padded or non-ASCII token: a "
                "client cannot send it reliably in an Authorization header)",
            ),
            id="token-with-spaces",
        ),
        pytest.param(
            "[service]\ndetails_token = 'short'\n" + CHECK,
            ("service.details_token", "too short: use at least 16 characters"),
            id="token-too-short",
        ),
    ],
)
def test_each_refusal_names_its_key_and_says_what_to_do(
    text: str, expected: tuple[str, str]
) -> None:
    assert list(errors_of(text)) == [expected]  # that one error, and none it would cause


def test_a_value_left_empty_by_its_unset_variable_is_reported_once() -> None:
    """``table = "${NOPE}"``: the unset variable, not also the empty table it leaves."""
    text = '[state]\nstore = "dynamodb"\ntable = "${NOPE}"\n' + CHECK
    assert list(errors_of(text)) == [("state.table", "environment variable NOPE is not set")]


# The window's reach: (window // every + 1) evaluations, each with the feeders' most samples.
BACKGROUND = '[service]\nmode = "background"\ninterval = 5\n'


def reach(min_samples: int, samples: int = 2) -> str:
    return (
        BACKGROUND
        + f"[failover]\nwindow = 60\nmin_samples = {min_samples}\n"
        + f"{CHECK}samples = {samples}\n"
    )


def test_a_window_that_reaches_min_samples_exactly_is_accepted() -> None:
    assert parse_config(reach(26)).failover.min_samples == 26  # 13 evaluations x 2 samples


def test_a_window_one_sample_short_is_refused_with_the_arithmetic() -> None:
    assert list(errors_of(reach(27))) == [
        (
            "failover.min_samples",
            "in background mode one instance holds at most 26 samples in the 60 s window "
            "(service.interval 5 s, 2 per evaluation), below min_samples 27: gray failures "
            "would never be detected. Shorten service.interval, lengthen failover.window, raise "
            "failover.samples (or the checks' samples) or lower failover.min_samples",
        )
    ]


def test_only_critical_regional_checks_count_as_feeders() -> None:
    text = reach(27) + f'{CHECK}name = "soft"\ncritical = false\nsamples = 10\n'
    assert errors_of(text)[0][0] == "failover.min_samples"


@pytest.mark.parametrize(
    ("service", "said"),
    [
        # The loop fills the window; the cache, every 0.5 s at most, does not: warn about it.
        ("[service]\ninterval = 0.1\ncache_ttl = 0.5\n", "on-request"),
        ('[service]\nmode = "on-request"\ncache_ttl = 0.5\n', "on-request"),
    ],
)
def test_a_window_requests_may_not_fill_is_a_warning_with_the_arithmetic(
    service: str, said: str, caplog: pytest.LogCaptureFixture
) -> None:
    text = (
        service + "[failover]\nwindow = 2\nmin_samples = 20\nburst = 1\n" + CHECK + "samples = 1\n"
    )
    with caplog.at_level(logging.WARNING, logger="deep_health.config"):
        parse_config(text, environ={})
    assert [r.getMessage() for r in caplog.records if r.name == "deep_health.config"] == [
        "configuration: failover.min_samples: in on-request mode one instance holds at most 5 "
        "samples in the 2 s window (service.cache_ttl 0.5 s, 1 per evaluation), below "
        "min_samples 20: gray failures would never be detected. Shorten service.cache_ttl, "
        "lengthen failover.window, raise failover.samples (or the checks' samples) or lower "
        "failover.min_samples"
    ]


@pytest.mark.parametrize(("window", "burst", "refused"), [(12, 6, False), (11.9, 6, True)])
def test_a_burst_longer_than_half_the_window_is_refused(
    window: float, burst: float, refused: bool
) -> None:
    # Failures must spread over more of the window's buckets than a burst touches.
    text = f"[failover]\nwindow = {window}\nburst = {burst}\nmin_samples = 1\n{CHECK}"
    if not refused:
        assert parse_config(text, environ={}).failover.burst == burst
        return
    key, message = errors_of(text)[0]
    assert key == "failover.burst"
    assert "at most half of failover.window" in message


def test_a_single_value_where_a_list_goes_says_how_to_write_the_list() -> None:
    error = error_of(
        '[[checks]]\ntype = "http"\nurl = "https://a.example.com"\nexpect_status = 200\n'
    )
    ((key, message),) = error.errors
    assert key == "checks[0].expect_status"
    assert message.endswith("write [200], not 200")


def test_deps_reports_a_bad_config_in_the_same_words_as_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "health.toml"
    path.write_text('[service]\ndeadline = "soon"\ncache_ttl = "never"\n')
    assert main(["check", "--config", str(path)]) == 2
    from_check = capsys.readouterr().err
    assert main(["deps", "--config", str(path)]) == 2
    assert capsys.readouterr().err == from_check
    assert from_check.startswith(f"deep-health: 3 configuration errors in {path}:")
