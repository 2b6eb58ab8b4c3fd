"""``deep-health verify``: whether failover is armed, read from Route 53 (moto after a rehearsal).

The judgement itself (:func:`deploy.verify.assess`) is pure and tested table-style; the command
is tested end to end against moto's Route 53 after the example pair's rehearsal.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from deploy.pairs import Pair, load_pairs
from deploy.rehearse import Rehearsal
from deploy.verify import (
    STATE_TABLE_MEANS,
    Live,
    StateTable,
    assess,
    judge_state_table,
    monitoring_warnings,
    state_table_line,
    state_table_problem,
)
from support.rehearsal import rehearsed_pairs

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "pairs.example.toml"
OK = "Success: HTTP Status Code 200, OK"
DOWN = "Failure: HTTP Status Code 503"


@pytest.fixture(scope="module")
def api() -> Pair:
    return load_pairs(EXAMPLE).pairs[0]


def check(host: str, **changes: Any) -> dict[str, Any]:
    return {
        "Type": "HTTPS_STR_MATCH",
        "FullyQualifiedDomainName": host,
        "ResourcePath": "/health",
        "SearchString": "DEEP-HEALTH-OK",
        "RequestInterval": 10,
        "FailureThreshold": 3,
        "Regions": ["us-east-1", "eu-west-1", "ap-southeast-1"],
        **changes,
    }


def live(
    primary: list[str] | None = None,
    secondary: list[str] | None = None,
    *,
    secondary_check: dict[str, Any] | None = None,
    secondary_record: bool = True,
    secondary_carries_check: bool = True,
) -> Live:
    records: list[dict[str, Any]] = [
        {"Name": "api.example.com.", "Type": "A", "Failover": "PRIMARY", "HealthCheckId": "p"}
    ]
    if secondary_record:
        record: dict[str, Any] = {"Name": "api.example.com.", "Type": "A", "Failover": "SECONDARY"}
        if secondary_carries_check:
            record["HealthCheckId"] = "s"
        records.append(record)
    return Live(
        records=tuple(records),
        checks={
            "p": check("health-use1.example.com"),
            "s": secondary_check or check("health-euw1.example.com"),
        },
        observations={"p": tuple(primary or [OK] * 16), "s": tuple(secondary or [OK] * 16)},
    )


def test_both_healthy_is_armed_and_answers_the_primary(api: Pair) -> None:
    verdict = assess(api, live())
    assert verdict.armed, verdict.problems
    assert verdict.answer == "PRIMARY us-east-1"
    assert [r.share for r in verdict.regions] == [1.0, 1.0]


def test_a_drained_secondary_disarms_failover(api: Pair) -> None:
    verdict = assess(api, live(secondary=[OK] * 2 + [DOWN] * 14))  # 12.5 %: below 18 %
    assert not verdict.armed
    assert verdict.problems == (
        "SECONDARY eu-west-1 is not healthy to Route 53: failover is disarmed",
    )


def test_a_secondary_just_above_the_18_percent_rule_counts_healthy(api: Pair) -> None:
    assert assess(api, live(secondary=[OK] * 3 + [DOWN] * 13)).armed  # 18.75 %


def test_a_failed_over_pair_answers_the_secondary_and_stays_armed(api: Pair) -> None:
    verdict = assess(api, live(primary=[DOWN] * 16))
    assert verdict.armed
    assert verdict.answer == "SECONDARY eu-west-1 (failed over)"
    assert verdict.warnings == ("PRIMARY us-east-1 is not healthy to Route 53",)


def test_both_unhealthy_fails_open(api: Pair) -> None:
    verdict = assess(api, live(primary=[DOWN] * 16, secondary=[DOWN] * 16))
    assert not verdict.armed
    assert "both unhealthy: fails open" in verdict.answer


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"secondary_record": False}, "SECONDARY eu-west-1: no record for api.example.com"),
        (
            {"secondary_carries_check": False},
            "SECONDARY eu-west-1: its record carries no health check",
        ),
        (
            {"secondary_check": check("api.example.com")},
            "polls the shared name, not the region's own host",
        ),
        (
            {"secondary_check": check("health-euw1.example.com", ResourcePath="/healthz")},
            "path is '/healthz', expected '/health'",
        ),
        (
            {"secondary_check": check("health-euw1.example.com", SearchString="OK")},
            "marker is 'OK', expected 'DEEP-HEALTH-OK'",
        ),
        (
            {"secondary_check": check("health-euw1.example.com", RequestInterval=30)},
            "interval is '30', expected '10'",
        ),
        (
            {"secondary_check": check("health-euw1.example.com", FailureThreshold=10)},
            "failure threshold is '10', expected '3'",
        ),
        (
            {"secondary_check": check("health-euw1.example.com", Disabled=True)},
            "disabled",
        ),
    ],
)
def test_each_fail_open_risk_disarms_failover(
    api: Pair, changes: dict[str, Any], problem: str
) -> None:
    verdict = assess(api, live(**changes))
    assert not verdict.armed
    assert any(problem in found for found in verdict.problems), verdict.problems


def test_a_check_without_string_matching_is_a_warning(api: Pair) -> None:
    verdict = assess(api, live(secondary_check=check("health-euw1.example.com", Type="HTTPS")))
    assert verdict.armed
    assert any("not HTTPS_STR_MATCH" in warning for warning in verdict.warnings)


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("ResourceNotFoundException", "does not exist"),
        ("AccessDeniedException", "denies access (AccessDeniedException)"),
        ("UnrecognizedClientException", "denies access (UnrecognizedClientException)"),
        ("ThrottlingException", "cannot be read (ThrottlingException)"),
    ],
)
def test_a_state_table_that_cannot_be_used_is_a_warning_naming_pair_region_and_table(
    code: str, problem: str
) -> None:
    state = StateTable(
        "api", "SECONDARY", "eu-west-1", "t", state_table_problem(code), STATE_TABLE_MEANS
    )
    assert not state.fine
    assert state_table_line(state) == (
        f"  WARNING: pair api, SECONDARY eu-west-1: state table t {problem}: the fleet shares"
        " no failover state: each instance judges alone; the region is not failed for it"
        " (does not change armed)"
    )


# ------------------------------------------------------------------ against moto's Route 53


@pytest.fixture(scope="module")
def rehearsed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Rehearsal, Path]]:
    with rehearsed_pairs(EXAMPLE, tmp_path_factory.mktemp("verify"), "verify", pairs=1) as found:
        yield found


def verify(url: str, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service.cli.main", "verify", "--pairs", str(path),
         "--pair", "api", "--endpoint-url", url],
        capture_output=True, text=True, check=False, cwd=ROOT,
        env={**os.environ, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"},
    )  # fmt: skip


def test_verify_after_a_rehearsal_is_armed_then_not_once_a_health_check_is_gone(
    rehearsed: tuple[str, Rehearsal, Path],
) -> None:
    url, result, path = rehearsed
    armed = verify(url, path)
    assert armed.returncode == 0, armed.stdout + armed.stderr
    assert "api: api.example.com -> PRIMARY us-east-1" in armed.stdout
    assert "failover ARMED" in armed.stdout
    assert "100% of 1 checkers healthy" in armed.stdout

    secondary = next(s for s in result.stacks if s.role == "SECONDARY")
    route53 = boto3.client(
        "route53", endpoint_url=url, region_name="us-east-1",
        aws_access_key_id="x", aws_secret_access_key="x",
    )  # fmt: skip
    route53.delete_health_check(HealthCheckId=secondary.outputs["HealthCheckId"])
    disarmed = verify(url, path)
    assert disarmed.returncode == 1, disarmed.stdout + disarmed.stderr
    assert "NOT ARMED: SECONDARY eu-west-1: its health check" in disarmed.stdout
    assert "failover NOT armed" in disarmed.stdout


STATE_WARNING = (
    "the fleet shares no failover state: each instance judges alone;"
    " the region is not failed for it"
)


def test_verify_reports_a_missing_state_table_without_changing_armed(
    rehearsed: tuple[str, Rehearsal, Path],
) -> None:
    url, result, path = rehearsed
    # Independent of the test above (which may disarm the pair): compare exit codes only.
    before = verify(url, path)
    assert STATE_WARNING not in before.stdout, before.stdout
    for stack in result.stacks:
        table = stack.outputs["StateTableName"]
        assert (
            f"state table of pair api, {stack.role} {stack.region}: {table} ACTIVE,"
            " TTL on 'expires'" in before.stdout
        ), before.stdout

    secondary = next(s for s in result.stacks if s.role == "SECONDARY")
    table = secondary.outputs["StateTableName"]
    dynamodb = boto3.client(
        "dynamodb", endpoint_url=url, region_name=secondary.region,
        aws_access_key_id="x", aws_secret_access_key="x",
    )  # fmt: skip
    dynamodb.delete_table(TableName=table)
    after = verify(url, path)
    assert after.returncode == before.returncode, after.stdout + after.stderr
    assert (
        f"WARNING: pair api, SECONDARY {secondary.region}: state table {table} does not exist:"
        f" {STATE_WARNING} (does not change armed)" in after.stdout
    ), after.stdout
    primary = next(s for s in result.stacks if s.role == "PRIMARY")
    assert f"PRIMARY {primary.region}: {primary.outputs['StateTableName']} ACTIVE" in after.stdout

    boto3.client(
        "dynamodb", endpoint_url=url, region_name=primary.region,
        aws_access_key_id="x", aws_secret_access_key="x",
    ).update_time_to_live(
        TableName=primary.outputs["StateTableName"],
        TimeToLiveSpecification={"Enabled": False, "AttributeName": "expires"},
    )  # fmt: skip
    no_ttl = verify(url, path)
    assert no_ttl.returncode == before.returncode, no_ttl.stdout + no_ttl.stderr
    assert (
        f"WARNING: pair api, PRIMARY {primary.region}: state table"
        f" {primary.outputs['StateTableName']} has no TTL on 'expires'" in no_ttl.stdout
    ), no_ttl.stdout


def test_verify_refuses_bad_input_with_exit_2(
    rehearsed: tuple[str, Rehearsal, Path], tmp_path: Path
) -> None:
    url, _, _ = rehearsed
    broken = tmp_path / "pairs.toml"
    broken.write_text("[[pairs]]\nname = 'api'\n", encoding="utf-8")
    result = verify(url, broken)
    assert result.returncode == 2
    assert result.stderr.startswith("deep-health verify: pairs[0].record_name")


def test_verify_without_credentials_exits_3_could_not_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from deploy.verify import EXIT_UNCHECKED
    from service.cli.main import main

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance role to find either
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    pairs = Path(__file__).resolve().parents[2] / "deploy" / "pairs.example.toml"
    code = main(["verify", "--pairs", str(pairs), "--endpoint-url", "http://127.0.0.1:9"])
    assert code == EXIT_UNCHECKED == 3  # not 2: the input was fine, nothing could be read
    err = capsys.readouterr().err
    assert err.startswith("deep-health verify: could not check")
    assert len(err.strip().splitlines()) == 1


# ------------------------------------------------------------------ issue 22: the record's check

ARN = "arn:aws:route53-recovery-control::111122223333:controlpanel/p1/routingcontrol/"


def operated(primary_control: list[str], secondary_control: list[str]) -> Live:
    """Both records carry a calculated check: the deep check AND a routing control."""
    base = live()
    records = tuple({**r, "HealthCheckId": f"calc-{r['HealthCheckId']}"} for r in base.records)
    checks = dict(base.checks)
    observations = dict(base.observations)
    for side, control in (("p", primary_control), ("s", secondary_control)):
        checks[f"calc-{side}"] = {
            "Type": "CALCULATED",
            "ChildHealthChecks": [side, f"rc-{side}"],
            "HealthThreshold": 2,
        }
        checks[f"rc-{side}"] = {"Type": "RECOVERY_CONTROL", "RoutingControlArn": ARN + side}
        if control:
            observations[f"rc-{side}"] = tuple(control)
    return Live(records, checks, observations)


def test_both_routing_controls_off_is_not_armed_although_both_deep_checks_pass(api: Pair) -> None:
    verdict = assess(api, operated([DOWN] * 3, [DOWN] * 3))
    assert not verdict.armed
    assert "both unhealthy: fails open" in verdict.answer
    assert verdict.problems == (
        "SECONDARY eu-west-1 is not healthy to Route 53: failover is disarmed",
    )
    secondary = verdict.regions[1]
    assert secondary.health_check_id == "calc-s"
    assert any(f"routing control {ARN}s (rc-s): OFF" in line for line in secondary.detail)
    assert any("1 of 2 children healthy, needs 2" in line for line in secondary.detail)


def test_a_routing_control_on_keeps_its_region_healthy(api: Pair) -> None:
    verdict = assess(api, operated([DOWN] * 3, [OK] * 3))
    assert verdict.armed, verdict.problems
    assert verdict.answer == "SECONDARY eu-west-1 (failed over)"


def test_an_unreadable_routing_control_cannot_confirm_failover_is_armed(api: Pair) -> None:
    verdict = assess(api, operated([OK] * 3, []))
    assert not verdict.armed
    assert "Route 53's view of it cannot be read" in verdict.problems[-1]
    assert any("state unreadable" in warning for warning in verdict.warnings)


def test_the_deep_child_of_a_calculated_check_is_still_compared_with_the_pairs_file(
    api: Pair,
) -> None:
    found = operated([OK] * 3, [OK] * 3)
    checks = {**found.checks, "s": check("health-euw1.example.com", SearchString="OTHER")}
    verdict = assess(api, Live(found.records, checks, found.observations))
    assert any("marker is 'OTHER'" in problem for problem in verdict.problems)


def with_secondary(**changes: Any) -> Live:
    """The example's records and checks, with the secondary's A record changed."""
    base = live()
    records = tuple(
        {**r, **changes} if r.get("Failover") == "SECONDARY" else r for r in base.records
    )
    return Live(records, base.checks, base.observations)


def test_a_region_checking_the_other_region_s_host_is_not_armed(api: Pair) -> None:
    verdict = assess(api, with_secondary(HealthCheckId="p"))  # the primary's deep check
    assert not verdict.armed
    assert (
        "SECONDARY eu-west-1: its health check polls health-use1.example.com, the PRIMARY's"
        " host too: the record follows the other region's health" in verdict.problems
    )
    assert any("the pairs file names health-euw1.example.com" in p for p in verdict.problems)


def test_a_health_check_on_another_region_s_api_is_not_armed(api: Pair) -> None:
    base = live()
    elsewhere = check("abc123.execute-api.us-east-1.amazonaws.com")
    verdict = assess(api, Live(base.records, {**base.checks, "s": elsewhere}, base.observations))
    assert any("API Gateway in us-east-1: the record follows" in p for p in verdict.problems)


@pytest.mark.parametrize(
    ("target", "armed", "words"),
    [
        ("d-2.execute-api.eu-west-1.amazonaws.com.", True, ""),
        ("dualstack.app-1.us-east-1.elb.amazonaws.com.", False, "a Load Balancer"),
        ("d111111abcdef8.cloudfront.net.", True, "CloudFront"),
    ],
)
def test_the_alias_target_s_region_is_read_from_its_name(
    api: Pair, target: str, armed: bool, words: str
) -> None:
    verdict = assess(api, with_secondary(AliasTarget={"DNSName": target}))
    assert verdict.armed is armed, verdict.problems
    if not armed:
        assert any(
            "its record points at dualstack.app-1.us-east-1.elb.amazonaws.com, an Application or"
            " Classic Load Balancer in us-east-1" in p
            for p in verdict.problems
        ), verdict.problems
    elif words:
        assert any("CloudFront" in w and "global service" in w for w in verdict.warnings)


def with_aaaa(check_id: str | None, extra: dict[str, Any] | None = None) -> Live:
    base = live()
    aaaa: dict[str, Any] = {"Name": "api.example.com.", "Type": "AAAA", "Failover": "SECONDARY"}
    if check_id:
        aaaa["HealthCheckId"] = check_id
    checks = {**base.checks, **(extra or {})}
    observations = {**base.observations, **dict.fromkeys(extra or {}, (OK,) * 16)}
    return Live((*base.records, aaaa), checks, observations)


def test_aaaa_records_on_the_ipv4_check_are_said_so(api: Pair) -> None:
    verdict = assess(api, with_aaaa("s"))
    assert verdict.armed
    assert any("Route 53 runs over IPv4 only" in w for w in verdict.warnings)


def test_an_aaaa_record_without_a_check_is_not_armed(api: Pair) -> None:
    verdict = assess(api, with_aaaa(None))
    assert not verdict.armed
    assert "SECONDARY eu-west-1: its AAAA record carries no health check" in verdict.problems[0]


def test_an_aaaa_record_with_its_own_ipv6_check_is_armed_without_a_warning(api: Pair) -> None:
    v6 = check("health-euw1.example.com", IPAddress="2001:db8::1")
    verdict = assess(api, with_aaaa("s6", {"s6": v6}))
    assert verdict.armed, verdict.problems
    assert not any("IPv4" in w for w in verdict.warnings)
    by_name = check("health-euw1.example.com")
    assert not assess(api, with_aaaa("s6", {"s6": by_name})).armed  # no IPAddress: IPv4


def test_a_replicated_state_table_disarms_failover(api: Pair) -> None:
    table = {
        "TableName": "state",
        "TableStatus": "ACTIVE",
        "Replicas": [{"RegionName": "us-east-1"}, {"RegionName": "eu-west-1"}],
    }
    ttl = {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"}
    state = judge_state_table(api, api.secondary, table, ttl)
    assert state.disarms
    assert state_table_line(state).startswith(
        "  NOT ARMED: pair api, SECONDARY eu-west-1: state table state is a global table"
        " (replicas in us-east-1): its items (the latch, the drain and hold switches"
    )
    regional = judge_state_table(api, api.secondary, {**table, "Replicas": []}, ttl)
    assert regional.fine
    assert not regional.disarms
    shared = judge_state_table(
        api, api.secondary, {**table, "Replicas": [], "TableName": "accounts"}, ttl
    )
    assert shared.disarms  # the table the dynamodb_read check reads


def test_alarms_on_another_check_than_the_record_carries_are_a_warning(api: Pair) -> None:
    verdict = assess(api, operated([OK] * 3, [OK] * 3))
    deep = {"PrimaryHealthCheckId": "p", "SecondaryHealthCheckId": "s"}  # an older deploy's
    assert monitoring_warnings(verdict, deep) == (
        "PRIMARY us-east-1: the monitoring stack's alarm watches health check p, but the record"
        " carries calc-p: the alarm does not follow what DNS follows (redeploy the pair to"
        " update it)",
        "SECONDARY eu-west-1: the monitoring stack's alarm watches health check s, but the"
        " record carries calc-s: the alarm does not follow what DNS follows (redeploy the pair"
        " to update it)",
    )
    same = {"PrimaryHealthCheckId": "calc-p", "SecondaryHealthCheckId": "calc-s"}
    assert monitoring_warnings(verdict, same) == ()


def test_routing_control_states_read_from_arc_decide_when_route_53_reports_none(
    api: Pair,
) -> None:
    unread = operated([], [])  # no observations for either control
    on = Live(
        unread.records, unread.checks, unread.observations, {ARN + "p": True, ARN + "s": True}
    )
    assert assess(api, on).armed
    off = Live(
        unread.records, unread.checks, unread.observations, {ARN + "p": True, ARN + "s": False}
    )
    verdict = assess(api, off)
    assert verdict.problems == (
        "SECONDARY eu-west-1 is not healthy to Route 53: failover is disarmed",
    )
    assert any(f"routing control {ARN}s (rc-s): OFF" in line for line in verdict.regions[1].detail)
