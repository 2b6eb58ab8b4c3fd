"""template.yaml: cfn-lint clean, and what the SAM transform renders per role, mode and region."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from deploy.engine import STATE_TABLE_PLACEHOLDER, function_environment
from deploy.template import (
    DEFAULT_TEMPLATE,
    evaluate_conditions,
    failed_rules,
    load_template,
    transform,
)
from service.state.dynamodb import STORE_ACTIONS

ROOT = Path(__file__).resolve().parents[2]
RECORD = "api.example.com"
ZONE = "Z0123456789EXAMPLE"
CERT = "arn:aws:acm:{region}:111122223333:certificate/11111111-1111-1111-1111-111111111111"

Template = dict[str, Any]


@pytest.fixture(scope="module")
def sam() -> Template:
    return load_template(DEFAULT_TEMPLATE)


def standalone(role: str, region: str, **extra: str) -> dict[str, str]:
    return {
        "Role": role,
        "HostedZoneId": ZONE,
        "RecordName": RECORD,
        "CertificateArn": CERT.format(region=region),
        "RegionalDomainName": f"health-{region}.example.com",
        "RecordIsHealthOnly": "true",  # these tests map the shared name to the health API
        **extra,
    }


def embedded(role: str, region: str, **extra: str) -> dict[str, str]:
    return {
        "Role": role,
        "HostedZoneId": ZONE,
        "RecordName": RECORD,
        "Mode": "embedded",
        "EmbeddedHealthHost": f"app-{region}.example.com",
        "AliasTargetDnsName": f"d-abc123.execute-api.{region}.amazonaws.com",
        "AliasTargetHostedZoneId": "ZAPIGATEWAY",
        **extra,
    }


def rendered(sam: Template, parameters: dict[str, str], region: str) -> dict[str, Template]:
    """The transformed resources that exist for these parameters (conditions evaluated)."""
    output = transform(sam, parameters, region=region)
    conditions = evaluate_conditions(output, parameters, region=region)
    return {
        logical_id: resource
        for logical_id, resource in output["Resources"].items()
        if conditions.get(resource.get("Condition", ""), True)
    }


def resolve(node: Any, parameters: dict[str, str], conditions: dict[str, bool]) -> Any:
    """Resolve Ref-to-parameter and Fn::If; leave everything else as is."""
    if isinstance(node, list):
        items = [resolve(item, parameters, conditions) for item in node]
        return [item for item in items if item != {"Ref": "AWS::NoValue"}]
    if not isinstance(node, dict):
        return node
    if set(node) == {"Ref"} and node["Ref"] in parameters:
        return parameters[node["Ref"]]
    if set(node) == {"Fn::If"}:
        name, yes, no = node["Fn::If"]
        return resolve(yes if conditions[name] else no, parameters, conditions)
    resolved = {key: resolve(value, parameters, conditions) for key, value in node.items()}
    return {key: value for key, value in resolved.items() if value != {"Ref": "AWS::NoValue"}}


def resolved(sam: Template, parameters: dict[str, str], region: str) -> dict[str, Template]:
    output = transform(sam, parameters, region=region)
    defaults = {k: str(v.get("Default", "")) for k, v in output["Parameters"].items()}
    values = {**defaults, **parameters}
    conditions = evaluate_conditions(output, parameters, region=region)
    return {
        logical_id: resolve(resource, values, conditions)
        for logical_id, resource in output["Resources"].items()
        if conditions.get(resource.get("Condition", ""), True)
    }


def of_type(resources: dict[str, Template], kind: str) -> dict[str, Template]:
    return {key: value for key, value in resources.items() if value["Type"] == kind}


def iam_actions(resources: dict[str, Template]) -> set[str]:
    (role,) = of_type(resources, "AWS::IAM::Role").values()
    actions: set[str] = set()
    for policy in role["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            found = statement["Action"]
            actions.update([found] if isinstance(found, str) else found)
    return actions


def test_cfn_lint_is_clean() -> None:
    lint = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), str(DEFAULT_TEMPLATE)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


@pytest.mark.parametrize(("role", "region"), [("PRIMARY", "us-east-1"), ("SECONDARY", "eu-west-1")])
def test_health_check_targets_the_regional_host_never_the_shared_name(
    sam: Template, role: str, region: str
) -> None:
    resources = resolved(sam, standalone(role, region), region)
    (check,) = of_type(resources, "AWS::Route53::HealthCheck").values()
    config = check["Properties"]["HealthCheckConfig"]
    assert config["FullyQualifiedDomainName"] == f"health-{region}.example.com"
    assert config["FullyQualifiedDomainName"] != RECORD
    assert config["Type"] == "HTTPS_STR_MATCH"
    assert config["ResourcePath"] == "/health"
    assert config["SearchString"] == "DEEP-HEALTH-OK"
    assert config["EnableSNI"] is True
    assert config["MeasureLatency"] is True
    assert config["Port"] == 443


def test_without_a_regional_domain_the_check_targets_the_execute_api_host(sam: Template) -> None:
    parameters = standalone("PRIMARY", "eu-west-1", RegionalDomainName="")
    resources = resolved(sam, parameters, "eu-west-1")
    (check,) = of_type(resources, "AWS::Route53::HealthCheck").values()
    target = check["Properties"]["HealthCheckConfig"]["FullyQualifiedDomainName"]
    assert target == {"Fn::Sub": "${HealthApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"}
    assert "HealthApi" in resources  # the Ref points at the HTTP API SAM created


def test_without_a_certificate_there_is_no_record(sam: Template) -> None:
    parameters = standalone("PRIMARY", "eu-west-1", CertificateArn="", RegionalDomainName="")
    resources = rendered(sam, parameters, "eu-west-1")
    assert not of_type(resources, "AWS::Route53::RecordSet")
    assert of_type(resources, "AWS::Route53::HealthCheck")


@pytest.mark.parametrize(("role", "region"), [("PRIMARY", "us-east-1"), ("SECONDARY", "eu-west-1")])
def test_failover_records_carry_the_health_check_role_and_set_identifier(
    sam: Template, role: str, region: str
) -> None:
    dual = standalone(role, region, DualStack="true", AaaaHealthCheck="same-as-a")
    resources = resolved(sam, dual, region)
    records = {
        key: value["Properties"]
        for key, value in of_type(resources, "AWS::Route53::RecordSet").items()
        if value["Properties"]["Name"] == RECORD
    }
    assert sorted(record["Type"] for record in records.values()) == ["A", "AAAA"]
    (check_id,) = of_type(resources, "AWS::Route53::HealthCheck")
    for record in records.values():
        assert record["HealthCheckId"] == {"Ref": check_id}
        assert record["Failover"] == role
        assert "Region" not in record
        assert record["SetIdentifier"] == {"Fn::Sub": "${RecordName}-${Role}-${AWS::Region}"}
        assert record["AliasTarget"]["DNSName"] == {
            "Fn::GetAtt": ["SharedDomain", "RegionalDomainName"]
        }
        assert record["AliasTarget"]["HostedZoneId"] == {
            "Fn::GetAtt": ["SharedDomain", "RegionalHostedZoneId"]
        }
        assert record["AliasTarget"]["EvaluateTargetHealth"] is False
    # The regional name's own records are plain aliases, without failover or health check.
    regional = [
        value["Properties"]
        for value in of_type(resources, "AWS::Route53::RecordSet").values()
        if value["Properties"]["Name"] == f"health-{region}.example.com"
    ]
    assert len(regional) == 2
    assert all("Failover" not in r and "HealthCheckId" not in r for r in regional)


def test_set_identifiers_and_roles_differ_between_the_regions(sam: Template) -> None:
    seen = set()
    for role, region in (("PRIMARY", "us-east-1"), ("SECONDARY", "eu-west-1")):
        resources = resolved(sam, standalone(role, region), region)
        record = resources["RecordA"]["Properties"]
        identifier = record["SetIdentifier"]["Fn::Sub"]
        identifier = identifier.replace("${RecordName}", RECORD).replace("${Role}", role)
        seen.add((identifier.replace("${AWS::Region}", region), record["Failover"]))
    assert seen == {
        (f"{RECORD}-PRIMARY-us-east-1", "PRIMARY"),
        (f"{RECORD}-SECONDARY-eu-west-1", "SECONDARY"),
    }


def test_latency_mode_records_carry_the_region_not_a_failover_role(sam: Template) -> None:
    parameters = standalone(
        "PRIMARY", "eu-west-1", RoutingMode="latency", DualStack="true", AaaaHealthCheck="same-as-a"
    )
    resources = resolved(sam, parameters, "eu-west-1")
    for key in ("RecordA", "RecordAAAA"):
        record = resources[key]["Properties"]
        assert record["Region"] == {"Ref": "AWS::Region"}
        assert "Failover" not in record
        assert record["HealthCheckId"] == {"Ref": "HealthCheck"}


def test_dual_stack_off_means_no_aaaa_records(sam: Template) -> None:
    resources = rendered(sam, standalone("PRIMARY", "eu-west-1", DualStack="false"), "eu-west-1")
    types = {
        r["Properties"]["Type"] for r in of_type(resources, "AWS::Route53::RecordSet").values()
    }
    assert types == {"A"}


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({}, set()),
        ({"TableName": "accounts"}, {"dynamodb:GetItem"}),
        ({"QueueName": "orders"}, {"sqs:GetQueueAttributes"}),
        (
            {"QueueName": "orders", "ProbeQueueName": "probe"},
            {
                "sqs:GetQueueAttributes",
                "sqs:SendMessage",
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
            },
        ),
        (
            {"QueueName": "orders", "QueueMaxOldestAge": "300"},
            {"sqs:GetQueueAttributes", "cloudwatch:GetMetricStatistics"},
        ),
        (
            {"TableName": "accounts", "KmsKeyArns": "arn:aws:kms:eu-west-1:1:key/k"},
            {"dynamodb:GetItem", "kms:Decrypt"},
        ),
        (
            {
                "QueueName": "o",
                "ProbeQueueName": "p",
                "KmsKeyArns": "arn:aws:kms:eu-west-1:1:key/k",
            },
            {
                "sqs:GetQueueAttributes",
                "sqs:SendMessage",
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "kms:Decrypt",
                "kms:GenerateDataKey",
            },
        ),
        ({"DetailsTokenParameter": "/deep-health/token"}, {"ssm:GetParameter"}),
        ({"BucketName": "b", "ObjectKey": "canary.json"}, {"s3:GetObject"}),
        ({"BucketName": "b"}, set()),  # no key, no s3_object check
        (
            {"TableName": "accounts", "QueueName": "orders", "BucketName": "b", "ObjectKey": "k"},
            {"dynamodb:GetItem", "sqs:GetQueueAttributes", "s3:GetObject"},
        ),
    ],
)
def test_iam_actions_are_exactly_those_of_the_configured_checks(
    sam: Template, extra: dict[str, str], expected: set[str]
) -> None:
    resources = resolved(sam, standalone("PRIMARY", "eu-west-1", **extra), "eu-west-1")
    logs = {"logs:CreateLogStream", "logs:PutLogEvents"}
    state = set(STORE_ACTIONS)  # the shared failover state (on by default)
    assert iam_actions(resources) == logs | state | expected


def test_iam_resources_are_scoped_to_the_configured_table_queue_and_object(sam: Template) -> None:
    extra = {"TableName": "accounts", "QueueName": "orders", "BucketName": "b", "ObjectKey": "k"}
    resources = resolved(sam, standalone("PRIMARY", "eu-west-1", **extra), "eu-west-1")
    (role,) = of_type(resources, "AWS::IAM::Role").values()
    statements = {
        s["Sid"]: s["Resource"]
        for s in role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    }
    assert statements["DynamoDbRead"]["Fn::Sub"].endswith(":table/${TableName}")
    assert statements["SqsAttributes"]["Fn::Sub"].endswith(":${QueueName}")
    assert statements["S3Object"]["Fn::Sub"].endswith(":::${BucketName}/${ObjectKey}")
    assert all("*" not in str(resource) for resource in statements.values())


def test_function_runtime_handler_and_environment(sam: Template) -> None:
    parameters = standalone("SECONDARY", "eu-west-1", ReleaseId="abc123", TableName="accounts")
    resources = resolved(sam, parameters, "eu-west-1")
    (function,) = of_type(resources, "AWS::Lambda::Function").values()
    properties = function["Properties"]
    assert properties["Runtime"] == "python3.12"
    assert properties["Architectures"] == ["arm64"]
    assert properties["Handler"] == "service.faces.lambda_handler.handler"
    assert properties["Timeout"] <= 3
    env = properties["Environment"]["Variables"]
    assert env["DEEP_HEALTH_RELEASE_ID"] == "abc123"
    assert env["DEEP_HEALTH_REGION_ROLE"] == "SECONDARY"
    assert env["DEEP_HEALTH_TABLE"] == "accounts"
    assert env["DEEP_HEALTH_CONFIG"] == "config/health.toml"
    assert env["AWS_STS_REGIONAL_ENDPOINTS"] == "regional"
    assert "DEEP_HEALTH_DETAILS_TOKEN" not in env  # read from SSM at init, never stored here
    paths = resources["HealthApi"]["Properties"]["Body"]["paths"]
    assert set(paths) == {"/health", "/health/details"}
    assert set(paths["/health"]) == {"get", "head"}
    assert set(paths["/health/details"]) == {"get"}


def test_provisioned_concurrency_is_optional(sam: Template) -> None:
    off = resolved(sam, standalone("PRIMARY", "eu-west-1"), "eu-west-1")
    on = resolved(sam, standalone("PRIMARY", "eu-west-1", ProvisionedConcurrency="2"), "eu-west-1")
    (alias_off,) = of_type(off, "AWS::Lambda::Alias").values()
    (alias_on,) = of_type(on, "AWS::Lambda::Alias").values()
    assert "ProvisionedConcurrencyConfig" not in alias_off["Properties"]
    assert alias_on["Properties"]["ProvisionedConcurrencyConfig"] == {
        "ProvisionedConcurrentExecutions": "2"
    }


def test_the_details_token_is_never_a_parameter_value_or_in_the_environment(
    sam: Template,
) -> None:
    parameters = standalone("PRIMARY", "eu-west-1", DetailsTokenParameter="/deep-health/t")
    resources = resolved(sam, parameters, "eu-west-1")
    (function,) = of_type(resources, "AWS::Lambda::Function").values()
    env = function["Properties"]["Environment"]["Variables"]
    assert env["DEEP_HEALTH_DETAILS_TOKEN_PARAMETER"] == "/deep-health/t"  # its name only
    assert "DetailsToken" not in sam["Parameters"]
    assert not [v for v in env if v.endswith("_TOKEN")]


@pytest.mark.parametrize(
    ("role", "region"), [("PRIMARY", "us-west-2"), ("SECONDARY", "eu-central-1")]
)
def test_embedded_mode_creates_no_function_and_wires_the_application(
    sam: Template, role: str, region: str
) -> None:
    resources = resolved(sam, embedded(role, region), region)
    kinds = {resource["Type"] for resource in resources.values()}
    # The in-region alarm on the application's EMF metrics exists in embedded mode too.
    assert kinds == {
        "AWS::Route53::HealthCheck",
        "AWS::Route53::RecordSet",
        "AWS::CloudWatch::Alarm",
    }
    (check,) = of_type(resources, "AWS::Route53::HealthCheck").values()
    assert check["Properties"]["HealthCheckConfig"]["FullyQualifiedDomainName"] == (
        f"app-{region}.example.com"
    )
    for record in of_type(resources, "AWS::Route53::RecordSet").values():
        properties = record["Properties"]
        assert properties["Name"] == RECORD
        assert properties["Failover"] == role
        assert properties["HealthCheckId"] == {"Ref": "HealthCheck"}
        assert properties["AliasTarget"]["DNSName"] == (
            f"d-abc123.execute-api.{region}.amazonaws.com"
        )
        assert properties["AliasTarget"]["HostedZoneId"] == "ZAPIGATEWAY"


@pytest.mark.parametrize(
    ("overrides", "holds"),
    [
        pytest.param({}, True, id="distinct-hosts"),
        pytest.param({"EmbeddedHealthHost": RECORD}, False, id="embedded-host-is-the-shared-name"),
        pytest.param({"RegionalDomainName": RECORD}, False, id="regional-name-is-the-shared-name"),
    ],
)
def test_rules_refuse_the_shared_name_as_health_host(
    sam: Template, overrides: dict[str, str], holds: bool
) -> None:
    # Evaluated, not matched as text: an inverted rule (Equals without Not) would fail here.
    rule = sam["Rules"]["NeverCheckTheSharedName"]["Assertions"]
    parameters = {
        "RecordName": RECORD,
        "EmbeddedHealthHost": "health.eu-west-1.example.com",
        "RegionalDomainName": "eu-west-1.api.example.com",
        **overrides,
    }
    asserts = {"Conditions": {f"a{i}": item["Assert"] for i, item in enumerate(rule)}}
    values = evaluate_conditions(asserts, parameters, region="eu-west-1")
    assert len(values) == 2
    assert all(values.values()) is holds


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"TableName": "accounts", "QueueName": "orders", "ProbeQueueName": "probe"},
        {"BucketName": "b", "ObjectKey": "k", "PeerHealthUrl": "https://h.example.com/health"},
    ],
)
def test_the_deploy_script_knows_the_function_environment_the_template_sets(
    sam: Template, extra: dict[str, str]
) -> None:
    """deploy.engine validates engine configs with this environment: it must be the real one."""
    parameters = standalone("PRIMARY", "eu-west-1", **extra)
    resources = resolved(sam, parameters, "eu-west-1")
    (function,) = of_type(resources, "AWS::Lambda::Function").values()
    variables = function["Properties"]["Environment"]["Variables"]
    rendered_env = {}
    for name, value in variables.items():
        if value == {"Ref": "StateTable"}:  # the state table the stack creates
            value = STATE_TABLE_PLACEHOLDER
        elif isinstance(value, dict):  # Fn::Sub of a queue URL
            value = (
                value["Fn::Sub"]
                .replace("${AWS::Region}", "eu-west-1")
                .replace("${AWS::URLSuffix}", "amazonaws.com")
                .replace("${AWS::AccountId}", "123456789012")
                .replace("${QueueName}", extra.get("QueueName", ""))
                .replace("${ProbeQueueName}", extra.get("ProbeQueueName", ""))
            )
        rendered_env[name] = str(value)
    simulated = function_environment(parameters, "eu-west-1")
    simulated.pop("AWS_REGION")  # Lambda's own
    assert rendered_env == simulated


def test_snapstart_is_off_by_default_and_applies_to_published_versions(sam: Template) -> None:
    off = resolved(sam, standalone("PRIMARY", "eu-west-1"), "eu-west-1")
    on = resolved(sam, standalone("PRIMARY", "eu-west-1", SnapStart="true"), "eu-west-1")
    (function_off,) = of_type(off, "AWS::Lambda::Function").values()
    (function_on,) = of_type(on, "AWS::Lambda::Function").values()
    assert "SnapStart" not in function_off["Properties"]
    assert function_on["Properties"]["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    # SnapStart applies to published versions only: the alias must point at one.
    (alias,) = of_type(on, "AWS::Lambda::Alias").values()
    assert "FunctionVersion" in alias["Properties"]


@pytest.mark.parametrize(
    ("snapstart", "provisioned", "refused"),
    [("true", "2", True), ("true", "0", False), ("false", "2", False), ("false", "0", False)],
)
def test_snapstart_and_provisioned_concurrency_are_refused_together(
    sam: Template, snapstart: str, provisioned: str, refused: bool
) -> None:
    # Evaluated as CloudFormation would, not matched as text: an inverted rule fails here.
    parameters = standalone(
        "PRIMARY", "eu-west-1", SnapStart=snapstart, ProvisionedConcurrency=provisioned
    )
    failed = failed_rules(sam, parameters, region="eu-west-1")
    assert ("SnapStartOrProvisioned" in failed) is refused
    assert set(failed) <= {"SnapStartOrProvisioned"}  # no other rule decides this


@pytest.mark.parametrize(("host", "refused"), [("", True), ("app-eu-west-1.example.com", False)])
def test_embedded_mode_needs_its_health_host(sam: Template, host: str, refused: bool) -> None:
    parameters = embedded("PRIMARY", "eu-west-1", EmbeddedHealthHost=host)
    assert ("EmbeddedNeedsHost" in failed_rules(sam, parameters, region="eu-west-1")) is refused
    # Standalone mode has no embedded host and needs none.
    alone = standalone("PRIMARY", "eu-west-1")
    assert "EmbeddedNeedsHost" not in failed_rules(sam, alone, region="eu-west-1")


@pytest.mark.parametrize(
    ("target", "zone", "refused"),
    [
        ("d-abc123.execute-api.eu-west-1.amazonaws.com", "", True),
        ("d-abc123.execute-api.eu-west-1.amazonaws.com", "ZAPIGATEWAY", False),
        ("", "", False),  # no alias target: no zone needed
    ],
)
def test_an_alias_target_needs_its_zone(
    sam: Template, target: str, zone: str, refused: bool
) -> None:
    parameters = embedded(
        "PRIMARY", "eu-west-1", AliasTargetDnsName=target, AliasTargetHostedZoneId=zone
    )
    failed = failed_rules(sam, parameters, region="eu-west-1")
    assert ("AliasTargetNeedsZone" in failed) is refused
