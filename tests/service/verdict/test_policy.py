"""The policy is pure: a table of results in, a verdict out."""

from __future__ import annotations

import pytest

from checks import CheckResult, Observation, Status
from service.verdict.policy import PolicySettings, decide


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


# --- pinned down by mutation testing (`make mutation`) --------------------------------------


def reasoned(name: str, status: Status, reason: str | None = None, **kw: object) -> CheckResult:
    return CheckResult(name=name, status=status, duration=0.01, reason=reason, **kw)  # type: ignore[arg-type]


REASONS = [
    (
        "critical failure names the check and its code",
        [reasoned("db", F, "timeout")],
        PolicySettings(),
        0.1,
        ("critical check db failed (timeout)",),
    ),
    (
        "a failure without a code says fail",
        [reasoned("db", F)],
        PolicySettings(),
        0.1,
        ("critical check db failed (fail)",),
    ),
    (
        "global failure says failover cannot fix it",
        [reasoned("org", F, "down", scope="global")],
        PolicySettings(),
        0.1,
        ("global dependency org failed (down): failover cannot fix it",),
    ),
    (
        "peer failure is informational",
        [reasoned("peer", F, "peer_unhealthy", scope="peer", critical=False)],
        PolicySettings(),
        0.1,
        ("peer peer failed (peer_unhealthy): informational",),
    ),
    (
        "non-critical failure",
        [reasoned("cache", F, "down", critical=False)],
        PolicySettings(),
        0.1,
        ("non-critical check cache failed (down)",),
    ),
    (
        "degraded",
        [reasoned("db", W, "slow")],
        PolicySettings(),
        0.1,
        ("db degraded (slow)",),
    ),
    (
        "a warning without a code says warn",
        [reasoned("db", W)],
        PolicySettings(),
        0.1,
        ("db degraded (warn)",),
    ),
    (
        "non-critical limit",
        [reasoned("a", F, critical=False), reasoned("b", F, critical=False)],
        PolicySettings(max_noncritical_failures=2),
        0.1,
        (
            "non-critical check a failed (fail)",
            "non-critical check b failed (fail)",
            "2 non-critical checks failed (limit 2)",
        ),
    ),
    (
        "latency budget",
        [],
        PolicySettings(latency_budget=0.25),
        0.5,
        ("evaluation took 0.500s, over the 0.250s budget",),
    ),
    (
        "shared failure",
        [reasoned("b", F), reasoned("a", F), peer_failing("a", "b")],
        PolicySettings(),
        0.1,
        (
            "critical check b failed (fail)",
            "critical check a failed (fail)",
            "peer peer failed (peer_unhealthy): informational",
            "shared failure: a, b also failing in the peer region, failing over would not help",
        ),
    ),
    ("a pass says nothing", [reasoned("db", P)], PolicySettings(), 0.1, ()),
]


@pytest.mark.parametrize(
    ("results", "settings", "duration", "expected"),
    [case[1:] for case in REASONS],
    ids=[case[0] for case in REASONS],
)
def test_reasons_are_exact(
    results: list[CheckResult],
    settings: PolicySettings,
    duration: float,
    expected: tuple[str, ...],
) -> None:
    assert decide(results, duration, settings).reasons == expected


VERDICTS = [
    (
        "one non-critical failure under a limit of two only warns",
        [result("n1", F, critical=False)],
        PolicySettings(max_noncritical_failures=2),
        0.1,
        W,
    ),
    (
        "a limit of one fails on the first non-critical failure",
        [result("n1", F, critical=False)],
        PolicySettings(max_noncritical_failures=1),
        0.1,
        F,
    ),
    (
        "critical failures do not count towards the non-critical limit",
        [result("c1", F), result("n1", F, critical=False), peer_failing("c1")],
        PolicySettings(max_noncritical_failures=2),
        0.1,
        W,
    ),
    (
        "global failures do not count towards the non-critical limit",
        [result("g", F, scope="global", critical=False), result("n1", F, critical=False)],
        PolicySettings(max_noncritical_failures=2),
        0.1,
        W,
    ),
    ("at the budget passes", [result("a", P)], PolicySettings(latency_budget=0.5), 0.5, P),
    (
        "a critical global failure only warns",
        [result("g", F, scope="global")],
        PolicySettings(),
        0.1,
        W,
    ),
    (
        "a critical peer failure is informational",
        [result("p", F, scope="peer", critical=True)],
        PolicySettings(),
        0.1,
        P,
    ),
    (
        "a shared failure keeps a warning a warning",
        [result("db", F), result("w", W), peer_failing("db")],
        PolicySettings(),
        0.1,
        W,
    ),
]


@pytest.mark.parametrize(
    ("results", "settings", "duration", "expected"),
    [case[1:] for case in VERDICTS],
    ids=[case[0] for case in VERDICTS],
)
def test_verdict_edges(
    results: list[CheckResult], settings: PolicySettings, duration: float, expected: Status
) -> None:
    verdict = decide(results, duration, settings)
    assert verdict.status is expected
    assert verdict.healthy is (expected is not F)


def test_policy_settings_default_to_off() -> None:
    assert PolicySettings() == PolicySettings(max_noncritical_failures=None, latency_budget=None)
