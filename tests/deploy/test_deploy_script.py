"""``python -m deploy``: the pairs file's validation and the --dry-run commands."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.pairs import PairsError, load_pairs
from deploy.template import load_template, parameter_names
from support.rehearsal import TABLE_CHECK

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


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deploy", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def dry_run_commands(stdout: str) -> list[list[str]]:
    """The regional ``sam deploy`` commands (not the monitoring stacks')."""
    return [
        shlex.split(line)
        for line in stdout.splitlines()
        if line.startswith("sam deploy --template-file template.yaml")
    ]


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
    assert lines[1] == f"cd {ROOT}"  # the commands run in the project, pasted from anywhere
    # The directory exists before the config is written into it.
    first_mkdir = lines.index("mkdir -p build/lambda/config")
    assert lines[first_mkdir + 1] == "cat > build/lambda/config/health.toml <<'EOF'"
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
        # The token stays in SSM: only its name is passed, never its value (nor stars).
        assert values["DetailsTokenParameter"] == "/deep-health/api/details-token"
    assert primary["RegionalDomainName"] == "health-use1.example.com"
    assert secondary["RegionalDomainName"] == "health-euw1.example.com"
    assert ":us-east-1:" in primary["CertificateArn"]
    assert ":eu-west-1:" in secondary["CertificateArn"]
    assert "AlarmEmail" in primary
    assert secondary["AlarmEmail"] != primary["AlarmEmail"]  # each region its own topic
    for values in (auth_primary, auth_secondary):
        assert values["Mode"] == "embedded"
        assert values["RoutingMode"] == "latency"
        assert "DetailsTokenParameter" not in values
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


def test_dry_run_works_from_any_directory_and_its_commands_run_as_pasted(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run("--pairs", str(EXAMPLE), "--dry-run", "--release-id", "r", cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    assert "****" not in result.stdout
    assert "<SecureString" not in result.stdout
    # Run the first pair's bundling commands exactly as printed, in a copy of the project.
    lines = result.stdout.splitlines()
    start = lines.index("mkdir -p build/lambda/config")
    end = lines.index("EOF", start)
    project = tmp_path / "project"
    project.mkdir()
    pasted = subprocess.run(
        ["bash", "-e", "-c", "\n".join(lines[start : end + 1])],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert pasted.returncode == 0, pasted.stderr
    bundled = (project / "build/lambda/config/health.toml").read_text(encoding="utf-8")
    from deploy.engine import function_environment
    from service.config import parse_config

    values = load_pairs(EXAMPLE).pairs[0]
    environ = function_environment(values.values(values.primary), "us-east-1")
    config = parse_config(bundled, environ=environ | {"AWS_REGION": "us-east-1"})
    assert {check.check_name for check in config.checks} == {"table", "queue", "peer"}


def test_dry_run_gates_each_region_and_deploys_the_alarms_after_both() -> None:
    result = run("--pairs", str(EXAMPLE), "--dry-run", "--release-id", "r", "--pair", "api")
    descriptions = [line for line in result.stdout.splitlines() if line.startswith("# ")]
    deploys = [d for d in descriptions if d.startswith(("# deploy", "# gate"))]
    # Each region's alarms stack right after it (a region that fails its gate is alarmed).
    assert deploys == [
        "# deploy deep-health-api (PRIMARY) to us-east-1",
        "# deploy deep-health-api-alarms (alarms on the lambda path) to us-east-1",
        "# gate: PRIMARY us-east-1 must answer healthy before the rollout goes on",
        "# deploy deep-health-api (SECONDARY) to eu-west-1",
        "# deploy deep-health-api-alarms (alarms on the lambda path) to eu-west-1",
        "# gate: SECONDARY eu-west-1 must answer healthy before the rollout goes on",
        "# deploy deep-health-api-monitoring (alarms on both health checks) to us-east-1",
        "# deploy deep-health-api-dashboard (the pair's dashboard) to us-east-1",
    ]
    monitoring = next(
        line
        for line in result.stdout.splitlines()
        if "--stack-name deep-health-api-monitoring" in line
    )
    assert "--region us-east-1" in monitoring
    # The ids are read from the regional stacks' outputs when the command runs.
    assert "--region us-east-1 --stack-name deep-health-api --query" in monitoring
    assert "--region eu-west-1 --stack-name deep-health-api --query" in monitoring


SHARED = {
    "TableName": '"accounts"',
    "CheckerRegions": '["us-east-1", "eu-west-1", "ap-southeast-1"]',
    "PeerHealthUrl": '""',  # no peer check here (the example pair has one)
    "AlarmEmail": '"oncall@example.com"',  # required (deploy.alarms)
}
PRIMARY = {
    "RegionalDomainName": '"health-use1.example.com"',
    "CertificateArn": '"arn:aws:acm:us-east-1:111122223333:certificate/1"',
    "AliasTargetDnsName": '"d-1.execute-api.us-east-1.amazonaws.com"',
    "AliasTargetHostedZoneId": '"Z1UJRXOUMOOFQ8"',
}
SECONDARY = {
    "RegionalDomainName": '"health-euw1.example.com"',
    "CertificateArn": '"arn:aws:acm:eu-west-1:111122223333:certificate/2"',
    "AliasTargetDnsName": '"d-2.execute-api.eu-west-1.amazonaws.com"',
    "AliasTargetHostedZoneId": '"ZLY8HYME6SFDD"',
}


def _table(values: dict[str, str]) -> str:
    return "".join(f"{name} = {value}\n" for name, value in values.items())


def pairs_file(
    tmp_path: Path,
    pair: str = "",
    shared: dict[str, str] | None = None,
    primary: dict[str, str] | None = None,
    secondary: dict[str, str] | None = None,
) -> Path:
    """The example's api pair, with TOML-literal parameter values replaced."""
    text = (
        '[defaults]\nhosted_zone_id = "Z0123456789EXAMPLE"\n'
        f'[[pairs]]\nname = "api"\nrecord_name = "api.example.com"\n{pair}\n'
        f"[pairs.parameters]\n{_table(SHARED | (shared or {}))}"
        f'[pairs.primary]\nregion = "us-east-1"\n'
        f"[pairs.primary.parameters]\n{_table(PRIMARY | (primary or {}))}"
        f'[pairs.secondary]\nregion = "eu-west-1"\n'
        f"[pairs.secondary.parameters]\n{_table(SECONDARY | (secondary or {}))}"
    )
    path = tmp_path / "pairs.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_valid_pair_passes(tmp_path: Path) -> None:
    result = run("--pairs", str(pairs_file(tmp_path)), "--dry-run", "--release-id", "r")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("edits", "key", "words"),
    [
        (
            {"primary": {"AliasTargetDnsName": '""', "AliasTargetHostedZoneId": '""'}},
            "pairs[0].primary.parameters.AliasTargetDnsName",
            ["pair api, PRIMARY us-east-1", "every application route would answer 404"],
        ),
        (
            {"secondary": {"CertificateArn": '"arn:aws:acm:us-east-1:111122223333:certificate/2"'}},
            "pairs[0].secondary.parameters.CertificateArn",
            ["pair api, SECONDARY eu-west-1", "the certificate is in us-east-1"],
        ),
        (
            {"shared": {"CheckerRegions": '["us-east-1", "eu-west-1"]'}},
            "pairs[0].primary.parameters.CheckerRegions",
            ["pair api, PRIMARY us-east-1", "needs at least 3"],
        ),
        (
            {"shared": {"CheckerRegions": '["us-east-1", "eu-west-1", "eu-central-1"]'}},
            "pairs[0].primary.parameters.CheckerRegions",
            ["eu-central-1 is not a Route 53 checker region"],
        ),
        (
            {"secondary": {"AliasTargetHostedZoneId": '"Z1UJRXOUMOOFQ8"'}},
            "pairs[0].secondary.parameters.AliasTargetHostedZoneId",
            ["pair api, SECONDARY eu-west-1", "regional zone id in eu-west-1 is ZLY8HYME6SFDD"],
        ),
        (
            {"secondary": {"AliasTargetDnsName": '"d-2.execute-api.us-east-1.amazonaws.com"'}},
            "pairs[0].secondary.parameters.AliasTargetDnsName",
            ["an API Gateway endpoint in us-east-1, not eu-west-1"],
        ),
        (
            {"shared": {"HealthPath": '"/healthz"'}},
            "pairs[0].primary.parameters.HealthPath",
            ["serves /health only", "404"],
        ),
        (
            {"secondary": {"ProvisionedConcurrency": "20"}},
            "pairs[0].secondary.parameters.ProvisionedConcurrency",
            ["exceeds ReservedConcurrency 10"],
        ),
    ],
)
def test_setups_that_would_break_failover_are_refused_before_any_aws_call(
    tmp_path: Path, edits: dict[str, str], key: str, words: list[str]
) -> None:
    result = run("--pairs", str(pairs_file(tmp_path, **edits)), "--dry-run", "--release-id", "r")
    assert result.returncode == 2, result.stdout
    assert result.stdout == ""
    assert result.stderr.startswith(f"error: {key}: "), result.stderr
    for word in words:
        assert word in result.stderr


def test_a_health_only_name_may_be_mapped_to_the_health_api(tmp_path: Path) -> None:
    path = pairs_file(
        tmp_path,
        pair="health_only_name = true",
        primary={"AliasTargetDnsName": '""', "AliasTargetHostedZoneId": '""'},
        secondary={"AliasTargetDnsName": '""', "AliasTargetHostedZoneId": '""'},
    )
    result = run("--pairs", str(path), "--dry-run", "--release-id", "r")
    assert result.returncode == 0, result.stderr
    assert all(
        overrides_of(command)["RecordIsHealthOnly"] == "true"
        for command in dry_run_commands(result.stdout)
    )


def own_config(tmp_path: Path, text: str) -> str:
    (tmp_path / "health.toml").write_text(text, encoding="utf-8")
    return 'config = "health.toml"'


def test_a_check_whose_resource_is_empty_in_one_region_is_refused_naming_it(
    tmp_path: Path,
) -> None:
    config = own_config(tmp_path, TABLE_CHECK)
    path = pairs_file(tmp_path, pair=config, secondary={"TableName": '""'})
    result = run("--pairs", str(path), "--dry-run")
    assert result.returncode == 2
    assert result.stderr.startswith("error: pairs[0].secondary.parameters.TableName: ")
    assert "pair api, SECONDARY eu-west-1" in result.stderr
    assert "'accounts'" in result.stderr


def test_a_generated_config_has_no_check_for_a_resource_not_given(tmp_path: Path) -> None:
    from deploy.engine import generated_config

    path = pairs_file(tmp_path, shared={"TableName": '""'})
    (pair,) = load_pairs(path).pairs
    assert "dynamodb_read" not in generated_config(pair)
    result = run("--pairs", str(path), "--dry-run", "--release-id", "r")
    # Without the table nothing is left to check: such a region would always answer healthy,
    # and a configuration without checks is refused before anything is deployed.
    assert result.returncode == 2, result.stderr
    assert "no checks configured" in result.stderr
    with_table = generated_config(load_pairs(pairs_file(tmp_path)).pairs[0])
    assert 'type = "dynamodb_read"' in with_table


def test_a_secondary_without_the_primary_s_resource_is_refused(tmp_path: Path) -> None:
    path = pairs_file(tmp_path, secondary={"TableName": '""'})
    result = run("--pairs", str(path), "--dry-run")
    assert result.returncode == 2
    assert result.stderr.startswith("error: pairs[0].secondary.parameters.TableName: ")


@pytest.mark.parametrize(
    ("config", "key", "words"),
    [
        (  # reads a table the stack's IAM does not grant
            TABLE_CHECK.replace("${DEEP_HEALTH_TABLE}", "other"),
            "pairs[0].primary.parameters.TableName",
            ["reads table 'other'", "does not grant"],
        ),
        (  # TableName granted, but no check reads it
            '[[checks]]\ntype = "peer"\nurl = "https://health-euw1.example.com/health"\n',
            "pairs[0].primary.parameters.TableName",
            ["no check of the engine config", "uses it"],
        ),
        (  # the function would not even start
            TABLE_CHECK + "[service]\ndeadline = 5\n",
            "pairs[0].primary.config",
            ["the function would not start", "service.deadline"],
        ),
    ],
)
def test_an_engine_config_must_match_what_the_stack_grants(
    tmp_path: Path, config: str, key: str, words: list[str]
) -> None:
    path = pairs_file(tmp_path, pair=own_config(tmp_path, config))
    result = run("--pairs", str(path), "--dry-run")
    assert result.returncode == 2, result.stdout
    assert result.stderr.startswith(f"error: {key}: "), result.stderr
    for word in words:
        assert word in result.stderr


def test_a_pair_s_own_config_is_bundled_instead_of_the_generated_one(tmp_path: Path) -> None:
    path = pairs_file(tmp_path, pair=own_config(tmp_path, TABLE_CHECK))
    result = run("--pairs", str(path), "--dry-run", "--release-id", "r")
    assert result.returncode == 0, result.stderr
    assert f"cp {tmp_path / 'health.toml'} build/lambda/config/health.toml" in result.stdout


def test_the_shipped_engine_config_fits_the_example_api_pair_without_a_peer(
    tmp_path: Path,
) -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        'details_token_ssm = "/deep-health/api/details-token"',
        'details_token_ssm = "/deep-health/api/details-token"\n'
        f'config = "{ROOT / "deploy" / "health.lambda.toml"}"',
    )
    path = tmp_path / "pairs.toml"
    path.write_text(text, encoding="utf-8")
    # The example makes the other region's URL known, so a peer alarm would watch a check
    # this config does not have: refused.
    refused = run("--pairs", str(path), "--dry-run", "--pair", "api")
    assert refused.returncode == 2
    assert refused.stderr.startswith("error: pairs[0].primary.parameters.PeerCheckName: ")
    path.write_text(
        text.replace('QueueName = "orders"', 'QueueName = "orders"\nPeerHealthUrl = ""'),
        encoding="utf-8",
    )
    result = run("--pairs", str(path), "--dry-run", "--release-id", "r", "--pair", "api")
    assert result.returncode == 0, result.stderr
    assert "cp deploy/health.lambda.toml build/lambda/config/health.toml" in result.stdout


def test_the_in_region_alarms_must_watch_what_the_engine_publishes(tmp_path: Path) -> None:
    config = own_config(tmp_path, TABLE_CHECK + '[service]\nservice_id = "accounts-api"\n')
    path = pairs_file(tmp_path, pair=config)
    result = run("--pairs", str(path), "--dry-run")
    assert result.returncode == 2
    assert result.stderr.startswith("error: pairs[0].primary.parameters.MetricsServiceId: ")
    assert "'accounts-api'" in result.stderr
    fixed = pairs_file(tmp_path, pair=config, shared={"MetricsServiceId": '"accounts-api"'})
    assert run("--pairs", str(fixed), "--dry-run").returncode == 0
