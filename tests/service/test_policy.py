"""The policy is pure: a table of results in, a verdict out."""

from __future__ import annotations

import pytest

from checks import CheckResult, Observation, Status
from service.policy import PolicySettings, decide


def result(
    name: str,
    status: Status,
    *,
    critical: bool = True,
    scope: str = "regional",
) -> CheckResult:
    return CheckResult(
        name=name,
        status=status,
        duration=0.01,
        critical=critical,
        scope=scope,  # type: ignore[arg-type]
    )


P, W, F = Status.PASS, Status.WARN, Status.FAIL

CASES = [
    ("no checks", [], PolicySettings(), 0.1, P),
    ("all pass", [result("a", P), result("b", P)], PolicySettings(), 0.1, P),
    ("critical regional fails", [result("a", F), result("b", P)], PolicySettings(), 0.1, F),
    ("a warning warns", [result("a", W), result("b", P)], PolicySettings(), 0.1, W),
    ("global failure only warns", [result("g", F, scope="global")], PolicySettings(), 0.1, W),
    ("peer failure is informational", [result("p", F, scope="peer")], PolicySettings(), 0.1, P),
    ("peer warning is informational", [result("p", W, scope="peer")], PolicySettings(), 0.1, P),
    ("non-critical failure warns", [result("n", F, critical=False)], PolicySettings(), 0.1, W),
    (
        "non-critical failures below the limit warn",
        [result("n1", F, critical=False), result("n2", P, critical=False)],
        PolicySettings(max_noncritical_failures=2),
        0.1,
        W,
    ),
    (
        "non-critical failures at the limit fail",
        [result("n1", F, critical=False), result("n2", F, critical=False)],
        PolicySettings(max_noncritical_failures=2),
        0.1,
        F,
    ),
    ("slower than the budget fails", [result("a", P)], PolicySettings(latency_budget=0.5), 0.6, F),
    ("within the budget passes", [result("a", P)], PolicySettings(latency_budget=0.5), 0.4, P),
    (
        "worst wins: fail beats warn",
        [result("a", W), result("b", F), result("g", F, scope="global")],
        PolicySettings(),
        0.1,
        F,
    ),
]


@pytest.mark.parametrize(
    ("results", "settings", "duration", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_verdict(
    results: list[CheckResult], settings: PolicySettings, duration: float, expected: Status
) -> None:
    assert decide(results, duration, settings).status is expected


def peer_failing(*names: str) -> CheckResult:
    return CheckResult(
        name="peer",
        status=Status.FAIL,
        duration=0.01,
        critical=False,
        scope="peer",
        reason="peer_unhealthy",
        observations={"failingChecks": Observation(",".join(names))},
    )


SHARED = [
    ("same checks fail in the peer: warn", [result("db", F), peer_failing("db", "q")], W),
    ("a check fails only here: fail", [result("db", F), result("q", F), peer_failing("db")], F),
    ("peer fails otherwise: fail", [result("db", F), peer_failing("other")], F),
    ("peer unreachable, no list: fail", [result("db", F), result("peer", F, scope="peer")], F),
]


@pytest.mark.parametrize(
    ("results", "expected"), [c[1:] for c in SHARED], ids=[c[0] for c in SHARED]
)
def test_shared_failure_does_not_fail_over(results: list[CheckResult], expected: Status) -> None:
    verdict = decide(results, 0.1, PolicySettings())
    assert verdict.status is expected
    if expected is W:
        assert any("failing over would not help" in r for r in verdict.reasons)


def test_shared_failure_keeps_the_latency_budget() -> None:
    verdict = decide([result("db", F), peer_failing("db")], 0.9, PolicySettings(latency_budget=0.5))
    assert verdict.status is F


def test_reasons_name_the_check_and_say_why_global_only_warns() -> None:
    verdict = decide(
        [result("accounts", F), result("org-api", F, scope="global")], 0.1, PolicySettings()
    )
    assert any("accounts" in r for r in verdict.reasons)
    assert any("org-api" in r and "failover cannot fix" in r for r in verdict.reasons)


def test_status_severity_order() -> None:
    assert Status.worst([P, W]) is W
    assert Status.worst([W, F, P]) is F
    assert Status.worst([]) is P
