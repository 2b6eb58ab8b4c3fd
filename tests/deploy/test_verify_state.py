"""``verify`` reads where the deployed function really keeps the fleet's failover state: its
environment (Lambda's configuration) and the engine config in the package the stack records,
against a rehearsal in moto's server."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.deployed import FUNCTION, function_name
from deploy.pairs import Pair, load_pairs
from deploy.rehearse import REHEARSAL_CODE_BUCKET, Rehearsal, StackResult
from deploy.verify import PairVerdict, verify
from support.rehearsal import aws, rehearsed_pairs
from tests.deploy.test_verify import EXAMPLE
from tests.deploy.test_verify import verify as verify_cli

pytestmark = pytest.mark.integration

NOT_SHARED = "the fleet's state is not shared: each container keeps its own failover state"


@pytest.fixture(scope="module")
def rehearsed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Rehearsal, Path]]:
    directory = tmp_path_factory.mktemp("verify-state")
    with rehearsed_pairs(EXAMPLE, directory, "state", pairs=1) as found:
        yield found


client = aws


def verdict(url: str, path: Path) -> PairVerdict:
    pair: Pair = load_pairs(path).pairs[0]
    (found,) = verify(
        [pair],
        client(url, "route53", "us-east-1"),
        lambda service, region: client(url, service, region),
    )
    return found


def function_of(url: str, stack: StackResult) -> str:
    return function_name(client(url, "cloudformation", stack.region), stack.stack_name)


def of(result: Rehearsal, role: str) -> StackResult:
    return next(s for s in result.stacks if s.role == role)


def test_a_rehearsed_pair_shares_the_state_in_both_regions(
    rehearsed: tuple[str, Rehearsal, Path],
) -> None:
    url, _, path = rehearsed
    found = verdict(url, path)
    assert not [p for p in found.problems if "state" in p], found.problems
    assert not [w for w in found.warnings if "failover state" in w], found.warnings


def test_a_function_told_to_keep_its_state_in_memory_is_not_armed(
    rehearsed: tuple[str, Rehearsal, Path],
) -> None:
    """Regression: verify read only the stack's parameters and the table, so a function that
    used neither (its environment, or its bundled config) was reported armed."""
    url, result, path = rehearsed
    secondary = of(result, "SECONDARY")
    lambda_client = client(url, "lambda", secondary.region)
    name = function_of(url, secondary)
    live = lambda_client.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
    variables = {key: str(value) for key, value in live.items()}
    lambda_client.update_function_configuration(
        FunctionName=name,
        Environment={"Variables": {**variables, "DEEP_HEALTH_STATE_STORE": "memory"}},
    )
    try:
        cli = verify_cli(url, path)
    finally:
        lambda_client.update_function_configuration(
            FunctionName=name, Environment={"Variables": variables}
        )
    assert cli.returncode == 1, cli.stdout + cli.stderr
    assert (
        f"NOT ARMED: SECONDARY {secondary.region}: {NOT_SHARED}"
        " (DEEP_HEALTH_STATE_STORE='memory' in its environment)" in cli.stdout
    ), cli.stdout


def replace_bundled_config(url: str, stack: StackResult, text: str) -> bytes:
    """Put ``text`` as the config of the package the stack records; returns the old package."""
    cloudformation = client(url, "cloudformation", stack.region)
    body = cloudformation.get_template(StackName=stack.stack_name)["TemplateBody"]
    template = json.loads(body) if isinstance(body, str) else body
    code = template["Resources"][FUNCTION]["Properties"]["Code"]
    s3 = client(url, "s3", stack.region)
    old: bytes = s3.get_object(Bucket=code["S3Bucket"], Key=code["S3Key"])["Body"].read()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("config/health.toml", text)
    s3.put_object(Bucket=code["S3Bucket"], Key=code["S3Key"], Body=buffer.getvalue())
    return old


NO_STATE = """\
[service]
emf_namespace = "DeepHealth"
[[checks]]
type = "dynamodb_read"
table = "${DEEP_HEALTH_TABLE}"
key = { pk = "canary" }
"""


def test_a_package_whose_config_keeps_the_state_in_memory_is_not_armed_unless_chosen(
    rehearsed: tuple[str, Rehearsal, Path], tmp_path: Path
) -> None:
    url, result, path = rehearsed
    primary = of(result, "PRIMARY")
    old = replace_bundled_config(url, primary, NO_STATE)
    try:
        found = verdict(url, path)
        # The pair opts out: the same function is then what it asked for.
        chosen = tmp_path / "pairs.toml"
        chosen.write_text(
            path.read_text(encoding="utf-8").replace(
                'QueueName = "orders"', 'QueueName = "orders"\nStateStore = "memory"'
            ),
            encoding="utf-8",
        )
        opted_out = verdict(url, chosen)
    finally:
        s3 = client(url, "s3", primary.region)
        s3.put_object(Bucket=f"{REHEARSAL_CODE_BUCKET}-{primary.region}",
                      Key=f"{primary.stack_name}.zip", Body=old)  # fmt: skip
    expected = (
        f"PRIMARY {primary.region}: {NOT_SHARED}"
        " (its bundled config's [state] store = 'memory'); a new container answers healthy"
        " for a region the others hold failed over"
    )
    assert expected in found.problems, found.problems
    assert not [p for p in opted_out.problems if "state" in p], opted_out.problems
    assert any("as the pair chose (StateStore = memory)" in w for w in opted_out.warnings)


def test_a_package_that_cannot_be_read_is_a_warning_naming_what(
    rehearsed: tuple[str, Rehearsal, Path],
) -> None:
    url, result, path = rehearsed
    secondary = of(result, "SECONDARY")
    s3 = client(url, "s3", secondary.region)
    bucket, key = f"{REHEARSAL_CODE_BUCKET}-{secondary.region}", f"{secondary.stack_name}.zip"
    old = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    s3.delete_object(Bucket=bucket, Key=key)
    try:
        found = verdict(url, path)
    finally:
        s3.put_object(Bucket=bucket, Key=key, Body=old)
    assert not [p for p in found.problems if "state" in p], found.problems
    assert (
        f"SECONDARY {secondary.region}: cannot tell whether its containers share the failover"
        " state: the deployed function's config could not be read (NoSuchKey)" in found.warnings
    ), found.warnings
