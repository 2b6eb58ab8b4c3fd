"""The container path: deploy/ecs.yaml against template.yaml (same grants, environment and
in-region alarms), the refusals before any AWS call, the dry run, the rehearsal on moto with
`deep-health verify` reading it back, and the task's own command serving the generated config."""

from __future__ import annotations

import base64
import dataclasses
import os
import shlex
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deploy.container import ECS_TEMPLATE, container_config, ecs_overrides
from deploy.engine import STATE_TABLE_PLACEHOLDER, function_environment, generated_config
from deploy.pairs import load_pairs
from deploy.plan import overrides
from deploy.rehearse import Rehearsal, free_port, moto_server
from deploy.template import (
    DEFAULT_TEMPLATE,
    evaluate_conditions,
    failed_rules,
    load_template,
    transform,
)
from service.config import parse_config
from service.state.dynamodb import create_table
from support.rehearsal import aws, rehearsed_pairs

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "pairs.ecs.example.toml"
NETWORK = {
    "VpcId": "vpc-1",
    "AlbSubnetIds": "subnet-1,subnet-2",
    "TaskSubnetIds": "subnet-3,subnet-4",
    "ImageUri": "111122223333.dkr.ecr.eu-west-1.amazonaws.com/deep-health:1",
}


def resolved(node: Any, conditions: dict[str, bool]) -> Any:
    """Resolve ``Fn::If`` (dropping ``AWS::NoValue``); leave the rest as is."""
    if isinstance(node, list):
        items = [resolved(item, conditions) for item in node]
        return [item for item in items if item != {"Ref": "AWS::NoValue"}]
    if not isinstance(node, dict):
        return node
    if set(node) == {"Fn::If"}:
        name, yes, no = node["Fn::If"]
        return resolved(yes if conditions[name] else no, conditions)
    items = {key: resolved(value, conditions) for key, value in node.items()}
    return {key: value for key, value in items.items() if value != {"Ref": "AWS::NoValue"}}


def rendered(template: dict[str, Any], parameters: dict[str, str]) -> dict[str, Any]:
    conditions = evaluate_conditions(template, parameters, region="eu-west-1")
    return {
        logical_id: resolved(spec, conditions)
        for logical_id, spec in template["Resources"].items()
        if conditions.get(spec.get("Condition", ""), True)
    }


def both(parameters: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(template.yaml as SAM transforms it, ecs.yaml) rendered for the same parameters."""
    base = {"Role": "SECONDARY", "HostedZoneId": "ZEXAMPLE", "RecordName": "api.example.com"}
    values = {**base, **parameters}
    sam = transform(load_template(DEFAULT_TEMPLATE), values, region="eu-west-1")
    ecs = load_template(ECS_TEMPLATE)
    return rendered(sam, values), rendered(ecs, {**values, **NETWORK, "EngineConfig": "e30="})


EVERYTHING = {
    "TableName": "accounts",
    "QueueName": "orders",
    "ProbeQueueName": "orders-probe",
    "QueueMaxOldestAge": "300",
    "KmsKeyArns": ",".join(f"arn:aws:kms:eu-west-1:111122223333:key/{n}" for n in (1, 2)),
    "BucketName": "models",
    "ObjectKey": "current.json",
    "DetailsTokenParameter": "/deep-health/api/token",
    "StateTableName": "existing-state",
}


def _statements(role: dict[str, Any]) -> list[Any]:
    policies = role["Properties"].get("Policies", [])
    return [s for policy in policies for s in policy["PolicyDocument"]["Statement"]]


@pytest.mark.parametrize(
    "parameters",
    [
        {},
        EVERYTHING,
        {"TableName": "accounts", "StateStore": "memory"},
        {"QueueName": "orders", "KmsKeyArns": "arn:aws:kms:eu-west-1:111122223333:key/1"},
    ],
)
def test_the_task_role_grants_exactly_what_the_function_s_role_grants(
    parameters: dict[str, str],
) -> None:
    function, task = both(parameters)
    # Logs go through the awslogs driver (the execution role); the token is injected by ECS.
    expected = [
        s
        for s in _statements(function["HealthFunctionRole"])
        if s["Sid"] not in ("Logs", "DetailsTokenParameter")
    ]
    assert _statements(task["TaskRole"]) == expected


def test_with_nothing_configured_the_task_role_has_no_policy() -> None:
    _, task = both({"StateStore": "memory"})
    assert "Policies" not in task["TaskRole"]["Properties"]


def test_the_execution_role_reads_the_token_for_ecs_to_inject() -> None:
    _, task = both(EVERYTHING)
    execution = _statements(task["ExecutionRole"])
    token = next(s for s in execution if s["Sid"] == "DetailsTokenParameter")
    assert token["Action"] == "ssm:GetParameters"
    (container,) = task["TaskDefinition"]["Properties"]["ContainerDefinitions"]
    (secret,) = container["Secrets"]
    assert secret["Name"] == "DEEP_HEALTH_DETAILS_TOKEN"
    assert token["Resource"] == secret["ValueFrom"]  # the same parameter ARN


def test_the_execution_role_decrypts_only_for_the_token() -> None:
    keys = {"KmsKeyArns": EVERYTHING["KmsKeyArns"]}
    _, without_token = both(keys)
    assert [s["Sid"] for s in _statements(without_token["ExecutionRole"])] == ["PullImage", "Logs"]
    _, with_token = both({**keys, "DetailsTokenParameter": "/deep-health/api/token"})
    assert [s["Sid"] for s in _statements(with_token["ExecutionRole"])] == [
        "PullImage", "Logs", "DetailsTokenParameter", "KmsDecryptToken",
    ]  # fmt: skip


def test_the_container_gets_the_function_s_environment() -> None:
    function, task = both(EVERYTHING)
    lambda_env = function["HealthFunction"]["Properties"]["Environment"]["Variables"]
    (container,) = task["TaskDefinition"]["Properties"]["ContainerDefinitions"]
    ecs_env = {item["Name"]: item["Value"] for item in container["Environment"]}
    assert set(ecs_env) - set(lambda_env) == {"DEEP_HEALTH_CONFIG_B64", "AWS_REGION"}
    assert set(lambda_env) <= set(ecs_env)
    # The same values, but for where the config file lives.
    for name, value in lambda_env.items():
        if name != "DEEP_HEALTH_CONFIG":
            assert ecs_env[name] == value, name
    # deploy/engine.py checks configs against this environment for both paths.
    assert set(function_environment({}, "eu-west-1")) == set(ecs_env) - {"DEEP_HEALTH_CONFIG_B64"}


@pytest.mark.parametrize("alarm", ["RegionUnhealthyAlarm", "PeerUnhealthyAlarm"])
def test_the_in_region_alarms_are_the_lambda_path_s(alarm: str) -> None:
    parameters = {"AlarmEmail": "oncall@example.com", "PeerHealthUrl": "https://p.example.com/h"}
    function, task = both(parameters)
    assert task[alarm]["Properties"] == function[alarm]["Properties"]


@pytest.mark.parametrize(
    ("parameters", "kind", "host", "port"),
    [
        (
            {
                "CertificateArn": "arn:aws:acm:eu-west-1:111122223333:certificate/1",
                "RegionalDomainName": "health-euw1.example.com",
            },
            "HTTPS_STR_MATCH",
            "health-euw1.example.com",
            443,
        ),
        ({}, "HTTP_STR_MATCH", {"Fn::GetAtt": ["LoadBalancer", "DNSName"]}, 80),
    ],
)
def test_the_health_check_polls_this_region_s_own_alb(
    parameters: dict[str, str], kind: str, host: Any, port: int
) -> None:
    _, task = both({"RecordIsHealthOnly": "true", **parameters})
    config = task["HealthCheck"]["Properties"]["HealthCheckConfig"]
    assert (config["Type"], config["FullyQualifiedDomainName"], config["Port"]) == (
        kind,
        {"Ref": "RegionalDomainName"} if isinstance(host, str) else host,
        port,
    )
    listener = task["Listener"]["Properties"]
    assert listener["Port"] == port
    assert task["RecordA"]["Properties"]["HealthCheckId"] == {"Ref": "HealthCheck"}
    # The target group checks liveness only: a failed dependency must not kill tasks.
    assert task["TargetGroup"]["Properties"]["HealthCheckPath"] == {"Ref": "LivenessPath"}


def test_the_template_refuses_the_production_name_without_an_alias_target() -> None:
    parameters = {"Role": "PRIMARY", "HostedZoneId": "ZEXAMPLE", "RecordName": "api.example.com"}
    ecs = load_template(ECS_TEMPLATE)
    failed = failed_rules(
        ecs, {**parameters, **NETWORK, "EngineConfig": "e30="}, region="eu-west-1"
    )
    assert set(failed) == {"NeverTakeTheProductionName"}
    assert not failed_rules(ecs, {**parameters, **NETWORK, "Mode": "embedded"}, region="eu-west-1")


def test_cfn_lint_is_clean() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), str(ECS_TEMPLATE)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("platform", ["lambda", "ecs"])
def test_the_generated_config_shares_the_region_s_state_table(platform: str) -> None:
    """Both paths: the stack creates the state table and names it in the environment; the
    generated engine config uses it (every task of an ECS region shares it)."""
    pair = load_pairs(EXAMPLE).pairs[0]
    stack = dataclasses.replace(pair.primary, platform=platform)
    environment = function_environment(pair.values(stack), stack.region)
    config = parse_config(generated_config(pair), environ=environment)
    assert (config.state.store, config.state.table) == ("dynamodb", STATE_TABLE_PLACEHOLDER)
    memory = function_environment({**pair.values(stack), "StateStore": "memory"}, stack.region)
    config = parse_config(generated_config(pair), environ=memory)
    assert (config.state.store, config.state.table) == ("memory", None)


# ------------------------------------------------------------------ refused before any AWS call


def run_deploy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deploy", *args],
        capture_output=True, text=True, check=False, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip


def edited(tmp_path: Path, old: str, new: str, count: int = 1) -> Path:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "pairs.toml"
    path.write_text(text.replace(old, new, count), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "key", "words"),
    [
        (
            'ImageUri = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/deep-health:0.1.0"\n',
            "",
            "pairs[0].secondary.parameters.ImageUri",
            ["pair orders, SECONDARY eu-west-1: required on ecs"],
        ),
        (
            'AlbSubnetIds = ["subnet-0a00000000000a001", "subnet-0a00000000000a002"]',
            'AlbSubnetIds = ["subnet-0a00000000000a001"]',
            "pairs[0].primary.parameters.AlbSubnetIds",
            ["1 subnet", "two Availability Zones"],
        ),
        (
            "DesiredCount = 2\n",
            "DesiredCount = 2\nReservedConcurrency = 5\n",
            "pairs[0].primary.parameters.ReservedConcurrency",
            ["runs on ecs (deploy/ecs.yaml), which has no parameter ReservedConcurrency"],
        ),
        (
            'platform = "ecs"\ndetails',
            'platform = "ecs"\ndetails',
            "",
            [],
        ),
        (
            'name = "orders"\nrecord_name = "orders.example.com"\nplatform = "ecs"',
            'name = "orders"\nrecord_name = "orders.example.com"\nplatform = "k8s"',
            "pairs[0].platform",
            ["must be 'lambda' or 'ecs'"],
        ),
        (
            'AliasTargetDnsName = "d-6f7g8h9i0j.execute-api.eu-west-1.amazonaws.com"\n'
            'AliasTargetHostedZoneId = "ZLY8HYME6SFDD"\n',
            "",
            "pairs[0].secondary.parameters.AliasTargetDnsName",
            ["would alias the deep-health ALB", "health_only_name = true"],
        ),
        (
            '[pairs.secondary]\nregion = "eu-west-1"\n',
            '[pairs.secondary]\nregion = "eu-west-1"\nplatform = "lambda"\n',
            "pairs[0].secondary.parameters.",
            ["runs on lambda (template.yaml), which has no parameter"],
        ),
    ],
)
def test_setups_the_container_path_cannot_take_are_refused_before_any_aws_call(
    tmp_path: Path, old: str, new: str, key: str, words: list[str]
) -> None:
    result = run_deploy("--pairs", str(edited(tmp_path, old, new)), "--dry-run")
    if not key:  # the unchanged example: the control
        assert result.returncode == 0, result.stderr
        return
    assert result.returncode == 2, result.stdout
    assert result.stderr.startswith(f"error: {key}"), result.stderr
    for word in words:
        assert word in result.stderr
    assert "sam deploy" not in result.stdout


def test_a_pair_s_own_config_on_ecs_must_publish_the_alarms_metrics(tmp_path: Path) -> None:
    own = tmp_path / "orders.health.toml"
    own.write_text(
        '[service]\nmarker = "${DEEP_HEALTH_MARKER:-DEEP-HEALTH-OK}"\n'
        '[[checks]]\ntype = "dynamodb_read"\nname = "table"\ntable = "${DEEP_HEALTH_TABLE}"\n'
        'key = { pk = "${DEEP_HEALTH_CANARY_KEY:-canary}" }\n'
        '[[checks]]\ntype = "peer"\nname = "peer"\nurl = "${DEEP_HEALTH_PEER_URL}"\n'
        '[state]\nstore = "${DEEP_HEALTH_STATE_STORE}"\ntable = "${DEEP_HEALTH_STATE_TABLE}"\n',
        encoding="utf-8",
    )
    path = edited(
        tmp_path, 'platform = "ecs"\ndetails', f'platform = "ecs"\nconfig = "{own}"\ndetails'
    )
    refused = run_deploy("--pairs", str(path), "--dry-run")
    assert refused.returncode == 2, refused.stdout
    assert refused.stderr.startswith("error: pairs[0].primary.config: "), refused.stderr
    assert "does not set emf = true" in refused.stderr
    own.write_text(own.read_text().replace("[service]\n", "[service]\nemf = true\n"))
    assert run_deploy("--pairs", str(path), "--dry-run").returncode == 0


# ------------------------------------------------------------------ the dry run


def _ecs_commands(stdout: str) -> list[list[str]]:
    return [
        shlex.split(line)
        for line in stdout.splitlines()
        if line.startswith("sam deploy --template-file deploy/ecs.yaml")
    ]


def _overrides(command: list[str]) -> dict[str, str]:
    start = command.index("--parameter-overrides") + 1
    return dict(item.split("=", 1) for item in command[start:])


def test_the_dry_run_deploys_ecs_regions_with_the_generated_config_and_builds_nothing() -> None:
    result = run_deploy("--pairs", str(EXAMPLE), "--dry-run", "--release-id", "r1")
    assert result.returncode == 0, result.stderr
    assert "pip wheel" not in result.stdout  # no Lambda package on an all-ECS file
    assert result.stdout.splitlines()[1] == f"cd {ROOT}"
    commands = _ecs_commands(result.stdout)
    assert [(c[c.index("--region") + 1]) for c in commands] == [
        "us-east-1", "eu-west-1", "us-west-2", "eu-central-1",
    ]  # fmt: skip
    orders = _overrides(commands[0])
    text = base64.b64decode(orders["EngineConfig"]).decode()
    environment = function_environment({**orders}, "us-east-1") | {"AWS_REGION": "us-east-1"}
    config = parse_config(text, environ=environment)
    assert config.settings.emf is True
    assert {check.check_name for check in config.checks} == {"table", "peer"}
    shop = _overrides(commands[2])
    assert "EngineConfig" not in shop  # embedded: the application's image bundles its own
    assert shop["Mode"] == "embedded"
    assert "--template-file deploy/alarms.yaml" in result.stdout


# ------------------------------------------------------------------ rehearsed on moto


@pytest.fixture(scope="module")
def rehearsed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Rehearsal, Path]]:
    with rehearsed_pairs(EXAMPLE, tmp_path_factory.mktemp("ecs"), "ecs") as found:
        yield found


def _client(service: str, url: str, region: str) -> Any:
    return aws(url, service, region)


def test_every_region_s_stacks_are_created(rehearsed: tuple[str, Rehearsal, Path]) -> None:
    _, result, _ = rehearsed
    assert [(s.stack_name, s.region, s.status) for s in result.stacks] == [
        ("deep-health-orders", "us-east-1", "CREATE_COMPLETE"),
        ("deep-health-orders", "eu-west-1", "CREATE_COMPLETE"),
        ("deep-health-shop", "us-west-2", "CREATE_COMPLETE"),
        ("deep-health-shop", "eu-central-1", "CREATE_COMPLETE"),
    ]
    # Created for real by moto's CloudFormation: the service, its ALB, the Route 53 wiring.
    assert not set(result.stacks[0].stand_ins) & {"Service", "LoadBalancer", "HealthCheck"}
    assert [a.outputs["Destination"].split(":")[3] for a in result.alarms] == [
        "us-east-1", "eu-west-1", "us-west-2", "eu-central-1",
    ]  # fmt: skip
    assert len(result.dashboards) == 2


def test_the_records_carry_the_check_of_each_region_s_own_alb(
    rehearsed: tuple[str, Rehearsal, Path],
) -> None:
    url, result, _ = rehearsed
    records = {
        (str(r["Name"]).rstrip("."), r.get("Failover")): r
        for r in result.record_sets
        if r["Type"] == "A" and "HealthCheckId" in r
    }
    hosts = {
        key: result.health_checks[str(record["HealthCheckId"])]["FullyQualifiedDomainName"]
        for key, record in records.items()
    }
    assert hosts == {
        ("orders.example.com", "PRIMARY"): "health-orders-use1.example.com",
        ("orders.example.com", "SECONDARY"): "health-orders-euw1.example.com",
        ("shop.example.com", "PRIMARY"): "shop-usw2.example.com",
        ("shop.example.com", "SECONDARY"): "shop-euc1.example.com",
    }
    shop = result.stacks[2]
    check = result.health_checks[shop.outputs["HealthCheckId"]]
    assert (check["Type"], check["ResourcePath"]) == ("HTTPS_STR_MATCH", "/internal/health")
    # Embedded: the shared name aliases the region's own ALB (the application is served there).
    (balancer,) = _client("elbv2", url, shop.region).describe_load_balancers()["LoadBalancers"]
    alias = records[("shop.example.com", "PRIMARY")]["AliasTarget"]["DNSName"]
    assert alias.rstrip(".") == balancer["DNSName"]
    regional = next(r for r in result.record_sets if r["Name"].startswith("shop-usw2."))
    assert regional["AliasTarget"]["DNSName"].rstrip(".") == balancer["DNSName"]
    assert not [r for r in result.record_sets if r["Type"] == "AAAA"]


def test_the_task_runs_with_the_region_s_table_role_and_token(
    rehearsed: tuple[str, Rehearsal, Path],
) -> None:
    url, result, _ = rehearsed
    orders = result.stacks[1]
    ecs = _client("ecs", url, orders.region)
    (arn,) = ecs.list_task_definitions()["taskDefinitionArns"]
    definition = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
    (container,) = definition["containerDefinitions"]
    environment = {item["name"]: item["value"] for item in container["environment"]}
    assert environment["DEEP_HEALTH_STATE_TABLE"] == orders.outputs["StateTableName"]
    assert environment["DEEP_HEALTH_TABLE"] == "orders"
    assert environment["AWS_REGION"] == "eu-west-1"
    (secret,) = container["secrets"]
    assert secret["valueFrom"].endswith(":parameter/deep-health/orders/details-token")
    assert "DEEP_HEALTH_DETAILS_TOKEN" not in environment  # its value is never in the definition
    iam = _client("iam", url, orders.region)
    # moto keeps no taskRoleArn on a definition CloudFormation made: the stack names the role.
    cloudformation = _client("cloudformation", url, orders.region)
    role = cloudformation.describe_stack_resource(
        StackName=orders.stack_name, LogicalResourceId="TaskRole"
    )["StackResourceDetail"]["PhysicalResourceId"]
    document = iam.get_role_policy(RoleName=role, PolicyName="deep-health-checks")
    # moto keeps the document as CloudFormation passed it (not always JSON): read it as text.
    policy = str(document["PolicyDocument"])
    assert "DynamoDbRead" in policy
    assert ":table/orders" in policy
    assert "StateStore" in policy
    assert orders.outputs["StateTableName"] in policy
    assert "sqs:" not in policy
    assert "s3:" not in policy
    services = ecs.list_services(cluster=orders.outputs["ClusterName"])["serviceArns"]
    assert len(services) == 1


def test_verify_reads_the_container_path_as_armed(rehearsed: tuple[str, Rehearsal, Path]) -> None:
    url, _, path = rehearsed
    result = subprocess.run(
        [sys.executable, "-m", "service.cli", "verify", "--pairs", str(path),
         "--endpoint-url", url],
        capture_output=True, text=True, check=False, cwd=ROOT,
        env={**os.environ, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"},
    )  # fmt: skip
    assert "orders: orders.example.com -> PRIMARY us-east-1" in result.stdout, result.stderr
    assert result.stdout.count("failover ARMED") == 2, result.stdout
    assert result.returncode == 0


def _verify_pair(url: str, path: Path) -> Any:
    from deploy.verify import verify

    (found,) = verify(
        [load_pairs(path).pairs[0]],
        _client("route53", url, "us-east-1"),
        lambda service, region: _client(service, url, region),
    )
    return found


def test_verify_reads_the_config_the_service_s_task_runs(
    rehearsed: tuple[str, Rehearsal, Path],
) -> None:
    # What the running service's task definition carries is judged, not assumed: a revision
    # whose config keeps the state in memory (each task alone) disarms failover.
    url, result, path = rehearsed
    assert not [w for w in _verify_pair(url, path).warnings if "failover state" in w]
    orders = result.stacks[1]
    ecs = _client("ecs", url, orders.region)
    cluster = orders.outputs["ClusterName"]
    (service_arn,) = ecs.list_services(cluster=cluster)["serviceArns"]
    (service,) = ecs.describe_services(cluster=cluster, services=[service_arn])["services"]
    running = service["taskDefinition"]
    definition = ecs.describe_task_definition(taskDefinition=running)["taskDefinition"]
    (container,) = definition["containerDefinitions"]
    environment = container["environment"]
    encoded = next(e for e in environment if e["name"] == "DEEP_HEALTH_CONFIG_B64")
    text = base64.b64decode(encoded["value"]).decode()
    store = 'store = "${DEEP_HEALTH_STATE_STORE:-dynamodb}"'
    assert store in text
    memory = text.replace(store, 'store = "memory"', 1)
    container["environment"] = [
        {**e, "value": base64.b64encode(memory.encode()).decode()} if e is encoded else e
        for e in environment
    ]
    keep = ("family", "containerDefinitions", "networkMode", "requiresCompatibilities", "cpu")
    keep += ("memory",)
    revision = ecs.register_task_definition(**{k: definition[k] for k in keep if k in definition})
    ecs.update_service(
        cluster=cluster,
        service=service_arn,
        taskDefinition=revision["taskDefinition"]["taskDefinitionArn"],
    )
    try:
        found = _verify_pair(url, path)
    finally:
        ecs.update_service(cluster=cluster, service=service_arn, taskDefinition=running)
    assert any(
        p.startswith(f"SECONDARY {orders.region}: the fleet's state is not shared")
        and "its bundled config's [state] store = 'memory'" in p
        for p in found.problems
    ), found.problems


# ------------------------------------------------------------------ the task's own command


def test_the_task_s_command_serves_the_generated_config(tmp_path: Path) -> None:
    """What ECS runs in a standalone task (the template's EntryPoint and Command, with the
    engine config the deploy script generates), run here against moto: /health passes."""
    pairs = load_pairs(EXAMPLE)
    orders = pairs.pairs[0]
    stack = dataclasses.replace(
        orders.secondary, parameters={**orders.secondary.parameters, "PeerHealthUrl": ""}
    )
    orders = dataclasses.replace(orders, secondary=stack)
    encoded = container_config(generated_config(orders), generated=True)
    values = ecs_overrides(overrides(orders, stack, release_id="task"), engine_config=encoded)
    port = free_port()
    spec = load_template(ECS_TEMPLATE)["Resources"]["TaskDefinition"]["Properties"]
    (container,) = spec["ContainerDefinitions"]
    entrypoint = container["EntryPoint"]["Fn::If"][1]
    (command,) = container["Command"]["Fn::If"][1]
    script = command["Fn::Sub"].replace("${ContainerPort}", str(port))
    script = script.replace("--host 0.0.0.0", "--host 127.0.0.1")  # tests bind loopback only
    assert entrypoint == ["/bin/sh", "-c"]
    with moto_server() as url:
        dynamodb = _client("dynamodb", url, "eu-west-1")
        create_table(dynamodb, "task-state")
        dynamodb.create_table(
            TableName="orders",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.put_item(TableName="orders", Item={"pk": {"S": "canary-eu-west-1"}})
        environment = {
            **function_environment(values, "eu-west-1"),
            "DEEP_HEALTH_CONFIG_B64": values["EngineConfig"],
            "DEEP_HEALTH_STATE_TABLE": "task-state",
            "DEEP_HEALTH_AWS_ENDPOINT": url,
            "AWS_ACCESS_KEY_ID": "x",
            "AWS_SECRET_ACCESS_KEY": "x",
            "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
            "HOME": str(tmp_path),
            "TMPDIR": str(tmp_path),
        }
        script = script.replace("/tmp/health.toml", str(tmp_path / "health.toml"))
        process = subprocess.Popen(
            [*entrypoint, script],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            body = _first_answer(process, f"http://127.0.0.1:{port}/health")
            # What the ALB's target group checks (LivenessPath's default).
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/livez", timeout=5) as live:
                assert live.status == 200
        finally:
            process.terminate()
            output = process.communicate(timeout=10)[0].decode(errors="replace")
    assert "DEEP-HEALTH-OK" in body, output
    written = (tmp_path / "health.toml").read_text(encoding="utf-8")
    assert written.startswith("# Generated by `python -m deploy` for pair 'orders'")
    assert "emf = true" in written


def _first_answer(process: subprocess.Popen[bytes], url: str, attempts: int = 300) -> str:
    """Poll until the server answers 200 (bounded; waiting on the process between tries)."""
    for _ in range(attempts):
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 (http, loopback)
                text: str = answer.read().decode()
                if answer.status == 200 and "DEEP-HEALTH-OK" in text:
                    return text
        except OSError:
            pass
        try:
            process.wait(timeout=0.1)
        except subprocess.TimeoutExpired:
            continue
        raise AssertionError(f"the task's command exited with {process.returncode}")
    raise AssertionError("the task's command never answered healthy")
