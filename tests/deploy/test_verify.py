"""``deep-health verify``: whether failover is armed, read from Route 53 (moto after a rehearsal).

The judgement itself (:func:`deploy.verify.assess`) is pure and tested table-style; the command
is tested end to end against moto's Route 53 after the example pair's rehearsal.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from deploy.pairs import Pair, load_pairs
from deploy.rehearse import Rehearsal, moto_server, rehearse
from deploy.verify import (
    STATE_TABLE_MEANS,
    Live,
    StateTable,
    assess,
    state_table_line,
    state_table_problem,
)

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
        "RequestInterval": 30,
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
            {"secondary_check": check("health-euw1.example.com", RequestInterval=10)},
            "interval is '10', expected '30'",
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
    with moto_server() as url:
        pairs = load_pairs(EXAMPLE)
        api_only = dataclasses.replace(pairs, pairs=pairs.pairs[:1])
        result = rehearse(api_only, endpoint_url=url, release_id="verify", log=lambda _: None)
        # The pairs file names the real zone; point it at the emulator's.
        path = tmp_path_factory.mktemp("verify") / "pairs.toml"
        path.write_text(
            EXAMPLE.read_text(encoding="utf-8").replace(
                "Z0123456789EXAMPLE", result.zones["Z0123456789EXAMPLE"]
            ),
            encoding="utf-8",
        )
        yield url, result, path


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
