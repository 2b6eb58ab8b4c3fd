"""The deployed function keeps the fleet's failover state where the stack keeps it: the table
the template creates and grants, or (the pair's explicit opt-out) each container's memory."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.engine import STATE_TABLE_PLACEHOLDER, function_environment, generated_config
from deploy.pairs import load_pairs
from service.config import parse_config
from support.rehearsal import TABLE_CHECK
from tests.deploy.test_deploy_script import own_config, pairs_file, run
from tests.deploy.test_state_template import BASE, FUNCTION, REGION, of_type
from tests.deploy.test_template import iam_actions, resolved

# A pair's own config as it was commonly written before [state] existed: no shared state.
NO_STATE = TABLE_CHECK.split("[state]")[0]


@pytest.mark.parametrize(
    ("store", "expected"),
    [("dynamodb", ("dynamodb", STATE_TABLE_PLACEHOLDER)), ("memory", ("memory", None))],
)
def test_the_generated_config_keeps_the_state_where_the_stack_does(
    tmp_path: Path, store: str, expected: tuple[str, str | None]
) -> None:
    (pair,) = load_pairs(pairs_file(tmp_path, shared={"StateStore": f'"{store}"'})).pairs
    for stack in pair.stacks:
        environment = function_environment(pair.values(stack), stack.region)
        config = parse_config(generated_config(pair), environ=environment)
        assert (config.state.store, config.state.table) == expected
        assert config.state.region == stack.region


def test_a_config_keeping_the_state_in_memory_on_lambda_is_refused(tmp_path: Path) -> None:
    """Regression: a pair's own config without [state] deployed a fleet whose containers each
    judged alone, while the stack created the table and verify said ARMED."""
    path = pairs_file(tmp_path, pair=own_config(tmp_path, NO_STATE))
    # No --dry-run and no AWS anywhere: refused before any AWS call.
    result = run("--pairs", str(path), "--release-id", "r")
    assert result.returncode == 2, result.stdout
    assert result.stderr.startswith("error: pairs[0].primary.config: "), result.stderr
    assert "[state] store = 'memory'" in result.stderr  # the default
    assert "StateStore = 'memory'" in result.stderr


def test_the_pair_may_keep_the_state_in_memory_explicitly(tmp_path: Path) -> None:
    path = pairs_file(
        tmp_path, pair=own_config(tmp_path, NO_STATE), shared={"StateStore": '"memory"'}
    )
    result = run("--pairs", str(path), "--dry-run", "--release-id", "r")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("state", "shared", "key", "words"),
    [
        (  # the opt-out creates no table and grants nothing
            '[state]\nstore = "dynamodb"\ntable = "my-state"\n',
            {"StateStore": '"memory"'},
            "pairs[0].primary.parameters.StateStore",
            ["table 'my-state'", "creates no table and grants nothing"],
        ),
        (  # a table the stack neither creates nor grants
            '[state]\nstore = "dynamodb"\ntable = "my-state"\n',
            {},
            "pairs[0].primary.config",
            ["table 'my-state'", "creates and grants its own table"],
        ),
        (  # another region's table
            '[state]\nstore = "dynamodb"\ntable = "${DEEP_HEALTH_STATE_TABLE}"\n'
            'region = "us-west-2"\n',
            {},
            "pairs[0].primary.config",
            ["region 'us-west-2'", "[state] region"],
        ),
    ],
)
def test_a_state_the_stack_does_not_create_is_refused(
    tmp_path: Path, state: str, shared: dict[str, str], key: str, words: list[str]
) -> None:
    path = pairs_file(tmp_path, pair=own_config(tmp_path, NO_STATE + state), shared=shared)
    result = run("--pairs", str(path), "--dry-run")
    assert result.returncode == 2, result.stdout
    assert result.stderr.startswith(f"error: {key}: "), result.stderr
    for word in words:
        assert word in result.stderr


def test_the_memory_opt_out_gives_the_function_no_table_even_when_one_is_named() -> None:
    from deploy.template import DEFAULT_TEMPLATE, load_template

    values = {**BASE, "StateStore": "memory", "StateTableName": "shared-state"}
    resources = resolved(load_template(DEFAULT_TEMPLATE), values, REGION)
    (function,) = of_type(resources, FUNCTION)
    variables = function["Properties"]["Environment"]["Variables"]
    assert variables["DEEP_HEALTH_STATE_TABLE"] == ""
    assert not {action for action in iam_actions(resources) if "dynamodb" in action}
    assert function_environment(values, REGION)["DEEP_HEALTH_STATE_TABLE"] == ""
