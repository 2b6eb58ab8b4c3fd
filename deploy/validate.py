"""Refuse, before any AWS call, the setups that would break failover in a real account.

Each refusal is a :class:`~deploy.pairs.PairsError` whose key names the parameter as it sits
in the pairs file (``pairs[0].primary.parameters.CertificateArn``) and whose message names the
pair and the region. The rules, and why each one breaks failover:

- a production ``RecordName`` aliased to the health API (standalone, a certificate, no
  ``AliasTargetDnsName``) unless the pair says ``health_only_name = true``: every application
  route answers 404;
- a ``CertificateArn`` from another region: API Gateway takes only a certificate of its region;
- fewer than 3 ``CheckerRegions``, or one that is not a Route 53 checker region: Route 53
  refuses the health check;
- an ``execute-api`` alias target in another region or with another zone id than API
  Gateway's for that region: the record points nowhere;
- a standalone ``HealthPath`` other than ``/health``: both regions answer 404;
- provisioned concurrency above the reserved concurrency: Lambda refuses the update;
- an engine config check whose resource parameter is empty (see :mod:`deploy.engine`);
- a stack that creates no failover record (no alias target, no shared domain) unless the pair
  says ``records_elsewhere = true``: only ``verify`` would notice, after the deploy;
- a region whose checked host is the other region's, or an ``execute-api`` host of another
  region: that region's record would follow the other region's health;
- an alias target whose name shows another region (API Gateway, a load balancer, ...);
- a state table that a check reads (``StateTableName`` = ``TableName``): the latch and the
  switches would live in the application's (often global) table;
- a bundled engine config whose marker, service id or namespace differs from the template's
  ``Marker``, ``MetricsServiceId``, ``MetricsNamespace``: every region fails its check;
- ``ReservedConcurrency``, ``HealthRateLimit`` or ``HealthBurstLimit`` below what the checker
  regions and interval send (:func:`capacity_needed`, Route 53's own figures);
- routing controls of two control panels (the pair's safety rule, in the monitoring stack,
  needs one), and AAAA records without an explicit choice of what judges them
  (``AaaaHealthCheck``).

Template rules (``template.yaml``'s ``Rules``) refuse the first and the fifth again at deploy
time, for anyone who deploys the template without this script.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from deploy.capacity import capacity_needed
from deploy.container import aliases_own_alb
from deploy.engine import (
    check_engine_config,
    engine_config,
    function_environment,
    region_environment,
)
from deploy.facts import (
    APIGW_REGIONAL_ZONE_IDS,
    CHECKER_REGIONS,
    MIN_CHECKER_REGIONS,
    STANDALONE_HEALTH_PATH,
    host_region,
)
from deploy.pairs import Pair, PairsError, PairsFile, RegionStack
from deploy.platforms import validate_platforms

__all__ = ["validate"]

_CERTIFICATE = re.compile(r"^arn:aws[a-z-]*:acm:([a-z0-9-]+):\d{12}:certificate/[A-Za-z0-9-]+$")
_EXECUTE_API = re.compile(r"^[a-z0-9-]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com\.?$")


def validate(pairs: PairsFile) -> None:
    """Refuse the first setup that would break failover.

    Args:
        pairs: the validated pairs file (its layout and names are already checked).

    Raises:
        PairsError: naming the key, the pair and the region.
    """
    default = None
    if pairs.config is not None:
        try:
            default = pairs.config.read_text(encoding="utf-8")
        except OSError as error:
            raise PairsError(
                "defaults.config", f"cannot read {pairs.config}: {error.strerror}"
            ) from error
    validate_platforms(pairs, default)  # the ECS path and the alarms' destinations
    for index, pair in enumerate(pairs.pairs):
        try:
            text, source = engine_config(pair, default)
        except PairsError as error:
            raise PairsError(f"pairs[{index}].{error.key}", error.problem) from None
        for side, stack in (("primary", pair.primary), ("secondary", pair.secondary)):
            key = f"pairs[{index}].{side}"
            values = pair.values(stack)
            _stack_rules(pair, stack, values, key)
            _pair_rules(pair, stack, values, key)
            if values.get("Mode") == "standalone":
                check_engine_config(text, source, pair, stack, values, key)
                _config_agrees(text, source, pair, stack, values, key)


def _stack_rules(pair: Pair, stack: RegionStack, values: Mapping[str, str], key: str) -> None:
    where = f"pair {pair.name}, {stack.role} {stack.region}"

    def refuse(parameter: str, problem: str) -> None:
        raise PairsError(f"{key}.parameters.{parameter}", f"{where}: {problem}")

    standalone = values.get("Mode") == "standalone"
    certificate = values.get("CertificateArn", "")
    alias = values.get("AliasTargetDnsName", "")
    if standalone and certificate and not alias and not pair.health_only_name:
        refuse(
            "AliasTargetDnsName",
            f"empty, so the stack would map {pair.record_name} itself to the health API and"
            " every application route would answer 404. Set it to the application's regional"
            f" endpoint for {pair.record_name}, or set health_only_name = true in the pair if"
            " that name serves nothing but health.",
        )
    if certificate:
        match = _CERTIFICATE.match(certificate)
        if match is None:
            refuse("CertificateArn", f"{certificate!r} is not an ACM certificate ARN")
        elif match.group(1) != stack.region:
            refuse(
                "CertificateArn",
                f"the certificate is in {match.group(1)}; API Gateway needs one in"
                f" {stack.region}, the stack's region",
            )
    regions = [r.strip() for r in values.get("CheckerRegions", "").split(",") if r.strip()]
    unknown = [r for r in regions if r not in CHECKER_REGIONS]
    if unknown:
        refuse(
            "CheckerRegions",
            f"{', '.join(unknown)} is not a Route 53 checker region"
            f" (those are {', '.join(sorted(CHECKER_REGIONS))})",
        )
    if len(set(regions)) < MIN_CHECKER_REGIONS:
        refuse(
            "CheckerRegions",
            f"{len(set(regions))} region(s); Route 53 needs at least {MIN_CHECKER_REGIONS}",
        )
    target = _EXECUTE_API.match(alias)
    if target is not None:
        if target.group(1) != stack.region:
            refuse(
                "AliasTargetDnsName",
                f"{alias} is an API Gateway endpoint in {target.group(1)}, not {stack.region}",
            )
        expected = APIGW_REGIONAL_ZONE_IDS.get(stack.region)
        zone = values.get("AliasTargetHostedZoneId", "")
        if expected is not None and zone != expected:
            refuse(
                "AliasTargetHostedZoneId",
                f"{zone or 'empty'}; API Gateway's regional zone id in {stack.region} is"
                f" {expected}",
            )
    path = values.get("HealthPath", STANDALONE_HEALTH_PATH)
    if standalone and path != STANDALONE_HEALTH_PATH:
        refuse(
            "HealthPath",
            f"{path!r}: the standalone function serves {STANDALONE_HEALTH_PATH} only, so both"
            " regions would answer 404 (and Route 53 would fail open)",
        )
    reserved = int(values["ReservedConcurrency"])
    provisioned = int(values["ProvisionedConcurrency"])
    if standalone and reserved and provisioned > reserved:
        refuse(
            "ProvisionedConcurrency",
            f"{provisioned} exceeds ReservedConcurrency {reserved}: Lambda refuses it",
        )
    for host_parameter in ("RegionalDomainName", "EmbeddedHealthHost"):
        if values.get(host_parameter) == pair.record_name:
            refuse(host_parameter, "must be this region's own host, never the shared name")
    peer = values.get("PeerHealthUrl", "")
    if peer and pair.record_name in peer.split("/")[2:3]:
        refuse("PeerHealthUrl", "must be the other region's own host, never the shared name")


_ROUTING_CONTROL = re.compile(
    r"^arn:aws[a-z-]*:route53-recovery-control::\d{12}:controlpanel/([A-Za-z0-9]+)/routingcontrol/"
)
_AAAA_SAME = "same-as-a"


def _pair_rules(pair: Pair, stack: RegionStack, values: Mapping[str, str], key: str) -> None:
    """Rules that look at the pair as a whole: records, hosts, state, capacity, controls."""
    where = f"pair {pair.name}, {stack.role} {stack.region}"
    other = pair.other(stack)

    def refuse(parameter: str, problem: str) -> None:
        raise PairsError(f"{key}.parameters.{parameter}", f"{where}: {problem}")

    standalone = values.get("Mode") == "standalone"
    alias = values.get("AliasTargetDnsName", "")
    shared_domain = standalone and bool(values.get("CertificateArn")) and pair.health_only_name
    if (
        not alias
        and not shared_domain
        and not pair.records_elsewhere
        and not aliases_own_alb(pair, stack)
    ):
        refuse(
            "AliasTargetDnsName",
            f"empty, so the stack creates no record for {pair.record_name} and nothing fails"
            " over (only `deep-health verify` would notice, after the deploy). Set it to the"
            " application's regional endpoint, or records_elsewhere = true in the pair if the"
            " records are managed elsewhere.",
        )
    found = host_region(alias) if alias else None
    if found is not None and found[1] is not None and found[1] != stack.region:
        refuse(
            "AliasTargetDnsName",
            f"{alias} is {found[0]} in {found[1]}, not {stack.region}: this region's record"
            " would send its traffic to the other region",
        )

    host = pair.checked_host(stack)
    host_parameter = "EmbeddedHealthHost" if not standalone else "RegionalDomainName"
    if host is not None:
        if host == pair.checked_host(other):
            refuse(
                host_parameter,
                f"{host} is also the {other.role}'s ({other.region}) checked host: this"
                " region's record would follow the other region's health. Each region checks"
                " its own regional host.",
            )
        shown = host_region(host)
        if shown is not None and shown[1] is not None and shown[1] != stack.region:
            refuse(
                host_parameter,
                f"{host} is {shown[0]} in {shown[1]}, not {stack.region}: this region's record"
                " would follow that region's health",
            )

    application = values.get("ApplicationHealthUrl", "")
    if application:
        app_host = application.split("/")[2]
        shown = host_region(app_host)
        if app_host == pair.record_name:
            refuse(
                "ApplicationHealthUrl",
                "names the shared name, which answers from whichever region DNS picks: use this"
                " region's own host of the application",
            )
        if shown is not None and shown[1] is not None and shown[1] != stack.region:
            refuse(
                "ApplicationHealthUrl",
                f"{app_host} is {shown[0]} in {shown[1]}, not {stack.region}: the probe would"
                " judge the other region's application",
            )
        if application == pair.values(other).get("ApplicationHealthUrl"):
            refuse(
                "ApplicationHealthUrl",
                f"is also the {other.role}'s: each region probes its own application",
            )

    state_table = values.get("StateTableName", "")
    if standalone and state_table and state_table == values.get("TableName"):
        refuse(
            "StateTableName",
            f"{state_table} is the table the dynamodb_read check reads (TableName). The state"
            " table holds this region's latch and switches and must be used by nothing else"
            " (and never be a global table): leave StateTableName empty and the stack creates"
            " one.",
        )

    aaaa = values.get("AaaaHealthCheck", "")
    if values.get("DualStack") == "true":
        if not aaaa:
            refuse(
                "AaaaHealthCheck",
                "empty with DualStack = true: the AAAA records would carry a health check Route"
                " 53 runs over IPv4 only. Set AaaaHealthCheck = same-as-a (AAAA follows the IPv4"
                " check, knowingly), or a stable IPv6 address of this region's endpoint (a"
                " second check over IPv6), or DualStack = false.",
            )
        if aaaa != _AAAA_SAME:
            try:
                ipaddress.IPv6Address(aaaa)
            except ValueError:
                refuse("AaaaHealthCheck", f"{aaaa!r} is neither {_AAAA_SAME} nor an IPv6 address")

    if standalone:
        _capacity_rules(values, refuse, aaaa)
    _safety_rule(pair, stack, refuse)


def _capacity_rules(values: Mapping[str, str], refuse: Any, aaaa: str) -> None:
    regions = {r.strip() for r in values.get("CheckerRegions", "").split(",") if r.strip()}
    checks = 2 if values.get("DualStack") == "true" and aaaa not in ("", _AAAA_SAME) else 1
    needed = capacity_needed(len(regions), int(values["HealthCheckInterval"]), checks)
    for parameter, least, off in (
        ("ReservedConcurrency", needed.concurrency, 0),
        ("HealthRateLimit", needed.rate, None),
        ("HealthBurstLimit", needed.burst, None),
    ):
        value = int(values[parameter])
        if value != off and value < least:
            refuse(
                parameter,
                f"{value} is below what Route 53's checkers need ({least}): {needed.arithmetic}."
                f" Set {parameter} to at least {least}.",
            )


def _safety_rule(pair: Pair, stack: RegionStack, refuse: Any) -> None:
    """Routing controls in both regions: the monitoring stack's safety rule needs one panel."""
    controls = pair.routing_controls
    if controls is None or stack is not pair.primary:
        return
    panels = {m.group(1) for m in map(_ROUTING_CONTROL.match, controls) if m is not None}
    if len(panels) != 1:
        refuse(
            "RoutingControlArn",
            "the two regions' routing controls are not in one ARC control panel, so the"
            " pair's safety rule (at least one routing control ON, in the monitoring stack)"
            " cannot cover both: without it, switching both OFF makes both records unhealthy"
            " and Route 53 fails open. Put both in one panel, or set arc_safety_rule = false in"
            " the pair if the panels have rules of their own.",
        )


def _config_agrees(
    text: str, source: str, pair: Pair, stack: RegionStack, values: Mapping[str, str], key: str
) -> None:
    """The bundled config says what the template's health check and alarms expect."""
    from checks.dynamodb_read import DynamoDBRead
    from service.config import parse_config

    where = f"pair {pair.name}, {stack.role} {stack.region}"
    with region_environment(stack.region):
        config = parse_config(
            text, environ=function_environment(values, stack.region), source=source
        )
    settings = config.settings
    for parameter, configured, what in (
        ("Marker", settings.marker, "the health check's search string"),
        ("MetricsServiceId", settings.service_id, "the in-region alarms' service"),
        ("MetricsNamespace", settings.emf_namespace, "the in-region alarms' namespace"),
    ):
        if values[parameter] != configured:
            raise PairsError(
                f"{key}.parameters.{parameter}",
                f"{where}: {values[parameter]!r} ({what}), but the engine config ({source})"
                f" says {configured!r}: the service would answer with {configured!r}, so"
                f" Route 53 (or the alarm) would never see {values[parameter]!r}. Make the two"
                " equal (or reference ${DEEP_HEALTH_MARKER} in the config).",
            )
    state = config.state.table if config.state.store == "dynamodb" else None
    for check in config.checks:
        if state and isinstance(check, DynamoDBRead) and check.table == state:
            raise PairsError(
                f"{key}.parameters.StateTableName",
                f"{where}: {state} is the table check {check.check_name!r} reads; the state"
                " table must be used by nothing else (and never be a global table)",
            )
