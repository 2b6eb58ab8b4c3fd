"""What the health routes really answer, for the OpenAPI document.

The standalone app does not serve the document (``openapi_url=None``): ``app.openapi()`` builds
it for embedders, whose own docs then show the health routes, and for the schema tests, which
hold every answer to it. Each served format (:data:`service.output.renderers.SERVED`) documents its
own media type and schema; the health+json schema (:mod:`service.output.body_schema`) is strict.
"""

from __future__ import annotations

from fastapi.security import HTTPBearer

from service.output.body import MEDIA_TYPE
from service.output.renderers import SERVED

__all__ = [
    "DETAILS_BEARER",
    "DETAILS_RESPONSES",
    "HEALTH_RESPONSES",
    "LIVEZ_RESPONSES",
    "METRICS_RESPONSES",
]


def _content(*, healthy: bool, detailed: bool) -> dict[str, object]:
    """Every served format's media type and schema (see :mod:`service.output.renderers`)."""
    return {r.media_type: {"schema": r.schema(healthy=healthy, detailed=detailed)} for r in SERVED}


_NO_STORE_HEADER = {
    "Cache-Control": {"required": True, "schema": {"type": "string", "const": "no-store"}}
}
HEALTH_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "description": "This region can serve (pass or warn): the public body, with the marker.",
        "content": _content(healthy=True, detailed=False),
        "headers": _NO_STORE_HEADER,
    },
    503: {
        "description": "This region should fail over: the public body, without the marker.",
        "content": _content(healthy=False, detailed=False),
        "headers": _NO_STORE_HEADER,
    },
}
DETAILS_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "description": "Pass or warn: everything, with error text, durations and reasons.",
        "content": _content(healthy=True, detailed=True),
        "headers": _NO_STORE_HEADER,
    },
    401: {
        "description": "No valid ``Authorization: Bearer <details_token>``.",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {"error": {"const": "unauthorized"}},
                    "required": ["error"],
                    "additionalProperties": False,
                }
            }
        },
        "headers": {
            **_NO_STORE_HEADER,
            "WWW-Authenticate": {"required": True, "schema": {"type": "string", "const": "Bearer"}},
        },
    },
    503: {
        "description": "Fail: everything, with error text, durations and reasons.",
        "content": _content(healthy=False, detailed=True),
        "headers": _NO_STORE_HEADER,
    },
}
LIVEZ_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "description": "The process answers.",
        "content": {
            MEDIA_TYPE: {
                "schema": {
                    "type": "object",
                    "properties": {"status": {"const": "pass"}},
                    "required": ["status"],
                    "additionalProperties": False,
                }
            }
        },
        "headers": _NO_STORE_HEADER,
    }
}
METRICS_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "description": "Prometheus text exposition.",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    }
}
# Documents the Bearer scheme of ``/health/details``; ``auto_error=False``: it never answers by
# itself, ``_authorized`` decides.
DETAILS_BEARER = HTTPBearer(
    scheme_name="detailsToken",
    description="``Authorization: Bearer <details_token>``",
    auto_error=False,
)
