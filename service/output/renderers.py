"""Output formats: each is one :class:`Renderer` object in :data:`RENDERERS`.

Everything that offers formats reads this list: the HTTP rules (:mod:`service.faces.routes`, which
pick one by the request's ``Accept`` among the served formats, the first by default), the
OpenAPI document (:mod:`service.faces.openapi`), the Lambda adapter's text media types
(:mod:`service.faces.apigw`) and ``deep-health check`` (:mod:`service.cli.main`). Adding a format
is adding one object here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from service.engine.report import Report
from service.output.body import MEDIA_TYPE, detailed_body, public_body
from service.output.body_schema import health_body_schema
from service.output.table import table

__all__ = [
    "HEALTH_JSON",
    "RENDERERS",
    "SERVED",
    "TABLE",
    "Renderer",
    "by_name",
    "negotiate",
    "text_media_types",
]


def _string_schema(*, healthy: bool, detailed: bool) -> dict[str, object]:
    return {"type": "string"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Renderer:
    """One output format.

    Attributes:
        name: Short name (``deep-health check --format``-style selection).
        media_type: The ``Content-Type`` of what it renders.
        public: Renders the body anyone may see (no error text, timings or observations).
        detailed: Renders everything, for ``/health/details`` and the terminal.
        schema: The rendered body's schema for the OpenAPI document, per ``healthy`` and
            ``detailed``.
        served: Offered by the HTTP routes; False for terminal-only formats.
    """

    name: str
    media_type: str
    public: Callable[[Report], bytes]
    detailed: Callable[[Report], bytes]
    schema: Callable[..., dict[str, object]] = _string_schema
    served: bool = True


HEALTH_JSON = Renderer(
    name="health+json",
    media_type=MEDIA_TYPE,
    public=public_body,
    detailed=detailed_body,
    schema=health_body_schema,
)
TABLE = Renderer(
    name="table",
    media_type="text/plain; charset=utf-8",
    public=table,
    detailed=table,
    served=False,
)

RENDERERS: tuple[Renderer, ...] = (HEALTH_JSON, TABLE)
"""Every output format; the first served one is the HTTP default."""
SERVED: tuple[Renderer, ...] = tuple(r for r in RENDERERS if r.served)
"""The formats the HTTP routes offer."""


def negotiate(accept: str | None) -> Renderer:
    """The served format the ``Accept`` header names first-listed, else the default."""
    if accept:
        wanted = [part.split(";")[0].strip().lower() for part in accept.split(",")]
        for media_type in wanted:
            for renderer in SERVED:
                if renderer.media_type.split(";")[0] == media_type:
                    return renderer
    return SERVED[0]


def by_name(name: str) -> Renderer:
    """The format called ``name``; ``KeyError`` if there is none."""
    for renderer in RENDERERS:
        if renderer.name == name:
            return renderer
    raise KeyError(name)


def text_media_types() -> list[str]:
    """The served formats' media types, plus ``application/json`` (error bodies): what a
    transport must pass as text, not base64."""
    return [*(r.media_type.split(";")[0] for r in SERVED), "application/json"]
