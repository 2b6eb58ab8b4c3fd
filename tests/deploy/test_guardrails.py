"""Issue 22's refusals: setups that pass cfn-lint and the SAM translator but cannot fail over.

Each is refused before any AWS call (exit 2, naming the parameter and what to do). The pairs
file is the example's api pair (``tests/deploy/test_deploy_script.pairs_file``) with one edit.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from checks.http import HttpCheck
from checks.result import Status
from deploy.capacity import capacity_needed
from deploy.engine import function_environment, generated_config
from deploy.pairs import PairsError, load_pairs
from deploy.plan import monitoring_argv
from deploy.validate import validate
from service.config import parse_config
from service.running.testing import run_check
from support.proxy import StubHttpServer
from support.rehearsal import TABLE_CHECK
from tests.deploy.test_deploy_script import own_config, pairs_file, run

PANEL = "arn:aws:route53-recovery-control::111122223333:controlpanel/{panel}/routingcontrol/{rc}"


def refusal(path: Path) -> PairsError:
    with pytest.raises(PairsError) as caught:
        validate(load_pairs(path))
    return caught.value


EMBEDDED = {"Mode": '"embedded"', "TableName": '""', "HealthPath": '"/internal/health"'}


@pytest.mark.parametrize(
    ("edits", "key", "words"),
    [
        (  # item 2: the primary checks the secondary's regional name
            {"primary": {"RegionalDomainName": '"health-euw1.example.com"'}},
            "pairs[0].primary.parameters.RegionalDomainName",
            ["health-euw1.example.com is also the SECONDARY's (eu-west-1) checked host"],
        ),
        (  # item 2, embedded: the primary's host is the secondary's
            {
                "shared": EMBEDDED,
                "primary": {"EmbeddedHealthHost": '"app-euw1.example.com"'},
                "secondary": {"EmbeddedHealthHost": '"app-euw1.example.com"'},
            },
            "pairs[0].primary.parameters.EmbeddedHealthHost",
            ["is also the SECONDARY's (eu-west-1) checked host", "its own regional host"],
        ),
        (  # item 2, embedded: an execute-api host of the other region
            {
                "shared": EMBEDDED,
                "primary": {"EmbeddedHealthHost": '"a1.execute-api.eu-west-1.amazonaws.com"'},
                "secondary": {"EmbeddedHealthHost": '"app-euw1.example.com"'},
            },
            "pairs[0].primary.parameters.EmbeddedHealthHost",
            ["API Gateway in eu-west-1, not us-east-1"],
        ),
        (  # item 3: the alias target is a load balancer of the other region
            {
                "secondary": {
                    "AliasTargetDnsName": '"dualstack.app-1.us-east-1.elb.amazonaws.com"',
                    "AliasTargetHostedZoneId": '"Z35SXDOTRQ7X7K"',
                }
            },
            "pairs[0].secondary.parameters.AliasTargetDnsName",
            ["an Application or Classic Load Balancer in us-east-1, not eu-west-1"],
        ),
        (  # item 5: the state table is the table the check reads
            {"shared": {"StateTableName": '"accounts"'}},
            "pairs[0].primary.parameters.StateTableName",
            ["accounts is the table the dynamodb_read check reads", "leave StateTableName empty"],
        ),
        (  # item 4: AAAA records on an IPv4-only check, silently
            {"shared": {"DualStack": "true"}},
            "pairs[0].primary.parameters.AaaaHealthCheck",
            ["Route 53 runs over IPv4 only", "same-as-a", "DualStack = false"],
        ),
        (
            {"shared": {"DualStack": "true", "AaaaHealthCheck": '"fe80::zz"'}},
            "pairs[0].primary.parameters.AaaaHealthCheck",
            ["neither same-as-a nor an IPv6 address"],
        ),
        (  # item 10: no alias target, no shared domain: no record at all
            {
                "primary": {"AliasTargetDnsName": '""', "CertificateArn": '""'},
            },
            "pairs[0].primary.parameters.AliasTargetDnsName",
            ["creates no record for api.example.com", "records_elsewhere = true"],
        ),
        (  # item 1: the two routing controls are in different panels: no safety rule possible
            {
                "shared": {"OperatorControl": '"routing-control"'},
                "primary": {"RoutingControlArn": f'"{PANEL.format(panel="p1", rc="a")}"'},
                "secondary": {"RoutingControlArn": f'"{PANEL.format(panel="p2", rc="b")}"'},
            },
            "pairs[0].primary.parameters.RoutingControlArn",
            ["not in one ARC control panel", "arc_safety_rule = false"],
        ),
    ],
)
def test_fail_open_setups_are_refused_naming_the_parameter(
    tmp_path: Path, edits: dict[str, dict[str, str]], key: str, words: list[str]
) -> None:
    error = refusal(pairs_file(tmp_path, **edits))
    assert error.key == key, str(error)
    for word in words:
        assert word in error.problem, error.problem


def test_records_managed_elsewhere_is_an_explicit_choice(tmp_path: Path) -> None:
    no_records = {"primary": {"AliasTargetDnsName": '""', "CertificateArn": '""'},
                  "secondary": {"AliasTargetDnsName": '""', "CertificateArn": '""'}}  # fmt: skip
    validate(load_pairs(pairs_file(tmp_path, pair="records_elsewhere = true", **no_records)))


def test_aaaa_records_are_allowed_once_their_evidence_is_chosen(tmp_path: Path) -> None:
    for choice in ('"same-as-a"', '"2001:db8::1"'):
        validate(load_pairs(pairs_file(tmp_path, shared={"DualStack": "true",
                                                         "AaaaHealthCheck": choice})))  # fmt: skip


# ------------------------------------------------------------------ item 6: config vs template


@pytest.mark.parametrize(
    ("service", "shared", "parameter", "words"),
    [
        ('marker = "OTHER-MARKER"', {}, "Marker", ["'DEEP-HEALTH-OK' (the health check's search"]),
        (  # compared even without in-region alarms: dashboards and the peer alarm read it
            'emf_namespace = "Accounts"',
            {"InRegionAlarms": '"false"'},
            "MetricsNamespace",
            ["says 'Accounts'"],
        ),
    ],
)
def test_a_bundled_config_that_disagrees_with_the_template_is_refused(
    tmp_path: Path, service: str, shared: dict[str, str], parameter: str, words: list[str]
) -> None:
    config = own_config(tmp_path, TABLE_CHECK + f"[service]\n{service}\n")
    error = refusal(pairs_file(tmp_path, pair=config, shared=shared))
    assert error.key == f"pairs[0].primary.parameters.{parameter}", str(error)
    for word in words:
        assert word in error.problem


def test_a_config_that_reads_the_marker_from_the_template_passes(tmp_path: Path) -> None:
    text = TABLE_CHECK + '[service]\nmarker = "${DEEP_HEALTH_MARKER}"\n'
    path = pairs_file(tmp_path, pair=own_config(tmp_path, text), shared={"Marker": '"REGION-OK"'})
    validate(load_pairs(path))


# ------------------------------------------------------------------ item 8: capacity


def test_capacity_follows_route_53_s_figures() -> None:
    slow = capacity_needed(3, 30)
    assert (slow.checkers, slow.rate, slow.burst, slow.concurrency) == (15, 1, 15, 2)
    fast = capacity_needed(3, 10)
    assert (fast.rate, fast.burst, fast.concurrency) == (2, 15, 4)
    everywhere = capacity_needed(8, 10, checks=2)  # 8 regions, an IPv6 check too
    assert (everywhere.checkers, everywhere.rate, everywhere.concurrency) == (80, 8, 17)


@pytest.mark.parametrize(
    ("parameter", "value", "least"),
    [("ReservedConcurrency", "1", 4), ("HealthRateLimit", "1", 2), ("HealthBurstLimit", "1", 15)],
)
def test_limits_below_what_the_checkers_send_are_refused_with_the_arithmetic(
    tmp_path: Path, parameter: str, value: str, least: int
) -> None:
    shared = {"HealthCheckInterval": "10", parameter: value}
    error = refusal(pairs_file(tmp_path, shared=shared))
    assert error.key == f"pairs[0].primary.parameters.{parameter}"
    assert f"{value} is below what Route 53's checkers need ({least})" in error.problem
    assert (
        "3 checker regions x 5 checkers = 15 checkers, each every 10 s = 1.5 requests/s"
        in error.problem
    )
    assert f"Set {parameter} to at least {least}." in error.problem


def test_the_template_defaults_cover_eight_checker_regions_at_fast_interval(
    tmp_path: Path,
) -> None:
    regions = '["us-east-1", "us-west-1", "us-west-2", "eu-west-1", "ap-southeast-1",' \
              ' "ap-southeast-2", "ap-northeast-1", "sa-east-1"]'  # fmt: skip
    shared = {"HealthCheckInterval": "10", "CheckerRegions": regions}
    validate(load_pairs(pairs_file(tmp_path, shared=shared)))


# ------------------------------------------------------------------ item 1: ARC's safety rule


def test_routing_controls_in_both_regions_get_the_safety_rule_in_the_monitoring_stack(
    tmp_path: Path,
) -> None:
    primary, secondary = PANEL.format(panel="p1", rc="a"), PANEL.format(panel="p1", rc="b")
    edits = {
        "shared": {"OperatorControl": '"routing-control"'},
        "primary": {"RoutingControlArn": f'"{primary}"'},
        "secondary": {"RoutingControlArn": f'"{secondary}"'},
    }
    pairs = load_pairs(pairs_file(tmp_path, **edits))
    validate(pairs)
    argv = monitoring_argv(pairs.pairs[0], "p", "s")
    assert f"PrimaryRoutingControlArn={primary}" in argv
    assert f"SecondaryRoutingControlArn={secondary}" in argv
    opted_out = load_pairs(pairs_file(tmp_path, pair="arc_safety_rule = false", **edits))
    assert not any("RoutingControlArn" in a for a in monitoring_argv(opted_out.pairs[0], "p", "s"))


def test_the_cli_refuses_before_any_aws_call_with_exit_2(tmp_path: Path) -> None:
    path = pairs_file(tmp_path, shared={"StateTableName": '"accounts"'})
    result = run("--pairs", str(path), "--dry-run")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: pairs[0].primary.parameters.StateTableName: ")


# ------------------------------------------------------------------ item 3: the application


APP = {
    "primary": {"ApplicationHealthUrl": '"https://api-use1.example.com/ping"'},
    "secondary": {"ApplicationHealthUrl": '"https://api-euw1.example.com/ping"'},
}


def test_the_generated_config_probes_the_application_on_its_regional_host(
    tmp_path: Path,
) -> None:
    pairs = load_pairs(pairs_file(tmp_path, **APP))
    validate(pairs)
    pair = pairs.pairs[0]
    text = generated_config(pair)
    assert '[[checks]]\ntype = "http"\nname = "application"\nurl = "${DEEP_HEALTH_APP_URL}"' in text
    for stack, host in ((pair.primary, "api-use1"), (pair.secondary, "api-euw1")):
        environ = function_environment(pair.values(stack), stack.region)
        config = parse_config(text, environ=environ)
        (application,) = [c for c in config.checks if c.check_name == "application"]
        assert isinstance(application, HttpCheck)
        assert application.url == f"https://{host}.example.com/ping"


@pytest.mark.parametrize(
    ("secondary", "side", "words"),
    [
        ('"https://api.example.com/ping"', "secondary", "names the shared name"),
        ('"https://api-use1.example.com/ping"', "primary", "is also the SECONDARY's"),
        (
            '"https://a1.execute-api.us-east-1.amazonaws.com/ping"',
            "secondary",
            "API Gateway in us-east-1",
        ),
        ('""', "secondary", "the check would fail in this region"),
    ],
)
def test_an_application_probe_of_the_wrong_host_is_refused(
    tmp_path: Path, secondary: str, side: str, words: str
) -> None:
    edits = {**APP, "secondary": {"ApplicationHealthUrl": secondary}}
    error = refusal(pairs_file(tmp_path, **edits))
    assert error.key == f"pairs[0].{side}.parameters.ApplicationHealthUrl", str(error)
    assert words in error.problem


def test_an_application_that_fails_fails_its_region_while_its_tables_are_fine(
    tmp_path: Path,
) -> None:
    pair = load_pairs(pairs_file(tmp_path, **APP)).pairs[0]
    with StubHttpServer(status=503) as app:
        values = {**pair.values(pair.primary), "ApplicationHealthUrl": f"{app.url}/ping"}
        config = parse_config(
            generated_config(pair), environ=function_environment(values, "us-east-1")
        )
        (application,) = [c for c in config.checks if c.check_name == "application"]
        assert asyncio.run(run_check(application)).status is Status.FAIL
        app.status = 200
        assert asyncio.run(run_check(application)).status is Status.PASS
