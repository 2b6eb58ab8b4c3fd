"""template.yaml and deploy/monitoring.yaml: the rules and resources that keep failover armed.

Each test renders the template (SAM transform, conditions evaluated) or evaluates its Rules as
CloudFormation would, so inverting a rule or a condition fails it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from deploy.facts import TEMPLATE_DEFAULTS
from deploy.plan import MONITORING_TEMPLATE
from deploy.template import DEFAULT_TEMPLATE, evaluate_conditions, failed_rules, load_template
from service.listeners.emf import _CHECK_METRICS, _REGION_METRICS
from tests.deploy.test_template import (
    CERT,
    RECORD,
    ZONE,
    Template,
    embedded,
    of_type,
    rendered,
    resolved,
)

ROOT = Path(__file__).resolve().parents[2]
APP = "d-abc123.execute-api.eu-west-1.amazonaws.com"


@pytest.fixture(scope="module")
def sam() -> Template:
    return load_template(DEFAULT_TEMPLATE)


def production(role: str, region: str, **extra: str) -> dict[str, str]:
    """A standalone stack in front of the application's own regional endpoint."""
    return {
        "Role": role,
        "HostedZoneId": ZONE,
        "RecordName": RECORD,
        "CertificateArn": CERT.format(region=region),
        "RegionalDomainName": f"health-{region}.example.com",
        "AliasTargetDnsName": APP,
        "AliasTargetHostedZoneId": "ZLY8HYME6SFDD",
        **extra,
    }


def test_verify_knows_the_template_defaults(sam: Template) -> None:
    for name, value in TEMPLATE_DEFAULTS.items():
        assert str(sam["Parameters"][name]["Default"]) == value, name


# ------------------------------------------------------------------ rules


def test_a_production_name_is_never_mapped_to_the_health_api(sam: Template) -> None:
    taken = {**production("PRIMARY", "eu-west-1"), "AliasTargetDnsName": ""}
    assert "NeverTakeTheProductionName" in failed_rules(sam, taken, region="eu-west-1")
    resources = rendered(sam, taken, "eu-west-1")
    assert "SharedDomain" not in resources  # nor does the condition create it
    consented = {**taken, "RecordIsHealthOnly": "true"}
    assert failed_rules(sam, consented, region="eu-west-1") == {}
    assert "SharedDomain" in rendered(sam, consented, "eu-west-1")
    assert failed_rules(sam, production("PRIMARY", "eu-west-1"), region="eu-west-1") == {}


@pytest.mark.parametrize(("path", "refused"), [("/health", False), ("/healthz", True)])
def test_standalone_serves_only_health(sam: Template, path: str, refused: bool) -> None:
    failed = failed_rules(sam, production("PRIMARY", "eu-west-1", HealthPath=path), region="x")
    assert ("StandaloneServesHealth" in failed) is refused
    embedded_elsewhere = embedded("PRIMARY", "eu-west-1", HealthPath="/internal/health")
    assert "StandaloneServesHealth" not in failed_rules(sam, embedded_elsewhere, region="x")


@pytest.mark.parametrize(
    ("regions", "refused"),
    [
        ("us-east-1,eu-west-1,ap-southeast-1", False),
        ("us-east-1,eu-central-1,ap-southeast-1", True),  # no Route 53 checkers there
    ],
)
def test_checker_regions_are_route_53_ones(sam: Template, regions: str, refused: bool) -> None:
    parameters = production("PRIMARY", "eu-west-1", CheckerRegions=regions)
    assert ("CheckerRegionsAreRoute53s" in failed_rules(sam, parameters, region="x")) is refused


def test_an_operator_control_needs_its_target(sam: Template) -> None:
    for control, target in (
        ("routing-control", "RoutingControlArn"),
        ("standby-alarm", "StandbyAlarmArn"),
    ):
        parameters = production("PRIMARY", "eu-west-1", OperatorControl=control)
        assert "OperatorControlNeedsItsTarget" in failed_rules(sam, parameters, region="x")
        parameters[target] = "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:standby"
        assert failed_rules(sam, parameters, region="x") == {}


# ------------------------------------------------------------------ the health route


def test_the_health_function_has_reserved_concurrency(sam: Template) -> None:
    on = resolved(sam, production("PRIMARY", "eu-west-1"), "eu-west-1")
    (function,) = of_type(on, "AWS::Lambda::Function").values()
    assert function["Properties"]["ReservedConcurrentExecutions"] == "10"
    off = resolved(sam, production("PRIMARY", "eu-west-1", ReservedConcurrency="0"), "x")
    (function,) = of_type(off, "AWS::Lambda::Function").values()
    assert "ReservedConcurrentExecutions" not in function["Properties"]


def stage(sam: Template, **extra: str) -> dict[str, Any]:
    resources = resolved(sam, production("PRIMARY", "eu-west-1", **extra), "eu-west-1")
    (found,) = of_type(resources, "AWS::ApiGatewayV2::Stage").values()
    properties: dict[str, Any] = found["Properties"]
    return properties


def test_the_polled_route_has_limits_of_its_own_above_the_details_route(sam: Template) -> None:
    properties = stage(sam, HealthRateLimit="700", HealthBurstLimit="1400")
    routes = properties["RouteSettings"]
    default = properties["DefaultRouteSettings"]
    for route in ("GET /health", "HEAD /health"):
        assert routes[route] == {"ThrottlingRateLimit": "700", "ThrottlingBurstLimit": "1400"}
    assert "GET /health/details" not in routes  # the token route keeps the low default
    assert default["ThrottlingRateLimit"] < 700
    assert default["ThrottlingBurstLimit"] < 1400


def test_the_api_writes_access_logs_to_its_own_group(sam: Template) -> None:
    properties = stage(sam)
    settings = properties["AccessLogSettings"]
    assert settings["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    for field in ("$context.status", "$context.routeKey", "$context.identity.userAgent"):
        assert field in settings["Format"]
    resources = resolved(sam, production("PRIMARY", "eu-west-1"), "eu-west-1")
    assert resources["ApiAccessLogGroup"]["Type"] == "AWS::Logs::LogGroup"


# ------------------------------------------------------------------ IAM follows the checks


def statements(sam: Template, **extra: str) -> dict[str, Any]:
    resources = resolved(sam, production("PRIMARY", "eu-west-1", **extra), "eu-west-1")
    (role,) = of_type(resources, "AWS::IAM::Role").values()
    found = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    return {statement["Sid"]: statement for statement in found}


def test_the_round_trip_grant_covers_the_probe_queue_never_the_production_queue(
    sam: Template,
) -> None:
    found = statements(sam, QueueName="orders", ProbeQueueName="deep-health-probe")
    assert found["SqsProbeRoundTrip"]["Resource"]["Fn::Sub"].endswith(":${ProbeQueueName}")
    assert found["SqsAttributes"]["Action"] == "sqs:GetQueueAttributes"
    assert "SqsProbeRoundTrip" not in statements(sam, QueueName="orders")


def test_kms_is_granted_on_the_given_keys_only(sam: Template) -> None:
    keys = "arn:aws:kms:eu-west-1:1:key/a,arn:aws:kms:eu-west-1:1:key/b"
    found = statements(sam, TableName="accounts", KmsKeyArns=keys)
    assert found["KmsDecrypt"]["Resource"] == {"Fn::Split": [",", keys]}
    assert "KmsDecrypt" not in statements(sam, TableName="accounts")


def test_the_token_parameter_grant_is_scoped_to_that_parameter(sam: Template) -> None:
    found = statements(sam, DetailsTokenParameter="/deep-health/api/token")
    resource = found["DetailsTokenParameter"]["Resource"]["Fn::Sub"]
    assert resource.endswith(":parameter${DetailsTokenParameter}")
    assert "DetailsTokenParameter" not in statements(sam)


# ------------------------------------------------------------------ alarms in every region


EMF_METRICS = {m["Name"] for m in (*_REGION_METRICS, *_CHECK_METRICS)}


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1", "eu-central-1"])
def test_every_region_alarms_on_the_service_s_own_metrics_with_its_own_topic(
    sam: Template, region: str
) -> None:
    parameters = production(
        "SECONDARY",
        region,
        AlarmEmail="oncall@example.com",
        PeerHealthUrl="https://health-other.example.com/health",
    )
    resources = resolved(sam, parameters, region)
    alarms = of_type(resources, "AWS::CloudWatch::Alarm")
    assert set(alarms) == {"RegionUnhealthyAlarm", "PeerUnhealthyAlarm"}
    topic = {"Ref": "AlarmTopic"}
    assert resources["AlarmTopic"]["Type"] == "AWS::SNS::Topic"
    for alarm in alarms.values():
        properties = alarm["Properties"]
        assert properties["Namespace"] == "DeepHealth"
        assert properties["MetricName"] in EMF_METRICS  # what service/listeners/emf.py publishes
        assert properties["AlarmActions"] == [topic]
        assert properties["TreatMissingData"] == "breaching"  # silence is not health
        dimensions = {d["Name"]: d["Value"] for d in properties["Dimensions"]}
        assert dimensions["service"] == "deep-health"
        assert dimensions["region"] == {"Ref": "AWS::Region"}
    region_alarm = alarms["RegionUnhealthyAlarm"]["Properties"]
    assert region_alarm["MetricName"] == "RegionHealthy"
    assert region_alarm["ComparisonOperator"] == "LessThanThreshold"
    peer = alarms["PeerUnhealthyAlarm"]["Properties"]
    assert peer["MetricName"] == "CheckFailed"
    assert {d["Name"]: d["Value"] for d in peer["Dimensions"]}["check"] == "peer"
    assert peer["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    # HealthCheckStatus (us-east-1 only) is the monitoring stack's, never this stack's.
    assert all(a["Properties"]["Namespace"] != "AWS/Route53" for a in alarms.values())


def test_no_peer_url_no_peer_alarm(sam: Template) -> None:
    resources = rendered(sam, production("PRIMARY", "eu-west-1"), "eu-west-1")
    assert "PeerUnhealthyAlarm" not in resources
    assert "RegionUnhealthyAlarm" in resources


# ------------------------------------------------------------------ operator failover


def record_checks(resources: dict[str, Template]) -> set[str]:
    return {
        str(r["Properties"]["HealthCheckId"])
        for r in of_type(resources, "AWS::Route53::RecordSet").values()
        if r["Properties"]["Name"] == RECORD
    }


def test_the_operator_control_is_off_by_default(sam: Template) -> None:
    resources = resolved(sam, production("PRIMARY", "eu-west-1"), "eu-west-1")
    assert set(of_type(resources, "AWS::Route53::HealthCheck")) == {"HealthCheck"}
    assert record_checks(resources) == {str({"Ref": "HealthCheck"})}


@pytest.mark.parametrize(
    ("control", "extra", "kind"),
    [
        (
            "routing-control",
            {
                "RoutingControlArn": "arn:aws:route53-recovery-control::1:controlpanel/p/"
                "routingcontrol/r"
            },
            "RECOVERY_CONTROL",
        ),
        (
            "standby-alarm",
            {"StandbyAlarmArn": "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:standby"},
            "CLOUDWATCH_METRIC",
        ),
    ],
)
def test_the_operator_control_joins_the_deep_check_in_a_calculated_check(
    sam: Template, control: str, extra: dict[str, str], kind: str
) -> None:
    parameters = production("PRIMARY", "us-east-1", OperatorControl=control, **extra)
    resources = resolved(sam, parameters, "us-east-1")
    combined = resources["CombinedHealthCheck"]["Properties"]["HealthCheckConfig"]
    assert combined["Type"] == "CALCULATED"
    assert combined["ChildHealthChecks"] == [
        {"Ref": "HealthCheck"},
        {"Ref": "OperatorHealthCheck"},
    ]
    assert combined["HealthThreshold"] == 2  # both must be healthy
    operator = resources["OperatorHealthCheck"]["Properties"]["HealthCheckConfig"]
    assert operator["Type"] == kind
    assert record_checks(resources) == {str({"Ref": "CombinedHealthCheck"})}
    if kind == "CLOUDWATCH_METRIC":
        # The alarm's region comes from its ARN: the standby region, not this one.
        region = operator["AlarmIdentifier"]["Region"]
        assert region == {"Fn::Select": [3, {"Fn::Split": [":", extra["StandbyAlarmArn"]]}]}


# ------------------------------------------------------------------ the monitoring stack


@pytest.fixture(scope="module")
def monitoring() -> Template:
    return load_template(MONITORING_TEMPLATE)


def test_monitoring_template_is_cfn_lint_clean() -> None:
    lint = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), str(MONITORING_TEMPLATE)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_monitoring_alarms_on_both_health_checks_and_on_both_unhealthy(
    monitoring: Template,
) -> None:
    resources = monitoring["Resources"]
    watched = {}
    for logical_id in ("PrimaryUnhealthy", "SecondaryUnhealthy"):
        properties = resources[logical_id]["Properties"]
        assert properties["Namespace"] == "AWS/Route53"
        assert properties["MetricName"] == "HealthCheckStatus"
        assert properties["ComparisonOperator"] == "LessThanThreshold"
        assert properties["AlarmActions"] == [{"Ref": "Topic"}]
        (dimension,) = properties["Dimensions"]
        watched[logical_id] = dimension["Value"]
    assert watched == {
        "PrimaryUnhealthy": {"Ref": "PrimaryHealthCheckId"},
        "SecondaryUnhealthy": {"Ref": "SecondaryHealthCheckId"},
    }
    composite = resources["PairFailedOpen"]
    assert composite["Type"] == "AWS::CloudWatch::CompositeAlarm"
    rule = composite["Properties"]["AlarmRule"]["Fn::Sub"]
    assert rule == 'ALARM("${PrimaryUnhealthy}") AND ALARM("${SecondaryUnhealthy}")'


@pytest.mark.parametrize(("region", "refused"), [("us-east-1", False), ("eu-west-1", True)])
def test_monitoring_refuses_any_region_but_us_east_1(
    monitoring: Template, region: str, refused: bool
) -> None:
    values = {
        "PairName": "api",
        "RecordName": RECORD,
        "PrimaryHealthCheckId": "a",
        "SecondaryHealthCheckId": "b",
        "PrimaryRegion": "x",
        "SecondaryRegion": "y",
    }
    assert ("OnlyInUsEast1" in failed_rules(monitoring, values, region=region)) is refused


# ------------------------------------------------------------------ issue 22


def test_the_access_logs_go_under_vendedlogs(sam: Template) -> None:
    resources = resolved(sam, production("PRIMARY", "eu-west-1"), "eu-west-1")
    name = resources["ApiAccessLogGroup"]["Properties"]["LogGroupName"]
    assert name == {"Fn::Sub": "/aws/vendedlogs/deep-health/${AWS::StackName}/api-access"}


def aaaa_check(resources: dict[str, Template]) -> Any:
    return resources["RecordAAAA"]["Properties"]["HealthCheckId"]


def test_no_aaaa_records_unless_their_evidence_is_chosen(sam: Template) -> None:
    assert "RecordAAAA" not in rendered(sam, production("PRIMARY", "eu-west-1"), "eu-west-1")
    silent = production("PRIMARY", "eu-west-1", DualStack="true")
    assert "AaaaRecordsNeedTheirCheck" in failed_rules(sam, silent, region="eu-west-1")
    knowingly = {**silent, "AaaaHealthCheck": "same-as-a"}
    assert failed_rules(sam, knowingly, region="eu-west-1") == {}
    resources = resolved(sam, knowingly, "eu-west-1")
    assert aaaa_check(resources) == {"Ref": "HealthCheck"}
    assert "HealthCheckV6" not in resources


def test_an_ipv6_address_gives_the_aaaa_records_a_check_over_ipv6(sam: Template) -> None:
    parameters = production("PRIMARY", "eu-west-1", DualStack="true", AaaaHealthCheck="2001:db8::1")
    resources = resolved(sam, parameters, "eu-west-1")
    v6 = resources["HealthCheckV6"]["Properties"]["HealthCheckConfig"]
    v4 = resources["HealthCheck"]["Properties"]["HealthCheckConfig"]
    assert v6["IPAddress"] == "2001:db8::1"
    # Same host (SNI and Host header), path, marker, interval and threshold as the IPv4 check.
    assert {k: v for k, v in v6.items() if k != "IPAddress"} == v4
    assert aaaa_check(resources) == {"Ref": "HealthCheckV6"}
    assert resources["RecordA"]["Properties"]["HealthCheckId"] == {"Ref": "HealthCheck"}
    operated = resolved(
        sam,
        {**parameters, "OperatorControl": "standby-alarm",
         "StandbyAlarmArn": "arn:aws:cloudwatch:us-east-1:111122223333:alarm:standby"},
        "eu-west-1",
    )  # fmt: skip
    assert aaaa_check(operated) == {"Ref": "CombinedHealthCheckV6"}
    children = operated["CombinedHealthCheckV6"]["Properties"]["HealthCheckConfig"]
    assert children["ChildHealthChecks"] == [
        {"Ref": "HealthCheckV6"},
        {"Ref": "OperatorHealthCheck"},
    ]
    assert children["HealthThreshold"] == 2


def test_the_monitoring_stack_holds_arc_s_safety_rule_over_both_controls(
    monitoring: Template,
) -> None:
    rule = monitoring["Resources"]["SafetyRule"]
    assert rule["Type"] == "AWS::Route53RecoveryControl::SafetyRule"
    assert rule["Condition"] == "HasRoutingControls"
    properties = rule["Properties"]
    assert properties["AssertionRule"]["AssertedControls"] == [
        {"Ref": "PrimaryRoutingControlArn"},
        {"Ref": "SecondaryRoutingControlArn"},
    ]
    assert properties["RuleConfig"] == {"Type": "ATLEAST", "Threshold": 1, "Inverted": False}
    values = {
        "PairName": "api", "RecordName": RECORD, "PrimaryHealthCheckId": "a",
        "SecondaryHealthCheckId": "b", "PrimaryRegion": "x", "SecondaryRegion": "y",
    }  # fmt: skip
    assert (
        evaluate_conditions(monitoring, values, region="us-east-1")["HasRoutingControls"] is False
    )
    both = {**values, "PrimaryRoutingControlArn": "p", "SecondaryRoutingControlArn": "s"}
    assert evaluate_conditions(monitoring, both, region="us-east-1")["HasRoutingControls"] is True
