"""Random configurations never produce a traceback: a ConfigError naming a key, or a config."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from checks import ConfigError
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
    assert str(error) == f"{error.key}: {error.message}"


@settings(max_examples=300, deadline=None)
@given(documents)
def test_random_config_is_valid_or_a_named_config_error(document: dict[str, Any]) -> None:
    outcome = _parse(render(document))
    if isinstance(outcome, ConfigError):
        # The key names a part of this document (or the document itself): an operator can
        # find what to fix.
        _well_formed(outcome)
        assert _top(outcome.key) in {*document, "<memory>"}, outcome.key
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
    outcome = _parse(text, source="random.toml")
    if isinstance(outcome, ConfigError):
        _well_formed(outcome)
    else:
        assert outcome.source == "random.toml"
