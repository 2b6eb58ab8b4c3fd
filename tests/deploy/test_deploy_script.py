"""``python -m deploy``: the pairs file's validation and the --dry-run commands."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.pairs import PairsError, load_pairs
from deploy.template import load_template, parameter_names

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "pairs.example.toml"

VALID = """
[defaults]
hosted_zone_id = "Z0123456789EXAMPLE"
[[pairs]]
name = "api"
record_name = "api.example.com"
[pairs.primary]
region = "us-east-1"
[pairs.secondary]
region = "eu-west-1"
"""


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deploy", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )


def dry_run_commands(stdout: str) -> list[list[str]]:
    return [shlex.split(line) for line in stdout.splitlines() if line.startswith("sam deploy")]


def overrides_of(command: list[str]) -> dict[str, str]:
    start = command.index("--parameter-overrides") + 1
    return dict(item.split("=", 1) for item in command[start:])


def option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_example_pairs_file_is_valid_against_the_template() -> None:
    known = parameter_names(load_template(ROOT / "template.yaml"))
    pairs = load_pairs(EXAMPLE, known_parameters=known)
    assert [pair.name for pair in pairs.pairs] == ["api", "auth"]
    assert [(s.region, s.role) for s in pairs.pairs[0].stacks] == [
        ("us-east-1", "PRIMARY"),
        ("eu-west-1", "SECONDARY"),
    ]


def test_dry_run_prints_the_build_once_and_one_sam_deploy_per_region() -> None:
    result = run("--pairs", str(EXAMPLE), "--dry-run", "--release-id", "rel-1")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert sum("pip wheel" in line for line in lines) == 1
    assert sum("--platform manylinux2014_aarch64" in line for line in lines) == 1
    assert "cp deploy/health.lambda.toml build/lambda/config/health.toml" in lines
    commands = dry_run_commands(result.stdout)
    where = [(option(c, "--stack-name"), option(c, "--region")) for c in commands]
    assert where == [
        ("deep-health-api", "us-east-1"),
        ("deep-health-api", "eu-west-1"),
        ("deep-health-auth", "us-west-2"),
        ("deep-health-auth", "eu-central-1"),
    ]
    build_end = max(i for i, line in enumerate(lines) if "pip " in line or line.startswith("cp "))
    first_deploy = min(i for i, line in enumerate(lines) if line.startswith("sam deploy"))
    assert build_end < first_deploy


def test_dry_run_parameter_overrides_per_region() -> None:
    result = run("--pairs", str(EXAMPLE), "--dry-run", "--release-id", "rel-1")
    primary, secondary, auth_primary, auth_secondary = map(
        overrides_of, dry_run_commands(result.stdout)
    )
    assert primary["Role"] == "PRIMARY"
    assert secondary["Role"] == "SECONDARY"
    for values in (primary, secondary):
        assert values["RecordName"] == "api.example.com"
        assert values["HostedZoneId"] == "Z0123456789EXAMPLE"
        assert values["RoutingMode"] == "failover"
        assert values["ReleaseId"] == "rel-1"
        assert values["TableName"] == "accounts"
        assert values["CheckerRegions"] == "us-east-1,eu-west-1,ap-southeast-1"
        assert values["DetailsToken"] == "****"  # resolved from SSM at deploy time, never shown
    assert primary["RegionalDomainName"] == "health-use1.example.com"
    assert secondary["RegionalDomainName"] == "health-euw1.example.com"
    assert ":us-east-1:" in primary["CertificateArn"]
    assert ":eu-west-1:" in secondary["CertificateArn"]
    assert "AlarmEmail" in primary
    assert "AlarmEmail" not in secondary
    for values in (auth_primary, auth_secondary):
        assert values["Mode"] == "embedded"
        assert values["RoutingMode"] == "latency"
        assert "DetailsToken" not in values
    assert auth_primary["EmbeddedHealthHost"] != auth_secondary["EmbeddedHealthHost"]


def test_dry_run_uses_iam_capability_and_managed_buckets() -> None:
    result = run("--pairs", str(EXAMPLE), "--dry-run", "--release-id", "x")
    for command in dry_run_commands(result.stdout):
        assert option(command, "--capabilities") == "CAPABILITY_IAM"
        assert option(command, "--template-file") == "template.yaml"
        assert "--resolve-s3" in command


def test_pair_option_selects_one_pair() -> None:
    result = run("--pairs", str(EXAMPLE), "--dry-run", "--release-id", "x", "--pair", "auth")
    assert result.returncode == 0, result.stderr
    regions = [option(c, "--region") for c in dry_run_commands(result.stdout)]
    assert regions == ["us-west-2", "eu-central-1"]
    unknown = run("--pairs", str(EXAMPLE), "--dry-run", "--pair", "nope")
    assert unknown.returncode == 2
    assert "--pair: no pair named 'nope'" in unknown.stderr


def without(text: str, line: str) -> str:
    assert line in text
    return text.replace(line + "\n", "")


@pytest.mark.parametrize(
    ("content", "key", "problem"),
    [
        (
            without(without(VALID, "[pairs.primary]"), 'region = "us-east-1"'),
            "pairs[0].primary",
            "a SECONDARY region needs its PRIMARY",
        ),
        (
            without(without(VALID, "[pairs.secondary]"), 'region = "eu-west-1"'),
            "pairs[0].secondary",
            "a PRIMARY region needs its SECONDARY",
        ),
        (VALID.replace('"eu-west-1"', '"us-east-1"'), "pairs[0].secondary.region", "same region"),
        (VALID.replace('"eu-west-1"', '"Europe"'), "pairs[0].secondary.region", "not a region"),
        (without(VALID, 'name = "api"'), "pairs[0].name", "required"),
        (VALID.replace("api.example.com", "api"), "pairs[0].record_name", "not a DNS name"),
        (
            VALID.replace('hosted_zone_id = "Z0123456789EXAMPLE"', ""),
            "pairs[0].hosted_zone_id",
            "required",
        ),
        (VALID.replace("Z0123456789EXAMPLE", "zone-1"), "defaults.hosted_zone_id", "not a hosted"),
        (VALID + 'routing_mode = "geo"\n', "pairs[0].secondary.routing_mode", "unknown key"),
        (
            VALID.replace('name = "api"', 'name = "api"\nrouting_mode = "geo"'),
            "pairs[0].routing_mode",
            "'failover' or 'latency'",
        ),
        (
            VALID + "[pairs.parameters]\nRole = 'PRIMARY'\n",
            "pairs[0].parameters.Role",
            "set by the deploy script",
        ),
        (
            VALID + "[pairs.parameters]\nNoSuchParameter = 1\n",
            "pairs[0].parameters.NoSuchParameter",
            "not a parameter of the template",
        ),
        (
            VALID + "[pairs.parameters]\nFailureThreshold = 1.5\n",
            "pairs[0].parameters.FailureThreshold",
            "must be a string",
        ),
        (VALID + VALID[VALID.index("[[pairs]]") :], "pairs[1].record_name", "already served"),
        ("[defaults]\n", "pairs", "at least one [[pairs]]"),
        ("pairs = [", "pairs.toml", "not valid TOML"),
        ("colour = 'blue'\n", "colour", "unknown key"),
    ],
)
def test_bad_pairs_files_fail_naming_the_key(
    tmp_path: Path, content: str, key: str, problem: str
) -> None:
    path = tmp_path / "pairs.toml"
    path.write_text(content, encoding="utf-8")
    known = parameter_names(load_template(ROOT / "template.yaml"))
    with pytest.raises(PairsError) as raised:
        load_pairs(path, known_parameters=known)
    assert str(raised.value).startswith(key if key != "pairs.toml" else str(path))
    assert problem in str(raised.value)


def test_cli_reports_a_bad_pairs_file_with_exit_code_2(tmp_path: Path) -> None:
    path = tmp_path / "pairs.toml"
    path.write_text(without(VALID, "[pairs.primary]").replace('region = "us-east-1"\n', ""))
    result = run("--pairs", str(path), "--dry-run")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: pairs[0].primary: missing: a SECONDARY region needs its PRIMARY"
    )
    assert result.stdout == ""


def test_cli_reports_a_missing_file(tmp_path: Path) -> None:
    result = run("--pairs", str(tmp_path / "absent.toml"), "--dry-run")
    assert result.returncode == 2
    assert "cannot read" in result.stderr
