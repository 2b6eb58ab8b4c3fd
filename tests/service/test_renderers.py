"""The renderer seam: one list of output formats that routes, OpenAPI, Lambda and CLI read."""

from __future__ import annotations

import pytest

from service.renderers import (
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
