"""``deep-health verify --pairs FILE``: is failover armed, as Route 53 sees it now? Read-only.

For every pair it reads the live records of the shared name, their health checks and each
checker's last observation, then prints what DNS answers now, each region's health as Route 53
judges it (the share of checkers healthy against the 18 % rule), and whether failover is
**armed**: every region's record present and carrying a health check, each check aimed at its
region's own host with the path, marker, interval and threshold the pairs file configures, and
the secondary healthy (latency routing: every region healthy). Each fail-open risk is named.

It also reads each region's failover state table (the stack's ``StateTableName`` output, with
DynamoDB in that region): a table that is missing, denies access or has no TTL on ``expires`` is
a warning, never a reason for "not armed" -- the instances fall back to their own state, so the
fleet shares none, but the region is not failed for it.

Exit codes: 0 every pair armed, 1 a pair is not armed, 2 bad input (the pairs file, or Route 53
cannot be read at all).

:func:`assess` is pure (records, checks and observations in, verdict out); :func:`read_live`
does the reading.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from checks.aws_client import error_code
from deploy.facts import HEALTHY_SHARE, MIN_CHECKER_REGIONS, MONITORING_REGION
from deploy.pairs import Pair, PairsError, RegionStack, load_pairs

__all__ = [
    "EXIT_ARMED",
    "EXIT_BAD_INPUT",
    "EXIT_NOT_ARMED",
    "Live",
    "PairVerdict",
    "RegionVerdict",
    "StateTable",
    "add_verify_parser",
    "assess",
    "read_live",
    "read_state_table",
    "run_verify",
    "state_table_line",
    "state_table_problem",
    "verify",
]

EXIT_ARMED = 0
EXIT_NOT_ARMED = 1
EXIT_BAD_INPUT = 2


@dataclass(frozen=True)
class Live:
    """What Route 53 holds for one pair right now.

    Attributes:
        records: the record sets named like the pair's shared name (A and AAAA).
        checks: health check id to its ``HealthCheckConfig`` (absent: no such check).
        observations: health check id to its checkers' last ``StatusReport`` statuses.
    """

    records: tuple[Mapping[str, Any], ...]
    checks: Mapping[str, Mapping[str, Any]]
    observations: Mapping[str, tuple[str, ...]]


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
    """

    pair: str
    role: str
    region: str
    table: str | None
    problem: str | None = None
    means: str = ""

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
        healthy: Route 53's view (``share > 18 %``); ``False`` when unknown.
    """

    role: str
    region: str
    health_check_id: str | None
    share: float | None
    checkers: int
    healthy: bool


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


def _record_of(pair: Pair, stack: RegionStack, live: Live) -> Mapping[str, Any] | None:
    for record in live.records:
        if _name(str(record.get("Name", ""))) != pair.record_name or record.get("Type") != "A":
            continue
        if pair.routing_mode == "failover" and record.get("Failover") == stack.role:
            return record
        if pair.routing_mode == "latency" and record.get("Region") == stack.region:
            return record
    return None


def _deep_check(check_id: str, live: Live) -> tuple[str, Mapping[str, Any]] | None:
    """The HTTPS check behind a record's check (a calculated one's HTTPS child)."""
    config = live.checks.get(check_id)
    if config is None:
        return None
    if config.get("Type") == "CALCULATED":
        for child in config.get("ChildHealthChecks", []):
            found = _deep_check(str(child), live)
            if found is not None and found[1].get("Type", "").startswith("HTTP"):
                return found
        return None
    return check_id, config


def assess(pair: Pair, live: Live) -> PairVerdict:
    """Judge one pair from what Route 53 holds (pure).

    Args:
        pair: the pair, as the pairs file describes it.
        live: the live records, checks and observations.

    Returns:
        The verdict: DNS's answer, each region's health, problems and warnings.
    """
    problems: list[str] = []
    warnings: list[str] = []
    regions: list[RegionVerdict] = []
    for stack in pair.stacks:
        label = f"{stack.role} {stack.region}"
        expected = pair.values(stack)
        record = _record_of(pair, stack, live)
        check_id = str(record["HealthCheckId"]) if record and "HealthCheckId" in record else None
        share: float | None = None
        count = 0
        if record is None:
            problems.append(f"{label}: no record for {pair.record_name}")
        elif check_id is None:
            problems.append(
                f"{label}: its record carries no health check, so Route 53 always counts it healthy"
            )
        else:
            deep = _deep_check(check_id, live)
            if deep is None:
                problems.append(f"{label}: its health check {check_id} does not exist")
            else:
                deep_id, config = deep
                problems += [f"{label}: {p}" for p in _config_problems(pair, config, expected)]
                warnings += [f"{label}: {w}" for w in _config_warnings(config)]
                statuses = live.observations.get(deep_id, ())
                count = len(statuses)
                if count:
                    share = sum(s.startswith("Success") for s in statuses) / count
        healthy = share is not None and share > HEALTHY_SHARE
        regions.append(RegionVerdict(stack.role, stack.region, check_id, share, count, healthy))
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
        for region in regions:
            if not region.healthy and region.health_check_id is not None:
                problems.append(
                    f"{region.role} {region.region} is not healthy to Route 53: no region is"
                    " left to take its traffic"
                )
    for region in regions:
        if region.health_check_id is not None and 0 < region.checkers < MIN_CHECKER_REGIONS:
            warnings.append(
                f"{region.role} {region.region}: only {region.checkers} checker(s) reported"
            )
    return PairVerdict(
        pair.name, pair.record_name, answer, tuple(regions), tuple(problems), tuple(warnings)
    )


def _config_problems(
    pair: Pair, config: Mapping[str, Any], expected: Mapping[str, str]
) -> list[str]:
    found: list[str] = []
    host = _name(str(config.get("FullyQualifiedDomainName", "")))
    if host == pair.record_name:
        found.append("its health check polls the shared name, not the region's own host")
    if config.get("Inverted"):
        found.append("its health check is inverted")
    if config.get("Disabled"):
        found.append("its health check is disabled: Route 53 counts it healthy whatever happens")
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


def read_live(pair: Pair, route53: Any) -> Live:
    """Read the pair's records, their health checks and the checkers' last observations."""
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
        if config.get("Type") != "CALCULATED":
            status = route53.get_health_check_status(HealthCheckId=check_id)
            observations[check_id] = tuple(
                str(o.get("StatusReport", {}).get("Status", ""))
                for o in status["HealthCheckObservations"]
            )
    return Live(tuple(records), checks, observations)


def _error_code(error: Exception) -> str:
    code = error_code(error) if isinstance(getattr(error, "response", None), dict) else ""
    return code or type(error).__name__


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
        status = dynamodb.describe_table(TableName=table)["Table"].get("TableStatus")
        ttl = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    except errors as error:
        return found(table, state_table_problem(_error_code(error)))
    if status != "ACTIVE":
        return found(table, f"is {status}, not ACTIVE")
    if ttl.get("TimeToLiveStatus") != "ENABLED" or ttl.get("AttributeName") != "expires":
        return found(table, "has no TTL on 'expires'", STATE_TTL_MEANS)
    return found(table)


def state_table_line(state: StateTable) -> str:
    """One region's state table for people: fine, or a WARNING naming pair, region and table."""
    where = f"pair {state.pair}, {state.role} {state.region}"
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
        seen = (
            f"{region.share:.0%} of {region.checkers} checkers healthy"
            if region.share is not None
            else "no observations"
        )
        state = "healthy" if region.healthy else "NOT healthy"
        lines.append(
            f"  {region.role:<9} {region.region:<15} {state:<12} {seen}"
            f" (healthy needs > {HEALTHY_SHARE:.0%})"
        )
    lines += [f"  warning: {w}" for w in verdict.warnings]
    lines += [state_table_line(state) for state in verdict.state_tables]
    lines += [f"  NOT ARMED: {p}" for p in verdict.problems]
    lines.append("  failover ARMED" if verdict.armed else "  failover NOT armed")
    return "\n".join(lines)


def verify(
    pairs: Sequence[Pair], route53: Any, clients: Callable[[str, str], Any] | None = None
) -> list[PairVerdict]:
    """Assess every pair against the live Route 53, and read each region's state table.

    Args:
        pairs: the pairs.
        route53: a Route 53 client.
        clients: ``(service, region)`` to a client of that region; ``None`` skips the state
            tables. The tables never change whether a pair is armed.
    """
    verdicts = []
    for pair in pairs:
        verdict = assess(pair, read_live(pair, route53))
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
            verdict = replace(verdict, state_tables=tuple(s for s in states if s is not None))
        verdicts.append(verdict)
    return verdicts


def add_verify_parser(commands: Any) -> None:
    """Add ``verify`` to the ``deep-health`` command's subparsers."""
    parser = commands.add_parser(
        "verify",
        help="read-only: is failover armed for every pair? exit 0 armed, 1 not, 2 bad input",
    )
    parser.add_argument("--pairs", type=Path, required=True, help="the region-pairs TOML file")
    parser.add_argument("--pair", action="append", metavar="NAME", help="only this pair")
    parser.add_argument(
        "--endpoint-url", help="one endpoint for every AWS call (tests: a moto server)"
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

    try:
        verdicts = verify(pairs, route53, clients)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
        print(f"deep-health verify: cannot read Route 53: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print("\n\n".join(render(verdict) for verdict in verdicts))
    return EXIT_ARMED if all(v.armed for v in verdicts) else EXIT_NOT_ARMED
