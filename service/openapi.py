"""What the health routes really answer, for the OpenAPI document.

The standalone app does not serve the document (``openapi_url=None``): ``app.openapi()`` builds
it for embedders, whose own docs then show the health routes, and for the schema tests, which
hold every answer to it. The bodies are strict (no undeclared field), so the public body cannot
grow a field unnoticed, and a healthy body must carry the marker while a failing one must not.
"""

from __future__ import annotations

from fastapi.security import HTTPBearer

from service.body import MEDIA_TYPE

__all__ = [
    "DETAILS_BEARER",
    "DETAILS_RESPONSES",
    "HEALTH_RESPONSES",
    "LIVEZ_RESPONSES",
    "METRICS_RESPONSES",
]

_STATUS = {"type": "string", "enum": ["pass", "warn", "fail"]}
_HEAD_PROPERTIES: dict[str, object] = {
    "notes": {"type": "array", "items": {"type": "string"}, "description": "The marker."},
    "version": {"type": "string"},
    "releaseId": {"type": "string"},
    "serviceId": {"type": "string"},
    "time": {"type": "string", "format": "date-time"},
}
_HEAD_REQUIRED = ["status", "version", "releaseId", "serviceId", "checks", "time"]
_PUBLIC_CHECKS = {
    "type": "object",
    "additionalProperties": {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {"status": _STATUS},
            "required": ["status"],
            "additionalProperties": False,
        },
    },
}
_DETAILED_CHECKS = {
    "type": "object",
    "additionalProperties": {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "status": _STATUS,
                "observedValue": {},
                "observedUnit": {"type": "string"},
                "time": {"type": "string", "format": "date-time"},
                "critical": {"type": "boolean"},
                "scope": {"type": "string", "enum": ["regional", "global", "peer"]},
                "reason": {"type": "string"},
                "output": {"type": "string"},
                "samples": {"type": "array", "items": {"type": "integer", "enum": [0, 1]}},
            },
            "required": ["status", "observedValue"],
            "additionalProperties": False,
        },
    },
}
_EVALUATION = {
    "type": "object",
    "properties": {
        "number": {"type": "integer", "minimum": 1},
        "durationMs": {"type": "number", "minimum": 0},
        "reasons": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["number", "durationMs", "reasons"],
    "additionalProperties": False,
}


def _health_body(*, healthy: bool, detailed: bool) -> dict[str, object]:
    """A healthy body (pass or warn) carries the marker in ``notes``; a failing one never does."""
    properties: dict[str, object] = {
        **_HEAD_PROPERTIES,
        "status": {"type": "string", "enum": ["pass", "warn"] if healthy else ["fail"]},
        "checks": _DETAILED_CHECKS if detailed else _PUBLIC_CHECKS,
    }
    if detailed:
        properties["output"] = {"type": ["string", "null"]}
        properties["evaluation"] = _EVALUATION
    schema: dict[str, object] = {
        "type": "object",
        "properties": properties,
        "required": [*_HEAD_REQUIRED, "notes"] if healthy else _HEAD_REQUIRED,
        "additionalProperties": False,
    }
    if not healthy:
        schema["not"] = {"required": ["notes"]}
    return schema


_NO_STORE_HEADER = {
    "Cache-Control": {"required": True, "schema": {"type": "string", "const": "no-store"}}
}
HEALTH_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "description": "This region can serve (pass or warn): the public body, with the marker.",
        "content": {MEDIA_TYPE: {"schema": _health_body(healthy=True, detailed=False)}},
        "headers": _NO_STORE_HEADER,
    },
    503: {
        "description": "This region should fail over: the public body, without the marker.",
        "content": {MEDIA_TYPE: {"schema": _health_body(healthy=False, detailed=False)}},
        "headers": _NO_STORE_HEADER,
    },
}
DETAILS_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "description": "Pass or warn: everything, with error text, durations and reasons.",
        "content": {MEDIA_TYPE: {"schema": _health_body(healthy=True, detailed=True)}},
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
        "content": {MEDIA_TYPE: {"schema": _health_body(healthy=False, detailed=True)}},
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
