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
- an engine config check whose resource parameter is empty (see :mod:`deploy.engine`).

Template rules (``template.yaml``'s ``Rules``) refuse the first and the fifth again at deploy
time, for anyone who deploys the template without this script.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from deploy.engine import check_engine_config, engine_config
from deploy.facts import (
    APIGW_REGIONAL_ZONE_IDS,
    CHECKER_REGIONS,
    MIN_CHECKER_REGIONS,
    STANDALONE_HEALTH_PATH,
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
            if values.get("Mode") == "standalone":
                check_engine_config(text, source, pair, stack, values, key)


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
