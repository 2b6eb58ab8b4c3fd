"""Judge a record's health check as Route 53 does: the check the record carries, not one behind it.

With an operator control the records carry a **calculated** check (the deep check AND a routing
control or standby alarm). Route 53 follows the calculated check's status, which is healthy
only while at least ``HealthThreshold`` of its children are; ``GetHealthCheckStatus`` cannot read
a calculated check, so its status is worked out here from each child's checkers. A routing
control that is OFF (or a standby alarm in ALARM) makes the record unhealthy although the deep
check is fine; both regions' controls OFF makes both unhealthy, and Route 53 fails open.

:func:`judge_check` is pure: the live checks and observations in, the judgement out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from deploy.facts import HEALTHY_SHARE

__all__ = ["Judged", "LiveChecks", "judge_check"]


class LiveChecks(Protocol):
    """What :func:`judge_check` reads (``deploy.verify.Live`` provides it)."""

    @property
    def checks(self) -> Mapping[str, Mapping[str, Any]]:
        """Health check id to its ``HealthCheckConfig``."""
        ...

    @property
    def observations(self) -> Mapping[str, tuple[str, ...]]:
        """Health check id to its checkers' last ``StatusReport`` statuses."""
        ...

    @property
    def controls(self) -> Mapping[str, bool]:
        """Routing control ARN to its state as ARC's cluster reports it (``True``: ON)."""
        ...


@dataclass(frozen=True)
class Judged:
    """One health check (and its children) as Route 53 judges it.

    Attributes:
        healthy: Route 53's view; ``None`` when it cannot be read (a routing control whose
            state is unreadable decides the result).
        share: share of checkers healthy (endpoint checks only), else ``None``.
        checkers: how many checkers reported (endpoint checks only).
        lines: the check and its children, one line each, for people.
        problems: why the check cannot be trusted to fail the region over.
        warnings: risks that do not disarm failover by themselves.
        deep: the ``HealthCheckConfig`` of every HTTP(S) check found (the deep checks).
    """

    healthy: bool | None
    share: float | None = None
    checkers: int = 0
    lines: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    deep: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)


def _state(healthy: bool | None, on: str, off: str) -> str:
    return "unreadable" if healthy is None else on if healthy else off


def _observed(check_id: str, live: LiveChecks) -> tuple[bool | None, float | None, int]:
    statuses = live.observations.get(check_id, ())
    if not statuses:
        return None, None, 0
    share = sum(s.startswith("Success") for s in statuses) / len(statuses)
    return share > HEALTHY_SHARE, share, len(statuses)


def judge_check(check_id: str, live: LiveChecks, *, indent: str = "") -> Judged:
    """Route 53's view of one health check, a calculated one from its children.

    Args:
        check_id: the health check's id.
        live: the live checks and their checkers' observations.
        indent: prefix of this check's line (children are indented further).

    Returns:
        The judgement: healthy or not (or unknown), why, and the deep checks found.
    """
    config = live.checks.get(check_id)
    if config is None:
        return Judged(
            False,
            lines=(f"{indent}{check_id}: does not exist",),
            problems=(f"its health check {check_id} does not exist",),
        )
    kind = str(config.get("Type", ""))
    if kind == "CALCULATED":
        judged = _calculated(check_id, config, live, indent)
    elif kind == "RECOVERY_CONTROL":
        healthy, share, count = _observed(check_id, live)
        arn = str(config.get("RoutingControlArn", "?"))
        if healthy is None and arn in live.controls:
            healthy = live.controls[arn]  # read from ARC's cluster
        warnings = () if healthy is not None else (f"routing control {arn}: state unreadable",)
        judged = Judged(
            healthy, share, count,
            (f"{indent}routing control {arn} ({check_id}): {_state(healthy, 'ON', 'OFF')}",),
            warnings=warnings,
        )  # fmt: skip
    elif kind == "CLOUDWATCH_METRIC":
        healthy, share, count = _observed(check_id, live)
        alarm = config.get("AlarmIdentifier") or {}
        name = f"{alarm.get('Name', '?')} in {alarm.get('Region', '?')}"
        warnings = () if healthy is not None else (f"standby alarm {name}: state unreadable",)
        judged = Judged(
            healthy, share, count,
            (f"{indent}standby alarm {name} ({check_id}): {_state(healthy, 'OK', 'ALARM')}",),
            warnings=warnings,
        )  # fmt: skip
    else:
        healthy, share, count = _observed(check_id, live)
        seen = "no observations" if share is None else f"{share:.0%} of {count} checkers healthy"
        host = config.get("FullyQualifiedDomainName") or config.get("IPAddress")
        judged = Judged(
            bool(healthy), share, count,
            (f"{indent}{kind} {host} ({check_id}): {seen}",),
            deep=(config,),
        )  # fmt: skip
    return _switches(judged, config)


def _switches(judged: Judged, config: Mapping[str, Any]) -> Judged:
    """``Disabled`` (always healthy to Route 53) and ``Inverted`` (healthy when down)."""
    healthy, problems = judged.healthy, list(judged.problems)
    if config.get("Inverted"):
        healthy = None if healthy is None else not healthy
        problems.append("its health check is inverted")
    if config.get("Disabled"):
        healthy = True
        problems.append("its health check is disabled: Route 53 counts it healthy whatever happens")
    if healthy is judged.healthy and problems == list(judged.problems):
        return judged
    return Judged(
        healthy, judged.share, judged.checkers, judged.lines, tuple(problems), judged.warnings,
        judged.deep,
    )  # fmt: skip


def _calculated(check_id: str, config: Mapping[str, Any], live: LiveChecks, indent: str) -> Judged:
    children = [
        judge_check(str(child), live, indent=indent + "  ")
        for child in config.get("ChildHealthChecks") or []
    ]
    threshold = int(config.get("HealthThreshold") or len(children))
    up = sum(child.healthy is True for child in children)
    unknown = sum(child.healthy is None for child in children)
    healthy: bool | None = up >= threshold
    if not healthy and up + unknown >= threshold:
        healthy = None  # the unreadable children decide
    line = (
        f"{indent}calculated ({check_id}): {up} of {len(children)} children healthy, needs"
        f" {threshold}: {_state(healthy, 'healthy', 'NOT healthy')}"
    )
    problems = [p for child in children for p in child.problems]
    deep = tuple(c for child in children for c in child.deep)
    if not deep:
        problems.append(
            f"its calculated health check {check_id} has no HTTP(S) child: nothing deep is judged"
        )
    if threshold > len(children):
        problems.append(
            f"its calculated health check {check_id} needs {threshold} healthy children of"
            f" {len(children)}: never healthy"
        )
    return Judged(
        healthy,
        lines=(line, *(line for child in children for line in child.lines)),
        problems=tuple(problems),
        warnings=tuple(w for child in children for w in child.warnings),
        deep=deep,
    )
