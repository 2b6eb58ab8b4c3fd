"""Config errors stop start-up with exit code 2 and a message naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks import Check, ConfigError
from checks.base import CheckSpec
from service.cli.main import main
from service.config import CONFIG_ENV, config_path, load_config, parse_config
from service.verdict.rules import TrackerSettings

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
        [[checks]]
        type = "support.misbehaving:Passing"
        """,
        environ={"RELEASE": "r42", "TOKEN": "t" * 20},
    )
    assert config.settings.release_id == "r42-x-${literal}"
    assert config.settings.details_token == "t" * 20


def test_empty_token_means_no_details_route() -> None:
    config = parse_config(
        f'[service]\ndetails_token = "${{T:-}}"\n[[checks]]\ntype = "{PASSING}"', environ={}
    )
    assert config.settings.details_token is None


ONE = f'[[checks]]\ntype = "{PASSING}"\n'
BAD = [
    ("no checks at all", "[service]\ndeadline = 1.0\n", "checks"),
    ("an empty check list", "checks = []\n", "checks"),
    ("infinite max_age", "[service]\nmax_age = inf\n" + ONE, "service.max_age"),
    ("nan deadline", "[service]\ndeadline = nan\n" + ONE, "service.deadline"),
    ("infinite min_hold", "[failover]\nmin_hold = inf\n" + ONE, "failover.min_hold"),
    ("infinite quiet", "[failover]\nquiet = inf\n" + ONE, "failover.quiet"),
    (
        "absurd min_samples",
        "[failover]\nmin_samples = 9223372036854775807\n" + ONE,
        "failover.min_samples",
    ),
    ("infinite check latency budget", ONE + "latency_budget = inf\n", "checks[0].latency_budget"),
    (
        "blank token",
        '[service]\ndetails_token = "                "\n' + ONE,
        "service.details_token",
    ),
    (
        "token with a trailing newline",
        '[service]\ndetails_token = "0123456789abcdef\\n"\n' + ONE,
        "service.details_token",
    ),
    (
        "padded token",
        '[service]\ndetails_token = " 0123456789abcdef "\n' + ONE,
        "service.details_token",
    ),
    (
        "non-ASCII token",
        '[service]\ndetails_token = "0123456789abcdéf"\n' + ONE,
        "service.details_token",
    ),
    ("marker warn", '[service]\nmarker = "warn"\n' + ONE, "service.marker"),
    ("marker status", '[service]\nmarker = "status"\n' + ONE, "service.marker"),
    ("marker inside responseTime", '[service]\nmarker = "onseTi"\n' + ONE, "service.marker"),
    ("marker a date could carry", '[service]\nmarker = "2026-11"\n' + ONE, "service.marker"),
    ("unknown top-level key", "[servce]\n", "servce"),
    ("unknown service key", "[service]\ndeadlin = 1", "service.deadlin"),
    ("wrong type", '[service]\ndeadline = "soon"', "service.deadline"),
    ("deadline over Route 53's limit", "[service]\ndeadline = 2.5", "service.deadline"),
    # At the bound, not a step away: 1.9 is the most accepted (Route 53 waits 2 s).
    ("deadline just over 1.9", "[service]\ndeadline = 1.9000001", "service.deadline"),
    ("deadline of Route 53's 2 s", "[service]\ndeadline = 2.0", "service.deadline"),
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


class _ReadsSamplesInInit(Check):
    """Sizes a pool from ``self.samples`` in ``__init__`` (one connection per concurrent run)."""

    name = "reads-samples"

    def __init__(self) -> None:
        self.pool_size = self.samples

    async def run(self) -> None:
        return None


@pytest.mark.parametrize(
    ("text", "samples"),
    [
        ("[failover]\nsamples = 4\n", 4),  # a critical regional check takes [failover] samples
        ("[failover]\nsamples = 4\n[[checks]]\nsamples = 2\n", 2),  # its own wins
        ("[failover]\nenabled = false\nsamples = 4\n", 1),  # no window: no extra samples
    ],
)
def test_init_sees_the_failover_samples(
    monkeypatch: pytest.MonkeyPatch, text: str, samples: int
) -> None:
    """``[failover] samples`` is in the spec before ``__init__`` runs, not set on the check
    afterwards (a pool sized in ``__init__`` would otherwise be sized for one run)."""
    monkeypatch.setattr("service.config.resolve", lambda type_name: _ReadsSamplesInInit)
    if "[[checks]]" not in text:
        text += "[[checks]]\n"
    config = parse_config(text.replace("[[checks]]\n", '[[checks]]\ntype = "reads-samples"\n'))
    (check,) = config.checks
    assert isinstance(check, _ReadsSamplesInInit)
    assert (check.pool_size, check.spec.samples) == (samples, samples)


def test_a_subnormal_cache_ttl_is_a_configuration_not_a_crash() -> None:
    """Found by the fuzz test: the window's reach divided by 2e-313 is infinite, and
    ``int(inf)`` raised OverflowError out of parse_config (a traceback instead of exit 2)."""
    text = f'[service]\ncache_ttl = 2.2250738585e-313\n[[checks]]\ntype = "{PASSING}"\n'
    assert parse_config(text, environ={}).settings.cache_ttl == 2.2250738585e-313


# --- pinned down by mutation testing (`make mutation`) --------------------------------------


def _with_a_check(text: str) -> str:
    """``text`` with a check added when it has none: a configuration without checks is refused
    (it would always report healthy), and these tests are about something else."""
    return text if "checks" in text else f'{text}\n[[checks]]\ntype = "{PASSING}"\n'


REFUSED = [
    ("service not a table", "service = 1", "service", "must be a table"),
    ("failover not a table", "failover = 1", "failover", "must be a table"),
    ("checks not an array", "checks = 1", "checks", "must be an array of tables ([[checks]])"),
    ("a check not a table", "checks = [1]", "checks[0]", "must be a table"),
    (
        "first unknown top-level key, sorted",
        "[zeta]\n[alpha]\n",
        "alpha",
        "unknown key (expected [service], [failover], [state] and [[checks]])",
    ),
    (
        "unknown failover key",
        "[failover]\nwindoww = 1",
        "failover.windoww",
        "unknown key (did you mean 'window'?)",
    ),
    (
        "unknown service key",
        "[service]\ndeadlin = 1",
        "service.deadlin",
        "unknown key (did you mean 'deadline'?)",
    ),
    (
        "token one short",
        '[service]\ndetails_token = "123456789012345"',
        "service.details_token",
        "too short: use at least 16 characters",
    ),
    (
        "max_age not above a cycle",
        "[service]\ninterval = 5.0\ndeadline = 1.0\nmax_age = 6.0",
        "service",
        "Value error, max_age must exceed interval + deadline",
    ),
    (
        "marker in the release id",
        '[service]\nmarker = "OKAY"\nrelease_id = "v1-OKAY"',
        "service.release_id",
        "must not contain the healthy marker",
    ),
    (
        "marker in the version",
        '[service]\nmarker = "OKAY"\nversion = "OKAY"',
        "service.version",
        "must not contain the healthy marker",
    ),
    (
        "marker in the service id",
        '[service]\nmarker = "OKAY"\nservice_id = "xOKAYx"',
        "service.service_id",
        "must not contain the healthy marker",
    ),
    (
        "duplicate name says which",
        f'[[checks]]\ntype = "{PASSING}"\n[[checks]]\ntype = "{PASSING}"\nname = "x"\n'
        f'[[checks]]\ntype = "{PASSING}"',
        "checks[2].name",
        "duplicate check name 'passing' (also checks[0])",
    ),
    (
        "a check refusing its options",
        '[[checks]]\ntype = "s3_object"\nbucket = "b"\nkey = "k"\nread_bytes = 0\n'
        'region = "eu-west-1"',
        "checks[0]",
        "s3_object: read_bytes must be at least 1",
    ),
    (
        "unset variable deep in a check",
        f'[[checks]]\ntype = "{PASSING}"\nx = {{ a = ["ok", "${{NOPE_UNSET}}"] }}',
        "checks[0].x.a[1]",
        "environment variable NOPE_UNSET is not set",
    ),
    (
        "check timeout zero",
        f'[[checks]]\ntype = "{PASSING}"\ntimeout = 0',
        "checks[0].timeout",
        None,
    ),
    ("eleven samples", f'[[checks]]\ntype = "{PASSING}"\nsamples = 11', "checks[0].samples", None),
    ("bad check name", f'[[checks]]\ntype = "{PASSING}"\nname = "-x"', "checks[0].name", None),
    ("threshold one", "[failover]\nthreshold = 1.0", "failover.threshold", None),
]


@pytest.mark.parametrize(
    ("text", "key", "message"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED]
)
def test_refusals_name_the_key_and_say_why(text: str, key: str, message: str | None) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(_with_a_check(text), environ={})
    assert caught.value.key == key
    if message is not None:
        assert caught.value.message == message
        # The first of every error found: the text starts with it.
        assert str(caught.value).startswith(f"{key}: {message}")


def test_invalid_toml_names_the_source() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config("[service\n", source="/etc/health.toml")
    assert caught.value.key == "/etc/health.toml"
    assert caught.value.message.startswith("invalid TOML: ")


ACCEPTED = [
    ("token of exactly 16", '[service]\ndetails_token = "1234567890123456"'),
    ("deadline at its bound", "[service]\ndeadline = 1.9"),
    ("max_age just above a cycle", "[service]\ninterval = 5.0\ndeadline = 1.0\nmax_age = 6.01"),
    ("a marker the ids do not contain", '[service]\nmarker = "OKAY"'),
    ("one sample", f'[[checks]]\ntype = "{PASSING}"\nsamples = 1'),
    ("ten samples", f'[[checks]]\ntype = "{PASSING}"\nsamples = 10'),
    (
        "two checks named apart",
        f'[[checks]]\ntype = "{PASSING}"\n[[checks]]\ntype = "{PASSING}"\nname = "b"',
    ),
]


@pytest.mark.parametrize("text", [c[1] for c in ACCEPTED], ids=[c[0] for c in ACCEPTED])
def test_boundaries_are_accepted(text: str) -> None:
    parse_config(_with_a_check(text), environ={})


def test_interpolation_prefers_the_environment_then_the_default() -> None:
    text = (
        '[service]\nrelease_id = "${REL:-fallback}"\nversion = "${VER:-2}"\n'
        'service_id = "$${literal}"\n'
    )
    settings = parse_config(_with_a_check(text), environ={"REL": "from-env"}).settings
    assert (settings.release_id, settings.version, settings.service_id) == (
        "from-env",
        "2",
        "${literal}",
    )


def test_an_empty_token_is_no_token_and_a_set_one_is_kept() -> None:
    assert (
        parse_config(_with_a_check('[service]\ndetails_token = ""')).settings.details_token is None
    )
    token = "1234567890123456"
    text = f'[service]\ndetails_token = "{token}"'
    assert parse_config(_with_a_check(text)).settings.details_token == token


def test_failover_table_becomes_the_tracker_settings() -> None:
    text = (
        "[failover]\nwindow = 30\nthreshold = 0.2\nmin_samples = 5\nfail_after = 2\n"
        "recover_after = 4\nmin_hold = 10\nquiet = 7\nspread = 0.3\nburst = 4\n"
    )
    failover = parse_config(_with_a_check(text)).failover
    assert failover.tracker_settings() == TrackerSettings(
        window=30.0,
        threshold=0.2,
        min_samples=5,
        spread=0.3,
        burst=4.0,
        fail_after=2,
        recover_after=4,
        min_hold=10.0,
        quiet=7.0,
    )
    assert parse_config(_with_a_check("")).failover.tracker_settings() == TrackerSettings()


def test_max_age_defaults_to_three_cycles_and_a_deadline() -> None:
    settings = parse_config(_with_a_check("[service]\ninterval = 5.0\ndeadline = 1.0")).settings
    assert settings.effective_max_age == 16.0
    explicit = parse_config(
        _with_a_check("[service]\ninterval = 5.0\ndeadline = 1.0\nmax_age = 9.0")
    ).settings
    assert explicit.effective_max_age == 9.0


def test_config_path_prefers_the_argument_then_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CONFIG_ENV, str(tmp_path / "from-env.toml"))
    assert config_path(tmp_path / "given.toml") == tmp_path / "given.toml"
    assert config_path() == tmp_path / "from-env.toml"
    monkeypatch.delenv(CONFIG_ENV)
    with pytest.raises(ConfigError) as caught:
        config_path()
    assert caught.value.key == CONFIG_ENV


def test_load_config_reads_the_file_and_names_it(tmp_path: Path) -> None:
    path = tmp_path / "health.toml"
    path.write_text(_with_a_check('[service]\nrelease_id = "${REL}"\n'), encoding="utf-8")
    config = load_config(path, environ={"REL": "r-9"})
    assert (config.settings.release_id, config.source) == ("r-9", str(path))
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "absent.toml")
    assert caught.value.key == str(tmp_path / "absent.toml")
    assert caught.value.message == "cannot read: No such file or directory"


def test_no_config_at_all_says_how_to_give_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    with pytest.raises(ConfigError) as caught:
        config_path()
    assert caught.value.message == "no configuration: pass --config or set DEEP_HEALTH_CONFIG"


def test_an_unknown_type_says_what_was_looked_for() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config('[[checks]]\ntype = "no_such_check"')
    assert caught.value.key == "checks[0].type"
    assert "no_such_check" in caught.value.message


def test_the_marker_in_a_check_name_says_why() -> None:
    text = f'[service]\nmarker = "OKAY"\n[[checks]]\ntype = "{PASSING}"\nname = "OKAY-1"'
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    assert caught.value.errors[0] == ("checks[0].name", "must not contain the healthy marker")
    # ... and the marker itself is refused too: it occurs in the body's own words.
    assert [key for key, _ in caught.value.errors] == ["checks[0].name", "service.marker"]


class _Widget:
    """Not a type pydantic knows: a check may still take one (with a default)."""


class _Options(Check):
    """Options without annotations, of an arbitrary class, and numbers given as text."""

    name = "options"

    def __init__(self, *, plain=3, widget: _Widget | None = None, delay: float = 0.0) -> None:  # type: ignore[no-untyped-def]
        self.plain, self.widget, self.delay = plain, widget, delay

    async def run(self) -> None:
        return None


class _BadlyNamed(_Options):
    name = "has spaces"


def test_options_of_any_kind_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("service.config.resolve", lambda type_name: _Options, raising=True)
    text = '[[checks]]\ntype = "options"\nplain = "anything"\ndelay = "${DELAY:-0.25}"\n'
    (check,) = parse_config(_with_a_check(text), environ={}).checks
    assert isinstance(check, _Options)
    assert (check.plain, check.widget, check.delay) == ("anything", None, 0.25)


def test_a_class_name_that_is_not_a_valid_check_name_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("service.config.resolve", lambda type_name: _BadlyNamed, raising=True)
    with pytest.raises(ConfigError) as caught:
        parse_config('[[checks]]\ntype = "badly-named"\n')
    assert str(caught.value) == "checks[0].name: invalid check name 'has spaces'"
