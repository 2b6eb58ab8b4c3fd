"""Load ``template.yaml``, transform it offline, and evaluate its conditions.

The transform is what ``sam deploy`` asks CloudFormation to do (``AWS::Serverless-2016-10-31``),
done locally with ``aws-sam-translator`` so tests and the rehearsal see the real resources.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import boto3
from samtranslator.metrics.metrics import Metrics  # type: ignore[import-untyped]
from samtranslator.parser.parser import Parser  # type: ignore[import-untyped]
from samtranslator.translator.translator import Translator  # type: ignore[import-untyped]
from samtranslator.yaml_helper import yaml_parse  # type: ignore[import-untyped]

from deploy.pairs import DEFAULT_TEMPLATE

__all__ = [
    "DEFAULT_TEMPLATE",
    "FUNCTION_ID",
    "evaluate_conditions",
    "failed_rules",
    "load_template",
    "parameter_names",
    "transform",
]


FUNCTION_ID = "HealthFunction"
"""Logical id of the SAM function whose ``CodeUri`` the build fills in."""

Template = dict[str, Any]


def load_template(path: Path = DEFAULT_TEMPLATE) -> Template:
    """Parse a CloudFormation/SAM YAML template, short-form intrinsics included.

    Args:
        path: the template file.

    Returns:
        The template as plain dicts and lists (``!Ref X`` becomes ``{"Ref": "X"}``).
    """
    parsed: Template = yaml_parse(path.read_text(encoding="utf-8"))
    return parsed


def parameter_names(template: Template) -> frozenset[str]:
    """Names of the template's parameters."""
    return frozenset(template.get("Parameters", {}))


def transform(
    template: Template,
    parameters: Mapping[str, str],
    *,
    region: str,
    code_uri: str = "s3://deep-health-artifacts/deep-health.zip",
    account_id: str = "123456789012",
) -> Template:
    """Transform the SAM template into plain CloudFormation, offline.

    Args:
        template: the parsed SAM template (not modified).
        parameters: parameter values, as strings.
        region: the region the stack would be created in (``AWS::Region``).
        code_uri: the S3 URI the translator puts in the function's code location (the
            translator accepts only S3 URIs; ``sam deploy`` uploads the build and does the same).
        account_id: ``AWS::AccountId`` for the translator.

    Returns:
        The transformed template.
    """
    sam = copy.deepcopy(template)
    function = sam.get("Resources", {}).get(FUNCTION_ID)
    if function is not None:
        function["Properties"]["CodeUri"] = code_uri
    values: dict[str, Any] = dict(parameters)
    values.setdefault("AWS::Region", region)
    values.setdefault("AWS::AccountId", account_id)
    metrics = Metrics()
    translator = Translator(
        None, Parser(), boto_session=boto3.session.Session(region_name=region), metrics=metrics
    )
    try:
        result: Template = translator.translate(
            sam, parameter_values=values, get_managed_policy_map=lambda: {}
        )
    finally:
        metrics.publish()  # to its no-op publisher; unpublished metrics log a warning
    return result


def evaluate_conditions(
    template: Template, parameters: Mapping[str, str], *, region: str
) -> dict[str, bool]:
    """Evaluate every condition of a template for given parameters and region.

    Supports what conditions may contain: ``Fn::Equals``, ``Fn::And``, ``Fn::Or``, ``Fn::Not``,
    ``Condition``, ``Ref`` to parameters and pseudo parameters.

    Args:
        template: a parsed template (SAM or transformed).
        parameters: parameter values; template defaults fill the rest.
        region: ``AWS::Region``.

    Returns:
        Each condition's name mapped to its value.

    Raises:
        ValueError: a condition uses something this evaluator does not support.
    """
    _, named = _evaluator(template, parameters, region)
    return {name: named(name) for name in template.get("Conditions", {})}


def failed_rules(
    template: Template, parameters: Mapping[str, str], *, region: str
) -> dict[str, list[str]]:
    """The template's ``Rules`` whose assertions fail for these parameters, as CloudFormation
    would refuse them at deploy time.

    Supports the condition functions plus ``Fn::EachMemberIn``.

    Args:
        template: a parsed SAM template (the transform drops ``Rules``).
        parameters: parameter values; template defaults fill the rest.
        region: ``AWS::Region``.

    Returns:
        Rule name to the descriptions of its failing assertions (only failing rules).
    """
    condition, _ = _evaluator(template, parameters, region)
    failed: dict[str, list[str]] = {}
    for name, rule in template.get("Rules", {}).items():
        if "RuleCondition" in rule and not condition(rule["RuleCondition"]):
            continue
        for assertion in rule.get("Assertions", []):
            if not condition(assertion["Assert"]):
                failed.setdefault(name, []).append(str(assertion.get("AssertDescription", "")))
    return failed


def _evaluator(
    template: Template, parameters: Mapping[str, str], region: str
) -> tuple[Callable[[Any], bool], Callable[[str], bool]]:
    values: dict[str, Any] = {
        name: spec.get("Default") for name, spec in template.get("Parameters", {}).items()
    }
    values.update(parameters)
    values["AWS::Region"] = region
    definitions: dict[str, Any] = template.get("Conditions", {})
    done: dict[str, bool] = {}

    def value(node: Any) -> Any:
        if isinstance(node, dict) and set(node) == {"Ref"}:
            found = values.get(node["Ref"])
            return ",".join(found) if isinstance(found, list) else found
        if isinstance(node, dict):
            return condition(node)
        return node

    def condition(node: Any) -> bool:
        (function, argument), *rest = node.items()
        if rest:
            raise ValueError(f"not a single intrinsic function: {node!r}")
        if function == "Condition":
            return named(argument)
        if function == "Fn::Equals":
            left, right = (str(value(side)) for side in argument)
            return left == right
        if function == "Fn::Not":
            return not condition(argument[0])
        if function == "Fn::And":
            return all(condition(item) for item in argument)
        if function == "Fn::Or":
            return any(condition(item) for item in argument)
        if function == "Fn::EachMemberIn":
            members, allowed = argument
            listed = value(members)
            items = listed.split(",") if isinstance(listed, str) else list(listed)
            return all(item.strip() in allowed for item in items)
        raise ValueError(f"unsupported in a condition: {function}")

    def named(name: str) -> bool:
        if name not in done:
            done[name] = condition(definitions[name])
        return done[name]

    return condition, named
