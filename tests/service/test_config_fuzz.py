"""Random configurations never produce a traceback: a ConfigError naming a key, or a config."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from checks import CheckResult, ConfigError, Status
from service.config import Config, parse_config

KEYS = [
    "deadline",
    "cache_ttl",
    "marker",
    "details_token",
    "max_noncritical_failures",
    "latency_budget",
    "release_id",
    "version",
    "service_id",
    "type",
    "name",
    "critical",
    "scope",
    "timeout",
    "samples",
    "table",
    "key",
    "queue_url",
    "delay",
    "bogus",
]
TYPES = ["dynamodb_read", "sqs", "support.misbehaving:Passing", "nope", "a.b:C", "pathlib:Path", ""]

scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(TYPES),
    st.sampled_from(["${UNSET_VAR}", "${X:-1}", "$${x}", "regional", "global"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(KEYS), inner, max_size=3)
    ),
    max_leaves=8,
)
tables = st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), values, max_size=6)
documents = st.fixed_dictionaries(
    {},
    optional={
        "service": st.one_of(tables, scalars),
        "checks": st.one_of(st.lists(tables, max_size=3), scalars),
        "extra": values,
    },
)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value != value:
        return "nan"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON string escapes are valid TOML basic strings
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def render(document: dict[str, Any]) -> str:
    return "\n".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in document.items())


def _top(key: str) -> str:
    return key.split(".")[0].split("[")[0]


def _parse(text: str, source: str = "<memory>") -> Config | ConfigError:
    try:
        return parse_config(text, environ={}, source=source)
    except ConfigError as exc:
        return exc


def _well_formed(error: ConfigError) -> None:
    assert error.key
    assert error.message
    # Every error at once: the first names the exception's key, each one a key and a message.
    assert error.errors[0] == (error.key, error.message)
    assert all(key and message for key, message in error.errors)
    assert str(error).startswith(f"{error.key}: {error.message}")


@settings(max_examples=300, deadline=None)
@given(documents)
def test_random_config_is_valid_or_a_named_config_error(document: dict[str, Any]) -> None:
    outcome = _parse(render(document))
    if isinstance(outcome, ConfigError):
        # The key names a part of this document (or the document itself): an operator can
        # find what to fix.
        _well_formed(outcome)
        # "checks" when there are none: what to add (a config without checks is refused).
        named = {*document, "<memory>"} | ({"checks"} if not document.get("checks") else set())
        for key, _ in outcome.errors:
            assert _top(key) in named, key
        return
    # Parsed: nothing was dropped or invented on the way.
    assert set(document) <= {"service", "checks", "failover"}
    entries = document.get("checks", [])
    assert len(outcome.checks) == len(entries)
    for entry, check in zip(entries, outcome.checks, strict=True):
        if isinstance(entry.get("name"), str) and "$" not in entry["name"]:
            assert check.check_name == entry["name"]
        if isinstance(entry.get("samples"), int):
            assert check.spec.samples == entry["samples"]
    for key, value in document.get("service", {}).items():
        if not isinstance(value, str) and key != "details_token":
            assert getattr(outcome.settings, key) == value, key


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_random_text_is_valid_or_a_config_error(text: str) -> None:
    # Nothing but a ConfigError escapes (any other exception fails the test), and it is one an
    # operator can act on: well formed, each key naming the document, a part of it, or the
    # checks it lacks.
    outcome = _parse(text)
    if isinstance(outcome, ConfigError):
        _well_formed(outcome)
        for key, _ in outcome.errors:
            assert key in {"<memory>", "checks"} or _top(key) in text, key
    else:
        assert outcome.checks  # parsed: a configuration without checks is refused


NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
)
SERVICE_NUMBERS = ["deadline", "cache_ttl", "interval", "max_age", "latency_budget"]
FAILOVER_NUMBERS = ["window", "threshold", "min_samples", "fail_after", "recover_after",
                    "min_hold", "quiet"]  # fmt: skip
MISBEHAVING = ["Passing", "BlocksLoop", "HangsInThread", "CancelsOwnTask", "StartRaises"]


@settings(max_examples=300, deadline=None)
@given(
    service=st.dictionaries(st.sampled_from(SERVICE_NUMBERS), NUMBERS, max_size=3),
    failover=st.dictionaries(st.sampled_from(FAILOVER_NUMBERS), NUMBERS, max_size=3),
    marker=st.one_of(st.none(), st.text(alphabet="abcdefgpassTtimeOK0123456789-_", max_size=12)),
    token=st.one_of(st.none(), st.text(max_size=24)),
    check=st.sampled_from(MISBEHAVING),
)
def test_accepted_configs_are_finite_checked_and_keep_the_marker_out_of_unhealthy_bodies(
    service: dict[str, Any],
    failover: dict[str, Any],
    marker: str | None,
    token: str | None,
    check: str,
) -> None:
    from service.engine.health import Report
    from service.output.body import public_body
    from service.running.runner import Evaluation
    from service.verdict.policy import Verdict

    table = dict(service)
    if marker is not None:
        table["marker"] = marker
    if token is not None:
        table["details_token"] = token
    text = (
        "[service]\n"
        + "".join(f"{k} = {toml_value(v)}\n" for k, v in table.items())
        + "[failover]\n"
        + "".join(f"{k} = {toml_value(v)}\n" for k, v in failover.items())
        + f'[[checks]]\ntype = "support.misbehaving:{check}"\n'
    )
    outcome: Config | ConfigError
    try:
        outcome = parse_config(text, environ={})
    except ConfigError as exc:
        outcome = exc
    if isinstance(outcome, ConfigError):
        assert outcome.key
        return
    config = outcome
    numbers = [*config.settings.model_dump().values(), *config.failover.model_dump().values()]
    assert all(v == v and v not in (float("inf"), float("-inf")) for v in numbers if v)
    assert config.checks
    if config.settings.details_token is not None:
        assert config.settings.details_token.isascii()
        assert config.settings.details_token.strip() == config.settings.details_token
    results = tuple(
        CheckResult(name=c.check_name, status=status, duration=0.0)
        for c in config.checks
        for status in Status
    )
    evaluation = Evaluation(number=1, results=results, duration=0.0, time=1795428000.0)
    unhealthy = Report(evaluation, Verdict(Status.FAIL, ("x",)), config.settings)
    assert config.settings.marker.encode() not in public_body(unhealthy)

    outcome = _parse(text, source="random.toml")
    if isinstance(outcome, ConfigError):
        _well_formed(outcome)
    else:
        assert outcome.source == "random.toml"
