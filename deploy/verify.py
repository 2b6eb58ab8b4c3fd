"""``deep-health verify --pairs FILE``: is failover armed, as Route 53 sees it now? Read-only.

For every pair it reads the live records of the shared name, their health checks and each
checker's last observation, then prints what DNS answers now, each region's health as Route 53
judges it (the share of checkers healthy against the 18 % rule), and whether failover is
**armed**: every region's record present and carrying a health check, each check aimed at its
region's own host (not the other region's) with the path, marker, interval and threshold the
pairs file configures, the record aimed at its own region, AAAA records carrying evidence of
their own (or knowingly the IPv4 check's), and the secondary healthy (latency routing: every
region healthy). A record's check is judged as Route 53 follows it: a calculated one (operator
control) by its children, each routing control's state where readable (:mod:`deploy.judge`).
Each fail-open risk is named.

It also reads what each region's deployed function will really use for the fleet's failover
state (:mod:`deploy.deployed`: its environment and the engine config its package bundles): a
function whose containers each keep their own state is **not armed**, naming why (a warning
when the pair chose ``StateStore = "memory"``).

It also reads each region's failover state table (the stack's ``StateTableName`` output, with
DynamoDB in that region): a replicated (global) table, or the table a check reads, is a reason
for "not armed" (one region's latch and switches would be the other's); a table that is
missing, denies access or has no TTL on ``expires`` is a warning -- the instances fall back to
their own state, so the fleet shares none, but the region is not failed for it. And it reads
the pair's monitoring stack (us-east-1): alarms watching another check than the records carry
are a warning.

Exit codes: 0 every pair armed, 1 a pair is not armed, 2 bad input (the pairs file, an
argument), 3 could not check (Route 53 cannot be read at all: no credentials, access denied, no
connection), 130 interrupted.

:func:`assess` is pure (records, checks and observations in, verdict out); :func:`read_live`
does the reading.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from checks.aws_client import error_code
from deploy.facts import HEALTHY_SHARE, MIN_CHECKER_REGIONS, MONITORING_REGION, host_region
from deploy.judge import Judged, judge_check
from deploy.pairs import Pair, PairsError, RegionStack, load_pairs

__all__ = [
    "EXIT_ARMED",
    "EXIT_BAD_INPUT",
    "EXIT_NOT_ARMED",
    "EXIT_UNCHECKED",
    "Live",
    "PairVerdict",
    "RegionVerdict",
    "StateTable",
    "add_verify_parser",
    "assess",
    "judge_state_table",
    "monitoring_warnings",
    "read_live",
    "read_monitoring",
    "read_state_table",
    "run_verify",
    "state_table_line",
    "state_table_problem",
    "verify",
]

EXIT_ARMED = 0
EXIT_NOT_ARMED = 1
EXIT_BAD_INPUT = 2
EXIT_UNCHECKED = 3
"""Route 53 could not be read (credentials, access, network): nothing is known either way."""


@dataclass(frozen=True)
class Live:
    """What Route 53 holds for one pair right now.

    Attributes:
        records: the record sets named like the pair's shared name (A and AAAA).
        checks: health check id to its ``HealthCheckConfig`` (absent: no such check).
        observations: health check id to its checkers' last ``StatusReport`` statuses.
        controls: routing control ARN to its state as ARC's cluster reports it (``True``: ON),
            for the controls that were read (``--arc-endpoint``).
    """

    records: tuple[Mapping[str, Any], ...]
    checks: Mapping[str, Mapping[str, Any]]
    observations: Mapping[str, tuple[str, ...]]
    controls: Mapping[str, bool] = field(default_factory=dict)


@dataclass(frozen=True)
class StateTable:
    """One region's failover state table (the fleet's shared store), as DynamoDB shows it.

    Attributes:
        pair: the pair's name.
        role: ``PRIMARY`` or ``SECONDARY``.
        region: the region whose table it is (read in that region).
        table: the table's name, or ``None`` when the stack could not be read.
        problem: what is wrong (``None``: ACTIVE with TTL on ``expires``).
        means: what the problem means for the fleet (empty when fine).
        disarms: the problem breaks failover itself (a replicated table shares one region's
            latch and switches with the other), so the pair is not armed.
    """

    pair: str
    role: str
    region: str
    table: str | None
    problem: str | None = None
    means: str = ""
    disarms: bool = False

    @property
    def fine(self) -> bool:
        """ACTIVE with TTL on ``expires``."""
        return self.problem is None


#: What a missing or unusable state table means (the store alone never fails a region:
#: service/state falls back to each instance's own memory and logs an error).
STATE_TABLE_MEANS = (
    "the fleet shares no failover state: each instance judges alone;"
    " the region is not failed for it"
)
#: What a state table without TTL means: it works, but nothing expires old window buckets.
STATE_TTL_MEANS = (
    "old window buckets never expire and the table grows; the region is not failed for it"
)
#: What a replicated (global) state table means: the regions share one verdict's state.
STATE_REPLICATED_MEANS = (
    "its items (the latch, the drain and hold switches, the window) replicate to the other"
    " region, so one region's failure or drain fails the other too; use a regional table"
    " (leave StateTableName empty: the stack creates one)"
)
#: The stack could not be read, so its table was not checked.
STATE_UNCHECKED_MEANS = "its state table was not checked"


@dataclass(frozen=True)
class RegionVerdict:
    """One region of a pair as Route 53 sees it.

    Attributes:
        role: ``PRIMARY`` or ``SECONDARY``.
        region: the region.
        health_check_id: the check its record carries, or ``None``.
        share: share of checkers healthy, or ``None`` when unknown.
        checkers: how many checkers reported.
        healthy: Route 53's view (``share > 18 %``; a calculated check by its children);
            ``False`` when unknown.
        known: Route 53's view could be read (an operator control's state may not be).
        detail: the check the record carries and its children, one line each.
    """

    role: str
    region: str
    health_check_id: str | None
    share: float | None
    checkers: int
    healthy: bool
    known: bool = True
    detail: tuple[str, ...] = ()


@dataclass(frozen=True)
class PairVerdict:
    """Whether one pair's failover is armed.

    Attributes:
        pair: the pair's name.
        record_name: its shared name.
        answer: what DNS answers now, in words.
        regions: the two regions, primary first.
        problems: why failover is not armed (empty: armed).
        warnings: fail-open risks that do not disarm it by themselves.
        state_tables: each region's failover state table as read (see :class:`StateTable`).
    """

    pair: str
    record_name: str
    answer: str
    regions: tuple[RegionVerdict, ...]
    problems: tuple[str, ...] = field(default_factory=tuple)
    warnings: tuple[str, ...] = field(default_factory=tuple)
    state_tables: tuple[StateTable, ...] = field(default_factory=tuple)

    @property
    def armed(self) -> bool:
        """No problem found."""
        return not self.problems


def _name(value: str) -> str:
    return value.rstrip(".").lower()


def _record_of(
    pair: Pair, stack: RegionStack, live: Live, kind: str = "A"
) -> Mapping[str, Any] | None:
    for record in live.records:
        if _name(str(record.get("Name", ""))) != pair.record_name or record.get("Type") != kind:
            continue
        if pair.routing_mode == "failover" and record.get("Failover") == stack.role:
            return record
        if pair.routing_mode == "latency" and record.get("Region") == stack.region:
            return record
    return None


@dataclass(frozen=True)
class _Seen:
    """One region's A record and the check it carries, as judged."""

    stack: RegionStack
    record: Mapping[str, Any] | None
    check_id: str | None
    judged: Judged | None


def assess(pair: Pair, live: Live) -> PairVerdict:
    """Judge one pair from what Route 53 holds (pure).

    Each region is judged by the check its record carries, as Route 53 follows it: a
    calculated check (operator control) by its children, each routing control's state where
    its checkers report it (see :mod:`deploy.judge`).

    Args:
        pair: the pair, as the pairs file describes it.
        live: the live records, checks and observations.

    Returns:
        The verdict: DNS's answer, each region's health, problems and warnings.
    """
    problems: list[str] = []
    warnings: list[str] = []
    regions: list[RegionVerdict] = []
    seen: list[_Seen] = []
    for stack in pair.stacks:
        record = _record_of(pair, stack, live)
        check_id = str(record["HealthCheckId"]) if record and "HealthCheckId" in record else None
        judged = judge_check(check_id, live, indent="    ") if check_id else None
        seen.append(_Seen(stack, record, check_id, judged))
    for region in seen:
        stack, judged = region.stack, region.judged
        label = f"{stack.role} {stack.region}"
        found, cautions = _region_problems(pair, region, seen, live)
        problems += [f"{label}: {p}" for p in found]
        warnings += [f"{label}: {w}" for w in cautions]
        regions.append(
            RegionVerdict(
                stack.role,
                stack.region,
                region.check_id,
                judged.share if judged else None,
                judged.checkers if judged else 0,
                bool(judged and judged.healthy),
                known=judged is not None and judged.healthy is not None,
                detail=judged.lines if judged else (),
            )
        )
    primary, secondary = regions
    if pair.routing_mode == "failover":
        if primary.healthy:
            answer = f"PRIMARY {primary.region}"
        elif secondary.healthy:
            answer = f"SECONDARY {secondary.region} (failed over)"
        else:
            answer = f"PRIMARY {primary.region} although unhealthy (both unhealthy: fails open)"
        if not secondary.healthy and secondary.health_check_id is not None:
            problems.append(
                f"SECONDARY {secondary.region} is not healthy to Route 53: failover is disarmed"
                if secondary.known
                else f"SECONDARY {secondary.region}: Route 53's view of it cannot be read"
                " (an operator control's state): failover cannot be confirmed armed"
            )
        if not primary.healthy and primary.health_check_id is not None:
            warnings.append(f"PRIMARY {primary.region} is not healthy to Route 53")
    else:
        up = [r for r in regions if r.healthy]
        answer = (
            "nearest of " + ", ".join(r.region for r in up)
            if up
            else "any region (all unhealthy: fails open)"
        )
        for region_verdict in regions:
            if not region_verdict.healthy and region_verdict.health_check_id is not None:
                problems.append(
                    f"{region_verdict.role} {region_verdict.region} is not healthy to Route 53:"
                    " no region is left to take its traffic"
                )
    for region_verdict in regions:
        count = region_verdict.checkers
        if region_verdict.health_check_id is not None and 0 < count < MIN_CHECKER_REGIONS:
            warnings.append(
                f"{region_verdict.role} {region_verdict.region}: only {count} checker(s) reported"
            )
    return PairVerdict(
        pair.name, pair.record_name, answer, tuple(regions), tuple(problems), tuple(warnings)
    )


def _region_problems(
    pair: Pair, region: _Seen, seen: list[_Seen], live: Live
) -> tuple[list[str], list[str]]:
    """What is wrong with one region's record and checks: problems, then warnings."""
    stack, judged = region.stack, region.judged
    if region.record is None:
        return [f"no record for {pair.record_name}"], []
    if judged is None:
        return ["its record carries no health check, so Route 53 always counts it healthy"], []
    problems = list(judged.problems)
    warnings = list(judged.warnings)
    expected = pair.values(stack)
    for config in judged.deep:
        problems += _config_problems(pair, config, expected)
        warnings += _config_warnings(config)
    problems += _host_problems(pair, region, seen)
    target = str((region.record.get("AliasTarget") or {}).get("DNSName", ""))
    shown = host_region(target) if target else None
    if shown is not None and shown[1] is not None and shown[1] != stack.region:
        problems.append(
            f"its record points at {_name(target)}, {shown[0]} in {shown[1]}: this region's"
            " traffic goes to another region"
        )
    elif shown is not None and shown[1] is None:
        warnings.append(
            f"its record points at {shown[0]} ({_name(target)}), a global service: the region"
            " behind it cannot be read from the name; the health check must cover the origin"
            " this region serves"
        )
    aaaa_problems, aaaa_warnings = _aaaa(pair, region, live)
    return problems + aaaa_problems, warnings + aaaa_warnings


def _hosts(judged: Judged) -> set[str]:
    found = {_name(str(c.get("FullyQualifiedDomainName", ""))) for c in judged.deep}
    return found - {""}


def _host_problems(pair: Pair, region: _Seen, seen: list[_Seen]) -> list[str]:
    """Each region's deep check polls its own regional host: not the peer's, nor another's."""
    stack, judged = region.stack, region.judged
    if judged is None:
        return []
    problems: list[str] = []
    expected = pair.checked_host(stack)
    for host in sorted(_hosts(judged) - {pair.record_name}):
        if expected is not None and host != expected.lower():
            problems.append(
                f"its health check polls {host}, but the pairs file names {expected} as this"
                " region's host"
            )
        shown = host_region(host)
        if shown is not None and shown[1] is not None and shown[1] != stack.region:
            problems.append(
                f"its health check polls {host}, {shown[0]} in {shown[1]}: the record follows"
                " another region's health"
            )
        for other in seen:
            if other is not region and other.judged is not None and host in _hosts(other.judged):
                problems.append(
                    f"its health check polls {host}, the {other.stack.role}'s host too: the"
                    " record follows the other region's health"
                )
    return problems


def _over_ipv6(judged: Judged) -> bool:
    # Only an explicit IPv6 IPAddress makes Route 53 check over IPv6; a name resolves to IPv4.
    return any(":" in str(config.get("IPAddress") or "") for config in judged.deep)


def _aaaa(pair: Pair, region: _Seen, live: Live) -> tuple[list[str], list[str]]:
    """The AAAA record: its own evidence over IPv6, or knowingly the IPv4 check's."""
    record = _record_of(pair, region.stack, live, "AAAA")
    if record is None:
        return [], []
    if "HealthCheckId" not in record:
        return ["its AAAA record carries no health check: Route 53 always counts it healthy"], []
    check_id = str(record["HealthCheckId"])
    judged = judge_check(check_id, live)
    problems = [f"AAAA: {p}" for p in judged.problems]
    if check_id == region.check_id:
        if _over_ipv6(judged):
            return problems, []
        return problems, [
            "its AAAA record carries the A record's check, which Route 53 runs over IPv4 only:"
            " the IPv6 path is not checked (AaaaHealthCheck = same-as-a)"
        ]
    if not _over_ipv6(judged):
        problems.append(
            f"its AAAA record's health check {check_id} has no IPv6 IPAddress: Route 53 runs it"
            " over IPv4"
        )
    if judged.healthy is False and region.stack.role == "SECONDARY":
        problems.append("its AAAA record's check is not healthy: IPv6 clients cannot fail over")
    return problems, []


def _config_problems(
    pair: Pair, config: Mapping[str, Any], expected: Mapping[str, str]
) -> list[str]:
    found: list[str] = []
    host = _name(str(config.get("FullyQualifiedDomainName", "")))
    if host == pair.record_name:
        found.append("its health check polls the shared name, not the region's own host")
    comparisons = (
        ("ResourcePath", "HealthPath", "path"),
        ("SearchString", "Marker", "marker"),
        ("RequestInterval", "HealthCheckInterval", "interval"),
        ("FailureThreshold", "FailureThreshold", "failure threshold"),
    )
    for live_key, parameter, what in comparisons:
        have, want = str(config.get(live_key, "")), str(expected.get(parameter, ""))
        if have != want:
            found.append(f"its health check's {what} is {have or 'unset'!r}, expected {want!r}")
    return found


def _config_warnings(config: Mapping[str, Any]) -> list[str]:
    found: list[str] = []
    if config.get("Type") != "HTTPS_STR_MATCH":
        found.append(
            f"its health check is {config.get('Type')}, not HTTPS_STR_MATCH: a 200 without the"
            " marker counts as healthy"
        )
    regions = config.get("Regions") or []
    if regions and len(regions) < MIN_CHECKER_REGIONS:
        found.append(f"only {len(regions)} checker regions")
    return found


def read_live(pair: Pair, route53: Any, arc: Any = None) -> Live:
    """Read the pair's records, their health checks and the checkers' last observations.

    Args:
        pair: the pair.
        route53: a Route 53 client.
        arc: a ``route53-recovery-cluster`` client of one of ARC's cluster endpoints, to read
            each routing control's state (``None``: only what Route 53's checkers report).
    """
    import botocore.exceptions

    records: list[Mapping[str, Any]] = []
    paginator = route53.get_paginator("list_resource_record_sets")
    for page in paginator.paginate(
        HostedZoneId=pair.hosted_zone_id, StartRecordName=pair.record_name
    ):
        matching = [r for r in page["ResourceRecordSets"] if _name(r["Name"]) == pair.record_name]
        records += matching
        if not matching and records:
            break
    checks: dict[str, Mapping[str, Any]] = {}
    observations: dict[str, tuple[str, ...]] = {}
    pending = [str(r["HealthCheckId"]) for r in records if "HealthCheckId" in r]
    while pending:
        check_id = pending.pop()
        if check_id in checks:
            continue
        try:
            config = route53.get_health_check(HealthCheckId=check_id)["HealthCheck"][
                "HealthCheckConfig"
            ]
        except route53.exceptions.NoSuchHealthCheck:
            continue
        checks[check_id] = config
        pending += [str(child) for child in config.get("ChildHealthChecks", [])]
        kind = config.get("Type")
        if kind == "CALCULATED":
            continue  # GetHealthCheckStatus cannot read a calculated check: judged by children
        try:
            status = route53.get_health_check_status(HealthCheckId=check_id)
        except botocore.exceptions.ClientError:
            if kind not in _OPERATOR_TYPES:
                raise
            continue  # an operator control's state unread: judged "unknown", never healthy
        observations[check_id] = tuple(
            str(o.get("StatusReport", {}).get("Status", ""))
            for o in status["HealthCheckObservations"]
        )
    controls: dict[str, bool] = {}
    for config in checks.values():
        arn = str(config.get("RoutingControlArn", ""))
        if arc is not None and config.get("Type") == "RECOVERY_CONTROL" and arn:
            try:
                state = arc.get_routing_control_state(RoutingControlArn=arn)
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
                continue
            controls[arn] = state.get("RoutingControlState") == "On"
    return Live(tuple(records), checks, observations, controls)


_OPERATOR_TYPES = ("RECOVERY_CONTROL", "CLOUDWATCH_METRIC")


def _error_code(error: Exception) -> str:
    return error_code(error) or type(error).__name__


def state_table_problem(code: str) -> str:
    """What a DynamoDB error code on ``DescribeTable``/``DescribeTimeToLive`` says of the table."""
    if code == "ResourceNotFoundException":
        return "does not exist"
    if "AccessDenied" in code or code == "UnrecognizedClientException":
        return f"denies access ({code})"
    return f"cannot be read ({code})"


def read_state_table(
    pair: Pair, stack: RegionStack, cloudformation: Any, dynamodb: Any
) -> StateTable | None:
    """Read one region's failover state table; ``None`` when its stack uses no shared store.

    Args:
        pair: the pair.
        stack: the region's stack.
        cloudformation: a CloudFormation client of ``stack.region``.
        dynamodb: a DynamoDB client of ``stack.region`` (never another region's).

    Returns:
        The table as read, with what is wrong with it, if anything.
    """
    values = pair.values(stack)
    if values.get("Mode", "standalone") != "standalone" or values.get("StateStore") == "memory":
        return None  # template.yaml's UsesStateStore is false: no table to read
    import botocore.exceptions

    errors = (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)

    def found(
        table: str | None, problem: str | None = None, means: str = STATE_TABLE_MEANS
    ) -> StateTable:
        return StateTable(
            pair.name, stack.role, stack.region, table, problem, means if problem else ""
        )

    try:
        described = cloudformation.describe_stacks(StackName=stack.stack_name)["Stacks"][0]
    except errors as error:
        problem = f"cannot read stack {stack.stack_name} ({_error_code(error)})"
        return found(None, problem, STATE_UNCHECKED_MEANS)
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    table = outputs.get("StateTableName")
    if not table:
        return None  # the stack uses no shared store (a memory store, or not standalone)
    try:
        described_table = dynamodb.describe_table(TableName=table)["Table"]
        ttl = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    except errors as error:
        return found(table, state_table_problem(_error_code(error)))
    return judge_state_table(pair, stack, described_table, ttl)


def judge_state_table(
    pair: Pair, stack: RegionStack, table: Mapping[str, Any], ttl: Mapping[str, Any]
) -> StateTable:
    """One region's state table from ``DescribeTable`` and ``DescribeTimeToLive`` (pure).

    A table with ``Replicas`` (a global table) or that a check reads disarms failover; one
    that is not ACTIVE or has no TTL on ``expires`` is a warning.
    """
    name = str(table.get("TableName", ""))

    def found(problem: str | None = None, means: str = STATE_TABLE_MEANS) -> StateTable:
        disarms = means == STATE_REPLICATED_MEANS
        return StateTable(
            pair.name, stack.role, stack.region, name, problem, means if problem else "", disarms
        )

    replicas = sorted(
        str(r.get("RegionName")) for r in table.get("Replicas") or [] if r.get("RegionName")
    )
    others = [region for region in replicas if region != stack.region]
    if others:
        return found(f"is a global table (replicas in {', '.join(others)})", STATE_REPLICATED_MEANS)
    if name and name == pair.values(stack).get("TableName"):
        return found("is the table the dynamodb_read check reads", STATE_REPLICATED_MEANS)
    status = table.get("TableStatus")
    if status != "ACTIVE":
        return found(f"is {status}, not ACTIVE")
    if ttl.get("TimeToLiveStatus") != "ENABLED" or ttl.get("AttributeName") != "expires":
        return found("has no TTL on 'expires'", STATE_TTL_MEANS)
    return found()


def state_table_line(state: StateTable) -> str:
    """One region's state table for people: fine, or a WARNING naming pair, region and table."""
    where = f"pair {state.pair}, {state.role} {state.region}"
    if state.disarms:
        return f"  NOT ARMED: {where}: state table {state.table} {state.problem}: {state.means}"
    if state.fine:
        return f"  state table of {where}: {state.table} ACTIVE, TTL on 'expires'"
    table = f"state table {state.table} " if state.table else ""
    return f"  WARNING: {where}: {table}{state.problem}: {state.means} (does not change armed)"


def render(verdict: PairVerdict) -> str:
    """The verdict for people, one pair."""
    lines = [
        f"{verdict.pair}: {verdict.record_name} -> {verdict.answer}",
    ]
    for region in verdict.regions:
        if region.share is not None:
            seen = f"{region.share:.0%} of {region.checkers} checkers healthy"
        else:
            seen = "by the checks below" if len(region.detail) > 1 else "no observations"
        state = "healthy" if region.healthy else "NOT healthy" if region.known else "unknown"
        lines.append(
            f"  {region.role:<9} {region.region:<15} {state:<12} {seen}"
            f" (healthy needs > {HEALTHY_SHARE:.0%})"
        )
        lines += list(region.detail) if len(region.detail) > 1 else []
    lines += [f"  warning: {w}" for w in verdict.warnings]
    lines += [state_table_line(s) for s in verdict.state_tables if not s.disarms]
    lines += [f"  NOT ARMED: {p}" for p in verdict.problems]
    lines.append("  failover ARMED" if verdict.armed else "  failover NOT armed")
    return "\n".join(lines)


def verify(
    pairs: Sequence[Pair],
    route53: Any,
    clients: Callable[[str, str], Any] | None = None,
    arc: Any = None,
) -> list[PairVerdict]:
    """Assess every pair against the live Route 53, and read each region's state table.

    Args:
        pairs: the pairs.
        route53: a Route 53 client.
        clients: ``(service, region)`` to a client of that region; ``None`` skips the state
            tables and the monitoring stack.
        arc: a ``route53-recovery-cluster`` client (see :func:`read_live`), or ``None``.
    """
    verdicts = []
    for pair in pairs:
        verdict = assess(pair, read_live(pair, route53, arc))
        if clients is not None:
            states = (
                read_state_table(
                    pair,
                    stack,
                    clients("cloudformation", stack.region),
                    clients("dynamodb", stack.region),
                )
                for stack in pair.stacks
            )
            tables = tuple(s for s in states if s is not None)
            disarming = tuple(
                state_table_line(s).strip().removeprefix("NOT ARMED: ") for s in tables if s.disarms
            )
            verdict = replace(verdict, state_tables=tables, problems=verdict.problems + disarming)
            verdict = _with_shared_state(verdict, pair, clients)
            watched = read_monitoring(pair, clients("cloudformation", MONITORING_REGION))
            if watched is not None:
                verdict = replace(
                    verdict, warnings=verdict.warnings + monitoring_warnings(verdict, watched)
                )
        verdicts.append(verdict)
    return verdicts


def _with_shared_state(
    verdict: PairVerdict, pair: Pair, clients: Callable[[str, str], Any]
) -> PairVerdict:
    """Add whether each region's deployed function shares the fleet's state (see
    :mod:`deploy.deployed`): not shared is a problem, unreadable or opted out a warning."""
    from deploy.deployed import read_shared_state

    found = [
        read_shared_state(pair, stack, functools.partial(_in_region, clients, stack.region))
        for stack in pair.stacks
    ]
    return replace(
        verdict,
        problems=verdict.problems + tuple(f.problem for f in found if f.problem),
        warnings=verdict.warnings + tuple(f.warning for f in found if f.warning),
    )


def _in_region(clients: Callable[[str, str], Any], region: str, service: str) -> Any:
    return clients(service, region)


def read_monitoring(pair: Pair, cloudformation: Any) -> Mapping[str, str] | None:
    """The parameters of the pair's monitoring stack; ``None`` when it cannot be read."""
    import botocore.exceptions

    from deploy.plan import monitoring_stack_name

    try:
        stack = cloudformation.describe_stacks(StackName=monitoring_stack_name(pair))["Stacks"][0]
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
        return None
    return {p["ParameterKey"]: p["ParameterValue"] for p in stack.get("Parameters", [])}


def monitoring_warnings(verdict: PairVerdict, parameters: Mapping[str, str]) -> tuple[str, ...]:
    """The monitoring stack's alarms watch the checks the records carry (pure).

    Args:
        verdict: the pair's verdict (each region's record check).
        parameters: the monitoring stack's parameters.
    """
    found = []
    keys = ("PrimaryHealthCheckId", "SecondaryHealthCheckId")
    for region, key in zip(verdict.regions, keys, strict=True):
        watched = parameters.get(key)
        if region.health_check_id and watched and watched != region.health_check_id:
            found.append(
                f"{region.role} {region.region}: the monitoring stack's alarm watches health"
                f" check {watched}, but the record carries {region.health_check_id}: the alarm"
                " does not follow what DNS follows (redeploy the pair to update it)"
            )
    return tuple(found)


def add_verify_parser(commands: Any) -> None:
    """Add ``verify`` to the ``deep-health`` command's subparsers."""
    parser = commands.add_parser(
        "verify",
        help="read-only: is failover armed for every pair? exit 0 armed, 1 not, 2 bad input, "
        "3 could not check",
        description="Read-only: read each pair's live records, health checks and checker "
        "observations and say whether failover is armed. Exit 0 every pair armed, 1 a pair "
        "is not, 2 bad input, 3 could not check (Route 53 unreadable), 130 interrupted.",
    )
    parser.add_argument("--pairs", type=Path, required=True, help="the region-pairs TOML file")
    parser.add_argument("--pair", action="append", metavar="NAME", help="only this pair")
    from service.cli.common import http_url

    parser.add_argument(
        "--endpoint-url",
        type=http_url,
        help="one endpoint for every AWS call (tests: a moto server)",
    )
    parser.add_argument(
        "--arc-endpoint",
        metavar="URL",
        help="an ARC cluster endpoint: read each routing control's state there (read-only)",
    )
    parser.add_argument(
        "--arc-region", metavar="REGION", help="the region of --arc-endpoint (default us-west-2)"
    )


def run_verify(args: argparse.Namespace) -> int:
    """Run ``deep-health verify``; returns the exit code."""
    try:
        pairs = load_pairs(args.pairs).pairs
    except PairsError as error:
        print(f"deep-health verify: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.pair:
        unknown = sorted(set(args.pair) - {p.name for p in pairs})
        if unknown:
            print(f"deep-health verify: --pair: no pair named {unknown[0]!r}", file=sys.stderr)
            return EXIT_BAD_INPUT
        pairs = tuple(p for p in pairs if p.name in args.pair)
    import boto3
    import botocore.exceptions

    route53 = boto3.client("route53", region_name=MONITORING_REGION, endpoint_url=args.endpoint_url)

    def clients(service: str, region: str) -> Any:
        # The region's own endpoint: a state table is read where its fleet uses it.
        return boto3.client(service, region_name=region, endpoint_url=args.endpoint_url)

    arc = None
    if args.arc_endpoint:
        arc = boto3.client(
            "route53-recovery-cluster",
            region_name=args.arc_region or "us-west-2",
            endpoint_url=args.arc_endpoint,
        )
    try:
        verdicts = verify(pairs, route53, clients, arc)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
        print(
            f"deep-health verify: could not check, Route 53 cannot be read: {error}",
            file=sys.stderr,
        )
        return EXIT_UNCHECKED
    print("\n\n".join(render(verdict) for verdict in verdicts))
    return EXIT_ARMED if all(v.armed for v in verdicts) else EXIT_NOT_ARMED
