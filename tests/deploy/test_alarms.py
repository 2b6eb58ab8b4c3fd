"""Alarms that reach someone: a destination required in both regions (or an explicit opt-out),
each region's alarms stack (deploy/alarms.yaml) and the pair's dashboard (deploy/dashboard.yaml),
rendered and rehearsed on moto."""

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

from deploy.alarms import ALARMS_TEMPLATE, DASHBOARD_TEMPLATE
from deploy.pairs import load_pairs
from deploy.rehearse import Rehearsal, moto_server, rehearse
from deploy.template import DEFAULT_TEMPLATE, evaluate_conditions, load_template, transform

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "pairs.example.toml"
TOPIC = "arn:aws:sns:{region}:111122223333:oncall"


def dry_run(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deploy", "--pairs", str(path), "--dry-run", "--release-id", "r"],
        capture_output=True, text=True, check=False, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip


def pairs_file(tmp_path: Path, primary: str = "", secondary: str = "", pair: str = "") -> Path:
    """A standalone Lambda pair with the given alarm lines per region (TOML)."""
    text = f"""
[defaults]
hosted_zone_id = "Z0123456789EXAMPLE"
[[pairs]]
name = "api"
record_name = "api.example.com"
{pair}
[pairs.parameters]
TableName = "accounts"
[pairs.primary]
region = "us-east-1"
[pairs.primary.parameters]
AliasTargetDnsName = "d-1.execute-api.us-east-1.amazonaws.com"
AliasTargetHostedZoneId = "Z1UJRXOUMOOFQ8"
{primary}
[pairs.secondary]
region = "eu-west-1"
[pairs.secondary.parameters]
AliasTargetDnsName = "d-2.execute-api.eu-west-1.amazonaws.com"
AliasTargetHostedZoneId = "ZLY8HYME6SFDD"
{secondary}
"""
    path = tmp_path / "pairs.toml"
    path.write_text(text, encoding="utf-8")
    return path


EMAIL = 'AlarmEmail = "oncall@example.com"'


# ------------------------------------------------------------------ refused before any AWS call


@pytest.mark.parametrize(
    ("primary", "secondary", "key", "words"),
    [
        (
            EMAIL,
            "",
            "pairs[0].secondary.parameters.AlarmEmail",
            ["pair api, SECONDARY eu-west-1: no alarm destination", "no_alarm_destination"],
        ),
        (
            "",
            EMAIL,
            "pairs[0].primary.parameters.AlarmEmail",
            ["pair api, PRIMARY us-east-1: no alarm destination", "AlarmTopicArn"],
        ),
        (
            EMAIL,
            f'AlarmTopicArn = "{TOPIC.format(region="us-east-1")}"',
            "pairs[0].secondary.parameters.AlarmTopicArn",
            ["the topic is in us-east-1", "must not depend on another region"],
        ),
        (
            f'AlarmTopicArn = "{TOPIC.format(region="us-east-1")}"',
            f'AlarmTopicArn = "{TOPIC.format(region="eu-west-1")}"',
            "pairs[0].primary.parameters.AlarmEmail",
            ["neither region sets AlarmEmail", "us-east-1 monitoring stack", "failed open"],
        ),
    ],
)
def test_alarms_that_would_notify_nobody_are_refused(
    tmp_path: Path, primary: str, secondary: str, key: str, words: list[str]
) -> None:
    result = dry_run(pairs_file(tmp_path, primary, secondary))
    assert result.returncode == 2, result.stdout
    assert result.stderr.startswith(f"error: {key}: "), result.stderr
    for word in words:
        assert word in result.stderr
    assert "sam deploy" not in result.stdout  # nothing was planned, let alone called


def test_a_pair_may_opt_out_explicitly(tmp_path: Path) -> None:
    result = dry_run(pairs_file(tmp_path, pair="no_alarm_destination = true"))
    assert result.returncode == 0, result.stderr
    alarms = [line for line in result.stdout.splitlines() if "deploy/alarms.yaml" in line]
    assert len(alarms) == 2
    assert all("AlarmTopicArn=" not in line for line in alarms)


def test_a_topic_of_the_region_is_a_destination(tmp_path: Path) -> None:
    topic = f'AlarmTopicArn = "{TOPIC.format(region="eu-west-1")}"'
    result = dry_run(pairs_file(tmp_path, EMAIL, topic))
    assert result.returncode == 0, result.stderr
    secondary = next(
        line
        for line in result.stdout.splitlines()
        if "--template-file template.yaml" in line and "--region eu-west-1" in line
    )
    assert f"AlarmTopicArn={TOPIC.format(region='eu-west-1')}" in secondary


def test_the_example_pairs_all_have_destinations() -> None:
    for pair in load_pairs(EXAMPLE).pairs:
        for stack in pair.stacks:
            assert stack.parameters.get("AlarmEmail") or stack.parameters.get("AlarmTopicArn")


# ------------------------------------------------------------------ what the templates render


def resolved(node: Any, conditions: dict[str, bool], parameters: dict[str, str]) -> Any:
    """Resolve ``Fn::If`` (dropping ``AWS::NoValue``) and ``Ref`` to a given parameter."""
    if isinstance(node, list):
        items = [resolved(item, conditions, parameters) for item in node]
        return [item for item in items if item != {"Ref": "AWS::NoValue"}]
    if not isinstance(node, dict):
        return node
    if set(node) == {"Ref"} and node["Ref"] in parameters:
        return parameters[node["Ref"]]
    if set(node) == {"Fn::If"}:
        name, yes, no = node["Fn::If"]
        return resolved(yes if conditions[name] else no, conditions, parameters)
    items = {key: resolved(value, conditions, parameters) for key, value in node.items()}
    return {key: value for key, value in items.items() if value != {"Ref": "AWS::NoValue"}}


def existing(template: dict[str, Any], parameters: dict[str, str], region: str) -> dict[str, Any]:
    conditions = evaluate_conditions(template, parameters, region=region)
    return {
        logical_id: resolved(spec, conditions, parameters)
        for logical_id, spec in template["Resources"].items()
        if conditions.get(spec.get("Condition", ""), True)
    }


LAMBDA = {
    "PairName": "api",
    "RecordName": "api.example.com",
    "Role": "SECONDARY",
    "RegionalStackName": "deep-health-api",
    "Platform": "lambda",
    "AlarmTopicArn": TOPIC.format(region="eu-west-1"),
    "FunctionName": "deep-health-api-HealthFunction-1",
    "ApiId": "a1b2c3",
    "AccessLogGroupName": "/deep-health/deep-health-api/api-access",
}
ECS = {
    **{k: v for k, v in LAMBDA.items() if k not in ("FunctionName", "ApiId", "AccessLogGroupName")},
    "Platform": "ecs",
    "LoadBalancerFullName": "app/deep-health-api/50dc6c495c0c9188",
    "TargetGroupFullName": "targetgroup/deep-health-api/73e2d6bc24d8a067",
}


def test_the_lambda_path_alarms_on_throttles_errors_5xx_and_429() -> None:
    resources = existing(load_template(ALARMS_TEMPLATE), LAMBDA, "eu-west-1")
    alarms = {k: v["Properties"] for k, v in resources.items() if v["Type"].endswith("Alarm")}
    assert set(alarms) == {"FunctionThrottles", "FunctionErrors", "ApiServerErrors", "ApiThrottled"}
    assert (
        alarms["FunctionThrottles"]["Namespace"],
        alarms["FunctionThrottles"]["MetricName"],
    ) == (
        "AWS/Lambda",
        "Throttles",
    )
    assert alarms["FunctionErrors"]["MetricName"] == "Errors"
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == [LAMBDA["AlarmTopicArn"]]
        assert alarm["OKActions"] == [LAMBDA["AlarmTopicArn"]]
    filters = {
        k: v["Properties"]["FilterPattern"]
        for k, v in resources.items()
        if v["Type"] == "AWS::Logs::MetricFilter"
    }
    assert filters["ApiThrottledFilter"] == '{ $.status = "429" }'
    # The service's own 503 (an unhealthy verdict) is not a broken health path.
    assert '"503"' not in filters["ApiServerErrorsFilter"]
    assert all(f'"{code}"' in filters["ApiServerErrorsFilter"] for code in (500, 502, 504))


def test_the_ecs_path_alarms_on_the_balancer_and_its_tasks() -> None:
    resources = existing(load_template(ALARMS_TEMPLATE), ECS, "eu-west-1")
    alarms = {k: v["Properties"] for k, v in resources.items() if v["Type"].endswith("Alarm")}
    assert set(alarms) == {"NoHealthyTask", "UnhealthyTasks", "BalancerErrors"}
    assert alarms["NoHealthyTask"]["TreatMissingData"] == "breaching"
    assert {d["Name"]: d["Value"] for d in alarms["NoHealthyTask"]["Dimensions"]} == {
        "LoadBalancer": ECS["LoadBalancerFullName"],
        "TargetGroup": ECS["TargetGroupFullName"],
    }
    assert alarms["BalancerErrors"]["MetricName"] == "HTTPCode_ELB_5XX_Count"


def test_without_a_destination_the_alarms_still_exist_but_notify_nobody() -> None:
    resources = existing(load_template(ALARMS_TEMPLATE), {**ECS, "AlarmTopicArn": ""}, "eu-west-1")
    alarm = resources["NoHealthyTask"]["Properties"]
    assert "AlarmActions" not in alarm


@pytest.mark.parametrize(
    ("parameters", "actions"),
    [
        ({"AlarmEmail": "oncall@example.com"}, [{"Ref": "AlarmTopic"}]),
        ({"AlarmTopicArn": TOPIC.format(region="eu-west-1")}, [TOPIC.format(region="eu-west-1")]),
        ({}, None),
    ],
)
def test_the_regional_stack_s_in_region_alarms_notify_the_destination(
    parameters: dict[str, str], actions: list[Any] | None
) -> None:
    values = {
        "Role": "SECONDARY",
        "HostedZoneId": "Z0123456789EXAMPLE",
        "RecordName": "api.example.com",
        **parameters,
    }
    output = transform(load_template(DEFAULT_TEMPLATE), values, region="eu-west-1")
    resources = existing(output, values, "eu-west-1")
    alarm = resources["RegionUnhealthyAlarm"]["Properties"]
    assert alarm.get("AlarmActions") == actions
    assert ("AlarmTopic" in resources) == ("AlarmEmail" in parameters)


@pytest.mark.parametrize("template", [ALARMS_TEMPLATE, DASHBOARD_TEMPLATE])
def test_cfn_lint_is_clean(template: Path) -> None:
    result = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), str(template)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


# ------------------------------------------------------------------ rehearsed on moto


@pytest.fixture(scope="module")
def rehearsed() -> Iterator[tuple[str, Rehearsal]]:
    with moto_server() as url:
        pairs = load_pairs(EXAMPLE)
        api_only = dataclasses.replace(pairs, pairs=pairs.pairs[:1])
        yield url, rehearse(api_only, endpoint_url=url, release_id="alarms", log=lambda _: None)


def _parameters(url: str, region: str, stack_name: str) -> dict[str, str]:
    cloudformation = boto3.client(
        "cloudformation", endpoint_url=url, region_name=region,
        aws_access_key_id="x", aws_secret_access_key="x",
    )  # fmt: skip
    (described,) = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    return {p["ParameterKey"]: p["ParameterValue"] for p in described["Parameters"]}


def test_each_region_gets_its_alarms_stack_notifying_its_own_topic(
    rehearsed: tuple[str, Rehearsal],
) -> None:
    url, rehearsal = rehearsed
    assert [(a.stack_name, a.region, a.status) for a in rehearsal.alarms] == [
        ("deep-health-api-alarms", "us-east-1", "CREATE_COMPLETE"),
        ("deep-health-api-alarms", "eu-west-1", "CREATE_COMPLETE"),
    ]
    for regional, alarms in zip(rehearsal.stacks, rehearsal.alarms, strict=True):
        parameters = _parameters(url, alarms.region, alarms.stack_name)
        assert parameters["AlarmTopicArn"] == regional.outputs["AlarmTopicArn"]
        assert f":{alarms.region}:" in parameters["AlarmTopicArn"]
        assert parameters["FunctionName"] == regional.outputs["FunctionName"]
        assert parameters["AccessLogGroupName"] == regional.outputs["ApiAccessLogGroupName"]
        # moto's CloudFormation has no alarms or metric filters: stand-ins, created by name.
        assert {"FunctionThrottles", "FunctionErrors", "ApiThrottled"} <= set(alarms.stand_ins)
        assert alarms.outputs["Destination"] == regional.outputs["AlarmTopicArn"]


def test_the_pair_s_dashboard_shows_both_regions(rehearsed: tuple[str, Rehearsal]) -> None:
    url, rehearsal = rehearsed
    (dashboard,) = rehearsal.dashboards
    assert (dashboard.region, dashboard.status) == ("us-east-1", "CREATE_COMPLETE")
    cloudwatch = boto3.client(
        "cloudwatch", endpoint_url=url, region_name="us-east-1",
        aws_access_key_id="x", aws_secret_access_key="x",
    )  # fmt: skip
    body = json.loads(cloudwatch.get_dashboard(DashboardName="deep-health-api")["DashboardBody"])
    metrics = [
        metric
        for widget in body["widgets"]
        if widget["type"] == "metric"
        for metric in widget["properties"]["metrics"]
    ]
    names = {metric[1] for metric in metrics}
    assert {
        "HealthCheckStatus",
        "RegionHealthy",
        "StateStoreFallback",
        "EvaluationDuration",
    } <= names
    # The status Route 53 follows is the check each record carries; the latency, the deep one's.
    status = {m[3] for m in metrics if m[1] == "HealthCheckStatus"}
    assert status == {stack.outputs["RecordHealthCheckId"] for stack in rehearsal.stacks}
    latency = {m[3] for m in metrics if m[1] == "TimeToFirstByte"}
    assert latency == {stack.outputs["HealthCheckId"] for stack in rehearsal.stacks}
    regions = {m[5] for m in metrics if m[1] == "RegionHealthy"}
    assert regions == {"us-east-1", "eu-west-1"}
    queries = [w["properties"] for w in body["widgets"] if w["type"] == "log"]
    assert [
        (q["region"], "SOURCE '/deep-health/deep-health-api'" in q["query"]) for q in queries
    ] == [
        ("us-east-1", True),
        ("eu-west-1", True),
    ]
    assert all("reason" in q["query"] for q in queries)
