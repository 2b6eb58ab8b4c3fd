"""The rehearsal: the example pair's stacks created in a local moto server, read back."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from deploy.pairs import load_pairs
from deploy.rehearse import Rehearsal, free_port, rehearse

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "pairs.example.toml"


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):  # bounded readiness poll: HTTP attempts, waiting on the process
            try:
                with urllib.request.urlopen(f"{url}/moto-api/", timeout=1):  # noqa: S310 (http)
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            try:
                process.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                continue
            pytest.fail(f"moto server exited with {process.returncode}")
        else:
            pytest.fail("moto server never answered")
        yield url
    finally:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="module")
def rehearsal(moto_url: str) -> Rehearsal:
    pairs = load_pairs(EXAMPLE)
    api_only = dataclasses.replace(pairs, pairs=pairs.pairs[:1])
    return rehearse(api_only, endpoint_url=moto_url, release_id="rehearsal", log=lambda _: None)


def failover_records(rehearsal: Rehearsal, kind: str) -> dict[str, dict[str, object]]:
    return {
        str(record["Failover"]): record
        for record in rehearsal.record_sets
        if str(record["Name"]).rstrip(".") == "api.example.com" and record["Type"] == kind
    }


def test_two_stacks_one_zone(rehearsal: Rehearsal) -> None:
    assert [(s.stack_name, s.region, s.role, s.status) for s in rehearsal.stacks] == [
        ("deep-health-api", "us-east-1", "PRIMARY", "CREATE_COMPLETE"),
        ("deep-health-api", "eu-west-1", "SECONDARY", "CREATE_COMPLETE"),
    ]
    assert list(rehearsal.zones) == ["Z0123456789EXAMPLE"]


def test_one_primary_and_one_secondary_record_for_the_shared_name(rehearsal: Rehearsal) -> None:
    # A records only: AAAA records exist only when their evidence is chosen (AaaaHealthCheck).
    assert failover_records(rehearsal, "AAAA") == {}
    records = failover_records(rehearsal, "A")
    assert set(records) == {"PRIMARY", "SECONDARY"}
    assert records["PRIMARY"]["SetIdentifier"] == "api.example.com-PRIMARY-us-east-1"
    assert records["SECONDARY"]["SetIdentifier"] == "api.example.com-SECONDARY-eu-west-1"


def test_each_record_has_its_own_health_check_on_its_own_regional_host(
    rehearsal: Rehearsal,
) -> None:
    records = failover_records(rehearsal, "A")
    primary_check = records["PRIMARY"]["HealthCheckId"]
    secondary_check = records["SECONDARY"]["HealthCheckId"]
    assert primary_check != secondary_check
    hosts = {
        role: rehearsal.health_checks[str(record["HealthCheckId"])]["FullyQualifiedDomainName"]
        for role, record in records.items()
    }
    assert hosts == {
        "PRIMARY": "health-use1.example.com",
        "SECONDARY": "health-euw1.example.com",
    }
    for check in rehearsal.health_checks.values():
        assert check["Type"] == "HTTPS_STR_MATCH"
        assert check["ResourcePath"] == "/health"
        assert check["SearchString"] == "DEEP-HEALTH-OK"
        assert check["FullyQualifiedDomainName"] != "api.example.com"


def test_stack_outputs_name_the_health_url_and_check(rehearsal: Rehearsal) -> None:
    primary, secondary = rehearsal.stacks
    assert primary.outputs["HealthUrl"] == "https://health-use1.example.com/health"
    assert secondary.outputs["HealthUrl"] == "https://health-euw1.example.com/health"
    assert primary.outputs["HealthCheckId"] in rehearsal.health_checks
    assert "HealthApi" in primary.stand_ins  # moto has no API Gateway v2 in CloudFormation


def test_cli_rehearses_the_example_file(moto_url: str) -> None:
    result = subprocess.run(
        [
            sys.executable, "-m", "deploy", "--pairs", str(EXAMPLE), "--rehearse",
            "--endpoint-url", moto_url, "--release-id", "cli", "--pair", "auth",
        ],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "stack deep-health-auth (PRIMARY) in us-west-2: CREATE_COMPLETE" in result.stdout
    assert "stack deep-health-auth (SECONDARY) in eu-central-1: CREATE_COMPLETE" in result.stdout
    assert "on auth-usw2.example.com" in result.stdout


def test_the_monitoring_stack_alarms_on_both_regions_health_checks(
    rehearsal: Rehearsal, moto_url: str
) -> None:
    (monitoring,) = rehearsal.monitoring
    primary, secondary = rehearsal.stacks
    assert (monitoring.stack_name, monitoring.region, monitoring.status) == (
        "deep-health-api-monitoring",
        "us-east-1",
        "CREATE_COMPLETE",
    )
    cloudformation = boto3.client(
        "cloudformation",
        endpoint_url=moto_url,
        region_name="us-east-1",
        aws_access_key_id="rehearsal",
        aws_secret_access_key="rehearsal",
    )
    (described,) = cloudformation.describe_stacks(StackName=monitoring.stack_name)["Stacks"]
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in described["Parameters"]}
    assert parameters["PrimaryHealthCheckId"] == primary.outputs["HealthCheckId"]
    assert parameters["SecondaryHealthCheckId"] == secondary.outputs["HealthCheckId"]
    assert parameters["PrimaryHealthCheckId"] != parameters["SecondaryHealthCheckId"]
    # moto has no CloudWatch alarms in CloudFormation: stand-ins, the topic is real.
    # (and no ARC: the safety rule's stand-in, whose condition is false for this pair)
    assert set(monitoring.stand_ins) == {
        "PrimaryUnhealthy",
        "SecondaryUnhealthy",
        "PairFailedOpen",
        "SafetyRule",
    }
    assert monitoring.outputs["TopicArn"].startswith("arn:aws:sns:us-east-1:")


def test_each_regional_stack_has_its_own_alarm_topic(rehearsal: Rehearsal) -> None:
    primary, secondary = rehearsal.stacks
    assert ":us-east-1:" in primary.outputs["AlarmTopicArn"]
    assert ":eu-west-1:" in secondary.outputs["AlarmTopicArn"]
    assert "RegionUnhealthyAlarm" in secondary.stand_ins
