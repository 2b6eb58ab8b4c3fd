"""The JSON schema of the ``application/health+json`` bodies :mod:`service.output.body` renders.

Strict (no undeclared field), so the public body cannot grow a field unnoticed; a healthy body
must carry the marker while a failing one must not. Read by the OpenAPI document through the
renderer (:data:`service.output.renderers.HEALTH_JSON`).
"""

from __future__ import annotations

__all__ = ["health_body_schema"]

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
        "stateMs": {"type": "number", "minimum": 0},
        "totalMs": {"type": "number", "minimum": 0},
        "reasons": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["number", "durationMs", "reasons"],
    "additionalProperties": False,
}


def health_body_schema(*, healthy: bool, detailed: bool) -> dict[str, object]:
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
