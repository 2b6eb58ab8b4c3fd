"""The renderer seam: one list of output formats that routes, OpenAPI, Lambda and CLI read."""

from __future__ import annotations

import dataclasses

import pytest

from service.output.renderers import (
    HEALTH_JSON,
    RENDERERS,
    SERVED,
    TABLE,
    by_name,
    negotiate,
    text_media_types,
)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        pytest.param(None, HEALTH_JSON, id="no-accept"),
        pytest.param("*/*", HEALTH_JSON, id="anything"),
        pytest.param("application/health+json", HEALTH_JSON, id="health-json"),
        pytest.param("text/plain", HEALTH_JSON, id="terminal-only-format-is-not-served"),
    ],
)
def test_negotiate(accept: str | None, expected: object) -> None:
    assert negotiate(accept) is expected


def test_every_served_format_is_text_for_lambda() -> None:
    assert text_media_types() == ["application/health+json", "application/json"]
    assert SERVED == (HEALTH_JSON,)


def test_formats_are_found_by_name() -> None:
    assert [by_name(r.name) for r in RENDERERS] == list(RENDERERS)
    assert by_name("table") is TABLE
    with pytest.raises(KeyError):
        by_name("yaml")


# --- pinned down by mutation testing (`make mutation`) --------------------------------------
# With one served format every Accept header picks it: negotiation is tested with a second
# served format, as adding one to RENDERERS would make it.

PLAIN = dataclasses.replace(TABLE, served=True)


@pytest.fixture
def two_served(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("service.output.renderers.SERVED", (HEALTH_JSON, PLAIN))


@pytest.mark.usefixtures("two_served")
@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        pytest.param("text/plain", PLAIN, id="exact"),
        pytest.param("TEXT/Plain", PLAIN, id="any-case"),
        pytest.param("text/plain;q=0.9", PLAIN, id="with-parameters"),
        pytest.param("text/html, text/plain; charset=utf-8", PLAIN, id="second-listed-served"),
        pytest.param("text/plain,application/health+json", PLAIN, id="first-listed-wins"),
        pytest.param("application/health+json, text/plain", HEALTH_JSON, id="first-listed-json"),
        pytest.param("text/html,,  ,text/plain", PLAIN, id="empty-items-skipped"),
        pytest.param("text/html", HEALTH_JSON, id="none-served-default"),
        pytest.param("", HEALTH_JSON, id="empty-default"),
    ],
)
def test_negotiate_picks_the_first_listed_served_format(accept: str, expected: object) -> None:
    assert negotiate(accept) == expected


@pytest.mark.usefixtures("two_served")
def test_text_media_types_drop_the_parameters() -> None:
    assert text_media_types() == ["application/health+json", "text/plain", "application/json"]


def test_a_missing_format_names_itself() -> None:
    with pytest.raises(KeyError) as caught:
        by_name("yaml")
    assert caught.value.args == ("yaml",)


def test_a_text_format_is_described_as_a_string() -> None:
    for healthy in (True, False):
        for detailed in (True, False):
            assert TABLE.schema(healthy=healthy, detailed=detailed) == {"type": "string"}
