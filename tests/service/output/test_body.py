"""The health+json bodies: what the public body shows and hides, and where the marker sits."""

from __future__ import annotations

import json

import pytest

from checks.result import CheckResult, Observation, Status
from service.config import Settings
from service.engine.report import Report
from service.output.body import MEDIA_TYPE, detailed_body, public_body, status_code
from service.running.runner import Evaluation
from service.verdict.policy import Verdict

P, W, F = Status.PASS, Status.WARN, Status.FAIL
MARKER = "REGION-IS-FINE"
ROUTE53_WINDOW = 5120  # bytes HTTPS_STR_MATCH reads


def report(
    status: Status, *results: CheckResult, reasons: tuple[str, ...] = (), **settings: object
) -> Report:
    evaluation = Evaluation(number=7, results=tuple(results), duration=0.0123456, time=1.5)
    return Report(
        evaluation=evaluation,
        verdict=Verdict(status, reasons),
        settings=Settings(marker=MARKER, release_id="r-42", version="3", **settings),  # type: ignore[arg-type]
    )


def check(name: str, status: Status = P, **kw: object) -> CheckResult:
    return CheckResult(name=name, status=status, duration=0.04212345, time=0.0, **kw)  # type: ignore[arg-type]


def test_media_type() -> None:
    assert MEDIA_TYPE == "application/health+json"


@pytest.mark.parametrize(("status", "code"), [(P, 200), (W, 200), (F, 503)])
def test_status_code_fails_over_only_on_fail(status: Status, code: int) -> None:
    assert status_code(report(status)) == code


def test_public_body_is_exactly_names_statuses_and_the_release() -> None:
    body = public_body(report(W, check("db"), check("queue", W, reason="slow", error="secret")))
    assert json.loads(body) == {
        "status": "warn",
        "notes": [MARKER],
        "version": "3",
        "releaseId": "r-42",
        "serviceId": "deep-health",
        "checks": {
            "db:responseTime": [{"status": "pass"}],
            "queue:responseTime": [{"status": "warn"}],
        },
        "time": "1970-01-01T00:00:01.500+00:00",
    }


@pytest.mark.parametrize(("status", "carries"), [(P, True), (W, True), (F, False)])
def test_only_a_healthy_body_carries_the_marker(status: Status, carries: bool) -> None:
    for body in (public_body(report(status)), detailed_body(report(status))):
        assert (MARKER.encode() in body) is carries


def test_the_marker_comes_first_in_a_large_body() -> None:
    # Hundreds of checks with long names push the body far past what Route 53 reads: the
    # marker must still be in the first 5,120 bytes, right after the status.
    results = [check(f"dependency-with-a-long-name-{i:04d}") for i in range(300)]
    body = public_body(report(P, *results))
    assert len(body) > 4 * ROUTE53_WINDOW
    assert body.startswith(b'{"status":"pass","notes":["' + MARKER.encode() + b'"]')
    detailed = detailed_body(report(P, *results))
    assert MARKER.encode() in detailed[:ROUTE53_WINDOW]


def test_public_body_hides_errors_reasons_timings_and_observations() -> None:
    result = check(
        "db",
        F,
        reason="timeout",
        error="arn:aws:dynamodb:eu-west-1:123456789012:table/x hung",
        observations={"lag": Observation(12.5, "s")},
        samples=(False, True, False),
    )
    body = public_body(report(F, result, reasons=("critical check db failed (timeout)",)))
    for hidden in (b"arn:aws", b"timeout", b"12.5", b"lag", b"observedValue", b"42.1", b"samples"):
        assert hidden not in body
    assert json.loads(body)["checks"] == {"db:responseTime": [{"status": "fail"}]}


def test_detailed_body_shows_everything() -> None:
    result = check(
        "db",
        F,
        reason="timeout",
        error="hung",
        critical=False,
        scope="global",
        observations={"lag": Observation(12.5, "s"), "count": Observation(3)},
        samples=(False, True, False),
    )
    reasons = ("non-critical check db failed (timeout)", "second reason")
    body = json.loads(detailed_body(report(W, result, reasons=reasons)))
    assert body["checks"] == {
        "db:responseTime": [
            {
                "status": "fail",
                "observedValue": 42.12,
                "observedUnit": "ms",
                "time": "1970-01-01T00:00:00.000+00:00",
                "critical": False,
                "scope": "global",
                "reason": "timeout",
                "output": "hung",
                "samples": [0, 1, 0],
            }
        ],
        "db:lag": [{"status": "fail", "observedValue": 12.5, "observedUnit": "s"}],
        "db:count": [{"status": "fail", "observedValue": 3}],
    }
    assert body["output"] == "non-critical check db failed (timeout); second reason"
    assert body["evaluation"] == {"number": 7, "durationMs": 12.35, "reasons": list(reasons)}
    assert body["time"] == "1970-01-01T00:00:01.500+00:00"
    assert (body["status"], body["notes"], body["releaseId"]) == ("warn", [MARKER], "r-42")


def test_two_samples_are_shown() -> None:
    body = json.loads(detailed_body(report(W, check("db", samples=(True, False)))))
    assert body["checks"]["db:responseTime"][0]["samples"] == [1, 0]


def test_detailed_entry_of_a_plain_pass_has_no_reason_output_or_samples() -> None:
    body = json.loads(detailed_body(report(P, check("db", samples=(True,)))))
    assert set(body["checks"]["db:responseTime"][0]) == {
        "status",
        "observedValue",
        "observedUnit",
        "time",
        "critical",
        "scope",
    }
    assert body["output"] is None
    assert body["evaluation"]["reasons"] == []


def test_bodies_are_compact_in_public_and_indented_in_details() -> None:
    assert b" " not in public_body(report(P, check("db")))
    assert detailed_body(report(P)).startswith(b'{\n  "status": "pass"')
