"""template.yaml's failover state table: regional, on demand, TTL, exactly the store's calls."""

from __future__ import annotations

from typing import Any

import pytest

from deploy.template import DEFAULT_TEMPLATE, evaluate_conditions, load_template, transform
from service.state.dynamodb import STORE_ACTIONS, TABLE_SCHEMA, TTL_ATTRIBUTE
from tests.deploy.test_template import iam_actions, resolved

FUNCTION = "AWS::Lambda::Function"

Template = dict[str, Any]
REGION = "eu-west-1"
BASE = {"Role": "PRIMARY", "HostedZoneId": "Z0123456789EXAMPLE", "RecordName": "api.example.com"}


@pytest.fixture(scope="module")
def sam() -> Template:
    return load_template(DEFAULT_TEMPLATE)


def rendered(sam: Template, **extra: str) -> tuple[dict[str, Template], dict[str, bool]]:
    parameters = {**BASE, **extra}
    output = transform(sam, parameters, region=REGION)
    conditions = evaluate_conditions(output, parameters, region=REGION)
    resources = {
        key: value
        for key, value in output["Resources"].items()
        if conditions.get(value.get("Condition", ""), True)
    }
    return resources, conditions


def of_type(resources: dict[str, Template], kind: str) -> list[Template]:
    return [value for value in resources.values() if value["Type"] == kind]


def state_statement(resources: dict[str, Template], conditions: dict[str, bool]) -> Any:
    (role,) = [r for r in resources.values() if r["Type"] == "AWS::IAM::Role"]
    for statement in role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]:
        if "Fn::If" in statement and statement["Fn::If"][0] == "UsesStateStore":
            return statement["Fn::If"][1] if conditions["UsesStateStore"] else None
    return None


def test_by_default_the_stack_creates_the_regional_on_demand_table_with_ttl(
    sam: Template,
) -> None:
    resources, conditions = rendered(sam)
    table = resources["StateTable"]["Properties"]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == TABLE_SCHEMA["KeySchema"]
    assert table["AttributeDefinitions"] == TABLE_SCHEMA["AttributeDefinitions"]
    assert table["TimeToLiveSpecification"] == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}
    assert "Replicas" not in table  # never a global table
    statement = state_statement(resources, conditions)
    assert sorted(statement["Action"]) == sorted(STORE_ACTIONS)
    assert statement["Resource"]["Fn::If"][1] == {"Fn::GetAtt": ["StateTable", "Arn"]}


def test_an_existing_table_is_used_and_none_is_created(sam: Template) -> None:
    resources, conditions = rendered(sam, StateTableName="shared-state")
    assert "StateTable" not in resources
    statement = state_statement(resources, conditions)
    assert statement["Resource"]["Fn::If"][2]["Fn::Sub"].endswith(":table/${StateTableName}")


def test_memory_state_needs_no_table_and_no_permission(sam: Template) -> None:
    resources, conditions = rendered(sam, StateStore="memory")
    assert "StateTable" not in resources
    assert state_statement(resources, conditions) is None
    # Resolved as CloudFormation would: no statement grants a store call (an unconditional
    # statement would, and state_statement above cannot see one without its Fn::If).
    granted = iam_actions(resolved(sam, {**BASE, "StateStore": "memory"}, REGION))
    assert not granted & set(STORE_ACTIONS)
    assert granted  # the role itself is there (its logs statement): the check looked at it
    (function,) = of_type(resolved(sam, {**BASE, "StateStore": "memory"}, REGION), FUNCTION)
    assert function["Properties"]["Environment"]["Variables"]["DEEP_HEALTH_STATE_STORE"] == "memory"


def test_the_function_is_told_the_table_it_may_use(sam: Template) -> None:
    resources = resolved(sam, {**BASE, "StateTableName": "shared-state"}, REGION)
    (function,) = of_type(resources, FUNCTION)
    variables = function["Properties"]["Environment"]["Variables"]
    assert variables["DEEP_HEALTH_STATE_STORE"] == "dynamodb"
    assert variables["DEEP_HEALTH_STATE_TABLE"] == "shared-state"
    assert set(STORE_ACTIONS) <= iam_actions(resources)
