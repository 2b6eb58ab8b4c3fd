"""Issue 22 on the emulator: rehearsals and ``deep-health verify`` against moto's Route 53.

The example's api pair is rehearsed once; each ``verify`` test changes one record the way a
hand edit (or a wrong pairs file) would, runs the real command, and puts the record back.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from deploy.pairs import load_pairs
from deploy.plan import MONITORING_TEMPLATE
from deploy.rehearse import Rehearsal, moto_server, rehearse
from deploy.template import evaluate_conditions, load_template
from tests.deploy.test_deploy_script import pairs_file

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "pairs.example.toml"
CREDENTIALS = {"aws_access_key_id": "x", "aws_secret_access_key": "x"}
PANEL = "arn:aws:route53-recovery-control::111122223333:controlpanel/0123abcd/routingcontrol/{}"


@dataclasses.dataclass
class Emulated:
    url: str
    result: Rehearsal
    path: Path  # the example pairs file, pointed at the emulator's zone
    zone: str

    def route53(self) -> Any:
        return boto3.client(
            "route53", endpoint_url=self.url, region_name="us-east-1", **CREDENTIALS
        )


@pytest.fixture(scope="module")
def emulated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulated]:
    with moto_server() as url:
        pairs = load_pairs(EXAMPLE)
        api_only = dataclasses.replace(pairs, pairs=pairs.pairs[:1])
        result = rehearse(api_only, endpoint_url=url, release_id="guards", log=lambda _: None)
        zone = result.zones["Z0123456789EXAMPLE"]
        path = tmp_path_factory.mktemp("guards") / "pairs.toml"
        path.write_text(
            EXAMPLE.read_text(encoding="utf-8").replace("Z0123456789EXAMPLE", zone),
            encoding="utf-8",
        )
        yield Emulated(url, result, path, zone)


def verify(emulated: Emulated, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service.cli", "verify", "--pairs", str(emulated.path),
         "--endpoint-url", emulated.url, *options],
        capture_output=True, text=True, check=False, cwd=ROOT,
        env={**os.environ, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"},
    )  # fmt: skip


def https_check(emulated: Emulated, reference: str, host: str, **extra: Any) -> str:
    """A health check as the template creates it, through Route 53's API."""
    config = {
        "Type": "HTTPS_STR_MATCH", "FullyQualifiedDomainName": host, "Port": 443,
        "ResourcePath": "/health", "SearchString": "DEEP-HEALTH-OK", "RequestInterval": 10,
        "FailureThreshold": 3, **extra,
    }  # fmt: skip
    created = emulated.route53().create_health_check(
        CallerReference=reference, HealthCheckConfig=config
    )
    return str(created["HealthCheck"]["Id"])


def build(
    emulated: Emulated,
    tmp_path: Path,
    name: str,
    *,
    secondary_check: str | None = None,
    secondary_target: str = "d-2.execute-api.eu-west-1.amazonaws.com",
    aaaa: bool = False,
) -> Path:
    """A pair ``<name>.example.com`` made by hand in the emulator's zone, and its pairs file.

    Its records and health checks are what the template would create, except where a test
    says otherwise (the SECONDARY's check or alias target); it has no stacks (verify then
    only warns that it cannot read their state tables). moto cannot change or delete records
    its CloudFormation created, so each test makes a pair of its own.
    """
    record_name = f"{name}.example.com"
    primary = https_check(emulated, f"{name}-p", "health-use1.example.com")
    secondary = secondary_check or https_check(emulated, f"{name}-s", "health-euw1.example.com")
    changes = []
    for role, check, target, zone in (
        ("PRIMARY", primary, "d-1.execute-api.us-east-1.amazonaws.com", "Z1UJRXOUMOOFQ8"),
        ("SECONDARY", secondary, secondary_target, "ZLY8HYME6SFDD"),
    ):
        for kind in ("A", "AAAA") if aaaa else ("A",):
            changes.append({"Action": "CREATE", "ResourceRecordSet": {
                "Name": record_name, "Type": kind, "SetIdentifier": f"{name}-{role}",
                "Failover": role, "HealthCheckId": check,
                "AliasTarget": {"DNSName": target, "HostedZoneId": zone,
                                "EvaluateTargetHealth": False},
            }})  # fmt: skip
    emulated.route53().change_resource_record_sets(
        HostedZoneId=emulated.zone, ChangeBatch={"Changes": changes}
    )
    path = pairs_file(tmp_path)
    text = path.read_text(encoding="utf-8")
    text = text.replace("api.example.com", record_name).replace('name = "api"', f'name = "{name}"')
    path.write_text(text.replace("Z0123456789EXAMPLE", emulated.zone), encoding="utf-8")
    return path


def verify_file(emulated: Emulated, path: Path) -> subprocess.CompletedProcess[str]:
    return verify(dataclasses.replace(emulated, path=path))


def test_a_pair_made_as_the_template_makes_it_is_armed(emulated: Emulated, tmp_path: Path) -> None:
    result = verify_file(emulated, build(emulated, tmp_path, "plain"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "failover ARMED" in result.stdout


def test_verify_judges_a_calculated_check_by_its_children(
    emulated: Emulated, tmp_path: Path
) -> None:
    route53 = emulated.route53()
    deep = https_check(emulated, "calc-deep", "health-euw1.example.com")
    gone = https_check(emulated, "calc-gone", "control.example.com")
    route53.delete_health_check(HealthCheckId=gone)  # an operator control deleted by hand
    calculated = route53.create_health_check(
        CallerReference="calc",
        HealthCheckConfig={
            "Type": "CALCULATED", "ChildHealthChecks": [deep, gone], "HealthThreshold": 2,
        },
    )["HealthCheck"]["Id"]  # fmt: skip
    result = verify_file(emulated, build(emulated, tmp_path, "calc", secondary_check=calculated))
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"calculated ({calculated}): 1 of 2 children healthy, needs 2" in result.stdout
    assert f"NOT ARMED: SECONDARY eu-west-1: its health check {gone} does not exist" in (
        result.stdout
    )
    assert "NOT ARMED: SECONDARY eu-west-1 is not healthy to Route 53" in result.stdout


def test_verify_refuses_a_region_checking_the_other_region_s_host(
    emulated: Emulated, tmp_path: Path
) -> None:
    wrong = https_check(emulated, "peer-s", "health-use1.example.com")
    result = verify_file(emulated, build(emulated, tmp_path, "peer", secondary_check=wrong))
    assert result.returncode == 1, result.stdout
    assert (
        "NOT ARMED: SECONDARY eu-west-1: its health check polls health-use1.example.com, the"
        " PRIMARY's host too" in result.stdout
    )


def test_verify_reads_the_alias_target_s_region(emulated: Emulated, tmp_path: Path) -> None:
    elb = "app-1.us-east-1.elb.amazonaws.com"
    result = verify_file(emulated, build(emulated, tmp_path, "alias", secondary_target=elb))
    assert result.returncode == 1, result.stdout
    assert (
        f"NOT ARMED: SECONDARY eu-west-1: its record points at {elb}, an Application or"
        " Classic Load Balancer in us-east-1" in result.stdout
    )


def test_verify_says_when_aaaa_records_ride_on_the_ipv4_check(
    emulated: Emulated, tmp_path: Path
) -> None:
    result = verify_file(emulated, build(emulated, tmp_path, "dual", aaaa=True))
    assert result.returncode == 0, result.stdout
    assert (
        "warning: SECONDARY eu-west-1: its AAAA record carries the A record's check, which"
        " Route 53 runs over IPv4 only" in result.stdout
    )


def test_verify_says_when_the_alarms_watch_another_check_than_the_record(
    emulated: Emulated, tmp_path: Path
) -> None:
    path = build(emulated, tmp_path, "watched")
    route53 = emulated.route53()
    records = route53.list_resource_record_sets(HostedZoneId=emulated.zone)["ResourceRecordSets"]
    carried = {
        r["Failover"]: r["HealthCheckId"]
        for r in records
        if r["Name"].rstrip(".") == "watched.example.com"
    }
    deep = https_check(emulated, "watched-deep", "health-use1.example.com")
    # A monitoring stack as an older deploy left it: its PRIMARY alarm on another check.
    template = {
        "Parameters": {"PrimaryHealthCheckId": {"Type": "String"},
                       "SecondaryHealthCheckId": {"Type": "String"}},
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
    }  # fmt: skip
    boto3.client(
        "cloudformation", endpoint_url=emulated.url, region_name="us-east-1", **CREDENTIALS
    ).create_stack(
        StackName="deep-health-watched-monitoring",
        TemplateBody=json.dumps(template),
        Parameters=[
            {"ParameterKey": "PrimaryHealthCheckId", "ParameterValue": deep},
            {"ParameterKey": "SecondaryHealthCheckId", "ParameterValue": carried["SECONDARY"]},
        ],
    )
    result = verify_file(emulated, path)
    assert result.returncode == 0, result.stdout
    assert (
        f"warning: PRIMARY us-east-1: the monitoring stack's alarm watches health check {deep},"
        f" but the record carries {carried['PRIMARY']}" in result.stdout
    )
    assert "SECONDARY eu-west-1: the monitoring stack's alarm" not in result.stdout


# ------------------------------------------------------------------ rehearsals


def test_routing_controls_rehearse_with_alarms_on_the_record_s_check_and_a_safety_rule(
    emulated: Emulated, tmp_path: Path
) -> None:
    path = pairs_file(
        tmp_path,
        shared={"OperatorControl": '"routing-control"'},
        primary={"RoutingControlArn": f'"{PANEL.format("use1")}"'},
        secondary={"RoutingControlArn": f'"{PANEL.format("euw1")}"'},
    )
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('name = "api"', 'name = "operated"'), encoding="utf-8")
    pairs = load_pairs(path)
    result = rehearse(pairs, endpoint_url=emulated.url, release_id="arc", log=lambda _: None)
    primary, secondary = result.stacks
    (monitoring,) = result.monitoring
    cloudformation = boto3.client(
        "cloudformation", endpoint_url=emulated.url, region_name="us-east-1", **CREDENTIALS
    )
    (described,) = cloudformation.describe_stacks(StackName=monitoring.stack_name)["Stacks"]
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in described["Parameters"]}
    # The alarms watch what the records carry: the calculated check, not the deep one.
    assert parameters["PrimaryHealthCheckId"] == primary.outputs["RecordHealthCheckId"]
    assert parameters["PrimaryHealthCheckId"] != primary.outputs["HealthCheckId"]
    assert parameters["SecondaryHealthCheckId"] == secondary.outputs["RecordHealthCheckId"]
    assert parameters["PrimaryRoutingControlArn"] == PANEL.format("use1")
    assert parameters["SecondaryRoutingControlArn"] == PANEL.format("euw1")
    # moto has no ARC (the rule is a labelled stand-in there); its condition holds here.
    template = load_template(MONITORING_TEMPLATE)
    assert evaluate_conditions(template, parameters, region="us-east-1")["HasRoutingControls"]


def rehearse_cli(path: Path, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deploy", "--pairs", str(path), "--rehearse",
         "--endpoint-url", url, "--release-id", "refused"],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("edits", "key"),
    [
        ({"shared": {"StateTableName": '"accounts"'}}, "StateTableName"),
        ({"shared": {"HealthCheckInterval": "10", "ReservedConcurrency": "1"}},
         "ReservedConcurrency"),
        ({"primary": {"AliasTargetDnsName": '""', "CertificateArn": '""'}}, "AliasTargetDnsName"),
    ],
)  # fmt: skip
def test_a_refused_rehearsal_creates_nothing(
    emulated: Emulated, tmp_path: Path, edits: dict[str, dict[str, str]], key: str
) -> None:
    path = pairs_file(tmp_path, **edits)
    path.write_text(
        path.read_text(encoding="utf-8").replace('name = "api"', 'name = "refused"'),
        encoding="utf-8",
    )
    result = rehearse_cli(path, emulated.url)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith(f"error: pairs[0].primary.parameters.{key}: ")
    cloudformation = boto3.client(
        "cloudformation", endpoint_url=emulated.url, region_name="us-east-1", **CREDENTIALS
    )
    names = {s["StackName"] for s in cloudformation.describe_stacks()["Stacks"]}
    assert "deep-health-refused" not in names
