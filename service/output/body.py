"""Render a :class:`~service.engine.report.Report` as ``application/health+json``.

The shape follows the IETF health-check response draft. The public body names each check and
its status only; error text, timings and observations appear only in the detailed body. Only a
healthy body carries the configured marker, near its start (Route 53 ``HTTPS_STR_MATCH`` reads
the first 5,120 bytes).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from checks.result import CheckResult, Status
from service.engine.report import Report

__all__ = ["MEDIA_TYPE", "detailed_body", "public_body", "status_code"]

MEDIA_TYPE = "application/health+json"


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).isoformat(timespec="milliseconds")


def _head(report: Report) -> dict[str, Any]:
    settings = report.settings
    head: dict[str, Any] = {"status": report.verdict.status.value}
    if report.verdict.healthy:
        head["notes"] = [settings.marker]
    head.update(
        version=settings.version,
        releaseId=settings.release_id,
        serviceId=settings.service_id,
    )
    return head


def _public_entry(result: CheckResult) -> dict[str, Any]:
    entry: dict[str, Any] = {"status": result.status.value}
    return entry


def _detailed_entries(result: CheckResult) -> dict[str, list[dict[str, Any]]]:
    main: dict[str, Any] = {
        "status": result.status.value,
        "observedValue": round(result.duration * 1000, 2),
        "observedUnit": "ms",
        "time": _iso(result.time),
        "critical": result.critical,
        "scope": result.scope,
    }
    if result.reason:
        main["reason"] = result.reason
    if result.error:
        main["output"] = result.error
    if len(result.samples) > 1:
        main["samples"] = [int(ok) for ok in result.samples]
    entries = {f"{result.name}:responseTime": [main]}
    for measurement, observation in result.observations.items():
        item: dict[str, Any] = {"status": result.status.value, "observedValue": observation.value}
        if observation.unit:
            item["observedUnit"] = observation.unit
        entries[f"{result.name}:{measurement}"] = [item]
    return entries


def public_body(report: Report) -> bytes:
    """The body anyone may see: names and statuses, the release id, no error text."""
    body = _head(report)
    body["checks"] = {
        f"{r.name}:responseTime": [_public_entry(r)] for r in report.evaluation.results
    }
    body["time"] = _iso(report.evaluation.time)
    return json.dumps(body, separators=(",", ":")).encode()


def detailed_body(report: Report) -> bytes:
    """Everything: errors, durations, observations and the verdict's reasons."""
    body = _head(report)
    checks: dict[str, Any] = {}
    for result in report.evaluation.results:
        checks.update(_detailed_entries(result))
    body["checks"] = checks
    body["output"] = "; ".join(report.verdict.reasons) if report.verdict.reasons else None
    body["evaluation"] = {
        "number": report.evaluation.number,
        "durationMs": round(report.evaluation.duration * 1000, 2),
        "reasons": list(report.verdict.reasons),
    }
    if report.state_duration is not None:
        # durationMs is the checks'; the state store's round trip comes after them.
        state = report.state_duration
        body["evaluation"]["stateMs"] = round(state * 1000, 2)
        body["evaluation"]["totalMs"] = round((report.evaluation.duration + state) * 1000, 2)
    body["time"] = _iso(report.evaluation.time)
    return json.dumps(body, indent=2).encode()


def status_code(report: Report) -> int:
    """200 for pass and warn, 503 for fail."""
    return 503 if report.verdict.status is Status.FAIL else 200
