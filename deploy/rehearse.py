"""Rehearse a deployment against a local CloudFormation emulator (moto's server).

For every pair: one hosted zone per zone, then each region's stack, created from the template
transformed offline by ``aws-sam-translator``, then the pair's monitoring stack in us-east-1
(``deploy/monitoring.yaml``, given the two stacks' ``HealthCheckId`` outputs); then the Route 53
record sets and health checks are read back. Nothing leaves the machine.

moto's CloudFormation lacks some resource types the templates use (the API Gateway v2 domain
and API, the Lambda alias, CloudWatch alarms). :func:`for_emulator` drops them and puts
labelled stand-in values where other resources refer to them, so the Route 53 wiring (health
check on this region's host, record with its health check, failover role and set identifier)
is created by a real template engine with the template's real conditions.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import re
import socket
import subprocess
import sys
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3

from deploy.alarms import (
    ALARMS_TEMPLATE,
    DASHBOARD_TEMPLATE,
    alarms_stack_name,
    alarms_values,
    dashboard_stack_name,
    dashboard_values,
    has_alarms_stack,
)
from deploy.container import ECS_TEMPLATE, ecs_engine_config, ecs_overrides
from deploy.engine import engine_config
from deploy.facts import MONITORING_REGION
from deploy.pairs import Pair, PairsFile, RegionStack
from deploy.plan import (
    CONFIG_IN_PACKAGE,
    MONITORED_OUTPUT,
    MONITORING_TEMPLATE,
    monitoring_argv,
    monitoring_stack_name,
    overrides,
)
from deploy.template import Template, load_template, transform

__all__ = [
    "EMULATED_TYPES",
    "Rehearsal",
    "StackResult",
    "for_emulator",
    "moto_server",
    "rehearse",
]

EMULATED_TYPES = frozenset(
    {
        "AWS::DynamoDB::Table",
        "AWS::IAM::Role",
        "AWS::Lambda::Function",
        "AWS::Lambda::Version",
        "AWS::Logs::LogGroup",
        "AWS::Route53::HealthCheck",
        "AWS::Route53::RecordSet",
        "AWS::SNS::Topic",
    }
)
"""Resource types the rehearsal creates in moto; the others get stand-ins."""

ECS_EMULATED_TYPES = EMULATED_TYPES | frozenset(
    {
        "AWS::CloudWatch::Dashboard",
        "AWS::EC2::SecurityGroup",
        "AWS::ECS::Cluster",
        "AWS::ECS::Service",
        "AWS::ECS::TaskDefinition",
        "AWS::ElasticLoadBalancingV2::Listener",
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        "AWS::ElasticLoadBalancingV2::TargetGroup",
    }
)
"""On the ECS path (``deploy/ecs.yaml``) and for the dashboard, moto creates these too."""

_MOTO_LACKS: dict[tuple[str, str], Callable[[str], Any]] = {
    # What CloudFormation derives from the ARN, derived from the ARN (moto does not).
    ("AWS::ElasticLoadBalancingV2::LoadBalancer", "LoadBalancerFullName"): lambda name: {
        "Fn::Select": [1, {"Fn::Split": ["loadbalancer/", {"Ref": name}]}]
    },
    ("AWS::ElasticLoadBalancingV2::TargetGroup", "TargetGroupFullName"): lambda name: {
        "Fn::Select": [5, {"Fn::Split": [":", {"Ref": name}]}]
    },
    # ELB's own zone id per region; a labelled stand-in here.
    ("AWS::ElasticLoadBalancingV2::LoadBalancer", "CanonicalHostedZoneID"): lambda name: (
        "ZREHEARSALELB"
    ),
}
"""Attributes of resources moto creates but does not implement, and what stands for them."""

NETWORK_PARAMETERS = ("VpcId", "AlbSubnetIds", "TaskSubnetIds")
"""An ECS region's network, replaced in the rehearsal by a VPC and subnets created in moto."""

REHEARSAL_CODE_BUCKET = "aws-sam-cli-managed-default-samclisourcebucket-r"
"""The prefix of the rehearsal's code bucket per region (SAM's managed bucket's name form)."""

_CREDENTIALS = {"aws_access_key_id": "rehearsal", "aws_secret_access_key": "rehearsal"}
_SUB_REFERENCE = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.([A-Za-z0-9.]+))?\}")


@dataclass(frozen=True)
class StackResult:
    """One created stack.

    Attributes:
        pair: the pair's name.
        region: the stack's region.
        role: ``PRIMARY`` or ``SECONDARY``.
        stack_name: the stack's name.
        status: the final stack status.
        outputs: the stack's outputs.
        stand_ins: logical ids of resources replaced by stand-ins.
    """

    pair: str
    region: str
    role: str
    stack_name: str
    status: str
    outputs: Mapping[str, str]
    stand_ins: tuple[str, ...]


@dataclass
class Rehearsal:
    """What the rehearsal created and read back.

    Attributes:
        zones: hosted zone id in the pairs file to the emulator's zone id.
        stacks: the created stacks.
        monitoring: each pair's monitoring stack.
        alarms: each region's alarms stack (``deploy/alarms.yaml``).
        dashboards: each pair's dashboard stack (``deploy/dashboard.yaml``).
        record_sets: every record set of every rehearsed zone, as Route 53 returns them.
        health_checks: health check id to its ``HealthCheckConfig``.
    """

    zones: dict[str, str] = field(default_factory=dict)
    stacks: list[StackResult] = field(default_factory=list)
    monitoring: list[StackResult] = field(default_factory=list)
    alarms: list[StackResult] = field(default_factory=list)
    dashboards: list[StackResult] = field(default_factory=list)
    record_sets: list[dict[str, Any]] = field(default_factory=list)
    health_checks: dict[str, dict[str, Any]] = field(default_factory=dict)


def rehearse(
    pairs: PairsFile,
    *,
    endpoint_url: str,
    release_id: str,
    template: Template | None = None,
    log: Callable[[str], None] = print,
) -> Rehearsal:
    """Create every pair's stacks in the emulator and read the Route 53 wiring back.

    Args:
        pairs: the validated pairs file.
        endpoint_url: the moto server, e.g. ``http://127.0.0.1:5000``.
        release_id: ``ReleaseId`` for every stack.
        template: the parsed SAM template (default: ``pairs.template``).
        log: where progress lines go.

    Returns:
        What was created and read back.

    Raises:
        RuntimeError: a stack did not reach ``CREATE_COMPLETE``.
    """
    sam = template if template is not None else load_template(pairs.template)
    result = Rehearsal()
    route53 = _client("route53", endpoint_url, "us-east-1")
    default = pairs.config.read_text(encoding="utf-8") if pairs.config is not None else None
    for pair in pairs.pairs:
        if pair.hosted_zone_id not in result.zones:
            zone = route53.create_hosted_zone(
                Name=pair.zone_name, CallerReference=f"rehearsal-{pair.hosted_zone_id}"
            )
            result.zones[pair.hosted_zone_id] = zone["HostedZone"]["Id"].rsplit("/", 1)[-1]
            emulated = result.zones[pair.hosted_zone_id]
            log(f"zone {pair.zone_name} ({pair.hosted_zone_id}) -> {emulated}")
        bundled, _ = engine_config(pair, default)
        created = []
        for stack in pair.stacks:
            zone = result.zones[pair.hosted_zone_id]
            one = (
                _create_ecs_stack(pair, stack, zone, endpoint_url, release_id, log, default)
                if stack.platform == "ecs"
                else _create_stack(sam, pair, stack, zone, endpoint_url, release_id, log, bundled)
            )
            created.append(one)
            if has_alarms_stack(pair, stack):
                result.alarms.append(_create_alarms(pair, stack, one, endpoint_url, log))
        result.stacks.extend(created)
        result.monitoring.append(_create_monitoring(pair, created, endpoint_url, log))
        result.dashboards.append(_create_dashboard(pair, created, endpoint_url, log))
    for emulated_zone in sorted(set(result.zones.values())):
        records = route53.list_resource_record_sets(HostedZoneId=emulated_zone)
        result.record_sets.extend(records["ResourceRecordSets"])
    for check in route53.list_health_checks()["HealthChecks"]:
        result.health_checks[check["Id"]] = check["HealthCheckConfig"]
    for record in result.record_sets:
        if "HealthCheckId" in record:
            check = result.health_checks.get(record["HealthCheckId"], {})
            log(
                f"record {record['Name']} {record['Type']}"
                f" {record.get('Failover') or record.get('Region', '')}"
                f" {record.get('SetIdentifier', '')} -> health check {record['HealthCheckId']}"
                f" on {check.get('FullyQualifiedDomainName')}"
            )
    return result


def _create_stack(
    sam: Template,
    pair: Pair,
    stack: RegionStack,
    zone_id: str,
    endpoint_url: str,
    release_id: str,
    log: Callable[[str], None],
    bundled: str,
) -> StackResult:
    code_uri = _upload_stand_in_code(endpoint_url, stack, bundled)
    values = {**overrides(pair, stack, release_id=release_id), "HostedZoneId": zone_id}
    transformed = transform(sam, values, region=stack.region, code_uri=code_uri)
    adapted, stand_ins = for_emulator(transformed, region=stack.region, seed=stack.stack_name)
    created = _create(
        adapted, values, stand_ins, pair, stack.region, stack.role, stack.stack_name,
        endpoint_url, log,
    )  # fmt: skip
    _apply_time_to_live(adapted, stack, endpoint_url)
    return created


def _create_ecs_stack(
    pair: Pair,
    stack: RegionStack,
    zone_id: str,
    endpoint_url: str,
    release_id: str,
    log: Callable[[str], None],
    default_config: str | None,
) -> StackResult:
    """An ECS region: ``deploy/ecs.yaml`` as is (no transform), in a VPC made in moto."""
    base = overrides(pair, stack, release_id=release_id)
    values = {
        **ecs_overrides(base, engine_config=ecs_engine_config(pair, stack, default_config)),
        "HostedZoneId": zone_id,
        **_network(endpoint_url, stack.region, log),
    }
    if values.get("CertificateArn"):
        values["CertificateArn"] = _certificate(endpoint_url, stack.region, pair, values, log)
    adapted, stand_ins = for_emulator(
        load_template(ECS_TEMPLATE),
        region=stack.region,
        seed=stack.stack_name,
        emulated=ECS_EMULATED_TYPES,
    )
    created = _create(
        adapted, values, stand_ins, pair, stack.region, stack.role, stack.stack_name,
        endpoint_url, log,
    )  # fmt: skip
    _apply_time_to_live(adapted, stack, endpoint_url)
    return created


def _network(endpoint_url: str, region: str, log: Callable[[str], None]) -> dict[str, str]:
    """A VPC with two subnets in two zones, for the ALB and the tasks (the pairs file's ids
    name a real account's network, which moto does not have)."""
    ec2 = _client("ec2", endpoint_url, region)
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.42.{i}.0/24", AvailabilityZone=f"{region}{z}")[
            "Subnet"
        ]["SubnetId"]
        for i, z in enumerate("ab")
    ]
    log(f"network {region}: {vpc} with subnets {', '.join(subnets)} (stands in for the file's)")
    joined = ",".join(subnets)
    return {"VpcId": vpc, "AlbSubnetIds": joined, "TaskSubnetIds": joined}


def _certificate(
    endpoint_url: str,
    region: str,
    pair: Pair,
    values: Mapping[str, str],
    log: Callable[[str], None],
) -> str:
    """A certificate in moto's ACM of the region, for the ALB's HTTPS listener (moto checks that
    it exists; the file's ARN names a real account's)."""
    acm = _client("acm", endpoint_url, region)
    domain = values.get("RegionalDomainName") or pair.record_name
    arn: str = acm.request_certificate(DomainName=domain)["CertificateArn"]
    log(f"certificate {region}: {arn} for {domain} (stands in for the file's)")
    return arn


def _create_alarms(
    pair: Pair,
    stack: RegionStack,
    created: StackResult,
    endpoint_url: str,
    log: Callable[[str], None],
) -> StackResult:
    """A region's alarms stack, with what the region's stack output."""
    values = alarms_values(pair, stack, created.outputs)
    name = alarms_stack_name(stack)
    return _create_plain(
        ALARMS_TEMPLATE, name, values, pair, stack.region, f"{stack.role}-ALARMS", endpoint_url,
        log,
    )  # fmt: skip


def _create_dashboard(
    pair: Pair, created: list[StackResult], endpoint_url: str, log: Callable[[str], None]
) -> StackResult:
    """The pair's dashboard in us-east-1 (moto creates dashboards for real)."""
    primary, secondary = created
    values = dashboard_values(pair, primary.outputs, secondary.outputs)
    name = dashboard_stack_name(pair)
    return _create_plain(
        DASHBOARD_TEMPLATE, name, values, pair, MONITORING_REGION, "DASHBOARD", endpoint_url, log
    )


def _create_plain(
    template_path: Any,
    name: str,
    values: Mapping[str, str],
    pair: Pair,
    region: str,
    role: str,
    endpoint_url: str,
    log: Callable[[str], None],
) -> StackResult:
    """Create a plain CloudFormation stack (alarms, dashboard) with its parameters."""
    adapted, stand_ins = for_emulator(
        load_template(template_path), region=region, seed=name, emulated=ECS_EMULATED_TYPES
    )
    return _create(adapted, values, stand_ins, pair, region, role, name, endpoint_url, log)


def _apply_time_to_live(adapted: Template, stack: RegionStack, endpoint_url: str) -> None:
    """Turn on the TTL the template gives its tables (moto's CloudFormation ignores it)."""
    cloudformation = _client("cloudformation", endpoint_url, stack.region)
    dynamodb = _client("dynamodb", endpoint_url, stack.region)
    specs = adapted.get("Resources", {})
    paginator = cloudformation.get_paginator("list_stack_resources")
    for page in paginator.paginate(StackName=stack.stack_name):
        for resource in page["StackResourceSummaries"]:
            spec = specs.get(resource["LogicalResourceId"], {})
            ttl = spec.get("Properties", {}).get("TimeToLiveSpecification")
            if spec.get("Type") != "AWS::DynamoDB::Table" or not (ttl and ttl.get("Enabled")):
                continue
            dynamodb.update_time_to_live(
                TableName=resource["PhysicalResourceId"],
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
            )


def _create_monitoring(
    pair: Pair, created: list[StackResult], endpoint_url: str, log: Callable[[str], None]
) -> StackResult:
    """The pair's us-east-1 alarm stack, with the ids the two regional stacks output."""
    primary, secondary = created
    argv = monitoring_argv(
        pair, primary.outputs[MONITORED_OUTPUT], secondary.outputs[MONITORED_OUTPUT]
    )
    start = argv.index("--parameter-overrides") + 1
    values = dict(item.split("=", 1) for item in argv[start:])
    name = monitoring_stack_name(pair)
    template = load_template(MONITORING_TEMPLATE)
    adapted, stand_ins = for_emulator(template, region=MONITORING_REGION, seed=name)
    return _create(
        adapted, values, stand_ins, pair, MONITORING_REGION, "MONITORING", name, endpoint_url, log
    )


def _create(
    adapted: Template,
    values: Mapping[str, str],
    stand_ins: tuple[str, ...],
    pair: Pair,
    region: str,
    role: str,
    stack_name: str,
    endpoint_url: str,
    log: Callable[[str], None],
) -> StackResult:
    cloudformation = _client("cloudformation", endpoint_url, region)
    declared = adapted.get("Parameters", {})
    cloudformation.create_stack(
        StackName=stack_name,
        TemplateBody=json.dumps(adapted),
        Parameters=[
            {"ParameterKey": name, "ParameterValue": value}
            for name, value in values.items()
            if name in declared
        ],
        Capabilities=["CAPABILITY_IAM"],
    )
    described = _wait_for_stack(cloudformation, stack_name)
    status = described["StackStatus"]
    log(f"stack {stack_name} ({role}) in {region}: {status}")
    if status != "CREATE_COMPLETE":
        raise RuntimeError(f"{stack_name} in {region}: {status}")
    return StackResult(
        pair=pair.name,
        region=region,
        role=role,
        stack_name=stack_name,
        status=status,
        outputs={o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])},
        stand_ins=stand_ins,
    )


def _wait_for_stack(cloudformation: Any, name: str, attempts: int = 100) -> dict[str, Any]:
    """moto creates stacks synchronously; poll a bounded number of times regardless."""
    for _ in range(attempts):
        described: dict[str, Any] = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
        if not described["StackStatus"].endswith("_IN_PROGRESS"):
            return described
    raise RuntimeError(f"{name}: still in progress after {attempts} polls")


def _upload_stand_in_code(endpoint_url: str, stack: RegionStack, bundled: str) -> str:
    """Upload a tiny zip as the function code (moto stores it; nothing runs it), with the engine
    config the real package bundles where the function reads it (``verify`` reads it back)."""
    region = stack.region
    s3 = _client("s3", endpoint_url, region)
    # Named like the bucket `sam deploy --resolve-s3` manages (what the operator's policy,
    # deploy/operator-policy.json, lets `verify` read the package from).
    bucket = f"{REHEARSAL_CODE_BUCKET}-{region}"
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        if region == "us-east-1":
            s3.create_bucket(Bucket=bucket)
        else:
            s3.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region}
            )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "deep-health rehearsal stand-in code package\n")
        archive.writestr(str(CONFIG_IN_PACKAGE), bundled)
    key = f"{stack.stack_name}.zip"  # one per stack: pairs bundle different configs
    s3.put_object(Bucket=bucket, Key=key, Body=buffer.getvalue())
    return f"s3://{bucket}/{key}"


def for_emulator(
    template: Template,
    *,
    region: str,
    seed: str,
    emulated: frozenset[str] = EMULATED_TYPES,
) -> tuple[Template, tuple[str, ...]]:
    """Drop resources moto cannot create and put stand-ins where they are referenced.

    Args:
        template: a transformed (plain CloudFormation) template; not modified.
        region: the stack's region.
        seed: makes stand-in ids differ per stack (the stack name).
        emulated: the resource types moto creates (the others get stand-ins).

    Returns:
        The adapted template and the logical ids that were replaced.
    """
    resources: dict[str, Any] = template.get("Resources", {})
    dropped = {
        logical_id: spec["Type"]
        for logical_id, spec in resources.items()
        if spec["Type"] not in emulated
    }

    def stand_in(logical_id: str, attribute: str | None) -> str:
        digest = hashlib.sha256(f"{seed}/{logical_id}".encode()).hexdigest()[:10]
        resource_type = dropped[logical_id]
        if attribute is None and resource_type == "AWS::ApiGatewayV2::Api":
            return digest
        if attribute is None and resource_type.startswith("AWS::CloudWatch::"):
            return f"rehearsal-alarm-{logical_id}-{digest}"
        if attribute == "RegionalDomainName":
            return f"d-{digest}.execute-api.{region}.amazonaws.com"
        if attribute == "RegionalHostedZoneId":
            return "ZREHEARSALAPIGW"
        return f"rehearsal-{logical_id}" + (f"-{attribute}" if attribute else "")

    def rewrite(node: Any) -> Any:
        if isinstance(node, list):
            return [rewrite(item) for item in node]
        if not isinstance(node, dict):
            return node
        if set(node) == {"Ref"} and node["Ref"] in dropped:
            return stand_in(node["Ref"], None)
        if set(node) == {"Fn::GetAtt"}:
            target = node["Fn::GetAtt"]
            name, attribute = target if isinstance(target, list) else target.split(".", 1)
            if name in dropped:
                return stand_in(name, attribute)
            derived = _MOTO_LACKS.get((resources.get(name, {}).get("Type", ""), attribute))
            if derived is not None:
                return derived(name)
        if set(node) == {"Fn::Sub"}:
            return {"Fn::Sub": _rewrite_sub(node["Fn::Sub"], dropped, stand_in, rewrite)}
        return {key: rewrite(value) for key, value in node.items()}

    adapted = {key: value for key, value in template.items() if key not in ("Resources", "Rules")}
    adapted["Resources"] = {}
    for logical_id, spec in resources.items():
        if logical_id in dropped:
            continue
        kept = rewrite(spec)
        depends = kept.get("DependsOn")
        if depends is not None:
            remaining = [d for d in ([depends] if isinstance(depends, str) else depends)
                         if d not in dropped]  # fmt: skip
            if remaining:
                kept["DependsOn"] = remaining
            else:
                del kept["DependsOn"]
        adapted["Resources"][logical_id] = kept
    adapted["Outputs"] = rewrite(template.get("Outputs", {}))
    return adapted, tuple(sorted(dropped))


def _rewrite_sub(
    argument: Any,
    dropped: Mapping[str, str],
    stand_in: Callable[[str, str | None], str],
    rewrite: Callable[[Any], Any],
) -> Any:
    def replace(match: re.Match[str]) -> str:
        name, attribute = match.group(1), match.group(2)
        return stand_in(name, attribute) if name in dropped else match.group(0)

    if isinstance(argument, str):
        return _SUB_REFERENCE.sub(replace, argument)
    text, variables = argument
    return [_SUB_REFERENCE.sub(replace, text), rewrite(variables)]


def _client(service: str, endpoint_url: str, region: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint_url, region_name=region, **_CREDENTIALS)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def moto_server(attempts: int = 100) -> Iterator[str]:
    """Start ``python -m moto.server`` on 127.0.0.1 and stop it (by its PID) afterwards.

    Readiness is polled with a bounded number of HTTP attempts; between attempts the loop
    waits on the process itself (so a server that dies is noticed at once).

    Args:
        attempts: how many 0.1 s readiness polls before giving up.

    Yields:
        The server's endpoint URL.

    Raises:
        RuntimeError: the server exited or never answered.
    """
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(process, url, attempts)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_ready(process: subprocess.Popen[bytes], url: str, attempts: int) -> None:
    for _ in range(attempts):
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=1):  # noqa: S310
                return
        except (urllib.error.URLError, ConnectionError):
            pass
        try:
            code = process.wait(timeout=0.1)
        except subprocess.TimeoutExpired:
            continue
        raise RuntimeError(f"moto server exited with {code}")
    raise RuntimeError(f"moto server at {url} did not answer")
