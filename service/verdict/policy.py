"""The verdict: pure, no I/O. Results and settings in, status and reasons out.

Rules, worst wins (``PASS < WARN < FAIL``):

- a critical, regional check fails → FAIL (failing over can fix it);
- a ``global`` check fails → WARN only (every region shares it: failing over cannot fix it);
- a ``peer`` check fails → no effect (the other region's health informs, never decides);
- a non-critical check fails → WARN, and FAIL at ``max_noncritical_failures`` of them;
- any check warns → WARN;
- the evaluation took longer than ``latency_budget`` → FAIL (too slow to serve is down);
- every failing critical check fails in the peer region too (its ``peer`` check reports them in
  ``failingChecks``) → WARN instead of FAIL: a shared failure, which failing over cannot fix
  (:func:`service.verdict.rules.shared_failure`).

The rules over samples and time (a check's samples, the gray-failure window, the latch) live
in :mod:`service.verdict.rules`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from checks.result import CheckResult, Status
from service.verdict.rules import shared_failure

__all__ = ["PolicySettings", "Verdict", "decide"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicySettings:
    """Inputs to the policy besides the results. Defaults: both off."""

    max_noncritical_failures: int | None = None
    latency_budget: float | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    """The region's status and the reasons for it (public-safe short strings)."""

    status: Status
    reasons: tuple[str, ...] = ()

    @property
    def healthy(self) -> bool:
        return self.status is not Status.FAIL


def decide(results: Sequence[CheckResult], duration: float, settings: PolicySettings) -> Verdict:
    """Aggregate check results into the region's verdict."""
    statuses: list[Status] = []
    reasons: list[str] = []
    noncritical_failures = 0
    for result in results:
        code = result.reason or result.status.value
        if result.status is Status.FAIL:
            if result.scope == "peer":
                reasons.append(f"peer {result.name} failed ({code}): informational")
            elif result.scope == "global":
                statuses.append(Status.WARN)
                reasons.append(
                    f"global dependency {result.name} failed ({code}): failover cannot fix it"
                )
            elif result.critical:
                statuses.append(Status.FAIL)
                reasons.append(f"critical check {result.name} failed ({code})")
            else:
                noncritical_failures += 1
                statuses.append(Status.WARN)
                reasons.append(f"non-critical check {result.name} failed ({code})")
        elif result.status is Status.WARN and result.scope != "peer":
            statuses.append(Status.WARN)
            reasons.append(f"{result.name} degraded ({code})")
    shared = shared_failure(results)
    if shared:
        statuses = [Status.WARN if status is Status.FAIL else status for status in statuses]
        reasons.append(
            f"shared failure: {', '.join(shared)} also failing in the peer region, "
            "failing over would not help"
        )
    limit = settings.max_noncritical_failures
    if limit is not None and noncritical_failures >= limit:
        statuses.append(Status.FAIL)
        reasons.append(f"{noncritical_failures} non-critical checks failed (limit {limit})")
    budget = settings.latency_budget
    if budget is not None and duration > budget:
        statuses.append(Status.FAIL)
        reasons.append(f"evaluation took {duration:.3f}s, over the {budget:.3f}s budget")
    return Verdict(Status.worst(statuses), tuple(reasons))
